"""How amounts and text cells are written, the same way in every app."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import date_format

CENT = Decimal("0.01")
# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def money(value: Decimal | None) -> Decimal:
    """SQLite sums decimals without their scale; every backend shows cents."""
    return Decimal(value or 0).quantize(CENT)


def csv_text(value: object) -> str:
    """A text cell a spreadsheet shows as text, never runs: a leading formula character gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def moment(value: dt.datetime | None, *, zone: dt.tzinfo | None = None, now: dt.datetime | None = None) -> str:
    """A moment as every page writes it, with its zone: "Tue 9 Jun, 10:00 CEST"; the year when it is not this one.

    In the marketplace's time zone unless a market's `zone` is given. Weekday and month names come from the active
    language's catalogue (Django's date format letters).
    """
    if not value:  # None, or a template's empty string for a missing value
        return ""
    local = timezone.localtime(value, zone)
    this_year = timezone.localtime(now or timezone.now(), zone).year
    return date_format(local, "D j M, H:i T" if local.year == this_year else "D j M Y, H:i T")


def day(value: dt.date | dt.datetime | None, *, zone: dt.tzinfo | None = None, now: dt.datetime | None = None) -> str:
    """A day as every page writes it: "Tue 9 Jun"; the year when it is not this one."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value, zone).date()
    this_year = timezone.localtime(now or timezone.now(), zone).year
    return date_format(value, "D j M" if value.year == this_year else "D j M Y")

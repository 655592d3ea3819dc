"""How amounts and text cells are written, the same way in every app."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.numbers import format_currency
from django.utils import timezone, translation
from django.utils.formats import date_format

CENT = Decimal("0.01")
# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def money(value: Decimal | None) -> Decimal:
    """SQLite sums decimals without their scale; every backend shows cents."""
    return Decimal(value or 0).quantize(CENT)


# The market each of the site's languages is written for (issue 19: "pt-PT, Portugal's market"): CLDR's locale.
BABEL_LOCALES = {"en": "en_IE", "de": "de_DE", "pt": "pt_PT", "sk": "sk_SK"}


def babel_locale(language: str | None = None) -> str:
    """The CLDR locale for a language code of the site (the active language unless one is given)."""
    code = (language or translation.get_language() or "en").lower()
    return BABEL_LOCALES.get(code, BABEL_LOCALES.get(code.split("-")[0], "en_IE"))


def money_text(amount: Decimal | str | int | None, currency: str, *, language: str | None = None) -> str:
    """An amount with its currency as the reader's language writes it, in tables and in sentences alike:
    "€593.99" (English), "593,99 €" (German, Portuguese, Slovak), "1 593,99 CZK". Always two decimals; '' for None.
    The one way money is written on pages, in emails and in the console (`{{ amount|money:currency }}`)."""
    if amount is None or amount == "":
        return ""
    return format_currency(money(Decimal(amount)), currency, locale=babel_locale(language))


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

"""`{{ value|moment }}` ("Tue 9 Jun, 10:00 CEST"), `{{ value|day }}` ("Tue 9 Jun"), `{{ value|month }}`
("June 2026") and `{{ amount|money:currency }}` ("593,99 €"): the one way pages write dates and
money in the reader's language (core.formatting); a built-in of the template engine, so no template loads it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template

from core import formatting

register = template.Library()


@register.filter
def moment(value: dt.datetime | None) -> str:
    return formatting.moment(value)


@register.filter
def money(value: Decimal | str | int | None, currency: str = "EUR") -> str:
    """`{{ amount|money:currency }}`: core.formatting.money_text in the active language ("593,99 €")."""
    return formatting.money_text(value, currency)


@register.filter
def day(value: dt.date | dt.datetime | None) -> str:
    return formatting.day(value)


@register.filter
def month(value: dt.date | dt.datetime | None) -> str:
    """`{{ value|month }}`: a month with its year, "June 2026", "Juni 2026", "junho de 2026"."""
    return formatting.month(value)

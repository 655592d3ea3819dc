"""`{{ value|moment }}` ("Tue 9 Jun, 10:00 CEST"), `{{ value|day }}` ("Tue 9 Jun") and `{{ amount|money:currency }}`
("593,99 €"): the one way pages write dates and money (core.formatting); a built-in of the template engine, so no
template loads it."""

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

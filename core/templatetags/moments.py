"""`{{ value|moment }}` ("Tue 9 Jun, 10:00 CEST") and `{{ value|day }}` ("Tue 9 Jun"): the one way pages write
dates (core.formatting); a built-in of the template engine, so no template loads it."""

from __future__ import annotations

import datetime as dt

from django import template

from core import formatting

register = template.Library()


@register.filter
def moment(value: dt.datetime | None) -> str:
    return formatting.moment(value)


@register.filter
def day(value: dt.date | dt.datetime | None) -> str:
    return formatting.day(value)

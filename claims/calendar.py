"""Business-day arithmetic in the marketplace's time zone and public-holiday calendar."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


@lru_cache(maxsize=32)
def _holiday_calendar(country: str, subdivision: str | None) -> holidays.HolidayBase:
    # The calendar object fills in further years lazily as they are looked up.
    return holidays.country_holidays(country, subdiv=subdivision)


def is_business_day(day: dt.date, *, country: str, subdivision: str | None = None) -> bool:
    return day.weekday() < 5 and day not in _holiday_calendar(country, subdivision)


def add_business_days_to_date(day: dt.date, days: int, *, country: str, subdivision: str | None = None) -> dt.date:
    """The date `days` business days after `day`; the start day itself never counts."""
    if days < 0:
        raise ValueError("days must not be negative")
    current, counted = day, 0
    while counted < days:
        current += dt.timedelta(days=1)
        if is_business_day(current, country=country, subdivision=subdivision):
            counted += 1
    return current


def add_business_days(
    moment: dt.datetime, days: int, *, time_zone: str, country: str, subdivision: str | None = None
) -> dt.datetime:
    """`moment` plus `days` business days at the same local clock time, returned in UTC.

    Counting happens on local calendar dates, so a weekend or holiday in the marketplace's zone is skipped
    even when the UTC date differs. A clock time that does not exist on the target day (spring-forward gap)
    is moved forward by the gap, as a wall clock would; an ambiguous one (fall-back) takes the first
    occurrence.
    """
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    zone = ZoneInfo(time_zone)
    local = moment.astimezone(zone)
    target_day = add_business_days_to_date(local.date(), days, country=country, subdivision=subdivision)
    target = dt.datetime.combine(target_day, local.time(), tzinfo=zone)
    return target.astimezone(dt.UTC)


def local_date(moment: dt.datetime, *, time_zone: str) -> dt.date:
    return moment.astimezone(ZoneInfo(time_zone)).date()

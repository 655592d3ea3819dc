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


def add_calendar_days(moment: dt.datetime, days: int, *, time_zone: str) -> dt.datetime:
    """`moment` plus `days` calendar days in the marketplace's zone, at the same local clock time, in UTC.

    "2 days" and "180 days" are days on the marketplace's calendar, not 24-hour blocks: across a daylight-saving
    change the deadline still falls at the clock time it was set at (hours, like the 48-hour first reply, stay
    elapsed time). Gaps and folds are handled as in `add_business_days`."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    zone = ZoneInfo(time_zone)
    local = moment.astimezone(zone)
    target = dt.datetime.combine(local.date() + dt.timedelta(days=days), local.time(), tzinfo=zone)
    return _normalised(target, zone).astimezone(dt.UTC)


def _normalised(target: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A wall-clock time that does not exist (spring-forward gap) moves forward by the gap."""
    round_trip = target.astimezone(dt.UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != target.replace(tzinfo=None):
        return round_trip
    return target


def local_date(moment: dt.datetime, *, time_zone: str) -> dt.date:
    return moment.astimezone(ZoneInfo(time_zone)).date()


def add_calendar_months(moment: dt.datetime, months: int, *, time_zone: str) -> dt.datetime:
    """`moment` plus `months` months in the marketplace's zone, at the same local clock time, in UTC (31 January plus
    one month is the last day of February). Gaps and folds are handled as in `add_calendar_days`."""
    from dateutil.relativedelta import relativedelta

    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    zone = ZoneInfo(time_zone)
    local = moment.astimezone(zone)
    target = dt.datetime.combine(local.date() + relativedelta(months=months), local.time(), tzinfo=zone)
    return _normalised(target, zone).astimezone(dt.UTC)

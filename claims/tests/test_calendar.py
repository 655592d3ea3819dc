"""Business days in the marketplace's zone and holiday calendar (SPEC section 3, "Deadlines").

Resolution deadline: opened + 5 business days (weekends and the marketplace country's public holidays
skipped) at the same local clock time. First reply (48 h) and final deadline (180 days) are real time.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from claims import services
from claims.calendar import (
    add_business_days,
    add_business_days_to_date,
    add_calendar_days,
    is_business_day,
    local_date,
)
from claims.models import Claim
from claims.policy import Policy
from claims.tests.factories import delivered_order, photo
from markets.models import Market

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
D = dt.date


def berlin(*args: int) -> dt.datetime:
    """A Berlin wall-clock moment, as an aware datetime in UTC."""
    return dt.datetime(*args, tzinfo=BERLIN).astimezone(UTC)


def add_de(moment: dt.datetime, days: int, **kwargs) -> dt.datetime:
    kwargs.setdefault("time_zone", "Europe/Berlin")
    kwargs.setdefault("country", "DE")
    return add_business_days(moment, days, **kwargs)


def add_date_de(day: dt.date, days: int, **kwargs) -> dt.date:
    kwargs.setdefault("country", "DE")
    return add_business_days_to_date(day, days, **kwargs)


# --- add_business_days_to_date --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # plain weekdays
        (D(2026, 3, 9), 1, D(2026, 3, 10)),  # Monday -> Tuesday
        (D(2026, 3, 9), 4, D(2026, 3, 13)),  # Monday -> Friday
        (D(2026, 3, 10), 3, D(2026, 3, 13)),  # Tuesday -> Friday
        # weekends are skipped; a start on a weekend counts from the next Monday
        (D(2026, 3, 9), 5, D(2026, 3, 16)),  # Monday -> next Monday
        (D(2026, 3, 6), 1, D(2026, 3, 9)),  # Friday -> Monday
        (D(2026, 3, 6), 5, D(2026, 3, 13)),  # Friday -> next Friday
        (D(2026, 3, 7), 1, D(2026, 3, 9)),  # Saturday -> Monday
        (D(2026, 3, 7), 5, D(2026, 3, 13)),  # Saturday -> Friday
        (D(2026, 3, 8), 1, D(2026, 3, 9)),  # Sunday -> Monday
        (D(2026, 3, 8), 5, D(2026, 3, 13)),  # Sunday -> Friday
        # Easter: Good Friday 3 April and Easter Monday 6 April 2026
        (D(2026, 4, 2), 1, D(2026, 4, 7)),
        (D(2026, 4, 1), 3, D(2026, 4, 8)),
        (D(2026, 3, 27), 5, D(2026, 4, 7)),
        (D(2026, 4, 3), 1, D(2026, 4, 7)),  # opened on Good Friday itself
        # 1 May 2026 (Friday)
        (D(2026, 4, 30), 1, D(2026, 5, 4)),
        (D(2026, 4, 28), 5, D(2026, 5, 6)),
        # Ascension, Thursday 14 May 2026
        (D(2026, 5, 13), 1, D(2026, 5, 15)),
        (D(2026, 5, 11), 5, D(2026, 5, 19)),
        # Whit Monday, 25 May 2026
        (D(2026, 5, 22), 1, D(2026, 5, 26)),
        (D(2026, 5, 20), 5, D(2026, 5, 28)),
        # German Unity Day, Friday 3 October 2025 (in 2026 it falls on a Saturday)
        (D(2025, 10, 2), 1, D(2025, 10, 6)),
        (D(2025, 9, 30), 5, D(2025, 10, 8)),
        # Christmas 25/26 December and New Year, across the year end
        (D(2025, 12, 24), 1, D(2025, 12, 29)),
        (D(2025, 12, 24), 5, D(2026, 1, 5)),
        (D(2025, 12, 31), 1, D(2026, 1, 2)),
        (D(2026, 12, 23), 2, D(2026, 12, 28)),  # 24 December is an ordinary working day in Germany
        (D(2026, 12, 31), 1, D(2027, 1, 4)),
        (D(2026, 12, 22), 5, D(2026, 12, 30)),
        (D(2026, 12, 28), 4, D(2027, 1, 4)),
    ],
)
def test_add_business_days_to_date(start, days, expected):
    assert add_date_de(start, days) == expected


def test_zero_days_is_the_start_day_even_on_a_weekend_or_holiday():
    assert add_date_de(D(2026, 3, 7), 0) == D(2026, 3, 7)
    assert add_date_de(D(2026, 4, 3), 0) == D(2026, 4, 3)


def test_negative_days_are_refused():
    with pytest.raises(ValueError, match="negative"):
        add_date_de(D(2026, 3, 9), -1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 3, 9), True),
        (D(2026, 3, 7), False),
        (D(2026, 3, 8), False),
        (D(2026, 4, 3), False),
        (D(2026, 4, 6), False),
        (D(2026, 5, 1), False),
        (D(2026, 5, 14), False),
        (D(2026, 5, 25), False),
        (D(2025, 10, 3), False),
        (D(2025, 12, 24), True),
        (D(2025, 12, 25), False),
        (D(2025, 12, 26), False),
        (D(2025, 12, 31), True),
        (D(2026, 1, 1), False),
        (D(2026, 6, 4), True),  # Corpus Christi is not a nationwide holiday
    ],
)
def test_is_business_day_in_germany(day, expected):
    assert is_business_day(day, country="DE") is expected


# --- another country or a German Land ---------------------------------------------------------------------


def test_a_german_land_adds_its_own_holidays():
    # Corpus Christi (Thursday 4 June 2026) is a holiday in Bavaria, not nationwide.
    assert add_date_de(D(2026, 6, 3), 1) == D(2026, 6, 4)
    assert add_date_de(D(2026, 6, 3), 1, subdivision="BY") == D(2026, 6, 5)
    # Epiphany (Tuesday 6 January 2026) in Bavaria.
    assert add_date_de(D(2026, 1, 5), 1) == D(2026, 1, 6)
    assert add_date_de(D(2026, 1, 5), 1, subdivision="BY") == D(2026, 1, 7)


def test_another_country_uses_its_own_holidays():
    # Slovakia has no Whit Monday or Ascension, but has Epiphany and Christmas Eve.
    assert add_business_days_to_date(D(2026, 5, 22), 1, country="SK") == D(2026, 5, 25)
    assert add_business_days_to_date(D(2026, 5, 13), 1, country="SK") == D(2026, 5, 14)
    assert add_business_days_to_date(D(2026, 1, 5), 1, country="SK") == D(2026, 1, 7)
    assert add_business_days_to_date(D(2026, 12, 23), 1, country="SK") == D(2026, 12, 28)
    assert add_date_de(D(2026, 12, 23), 1) == D(2026, 12, 24)


# --- add_business_days: same local clock time, returned in UTC -------------------------------------------


def test_result_is_in_utc_at_the_same_local_clock_time():
    due = add_de(berlin(2026, 3, 10, 10, 0), 5)  # Tuesday 10:00 CET
    assert due == dt.datetime(2026, 3, 17, 9, 0, tzinfo=UTC)
    assert due.utcoffset() == dt.timedelta(0)
    local = due.astimezone(BERLIN)
    assert (local.date(), local.time(), local.utcoffset()) == (D(2026, 3, 17), dt.time(10, 0), dt.timedelta(hours=1))


def test_opened_friday_saturday_or_sunday():
    assert add_de(berlin(2026, 3, 6, 16, 45), 5) == berlin(2026, 3, 13, 16, 45)  # Friday -> Friday
    assert add_de(berlin(2026, 3, 7, 11, 0), 5) == berlin(2026, 3, 13, 11, 0)  # Saturday -> Friday
    assert add_de(berlin(2026, 3, 8, 20, 0), 5) == berlin(2026, 3, 13, 20, 0)  # Sunday -> Friday
    assert add_de(berlin(2026, 3, 8, 20, 0), 1) == berlin(2026, 3, 9, 20, 0)  # Sunday -> Monday


def test_holidays_are_skipped_with_the_clock_time_kept():
    # Good Friday and Easter Monday 2026 (both after the spring DST change: CEST, UTC+2).
    assert add_de(berlin(2026, 4, 2, 9, 15), 1) == dt.datetime(2026, 4, 7, 7, 15, tzinfo=UTC)
    # Christmas and New Year, CET (UTC+1).
    assert add_de(berlin(2025, 12, 24, 14, 0), 5) == dt.datetime(2026, 1, 5, 13, 0, tzinfo=UTC)


def test_spring_forward_keeps_the_local_clock_time():
    # Thursday 26 March 2026 10:00 CET (09:00 UTC); clocks go forward on Sunday 29 March.
    opened = dt.datetime(2026, 3, 26, 9, 0, tzinfo=UTC)
    due = add_de(opened, 5)
    assert due == dt.datetime(2026, 4, 2, 8, 0, tzinfo=UTC)  # Thursday 2 April 10:00 CEST
    assert due.astimezone(BERLIN).hour == 10
    assert due - opened == dt.timedelta(days=7, hours=-1)


def test_fall_back_keeps_the_local_clock_time():
    # Thursday 22 October 2026 10:00 CEST (08:00 UTC); clocks go back on Sunday 25 October.
    opened = dt.datetime(2026, 10, 22, 8, 0, tzinfo=UTC)
    due = add_de(opened, 5)
    assert due == dt.datetime(2026, 10, 29, 9, 0, tzinfo=UTC)  # Thursday 29 October 10:00 CET
    assert due.astimezone(BERLIN).hour == 10
    assert due - opened == dt.timedelta(days=7, hours=1)


def test_opening_on_the_night_of_the_clock_change():
    # Sunday 29 March 2026 03:30 CEST (the hour 02:00-03:00 was skipped) -> Monday 03:30 CEST.
    assert add_de(dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC), 1) == dt.datetime(2026, 3, 30, 1, 30, tzinfo=UTC)
    # Sunday 25 October 2026 02:30 CET (the second 02:30 of that night) -> Monday 02:30 CET.
    assert add_de(dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), 1) == dt.datetime(2026, 10, 26, 1, 30, tzinfo=UTC)
    # Friday 23 October 2026 02:30 CEST -> Monday 26 October 02:30 CET, one hour more of real time.
    opened = berlin(2026, 10, 23, 2, 30)
    assert add_de(opened, 1) - opened == dt.timedelta(days=3, hours=1)


def test_a_clock_time_in_the_spring_forward_gap_moves_forward_by_the_gap():
    # In Berlin the gap is always on a Sunday, which is never a business day, so use a zone whose clocks
    # change on a weekday: Israel moves from 02:00 to 03:00 on Friday 27 March 2026.
    zone = ZoneInfo("Asia/Jerusalem")
    opened = dt.datetime(2026, 3, 26, 2, 30, tzinfo=zone)  # Thursday 02:30 IST (UTC+2)
    due = add_business_days(opened, 1, time_zone="Asia/Jerusalem", country="DE")
    # 02:30 does not exist on Friday: a wall clock shows 03:30 IDT (UTC+3), the same instant as "02:30 UTC+2".
    assert due == dt.datetime(2026, 3, 27, 0, 30, tzinfo=UTC)
    local = due.astimezone(zone)
    assert (local.date(), local.time(), local.utcoffset()) == (D(2026, 3, 27), dt.time(3, 30), dt.timedelta(hours=3))
    assert due - opened.astimezone(UTC) == dt.timedelta(days=1)


def test_an_ambiguous_clock_time_takes_the_first_occurrence():
    # Cairo's clocks go back from 24:00 to 23:00 on Thursday 29 October 2026, so 23:30 happens twice.
    zone = ZoneInfo("Africa/Cairo")
    opened = dt.datetime(2026, 10, 22, 23, 30, tzinfo=zone)  # Thursday, EEST (UTC+3)
    due = add_business_days(opened, 5, time_zone="Africa/Cairo", country="DE")
    assert due == dt.datetime(2026, 10, 29, 20, 30, tzinfo=UTC)  # the first 23:30, still UTC+3


def test_late_evening_utc_counts_from_the_berlin_date():
    # Friday 6 March 2026 23:30 UTC is already Saturday 00:30 in Berlin: counting starts from Saturday.
    opened = dt.datetime(2026, 3, 6, 23, 30, tzinfo=UTC)
    assert local_date(opened, time_zone="Europe/Berlin") == D(2026, 3, 7)
    due = add_de(opened, 5)
    assert due == berlin(2026, 3, 13, 0, 30)  # Friday 13 March 00:30 CET
    assert due == dt.datetime(2026, 3, 12, 23, 30, tzinfo=UTC)  # i.e. Thursday in UTC
    # Sunday 23:30 UTC is Monday 00:30 in Berlin: one business day later is Tuesday 00:30.
    assert add_de(dt.datetime(2026, 3, 8, 23, 30, tzinfo=UTC), 1) == dt.datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    # Thursday 30 April 22:30 UTC is Friday 1 May (a holiday) 00:30 CEST in Berlin.
    assert add_de(dt.datetime(2026, 4, 30, 22, 30, tzinfo=UTC), 1) == dt.datetime(2026, 5, 3, 22, 30, tzinfo=UTC)


def test_a_moment_in_another_zone_is_counted_in_the_marketplace_zone():
    # 18:00 in New York on Friday is already Saturday in Berlin.
    opened = dt.datetime(2026, 3, 6, 19, 30, tzinfo=ZoneInfo("America/New_York"))
    assert add_de(opened, 1) == berlin(2026, 3, 9, 1, 30)


def test_naive_moment_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_de(dt.datetime(2026, 3, 10, 10, 0), 5)  # noqa: DTZ001


def test_add_business_days_with_a_german_land_or_another_country():
    opened = berlin(2026, 6, 3, 10, 0)  # Wednesday before Corpus Christi
    assert add_de(opened, 1) == berlin(2026, 6, 4, 10, 0)
    assert add_de(opened, 1, subdivision="BY") == berlin(2026, 6, 5, 10, 0)
    friday = berlin(2026, 5, 22, 10, 0)  # before Whit Monday
    assert add_de(friday, 1) == berlin(2026, 5, 26, 10, 0)
    assert add_de(friday, 1, country="SK") == berlin(2026, 5, 25, 10, 0)


# --- through open_claim: the claim's deadlines -------------------------------------------------------------


def open_at(at: dt.datetime, order=None) -> Claim:
    # expected the day it is opened: well inside the dispute policy's opening window for a wrong item
    order = order or delivered_order(estimated_delivery=at.date())
    with time_machine.travel(at, tick=False):
        return services.open_claim(order=order, buyer=order.buyer, reason="wrong_item",
                                   description="A blue phone came instead of a black one.",
                                   desired_outcome="replacement", evidence=[photo()])


@pytest.mark.django_db
def test_open_claim_deadlines_on_plain_weekdays():
    opened = berlin(2026, 3, 10, 10, 0)  # Tuesday
    claim = Claim.objects.get(pk=open_at(opened).pk)
    assert claim.state == "awaiting_seller"
    assert claim.opened_at == opened
    assert claim.first_reply_due_at == berlin(2026, 3, 12, 10, 0)
    assert claim.resolution_due_at == berlin(2026, 3, 17, 10, 0)
    # 180 calendar days in Berlin, at the clock time it was opened (CET then, CEST at the end): 10:00 both times.
    assert claim.hard_deadline_at == berlin(2026, 9, 6, 10, 0)
    assert claim.hard_deadline_at == opened + dt.timedelta(days=180) - dt.timedelta(hours=1)
    assert claim.next_deadline_at is not None
    assert claim.next_deadline_at <= claim.first_reply_due_at  # the sweep looks at it in time


@pytest.mark.django_db
def test_open_claim_deadlines_across_a_weekend():
    opened = berlin(2026, 3, 13, 15, 20)  # Friday
    claim = Claim.objects.get(pk=open_at(opened).pk)
    assert claim.first_reply_due_at == berlin(2026, 3, 15, 15, 20)  # Sunday: real time, weekends count
    assert claim.resolution_due_at == berlin(2026, 3, 20, 15, 20)  # next Friday
    assert claim.hard_deadline_at == berlin(2026, 9, 9, 15, 20)


@pytest.mark.django_db
def test_open_claim_deadlines_across_holidays():
    opened = berlin(2026, 12, 23, 9, 0)  # Wednesday before Christmas
    claim = Claim.objects.get(pk=open_at(opened).pk)
    assert claim.first_reply_due_at == berlin(2026, 12, 25, 9, 0)  # holidays count for the 48 hours
    # 24 Dec (1), 25/26 Dec holidays and weekend, 28 (2), 29 (3), 30 (4), 31 (5)
    assert claim.resolution_due_at == berlin(2026, 12, 31, 9, 0)
    assert claim.hard_deadline_at == berlin(2027, 6, 21, 9, 0)  # 09:00 CEST, the clock time it was opened


@pytest.mark.django_db
def test_open_claim_deadlines_across_easter_and_the_spring_dst_change():
    opened = dt.datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # Friday 10:00 CET
    claim = Claim.objects.get(pk=open_at(opened).pk)
    # 48 hours of real time: Sunday 09:00 UTC, which the clock shows as 11:00 CEST.
    assert claim.first_reply_due_at == dt.datetime(2026, 3, 29, 9, 0, tzinfo=UTC)
    assert claim.first_reply_due_at.astimezone(BERLIN).hour == 11
    # Mon 30 (1), Tue 31 (2), Wed 1 (3), Thu 2 (4), Good Friday, weekend, Easter Monday, Tue 7 (5): 10:00 CEST.
    assert claim.resolution_due_at == dt.datetime(2026, 4, 7, 8, 0, tzinfo=UTC)
    assert claim.resolution_due_at.astimezone(BERLIN).hour == 10
    # 180 calendar days end in summer time at the local clock time it was opened: 10:00 CEST.
    assert claim.hard_deadline_at == dt.datetime(2026, 9, 23, 8, 0, tzinfo=UTC)
    assert claim.hard_deadline_at.astimezone(BERLIN).hour == 10


@pytest.mark.django_db
def test_open_claim_deadlines_across_the_autumn_dst_change():
    opened = dt.datetime(2026, 10, 23, 8, 0, tzinfo=UTC)  # Friday 10:00 CEST
    claim = Claim.objects.get(pk=open_at(opened).pk)
    assert claim.first_reply_due_at == dt.datetime(2026, 10, 25, 8, 0, tzinfo=UTC)  # Sunday 09:00 CET
    assert claim.first_reply_due_at.astimezone(BERLIN).hour == 9
    assert claim.resolution_due_at == dt.datetime(2026, 10, 30, 9, 0, tzinfo=UTC)  # Friday 10:00 CET
    assert claim.resolution_due_at.astimezone(BERLIN).hour == 10
    assert claim.hard_deadline_at == dt.datetime(2027, 4, 21, 8, 0, tzinfo=UTC)  # 10:00 CEST again


@pytest.mark.django_db
def test_open_claim_late_in_the_evening_counts_the_berlin_date():
    opened = dt.datetime(2026, 3, 6, 23, 30, tzinfo=UTC)  # Friday in UTC, Saturday 00:30 in Berlin
    claim = Claim.objects.get(pk=open_at(opened).pk)
    assert claim.resolution_due_at == dt.datetime(2026, 3, 12, 23, 30, tzinfo=UTC)  # Friday 13th 00:30 CET
    assert claim.first_reply_due_at == dt.datetime(2026, 3, 8, 23, 30, tzinfo=UTC)


def delivered_to(country: str):
    order = delivered_order()
    order.delivery_country = country
    order.save(update_fields=["delivery_country"])
    return order


@pytest.mark.django_db
def test_open_claim_counts_business_days_in_the_market_of_the_delivery_country():
    opened = berlin(2026, 5, 22, 10, 0)  # Friday before Whit Monday
    claim = Claim.objects.get(pk=open_at(opened, delivered_to("SK")).pk)
    assert (claim.policy["market"], claim.policy["country"]) == ("SK", "SK")
    assert claim.policy["time_zone"] == "Europe/Bratislava"
    assert claim.resolution_due_at == berlin(2026, 5, 29, 10, 0)  # Whit Monday is a working day in Slovakia
    claim = Claim.objects.get(pk=open_at(opened, delivered_to("DE")).pk)
    assert claim.resolution_due_at == berlin(2026, 6, 1, 10, 0)


@pytest.mark.django_db
def test_a_country_without_a_market_belongs_to_the_home_market(settings):
    opened = berlin(2026, 5, 22, 10, 0)
    claim = Claim.objects.get(pk=open_at(opened, delivered_to("AT")).pk)
    assert claim.policy["market"] == "DE"
    assert claim.resolution_due_at == berlin(2026, 6, 1, 10, 0)
    settings.MARKETPLACE_COUNTRY = "SK"
    claim = Claim.objects.get(pk=open_at(opened, delivered_to("AT")).pk)
    assert claim.policy["market"] == "SK"
    assert claim.resolution_due_at == berlin(2026, 5, 29, 10, 0)


@pytest.mark.django_db
def test_open_claim_uses_the_markets_holiday_subdivision():
    opened = berlin(2026, 6, 3, 10, 0)  # Wednesday before Corpus Christi
    claim = Claim.objects.get(pk=open_at(opened).pk)
    assert claim.resolution_due_at == berlin(2026, 6, 10, 10, 0)
    Market.objects.filter(country="DE").update(holiday_subdivision="BY")
    claim = Claim.objects.get(pk=open_at(opened).pk)
    assert claim.policy["subdivision"] == "BY"
    assert claim.resolution_due_at == berlin(2026, 6, 11, 10, 0)


@pytest.mark.django_db
def test_open_claim_uses_the_markets_time_zone():
    # The same instant is Friday evening in New York and Saturday in Berlin.
    opened = dt.datetime(2026, 3, 7, 0, 30, tzinfo=UTC)
    Market.objects.create(country="US", name="United States", time_zone="America/New_York", languages="en",
                          warranty_months_new=12, warranty_months_like_new=12, warranty_months_used=12)
    claim = Claim.objects.get(pk=open_at(opened, delivered_to("US")).pk)
    assert claim.policy["time_zone"] == "America/New_York"
    # Friday 6 March 19:30 EST + 5 business days = Friday 13 March 19:30, which is EDT (UTC-4) by then.
    assert claim.resolution_due_at == dt.datetime(2026, 3, 13, 23, 30, tzinfo=UTC)


# --- the policy snapshot protects open claims ------------------------------------------------------------


@pytest.mark.django_db
def test_changing_settings_never_moves_the_deadlines_of_open_claims(settings):
    opened = berlin(2026, 3, 10, 10, 0)
    first = open_at(opened)
    before = Claim.objects.get(pk=first.pk)
    assert before.policy["resolution_business_days"] == 5
    assert before.policy["first_reply_hours"] == 48
    assert before.policy["hard_deadline_days"] == 180

    settings.CLAIM_RESOLUTION_BUSINESS_DAYS = 10
    settings.CLAIM_FIRST_REPLY_HOURS = 24
    settings.CLAIM_HARD_DEADLINE_DAYS = 90
    Market.objects.filter(country="DE").update(holiday_subdivision="BY", warranty_claim_days=20)

    after = Claim.objects.get(pk=first.pk)
    assert after.policy == before.policy
    assert (after.first_reply_due_at, after.resolution_due_at, after.hard_deadline_at) == (
        berlin(2026, 3, 12, 10, 0), berlin(2026, 3, 17, 10, 0), berlin(2026, 9, 6, 10, 0))
    snapshot = Policy.from_snapshot(after.policy)
    assert snapshot.resolution_business_days == 5
    assert snapshot.first_reply_hours == 48
    assert snapshot.hard_deadline_days == 180
    assert (snapshot.country, snapshot.subdivision, snapshot.warranty_claim_days) == ("DE", None, None)

    # Something happening on the open claim later does not re-read the settings either.
    with time_machine.travel(opened + dt.timedelta(hours=1), tick=False):
        services.post_message(claim=first, by=first.buyer, body="Any news?")
    after = Claim.objects.get(pk=first.pk)
    assert after.resolution_due_at == berlin(2026, 3, 17, 10, 0)
    assert after.policy == before.policy

    second = Claim.objects.get(pk=open_at(opened).pk)
    assert second.policy["resolution_business_days"] == 10
    assert (second.policy["subdivision"], second.policy["warranty_claim_days"]) == ("BY", 20)
    assert second.first_reply_due_at == opened + dt.timedelta(hours=24)
    assert second.resolution_due_at == berlin(2026, 3, 24, 10, 0)
    assert second.hard_deadline_at == berlin(2026, 6, 8, 10, 0)


@pytest.mark.django_db
def test_an_old_snapshot_falls_back_to_current_settings_only_for_values_it_lacks(settings):
    claim = open_at(berlin(2026, 3, 10, 10, 0))
    data = dict(claim.policy)
    del data["reminder_hours"]
    settings.CLAIM_REMINDER_HOURS = 12
    settings.CLAIM_RESOLUTION_BUSINESS_DAYS = 8
    policy = Policy.from_snapshot(data)
    assert policy.reminder_hours == 12
    assert policy.resolution_business_days == 5


# --- calendar days: the marketplace's calendar, the clock time kept --------------------------------------


@pytest.mark.parametrize("start, days, end", [
    # Across spring forward (29 March 2026): 2 days from Saturday 11:00 CET end Monday 11:00 CEST (47 hours).
    (berlin(2026, 3, 28, 11, 0), 2, berlin(2026, 3, 30, 11, 0)),
    # Across fall back (25 October 2026): Saturday 11:00 CEST to Monday 11:00 CET (49 hours).
    (berlin(2026, 10, 24, 11, 0), 2, berlin(2026, 10, 26, 11, 0)),
    # A clock time the target day does not have (02:30 on 29 March) moves forward by the gap, as a wall clock.
    (berlin(2026, 3, 27, 2, 30), 2, berlin(2026, 3, 29, 3, 30)),
    # Weekends and holidays count: these are calendar days, not business days.
    (berlin(2026, 12, 23, 9, 0), 2, berlin(2026, 12, 25, 9, 0)),
    (berlin(2026, 3, 10, 10, 0), 180, berlin(2026, 9, 6, 10, 0)),
])
def test_calendar_days_end_at_the_same_local_clock_time(start, days, end):
    assert add_calendar_days(start, days, time_zone="Europe/Berlin") == end


def test_calendar_days_refuse_a_naive_moment():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_calendar_days(dt.datetime(2026, 3, 1, 10, 0), 2, time_zone="Europe/Berlin")  # noqa: DTZ001

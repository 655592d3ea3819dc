"""The support console's overview (its home page): how the claims went over the last 30 days, in numbers.

Claims opened and resolved per day, the open claims by state, how often the platform's decision target and the
sellers' first reply were missed, the refunds the platform funded against what was recovered from sellers, and the
satisfaction survey's answers. Days are the marketplace's (settings.TIME_ZONE), the window ends today.

A fixed number of queries whatever the number of claims (one per figure, each an aggregate the database computes),
and the 30-day figures read their rows by indexed columns: `claim_newest_idx` (opened_at), `claim_resolved_idx`
(resolved_at), `refund_status_idx` (status, created_at), the ledger's created_at and `satisfaction_answered_idx`. The
open claims by state count every open claim, so at a million claims the figures take a moment to compute: they are
kept in the cache for CONSOLE_OVERVIEW_CACHE_SECONDS (two minutes by default), which is as fresh as an overview
needs to be. The charts and tables are drawn by claims.templatetags.charts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.formatting import money
from sellers.models import LedgerEntry, LedgerKind

from . import selectors
from .choices import OPEN_STATES, FundedBy, RefundStatus
from .models import Claim, Refund, SatisfactionResponse
from .satisfaction import RATINGS, SURVEY_PARTIES, average
from .seller.selectors import FIRST_REPLY_COUNTED, FIRST_REPLY_IN_TIME, first_reply_missed

DAYS = 30
CACHE_KEY = "claims:overview:v1"


@dataclasses.dataclass(frozen=True)
class Day:
    day: dt.date
    opened: int
    resolved: int


@dataclasses.dataclass(frozen=True)
class Rate:
    """How many of `total` missed their target."""

    missed: int
    total: int

    @property
    def percent(self) -> Decimal | None:
        if not self.total:
            return None
        return (Decimal(100 * self.missed) / self.total).quantize(Decimal("0.1"))


@dataclasses.dataclass(frozen=True)
class Money:
    """Refunds in one currency: what the platform funded, and what it recovered from sellers (charged to their
    ledger, claims.services._base._pay_refund). The rest is the platform's own cost."""

    currency: str
    platform_funded: Decimal
    recovered: Decimal

    @property
    def platform_cost(self) -> Decimal:
        return self.platform_funded - self.recovered


@dataclasses.dataclass(frozen=True)
class Satisfaction:
    party: str
    count: int
    average: Decimal | None
    by_rating: dict[int, int]


@dataclasses.dataclass(frozen=True)
class Overview:
    first_day: dt.date
    last_day: dt.date
    computed_at: dt.datetime
    days: list[Day]
    open_by_state: list[tuple[str, int]]  # every open state, in the lifecycle's order
    decision: Rate  # claims.selectors.decision_breaches
    first_reply: Rate
    money: list[Money]
    satisfaction: list[Satisfaction]  # buyer, seller

    @property
    def opened(self) -> int:
        return sum(day.opened for day in self.days)

    @property
    def resolved(self) -> int:
        return sum(day.resolved for day in self.days)

    @property
    def open_claims(self) -> int:
        return sum(count for _state, count in self.open_by_state)


def window(now: dt.datetime | None = None) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """The last `DAYS` days up to today in the marketplace's zone: first and last day, and the moments they start
    and (the day after the last) end."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    last_day = timezone.localdate(now or timezone.now(), zone)
    first_day = last_day - dt.timedelta(days=DAYS - 1)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return first_day, last_day, start, end


def overview(now: dt.datetime | None = None) -> Overview:
    """The overview, from the cache while it is fresh (CONSOLE_OVERVIEW_CACHE_SECONDS; 0: always computed)."""
    seconds = settings.CONSOLE_OVERVIEW_CACHE_SECONDS
    if seconds <= 0 or now is not None:
        return compute(now)
    found = cache.get(CACHE_KEY)
    if found is not None and found.last_day == window()[1]:  # a new day starts a new window at once
        return found
    computed = compute()
    cache.set(CACHE_KEY, computed, seconds)
    return computed


def compute(now: dt.datetime | None = None) -> Overview:
    """The overview's figures as of `now`: seven queries."""
    now = now or timezone.now()
    first_day, last_day, start, end = window(now)
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    in_window = {"gte": start, "lt": end}

    # Opened per day, with the first-reply figures of the same claims (the seller dashboard's standard): one pass.
    counted = FIRST_REPLY_COUNTED
    opened_rows = (Claim.objects.filter(opened_at__gte=in_window["gte"], opened_at__lt=in_window["lt"])
                   .annotate(day=TruncDate("opened_at", tzinfo=zone)).values("day").order_by()
                   .annotate(opened=Count("pk"), in_time=Count("pk", filter=counted & FIRST_REPLY_IN_TIME),
                             missed=Count("pk", filter=counted & first_reply_missed(now))))
    opened: dict[dt.date, int] = {}
    in_time = missed = 0
    for row in opened_rows:
        opened[row["day"]] = row["opened"]
        in_time += row["in_time"]
        missed += row["missed"]
    resolved = dict(Claim.objects.filter(resolved_at__gte=in_window["gte"], resolved_at__lt=in_window["lt"])
                    .annotate(day=TruncDate("resolved_at", tzinfo=zone)).values("day").order_by()
                    .annotate(n=Count("pk")).values_list("day", "n"))
    days = [Day(day, opened.get(day, 0), resolved.get(day, 0))
            for day in (first_day + dt.timedelta(days=n) for n in range(DAYS))]

    by_state = dict(Claim.objects.filter(state__in=OPEN_STATES).values("state").order_by()
                    .annotate(n=Count("pk")).values_list("state", "n"))

    return Overview(
        first_day=first_day, last_day=last_day, computed_at=now, days=days,
        open_by_state=[(state, by_state.get(state, 0)) for state in OPEN_STATES],
        decision=_decision_rate(start),
        first_reply=Rate(missed=missed, total=in_time + missed),
        money=_money(start, end),
        satisfaction=_satisfaction(start, end),
    )


def _decision_rate(since: dt.datetime) -> Rate:
    """The platform's decision target, counted where its rule lives (claims.selectors.decision_breaches)."""
    breached, total = selectors.decision_breaches(since)
    return Rate(missed=breached, total=total)


def _money(start: dt.datetime, end: dt.datetime) -> list[Money]:
    """Refunds the platform funded in the window (every payout status: the money is committed once the refund is
    made), and what the sellers' ledgers recovered in it, per currency."""
    # Naming every status lets PostgreSQL read refund_status_idx (status, created_at) by range, status by status.
    funded = dict(Refund.objects.filter(status__in=RefundStatus.values, created_at__gte=start, created_at__lt=end,
                                        funded_by=FundedBy.PLATFORM)
                  .values("currency").order_by().annotate(total=Sum("amount")).values_list("currency", "total"))
    recovered = dict(LedgerEntry.objects.filter(kind=LedgerKind.REFUND_RECOVERY, created_at__gte=start,
                                                created_at__lt=end)
                     .values("currency").order_by().annotate(total=Sum("amount")).values_list("currency", "total"))
    return [Money(currency, money(funded.get(currency)), money(recovered.get(currency)))
            for currency in sorted(set(funded) | set(recovered))]


def _satisfaction(start: dt.datetime, end: dt.datetime) -> list[Satisfaction]:
    rows = (SatisfactionResponse.objects.filter(answered_at__gte=start, answered_at__lt=end)
            .values("party", "rating").order_by().annotate(n=Count("pk")).values_list("party", "rating", "n"))
    counts: dict[str, dict[int, int]] = {party: dict.fromkeys(RATINGS, 0) for party in SURVEY_PARTIES}
    for party, rating, n in rows:
        if party in counts and rating in counts[party]:
            counts[party][rating] = n
    result = []
    for party in SURVEY_PARTIES:
        by_rating = counts[party]
        count = sum(by_rating.values())
        mean = average(sum(r * n for r, n in by_rating.items()) / count) if count else None
        result.append(Satisfaction(party=party, count=count, average=mean, by_rating=by_rating))
    return result

"""Reads for a seller's balance and monthly statements (the dashboard's Statements pages and their CSV).

A statement is the ledger of one calendar month in the marketplace's time zone: the balance before its first day
(opening), each entry of the month with the balance after it, and the balance after its last day (closing). Next to
it, the refunds the seller funded itself that were paid out in the month: they are no ledger entries (the shop
charges them against the seller's sales) but the seller reconciles them too. Every read is a fixed number of
queries whatever the number of entries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from claims.choices import FundedBy, RefundStatus
from claims.models import Refund
from core.formatting import money
from sellers.models import LedgerEntry, Seller


def marketplace_zone() -> ZoneInfo:
    return timezone.get_default_timezone()  # settings.TIME_ZONE is the marketplace's zone


def month_bounds(month: dt.date, zone: ZoneInfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The first moment of the month and of the next one, on the marketplace's clock."""
    zone = zone or marketplace_zone()
    start = dt.datetime(month.year, month.month, 1, tzinfo=zone)
    following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return start, dt.datetime(following.year, following.month, 1, tzinfo=zone)


def current_month(now: dt.datetime | None = None) -> dt.date:
    return timezone.localtime(now or timezone.now(), marketplace_zone()).date().replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    return (month - dt.timedelta(days=1)).replace(day=1)


# --- the balance ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Balance:
    currency: str
    amount: Decimal  # positive: the seller owes the platform; negative: the platform owes the seller

    @property
    def seller_owes(self) -> bool:
        return self.amount > 0

    @property
    def platform_owes(self) -> bool:
        return self.amount < 0

    @property
    def magnitude(self) -> Decimal:
        return abs(self.amount)


def balances(seller: Seller) -> list[Balance]:
    """The seller's balance in each currency its ledger holds (one query)."""
    rows = (LedgerEntry.objects.filter(seller=seller).values("currency").order_by("currency")
            .annotate(total=Sum("amount")))
    return [Balance(row["currency"], money(row["total"])) for row in rows]


def ledger_entries(seller: Seller) -> QuerySet[LedgerEntry]:
    """Every entry, the newest first, with its claim (for the link)."""
    return LedgerEntry.objects.filter(seller=seller).select_related("claim").order_by("-created_at", "-id")


def _seller_funded_paid(seller: Seller) -> QuerySet[Refund]:
    return Refund.objects.filter(claim__seller=seller, funded_by=FundedBy.SELLER, status=RefundStatus.PAID,
                                 paid_at__isnull=False)


def activity_months(seller: Seller) -> list[dt.date]:
    """The months (first days, newest first) with a ledger entry or a paid refund the seller funded, on the
    marketplace's calendar (two queries; their rows are months, not entries)."""
    zone = marketplace_zone()
    months: set[dt.date] = set()
    for queryset, field in ((LedgerEntry.objects.filter(seller=seller), "created_at"),
                            (_seller_funded_paid(seller), "paid_at")):
        truncated = (queryset.annotate(month=TruncMonth(field, tzinfo=zone)).order_by()
                     .values_list("month", flat=True).distinct())
        months |= {_as_month(value, zone) for value in truncated}
    return sorted(months, reverse=True)


def _as_month(value: dt.datetime | dt.date, zone: ZoneInfo) -> dt.date:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value, zone) if timezone.is_aware(value) else value
        value = value.date()
    return value.replace(day=1)


# --- the monthly statement -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StatementLine:
    entry: LedgerEntry
    balance_after: Decimal


@dataclasses.dataclass(frozen=True)
class CurrencyStatement:
    currency: str
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal

    @property
    def movement(self) -> Decimal:
        return self.closing - self.opening

    @property
    def closing_magnitude(self) -> Decimal:
        return abs(self.closing)


@dataclasses.dataclass(frozen=True)
class FundedTotal:
    currency: str
    total: Decimal


@dataclasses.dataclass(frozen=True)
class Statement:
    seller: Seller
    month: dt.date
    start: dt.datetime
    end: dt.datetime
    currencies: list[CurrencyStatement]
    funded_refunds: list[Refund]
    funded_totals: list[FundedTotal]

    @property
    def last_day(self) -> dt.date:
        return (self.end - dt.timedelta(microseconds=1)).astimezone(self.start.tzinfo).date()

    @property
    def is_empty(self) -> bool:
        return not self.currencies and not self.funded_refunds


def monthly_statement(seller: Seller, month: dt.date) -> Statement:
    """The statement of `month` (any day of it) in three queries: the opening balance and the month's movement per
    currency, the month's entries, and the seller-funded refunds paid out in the month."""
    month = month.replace(day=1)
    start, end = month_bounds(month)
    in_month = Q(created_at__gte=start, created_at__lt=end)
    sums = (LedgerEntry.objects.filter(seller=seller, created_at__lt=end).values("currency").order_by("currency")
            .annotate(opening=Sum("amount", filter=Q(created_at__lt=start)), movement=Sum("amount", filter=in_month)))
    entries = list(LedgerEntry.objects.filter(Q(seller=seller) & in_month).select_related("claim", "claim__order")
                   .order_by("created_at", "id"))
    currencies = []
    for row in sums:
        opening, running, lines = money(row["opening"]), money(row["opening"]), []
        for entry in entries:
            if entry.currency == row["currency"]:
                running += entry.amount
                lines.append(StatementLine(entry, running))
        closing = opening + money(row["movement"])
        if opening or lines:
            currencies.append(CurrencyStatement(row["currency"], opening, lines, closing))
    funded = list(_seller_funded_paid(seller).filter(paid_at__gte=start, paid_at__lt=end)
                  .select_related("claim", "claim__order").order_by("paid_at", "id"))
    totals: dict[str, Decimal] = {}
    for refund in funded:
        totals[refund.currency] = totals.get(refund.currency, Decimal("0.00")) + refund.amount
    return Statement(seller=seller, month=month, start=start, end=end, currencies=currencies,
                     funded_refunds=funded,
                     funded_totals=[FundedTotal(currency, money(total)) for currency, total in sorted(totals.items())])

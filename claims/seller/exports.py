"""The seller's claims as CSV: one row per claim opened in a period, for the seller's own spreadsheets.

Days are the marketplace's (both included); moments are written in ISO 8601 with their offset in the marketplace's
zone, so a spreadsheet and a script read the same instant. The vocabulary columns (reason, state, outcome, funded by)
carry the stable codes of claims.choices, like the statement CSV's type column. Every text cell goes through
core.formatting.csv_text, so nothing a buyer or an import wrote runs as a formula. The rows are streamed from one
query read in chunks: memory and query count stay the same whatever the number of claims.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from claims.models import Claim
from core.formatting import csv_text
from sellers.models import Seller

DEFAULT_DAYS = 30
CHUNK = 500
COLUMNS = ["claim", "order", "opened_at", "reason", "state", "outcome", "amount", "currency", "funded_by",
           "first_reply_at", "resolved_at"]


def default_days(now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """The last 30 days, today included, on the marketplace's calendar."""
    today = timezone.localdate(now or timezone.now())
    return today - dt.timedelta(days=DEFAULT_DAYS - 1), today


def day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The first moment of `start` and of the day after `end`, on the marketplace's clock."""
    zone = timezone.get_default_timezone()
    return (dt.datetime.combine(start, dt.time.min, tzinfo=zone),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone))


def claims_opened(seller: Seller, start: dt.date, end: dt.date) -> QuerySet[Claim]:
    """The seller's claims opened from `start` to `end`, oldest first (the claim_newest index reads them by
    opened_at)."""
    first, after = day_bounds(start, end)
    return (Claim.objects.filter(seller=seller, opened_at__gte=first, opened_at__lt=after)
            .select_related("order").order_by("opened_at", "pk"))


def _iso(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment, timezone.get_default_timezone()).isoformat(timespec="seconds") if moment else ""


def row(claim: Claim) -> list[Any]:
    return [csv_text(claim.number), csv_text(claim.order.number), _iso(claim.opened_at), csv_text(claim.reason),
            csv_text(claim.state), csv_text(claim.outcome),
            "" if claim.refund_amount is None else claim.refund_amount, csv_text(claim.currency),
            csv_text(claim.funded_by), _iso(claim.first_replied_at), _iso(claim.resolved_at)]


class _Echo:
    """A file-like object whose write hands the line back, for csv.writer in a streamed response."""

    def write(self, value: str) -> str:
        return value


def lines(claims: QuerySet[Claim]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for claim in claims.iterator(chunk_size=CHUNK):
        yield writer.writerow(row(claim))


def filename(seller: Seller, start: dt.date, end: dt.date) -> str:
    return f"claims-{seller.slug}-{start:%Y-%m-%d}-{end:%Y-%m-%d}.csv"

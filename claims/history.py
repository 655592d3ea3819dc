"""A claim's buyer and seller on their record, for the console's claim page: what the buyer claimed and got back in the
last 12 months, and how the seller handles claims (open claims, first replies missed, payment-provider disputes lost).

Five queries whatever the number of claims, each on an index and bounded: the buyer's claims by (buyer, -opened_at);
the seller's open claims by claim_seller_queue_idx (index only); its first replies by the seller's claims intersected
with the claims opened in the window (claim_newest_idx), so a seller with a hundred thousand claims reads the rows of
its last 90 days only; its lost disputes by the ledger's dispute fines (the partial index one_dispute_fine_per_claim,
as small as the number of disputes ever lost).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.formatting import money
from sellers.models import LedgerEntry, LedgerKind, Seller

from .choices import ClaimState, Outcome, Reason
from .models import Claim, Refund

BUYER_MONTHS = 12  # the buyer's claims and refunds
BUYER_LISTED = 10  # the buyer's claims listed, newest first (the count and totals cover all)
FIRST_REPLY_DAYS = 90  # the seller's first replies: claims opened in these days
DISPUTE_MONTHS = 12  # the seller's payment-provider disputes lost


@dataclasses.dataclass(frozen=True)
class EarlierClaim:
    pk: int
    number: str
    opened_at: dt.datetime
    reason: str
    state: str
    outcome: str
    refunded: Decimal
    currency: str

    @property
    def reason_label(self) -> str:
        return str(Reason(self.reason).label)

    @property
    def status_label(self) -> str:
        """The outcome of a resolved claim, the state of an open one."""
        if self.state == ClaimState.RESOLVED and self.outcome:
            return str(Outcome(self.outcome).label)
        return str(ClaimState(self.state).label)


@dataclasses.dataclass(frozen=True)
class BuyerHistory:
    """The buyer's other claims opened since `since` (this claim left out): the newest ones, how many there are, and
    what was refunded on them, per currency (every refund recorded, whatever its payout status)."""

    since: dt.datetime
    claims: list[EarlierClaim]
    count: int
    refunded: list[tuple[str, Decimal]]

    @property
    def more(self) -> int:
        return self.count - len(self.claims)


@dataclasses.dataclass(frozen=True)
class SellerRecord:
    """`first_reply_due`: the seller's claims opened since `first_reply_since` whose first-reply deadline has passed;
    `first_reply_breached`: those of them that missed it (recorded by the deadline sweep). `disputes_lost`:
    payment-provider disputes the buyer won since `disputes_since`, by the dispute fine each of them cost the seller;
    None for the platform's own shop, which is fined nothing."""

    open_claims: int
    first_reply_since: dt.datetime
    first_reply_due: int
    first_reply_breached: int
    disputes_since: dt.datetime
    disputes_lost: int | None

    @property
    def breach_percent(self) -> int | None:
        if not self.first_reply_due:
            return None
        return round(self.first_reply_breached * 100 / self.first_reply_due)


def buyer_history(claim: Claim, *, now: dt.datetime | None = None) -> BuyerHistory:
    """Two queries on the (buyer, -opened_at) index, however many claims the buyer has."""
    now = now or timezone.now()
    since = now - relativedelta(months=BUYER_MONTHS)
    others = Claim.objects.filter(buyer_id=claim.buyer_id, opened_at__gte=since).exclude(pk=claim.pk)
    refunded = (Refund.objects.filter(claim=OuterRef("pk")).order_by().values("claim")
                .annotate(total=Sum("amount")).values("total"))
    newest = (others.annotate(refunded=Coalesce(Subquery(refunded), Value(Decimal("0")),
                                                output_field=DecimalField(max_digits=12, decimal_places=2)))
              .order_by("-opened_at", "-id")
              .values("pk", "number", "opened_at", "reason", "state", "outcome", "refunded", "currency")
              [:BUYER_LISTED])
    claims = [EarlierClaim(**{**row, "refunded": money(row["refunded"])}) for row in newest]
    # The join counts each claim once per refund: the claims are counted distinct, the refunds summed once each.
    totals = list(others.order_by().values("currency")
                  .annotate(claims=Count("pk", distinct=True), refunded=Sum("refunds__amount"))
                  .order_by("currency"))
    return BuyerHistory(
        since=since,
        claims=claims,
        count=sum(row["claims"] for row in totals),
        refunded=[(row["currency"], money(row["refunded"])) for row in totals if row["refunded"]],
    )


def seller_record(seller: Seller, *, now: dt.datetime | None = None) -> SellerRecord:
    """Three queries, each bounded by the seller's open claims, its time window or the disputes ever lost."""
    now = now or timezone.now()
    first_reply_since = now - dt.timedelta(days=FIRST_REPLY_DAYS)
    disputes_since = now - relativedelta(months=DISPUTE_MONTHS)
    of_seller = Claim.objects.filter(seller=seller).order_by()
    first_replies = of_seller.filter(opened_at__gte=first_reply_since, first_reply_due_at__lte=now).aggregate(
        due=Count("pk"), breached=Count("pk", filter=Q(first_reply_breached=True)))
    # One source for lost disputes: the fine, written once per dispute when the provider decides for the buyer
    # (claims.services.record_provider_verdict). The claims themselves (payment-provider channel, refund outcome)
    # say the same, but only by reading every claim of the seller: no index has the channel or the outcome.
    disputes_lost = None
    if not seller.is_platform:
        disputes_lost = LedgerEntry.objects.filter(seller=seller, kind=LedgerKind.DISPUTE_FINE,
                                                   created_at__gte=disputes_since).count()
    return SellerRecord(
        open_claims=of_seller.open().count(),
        first_reply_since=first_reply_since,
        first_reply_due=first_replies["due"],
        first_reply_breached=first_replies["breached"],
        disputes_since=disputes_since,
        disputes_lost=disputes_lost,
    )

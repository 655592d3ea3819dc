"""Claimed goods the buyer collects in person from a seller that offers it: when they are ready, from when storage
costs a fee and how much, and when the seller may sell them. One place for the rule; the deadlines (the notices),
the services and the pages read it.

The seller's warranty claim policy (3.1): "In case the claimed goods are not collected within one month from the
expiry of the period when the claim should have been resolved, and if it was resolved later, within one month from the
notification of its resolution ..., the seller is entitled to charge a storage fee of €0.50 per day, including VAT, at
the time of handing over the goods." and "If the buyer does not collect the goods within six months from the date they
were required to collect them, the seller has the right to sell the goods. The seller will inform the buyer about the
intended sale and provide a reasonable additional period for collecting the goods."

Reads only the claim's own fields and its policy snapshot: no query, no clock (the day is passed in).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from .calendar import add_calendar_days, add_calendar_months, local_date
from .choices import ClaimState, Outcome
from .policy import Policy

if TYPE_CHECKING:
    from .models import Claim

# The outcomes that leave the goods with the seller for the buyer to collect: repaired, replaced (the new item) or
# denied (the buyer's own item back). A refund or a discount leaves nothing to collect.
COLLECTION_OUTCOMES = {Outcome.REPAIR, Outcome.REPLACEMENT, Outcome.DENIED}


def goods_at_seller(claim: Claim) -> bool:
    """The claimed goods reached the seller: confirmed by the seller (or an agent), or as a return that arrived."""
    return claim.goods_received_at is not None or claim.return_received_at is not None


def becomes_ready_for_collection(claim: Claim) -> bool:
    """A resolved claim whose goods wait at the seller for a buyer who chose to collect them in person."""
    return (claim.collect_in_person and claim.state == ClaimState.RESOLVED and claim.outcome in COLLECTION_OUTCOMES
            and goods_at_seller(claim))


def awaiting_collection(claim: Claim) -> bool:
    return claim.collection_ready_at is not None and claim.collected_at is None


def free_until(claim: Claim) -> dt.datetime | None:
    """The end of the free storage: one month (policy `collection_free_months`) from the later of the resolution (its
    notification) and the moment the claim should have been resolved (the warranty clock's limit)."""
    if claim.collection_ready_at is None:
        return None
    policy = Policy.from_snapshot(claim.policy)
    start = max(claim.collection_ready_at, claim.warranty_due_at or claim.collection_ready_at)
    return add_calendar_months(start, policy.collection_free_months, time_zone=policy.time_zone)


def last_free_day(claim: Claim) -> dt.date | None:
    """The last day the buyer collects without a fee (the day after it is the first charged day)."""
    end = free_until(claim)
    return local_date(end, time_zone=Policy.from_snapshot(claim.policy).time_zone) if end else None


def charged_days(claim: Claim, on: dt.date) -> int:
    """Days of storage charged for collecting on `on` (or on the day it was collected, if earlier)."""
    last_free = last_free_day(claim)
    if last_free is None:
        return 0
    if claim.collected_at is not None:
        on = min(on, local_date(claim.collected_at, time_zone=Policy.from_snapshot(claim.policy).time_zone))
    return max((on - last_free).days, 0)


def storage_fee(claim: Claim, on: dt.date) -> Decimal:
    """The storage fee the seller may charge when the goods are handed over on `on`."""
    per_day = claim.storage_fee_per_day or Decimal("0")
    return (per_day * charged_days(claim, on)).quantize(Decimal("0.01"))


def sale_notice_due(claim: Claim) -> dt.datetime | None:
    """When the buyer is told of the intended sale: six months (policy `collection_sale_months`) after the date they
    were required to collect the goods, the end of the free storage."""
    end = free_until(claim)
    if end is None:
        return None
    policy = Policy.from_snapshot(claim.policy)
    return add_calendar_months(end, policy.collection_sale_months, time_zone=policy.time_zone)


def may_sell_from(claim: Claim) -> dt.date | None:
    """The day from which the seller may sell uncollected goods: the notice plus "a reasonable additional period"
    (policy `collection_sale_notice_days`), counted from the notice actually given (or due)."""
    notice = claim.sale_notice_at or sale_notice_due(claim)
    if notice is None:
        return None
    policy = Policy.from_snapshot(claim.policy)
    return local_date(add_calendar_days(notice, policy.collection_sale_notice_days, time_zone=policy.time_zone),
                      time_zone=policy.time_zone)

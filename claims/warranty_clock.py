"""The warranty-claim clock of markets whose consumer law limits how long a warranty claim may take (Slovakia 30 days,
at most 60; Portugal 30 days; Germany none): which claims have one, and when it runs out. One place for the rule; the
service that starts it (claims.services.warranty), the deadlines (claims.deadlines) and the pages read it.

The seller's warranty claim policy: "The warranty process ... begins on the day when all the following conditions are
met: Delivery of the written warranty claim from the buyer to the seller, delivery of the defective goods from the buyer
to the seller." and "The seller must resolve the warranty claim within 30 days from the start of the claims process.
The time needed for expert assessment of the defect is not included in this period. However, the resolution of the
warranty claim must not take longer than 60 days. If the resolution of the warranty claim takes longer than 60 days,
the buyer will have the same rights as if the defect were one that cannot be remedied."
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from orders.models import BuyerKind

from .calendar import add_calendar_days
from .choices import Channel, Reason
from .policy import Policy

if TYPE_CHECKING:
    from .models import Claim

def has_warranty_clock(claim: Claim, policy: Policy | None = None) -> bool:
    """A consumer's warranty (defective) claim opened on the platform in a market whose law sets a limit. "The buyer
    who is not a consumer is only entitled to the rights set forth in point 3.1": a business buyer's claim runs on the
    marketplace's own deadlines, without the consumer law's clock."""
    policy = policy or Policy.from_snapshot(claim.policy)
    return (claim.reason == Reason.DEFECTIVE and claim.channel == Channel.PLATFORM
            and claim.order.buyer_kind == BuyerKind.CONSUMER and policy.warranty_claim_days is not None)


def clock_limits(started_at: dt.datetime, policy: Policy) -> tuple[dt.datetime, dt.datetime | None]:
    """The limit and the maximum of a clock started at `started_at`: calendar days in the market's zone, ending at the
    same local clock time (across a daylight-saving change too). No maximum where the law sets none."""
    if policy.warranty_claim_days is None:
        raise ValueError("the market sets no warranty-claim limit")
    due = add_calendar_days(started_at, policy.warranty_claim_days, time_zone=policy.time_zone)
    most = (add_calendar_days(started_at, policy.warranty_claim_max_days, time_zone=policy.time_zone)
            if policy.warranty_claim_max_days is not None else None)
    return due, most


def reminder_at(claim: Claim, policy: Policy) -> dt.datetime | None:
    """When the party handling the claim is reminded of the limit (policy `warranty_reminder_days` before it)."""
    if claim.warranty_due_at is None:
        return None
    return add_calendar_days(claim.warranty_due_at, -policy.warranty_reminder_days, time_zone=policy.time_zone)


def is_paused(claim: Claim) -> bool:
    """An expert assesses the defect: "The time needed for expert assessment of the defect is not included"."""
    return claim.expert_paused_at is not None


def may_choose_remedy(claim: Claim) -> bool:
    """Past the maximum, the buyer may choose a replacement or withdrawal with a full refund."""
    return claim.warranty_max_reached_at is not None

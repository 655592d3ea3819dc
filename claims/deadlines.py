"""What is due on a claim: one function answers it, everything else asks it.

`due_events` lists a claim's deadlines and the sweep's reminders from its state, its dates and its policy snapshot.
The sweep acts on the events at or before now (`due_now`); `Claim.refresh_next_deadline` stores the earliest event
the sweep still has to act on (`next_deadline_at`) and the deadline of whoever must act now (`action_due_at`), by
which every queue sorts and filters; the buyer's, the seller's and the console's pages say it in words.

Overdue means `due_at <= now`: at that instant the sweep acts, so the time is up (`is_overdue`, `overdue_q`). A
queue sorted by `action_due_at` (none last) shows what is overdue first, then the least time left.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Q

from . import collection, decision_target, returns, warranty_clock
from .choices import WITH_SELLER_STATES, ClaimState, Party, Reason
from .policy import Policy, policy_of

if TYPE_CHECKING:
    from .models import Claim

# What happens at an event's moment; also the sweep's action names, in the order the rules take precedence.
FORCED_REFUND = "forced_refund"
DELIVERED = "delivered"
INFO_TIMEOUT = "info_timeout"
FIRST_REPLY_BREACHED = "first_reply_breached"
TAKEN_OVER = "taken_over"
FIRST_REPLY_REMINDER = "first_reply_reminder"
RESOLUTION_REMINDER = "resolution_reminder"
# The warranty-claim clock (claims.warranty_clock): its legal limit, its maximum and the reminder before the limit.
WARRANTY_LIMIT = "warranty_limit"
WARRANTY_MAX = "warranty_max"
WARRANTY_REMINDER = "warranty_reminder"
# Goods left with the seller for collection (claims.collection), on a resolved claim: the storage-fee notice at the end
# of the free storage, and the notice of the intended sale.
STORAGE_NOTICE = "storage_notice"
SALE_NOTICE = "sale_notice"
# The platform's decision target on an escalated claim (claims.decision_target): the breach, recorded once, and the
# reminder to the assignee before it.
DECISION = "decision"
DECISION_REMINDER = "decision_reminder"
# The return of the goods (claims.returns): the buyer's ship deadline and its reminder, and the seller's deadline to
# confirm a delivered return.
RETURN_NOT_SENT = "return_not_sent"
RETURN_NOT_CONFIRMED = "return_not_confirmed"
RETURN_REMINDER = "return_reminder"
# A resolution (forced refund, delivery) ends every other event; a breach recorded at the same moment as a reminder
# makes the reminder moot.
PRECEDENCE = [FORCED_REFUND, DELIVERED, INFO_TIMEOUT, RETURN_NOT_SENT, RETURN_NOT_CONFIRMED, FIRST_REPLY_BREACHED,
              DECISION, WARRANTY_LIMIT, WARRANTY_MAX, TAKEN_OVER, FIRST_REPLY_REMINDER, RESOLUTION_REMINDER,
              DECISION_REMINDER, WARRANTY_REMINDER, RETURN_REMINDER, STORAGE_NOTICE, SALE_NOTICE]


@dataclasses.dataclass(frozen=True)
class DueEvent:
    what: str
    at: dt.datetime
    # Who must act before `at`: the buyer, the seller, the platform (Party.AGENT), or nobody (Party.SYSTEM: the
    # sweep's own reminders and delivery scans).
    who: str
    # The sweep has acted on it (a recorded first-reply breach), but it stays the deadline its party missed.
    recorded: bool = False


def due_events(claim: Claim) -> list[DueEvent]:
    """A claim's due events, earliest first. Reads only the claim's own fields (no query, no clock)."""
    state = claim.state
    if state == ClaimState.RESOLVED:
        return _collection_events(claim)
    policy = policy_of(claim)
    remind = dt.timedelta(hours=policy.reminder_hours)
    first, resolution = claim.first_reply_due_at, claim.resolution_due_at
    awaiting_first = state == ClaimState.AWAITING_SELLER and first is not None
    with_seller = state in WITH_SELLER_STATES and resolution is not None
    candidates = [
        (FORCED_REFUND, claim.hard_deadline_at if not buyer_must_act(claim) else None, Party.AGENT, False),
        (DELIVERED, claim.delivery_seen_at if claim.reason == Reason.NOT_RECEIVED else None, Party.SYSTEM, False),
        (INFO_TIMEOUT, claim.info_due_at if state == ClaimState.AWAITING_INFO else None, claim.info_requested_from,
         False),
        (FIRST_REPLY_BREACHED, first if awaiting_first else None, Party.SELLER, claim.first_reply_breached),
        (TAKEN_OVER, resolution if with_seller else None, Party.SELLER, False),
        (FIRST_REPLY_REMINDER, first - remind if first is not None and awaiting_first and not claim.first_reply_breached
         and not claim.first_reply_reminded_at else None, Party.SYSTEM, False),
        (RESOLUTION_REMINDER, resolution - remind if resolution is not None and with_seller
         and not claim.resolution_reminded_at else None,
         Party.SYSTEM, False),
        # The platform's own deadline while a claim is escalated (not while it waits for information).
        (DECISION, decision_target.current(claim), Party.AGENT, claim.decision_breached),
        (DECISION_REMINDER, decision_target.reminder_at(claim, policy), Party.SYSTEM, False),
        *_warranty_candidates(claim, policy),
        *_return_candidates(claim, policy),
    ]
    events = [DueEvent(what, at, who, recorded) for what, at, who, recorded in candidates if at is not None]
    return sorted(events, key=lambda event: (event.at, PRECEDENCE.index(event.what)))


def buyer_must_act(claim: Claim) -> bool:
    """The buyer holds the claim up: a question asked of them, or a return they have not sent (claims.returns: an
    authorized return not sent yet; a parcel on its way or delivered is no longer the buyer's). Issue 14: the 180-day
    refund "is the marketplace's failure to resolve, never a reward for a buyer who did not act: it does not run while
    the buyer must act"; once they act it is due again."""
    if claim.state == ClaimState.AWAITING_INFO:
        return claim.info_requested_from == Party.BUYER
    if claim.state == ClaimState.AWAITING_RETURN:
        return returns.buyer_holds_return(claim)
    return False


def _return_candidates(claim: Claim, policy: Policy) -> list[tuple[str, dt.datetime | None, str, bool]]:
    """The return's events (claims.returns), while the claim awaits the goods: the buyer sends them by the ship
    deadline (reminded once before), the seller confirms a delivered return by its deadline."""
    if claim.state != ClaimState.AWAITING_RETURN:
        return []
    return [
        (RETURN_NOT_SENT, claim.return_due_at, Party.BUYER, False),
        (RETURN_NOT_CONFIRMED, claim.return_confirm_due_at, Party.SELLER, False),
        (RETURN_REMINDER, returns.reminder_at(claim, policy), Party.SYSTEM, False),
    ]


def _warranty_candidates(claim: Claim, policy: Policy) -> list[tuple[str, dt.datetime | None, str, bool]]:
    """The warranty-claim clock's events (claims.warranty_clock). While an expert assesses the defect the reminder and
    the limit are not due ("The time needed for expert assessment of the defect is not included in this period"; the
    limit moves on by the pause when it ends); the maximum is never paused ("must not take longer than 60 days")."""
    due, most = claim.warranty_due_at, claim.warranty_max_at
    if due is None and most is None:
        return []
    running = not warranty_clock.is_paused(claim)
    limit_reached = claim.warranty_limit_reached_at is not None
    # Whoever handles the claim must resolve it by then: the seller while it is with them, else the platform.
    handler = Party.SELLER if claim.state in WITH_SELLER_STATES else Party.AGENT
    remind = warranty_clock.reminder_at(claim, policy)
    return [
        (WARRANTY_LIMIT, due if running or limit_reached else None, handler, limit_reached),
        (WARRANTY_MAX, most, handler, claim.warranty_max_reached_at is not None),
        (WARRANTY_REMINDER, remind if running and not limit_reached and not claim.warranty_reminded_at else None,
         Party.SYSTEM, False),
    ]


def _collection_events(claim: Claim) -> list[DueEvent]:
    """A resolved claim's goods waiting at the seller (claims.collection): the storage-fee notice when the free storage
    ends and the notice of the intended sale, each once, none once collected. The system's own: no person's deadline,
    so a resolved claim never sorts into a queue."""
    if not collection.awaiting_collection(claim):
        return []
    candidates = [
        (STORAGE_NOTICE, collection.free_until(claim) if not claim.storage_notice_at else None),
        (SALE_NOTICE, collection.sale_notice_due(claim) if not claim.sale_notice_at else None),
    ]
    events = [DueEvent(what, at, Party.SYSTEM) for what, at in candidates if at is not None]
    return sorted(events, key=lambda event: (event.at, PRECEDENCE.index(event.what)))


def due_now(claim: Claim, now: dt.datetime) -> list[DueEvent]:
    """What the sweep has to do at `now`, in the order the rules take precedence."""
    due = [event for event in due_events(claim) if not event.recorded and is_overdue(event.at, now)]
    return sorted(due, key=lambda event: PRECEDENCE.index(event.what))


def next_deadline(events: list[DueEvent]) -> dt.datetime | None:
    """The earliest moment the sweep has something to do."""
    return min((event.at for event in events if not event.recorded), default=None)


def action_due(events: list[DueEvent]) -> DueEvent | None:
    """The deadline of whoever must act now: the earliest that is a person's or the platform's."""
    return next((event for event in events if event.who != Party.SYSTEM), None)


def event(events: list[DueEvent], what: str) -> DueEvent | None:
    return next((e for e in events if e.what == what), None)


def is_overdue(due_at: dt.datetime | None, now: dt.datetime) -> bool:
    return due_at is not None and due_at <= now


def overdue_q(now: dt.datetime) -> Q:
    """`is_overdue` of the stored action deadline, in SQL."""
    return Q(action_due_at__lte=now)

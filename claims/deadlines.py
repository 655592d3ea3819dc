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

from .choices import WITH_SELLER_STATES, ClaimState, Party, Reason
from .policy import Policy

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
PRECEDENCE = [FORCED_REFUND, DELIVERED, INFO_TIMEOUT, FIRST_REPLY_BREACHED, TAKEN_OVER, FIRST_REPLY_REMINDER,
              RESOLUTION_REMINDER]


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
        return []
    remind = dt.timedelta(hours=Policy.from_snapshot(claim.policy).reminder_hours)
    first, resolution = claim.first_reply_due_at, claim.resolution_due_at
    awaiting_first = state == ClaimState.AWAITING_SELLER and first is not None
    with_seller = state in WITH_SELLER_STATES and resolution is not None
    candidates = [
        (FORCED_REFUND, claim.hard_deadline_at, Party.AGENT, False),
        (DELIVERED, claim.delivery_seen_at if claim.reason == Reason.NOT_RECEIVED else None, Party.SYSTEM, False),
        (INFO_TIMEOUT, claim.info_due_at if state == ClaimState.AWAITING_INFO else None, claim.info_requested_from,
         False),
        (FIRST_REPLY_BREACHED, first if awaiting_first else None, Party.SELLER, claim.first_reply_breached),
        (TAKEN_OVER, resolution if with_seller else None, Party.SELLER, False),
        (FIRST_REPLY_REMINDER, first - remind if awaiting_first and not claim.first_reply_breached
         and not claim.first_reply_reminded_at else None, Party.SYSTEM, False),
        (RESOLUTION_REMINDER, resolution - remind if with_seller and not claim.resolution_reminded_at else None,
         Party.SYSTEM, False),
    ]
    events = [DueEvent(what, at, who, recorded) for what, at, who, recorded in candidates if at is not None]
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

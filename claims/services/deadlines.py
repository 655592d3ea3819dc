"""The system's transitions: deadlines, tracking updates and the sweep that enforces them."""


from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from core import logs
from orders.models import Order

from .. import batching, deadlines
from ..choices import EscalationCause, FundedBy, Party, Reason
from ..errors import ClaimError
from ..models import Claim, ClaimItem, ClaimTransition
from ..notifications import enqueue, notify
from ._base import (
    _after_resolution,
    _fire,
    _lock,
    _pay_refund,
    _record,
    _refund_room,
)
from .returns import confirm_lapsed, expire_return, remind_return
from .warranty import (
    reach_warranty_limit,
    reach_warranty_max,
    remind_warranty_limit,
    send_sale_notice,
    send_storage_notice,
)

logger = logging.getLogger(__name__)

# --- system: deadlines and tracking ----------------------------------------------------------------------
# Each public function locks the claim itself; the `_..._locked` variants act on a claim the caller holds
# locked (the deadline sweep), so one claim's due actions happen in one transaction.


def _take_over_locked(claim: Claim, *, cause: str, reason: str) -> ClaimTransition:
    log = _fire(claim, "take_over", None, reason=reason, cause=cause, at=timezone.now())
    notify(claim, "takeover", to=[Party.BUYER, Party.SELLER], key=log)
    return log


def _info_timeout_locked(claim: Claim) -> ClaimTransition:
    party = claim.info_requested_from
    log = _fire(claim, "info_timeout", None,
                reason=_("%(party)s did not answer in time") % {"party": claim.get_info_requested_from_display()},
                at=timezone.now())
    notify(claim, "info_missed", to=[party, Party.AGENT], key=log)
    return log


def _mark_delivered_locked(claim: Claim) -> ClaimTransition:
    log = _fire(claim, "mark_delivered", None, reason=_("Tracking shows delivery to the order's address"),
                at=timezone.now())
    _after_resolution(claim, by=None)
    notify(claim, "delivered", to=[Party.BUYER, Party.SELLER], key=log)
    return log


def _force_refund_locked(claim: Claim) -> ClaimTransition:
    room = _refund_room(claim)
    amount = room.total
    log = _fire(claim, "force_refund", None, reason=_("Unresolved at the final deadline"), amount=max(amount, 0),
                at=timezone.now())
    if amount > 0:
        _pay_refund(claim, amount, funded_by=FundedBy.PLATFORM, by=None, room=room)
    _after_resolution(claim, by=None)
    notify(claim, "forced_refund", to=[Party.BUYER, Party.SELLER], key=log)
    return log


def take_over(*, claim: Claim | int, cause: str = EscalationCause.TAKEOVER, reason: str = "") -> Claim:
    with transaction.atomic():
        claim = _lock(claim)
        _take_over_locked(claim, cause=cause, reason=reason or _("The resolution deadline passed"))
    return claim


def info_timeout(*, claim: Claim | int) -> Claim:
    with transaction.atomic():
        claim = _lock(claim)
        _info_timeout_locked(claim)
    return claim


def _closed_by_a_delivery(claim: Claim) -> bool:
    """Confirmed tracking shows the order delivered to its address, and the claim is about a parcel: a scan
    says nothing about digital items (a licence key that never came)."""
    return claim.order.is_delivered_to_order_address() and claim.items.filter(order_item__is_digital=False).exists()


def mark_delivered(*, claim: Claim | int) -> Claim:
    """Tracking shows delivery to the order's address: a not-received claim closes by itself."""
    with transaction.atomic():
        claim = _lock(claim)
        if not _closed_by_a_delivery(claim):
            raise ClaimError(_("Tracking does not show delivery to the order's address."), code="state")
        _mark_delivered_locked(claim)
    return claim


def force_refund(*, claim: Claim | int) -> Claim:
    """Unresolved after 180 days: the only acceptable solution is a full refund, paid by the platform and
    recovered from the seller."""
    with transaction.atomic():
        claim = _lock(claim)
        _force_refund_locked(claim)
    return claim


def note_delivery(*, order: Order) -> int:
    """Tracking of the order changed. When it shows delivery to the order's address, the open not-received
    claims become due for the sweep, which closes them; when a carrier withdraws that, they are no longer due.
    Only confirmed tracking counts (Order.confirmed_shipments), and claims about digital items only are left
    alone. Returns how many claims changed."""
    delivered = order.is_delivered_to_order_address()
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        claims = (Claim.objects.select_for_update(of=("self",)).select_related("seller", "order")
                  .filter(order=order, reason=Reason.NOT_RECEIVED, delivery_seen_at__isnull=delivered).open())
        if delivered:
            claims = claims.filter(Exists(ClaimItem.objects.filter(claim=OuterRef("pk"), order_item__is_digital=False)))
        for claim in claims:
            claim.delivery_seen_at = now if delivered else None
            claim.refresh_next_deadline()
            claim.save(update_fields=["delivery_seen_at", "next_deadline_at", "action_due_at", "updated_at"])
            changed += 1
    return changed


SWEEP_BATCH_SIZE = 200


def enforce_deadlines(now: dt.datetime | None = None, *, batch_size: int = SWEEP_BATCH_SIZE,
                      budget_seconds: float | None = None) -> dict[str, int]:
    """Act on every claim whose next deadline has passed at `now` (SPEC section 9).

    Due claims are taken in batches from the indexed `next_deadline_at` column, so the cost follows the number of
    claims due, not the number open. Each batch is one transaction (issue 20): its claims are locked with SKIP LOCKED
    (a claim another sweep or a person holds is left to them), each is re-checked and acted on, and what the actions
    write is written together at the batch's end (claims.batching): the claims' changed columns, the transition-log
    rows, the notifications, the outbox rows and the webhook events; the emails go to the broker after commit, in one
    hand-off, and the worker that sends them renders them. Several sweeps at once share the work and never act twice:
    a second sweep, at once or later, finds nothing left to do. A sweep killed in the middle of a batch leaves its
    claims untouched (the transaction never commits). A batch that fails is acted on again claim by claim, each in a
    transaction of its own, so one claim that cannot be acted on holds up no other; it is logged and stays due.

    With `budget_seconds` (the Celery task's: DEADLINE_SWEEP_TASK_SECONDS), no batch starts after that long: a task
    stays inside its time limit however much is due, and the next tick goes on where this one stopped."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    if not Claim.objects.filter(next_deadline_at__lte=now).exists():
        return counts  # the sweep's usual answer, from the index alone and without a transaction
    stop_at = time.monotonic() + budget_seconds if budget_seconds is not None else None
    after: tuple[dt.datetime, int] | None = None
    while True:
        taken, after = _sweep_batch(now, after, batch_size, counts)
        if taken < batch_size or after is None:
            return counts
        if stop_at is not None and time.monotonic() >= stop_at:
            logger.info("deadline sweep: stopped after %s s with claims still due; the next tick goes on",
                        budget_seconds)
            return counts


def sweep_helpers(now: dt.datetime, *, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """How many other workers a beat tick asks to share the due work (`claims.tasks.enforce_deadlines`): none while one
    batch holds all of it, or where the database cannot skip rows another sweep holds (SQLite); otherwise
    DEADLINE_SWEEP_WORKERS - 1, each taking batches with SKIP LOCKED until nothing due is left."""
    if settings.DEADLINE_SWEEP_WORKERS < 2 or not connection.features.has_select_for_update_skip_locked:
        return 0
    more_than_a_batch = Claim.objects.filter(next_deadline_at__lte=now).order_by()[batch_size:batch_size + 1].exists()
    return settings.DEADLINE_SWEEP_WORKERS - 1 if more_than_a_batch else 0


def _sweep_batch(now: dt.datetime, after: tuple[dt.datetime, int] | None, batch_size: int,
                 counts: dict[str, int]) -> tuple[int, tuple[dt.datetime, int] | None]:
    """One batch of due claims after `after` in deadline order: how many were taken, and where the next one starts."""
    due = Claim.objects.filter(next_deadline_at__lte=now)
    if after is not None:  # the index range starts at the last deadline taken
        due = due.filter(Q(next_deadline_at__gt=after[0]) | Q(next_deadline_at=after[0], pk__gt=after[1]),
                         next_deadline_at__gte=after[0])
    # The claims alone, in the index's order: a join here would make PostgreSQL join and sort every due claim to lock
    # the first 200 (a catch-up of 100,000 due claims read them all for every batch). Orders and sellers follow.
    due = due.select_for_update(skip_locked=True).order_by("next_deadline_at", "pk")
    claims: list[Claim] = []
    taken: list[tuple[dt.datetime, int]] = []
    acted: dict[int, list[str]] = {}
    try:
        with transaction.atomic(), batching.collecting() as batch:
            claims = list(due[:batch_size])
            # where the next batch starts; a due claim has its next deadline (the filter above)
            taken = [(cast(dt.datetime, claim.next_deadline_at), claim.pk) for claim in claims]
            prefetch_related_objects(claims, "order", "seller")
            for claim in claims:
                batch.take(claim)
                acted[claim.pk] = _due_actions(claim, now)
                claim.refresh_next_deadline()
            batch.flush(timezone.now())
            if ids := batch.email_ids:
                transaction.on_commit(lambda: enqueue(ids))
    except Exception:
        if not claims:
            raise
        logger.exception("deadline sweep: a batch of %d claims failed; acting on them one at a time", len(claims))
        acted = {}
        for claim in claims:
            try:
                acted[claim.pk] = _enforce_one(claim.pk, now)
            except Exception:  # noqa: BLE001 - one claim's failure is logged; the claim stays due for the next sweep
                logger.exception("deadline sweep: claim %s could not be acted on", claim.number)
    for actions in acted.values():
        for action in actions:
            counts[action] = counts.get(action, 0) + 1
    return len(taken), (taken[-1] if taken else None)


def _enforce_one(pk: int, now: dt.datetime) -> list[str]:
    """One due claim in a transaction of its own (a batch that failed is acted on again this way)."""
    with transaction.atomic():
        claim = (Claim.objects.select_for_update(skip_locked=True, of=("self",)).select_related("seller", "order")
                 .filter(pk=pk, next_deadline_at__lte=now).first())
        if claim is None:
            return []  # another sweep holds it, or it is no longer due
        actions = _due_actions(claim, now)
        claim.refresh_next_deadline()
        claim.save()
        return actions


def _due_actions(claim: Claim, now: dt.datetime) -> list[str]:
    """Everything due on one locked claim: its events at or before now (claims.deadlines), one at a time in the
    order the rules take precedence, each time read again (a take-over leaves no reminder due). Every action
    removes its own event; an event met twice is a bug, and the sweep stops rather than loop."""
    tried: list[str] = []
    actions: list[str] = []
    with logs.claim(claim.number):  # what is logged while acting on it names the claim (core.logs)
        while (due := deadlines.due_now(claim, now)) and due[0].what not in tried:
            tried.append(due[0].what)
            if _ACT[due[0].what](claim, now) is not False:
                actions.append(due[0].what)
    return actions


def _record_first_reply_breach(claim: Claim, now: dt.datetime) -> None:
    claim.first_reply_breached = True
    claim.first_reply_reminded_at = claim.first_reply_reminded_at or now
    log = _record(claim, "first_reply_breach", by=None, at=now,
                  reason=_("The seller did not reply within the first-reply deadline"))
    notify(claim, "first_reply_breached", to=[Party.BUYER, Party.SELLER], key=log)


def _record_decision_breach(claim: Claim, now: dt.datetime) -> None:
    """The platform's decision target passed with the claim still escalated (claims.decision_target): recorded once per
    claim, and the assignee told. Nobody assigned: no email, as for the reminder; the escalated queue lists the claim
    first, as overdue."""
    claim.decision_breached = True
    claim.decision_reminded_at = claim.decision_reminded_at or now
    log = _record(claim, "decision_breach", by=None, at=now,
                  reason=_("The platform did not decide the claim by its decision target"))
    notify(claim, "decision_breached", to=[Party.AGENT], key=log)


def _remind_decision(claim: Claim, now: dt.datetime) -> None:
    """The assignee is reminded of the decision target once per target (keyed by it). A claim nobody is assigned to
    gets no email (there is nobody to write to: the team works the unassigned tab of the escalated queue, sorted by
    the target) but counts as reminded, so the sweep does not come back to it every run. A sweep that comes only after
    the target (it was down) marks it without an email: the breach says it instead."""
    claim.decision_reminded_at = now
    if not deadlines.is_overdue(claim.decision_due_at, now):
        notify(claim, "decision_reminder", to=[Party.AGENT],
               key=f"decision_reminder:{claim.decision_due_at:%Y%m%d%H%M}")


def _delivered(claim: Claim, now: dt.datetime) -> bool:
    if _closed_by_a_delivery(claim):
        _mark_delivered_locked(claim)
        return True
    claim.delivery_seen_at = None  # the carrier corrected its tracking (or the claim is about digital items)
    return False


def _remind(event: str, field: str, key: str) -> Callable[[Claim, dt.datetime], None]:
    def remind(claim: Claim, now: dt.datetime) -> None:
        setattr(claim, field, now)
        notify(claim, event, to=[Party.SELLER], key=key)
    return remind


_ACT: dict[str, Callable[[Claim, dt.datetime], object]] = {
    deadlines.FORCED_REFUND: lambda claim, now: _force_refund_locked(claim),
    deadlines.DELIVERED: _delivered,
    deadlines.INFO_TIMEOUT: lambda claim, now: _info_timeout_locked(claim),
    deadlines.FIRST_REPLY_BREACHED: _record_first_reply_breach,
    deadlines.TAKEN_OVER: lambda claim, now: _take_over_locked(claim, cause=EscalationCause.TAKEOVER,
                                                                reason=_("The resolution deadline passed")),
    deadlines.FIRST_REPLY_REMINDER: _remind("reminder_first_reply", "first_reply_reminded_at", "first_reply"),
    deadlines.RESOLUTION_REMINDER: _remind("reminder_resolution", "resolution_reminded_at", "resolution"),
    deadlines.WARRANTY_LIMIT: reach_warranty_limit,
    deadlines.WARRANTY_MAX: reach_warranty_max,
    deadlines.WARRANTY_REMINDER: remind_warranty_limit,
    deadlines.DECISION: _record_decision_breach,
    deadlines.DECISION_REMINDER: _remind_decision,
    deadlines.STORAGE_NOTICE: send_storage_notice,
    deadlines.RETURN_NOT_SENT: expire_return,
    deadlines.RETURN_NOT_CONFIRMED: confirm_lapsed,
    deadlines.RETURN_REMINDER: remind_return,
    deadlines.SALE_NOTICE: send_sale_notice,
}

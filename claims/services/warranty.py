"""The warranty-claim clock and the goods left with the seller: the seller confirming the goods arrived (which starts
the clock), the sweep's actions at the clock's reminder, limit and maximum, the buyer's choice past the maximum, and
the collection of the goods (ready, the storage-fee and sale notices, collected).

The rules are claims.warranty_clock and claims.collection; the due events claims.deadlines; the refusals
claims.abilities."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from core import formatting

from .. import collection, warranty_clock
from ..abilities import confirm_goods_received_refusal, record_collection_refusal, transition_refusal
from ..calendar import local_date
from ..choices import WITH_SELLER_STATES, EscalationCause, FundedBy, Outcome, Party
from ..errors import ClaimError
from ..models import Claim
from ..notifications import notify
from ..policy import Policy
from ._base import User, _after_resolution, _conflict, _fire, _lock, _pay_refund, _record, _refund_room

# The buyer's choices past the warranty claim's maximum: "the buyer will have the same rights as if the defect were one
# that cannot be remedied" (replacement or withdrawal from the contract).
WARRANTY_RIGHTS = {"replacement": Outcome.REPLACEMENT, "refund": Outcome.REFUND}


def _save(claim: Claim) -> None:
    claim.refresh_next_deadline()
    try:
        claim.save()
    except ConcurrentTransition as exc:  # pragma: no cover - the row lock is held
        raise _conflict(claim) from exc


# --- the seller (or an agent) -------------------------------------------------------------------------------------


def confirm_goods_received(*, claim: Claim, by: User) -> Claim:
    """The claimed goods reached the seller. The written claim is the claim itself, so the warranty process starts
    now: a consumer's warranty claim in a market with a legal limit must be resolved by the limit (and the maximum).
    Any other claim records the moment only (the 180-day refund then no longer waits for the buyer's return)."""
    with transaction.atomic():
        claim = _lock(claim)
        if refusal := confirm_goods_received_refusal(claim, by):
            raise refusal
        now = timezone.now()
        policy = Policy.from_snapshot(claim.policy)
        claim.goods_received_at = now
        if warranty_clock.has_warranty_clock(claim, policy):
            claim.warranty_due_at, claim.warranty_max_at = warranty_clock.clock_limits(now, policy)
        claim.last_activity_at = now
        _save(claim)
        log = _record(claim, "goods_received", by=by, at=now)
        notify(claim, "goods_received", to=[Party.BUYER], key=log)
    return claim


def record_collection(*, claim: Claim, by: User) -> Claim:
    """The buyer collected the goods left with the seller; the storage fee owed (if any) is recorded with it."""
    with transaction.atomic():
        claim = _lock(claim)
        if refusal := record_collection_refusal(claim, by):
            raise refusal
        now = timezone.now()
        claim.collected_at = now
        _save(claim)
        policy = Policy.from_snapshot(claim.policy)
        fee = collection.storage_fee(claim, local_date(now, time_zone=policy.time_zone))
        reason = (_("Storage fee: %(fee)s") % {"fee": formatting.money_text(fee, claim.currency)}) if fee else ""
        log = _record(claim, "collected", by=by, at=now, reason=reason)
        notify(claim, "collected", to=[Party.BUYER], key=log)
    return claim


# --- the buyer -----------------------------------------------------------------------------------------------------


def exercise_warranty_rights(*, claim: Claim, by: User, choice: str) -> Claim:
    """Past the warranty claim's maximum the buyer chooses: a replacement (the seller provides it) or withdrawal with a
    full refund of what is left to refund (paid by the platform and recovered from the seller, as the forced refund)."""
    outcome = WARRANTY_RIGHTS.get(choice)
    if outcome is None:
        raise ClaimError(_("Please choose a replacement or a full refund."))
    with transaction.atomic():
        claim = _lock(claim)
        if refusal := transition_refusal(claim, "exercise_warranty_rights", by):
            raise refusal  # before the amounts: a claim resolved meanwhile says so
        room = _refund_room(claim) if outcome == Outcome.REFUND else None
        amount = room.total if room is not None else None
        if room is not None and room.total <= 0:
            raise ClaimError(_("Everything claimed has already been refunded; you can choose a replacement."),
                             code="state")
        log = _fire(claim, "exercise_warranty_rights", by, reason=str(Outcome(outcome).label), outcome=outcome,
                    amount=amount, at=timezone.now())
        if room is not None and amount:
            _pay_refund(claim, amount, funded_by=FundedBy.PLATFORM, by=None, room=room)
        _after_resolution(claim, by=by)
        notify(claim, "warranty_rights_exercised", to=[Party.BUYER, Party.SELLER, Party.AGENT], key=log)
    return claim


# --- after a resolution (claims.services._base._after_resolution) ---------------------------------------------------


def mark_ready_for_collection(claim: Claim) -> None:
    """A buyer who collects in person is told the goods wait at the seller once the claim resolves with them there."""
    if claim.collection_ready_at is not None or not collection.becomes_ready_for_collection(claim):
        return
    claim.collection_ready_at = claim.resolved_at or timezone.now()
    claim.refresh_next_deadline()
    Claim.objects.filter(pk=claim.pk).update(collection_ready_at=claim.collection_ready_at,
                                             next_deadline_at=claim.next_deadline_at,
                                             action_due_at=claim.action_due_at)
    log = _record(claim, "collection_ready", by=None, at=claim.collection_ready_at)
    notify(claim, "collection_ready", to=[Party.BUYER], key=log)


# --- the sweep's actions (claims.services.deadlines._ACT) on a claim it holds locked ----------------------------------


def remind_warranty_limit(claim: Claim, now: dt.datetime) -> None:
    claim.warranty_reminded_at = now
    to = [Party.SELLER] if claim.state in WITH_SELLER_STATES else [Party.AGENT]
    # Keyed by the limit: a limit moved on by an expert's pause gets its own reminder.
    notify(claim, "warranty_reminder", to=to, key=f"warranty_reminder:{claim.warranty_due_at:%Y%m%d%H%M}")


def reach_warranty_limit(claim: Claim, now: dt.datetime) -> None:
    """The legal limit passed unresolved: the platform takes over a claim still with the seller; otherwise it is
    recorded and the agent told."""
    claim.warranty_limit_reached_at = now
    if claim.state in WITH_SELLER_STATES:
        log = _fire(claim, "take_over", None, reason=_("The warranty claim was not resolved within the legal limit"),
                    cause=EscalationCause.WARRANTY_LIMIT, at=now)
        notify(claim, "warranty_limit", to=[Party.BUYER, Party.SELLER], key=log)
        return
    log = _record(claim, "warranty_limit", by=None, at=now,
                  reason=_("The warranty claim was not resolved within the legal limit"))
    notify(claim, "warranty_limit", to=[Party.BUYER, Party.AGENT], key=log)


def reach_warranty_max(claim: Claim, now: dt.datetime) -> None:
    """The maximum passed unresolved: the buyer has the rights of a defect that cannot be remedied (they choose,
    `exercise_warranty_rights`); a claim still with the seller goes to the platform."""
    claim.warranty_max_reached_at = now
    if claim.state in WITH_SELLER_STATES:
        _fire(claim, "take_over", None, reason=_("The warranty claim reached its maximum duration"),
              cause=EscalationCause.WARRANTY_LIMIT, at=now)
    log = _record(claim, "warranty_max", by=None, at=now)
    notify(claim, "warranty_max", to=[Party.BUYER], key=log)
    notify(claim, "warranty_max_reached", to=[Party.SELLER, Party.AGENT], key=log)


def send_storage_notice(claim: Claim, now: dt.datetime) -> None:
    claim.storage_notice_at = now
    log = _record(claim, "storage_notice", by=None, at=now)
    notify(claim, "storage_notice", to=[Party.BUYER, Party.SELLER], key=log)


def send_sale_notice(claim: Claim, now: dt.datetime) -> None:
    claim.sale_notice_at = now
    log = _record(claim, "sale_notice", by=None, at=now)
    notify(claim, "sale_notice", to=[Party.BUYER, Party.SELLER], key=log)

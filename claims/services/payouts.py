"""Refund payouts: every refund ends paid or failed, and the buyer is told.

    pending ──submit──▶ submitted ──▶ paid
       │                    │
       └────────────────────┴──▶ failed ──retry──▶ pending

`mark_refund_paid` and `mark_refund_failed` are the only way a status changes by hand (the finance group in the
console, one by one, in bulk or from a CSV of confirmations); the payments webhook calls them as the system
(`by=None`). With `REFUND_PROVIDER=webhook` the worker submits each refund to the shop's payment system
(claims.tasks.submit_refund_payout). Each change is locked, checked, appended to the refund's event log and
followed by the buyer's email in the same transaction.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.models import AuditKind

from .. import roles
from ..choices import Party, RefundStatus
from ..errors import ClaimError
from ..models import Claim, Refund, RefundEvent
from ..notifications import notify
from ._base import User, _clean_text

logger = logging.getLogger(__name__)

WEBHOOK = "webhook"
MANUAL = "manual"


def _lock_refund(refund: Refund | int) -> Refund:
    pk = refund.pk if isinstance(refund, Refund) else refund
    try:
        return Refund.objects.select_for_update(of=("self",)).select_related("claim").get(pk=pk)
    except Refund.DoesNotExist as exc:
        raise ClaimError(_("This refund does not exist."), code="invalid") from exc


def _check_actor(by: User | None) -> None:
    # by=None is the system: the payments webhook after its signature was verified, or the payout worker.
    if by is not None and not roles.may_manage_payouts(by):
        raise ClaimError(_("Only the finance team can change the status of a refund."), code="forbidden")


def _record(refund: Refund, *, to: str, by: User | None, note: str = "") -> None:
    RefundEvent.objects.create(refund=refund, from_status=refund.status, to_status=to, actor=by, note=note[:500],
                               created_at=timezone.now())
    refund.status = to


def _audit(refund: Refund, *, by: User | None) -> None:
    """The audit log (issue 18: "refunds and payouts"): a payout paid or failed, by the finance team or the system
    (the payments webhook). The failure's words stay in the refund's event log: they may quote the bank."""
    audit.record(AuditKind.PAYOUT, actor=by, subject=refund.claim.buyer, obj=refund, status=refund.status,
                 amount=str(refund.amount), currency=refund.currency)


def _claim_for_notice(refund: Refund) -> Claim:
    return Claim.objects.select_related("order", "seller", "buyer").get(pk=refund.claim_id)


def mark_refund_paid(*, refund: Refund | int, reference: str, by: User | None) -> Refund:
    """The payout reached the payment provider: record its reference and tell the buyer how and when the money
    arrives. Marking a paid refund paid again with the same reference changes nothing (confirmations repeat)."""
    _check_actor(by)
    reference = _clean_text(reference, what=_("the payment provider's reference"), limit=100)
    with transaction.atomic():
        refund = _lock_refund(refund)
        if refund.status == RefundStatus.PAID:
            if refund.payment_reference == reference:
                return refund
            raise ClaimError(_("Refund %(id)s was already paid with reference %(reference)s.")
                             % {"id": refund.pk, "reference": refund.payment_reference}, code="state")
        now = timezone.now()
        _record(refund, to=RefundStatus.PAID, by=by, note=reference)
        refund.payment_reference = reference
        refund.paid_at = now
        refund.failure_reason = ""
        refund.save(update_fields=["status", "payment_reference", "paid_at", "failure_reason"])
        _audit(refund, by=by)
        notify(_claim_for_notice(refund), "refund_paid", to=[Party.BUYER], key=f"refund{refund.pk}",
               context={"refund": refund})
    return refund


def mark_refund_failed(*, refund: Refund | int, reason: str, by: User | None) -> Refund:
    """The payout did not go through (card expired, account closed…): recorded with the reason; the buyer is told
    what happens next, and the finance team retries it or settles it another way."""
    _check_actor(by)
    reason = _clean_text(reason, what=_("why the payout failed"), limit=500)
    with transaction.atomic():
        refund = _lock_refund(refund)
        if refund.status == RefundStatus.FAILED and refund.failure_reason == reason:
            return refund
        if refund.status == RefundStatus.PAID:
            raise ClaimError(_("Refund %(id)s is already paid; a paid refund cannot fail.") % {"id": refund.pk},
                             code="state")
        _record(refund, to=RefundStatus.FAILED, by=by, note=reason)
        refund.failed_at = timezone.now()
        refund.failure_reason = reason
        refund.save(update_fields=["status", "failed_at", "failure_reason"])
        _audit(refund, by=by)
        notify(_claim_for_notice(refund), "refund_failed", to=[Party.BUYER],
               key=f"refund{refund.pk}:{refund.events.count()}", context={"refund": refund})
    return refund


def retry_refund(*, refund: Refund | int, by: User | None) -> Refund:
    """A failed payout goes back to the queue (and, with the webhook provider, is submitted again)."""
    _check_actor(by)
    with transaction.atomic():
        refund = _lock_refund(refund)
        if refund.status != RefundStatus.FAILED:
            raise ClaimError(_("Only a failed payout can be retried; refund %(id)s is “%(status)s”.")
                             % {"id": refund.pk, "status": refund.get_status_display()}, code="state")
        _record(refund, to=RefundStatus.PENDING, by=by, note=_("Retry"))
        refund.save(update_fields=["status"])
        dispatch_after_commit(refund)
    return refund


def submit_refund(*, refund: Refund | int) -> Refund | None:
    """The worker is about to send this refund to the payment provider: pending → submitted, once. Returns None
    when there is nothing to submit (already submitted, paid or failed)."""
    with transaction.atomic():
        refund = _lock_refund(refund)
        if refund.status != RefundStatus.PENDING:
            return None
        _record(refund, to=RefundStatus.SUBMITTED, by=None)
        refund.submitted_at = timezone.now()
        refund.attempts += 1
        refund.save(update_fields=["status", "submitted_at", "attempts"])
    return refund


def dispatch_after_commit(refund: Refund) -> None:
    """Hand a new (or retried) refund to the payout provider once the transaction that made it commits. The
    manual provider needs nothing: the refund waits in the finance team's payout queue."""
    if (refund.provider or settings.REFUND_PROVIDER) != WEBHOOK:
        return
    pk = refund.pk

    def send() -> None:
        from ..tasks import submit_refund_payout

        try:
            submit_refund_payout.apply_async((pk,), retry=False)
        except Exception:  # noqa: BLE001 - any broker failure: the re-send task picks pending refunds up
            logger.warning("broker unavailable: refund %s waits for the payout re-send task", pk)

    transaction.on_commit(send)

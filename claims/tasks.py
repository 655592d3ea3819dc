"""Thin Celery wrappers: each takes ids, calls one service, and is safe to run twice."""

import datetime as dt
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from core import logs

from . import notifications, payout_webhook, services
from .models import OutboundEmail, Refund


@shared_task(acks_late=True, ignore_result=True)
def enforce_deadlines(now: str | None = None, fan_out: bool = True) -> dict[str, int]:
    """Beat's tick (every minute) sweeps what is due at its moment. When more than one batch is due (a catch-up after
    an outage), it first asks other workers to sweep the same moment too (claims.services.sweep_helpers): each takes
    batches with SKIP LOCKED, so the workers share the due claims and none is acted on twice."""
    at = dt.datetime.fromisoformat(now) if now else timezone.now()
    if fan_out and (helpers := services.sweep_helpers(at)):
        with enforce_deadlines.app.producer_or_acquire() as producer:
            for _ in range(helpers):
                enforce_deadlines.apply_async(kwargs={"now": at.isoformat(), "fan_out": False}, producer=producer)
    return services.enforce_deadlines(at, budget_seconds=settings.DEADLINE_SWEEP_TASK_SECONDS)


def _claim_of(rows: QuerySet[Any]) -> str | None:
    """The number of the claim a task about one row is about, for its log lines (core.logs): one read by primary key."""
    number: str | None = rows.values_list("claim__number", flat=True).first()
    return number


@shared_task(acks_late=True, ignore_result=True)
def deliver_email(email_id: int) -> bool:
    with logs.claim(_claim_of(OutboundEmail.objects.filter(pk=email_id))):
        return notifications.deliver(email_id)


@shared_task(acks_late=True, ignore_result=True)
def deliver_emails(email_ids: list[int]) -> int:
    """A batch's emails (claims.notifications.enqueue), over one SMTP connection."""
    return notifications.deliver_many(email_ids)


@shared_task(acks_late=True, ignore_result=True)
def deliver_pending_emails(older_than: float = 30.0) -> int:
    """Beat's re-send of the outbox: rows older than `older_than` seconds still unsent (claims.notifications)."""
    return notifications.deliver_pending(older_than=dt.timedelta(seconds=older_than))


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def submit_refund_payout(self, refund_id: int) -> str:
    """POST one refund to the shop's payment system (claims.payout_webhook); retried with backoff when told to.
    The number of POSTs is capped by the service (REFUND_WEBHOOK_MAX_ATTEMPTS), not by Celery."""
    with logs.claim(_claim_of(Refund.objects.filter(pk=refund_id))):
        delivery = payout_webhook.deliver_refund(refund_id, attempt=self.request.retries + 1)
    if delivery.retry_in is not None:
        raise self.retry(countdown=delivery.retry_in)
    return delivery.outcome


@shared_task(acks_late=True, ignore_result=True)
def submit_pending_refunds() -> int:
    return payout_webhook.resubmit_pending()


@shared_task(acks_late=True, ignore_result=True)
def purge_expired_evidence() -> dict[str, int]:
    """Beat ("purge-expired-evidence"): the files of claims closed longer ago than EVIDENCE_RETENTION_MONTHS."""
    from dataclasses import asdict

    from .retention import purge_expired_evidence as purge

    return asdict(purge())


@shared_task(acks_late=True, ignore_result=True)
def forget_old_presence() -> int:
    """Beat ("forget-old-presence", hourly): the console's presence rows of pages closed more than a day ago."""
    from .admin.presence import forget_old_presence as forget

    return forget()

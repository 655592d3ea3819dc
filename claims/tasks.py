"""Thin Celery wrappers: each takes ids, calls one service, and is safe to run twice."""

from celery import shared_task

from . import notifications, payout_webhook, services


@shared_task(acks_late=True, ignore_result=True)
def enforce_deadlines() -> dict[str, int]:
    return services.enforce_deadlines()


@shared_task(acks_late=True, ignore_result=True)
def deliver_email(email_id: int) -> bool:
    return notifications.deliver(email_id)


@shared_task(acks_late=True, ignore_result=True)
def deliver_pending_emails() -> int:
    return notifications.deliver_pending()


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def submit_refund_payout(self, refund_id: int) -> str:
    """POST one refund to the shop's payment system (claims.payout_webhook); retried with backoff when told to.
    The number of POSTs is capped by the service (REFUND_WEBHOOK_MAX_ATTEMPTS), not by Celery."""
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

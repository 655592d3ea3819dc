"""Thin Celery wrappers: each takes ids, calls one service, and is safe to run twice."""

from celery import shared_task

from . import notifications, services


@shared_task(acks_late=True, ignore_result=True)
def enforce_deadlines() -> dict[str, int]:
    return services.enforce_deadlines()


@shared_task(acks_late=True, ignore_result=True)
def deliver_email(email_id: int) -> bool:
    return notifications.deliver(email_id)


@shared_task(acks_late=True, ignore_result=True)
def deliver_pending_emails() -> int:
    return notifications.deliver_pending()

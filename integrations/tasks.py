"""Thin Celery wrappers around integrations.webhooks: each takes ids and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import webhooks


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: int, handoff: str | None = None) -> bool:
    """One attempt of one delivery (after the commit that wrote it, as a short retry's countdown, or handed over by
    deliver_due_webhooks with its claim on the row)."""
    return webhooks.deliver(delivery_id, handoff=handoff)


@shared_task(acks_late=True, ignore_result=True)
def deliver_due_webhooks() -> int:
    """The beat's safety net: deliveries that are due and that no worker has (broker down, worker lost, retries
    minutes or hours away)."""
    return webhooks.deliver_due()

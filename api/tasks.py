"""Thin Celery wrappers of the API's periodic work."""

from __future__ import annotations

from celery import shared_task

from . import idempotency


@shared_task(acks_late=True, ignore_result=True)
def purge_idempotency_records() -> int:
    """Stored answers of idempotent POSTs past API_IDEMPOTENCY_HOURS (beat, hourly)."""
    return idempotency.purge_expired()

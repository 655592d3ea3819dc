"""The beat's schedule names tasks the workers know, and the periodic tasks of the API and the webhooks work."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings

from api.tasks import purge_idempotency_records
from config.celery_app import app
from integrations.keys import create_api_key
from integrations.models import IdempotencyRecord


def test_every_beat_entry_is_a_registered_task():
    app.loader.import_default_modules()  # the tasks modules of every installed app, as a worker loads them
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
    assert settings.CELERY_BEAT_SCHEDULE["deliver-due-webhooks"]["schedule"] <= 60
    assert settings.CELERY_BEAT_SCHEDULE["purge-idempotency-records"]["schedule"] == 3600


@pytest.mark.django_db
def test_the_hourly_purge_removes_only_answers_older_than_the_idempotency_window(settings):
    settings.API_IDEMPOTENCY_HOURS = 24
    key, _secret = create_api_key(name="Shop", seller=None)
    now = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
    for hours, name in ((25, "old"), (23, "recent")):
        IdempotencyRecord.objects.create(api_key=key, key=name, method="POST", path="/api/v1/x", request_hash="h",
                                         created_at=now - dt.timedelta(hours=hours))
    with time_machine.travel(now, tick=False):
        assert purge_idempotency_records.apply().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]

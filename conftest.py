import contextlib

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded evidence goes to a per-test folder, never into the repository."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache; every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@contextlib.contextmanager
def celery_broker(url: str):
    """Send tasks to a real broker (not inline) for the duration, then go back to eager tasks."""
    from config.celery_app import app

    def reset(eager: bool, broker: str) -> None:
        app.conf.task_always_eager = eager
        app.conf.broker_url = broker
        app._pool = None  # connection pools are bound to the broker URL they were made for
        app.amqp._producer_pool = None

    reset(False, url)
    try:
        yield app
    finally:
        reset(True, "memory://")


@pytest.fixture
def requires_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks and a database other processes can reach; CI runs it")

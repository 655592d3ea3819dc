"""Against the real services of the machine: a Celery worker on Redis delivers an email, and two deadline
sweeps racing on PostgreSQL act once per claim. These run in CI on PostgreSQL (skipped on SQLite, whose
in-memory test database another process cannot reach)."""

import datetime as dt
import threading
import time

import pytest
import redis
import time_machine
from django.db import close_old_connections, connection

from claims import services
from claims.models import ClaimTransition, OutboundEmail
from claims.tests.factories import OPENED_AT, delivered_order, open_defective_claim
from conftest import celery_broker, celery_worker

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own, emptied by the test
# One process of `make test` at a time (conftest.alone_on_redis), with the tests of test_faults: Celery workers on a
# Redis database each empties.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("alone_on_redis", "requires_postgresql"),
              pytest.mark.xdist_group("celery_workers_on_redis")]


@pytest.fixture
def worker(tmp_path):
    redis.Redis.from_url(REDIS_URL).flushdb()
    with celery_worker(tmp_path, REDIS_URL) as mail:
        yield mail


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_real_worker_on_redis_delivers_the_receipt(worker):
    with celery_broker(REDIS_URL):
        claim = open_defective_claim(at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    receipt = OutboundEmail.objects.get(claim=claim, event="receipt")
    assert wait_for(lambda: OutboundEmail.objects.filter(pk=receipt.pk, sent_at__isnull=False).exists()), \
        "the worker did not send the receipt"
    sent = "".join(path.read_text() for path in worker.iterdir())
    assert f"We received your claim {claim.number}" in sent


def test_an_email_queued_while_redis_was_unreachable_goes_out_later(worker):
    with celery_broker("redis://127.0.0.1:1/0"):
        claim = open_defective_claim(at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    receipt = OutboundEmail.objects.get(claim=claim, event="receipt")
    assert receipt.sent_at is None
    OutboundEmail.objects.filter(pk=receipt.pk).update(created_at=receipt.created_at - dt.timedelta(minutes=5))
    with celery_broker(REDIS_URL):
        from claims.tasks import deliver_pending_emails

        deliver_pending_emails.delay()  # what beat sends every minute
    assert wait_for(lambda: OutboundEmail.objects.filter(pk=receipt.pk, sent_at__isnull=False).exists())
    assert sum(p.read_text().count(f"We received your claim {claim.number}") for p in worker.iterdir()) == 1


def test_two_sweeps_at_once_act_once_per_claim():
    claims = [open_defective_claim(order=delivered_order()) for _ in range(30)]
    due = OPENED_AT + dt.timedelta(days=8)  # past the resolution deadline: every claim is taken over
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            with time_machine.travel(due, tick=False):
                barrier.wait()
                results.append(services.enforce_deadlines(batch_size=7))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(r.get("taken_over", 0) for r in results) == 30
    assert sum(r.get("first_reply_breached", 0) for r in results) == 30
    per_claim = ClaimTransition.objects.filter(name="take_over").values_list("claim_id", flat=True)
    assert sorted(per_claim) == sorted(c.pk for c in claims)

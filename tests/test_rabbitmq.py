"""The broker may be RabbitMQ (issue 21): with `amqp://` the queue is a quorum queue
(config.settings.base.celery_broker), a real worker on the RabbitMQ of this machine delivers a claim's emails, and a
task with an eta (a digest sent at the end of its window) waits in RabbitMQ's native delay queues, not in the worker.
These run in CI on PostgreSQL (skipped on SQLite, whose in-memory test database another process cannot reach)."""

import datetime as dt
import time
import uuid
from pathlib import Path

import amqp
import kombu
import pytest

from claims import notifications
from claims.models import OutboundEmail
from claims.tests.factories import delivered_order, open_defective_claim
from conftest import celery_broker, celery_worker

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("requires_postgresql")]


@pytest.fixture
def queue():
    """A queue (and exchange) of the test's own, deleted after it: RabbitMQ keeps quorum queues."""
    name = f"marketplace-test-{uuid.uuid4().hex[:12]}"
    yield name
    with kombu.Connection(RABBITMQ_URL) as conn:
        channel = conn.channel()
        for delete in (lambda: channel.queue_delete(name), lambda: channel.exchange_delete(name)):
            try:
                delete()
            except amqp.exceptions.NotFound:
                pass


@pytest.fixture
def worker(tmp_path, queue):
    with celery_worker(tmp_path, RABBITMQ_URL, CELERY_TASK_DEFAULT_QUEUE=queue) as mail:
        yield mail


def wait_for(predicate, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]  # any callable
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def sent(mail: Path) -> str:
    return "".join(path.read_text() for path in mail.iterdir()) if mail.exists() else ""


def test_a_real_worker_on_rabbitmq_delivers_from_a_quorum_queue(worker, queue):
    with celery_broker(RABBITMQ_URL, queue=queue):
        claim = open_defective_claim(order=delivered_order(), at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    receipt = OutboundEmail.objects.get(claim=claim, event="receipt")
    assert wait_for(lambda: OutboundEmail.objects.filter(pk=receipt.pk, sent_at__isnull=False).exists()), \
        "the worker did not send the receipt"
    assert f"We received your claim {claim.number}" in sent(worker)
    # The queue is a quorum queue: declaring it as a classic one is refused as "inequivalent".
    with kombu.Connection(RABBITMQ_URL) as conn, pytest.raises(amqp.exceptions.PreconditionFailed) as refused:
        conn.channel().queue_declare(queue, durable=True, auto_delete=False, arguments={"x-queue-type": "classic"})
    assert "x-queue-type" in str(refused.value)


def test_a_task_with_an_eta_waits_in_rabbitmq_and_runs_at_it(worker, queue):
    with celery_broker(RABBITMQ_URL, queue=queue):
        claim = open_defective_claim(order=delivered_order(), at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    receipt = OutboundEmail.objects.get(claim=claim, event="receipt")
    assert wait_for(lambda: OutboundEmail.objects.filter(pk=receipt.pk, sent_at__isnull=False).exists())
    # A digest-like row: due in 4 seconds, handed to the broker with that eta.
    later = OutboundEmail.objects.create(claim=claim, to_email="buyer@example.com", event="message_digest",
                                         dedupe_key=f"eta-test-{claim.pk}", language="en",
                                         subject=f"Later for {claim.number}", body_text="Later",
                                         body_html="<p>Later</p>",
                                         send_after=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=4))
    with celery_broker(RABBITMQ_URL, queue=queue):
        notifications.enqueue_at(later.pk, later.send_after)
    time.sleep(2)
    assert f"Later for {claim.number}" not in sent(worker)  # not before its eta
    assert wait_for(lambda: OutboundEmail.objects.filter(pk=later.pk, sent_at__isnull=False).exists(), timeout=30), \
        "the eta task did not run"
    assert sent(worker).count(f"Later for {claim.number}") == 1
    later.refresh_from_db()
    assert later.sent_at is not None and later.sent_at >= later.send_after

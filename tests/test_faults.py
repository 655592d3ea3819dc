"""Faults of the machinery around the claims: the broker unreachable while claims are opened and deadlines fall
due, and a Celery worker killed with SIGKILL in the middle of sending an email.

(a) runs on every database: tasks are eager in the test settings, so conftest.celery_broker points Celery at a
Redis address where nobody listens; every change still commits and its emails wait in the outbox.
(b) needs PostgreSQL (a database a worker process can reach) and the machine's Redis, in a database of its own
(db 14, emptied by the test; the server itself is never touched).
"""

from __future__ import annotations

import collections
import datetime as dt
import io
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import time_machine
from django.core import mail
from django.core.management import call_command

from claims import notifications, services
from claims.models import Claim, ClaimTransition, OutboundEmail, Refund
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from conftest import celery_broker, worker_environment
from sellers.models import LedgerEntry

# One process of `make test` at a time (conftest.alone_on_redis), with the tests of test_celery_integration: each
# starts Celery workers on a Redis database that it empties, or sends tasks to it, and two processes at once would take
# each other's tasks.
pytestmark = [pytest.mark.usefixtures("alone_on_redis"), pytest.mark.xdist_group("celery_workers_on_redis")]

NOBODY_LISTENS = "redis://127.0.0.1:1/0"
H = dt.timedelta(hours=1)
PAST_RESOLUTION = OPENED_AT + dt.timedelta(days=8)  # past every claim's 5 business days and 2-day info request
PAST_FINAL = OPENED_AT + dt.timedelta(days=181)  # past the 180-day final deadline

# What each claim's log must read after both sweeps: every deadline acted on once, nothing twice.
EXPECTED_LOG = {
    "awaiting_seller": ["open", "first_reply_breach", "take_over", "force_refund"],
    "in_progress": ["open", "reply", "take_over", "force_refund"],
    "awaiting_info": ["open", "escalate", "request_info", "info_timeout", "force_refund"],
    # the platform's decision target (2 business days) passed before the first sweep: recorded once
    "escalated": ["open", "escalate", "decision_breach", "force_refund"],
}


# --- (a) the broker is down -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # real commits, so the after-commit hand-over to Celery really runs
def test_nothing_is_lost_or_doubled_while_the_broker_is_down(caplog):
    caplog.set_level(logging.WARNING, logger="claims.notifications")
    with celery_broker(NOBODY_LISTENS):
        worlds = {state: claim_world(state) for state in EXPECTED_LOG}
        with time_machine.travel(PAST_RESOLUTION, tick=False):
            out = io.StringIO()
            call_command("enforce_deadlines", stdout=out)  # what cron would run without Celery
        with time_machine.travel(PAST_FINAL, tick=False):
            assert services.enforce_deadlines() == {"forced_refund": len(worlds)}

    # Every change committed; no email left, every one of them waits in the outbox.
    assert "broker unavailable" in caplog.text
    rows = list(OutboundEmail.objects.order_by("pk"))
    assert rows and all(row.sent_at is None for row in rows)
    assert mail.outbox == []
    for state, world in worlds.items():
        claim = world.refresh()
        assert (claim.state, claim.outcome) == ("resolved", "refund"), state
        assert list(claim.transitions.order_by("pk").values_list("name", flat=True)) == EXPECTED_LOG[state]
    assert Refund.objects.count() == LedgerEntry.objects.filter(kind="refund_recovery").count() == len(worlds)

    # The broker is back (celery_broker restored eager tasks): the periodic re-send delivers the backlog.
    keys = collections.Counter((row.to_email, row.subject) for row in rows)
    assert max(keys.values()) == 1, "two outbox rows with one recipient and subject: counting below would blur"
    with time_machine.travel(PAST_FINAL + H, tick=False):
        assert notifications.deliver_pending(older_than=dt.timedelta(0)) == len(rows)
        sent = collections.Counter((message.to[0], message.subject) for message in mail.outbox)
        assert sent == keys  # every row once, and nothing else
        assert not OutboundEmail.objects.filter(sent_at__isnull=True).exists()
        assert set(OutboundEmail.objects.values_list("attempts", flat=True)) == {1}

        # Running either again does nothing.
        log_size = ClaimTransition.objects.count()
        assert notifications.deliver_pending(older_than=dt.timedelta(0)) == 0
        assert services.enforce_deadlines() == {}
        assert services.enforce_deadlines(now=PAST_FINAL + dt.timedelta(days=30)) == {}
    assert len(mail.outbox) == len(rows)
    assert ClaimTransition.objects.count() == log_size


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_comes_back_before_the_resend_does_not_double_an_email():
    """The after-commit hand-over failed, then a later change succeeds with the broker back: the old row goes
    out through the re-send, the new one through its task, each once."""
    with celery_broker(NOBODY_LISTENS):
        world = claim_world("in_progress")
    waiting = set(OutboundEmail.objects.values_list("pk", flat=True))
    assert waiting and mail.outbox == []
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        services.post_message(claim=world.claim, by=world.buyer, body="Any news?")  # eager: sent at commit
        assert [m.subject for m in mail.outbox] == [f"New message on claim {world.claim.number}"]
        assert notifications.deliver_pending(older_than=dt.timedelta(0)) == len(waiting)
        assert notifications.deliver_pending(older_than=dt.timedelta(0)) == 0
    assert len(mail.outbox) == OutboundEmail.objects.count() == len(waiting) + 1
    assert not OutboundEmail.objects.filter(sent_at__isnull=True).exists()


# --- (b) a worker killed in the middle of a send -------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/14"  # a database of its own, emptied by the test
ROOT = Path(__file__).resolve().parent.parent
SLOW_SECONDS = 60  # the killed worker would be sending this long
CLAIM_SECONDS = 5  # the workers' EMAIL_CLAIM_SECONDS: a killed worker's email waits this long
# The worker runs in-process from this snippet so that a test can give it a short Redis visibility timeout.
WORKER = (
    "import sys\n"
    "from config.celery_app import app\n"
    "if float(sys.argv[1]):\n"
    "    app.conf.broker_transport_options = {**app.conf.broker_transport_options,\n"
    "                                         'visibility_timeout': float(sys.argv[1])}\n"
    "app.worker_main(sys.argv[2:])\n"
)


class Workers:
    """Celery workers in subprocesses, on Redis db 14, writing mail with tests.slow_email_backend."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.mail_dir = tmp_path / "mail"
        self.attempts_dir = tmp_path / "attempts"
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str, *, pool: str = "solo", slow_seconds: float = 0, slow_attempts: int = 1,
              visibility_timeout: float = 0) -> subprocess.Popen:
        env = worker_environment(
            REDIS_URL, self.mail_dir, TEST_EMAIL_BACKEND="tests.slow_email_backend.SlowFileBackend",
            SLOW_EMAIL_SECONDS=str(slow_seconds), SLOW_EMAIL_ATTEMPTS=str(slow_attempts),
            SLOW_EMAIL_MARKER_DIR=str(self.attempts_dir), EMAIL_CLAIM_SECONDS=str(CLAIM_SECONDS))
        log = open(self.tmp_path / f"{name}.log", "w")  # noqa: SIM115 - the process writes to it until it ends
        process = subprocess.Popen(  # noqa: S603 - our own worker with fixed arguments
            [sys.executable, "-c", WORKER, str(visibility_timeout), "worker", f"--pool={pool}", "--concurrency=1",
             "--loglevel=INFO", "--without-heartbeat", "--without-mingle", "--without-gossip", "-n", f"{name}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    def attempts(self) -> list[Path]:
        return sorted(self.attempts_dir.glob("*.attempt")) if self.attempts_dir.exists() else []

    def sent_count(self, subject: str) -> int:
        if not self.mail_dir.exists():
            return 0
        return sum(path.read_text().count(f"Subject: {subject}\n") for path in self.mail_dir.iterdir())

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        for log in sorted(self.tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")


@pytest.fixture
def workers(tmp_path, requires_postgresql):
    redis.Redis.from_url(REDIS_URL).flushdb()
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
        redis.Redis.from_url(REDIS_URL).flushdb()


def wait_for(predicate, timeout: float = 60.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def claim_ran_out(pk: int) -> bool:
    """True once the killed worker's claim on the outbox row has run out (EMAIL_CLAIM_SECONDS)."""
    row = OutboundEmail.objects.get(pk=pk)
    return row.claimed_until is None or row.claimed_until < dt.datetime.now(dt.UTC)


def beat_resends() -> None:
    """What beat does every minute: the outbox's re-send task, through the broker to the workers."""
    from claims.tasks import deliver_pending_emails

    with celery_broker(REDIS_URL):
        deliver_pending_emails.apply_async(kwargs={"older_than": 0})


def open_claim_with_one_email() -> tuple[Claim, OutboundEmail]:
    """A claim whose only email is the buyer's receipt (its seller has no staff), handed to Redis at commit."""
    with celery_broker(REDIS_URL):
        claim = open_defective_claim(order=delivered_order(),
                                     at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    return claim, OutboundEmail.objects.get(claim=claim)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_sending_is_redone_by_a_new_worker_once(workers):
    """SIGKILL of the whole worker (no warm shutdown, nothing acknowledged) in the middle of the SMTP conversation.
    The row stays claimed by the dead worker for EMAIL_CLAIM_SECONDS (5 s here), with the attempt counted; the task,
    unacknowledged, goes back to a new worker after Redis' visibility timeout (3 s here), and whichever comes first
    after the claim ran out — that task or beat's re-send — sends the email, once."""
    first = workers.start("first", slow_seconds=SLOW_SECONDS)
    claim, row = open_claim_with_one_email()
    subject = f"We received your claim {claim.number}"
    wait_for(lambda: len(workers.attempts()) == 1, what="the first worker to start sending")
    assert workers.attempts()[0].read_text() == subject
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)

    assert workers.sent_count(subject) == 0
    row.refresh_from_db()
    assert (row.sent_at, row.attempts) == (None, 1) and row.claimed_until is not None  # the killed attempt, claimed
    wait_for(lambda: claim_ran_out(row.pk), timeout=20, what="the killed worker's claim to run out")
    time.sleep(1)  # past the new worker's visibility timeout too, so it takes the message back at start-up

    workers.start("second", visibility_timeout=3)
    beat_resends()
    wait_for(lambda: OutboundEmail.objects.filter(pk=row.pk, sent_at__isnull=False).exists(), timeout=90,
             what="the email to be sent again")
    time.sleep(2)  # a second delivery, if there were one, would show by now
    assert workers.sent_count(subject) == 1
    assert len(workers.attempts()) == 2  # the killed attempt and the one that sent it
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2 and row.last_error == "" and row.claimed_until is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pool_process_killed_while_sending_is_redone_once(workers):
    """SIGKILL of the prefork child that runs the task: the worker sees it lost, and with acks_late and
    reject_on_worker_lost (the shipped settings, no override) puts the message back at once. The row is still the
    dead child's (its claim), so a redelivery before the claim ran out leaves it; after, that redelivery or beat's
    re-send sends it, once."""
    workers.start("prefork", pool="prefork", slow_seconds=SLOW_SECONDS)
    claim, row = open_claim_with_one_email()
    subject = f"We received your claim {claim.number}"
    wait_for(lambda: len(workers.attempts()) == 1, what="the pool process to start sending")
    child_pid = int(workers.attempts()[0].name.split("-")[0])
    assert child_pid != workers.processes[0].pid
    os.kill(child_pid, signal.SIGKILL)

    wait_for(lambda: claim_ran_out(row.pk), timeout=20, what="the killed child's claim to run out")
    # The redelivered task may come after the claim ran out (a new child takes a while to start) and send it itself;
    # else beat's re-send does. Either way: once.
    beat_resends()
    wait_for(lambda: OutboundEmail.objects.filter(pk=row.pk, sent_at__isnull=False).exists(), timeout=60,
             what="a new pool process to send the email")
    time.sleep(2)
    assert workers.sent_count(subject) == 1
    assert len(workers.attempts()) == 2
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2

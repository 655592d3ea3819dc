"""A deadline sweep killed in the middle of a batch (issue 20), on PostgreSQL: a real process runs the sweep on the test
database, stops inside its second batch (after the batch's claims were written, before it commits) and is killed with
SIGKILL. Every claim is then either fully acted on (its first batch committed) or untouched, and the next sweep acts on
the rest exactly once."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from claims import services
from claims.choices import ClaimState
from claims.models import Claim, ClaimTransition, Notification, OutboundEmail
from claims.tests.factories import OPENED_AT, delivered_order, open_defective_claim
from sellers.tests.factories import SellerMembershipFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("requires_postgresql")]

ROOT = Path(__file__).resolve().parent.parent
TAKEOVER_AT = OPENED_AT + dt.timedelta(days=8)
BATCH = 4

# The sweep as beat runs it, in a process of its own; it stops (and says so) when its second batch inserts its
# transition-log rows: the batch's claims are written, its notifications and outbox rows not yet, nothing committed.
DRIVER = """
import os, sys, time, datetime as dt
import django
django.setup()
import time_machine
from django.db import connection
from claims import services

inserts = 0
def pause_in_the_second_batch(execute, sql, params, many, context):
    global inserts
    result = execute(sql, params, many, context)
    if sql.startswith('INSERT INTO "claims_claimtransition"'):
        inserts += 1
        if inserts == 2:
            print("PAUSED", flush=True)
            time.sleep(600)
    return result

with time_machine.travel(dt.datetime.fromisoformat(sys.argv[1]), tick=False):
    with connection.execute_wrapper(pause_in_the_second_batch):
        services.enforce_deadlines(batch_size=int(sys.argv[2]))
print("FINISHED", flush=True)
"""


def _wait_for_the_killed_connection_to_end(timeout: float = 30.0) -> None:
    """PostgreSQL rolls back a killed client's transaction when it notices the closed socket: wait for that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid()")
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the killed sweep's connection is still open")


def _acted(claim: Claim) -> bool:
    return ClaimTransition.objects.filter(claim=claim, name="take_over").exists()


def test_a_sweep_killed_in_the_middle_of_a_batch_leaves_each_claim_acted_on_or_untouched():
    claims = []
    for _ in range(10):
        order = delivered_order()
        SellerMembershipFactory(seller=order.seller)
        claims.append(open_defective_claim(order=order))
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    process = subprocess.Popen([sys.executable, "-c", DRIVER, TAKEOVER_AT.isoformat(), str(BATCH)],  # noqa: S603
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        assert line == "PAUSED", f"the sweep did not reach its second batch: {line!r} {process.stderr.read()[-2000:]}"
        # The second batch holds its claims' row locks and has written them, uncommitted.
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()
    _wait_for_the_killed_connection_to_end()

    first_batch = sorted(claims, key=lambda c: (c.next_deadline_at, c.pk))[:BATCH]
    for claim in claims:
        claim.refresh_from_db()
        emails = OutboundEmail.objects.filter(claim=claim, event__in=["takeover", "first_reply_breached"])
        notes = Notification.objects.filter(claim=claim, event__in=["takeover", "first_reply_breached"])
        if claim in first_batch:  # fully acted on: state, columns, log rows, notifications and emails
            assert claim.state == ClaimState.ESCALATED and claim.first_reply_breached
            assert _acted(claim) and ClaimTransition.objects.filter(claim=claim, name="first_reply_breach").exists()
            assert emails.count() == 4 and notes.count() == 4  # two events, to the buyer and the staff member
        else:  # untouched
            assert claim.state == ClaimState.AWAITING_SELLER and not claim.first_reply_breached
            assert claim.next_deadline_at <= TAKEOVER_AT
            assert not _acted(claim)
            assert not ClaimTransition.objects.filter(claim=claim, name="first_reply_breach").exists()
            assert not emails.exists() and not notes.exists()

    # The next sweep finds the rest, and acts on each claim once.
    from time_machine import travel

    with travel(TAKEOVER_AT, tick=False):
        done = services.enforce_deadlines(batch_size=BATCH)
    assert done == {"first_reply_breached": 10 - BATCH, "taken_over": 10 - BATCH}
    for claim in claims:
        assert ClaimTransition.objects.filter(claim=claim, name="take_over").count() == 1
        assert OutboundEmail.objects.filter(claim=claim, event="takeover").count() == 2

"""The deadline sweep in batches (issue 20): a batch is one transaction whose writes go out together, its emails are
handed to the broker once after commit and rendered when sent, and a claim that cannot be acted on holds up no other.
On SQLite and on PostgreSQL; the killed sweep and the racing workers are in tests/test_sweep_batches_postgres.py."""

import datetime as dt
import logging

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims import deadlines, notifications, services, tasks
from claims.choices import ClaimState
from claims.models import Claim, ClaimTransition, Notification, OutboundEmail
from claims.services import deadlines as sweep_module
from claims.tests.factories import OPENED_AT, delivered_order, open_defective_claim
from sellers.tests.factories import SellerMembershipFactory

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)
TAKEOVER_AT = OPENED_AT + dt.timedelta(days=8)  # past the 5 business days to resolve: the platform takes over


def staffed_order():
    """An order of a seller with two staff members, each emailed by the seller's notifications."""
    order = delivered_order()
    for _ in range(2):
        SellerMembershipFactory(seller=order.seller)
    return order


def sweep(moment: dt.datetime, **kwargs) -> dict[str, int]:
    with time_machine.travel(moment, tick=False):
        return services.enforce_deadlines(**kwargs)


def counted_sweep(moment: dt.datetime, **kwargs) -> tuple[dict[str, int], int]:
    with CaptureQueriesContext(connection) as queries:
        done = sweep(moment, **kwargs)
    return done, len(queries)


def test_the_queries_of_a_batch_do_not_grow_with_its_claims():
    few = [open_defective_claim(order=staffed_order()) for _ in range(2)]
    many = [open_defective_claim(order=staffed_order(), at=OPENED_AT + dt.timedelta(days=30)) for _ in range(12)]
    done, few_queries = counted_sweep(OPENED_AT + 24 * H)
    assert done == {"first_reply_reminder": len(few)}
    done, many_queries = counted_sweep(OPENED_AT + dt.timedelta(days=30) + 24 * H)
    assert done["first_reply_reminder"] == len(many)  # and the first cohort's later deadlines, in the same batch
    # One batch: the due check, the locked read, one UPDATE per set of changed columns, one INSERT each of log rows,
    # notifications and outbox rows, the recipients, the endpoints, the keys already written, and the savepoints of
    # the test's transaction. None of it is per claim.
    assert few_queries <= 16
    assert many_queries <= 18
    assert many_queries <= 3 * len(many)


def test_every_batch_acts_once_per_claim_and_writes_every_row():
    claims = [open_defective_claim(order=staffed_order()) for _ in range(5)]
    assert sweep(TAKEOVER_AT, batch_size=2) == {"first_reply_breached": 5, "taken_over": 5}
    for claim in claims:
        claim.refresh_from_db()
        assert claim.state == ClaimState.ESCALATED
        assert claim.first_reply_breached and claim.next_deadline_at > TAKEOVER_AT
        assert list(ClaimTransition.objects.filter(claim=claim, name__in=["take_over", "first_reply_breach"])
                    .values_list("name", flat=True).order_by("name")) == ["first_reply_breach", "take_over"]
        takeover = ClaimTransition.objects.get(claim=claim, name="take_over")
        # Keyed by the log row, whose id the batch's INSERT gave it.
        keys = set(OutboundEmail.objects.filter(claim=claim, event="takeover").values_list("dedupe_key", flat=True))
        staff = claim.seller.memberships.values_list("user_id", flat=True)
        assert keys == {f"takeover:{claim.pk}:{takeover.pk}:{user}" for user in (claim.buyer_id, *staff)}
        assert Notification.objects.filter(claim=claim, event="takeover").count() == 1 + len(staff)
    assert sweep(TAKEOVER_AT) == {}


def test_an_email_of_a_batch_is_rendered_when_sent_with_the_facts_of_the_event():
    claim = open_defective_claim(order=staffed_order())
    sweep(TAKEOVER_AT)
    row = OutboundEmail.objects.get(claim=claim, event="takeover", recipient=claim.buyer)
    assert (row.body_text, row.body_html) == ("", "")
    assert row.facts == {"party": "buyer", "state": ClaimState.ESCALATED}
    Claim.objects.filter(pk=claim.pk).update(state=ClaimState.RESOLVED)  # the claim moves on before the email goes
    mail.outbox.clear()
    assert notifications.deliver(row.pk) is True
    sent = mail.outbox[0]
    assert sent.subject == f"Claim {claim.number}: the platform has taken over"
    assert "Status: With the platform" in sent.body
    assert "our support team now handles it" in sent.body
    html = sent.alternatives[0][0]
    assert claim.number in html and "With the platform" in html
    row.refresh_from_db()
    assert row.body_text == sent.body and row.sent_at is not None  # what was sent is kept


def test_a_batch_hands_its_emails_to_the_broker_once_after_commit(monkeypatch, django_capture_on_commit_callbacks):
    handed: list[list[int]] = []
    monkeypatch.setattr(tasks.deliver_emails, "apply_async", lambda args, **kwargs: handed.append(list(args[0])))
    claims = [open_defective_claim(order=staffed_order()) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sweep(OPENED_AT + 24 * H)
    assert handed == []  # nothing before commit
    for callback in callbacks:
        callback()
    rows = OutboundEmail.objects.filter(claim__in=claims, event="reminder_first_reply")
    assert len(handed) == 1 and sorted(handed[0]) == sorted(rows.values_list("pk", flat=True)) and len(rows) == 6


def test_many_emails_go_in_tasks_of_fifty(monkeypatch):
    handed: list[list[int]] = []
    monkeypatch.setattr(tasks.deliver_emails, "apply_async", lambda args, **kwargs: handed.append(list(args[0])))
    notifications.enqueue(range(1, 121))
    assert [len(ids) for ids in handed] == [50, 50, 20]
    assert [pk for ids in handed for pk in ids] == list(range(1, 121))


def test_a_claim_that_cannot_be_acted_on_holds_up_no_other(monkeypatch, caplog):
    claims = [open_defective_claim(order=staffed_order()) for _ in range(3)]
    broken = claims[1]
    remind = sweep_module._ACT[deadlines.FIRST_REPLY_REMINDER]

    def fails_on_one(claim, now):
        if claim.pk == broken.pk:
            raise RuntimeError("the seller's row is broken")
        return remind(claim, now)

    monkeypatch.setitem(sweep_module._ACT, deadlines.FIRST_REPLY_REMINDER, fails_on_one)
    with caplog.at_level(logging.ERROR, logger="claims.services.deadlines"):
        assert sweep(OPENED_AT + 24 * H) == {"first_reply_reminder": 2}
    assert f"claim {broken.number} could not be acted on" in caplog.text
    broken.refresh_from_db()
    assert broken.first_reply_reminded_at is None and broken.next_deadline_at == OPENED_AT + 24 * H  # still due
    assert not OutboundEmail.objects.filter(claim=broken).exclude(event="receipt").exclude(event="opened").exists()
    for claim in (claims[0], claims[2]):
        claim.refresh_from_db()
        assert claim.first_reply_reminded_at == OPENED_AT + 24 * H
        assert OutboundEmail.objects.filter(claim=claim, event="reminder_first_reply").count() == 2  # the staff
    monkeypatch.setitem(sweep_module._ACT, deadlines.FIRST_REPLY_REMINDER, remind)
    assert sweep(OPENED_AT + 25 * H) == {"first_reply_reminder": 1}  # mended: the next sweep acts on it


def test_a_tick_asks_for_helpers_only_when_more_than_a_batch_is_due(settings):
    settings.DEADLINE_SWEEP_WORKERS = 3
    for _ in range(3):
        open_defective_claim(order=staffed_order())
    due = OPENED_AT + 24 * H
    skip_locked = connection.features.has_select_for_update_skip_locked
    assert services.sweep_helpers(due, batch_size=3) == 0  # one batch holds it all
    assert services.sweep_helpers(due, batch_size=2) == (2 if skip_locked else 0)  # SQLite sweeps alone
    assert services.sweep_helpers(OPENED_AT, batch_size=1) == 0  # nothing due yet
    settings.DEADLINE_SWEEP_WORKERS = 1
    assert services.sweep_helpers(due, batch_size=1) == 0


def test_the_tick_and_its_helpers_act_once_per_claim(settings, monkeypatch):
    settings.DEADLINE_SWEEP_WORKERS = 3
    monkeypatch.setattr(services, "sweep_helpers",
                        lambda now: sweep_module.sweep_helpers(now, batch_size=2))
    claims = [open_defective_claim(order=staffed_order()) for _ in range(5)]
    with time_machine.travel(TAKEOVER_AT, tick=False):
        tasks.enforce_deadlines.delay()  # eager in tests: the helpers run first, each on the same moment
    assert ClaimTransition.objects.filter(claim__in=claims, name="take_over").count() == 5
    assert OutboundEmail.objects.filter(claim__in=claims, event="takeover").count() == 5 * 3  # buyer and two staff


def test_the_locked_read_of_a_batch_takes_the_claims_alone_in_deadline_order():
    """A join in the locked read makes PostgreSQL join and sort every due claim to lock the first batch (a catch-up of
    100,000 due read them all for each batch of 200): the read is of the claims alone, in the deadline index's order,
    and the orders and sellers come after, one query each."""
    for _ in range(3):
        open_defective_claim(order=staffed_order())
    with CaptureQueriesContext(connection) as queries:
        sweep(OPENED_AT + 24 * H)
    reads = [q["sql"] for q in queries.captured_queries
             if q["sql"].startswith('SELECT "claims_claim"') and "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]]
    assert len(reads) == 1
    assert "JOIN" not in reads[0]
    assert 'ORDER BY "claims_claim"."next_deadline_at" ASC, "claims_claim"."id" ASC' in reads[0]
    if connection.features.has_select_for_update_skip_locked:
        assert reads[0].endswith("FOR UPDATE SKIP LOCKED")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner and partial indexes")
def test_a_batchs_notification_keys_are_looked_up_in_the_keys_index():
    """A batch asks for hundreds of keys at once: past 100, PostgreSQL can no longer prove that `dedupe_key IN (…)`
    lies within the partial unique index (keyless rows left out) unless the query says so itself. Without it, every
    batch read the whole notification table."""
    keys = [f"first_reply_reminder:{n}:0:seller" for n in range(300)]
    with CaptureQueriesContext(connection) as queries:
        assert notifications._notified(keys) == set()
    (sql,) = [q["sql"] for q in queries.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny test table: ask whether the index can be used at all
        cursor.execute(f"EXPLAIN {sql}")  # noqa: S608 - the ORM's own SQL, captured above
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "notification_dedupe_key" in plan and "Seq Scan" not in plan, plan

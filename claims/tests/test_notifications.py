"""Every event becomes an email in the outbox, sent after commit, once, even when the broker was down."""

import datetime as dt
import io
import json
import re
import smtplib
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from claims import notifications, services
from claims.models import OutboundEmail
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from conftest import celery_broker
from core import formatting

pytestmark = pytest.mark.django_db


def test_opening_sends_the_buyer_a_written_receipt_and_tells_the_seller(django_capture_on_commit_callbacks):
    world_order = delivered_order()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        claim = open_defective_claim(order=world_order, description="Speaker crackles at any volume",
                                     desired_outcome="replacement")
        assert mail.outbox == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1
    receipt, = [m for m in mail.outbox if m.to == [claim.buyer.email]]
    assert receipt.subject == f"We received your claim {claim.number}"
    for expected in (claim.number, "Speaker crackles at any volume", "Replacement", "Defective (warranty)",
                     formatting.moment(claim.opened_at, now=claim.opened_at),
                     formatting.moment(claim.first_reply_due_at, now=claim.opened_at)):
        assert expected in receipt.body
    assert f"http://127.0.0.1:8000/claims/{claim.number}/" in receipt.body
    html, mime = receipt.alternatives[0]
    assert mime == "text/html" and claim.number in html and "<table" in html
    assert OutboundEmail.objects.filter(event="opened").count() == 0  # the seller has no staff yet here


def test_seller_staff_are_told_of_a_new_claim(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        world = claim_world("awaiting_seller")
    opened, = [m for m in mail.outbox if m.to == [world.staff.email]]
    assert "please reply within 48 hours" in opened.subject


def test_a_rolled_back_change_sends_nothing(django_capture_on_commit_callbacks):
    world = claim_world("in_progress")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.make_offer(claim=world.claim, by=world.staff, kind="full_refund")
            raise RuntimeError("rolled back")
    assert mail.outbox == [] and not OutboundEmail.objects.filter(event="offer").exists()


@pytest.mark.parametrize("action, event, recipients", [
    ("offer", "offer", ["buyer"]),
    ("message_from_buyer", "message", ["staff"]),
    ("internal_note", None, []),
    ("escalate", "escalated", ["buyer", "staff"]),
    # the seller hears the buyer closed it; the buyer gets the written resolution (claims.resolution); both get the
    # satisfaction survey (claims.satisfaction)
    ("close", "closed", ["buyer", "staff", "buyer", "staff"]),
])
def test_who_hears_of_what(django_capture_on_commit_callbacks, action, event, recipients):
    world = claim_world("in_progress", defect_type="irremovable" if action == "offer" else "")  # a partial refund
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        if action == "offer":
            services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="20")
        elif action == "message_from_buyer":
            services.post_message(claim=world.claim, by=world.buyer, body="Any news?")
        elif action == "internal_note":
            services.post_message(claim=world.claim, by=world.agent, body="Seller is known for this", internal=True)
        elif action == "escalate":
            services.escalate(claim=world.claim, by=world.agent, reason="Harassment")
        elif action == "close":
            services.close(claim=world.claim, by=world.buyer)
    expected = sorted(getattr(world, who).email for who in recipients)
    assert sorted(m.to[0] for m in mail.outbox) == expected
    if event:
        assert set(OutboundEmail.objects.filter(sent_at__isnull=False).values_list("event", flat=True)) >= {event}


def test_a_row_is_sent_once_however_often_delivery_runs():
    world = claim_world("awaiting_seller")
    row = OutboundEmail.objects.filter(event="receipt").get()
    mail.outbox.clear()
    OutboundEmail.objects.exclude(pk=row.pk).update(sent_at=OPENED_AT)  # only this row is waiting
    assert notifications.deliver(row.pk) is True
    assert notifications.deliver(row.pk) is False
    assert notifications.deliver_pending(older_than=dt.timedelta(0)) == 0
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [world.buyer.email]


def test_emails_wait_in_the_outbox_while_the_broker_is_down(django_capture_on_commit_callbacks):
    with celery_broker("redis://127.0.0.1:1/0"), django_capture_on_commit_callbacks(execute=True):  # nobody there
        claim = open_defective_claim()  # the buyer's action succeeds regardless
    row = OutboundEmail.objects.get(claim=claim, event="receipt")
    assert row.sent_at is None and mail.outbox == []
    # The periodic re-send picks it up once the broker (or here: the sweep itself) runs again.
    assert notifications.deliver_pending(older_than=dt.timedelta(0)) == 1
    assert notifications.deliver_pending(older_than=dt.timedelta(0)) == 0
    assert [m.subject for m in mail.outbox] == [f"We received your claim {claim.number}"]


def only_the_receipt() -> OutboundEmail:
    claim_world("awaiting_seller")
    row = OutboundEmail.objects.filter(event="receipt").get()
    OutboundEmail.objects.exclude(pk=row.pk).update(sent_at=OPENED_AT)
    return row


def test_a_mail_server_that_is_down_costs_the_email_no_attempt(monkeypatch):
    """The server, not the email, failed: the row waits a minute and keeps all its attempts (issue 21)."""
    row = only_the_receipt()

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP down")

    at = OPENED_AT + dt.timedelta(minutes=5)
    with time_machine.travel(at, tick=False):
        monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
        assert notifications.send_row(row.pk) is notifications.Sent.SERVER_DOWN
        row.refresh_from_db()
        assert (row.attempts, row.sent_at, row.claimed_until, row.claim_token) == (0, None, None, "")
        assert row.retry_after == at + dt.timedelta(minutes=1) and "SMTP down" in row.last_error
        monkeypatch.undo()
        assert notifications.deliver_pending(older_than=dt.timedelta(0)) == 0  # not before its minute
    with time_machine.travel(at + dt.timedelta(minutes=1), tick=False):
        assert notifications.deliver_pending(older_than=dt.timedelta(0)) == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1


def test_a_refused_email_backs_off_and_is_given_up_after_its_attempts(monkeypatch):
    """A message the server refuses (a bad address) is retried after 1, 2, 4 … minutes, then given up; the health
    check reports it apart and does not fail for it."""
    row = only_the_receipt()

    def refuse(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({self.to[0]: (550, b"no such user")})

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    at = OPENED_AT + dt.timedelta(minutes=5)
    waits = []
    for attempt in range(1, notifications.MAX_ATTEMPTS + 1):
        with time_machine.travel(at, tick=False):
            assert notifications.deliver_pending(older_than=dt.timedelta(0)) == 0
            row.refresh_from_db()
            assert (row.attempts, row.claimed_until) == (attempt, None) and "no such user" in row.last_error
            waits.append(row.retry_after - at)
            with time_machine.travel(row.retry_after - dt.timedelta(seconds=1), tick=False):
                assert notifications.send_row(row.pk) is notifications.Sent.SKIPPED  # still backing off
            at = row.retry_after
    assert waits[:5] == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    assert max(waits) <= dt.timedelta(hours=6)
    with time_machine.travel(at + dt.timedelta(seconds=1), tick=False):  # before the claim's first deadline
        assert notifications.send_row(row.pk) is notifications.Sent.SKIPPED  # given up
        out = io.StringIO()
        call_command("claims_health", stdout=out)  # exit status 0: a given-up email is no lag
    report = json.loads(out.getvalue())
    assert (report["emails_given_up"], report["emails_unsent"], report["email_lag_seconds"]) == (1, 0, 0)


def test_a_row_another_worker_is_sending_is_left_to_it_until_its_claim_runs_out(settings):
    """No lock is held during the SMTP conversation: the row is claimed until EMAIL_CLAIM_SECONDS from now. A worker
    killed mid-way leaves its claim; the row is sent once the claim has run out, and that attempt counts."""
    settings.EMAIL_CLAIM_SECONDS = 300
    row = only_the_receipt()
    at = OPENED_AT + dt.timedelta(minutes=5)
    with time_machine.travel(at, tick=False):
        token = notifications._claim(row.pk, timezone.now())  # a worker that is then killed
        assert token is not None and notifications._claim(row.pk, timezone.now()) is None
        assert notifications.send_row(row.pk) is notifications.Sent.SKIPPED
        assert notifications.deliver_pending(older_than=dt.timedelta(0)) == 0
    with time_machine.travel(at + dt.timedelta(seconds=301), tick=False):
        assert notifications.deliver_pending(older_than=dt.timedelta(0)) == 1
    row.refresh_from_db()
    assert (row.attempts, row.claimed_until, row.claim_token) == (2, None, "") and row.sent_at is not None
    assert len(mail.outbox) == 1


def test_the_sent_mark_needs_the_claim_it_was_sent_under(settings, caplog):
    """A worker whose claim ran out mid-conversation (and was taken by another) does not mark the other's row."""
    row = only_the_receipt()
    original = notifications.EmailMultiAlternatives.send

    def slow_send(message, fail_silently=False):
        OutboundEmail.objects.filter(pk=row.pk).update(claim_token="another-worker")
        return original(message, fail_silently)

    with mock.patch.object(notifications.EmailMultiAlternatives, "send", slow_send):
        assert notifications.send_row(row.pk) is notifications.Sent.SENT
    row.refresh_from_db()
    assert row.sent_at is None and row.claim_token == "another-worker"
    assert "EMAIL_CLAIM_SECONDS is too short" in caplog.text


def test_a_row_deleted_while_it_is_sent_is_neither_an_error_nor_brought_back(caplog):
    """An erasure deletes its person's unsent emails, those a worker holds too (accounts.erasure): the worker that
    was talking to the mail server says so plainly, not that EMAIL_CLAIM_SECONDS is too short, and writes nothing
    back; a worker that claimed a row which is then gone before it read it sends nothing."""
    row = only_the_receipt()
    original = notifications.EmailMultiAlternatives.send

    def erased_meanwhile(message, fail_silently=False):
        OutboundEmail.objects.filter(pk=row.pk).delete()
        return original(message, fail_silently)

    with mock.patch.object(notifications.EmailMultiAlternatives, "send", erased_meanwhile):
        assert notifications.send_row(row.pk) is notifications.Sent.SENT
    assert not OutboundEmail.objects.filter(pk=row.pk).exists()
    assert f"email {row.pk} was deleted while it was being sent" in caplog.text
    assert "EMAIL_CLAIM_SECONDS is too short" not in caplog.text
    other = OutboundEmail.objects.filter(sent_at__isnull=True).first() or only_the_receipt()
    claim = notifications._claim

    def claimed_then_deleted(pk, now):  # type: ignore[no-untyped-def]
        token = claim(pk, now)
        OutboundEmail.objects.filter(pk=pk).delete()
        return token

    sent = len(mail.outbox)
    with mock.patch.object(notifications, "_claim", claimed_then_deleted):
        assert notifications.send_row(other.pk) is notifications.Sent.SKIPPED
    assert len(mail.outbox) == sent


def test_a_batch_stops_at_a_dead_server_and_the_rest_wait_untouched(monkeypatch):
    claim_world("awaiting_seller")
    rows = list(OutboundEmail.objects.order_by("pk").values_list("pk", flat=True))
    assert len(rows) >= 2
    calls = []

    def refuse(self, fail_silently=False):
        calls.append(self.to)
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    assert notifications.deliver_many(rows) == 0
    assert len(calls) == 1  # one try, not one EMAIL_TIMEOUT per email
    untouched = OutboundEmail.objects.filter(pk__in=rows[1:])
    assert set(untouched.values_list("attempts", "retry_after", "claimed_until")) == {(0, None, None)}


def test_every_attempt_of_a_row_carries_the_same_message_id(monkeypatch):
    """A server or reader that gets an email twice (a worker killed after the server took it) shows it once."""
    row = only_the_receipt()

    def refuse(self, fail_silently=False):
        seen.append(self.extra_headers["Message-ID"])
        raise smtplib.SMTPDataError(451, b"try again later")

    seen: list[str] = []
    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    assert notifications.send_row(row.pk) is notifications.Sent.FAILED
    monkeypatch.undo()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=False):
        assert notifications.send_row(row.pk) is notifications.Sent.SENT
    assert mail.outbox[-1].extra_headers["Message-ID"] == seen[0] == notifications.message_id(row)
    assert re.fullmatch(r"<outbox-\d+\.\d+@[^>]+>", seen[0])


def test_the_same_event_is_queued_once():
    world = claim_world("awaiting_seller")
    before = OutboundEmail.objects.count()
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=1), tick=False):
        notifications.notify(world.claim, "reminder_first_reply", to=["seller"], key="first_reply")
        notifications.notify(world.claim, "reminder_first_reply", to=["seller"], key="first_reply")
    assert OutboundEmail.objects.count() == before + 1

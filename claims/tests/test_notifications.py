"""Every event becomes an email in the outbox, sent after commit, once, even when the broker was down."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import transaction

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


def test_failed_sends_are_counted_and_retried(monkeypatch):
    claim_world("awaiting_seller")
    row = OutboundEmail.objects.filter(event="receipt").get()
    OutboundEmail.objects.exclude(pk=row.pk).update(sent_at=OPENED_AT)

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    assert notifications.deliver(row.pk) is False
    row.refresh_from_db()
    assert (row.attempts, row.sent_at) == (1, None) and "SMTP down" in row.last_error
    monkeypatch.undo()
    assert notifications.deliver_pending(older_than=dt.timedelta(0)) == 1


def test_the_same_event_is_queued_once():
    world = claim_world("awaiting_seller")
    before = OutboundEmail.objects.count()
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=1), tick=False):
        notifications.notify(world.claim, "reminder_first_reply", to=["seller"], key="first_reply")
        notifications.notify(world.claim, "reminder_first_reply", to=["seller"], key="first_reply")
    assert OutboundEmail.objects.count() == before + 1

"""A burst of messages becomes one digest email per recipient (claims.notifications; issue 18: "a burst of messages
becomes one digest email per recipient").

The first message of a burst is emailed at once; the next ones within MESSAGE_DIGEST_MINUTES of that email join one
digest row per recipient and claim, sent when the window ends and listing every message of it (who, when, what) in
the recipient's language, in its text and its HTML alike. Lists of notifications keep one line per message; muted
recipients get nothing by email. The clock is controlled throughout; the race runs on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from claims import notifications, services
from claims.models import Claim, Notification, OutboundEmail
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory, make_agent

pytestmark = pytest.mark.django_db
MINUTE = dt.timedelta(minutes=1)
# Two hours after claim_world's own messages (its reply at 10:00 UTC): 13:00 in the claim's zone (Berlin).
NOON = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """Post a message at a moment, with what runs after commit (the emails handed to the worker) run then too."""

    def post(claim: Claim, by, at: dt.datetime, body: str):  # type: ignore[no-untyped-def]
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            return services.post_message(claim=Claim.objects.get(pk=claim.pk), by=by, body=body)

    return post


def sweep(at: dt.datetime) -> int:
    """The beat's re-send task at `at`: how many digests it sent."""
    with time_machine.travel(at, tick=False):
        before = OutboundEmail.objects.filter(event="message_digest", sent_at__isnull=False).count()
        notifications.deliver_pending()
        return OutboundEmail.objects.filter(event="message_digest", sent_at__isnull=False).count() - before


def emails_to(user, claim: Claim | None = None) -> list[str]:
    rows = OutboundEmail.objects.filter(recipient=user, event__in=["message", "message_digest"])
    if claim is not None:
        rows = rows.filter(claim=claim)
    return list(rows.order_by("pk").values_list("event", flat=True))


def listed(text: str) -> list[str]:
    """The message texts a digest lists, in order (each written as "Message n")."""
    return re.findall(r"Message \d+", text)


def html_text(body: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", body))


def test_a_burst_becomes_one_email_and_one_digest(post):
    world = claim_world("in_progress")
    world.buyer.first_name, world.buyer.last_name = "Jana", "Nováková"
    world.buyer.save(update_fields=["first_name", "last_name"])
    staff = world.staff
    mail.outbox.clear()
    post(world.claim, world.buyer, NOON, "Message 1")
    assert [m.subject for m in mail.outbox] == [f"New message on claim {world.claim.number}"]  # at once
    for n in range(2, 13):  # the 2nd to the 12th within 15 minutes of that email
        post(world.claim, world.buyer, NOON + (n - 1) * MINUTE, f"Message {n}")
    assert emails_to(staff) == ["message", "message_digest"]
    digest = OutboundEmail.objects.get(recipient=staff, event="message_digest")
    assert digest.send_after == NOON + 15 * MINUTE and digest.sent_at is None
    assert len(mail.outbox) == 1  # nothing more has left yet
    # The list of notifications keeps one line per message.
    assert Notification.objects.filter(user=staff, claim=world.claim, event="message").count() == 12

    assert sweep(NOON + 15 * MINUTE - dt.timedelta(microseconds=1)) == 0
    with time_machine.travel(NOON + 15 * MINUTE - dt.timedelta(microseconds=1), tick=False):
        assert notifications.deliver(digest.pk) is False  # not before the end of its window, whoever asks
    assert sweep(NOON + 15 * MINUTE) == 1
    assert sweep(NOON + 16 * MINUTE) == 0
    sent = mail.outbox[-1]
    assert sent.to == [staff.email] and sent.subject == f"11 new messages on claim {world.claim.number}"
    expected = [f"Message {n}" for n in range(2, 13)]
    html_body = sent.alternatives[0][0]
    assert listed(sent.body) == expected and listed(html_text(html_body)) == expected  # text and HTML alike
    assert sent.body.count("The buyer,") == 11 and html_text(html_body).count("The buyer") == 11
    for n in (2, 12):  # each with its moment, in the claim's zone
        assert f"Tue 10 Mar, 13:{n - 1:02d} CET" in sent.body and f"Tue 10 Mar, 13:{n - 1:02d} CET" in html_body
    for personal in (world.buyer.email, world.buyer.username, "Jana", "Nováková"):
        assert personal not in sent.body and personal not in html_body  # "the buyer", never who
    assert "Message 1\n" not in sent.body  # the first one had its own email


def test_after_a_digest_the_next_window_follows_it_and_then_news_starts_fresh(post):
    world = claim_world("in_progress")
    post(world.claim, world.buyer, NOON, "Message 1")
    post(world.claim, world.buyer, NOON + 5 * MINUTE, "Message 2")
    assert sweep(NOON + 15 * MINUTE) == 1
    # Five minutes after the digest went out: a new digest, sent 15 minutes after that one.
    post(world.claim, world.buyer, NOON + 20 * MINUTE, "Message 3")
    second = OutboundEmail.objects.filter(recipient=world.staff, event="message_digest").latest("pk")
    assert second.send_after == NOON + 30 * MINUTE and listed(second.body_text) == ["Message 3"]
    assert second.subject == f"1 new message on claim {world.claim.number}"
    assert sweep(NOON + 30 * MINUTE) == 1
    # More than 15 minutes after the last email: news on its own again.
    post(world.claim, world.buyer, NOON + 46 * MINUTE, "Message 4")
    assert emails_to(world.staff) == ["message", "message_digest", "message_digest", "message"]
    assert mail.outbox[-1].subject == f"New message on claim {world.claim.number}"
    assert "Message 4" in mail.outbox[-1].body


def test_the_window_is_measured_from_the_last_email(post):
    """15 minutes after the email a message is news again (at 14:59 it still joins the digest)."""
    world = claim_world("in_progress")
    post(world.claim, world.buyer, NOON, "Message 1")
    post(world.claim, world.buyer, NOON + 15 * MINUTE - dt.timedelta(seconds=1), "Message 2")
    assert emails_to(world.staff) == ["message", "message_digest"]
    assert sweep(NOON + 15 * MINUTE) == 1
    world2 = claim_world("in_progress")
    post(world2.claim, world2.buyer, NOON, "Message 1")
    post(world2.claim, world2.buyer, NOON + 15 * MINUTE, "Message 2")
    assert emails_to(world2.staff) == ["message", "message"]


def test_claims_and_recipients_do_not_mix(post):
    world = claim_world("in_progress")
    colleague = UserFactory()
    SellerMembership.objects.create(user=colleague, seller=world.claim.seller, role="staff")
    other = open_defective_claim(order=delivered_order(seller=world.claim.seller, buyer=world.buyer))
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=1), tick=False):
        services.reply(claim=other, by=world.staff, body="On it.")
    post(world.claim, world.buyer, NOON, "Message 1")
    post(other, world.buyer, NOON + MINUTE, "Message 2")  # another claim: its own email
    post(world.claim, world.buyer, NOON + 2 * MINUTE, "Message 3")
    post(other, world.buyer, NOON + 3 * MINUTE, "Message 4")
    post(world.claim, world.staff, NOON + 4 * MINUTE, "Message 5")  # to the buyer, who got nothing lately
    for member in (world.staff, colleague):
        assert emails_to(member, world.claim) == ["message", "message_digest"]
        assert emails_to(member, other) == ["message", "message_digest"]
        assert listed(OutboundEmail.objects.get(recipient=member, claim=world.claim,
                                                event="message_digest").body_text) == ["Message 3"]
        assert listed(OutboundEmail.objects.get(recipient=member, claim=other,
                                                event="message_digest").body_text) == ["Message 4"]
    # The colleague's own message is no news to themselves; the buyer's own messages none to the buyer.
    assert emails_to(colleague, world.claim) == ["message", "message_digest"]
    assert emails_to(world.buyer, world.claim)[-1] == "message"
    buyer_rows = OutboundEmail.objects.filter(recipient=world.buyer, event="message_digest")
    assert not buyer_rows.exists()


def test_a_person_who_turned_message_emails_off_gets_no_digest_either(post):
    world = claim_world("in_progress")
    muted = UserFactory()
    SellerMembership.objects.create(user=muted, seller=world.claim.seller, role="staff")
    services.set_email_preferences(user=muted, enabled={"messages": False})
    for n in range(1, 5):
        post(world.claim, world.buyer, NOON + (n - 1) * MINUTE, f"Message {n}")
    assert emails_to(muted) == []
    assert Notification.objects.filter(user=muted, claim=world.claim, event="message").count() == 4
    assert emails_to(world.staff) == ["message", "message_digest"]


def test_each_digest_is_in_its_recipients_language(post):
    order = delivered_order(language="de")
    order.seller.language = "en"
    order.seller.save(update_fields=["language"])
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="staff")
    claim = open_defective_claim(order=order)
    post(claim, order.buyer, NOON, "Message 1")
    post(claim, staff, NOON + MINUTE, "Message 2")
    post(claim, order.buyer, NOON + 2 * MINUTE, "Message 3")
    post(claim, staff, NOON + 3 * MINUTE, "Message 4")
    post(claim, staff, NOON + 4 * MINUTE, "Message 5")
    german = OutboundEmail.objects.get(recipient=order.buyer, event="message_digest")
    english = OutboundEmail.objects.get(recipient=staff, event="message_digest")
    assert (german.language, english.language) == ("de", "en")
    # The buyer had Message 2 on its own, the staff Message 1: the next ones of the other side are in the digests.
    assert listed(german.body_text) == ["Message 4", "Message 5"] and listed(english.body_text) == ["Message 3"]
    assert "Hallo" in german.body_text and "Reklamation öffnen" in german.body_text and "Di., 10." in german.body_text
    assert "Hello" in english.body_text and "Open the claim" in english.body_text and "Tue 10" in english.body_text
    assert "The seller," in german.body_text or "Der Verkäufer" in german.body_text


def test_a_new_digest_is_handed_to_the_worker_for_the_end_of_its_window(post, monkeypatch):
    """Celery gets it with eta = send_after (after commit); an early run sends nothing and the sweep sends it."""
    from claims import tasks

    handed: list[tuple[tuple, dt.datetime | None]] = []
    real = tasks.deliver_email.apply_async

    def apply_async(args, eta=None, **kwargs):  # type: ignore[no-untyped-def]
        handed.append((tuple(args), eta))
        return real(args, eta=eta, **kwargs)  # eager in tests: runs at once, before its time

    monkeypatch.setattr(tasks.deliver_email, "apply_async", apply_async)
    world = claim_world("in_progress")
    post(world.claim, world.buyer, NOON, "Message 1")
    post(world.claim, world.buyer, NOON + MINUTE, "Message 2")
    post(world.claim, world.buyer, NOON + 2 * MINUTE, "Message 3")  # joins the digest: handed over once only
    digest = OutboundEmail.objects.get(recipient=world.staff, event="message_digest")
    assert [call for call in handed if call[0] == (digest.pk,)] == [((digest.pk,), NOON + 15 * MINUTE)]
    digest.refresh_from_db()
    assert digest.sent_at is None and digest.attempts == 0
    assert sweep(NOON + 15 * MINUTE) == 1


def test_the_sweep_still_sends_what_is_due_first():
    """deliver_pending picks due rows by the unsent index in creation order; a digest waiting for its window is left
    out of the batch, not in the way of the rows behind it."""
    world = claim_world("in_progress")
    now = timezone.now()
    waiting = OutboundEmail.objects.create(claim=world.claim, recipient=world.staff, to_email=world.staff.email,
                                           event="message_digest", dedupe_key="waiting", language="en", subject="s",
                                           body_text="t", body_html="h", created_at=now - dt.timedelta(hours=1),
                                           send_after=now + dt.timedelta(minutes=5))
    due = OutboundEmail.objects.create(claim=world.claim, recipient=world.staff, to_email=world.staff.email,
                                       event="message", dedupe_key="due", language="en", subject="s",
                                       body_text="t", body_html="h", created_at=now - dt.timedelta(minutes=30))
    OutboundEmail.objects.exclude(pk__in=[waiting.pk, due.pk]).update(sent_at=now)
    assert notifications.deliver_pending(limit=1) == 1
    waiting.refresh_from_db()
    due.refresh_from_db()
    assert due.sent_at is not None and waiting.sent_at is None


def test_a_digest_in_a_workers_hands_is_never_rewritten(post, settings):
    """A worker took the digest (its claim marker) and is slow: its claim ran out while it talks to the server. A
    message meanwhile must not be written into the digest the worker already read (it marks it sent by its token, and
    the message would never be emailed): it starts the next digest. Every message reaches the recipient once."""
    world = claim_world("in_progress")
    post(world.claim, world.buyer, NOON, "Message 1")
    post(world.claim, world.buyer, NOON + MINUTE, "Message 2")
    digest = OutboundEmail.objects.get(recipient=world.staff, event="message_digest")
    taken_at = NOON + 15 * MINUTE
    token = notifications._claim(digest.pk, taken_at)
    assert token is not None
    read_by_worker = OutboundEmail.objects.get(pk=digest.pk).body_text
    late = taken_at + dt.timedelta(seconds=settings.EMAIL_CLAIM_SECONDS + 1)  # its claim ran out
    post(world.claim, world.buyer, late, "Message 3")
    assert OutboundEmail.objects.get(pk=digest.pk).body_text == read_by_worker
    OutboundEmail.objects.filter(pk=digest.pk, claim_token=token).update(sent_at=late, claimed_until=None,
                                                                         claim_token="")  # the worker finishes
    assert sweep(late + 15 * MINUTE) == 1
    assert emails_to(world.staff) == ["message", "message_digest", "message_digest"]
    texts = [read_by_worker, *OutboundEmail.objects.filter(recipient=world.staff, event="message_digest")
             .exclude(pk=digest.pk).values_list("body_text", flat=True)]
    assert [listed(text) for text in texts] == [["Message 2"], ["Message 3"]]


def test_turning_message_emails_off_drops_the_waiting_digest(post, client):
    """The first email's one-click unsubscribe, used before the digest's window ends: no digest follows."""
    from claims import unsubscribe

    world = claim_world("in_progress")
    for n in range(1, 4):
        post(world.claim, world.buyer, NOON + (n - 1) * MINUTE, f"Message {n}")
    assert emails_to(world.staff) == ["message", "message_digest"]
    with time_machine.travel(NOON + 5 * MINUTE, tick=False):
        assert client.post(unsubscribe.unsubscribe_url(user_id=world.staff.pk, kind="messages")).status_code == 200
    assert sweep(NOON + 15 * MINUTE) == 0
    assert emails_to(world.staff) == ["message"]
    assert not [m for m in mail.outbox if m.to == [world.staff.email] and "new messages" in m.subject]
    post(world.claim, world.buyer, NOON + 6 * MINUTE, "Message 4")
    assert emails_to(world.staff) == ["message"]
    assert Notification.objects.filter(user=world.staff, claim=world.claim, event="message").count() == 4


@pytest.mark.parametrize("start", [
    dt.datetime(2026, 3, 10, 11, 55, tzinfo=dt.UTC),  # across 13:00 in the claim's zone
    dt.datetime(2026, 3, 29, 0, 55, tzinfo=dt.UTC),  # across the change to summer time (02:00 CET is 03:00 CEST)
    dt.datetime(2026, 10, 25, 0, 55, tzinfo=dt.UTC),  # across the change back (03:00 CEST is 02:00 CET)
], ids=["hour", "dst-spring", "dst-autumn"])
def test_a_burst_across_an_hour_or_a_clock_change_is_one_email_and_one_digest(post, start):
    world = claim_world("in_progress")
    colleague = UserFactory()
    SellerMembership.objects.create(user=colleague, seller=world.claim.seller, role="staff")
    for n in range(1, 8):  # 7 messages, two minutes apart: across the hour
        post(world.claim, world.buyer, start + (n - 1) * 2 * MINUTE, f"Message {n}")
    for member in (world.staff, colleague):
        assert emails_to(member, world.claim) == ["message", "message_digest"]
    assert sweep(start + 15 * MINUTE - dt.timedelta(microseconds=1)) == 0
    assert sweep(start + 15 * MINUTE) == 2
    assert sweep(start + 2 * 60 * MINUTE) == 0
    digest = OutboundEmail.objects.filter(recipient=world.staff, event="message_digest").get()
    assert listed(digest.body_text) == [f"Message {n}" for n in range(2, 8)]
    local = [timezone.localtime(start + (n - 1) * 2 * MINUTE, zoneinfo.ZoneInfo("Europe/Berlin"))
             for n in range(2, 8)]
    for moment in local:  # each line at its own moment in the claim's zone, with the zone of that moment
        assert f"{moment:%H:%M} {moment.tzname()}" in digest.body_text


# --- on PostgreSQL ------------------------------------------------------------------------------------------------

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="needs PostgreSQL: two connections, and its query planner")


@on_postgresql
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("order", ["first wins the row", "second wins the row", "at once"])
def test_two_messages_at_once_both_land_in_the_digest(monkeypatch, order):
    from tests.test_races_postgres import race

    world = claim_world("in_progress")
    agent = make_agent()
    Claim.objects.filter(pk=world.claim.pk).update(assigned_to=agent)  # the agent hears of messages too
    with time_machine.travel(NOON, tick=False):
        services.post_message(claim=world.claim, by=world.buyer, body="Message 1")
    with time_machine.travel(NOON + MINUTE, tick=False):
        outcomes = race(monkeypatch, {
            "buyer": lambda: services.post_message(claim=Claim.objects.get(pk=world.claim.pk), by=world.buyer,
                                                   body="Message 2"),
            "agent": lambda: services.post_message(claim=Claim.objects.get(pk=world.claim.pk), by=agent,
                                                   body="Message 3"),
        }, order)
    assert all(o.ok for o in outcomes.values()), {k: repr(o.error) for k, o in outcomes.items()}
    digest = OutboundEmail.objects.get(recipient=world.staff, event="message_digest")
    assert sorted(listed(digest.body_text)) == ["Message 2", "Message 3"]
    assert digest.subject == f"2 new messages on claim {world.claim.number}"


@on_postgresql
def test_the_sweeps_query_uses_the_unsent_index():
    """The sweep's own query, with the send_after condition, still reads the partial index of unsent rows in its
    order (forced: on a small table the planner would rather scan it)."""
    queries = []
    with connection.execute_wrapper(lambda execute, sql, params, many, context: (
            queries.append((sql, params)), execute(sql, params, many, context))[1]):
        notifications.deliver_pending()
    sql, params = next((sql, params) for sql, params in queries if "claims_outboundemail" in sql)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "email_unsent_idx" in plan, plan

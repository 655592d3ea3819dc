"""The `webhook` payout provider end to end: a real HTTP server started here plays the shop's payment system. It
verifies our Standard Webhooks signature with the standardwebhooks library and records what it got; the shop's
signed confirmation then comes back through POST /webhooks/payments/."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from standardwebhooks import Webhook

from claims import payout_webhook, services, tasks
from claims.models import OutboundEmail, Refund, RefundEvent
from claims.payout_webhook import retry_delay, signed_headers
from claims.tests.admin_factories import make_superuser
from claims.tests.factories import OPENED_AT, ClaimWorld, claim_world

pytestmark = pytest.mark.django_db

OUR_SECRET = "whsec_" + base64.b64encode(b"our-refund-signing-key-0123456789").decode()
SHOP_SECRET = "whsec_" + base64.b64encode(b"shop-confirmation-key-0123456789").decode()
SHOP_NEXT_SECRET = "whsec_" + base64.b64encode(b"shop-rotated-key-abcdefghijklmnop").decode()
STRANGER_SECRET = "whsec_" + base64.b64encode(b"someone-else-entirely-0123456789").decode()
DECIDED_AT = OPENED_AT + dt.timedelta(hours=2)


# --- the shop: a real HTTP server ----------------------------------------------------------------------------


@dataclass
class Shop:
    """What the shop's payment system received, and what it answers next (status, JSON body or None, delay)."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[int, dict[str, Any] | None, float]] = field(default_factory=list)

    def answer(self, *answers: int | tuple[int, dict[str, Any] | None, float]) -> None:
        self.answers.extend(a if isinstance(a, tuple) else (a, None, 0.0) for a in answers)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.received]


def _handler(shop: Shop) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:  # what the shop does first: the library checks id, timestamp and signature together
                body = Webhook(OUR_SECRET).verify(raw, headers)
                verified = True
            except Exception:  # noqa: BLE001
                body, verified = None, False
            shop.received.append({"headers": headers, "raw": raw, "body": body, "verified": verified})
            status, answer, delay = shop.answers.pop(0) if shop.answers else (202, {"received": True}, 0.0)
            if not verified:
                status, answer = 401, {"error": "bad signature"}
            if delay:
                time.sleep(delay)
            data = json.dumps(answer).encode() if answer is not None else b""
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (timeout test)
                pass

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def shop(settings) -> Iterator[Shop]:
    state = Shop()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/refunds"
    settings.REFUND_PROVIDER = "webhook"
    settings.REFUND_WEBHOOK_URL = state.url
    settings.REFUND_WEBHOOK_SECRET = OUR_SECRET
    settings.PAYMENTS_WEBHOOK_SECRETS = [SHOP_SECRET]
    settings.REFUND_WEBHOOK_TIMEOUT_SECONDS = 2.0
    settings.REFUND_WEBHOOK_MAX_ATTEMPTS = 3
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def decided_refund(capture: Any, *, card_last4: str = "4242") -> tuple[ClaimWorld, Refund]:
    """An agent decides a full refund through the services; the refund is handed to the worker after commit."""
    world = claim_world("escalated")
    order = world.claim.order
    order.card_last4 = card_last4
    order.save(update_fields=["card_last4"])
    mail.outbox.clear()
    with capture(execute=True):
        with time_machine.travel(DECIDED_AT, tick=False):
            services.decide(claim=world.claim, by=world.agent, outcome="refund", funded_by="seller")
    return world, world.refresh().refunds.get()


def confirm(client: Any, event: Any, *, secret: str = SHOP_SECRET, msg_id: str = "msg_shop_1",
            headers: dict[str, str] | None = None, raw: bytes | None = None) -> Any:
    """The shop's signed confirmation, as its payment system sends it."""
    body = raw.decode() if raw is not None else json.dumps(event)
    signed = headers if headers is not None else signed_headers(msg_id, body, secret=secret)
    return client.post(reverse("payments_webhook"), body.encode(), content_type="application/json", headers=signed)


def state_of(refund: Refund) -> tuple[Any, ...]:
    refund = Refund.objects.get(pk=refund.pk)
    return (refund.status, refund.payment_reference, refund.failure_reason, refund.paid_at, refund.failed_at,
            RefundEvent.objects.filter(refund=refund).count(), OutboundEmail.objects.count())


def buyer_emails(world: ClaimWorld, event: str) -> list[Any]:
    """The emails the buyer received (mail.outbox) for one outbox event of the claim."""
    subjects = set(OutboundEmail.objects.filter(claim=world.claim, event=event).values_list("subject", flat=True))
    return [m for m in mail.outbox if m.to == [world.buyer.email] and m.subject in subjects]


# --- the round trip -------------------------------------------------------------------------------------------


def test_a_refund_is_posted_signed_and_the_shops_confirmation_pays_it(client, shop,
                                                                     django_capture_on_commit_callbacks):
    world, refund = decided_refund(django_capture_on_commit_callbacks)
    assert refund.status == "submitted" and refund.provider == "webhook" and refund.attempts == 1

    sent, = shop.received
    assert sent["verified"], "the shop could not verify our signature"
    assert sent["headers"]["webhook-id"] == f"refund_{refund.pk}"
    assert abs(int(sent["headers"]["webhook-timestamp"]) - time.time()) < 60
    assert sent["headers"]["webhook-signature"].startswith("v1,")
    assert sent["headers"]["content-type"] == "application/json"
    order = world.claim.order
    assert sent["body"]["type"] == "refund.requested"
    assert sent["body"]["data"] == {
        "refund_id": f"refund_{refund.pk}", "attempt": 1, "claim_number": world.claim.number,
        "order_number": order.number, "payment_method": "card", "payment_reference": order.payment_reference,
        "card_last4": "4242", "amount": "199.00", "currency": "EUR", "funded_by": "seller"}
    assert not OutboundEmail.objects.filter(event__startswith="refund_").exists()  # nothing is paid yet

    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(client, {"refund_id": f"refund_{refund.pk}", "status": "paid", "reference": "re_77"})
    assert response.status_code == 200, response.content
    assert response.json() == {"refund_id": f"refund_{refund.pk}", "status": "paid"}
    refund.refresh_from_db()
    assert (refund.status, refund.payment_reference) == ("paid", "re_77") and refund.paid_at is not None
    assert list(refund.events.values_list("from_status", "to_status", "actor")) == [
        ("", "pending", world.agent.pk), ("pending", "submitted", None), ("submitted", "paid", None)]
    paid_email, = buyer_emails(world, "refund_paid")
    assert paid_email.subject == f"Claim {world.claim.number}: your refund has been sent"
    assert "€199.00 sent to your original payment method" in paid_email.body and "4242" in paid_email.body

    before = state_of(refund)
    with django_capture_on_commit_callbacks(execute=True):  # the shop sends its confirmation again
        again = confirm(client, {"refund_id": refund.pk, "status": "paid", "reference": "re_77"}, msg_id="msg_2")
    assert again.status_code == 200 and again.json()["status"] == "paid"
    assert state_of(refund) == before and len(buyer_emails(world, "refund_paid")) == 1

    for late in ({"refund_id": refund.pk, "status": "failed", "reason": "card expired"},
                 {"refund_id": refund.pk, "status": "paid", "reference": "re_other"}):
        response = confirm(client, late)
        assert response.status_code == 409 and "already paid" in response.json()["error"]
        assert state_of(refund) == before
    assert len(shop.received) == 1  # a confirmation never sends anything again


def test_the_shop_says_failed_and_the_buyer_is_told_what_happens_next(client, shop,
                                                                     django_capture_on_commit_callbacks):
    world, refund = decided_refund(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(client, {"refund_id": refund.pk, "status": "failed", "reason": "card account closed"})
    assert response.status_code == 200 and response.json()["status"] == "failed"
    refund.refresh_from_db()
    assert (refund.status, refund.failure_reason) == ("failed", "card account closed")
    email, = buyer_emails(world, "refund_failed")
    assert "card account closed" in email.body and "finance team will try again" in email.body
    before = state_of(refund)
    assert confirm(client, {"refund_id": refund.pk, "status": "failed", "reason": "card account closed"},
                   msg_id="msg_again").status_code == 200
    assert state_of(refund) == before


def test_a_payout_retried_by_finance_is_sent_again_as_a_new_message(client, shop,
                                                                   django_capture_on_commit_callbacks):
    _world, refund = decided_refund(django_capture_on_commit_callbacks)
    confirm(client, {"refund_id": refund.pk, "status": "failed", "reason": "card expired"})
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_refund(refund=refund, by=make_superuser())
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("submitted", 2)
    first, second = shop.received
    assert first["headers"]["webhook-id"] == f"refund_{refund.pk}"
    assert second["headers"]["webhook-id"] == f"refund_{refund.pk}_2"  # not dropped as a repeat by the shop
    assert second["verified"] and second["body"]["data"]["attempt"] == 2
    assert second["body"]["data"]["refund_id"] == f"refund_{refund.pk}"
    response = confirm(client, {"refund_id": f"refund_{refund.pk}_2", "status": "paid", "reference": "re_2"})
    assert response.status_code == 200
    assert Refund.objects.get(pk=refund.pk).status == "paid"


def test_a_manual_refund_may_be_confirmed_through_the_webhook(client, settings, django_capture_on_commit_callbacks):
    settings.REFUND_PROVIDER = "manual"
    settings.PAYMENTS_WEBHOOK_SECRETS = [SHOP_SECRET]
    world, refund = decided_refund(django_capture_on_commit_callbacks)
    assert (refund.provider, refund.status) == ("manual", "pending")
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(client, {"refund_id": refund.pk, "status": "paid", "reference": "bank-2026-11-30"})
    assert response.status_code == 200
    assert Refund.objects.get(pk=refund.pk).status == "paid" and buyer_emails(world, "refund_paid")


# --- retries, backoff and refusals when we send ---------------------------------------------------------------


def test_a_5xx_is_retried_with_the_same_message_and_then_succeeds(shop, django_capture_on_commit_callbacks):
    shop.answer(503, 502)
    world, refund = decided_refund(django_capture_on_commit_callbacks)  # eager Celery runs the retries at once
    assert len(shop.received) == 3 and all(r["verified"] for r in shop.received)
    assert {r["headers"]["webhook-id"] for r in shop.received} == {f"refund_{refund.pk}"}
    assert len({r["raw"] for r in shop.received}) == 1  # the same body each time; only the signature's time moves
    assert (refund.status, refund.attempts, refund.failure_reason) == ("submitted", 1, "")
    assert not OutboundEmail.objects.filter(event__startswith="refund_").exists()


def test_each_retry_waits_longer_up_to_a_cap(shop, django_capture_on_commit_callbacks, monkeypatch):
    """In a worker, Celery waits `countdown` seconds; eager tasks ignore it, so the countdowns are recorded."""
    countdowns: list[int] = []
    real_retry = tasks.submit_refund_payout.retry

    def recording_retry(*args: Any, **kwargs: Any) -> Any:
        countdowns.append(kwargs["countdown"])
        return real_retry(*args, **kwargs)

    monkeypatch.setattr(tasks.submit_refund_payout, "retry", recording_retry)
    shop.answer(500, 500)
    decided_refund(django_capture_on_commit_callbacks)
    assert countdowns == [30, 60]
    assert [retry_delay(n) for n in (1, 2, 3, 4, 7, 8, 20)] == [30, 60, 120, 240, 1920, 3600, 3600]


def test_after_the_last_attempt_the_refund_fails_and_the_buyer_is_told(shop, django_capture_on_commit_callbacks):
    shop.answer(503, 503, 503, 202)
    world, refund = decided_refund(django_capture_on_commit_callbacks)
    assert len(shop.received) == 3  # REFUND_WEBHOOK_MAX_ATTEMPTS
    refund.refresh_from_db()
    assert refund.status == "failed"
    assert refund.failure_reason == "payment system unreachable after 3 attempts: HTTP 503 Service Unavailable"
    assert refund.events.last().actor is None
    email, = buyer_emails(world, "refund_failed")
    assert "could not send €199.00" in email.body


@pytest.mark.parametrize(("answer", "reason"), [
    ((422, {"error": "card expired"}, 0.0), "payment system refused: HTTP 422 Unprocessable Entity (card expired)"),
    (400, "payment system refused: HTTP 400 Bad Request"),
    (404, "payment system refused: HTTP 404 Not Found"),
    ((409, {"reason": "<b>refund\u0000 exceeds\n capture</b>" + "x" * 300}, 0.0),  # printable, one line, short
     "payment system refused: HTTP 409 Conflict (" + ("<b>refund exceeds capture</b>" + "x" * 300)[:200] + ")"),
    (302, "payment system refused: HTTP 302 Found"),  # a redirect is never followed
])
def test_a_4xx_is_a_refusal_the_refund_fails_at_once(shop, django_capture_on_commit_callbacks, answer, reason):
    shop.answer(answer)
    world, refund = decided_refund(django_capture_on_commit_callbacks)
    assert len(shop.received) == 1
    refund.refresh_from_db()
    assert (refund.status, refund.failure_reason) == ("failed", reason)
    assert refund.failed_at is not None
    email, = buyer_emails(world, "refund_failed")
    assert reason.split(" (")[0] in email.body


@pytest.mark.parametrize("status", [408, 429, 500])
def test_408_429_and_5xx_are_passing_troubles(shop, django_capture_on_commit_callbacks, status):
    shop.answer(status)
    _world, refund = decided_refund(django_capture_on_commit_callbacks)
    assert len(shop.received) == 2 and refund.status == "submitted"


def test_timeouts_and_a_closed_port_are_retried_then_fail(shop, settings, django_capture_on_commit_callbacks):
    settings.REFUND_WEBHOOK_TIMEOUT_SECONDS = 0.3
    shop.answer((202, None, 1.0))  # answers too late
    _world, refund = decided_refund(django_capture_on_commit_callbacks)
    assert len(shop.received) == 2 and Refund.objects.get(pk=refund.pk).status == "submitted"

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings.REFUND_WEBHOOK_URL = f"http://127.0.0.1:{closed}/refunds"
    delivery = payout_webhook.deliver_refund(refund.pk, attempt=1)
    assert delivery.outcome == "retry" and delivery.retry_in == 30 and "Connection refused" in delivery.detail
    delivery = payout_webhook.deliver_refund(refund.pk, attempt=3)
    assert delivery.outcome == "failed"
    refund.refresh_from_db()
    assert refund.status == "failed" and refund.failure_reason.startswith(
        "payment system unreachable after 3 attempts: ") and "Connection refused" in refund.failure_reason


def test_only_a_submitted_refund_is_sent(client, shop, django_capture_on_commit_callbacks):
    _world, refund = decided_refund(django_capture_on_commit_callbacks)
    assert payout_webhook.deliver_refund(refund.pk, attempt=2).outcome == "accepted"  # a retry sends it again
    confirm(client, {"refund_id": refund.pk, "status": "paid", "reference": "re_1"})
    assert payout_webhook.deliver_refund(refund.pk).outcome == "skipped"
    assert tasks.submit_refund_payout.apply(args=(refund.pk,)).get() == "skipped"
    assert payout_webhook.deliver_refund(10**9).outcome == "skipped"
    assert len(shop.received) == 2


def test_a_late_failure_never_overrides_the_shops_confirmation(client, shop, django_capture_on_commit_callbacks):
    """The shop's confirmation may arrive while our POST is still being retried: the retry's failure loses."""
    _world, refund = decided_refund(django_capture_on_commit_callbacks)
    confirm(client, {"refund_id": refund.pk, "status": "paid", "reference": "re_1"})
    before = state_of(refund)
    payout_webhook._fail(refund.pk, "payment system refused: HTTP 400 Bad Request")
    assert state_of(refund) == before


def test_without_a_url_or_secret_nothing_is_sent_and_the_refund_waits(shop, settings,
                                                                      django_capture_on_commit_callbacks):
    settings.REFUND_WEBHOOK_SECRET = ""
    _world, refund = decided_refund(django_capture_on_commit_callbacks)
    assert refund.status == "pending" and shop.received == []


# --- the periodic re-send --------------------------------------------------------------------------------------


def test_refunds_left_pending_by_a_broker_outage_are_sent_by_the_beat_task(shop, settings):
    _world, refund = decided_refund(lambda execute: contextlib.nullcontext())  # the broker was down: nothing ran
    world_manual = claim_world("escalated")
    settings.REFUND_PROVIDER = "manual"
    with time_machine.travel(DECIDED_AT, tick=False):
        services.decide(claim=world_manual.claim, by=world_manual.agent, outcome="refund", funded_by="seller")
    manual = world_manual.refresh().refunds.get()
    assert Refund.objects.get(pk=refund.pk).status == "pending" and shop.received == []

    with time_machine.travel(DECIDED_AT + dt.timedelta(seconds=30), tick=False):
        assert tasks.submit_pending_refunds.apply().get() == 0  # too recent: its own task may still be on the way
    with time_machine.travel(DECIDED_AT + dt.timedelta(minutes=5), tick=False):
        assert tasks.submit_pending_refunds.apply().get() == 1
        assert tasks.submit_pending_refunds.apply().get() == 0  # submitted now
    assert Refund.objects.get(pk=refund.pk).status == "submitted"
    assert Refund.objects.get(pk=manual.pk).status == "pending"  # the finance team's queue, not ours
    sent, = shop.received
    assert sent["verified"] and sent["body"]["data"]["refund_id"] == f"refund_{refund.pk}"


def test_the_beat_schedule_runs_the_re_send(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["submit-pending-refunds"]
    assert entry["task"] == tasks.submit_pending_refunds.name and entry["schedule"] <= 300


# --- what the confirmation endpoint refuses ------------------------------------------------------------------


@pytest.fixture
def submitted(client, shop, django_capture_on_commit_callbacks) -> Refund:
    return decided_refund(django_capture_on_commit_callbacks)[1]


def _paid(refund: Refund) -> dict[str, Any]:
    return {"refund_id": f"refund_{refund.pk}", "status": "paid", "reference": "re_forged"}


def test_a_forged_signature_is_refused_and_changes_nothing(client, submitted):
    before = state_of(submitted)
    body = json.dumps(_paid(submitted))
    genuine = signed_headers("msg_1", body, secret=SHOP_SECRET)
    tampered = json.dumps({**_paid(submitted), "reference": "re_attacker"})
    for headers, raw in [
        (signed_headers("msg_1", body, secret=STRANGER_SECRET), body),  # another secret
        (signed_headers("msg_1", body, secret=OUR_SECRET), body),  # our own outgoing secret is not the shop's
        (genuine, tampered),  # a captured signature over an edited body
        ({**genuine, "webhook-id": "msg_2"}, body),  # the id is signed too
        ({**genuine, "webhook-signature": "v1,"}, body),
        ({**genuine, "webhook-signature": "v1,not base64!"}, body),
        ({**genuine, "webhook-signature": "garbage"}, body),
        ({**genuine, "webhook-signature": "v2," + genuine["webhook-signature"][3:]}, body),
        ({}, body),
        ({k: v for k, v in genuine.items() if k != "webhook-timestamp"}, body),
    ]:
        response = confirm(client, None, headers=headers, raw=raw.encode())
        assert response.status_code == 401, (headers, response.content)
        assert "error" in response.json()
        assert state_of(submitted) == before
    assert Refund.objects.get(pk=submitted.pk).status == "submitted"


def test_a_stale_or_future_timestamp_is_refused(client, submitted):
    before = state_of(submitted)
    body = json.dumps(_paid(submitted))
    with time_machine.travel(time.time() - 6 * 60, tick=False):
        old = signed_headers("msg_1", body, secret=SHOP_SECRET)  # captured six minutes ago
    with time_machine.travel(time.time() + 6 * 60, tick=False):
        future = signed_headers("msg_1", body, secret=SHOP_SECRET)
    for headers in (old, future, {**old, "webhook-timestamp": "yesterday"}):
        response = confirm(client, None, headers=headers, raw=body.encode())
        assert response.status_code == 401 and "5 minutes" in response.json()["error"]
    assert state_of(submitted) == before
    recent = signed_headers("msg_1", body, secret=SHOP_SECRET)
    with time_machine.travel(time.time() + 4 * 60, tick=False):  # within the tolerance
        assert confirm(client, None, headers=recent, raw=body.encode()).status_code == 200


def test_the_shops_secrets_rotate(client, submitted, settings):
    settings.PAYMENTS_WEBHOOK_SECRETS = [SHOP_SECRET, SHOP_NEXT_SECRET]
    event = {"refund_id": submitted.pk, "status": "paid", "reference": "re_rotated"}
    assert confirm(client, event, secret=SHOP_NEXT_SECRET).status_code == 200
    assert confirm(client, event, secret=SHOP_SECRET, msg_id="msg_old").status_code == 200  # the old one still
    assert confirm(client, event, secret=STRANGER_SECRET, msg_id="msg_x").status_code == 401
    body = json.dumps(event)  # a sender may sign with both at once: one match is enough
    both = signed_headers("msg_both", body, secret=STRANGER_SECRET)
    both["webhook-signature"] += " " + signed_headers("msg_both", body, secret=SHOP_NEXT_SECRET)["webhook-signature"]
    assert confirm(client, None, headers=both, raw=body.encode()).status_code == 200
    settings.PAYMENTS_WEBHOOK_SECRETS = [SHOP_NEXT_SECRET]  # rotation done: the old secret is refused
    assert confirm(client, event, secret=SHOP_SECRET, msg_id="msg_late").status_code == 401
    assert Refund.objects.get(pk=submitted.pk).payment_reference == "re_rotated"


def test_without_secrets_every_confirmation_is_refused(client, submitted, settings):
    settings.PAYMENTS_WEBHOOK_SECRETS = []
    assert confirm(client, _paid(submitted)).status_code == 401
    settings.PAYMENTS_WEBHOOK_SECRETS = ["not-a-secret!"]
    assert confirm(client, _paid(submitted)).status_code == 401
    assert Refund.objects.get(pk=submitted.pk).status == "submitted"


@pytest.mark.parametrize(("raw", "status", "message"), [
    (b"{not json", 400, "not JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (b"\xff\xfe{}", 400, "UTF-8"),
    (json.dumps({"status": "paid", "reference": "x"}).encode(), 400, "refund_id"),
    (json.dumps({"refund_id": True, "status": "paid", "reference": "x"}).encode(), 400, "refund_id"),
    (json.dumps({"refund_id": "42", "status": "paid", "reference": "x"}).encode(), 400, "refund_id"),
    (json.dumps({"refund_id": -1, "status": "paid", "reference": "x"}).encode(), 400, "refund_id"),
    (json.dumps({"refund_id": "REFUND", "status": "refunded", "reference": "x"}).encode(), 400, "refund_id"),
    (json.dumps({"refund_id": "SELF", "status": "refunded", "reference": "x"}).encode(), 400, "status"),
    (json.dumps({"refund_id": "SELF", "status": "paid"}).encode(), 400, '"reference"'),
    (json.dumps({"refund_id": "SELF", "status": "paid", "reference": "  "}).encode(), 400, '"reference"'),
    (json.dumps({"refund_id": "SELF", "status": "failed", "reference": "x"}).encode(), 400, '"reason"'),
    (json.dumps({"refund_id": "SELF", "status": "paid", "reference": "r" * 101}).encode(), 400, "under 100"),
    (json.dumps({"refund_id": 10**9, "status": "paid", "reference": "x"}).encode(), 404, "no refund"),
    (json.dumps({"refund_id": "refund_999999999", "status": "paid", "reference": "x"}).encode(), 404, "no refund"),
    (b" " * (16 * 1024 + 1), 413, "too large"),
])
def test_bad_confirmations_are_refused_clearly_and_change_nothing(client, submitted, raw, status, message):
    raw = raw.replace(b'"SELF"', json.dumps(f"refund_{submitted.pk}").encode())
    before = state_of(submitted)
    headers = signed_headers("msg_1", raw.decode("utf-8", "replace"), secret=SHOP_SECRET)
    response = client.post(reverse("payments_webhook"), raw, content_type="application/json", headers=headers)
    assert response.status_code == status, response.content
    assert message in response.json()["error"]
    assert state_of(submitted) == before


def test_only_post_is_answered(client):
    assert client.get(reverse("payments_webhook")).status_code == 405

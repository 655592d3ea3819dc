"""Hostile input through the real views: overlong text, impossible refund amounts, a currency nobody asked for,
POSTs without a CSRF token, a carrier webhook whose signed body was tampered with, and the upload corpus through
the Get-help page.

Each refusal must say what is wrong and change nothing: the rows of every claims, orders and sellers table (the
per-user "seen" markers aside) and the files under MEDIA_ROOT are compared before and after.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import os
import struct
import zlib
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from claims import services
from claims.models import Claim, ClaimTransition, ClaimView, Evidence, Message, Offer, Refund
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim, photo
from config import errors
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers.models import LedgerEntry
from tests.test_authorization_matrix import CLASS_OF, World, key_of, site_patterns

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
AFTER_FIRST_REPLY_DEADLINE = OPENED_AT + 49 * H  # the buyer may escalate from here on
TOO_LONG = "x" * 5001  # MAX_DESCRIPTION_LENGTH is 5000
COUNTED = (Claim, Offer, Refund, Message, Evidence, LedgerEntry, ClaimTransition)


# --- "nothing changed" --------------------------------------------------------------------------------------


def stored_files(settings: Any) -> list[str]:
    root = str(settings.MEDIA_ROOT)
    return sorted(os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files) if os.path.exists(
        root) else []


def everything(settings: Any) -> dict[str, Any]:
    """Every row of every claims, orders, sellers and integrations table (but the per-user 'seen' markers that merely
    looking at a page moves), the row counts the brief names, and the stored files."""
    rows = {
        model._meta.label: list(model.objects.order_by("pk").values_list(
            "pk", *[f.attname for f in model._meta.concrete_fields]))
        for app in ("claims", "orders", "sellers", "integrations")
        for model in apps.get_app_config(app).get_models()
        if model is not ClaimView
    }
    return {"rows": rows, "counts": {m.__name__: m.objects.count() for m in COUNTED}, "files": stored_files(settings)}


def assert_unchanged(before: dict[str, Any], settings: Any) -> None:
    after = everything(settings)
    assert after["counts"] == before["counts"]
    assert after["files"] == before["files"]
    changed = [label for label in before["rows"] if before["rows"][label] != after["rows"][label]]
    assert not changed, f"rows changed in {changed}"


def text(response: Any) -> str:
    return response.content.decode()


# --- overlong text ----------------------------------------------------------------------------------------


def test_an_overlong_description_on_get_help_is_refused(client, settings):
    order = delivered_order()
    client.force_login(order.buyer)
    before = everything(settings)
    data = {"items": [str(order.items.first().pk)], "reason": "defective", "description": TOO_LONG,
            "desired_outcome": "repair", "discovered_on": "2026-03-09", "photos": [photo()]}
    with time_machine.travel(OPENED_AT, tick=False):
        response = client.post(reverse("claims:get_help", kwargs={"number": order.number}), data)
    assert response.status_code == 400
    assert "Ensure this value has at most 5000 characters (it has 5001)." in text(response)
    assert_unchanged(before, settings)


@pytest.fixture
def world():
    return claim_world("in_progress")


@pytest.mark.parametrize(("who", "url_name", "data", "message"), [
    pytest.param("buyer", "claims:message", {"body": TOO_LONG}, "at most 5000 characters", id="buyer message"),
    pytest.param("staff", "sellers:reply", {"reply-body": TOO_LONG}, "at most 5000 characters", id="seller reply"),
    pytest.param("staff", "sellers:offer", {"offer-kind": "repair", "offer-note": TOO_LONG},
                 "at most 5000 characters", id="seller offer note"),
    pytest.param("staff", "sellers:offer", {"offer-kind": "return_for_refund", "offer-return_instructions": "r" * 1001},
                 "at most 1000 characters", id="seller return instructions"),
    pytest.param("staff", "sellers:classify_defect", {"defect-defect_type": "removable",
                                                      "defect-defect_summary": "s" * 201},
                 "at most 200 characters", id="seller defect summary"),
    pytest.param("staff", "sellers:reject", {"reject-code": "as_described", "reject-body": TOO_LONG,
                                             "reject-evidence": "photo"},
                 "at most 5000 characters", id="seller rejection"),
])
def test_overlong_messages_are_refused(client, settings, world, who, url_name, data, message):
    client.force_login(getattr(world, who))
    data = {key: (photo() if value == "photo" else value) for key, value in data.items()}
    before = everything(settings)
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        response = client.post(reverse(url_name, kwargs={"number": world.claim.number}), data)
    assert response.status_code == 400 and message in text(response)
    assert_unchanged(before, settings)


def test_an_overlong_escalation_reason_is_refused_not_dropped(client, settings, world):
    client.force_login(world.buyer)
    before = everything(settings)
    with time_machine.travel(AFTER_FIRST_REPLY_DEADLINE, tick=False):
        response = client.post(reverse("claims:escalate", kwargs={"number": world.claim.number}),
                               {"reason": "r" * 2001})
    assert response.status_code == 400 and "at most 2000 characters" in text(response)
    assert_unchanged(before, settings)


@pytest.fixture
def escalated():
    world = claim_world("escalated", defect_type="irremovable")  # a partial refund or discount needs the type
    world.console_agent = make_console_agent()
    return world


def act_url(claim: Claim, action: str) -> str:
    return reverse("admin:claims_claim_act", kwargs={"object_id": claim.pk, "action": action})


@pytest.mark.parametrize(("action", "data", "message"), [
    pytest.param("decide", {"outcome": "denied", "denial_reason": "as_described", "note": TOO_LONG},
                 "Please keep the decision note under 5000 characters", id="decision note"),
    pytest.param("message", {"visibility": "public", "body": TOO_LONG},
                 "Please keep a message under 5000 characters", id="console message"),
    pytest.param("request-info", {"party": "buyer", "question": TOO_LONG},
                 "Please keep the question under 5000 characters", id="information request"),
])
def test_overlong_text_in_the_console_is_refused(client, settings, escalated, action, data, message):
    client.force_login(escalated.console_agent)
    before = everything(settings)
    response = client.post(act_url(escalated.claim, action), data)
    assert response.status_code == 400 and message in text(response)
    assert_unchanged(before, settings)


# --- refund amounts -----------------------------------------------------------------------------------------

# The claim is worth €199.00 (one item, the whole order).
HOSTILE_AMOUNTS = [
    pytest.param("-5", "greater than or equal to 0.01", id="negative"),
    pytest.param("0", "greater than or equal to 0.01", id="zero"),
    pytest.param("0.001", "greater than or equal to 0.01", id="below a cent"),
    pytest.param("199.00", "must be less than €199.00", id="the whole claim"),
    pytest.param("250", "must be less than €199.00", id="over the total"),
    pytest.param("1e12", "Ensure that there are no more than 12 digits in total.", id="exponent"),
    pytest.param("12.345", "no more than 2 decimal places", id="three decimals"),
    pytest.param("abc", "Enter a number.", id="not a number"),
    pytest.param("NaN", "Enter a number.", id="NaN"),
    pytest.param("Infinity", "Enter a number.", id="infinity"),
    pytest.param("12,50", "Enter a number.", id="decimal comma"),
    pytest.param("9" * 40, "no more than 12 digits", id="forty digits"),
]


@pytest.mark.parametrize("kind", ["partial_refund", "discount"])
@pytest.mark.parametrize(("amount", "message"), HOSTILE_AMOUNTS)
def test_hostile_amounts_on_the_seller_offer_form(client, settings, world, kind, amount, message):
    client.force_login(world.staff)
    before = everything(settings)
    response = client.post(reverse("sellers:offer", kwargs={"number": world.claim.number}),
                           {"offer-kind": kind, "offer-amount": amount, "offer-defect_type": "irremovable"})
    assert response.status_code == 400 and message in text(response)
    assert_unchanged(before, settings)


CONSOLE_AMOUNTS = [
    pytest.param("partial_refund", "-5", "greater than or equal to 0", id="negative partial refund"),
    pytest.param("partial_refund", "0", "The amount must be more than zero.", id="zero partial refund"),
    pytest.param("refund", "0", "The amount must be more than zero.", id="zero refund"),
    pytest.param("partial_refund", "199.00", "must be less than €199.00", id="partial refund of everything"),
    pytest.param("refund", "250", "The refund cannot be more than €199.00.", id="refund over the total"),
    pytest.param("discount", "250", "must be less than €199.00", id="discount over the total"),
    pytest.param("partial_refund", "abc", "Enter a number.", id="not a number"),
    pytest.param("refund", "NaN", "Enter a number.", id="NaN"),
    pytest.param("refund", "-Infinity", "Enter a number.", id="minus infinity"),
    pytest.param("partial_refund", "12.345", "no more than 2 decimal places", id="three decimals"),
    pytest.param("partial_refund", "", "Please enter the amount.", id="missing"),
]


@pytest.mark.parametrize(("outcome", "amount", "message"), CONSOLE_AMOUNTS)
def test_hostile_amounts_on_the_console_decision(client, settings, escalated, outcome, amount, message):
    client.force_login(escalated.console_agent)
    before = everything(settings)
    response = client.post(act_url(escalated.claim, "decide"),
                           {"outcome": outcome, "funded_by": "platform", "amount": amount})
    assert response.status_code == 400 and message in text(response)
    assert_unchanged(before, settings)
    assert escalated.refresh().state == "escalated"


# --- currency -----------------------------------------------------------------------------------------------

# Neither the seller's offer form nor the console's decision has a currency field: an amount is always in the
# currency of the claim (the order's). A posted "currency" is ignored, never applied.


def test_an_amount_is_always_in_the_claims_currency_whatever_is_posted(client, settings):
    order = delivered_order(currency="GBP")
    claim = open_defective_claim(order=order)
    staff = make_console_agent()  # any agent will do for the console
    with time_machine.travel(OPENED_AT + H, tick=False):
        services.escalate(claim=claim, by=staff, reason="Seller inaction")
        services.classify_defect(claim=claim, by=staff, defect_type="irremovable")
    client.force_login(staff)
    response = client.post(act_url(claim, "decide"), {"outcome": "partial_refund", "funded_by": "seller",
                                                      "amount": "20.00", "currency": "USD", "note": ""})
    assert response.status_code == 302
    refund = Refund.objects.get(claim=claim)
    assert (refund.amount, refund.currency) == (Decimal("20.00"), "GBP")
    claim.refresh_from_db()
    assert (claim.currency, claim.refund_amount) == ("GBP", Decimal("20.00"))
    assert not LedgerEntry.objects.exclude(currency="GBP").filter(claim=claim).exists()


def test_a_seller_offer_ignores_a_posted_currency(client, settings):
    order = delivered_order(currency="GBP")
    world_claim = open_defective_claim(order=order)
    staff_user = _staff_of(order)
    client.force_login(staff_user)
    with time_machine.travel(OPENED_AT + H, tick=False):
        response = client.post(reverse("sellers:offer", kwargs={"number": world_claim.number}),
                               {"offer-kind": "partial_refund", "offer-amount": "20.00", "offer-currency": "USD",
                                "currency": "USD", "offer-defect_type": "irremovable"}, follow=True)
    assert "Your offer was sent." in text(response)
    assert "£20.00" in text(response) and "USD" not in text(response)
    offer = Offer.objects.get(claim=world_claim)
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        services.accept_offer(offer=offer, by=order.buyer)
    assert list(Refund.objects.filter(claim=world_claim).values_list("amount", "currency")) == [
        (Decimal("20.00"), "GBP")]


def _staff_of(order):  # type: ignore[no-untyped-def]
    from sellers.models import SellerMembership
    from sellers.tests.factories import UserFactory

    user = UserFactory()
    SellerMembership.objects.create(user=user, seller=order.seller, role="staff")
    return user


@pytest.mark.parametrize("currency", ["1!", "EU", "€"])
def test_a_ledger_adjustment_refuses_a_currency_that_is_not_one(client, settings, currency):
    agent = make_console_agent()
    seller = delivered_order().seller
    client.force_login(agent)
    before = everything(settings)
    response = client.post(reverse("admin:sellers_seller_act", kwargs={"object_id": seller.pk, "action": "adjust"}),
                           {"amount": "10.00", "currency": currency, "note": "Correction"})
    assert response.status_code == 400
    assert_unchanged(before, settings)


def test_a_ledger_adjustment_in_a_real_currency_is_booked_in_it(client):
    agent = make_console_agent()
    seller = delivered_order().seller
    client.force_login(agent)
    response = client.post(reverse("admin:sellers_seller_act", kwargs={"object_id": seller.pk, "action": "adjust"}),
                           {"amount": "10.00", "currency": " gbp ", "note": "Correction"})
    assert response.status_code == 302
    assert list(LedgerEntry.objects.filter(seller=seller).values_list("amount", "currency")) == [
        (Decimal("10.00"), "GBP")]


# --- CSRF ---------------------------------------------------------------------------------------------------

# Who would legitimately POST to each class of page (so the refusal is the missing token, nothing else).
POSTER = {"buyer page": "buyer", "buyer action": "buyer", "seller dashboard": "staff", "seller claim page": "staff",
          "seller action": "staff", "seller action, not possible now": "staff", "evidence": "buyer",
          "seller owner page": "staff", "seller owner page, this seller's reply": "staff",
          "seller owner page, this seller's key or webhook": "staff",
          "own account": "buyer", "home": "buyer",
          # the data export and the erasure request (accounts.privacy_views)
          "own account action": "buyer",
          # two factors (accounts.views): the buyer may turn them on; recovery codes and the code at login need an app
          "own account: second factor": "agent", "own account: with two factors": "agent",
          "public": "anonymous", "public: set language": "buyer", "public: log out": "buyer",
          "admin login page": "anonymous", "admin log out": "superuser"}
CSRF_REFUSED = errors.PAGES["csrf"][0]  # the title of the page config.errors.csrf_failure answers with
CSRF_EXEMPT = {"carrier_webhook"}  # authenticated by its signature headers (see the webhook tests below)
CSRF_EXEMPT |= {"payments_webhook"}  # authenticated by its Standard Webhooks signature (see below)
# RFC 8058: a mail program POSTs the one-click unsubscribe without a cookie; the signed link is the credential (a bad
# one changes nothing: test_a_forged_or_expired_unsubscribe_link_changes_nothing below)
CSRF_EXEMPT |= {"claims:unsubscribe"}
# The probes of load balancers and Prometheus (config.health, config.metrics): GET and HEAD only, answered before
# sessions (a POST gets 405 and changes nothing), and no cookie gives /metrics away (a token or an address does).
CSRF_EXEMPT |= {"healthz", "readyz", "metrics"}


def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(settings):
    with time_machine.travel(AFTER_FIRST_REPLY_DEADLINE, tick=False):
        world = World()
        not_refused = []
        for route, name in site_patterns():
            key = key_of(route, name)
            if key in CSRF_EXEMPT:
                continue
            if name and name.startswith("api:"):
                # The API takes no cookie: a key in the Authorization header, which no other site can make a
                # browser send; a session alone gets 401 there (tests/test_api_authorization_matrix.py).
                continue
            cls = CLASS_OF[key]
            role = POSTER.get(cls, "superuser" if cls.startswith("admin") else "buyer")
            client = Client(enforce_csrf_checks=True)
            if world.people[role] is not None:
                client.force_login(world.people[role])
            url = world.url(route, name)
            before = everything(settings)
            response = client.post(url, {"body": "hello", "reason": "escalate now", "offer-kind": "full_refund",
                                         "outcome": "refund", "funded_by": "platform"})
            if response.status_code != 403 or str(CSRF_REFUSED).encode() not in response.content:
                not_refused.append(f"{url} as {role}: {response.status_code}")
            assert_unchanged(before, settings)
    assert not not_refused, "POSTs without a CSRF token that were not refused:\n" + "\n".join(not_refused)
    assert world.claim.state == Claim.objects.get(pk=world.claim.pk).state == "in_progress"


def test_the_same_posts_with_a_token_do_get_through(client):
    """The control for the test above: the missing token is what refused them."""
    world = claim_world("in_progress")
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(world.buyer)
    page = csrf_client.get(reverse("claims:detail", kwargs={"number": world.claim.number}))
    token = page.cookies["csrftoken"].value
    response = csrf_client.post(reverse("claims:message", kwargs={"number": world.claim.number}),
                                {"body": "hello", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and world.claim.messages.filter(body="hello").exists()


def test_a_forged_or_expired_unsubscribe_link_changes_nothing(settings):
    """The one-click unsubscribe takes no CSRF token and no login (RFC 8058): a link that is not exactly one we
    signed, has expired, names a kind of email that cannot be turned off, or a person who is gone, is refused with a
    page that says so, and no preference changes."""
    from django.core import signing

    from claims import unsubscribe
    from claims.models import EmailPreference

    world = claim_world("in_progress")
    good = unsubscribe.make_token(user_id=world.buyer.pk, kind="offers")
    value, _sep, signature = good.rpartition(":")
    forged = {
        "changed signature": f"{value}:{'A' * len(signature)}",
        # the seller's staff member's link with the buyer's signature on it
        "another person": unsubscribe.make_token(user_id=world.staff.pk, kind="offers").rpartition(":")[0] + ":"
        + signature,
        "another secret": signing.dumps({"u": world.buyer.pk, "k": "offers"}, salt=unsubscribe.SALT,
                                        key="not-the-sites-secret"),
        "cut off": good[:-6],
        "not a token": "' OR 1=1 --",
        "the survey's salt": signing.dumps({"u": world.buyer.pk, "k": "offers"}, salt="claims.satisfaction"),
        "an always-sent kind": signing.dumps({"u": world.buyer.pk, "k": "always"}, salt=unsubscribe.SALT),
        "no such person": signing.dumps({"u": 987654, "k": "offers"}, salt=unsubscribe.SALT),
    }
    before = everything(settings)
    client = Client(enforce_csrf_checks=True)
    for what, token in forged.items():
        url = reverse("claims:unsubscribe", kwargs={"token": token})
        for response in (client.get(url), client.post(url, "List-Unsubscribe=One-Click",
                                                      content_type="application/x-www-form-urlencoded")):
            expected = 404 if what == "no such person" else 400
            assert response.status_code == expected, (what, response.status_code)
            assert "Nothing was changed." in text(response), what
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.UNSUBSCRIBE_LINK_DAYS + 1)):
        response = client.post(reverse("claims:unsubscribe", kwargs={"token": good}))
    assert response.status_code == 400 and "has expired" in text(response)
    assert_unchanged(before, settings)
    assert not EmailPreference.objects.exists()
    # the control: the same link, in time, does turn the offers off (and nothing else)
    assert client.post(reverse("claims:unsubscribe", kwargs={"token": good})).status_code == 200
    assert list(EmailPreference.objects.values_list("user", "kind", "enabled")) == [(world.buyer.pk, "offers", False)]


# --- the carrier webhook ------------------------------------------------------------------------------------

SECRET = "carrier-shared-secret"
EVENT_AT = OPENED_AT + 26 * H  # the delivery below happened at 09:15 UTC on 11 March; this is 11:00


@pytest.fixture
def not_received(settings):
    settings.CARRIER_WEBHOOK_SECRET = SECRET
    settings.CARRIER_WEBHOOK_SECRETS = []
    order = OrderFactory(estimated_delivery=dt.date(2026, 3, 4))
    OrderItemFactory(order=order)
    shipment = ShipmentFactory(order=order, tracking_number="JJD000390007")
    other_order = OrderFactory()
    OrderItemFactory(order=other_order)
    other_shipment = ShipmentFactory(order=other_order, tracking_number="JJD000390008")
    with time_machine.travel(OPENED_AT, tick=False):
        claim = services.open_claim(order=order, buyer=order.buyer, reason="not_received",
                                    description="Nothing came", desired_outcome="refund")
    return claim, shipment, other_shipment


def signed(body: bytes, *, event_id: str = "evt_1", secret: str = SECRET) -> dict[str, str]:
    """Standard Webhooks headers for this body, signed now, as docs/carrier-webhook.md tells carriers."""
    timestamp = str(int(dt.datetime.now(dt.UTC).timestamp()))
    mac = hmac.new(secret.encode(), f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": event_id, "webhook-timestamp": timestamp,
            "webhook-signature": "v1," + base64.b64encode(mac).decode()}


def post_event(client, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(reverse("carrier_webhook"), body, content_type="application/json", headers=headers)


ORIGINAL = {"carrier": "DHL", "tracking_number": "JJD000390007", "status": "delivered",
            "occurred_at": "2026-03-11T10:15:00+01:00", "delivered_to_order_address": False}


@pytest.mark.parametrize("tamper", [
    pytest.param({"delivered_to_order_address": True}, id="delivered to the order address"),
    pytest.param({"tracking_number": "JJD000390008"}, id="another parcel"),
    pytest.param({"carrier": "DPD"}, id="another carrier"),
    pytest.param({"occurred_at": "2026-03-11T11:15:00+01:00"}, id="a later delivery time"),
    pytest.param({"status": "in_transit"}, id="another status"),
])
def test_a_replayed_body_with_a_tampered_field_is_refused(client, settings, not_received, tamper):
    claim, shipment, other_shipment = not_received
    body = json.dumps(ORIGINAL).encode()
    with time_machine.travel(EVENT_AT, tick=False):
        headers = signed(body)
        assert post_event(client, body, headers).status_code == 200  # the genuine event
        before = everything(settings)
        forged = json.dumps({**ORIGINAL, **tamper}).encode()
        response = post_event(client, forged, headers)  # the captured headers with an edited body
        assert response.status_code == 401 and response.json() == {"error": "bad signature"}
        assert_unchanged(before, settings)
        assert "delivered" not in services.enforce_deadlines()
    claim.refresh_from_db()
    other_shipment.refresh_from_db()
    assert claim.state == "awaiting_seller" and other_shipment.delivered_at is None


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


def _mac(key: bytes, data: bytes, digest: Any = hashlib.sha256) -> bytes:
    return hmac.new(key, data, digest).digest()


BAD_SIGNATURE = {"error": "bad signature"}
MISSING = {"error": "webhook-id, webhook-timestamp and webhook-signature headers are required"}


@pytest.mark.parametrize("forge, answer", [
    pytest.param(lambda body, h: _without(h, "webhook-signature"), MISSING, id="no signature"),
    pytest.param(lambda body, h: _without(h, "webhook-timestamp"), MISSING, id="no timestamp"),
    pytest.param(lambda body, h: _without(h, "webhook-id"), MISSING, id="no event id"),
    pytest.param(lambda body, h: {"X-Carrier-Signature": "sha256=" + hmac.new(
        SECRET.encode(), body, hashlib.sha256).hexdigest()}, MISSING, id="the old body-only scheme"),
    pytest.param(lambda body, h: {**h, "webhook-signature": "v1," + hmac.new(SECRET.encode(), (
        f"{h['webhook-id']}.{h['webhook-timestamp']}.").encode() + body, hashlib.sha256).hexdigest()}, BAD_SIGNATURE,
        id="hex instead of base64"),
    pytest.param(lambda body, h: {**h, "webhook-signature": "v1," + base64.b64encode(_mac(SECRET.encode(), (
        f"{h['webhook-id']}.{h['webhook-timestamp']}.").encode() + body, hashlib.sha1)).decode()}, BAD_SIGNATURE,
        id="sha1"),
    pytest.param(lambda body, h: {**h, "webhook-signature": "v1," + base64.b64encode(_mac(
        SECRET.encode(), body)).decode()}, BAD_SIGNATURE, id="the body alone signed"),
    pytest.param(lambda body, h: signed(body, secret="x"), BAD_SIGNATURE, id="signed with another secret"),
    pytest.param(lambda body, h: {**h, "webhook-signature": h["webhook-signature"][:-4]}, BAD_SIGNATURE,
                 id="truncated"),
    pytest.param(lambda body, h: {**signed(body + b"\n"), "webhook-id": h["webhook-id"]}, BAD_SIGNATURE,
                 id="signature of another body"),
    pytest.param(lambda body, h: {**h, "webhook-id": "evt_2"}, BAD_SIGNATURE, id="another event id"),
    pytest.param(lambda body, h: {**h, "webhook-timestamp": h["webhook-timestamp"] + "000"},
                 {"error": "webhook-timestamp is more than 5 minutes from our clock: sign every attempt anew, with "
                           "the current time"}, id="milliseconds"),
])
def test_bad_signatures_are_refused(client, settings, not_received, forge, answer):
    body = json.dumps({**ORIGINAL, "delivered_to_order_address": True}).encode()
    with time_machine.travel(EVENT_AT, tick=False):
        before = everything(settings)
        response = post_event(client, body, forge(body, signed(body)))
        assert response.status_code == 401 and response.json() == answer
        assert_unchanged(before, settings)


def test_an_exact_replay_acts_once(client, settings, not_received):
    claim, shipment, _other = not_received
    body = json.dumps({**ORIGINAL, "delivered_to_order_address": True}).encode()
    with time_machine.travel(EVENT_AT, tick=False):
        headers = signed(body)
        assert post_event(client, body, headers).status_code == 200
        assert services.enforce_deadlines() == {"delivered": 1}
        before = everything(settings)
        response = post_event(client, body, headers)  # the same request again, within the 5 minutes
        assert response.status_code == 200 and response.json() == {"event_id": "evt_1", "result": "duplicate"}
        assert services.enforce_deadlines() == {}
        assert_unchanged(before, settings)
    with time_machine.travel(EVENT_AT + H, tick=False):
        assert post_event(client, body, headers).status_code == 401  # and later: the timestamp is too old
    assert ClaimTransition.objects.filter(claim=claim, name="mark_delivered").count() == 1


# --- the payments webhook -----------------------------------------------------------------------------------

PAYMENTS_SECRET = "whsec_" + base64.b64encode(b"hostile-input-shop-secret-0123456").decode()


@pytest.mark.parametrize("tamper", [
    pytest.param({"status": "paid", "reference": "re_attacker"}, id="failed turned into paid"),
    pytest.param({"refund_id": "OTHER"}, id="another refund"),
    pytest.param({"reason": "paid in cash, nothing owed"}, id="another reason"),
])
def test_a_payments_confirmation_with_a_tampered_body_is_refused(client, settings, tamper):
    from claims.payout_webhook import signed_headers

    settings.PAYMENTS_WEBHOOK_SECRETS = [PAYMENTS_SECRET]
    refund, other = (claim_world("resolved").claim.refunds.get() for _ in range(2))
    genuine = {"refund_id": f"refund_{refund.pk}", "status": "failed", "reason": "card expired"}
    body = json.dumps(genuine)
    headers = signed_headers("msg_1", body, secret=PAYMENTS_SECRET)  # captured with the genuine body
    forged = json.dumps({**genuine, **tamper}).replace('"OTHER"', f'"refund_{other.pk}"')
    before = everything(settings)
    response = client.post(reverse("payments_webhook"), forged, content_type="application/json", headers=headers)
    assert response.status_code == 401 and response.json() == {"error": "bad signature"}
    assert_unchanged(before, settings)
    response = client.post(reverse("payments_webhook"), body, content_type="application/json", headers=headers)
    assert response.status_code == 200  # the control: the genuine body with the same headers goes through
    assert Refund.objects.get(pk=refund.pk).status == "failed" and Refund.objects.get(pk=other.pk).status == "pending"


# --- the upload corpus through the Get-help page -------------------------------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height pixels: a decompression bomb's calling card."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 0).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 31.0, 12.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


REFUSED_UPLOADS = [
    pytest.param(lambda: upload("bomb.png", png_claiming(50_000, 50_000), "image/png"), "pixels",
                 id="decompression bomb (default limits)"),
    pytest.param(lambda: upload("cut.jpg", photo(size=(400, 300)).read()[:300]), "could not be read",
                 id="truncated JPEG"),
    pytest.param(lambda: upload("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
                                "image/svg+xml"), "not a file we accept", id="SVG"),
    pytest.param(lambda: upload("page.jpg", b"<html><body><script>alert(1)</script></body></html>"),
                 "not a file we accept", id="HTML renamed .jpg"),
    pytest.param(lambda: upload("empty.jpg", b""), "The submitted file is empty.", id="zero bytes"),
    pytest.param(lambda: upload("phone.heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100, "image/heic"),
                 "could not be read", id="HEIC header without a picture"),
    pytest.param(lambda: upload("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000, "video/mp4"),
                 "not a video we can play", id="MP4 header without a video"),
]


def get_help(client, order, photos):  # type: ignore[no-untyped-def]
    data = {"items": [str(order.items.first().pk)], "reason": "defective", "description": "It broke",
            "desired_outcome": "repair", "discovered_on": "2026-03-09", "photos": photos}
    with time_machine.travel(OPENED_AT, tick=False):
        return client.post(reverse("claims:get_help", kwargs={"number": order.number}), data)


@pytest.mark.parametrize(("make", "message"), REFUSED_UPLOADS)
def test_hostile_uploads_through_get_help_are_refused_and_nothing_is_stored(client, settings, make, message):
    order = delivered_order()
    client.force_login(order.buyer)
    before = everything(settings)
    response = get_help(client, order, [photo(), make()])  # one good photo beside it: refused whole
    assert response.status_code == 400 and message in text(response)
    assert_unchanged(before, settings)
    assert stored_files(settings) == []


def test_an_oversize_photo_through_get_help_is_refused(client, settings):
    settings.EVIDENCE_MAX_IMAGE_BYTES = 5000
    order = delivered_order()
    client.force_login(order.buyer)
    big = Image.effect_noise((200, 200), 100).convert("RGB")  # noise does not compress
    buffer = io.BytesIO()
    big.save(buffer, format="JPEG", quality=95)
    assert len(buffer.getvalue()) > 5000
    response = get_help(client, order, [photo(), upload("big.jpg", buffer.getvalue())])
    assert response.status_code == 400 and "is too large" in text(response)
    assert stored_files(settings) == [] and not Claim.objects.exists()


def test_an_oversize_video_through_get_help_is_refused(client, settings):
    settings.EVIDENCE_MAX_VIDEO_BYTES = 1000
    order = delivered_order()
    client.force_login(order.buyer)
    data = {"items": [str(order.items.first().pk)], "reason": "defective", "description": "It broke",
            "desired_outcome": "repair", "discovered_on": "2026-03-09", "photos": [photo()],
            "video": upload("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000, "video/mp4")}
    with time_machine.travel(OPENED_AT, tick=False):
        response = client.post(reverse("claims:get_help", kwargs={"number": order.number}), data)
    assert response.status_code == 400 and "is too large" in text(response)
    assert stored_files(settings) == [] and not Claim.objects.exists()


def test_accepted_photos_through_get_help_lose_gps_and_appended_script(client, settings):
    order = delivered_order()
    client.force_login(order.buyer)
    polyglot = photo("x.png", fmt="PNG").read() + b"<script>alert(1)</script>"
    response = get_help(client, order, [upload("holiday.jpg", jpeg_with_gps()),
                                        upload("x.png", polyglot, "image/png")])
    assert response.status_code == 302
    claim = Claim.objects.get()
    by_name = {item.original_name: item for item in claim.evidence.all()}
    with by_name["holiday.jpg"].file.open("rb") as fh:
        cleaned = fh.read()
    stored = Image.open(io.BytesIO(cleaned))
    assert not stored.getexif() and not stored.getexif().get_ifd(0x8825)
    assert b"PhoneMaker" not in cleaned and b"GPS" not in cleaned
    with by_name["x.png"].file.open("rb") as fh:
        assert b"<script>" not in fh.read()
    # Served with headers that stop a browser from running anything in it.
    with time_machine.travel(OPENED_AT + H, tick=False):  # the session was last saved at OPENED_AT
        served = client.get(reverse("claims:evidence", kwargs={"pk": by_name["x.png"].pk}))
    assert served.status_code == 200 and served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    assert b"<script>" not in b"".join(served.streaming_content)  # read to the end, which closes it

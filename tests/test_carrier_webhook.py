"""The carrier webhook (docs/carrier-webhook.md), with the clock controlled. Requests are signed here by hand, the
way the document tells a carrier to, not with the library the view uses."""

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
import time_machine
from django.urls import reverse

from claims import services
from claims.tests.factories import OPENED_AT
from orders.models import CarrierEvent, Shipment
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory

pytestmark = pytest.mark.django_db
SECRET = "carrier-shared-secret"
H = dt.timedelta(hours=1)
LATER = OPENED_AT + 30 * H  # 11 March, 15:00 UTC
DELIVERED = "2026-03-11T10:15:00+01:00"  # 09:15 UTC, a day after the claim was opened
DELIVERED_UTC = dt.datetime(2026, 3, 11, 9, 15, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def secret(settings):
    settings.CARRIER_WEBHOOK_SECRET = SECRET
    settings.CARRIER_WEBHOOK_SECRETS = []


def key_of(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()


def signature(body: bytes, *, event_id: str, timestamp: int, secret: str = SECRET) -> str:
    signed = f"{event_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key_of(secret), signed, hashlib.sha256).digest()).decode()


def headers_for(body: bytes, *, event_id: str = "evt_1", at: dt.datetime | None = None, secret: str = SECRET,
                **extra: str) -> dict[str, str]:
    """Signed now (the travelled-to time) unless `at` says when."""
    timestamp = int((at or dt.datetime.now(dt.UTC)).timestamp())
    return {"webhook-id": event_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(body, event_id=event_id, timestamp=timestamp, secret=secret), **extra}


def post(client, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(reverse("carrier_webhook"), body, content_type="application/json", headers=headers)


def send(client, event: dict, *, event_id: str = "evt_1", **signing):  # type: ignore[no-untyped-def]
    body = json.dumps(event).encode()
    return post(client, body, headers_for(body, event_id=event_id, **signing))


def event(status: str = "delivered", at: str = DELIVERED, to_address: bool = True, **fields) -> dict:
    return {"carrier": "DHL", "tracking_number": "JJD000390007", "status": status, "occurred_at": at,
            "delivered_to_order_address": to_address, **fields}


@pytest.fixture
def claim_and_shipment():
    order = OrderFactory(estimated_delivery=dt.date(2026, 3, 4))
    OrderItemFactory(order=order)
    shipment = ShipmentFactory(order=order, tracking_number="JJD000390007", seller_reported=True)
    with time_machine.travel(OPENED_AT, tick=False):
        claim = services.open_claim(order=order, buyer=order.buyer, reason="not_received",
                                    description="Nothing came", desired_outcome="refund")
    return claim, shipment


def state_of(claim, shipment):  # type: ignore[no-untyped-def]
    claim.refresh_from_db()
    shipment.refresh_from_db()
    return claim, shipment


def test_a_signed_delivery_event_closes_the_not_received_claim_at_the_next_sweep(client, claim_and_shipment):
    claim, shipment = claim_and_shipment
    with time_machine.travel(LATER, tick=False):
        response = send(client, event(carrier="dhl", tracking_number="jjd 000 390 007"))
        assert response.status_code == 200 and response.json() == {"event_id": "evt_1", "result": "applied"}
        assert services.enforce_deadlines().get("delivered") == 1
    claim, shipment = state_of(claim, shipment)
    assert (shipment.source, shipment.delivered_at, shipment.last_event_at) == ("carrier", DELIVERED_UTC,
                                                                              DELIVERED_UTC)
    assert shipment.confirmed_at == LATER  # the seller-reported shipment is now carrier-confirmed
    assert (claim.state, claim.outcome) == ("resolved", "delivered")
    recorded = CarrierEvent.objects.get()
    assert (recorded.event_id, recorded.shipment, recorded.result, recorded.status) == (
        "evt_1", shipment, "applied", "delivered")


@pytest.mark.parametrize("forge", [
    pytest.param(lambda body, headers: (body, {**headers, "webhook-signature": signature(
        body, event_id="evt_1", timestamp=int(headers["webhook-timestamp"]), secret="wrong-secret")}),
        id="another secret"),
    pytest.param(lambda body, headers: (body.replace(b"false", b"true"), headers), id="edited body"),
    pytest.param(lambda body, headers: (body, {**headers, "webhook-id": "evt_2"}), id="another event id"),
    pytest.param(lambda body, headers: (body, {**headers, "webhook-timestamp": str(
        int(headers["webhook-timestamp"]) - 60)}), id="another timestamp"),
    pytest.param(lambda body, headers: (body, {**headers, "webhook-signature": "v2," + headers[
        "webhook-signature"][3:]}), id="unknown version"),
    pytest.param(lambda body, headers: (body, {**headers, "webhook-signature": "v1,not base64!"}), id="garbage"),
    pytest.param(lambda body, headers: (body, {**headers, "webhook-signature": "v1"}), id="no comma"),
    pytest.param(lambda body, headers: (b"\xff" + body, headers), id="not UTF-8"),
])
def test_a_forged_event_is_refused_and_changes_nothing(client, claim_and_shipment, forge):
    claim, shipment = claim_and_shipment
    with time_machine.travel(LATER, tick=False):
        body = json.dumps(event(to_address=False)).encode()
        forged_body, forged_headers = forge(body, headers_for(body))
        response = post(client, forged_body, forged_headers)
        assert response.status_code == 401 and response.json() == {"error": "bad signature"}
        assert "delivered" not in services.enforce_deadlines()
    claim, shipment = state_of(claim, shipment)
    assert shipment.delivered_at is None and shipment.confirmed_at is None and claim.state == "awaiting_seller"
    assert not CarrierEvent.objects.exists()


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_request_without_the_signature_headers_is_refused(client, claim_and_shipment, missing):
    with time_machine.travel(LATER, tick=False):
        body = json.dumps(event()).encode()
        headers = headers_for(body)
        del headers[missing]
        response = post(client, body, headers)
    assert response.status_code == 401 and "headers are required" in response.json()["error"]
    assert not CarrierEvent.objects.exists()


@pytest.mark.parametrize("sent", [LATER - dt.timedelta(minutes=5, seconds=1),
                                  LATER + dt.timedelta(minutes=5, seconds=1), LATER - 365 * 24 * H])
def test_a_timestamp_more_than_5_minutes_off_is_refused(client, claim_and_shipment, sent):
    _claim, shipment = claim_and_shipment
    with time_machine.travel(LATER, tick=False):
        response = send(client, event(), at=sent)
    assert response.status_code == 401 and "more than 5 minutes" in response.json()["error"]
    shipment.refresh_from_db()
    assert shipment.delivered_at is None and not CarrierEvent.objects.exists()


@pytest.mark.parametrize("sent", [LATER - dt.timedelta(minutes=4, seconds=59), LATER + dt.timedelta(minutes=4)])
def test_a_timestamp_within_5_minutes_is_accepted(client, claim_and_shipment, sent):
    with time_machine.travel(LATER, tick=False):
        assert send(client, event(), at=sent).status_code == 200


def test_a_captured_request_sent_again_later_is_refused(client, claim_and_shipment):
    """The attack of the issue: a delivery captured on the wire is replayed after the carrier corrected it."""
    claim, shipment = claim_and_shipment
    delivered = json.dumps(event()).encode()
    with time_machine.travel(LATER, tick=False):
        captured = headers_for(delivered, event_id="evt_delivered")
        assert post(client, delivered, captured).status_code == 200
        assert send(client, event("delivery_failed", at="2026-03-11T12:00:00+01:00", to_address=False),
                    event_id="evt_correction").json()["result"] == "applied"
    with time_machine.travel(LATER + H, tick=False):
        response = post(client, delivered, captured)
        assert response.status_code == 401
        assert "delivered" not in services.enforce_deadlines()
    claim, shipment = state_of(claim, shipment)
    assert shipment.delivered_at is None and claim.state == "awaiting_seller"


def test_a_replayed_event_id_is_acknowledged_and_changes_nothing(client, claim_and_shipment):
    claim, shipment = claim_and_shipment
    delivered = json.dumps(event()).encode()
    with time_machine.travel(LATER, tick=False):
        captured = headers_for(delivered, event_id="evt_delivered")
        assert post(client, delivered, captured).status_code == 200
        assert send(client, event("returned", at="2026-03-11T12:00:00+01:00"), event_id="evt_returned").json() == {
            "event_id": "evt_returned", "result": "applied"}
        rows = list(CarrierEvent.objects.values_list("event_id", "result"))
        # Within the 5 minutes: the signature is still good, the event id is not.
        response = post(client, delivered, captured)
        assert response.status_code == 200 and response.json() == {"event_id": "evt_delivered", "result": "duplicate"}
        assert list(CarrierEvent.objects.values_list("event_id", "result")) == rows
        assert "delivered" not in services.enforce_deadlines()
    claim, shipment = state_of(claim, shipment)
    assert shipment.delivered_at is None and claim.state == "awaiting_seller"


def test_an_event_older_than_the_latest_applied_one_is_ignored(client, claim_and_shipment):
    claim, shipment = claim_and_shipment
    with time_machine.travel(LATER, tick=False):
        assert send(client, event("delivery_failed", at="2026-03-11T12:00:00+01:00", to_address=False),
                    event_id="evt_failed").json()["result"] == "applied"
        # The delivery scan of 10:15 arrives after the 12:00 correction: it is older, so it is ignored.
        response = send(client, event(), event_id="evt_late")
        assert response.status_code == 200
        assert response.json() == {"event_id": "evt_late", "result": "ignored_out_of_order"}
        assert "delivered" not in services.enforce_deadlines()
    claim, shipment = state_of(claim, shipment)
    assert shipment.delivered_at is None and shipment.last_event_at == dt.datetime(2026, 3, 11, 11, tzinfo=dt.UTC)
    assert claim.state == "awaiting_seller"
    assert CarrierEvent.objects.get(event_id="evt_late").result == "ignored_out_of_order"


def test_a_later_correction_makes_the_claim_no_longer_due(client, claim_and_shipment):
    claim, shipment = claim_and_shipment
    with time_machine.travel(LATER, tick=False):
        send(client, event(), event_id="evt_delivered")
        assert state_of(claim, shipment)[0].delivery_seen_at == LATER
        send(client, event(to_address=False, at="2026-03-11T10:45:00+01:00"), event_id="evt_elsewhere")
        assert state_of(claim, shipment)[0].delivery_seen_at is None
        assert "delivered" not in services.enforce_deadlines()


def test_events_in_order_move_the_shipment_forward(client, claim_and_shipment):
    claim, shipment = claim_and_shipment
    with time_machine.travel(LATER, tick=False):
        send(client, event("in_transit", at="2026-03-10T08:00:00+01:00"), event_id="evt_1")
        _claim, shipment = state_of(claim, shipment)
        assert shipment.delivered_at is None and shipment.shipped_at == dt.datetime(2026, 3, 10, 7, tzinfo=dt.UTC)
        send(client, event(), event_id="evt_2")
        assert services.enforce_deadlines().get("delivered") == 1


def test_an_event_from_before_the_order_is_not_about_its_parcel(client, claim_and_shipment):
    _claim, shipment = claim_and_shipment
    with time_machine.travel(LATER, tick=False):
        response = send(client, event(at="2025-06-01T10:00:00+02:00"))
    assert response.json()["result"] == "ignored_before_order"
    shipment.refresh_from_db()
    assert shipment.delivered_at is None and shipment.confirmed_at is None


@pytest.mark.parametrize("secrets", [["whsec_" + base64.b64encode(b"n" * 32).decode(), SECRET],
                                     [SECRET, "whsec_" + base64.b64encode(b"n" * 32).decode()]])
def test_old_and_new_secret_are_both_accepted_while_rotating(client, settings, claim_and_shipment, secrets):
    settings.CARRIER_WEBHOOK_SECRETS = secrets
    settings.CARRIER_WEBHOOK_SECRET = "the-single-secret-is-not-used-when-the-list-is-set"
    with time_machine.travel(LATER, tick=False):
        assert send(client, event("in_transit", at="2026-03-10T08:00:00+01:00"), event_id="evt_old",
                    secret=secrets[0]).status_code == 200
        assert send(client, event(), event_id="evt_new", secret=secrets[1]).status_code == 200
        assert send(client, event(), event_id="evt_x", secret=settings.CARRIER_WEBHOOK_SECRET).status_code == 401
        # A carrier may sign with both while it switches: one good signature is enough.
        body = json.dumps(event(at="2026-03-11T11:00:00+01:00")).encode()
        headers = headers_for(body, event_id="evt_both", secret=secrets[0])
        headers["webhook-signature"] = "v1,d3Jvbmc= " + headers["webhook-signature"]
        assert post(client, body, headers).status_code == 200


def test_after_rotation_the_old_secret_is_refused(client, settings, claim_and_shipment):
    settings.CARRIER_WEBHOOK_SECRETS = ["the-new-secret"]
    with time_machine.travel(LATER, tick=False):
        assert send(client, event(), secret=SECRET).status_code == 401
        assert send(client, event(), secret="the-new-secret").status_code == 200


def test_the_secrets_setting_is_read_from_the_environment(monkeypatch):
    import environ

    monkeypatch.setenv("CARRIER_WEBHOOK_SECRETS", "whsec_bmV3,old-secret")
    assert environ.Env().list("CARRIER_WEBHOOK_SECRETS", default=[]) == ["whsec_bmV3", "old-secret"]


def test_no_secret_configured_refuses_everything(client, settings, claim_and_shipment):
    settings.CARRIER_WEBHOOK_SECRET = ""
    with time_machine.travel(LATER, tick=False):
        response = send(client, event(), secret="")
    assert response.status_code == 403 and response.json() == {"error": "the carrier webhook is not configured"}


@pytest.mark.parametrize("payload, error", [
    ({"status": "delivered", "carrier": "DHL", "occurred_at": DELIVERED}, "tracking_number must be"),
    (event(carrier=None), "carrier must be"),
    (event(carrier=" "), "carrier must be"),
    (event(status=7), "status must be"),
    (event(tracking_number="J" * 65), "tracking_number must be"),
    (event(at="yesterday"), "occurred_at must be"),
    (event(at="2026-03-11T10:15:00"), "occurred_at must be"),
    (event(at="2026-13-11T10:15:00+01:00"), "occurred_at must be"),
    (event(at="2026-03-12T10:15:00+01:00"), "occurred_at is in the future"),
    (event(to_address="yes"), "delivered_to_order_address must be true or false"),
    ([event()], "the body must be a JSON object"),
])
def test_malformed_events_are_refused(client, claim_and_shipment, payload, error):
    _claim, shipment = claim_and_shipment
    with time_machine.travel(LATER, tick=False):
        response = send(client, payload)
    assert response.status_code == 400 and error in response.json()["error"]
    shipment.refresh_from_db()
    assert shipment.delivered_at is None and not CarrierEvent.objects.exists()


def test_not_json_bad_timestamps_too_large_and_get_are_refused(client, claim_and_shipment):
    with time_machine.travel(LATER, tick=False):
        assert post(client, b"not json", headers_for(b"not json")).status_code == 400
        body = json.dumps(event()).encode()
        response = post(client, body, {**headers_for(body), "webhook-timestamp": "soon"})
        assert response.status_code == 400 and "Unix seconds" in response.json()["error"]
        large = json.dumps(event(padding="x" * 16_400)).encode()
        response = post(client, large, headers_for(large))
        assert response.status_code == 413 and "larger than" in response.json()["error"]
        long_id = "e" * 101
        response = post(client, body, headers_for(body, event_id=long_id))
        assert response.status_code == 400 and "webhook-id" in response.json()["error"]
    assert client.get(reverse("carrier_webhook")).status_code == 405


def test_an_unknown_parcel_is_404_and_matched_when_the_carrier_retries(client, claim_and_shipment):
    claim, _shipment = claim_and_shipment
    other = event(carrier="DPD", tracking_number="0150780041")
    with time_machine.travel(LATER, tick=False):
        response = send(client, other, event_id="evt_dpd")
        assert response.status_code == 404 and response.json()["result"] == "unknown_shipment"
        assert CarrierEvent.objects.get(event_id="evt_dpd").result == "unknown_shipment"
        # The number is only known with its carrier: DHL's parcel of that number is not DPD's.
        assert send(client, event(carrier="DPD"), event_id="evt_dpd_2").status_code == 404
        ShipmentFactory(order=claim.order, carrier="DPD", tracking_number="0150780041", seller_reported=True)
        response = send(client, other, event_id="evt_dpd")  # the carrier retries the same event
        assert response.status_code == 200 and response.json()["result"] == "applied"
        assert services.enforce_deadlines().get("delivered") == 1
    assert Shipment.objects.get(tracking_number="0150780041").confirmed_at == LATER


def test_delivery_elsewhere_keeps_the_claim_open(client, claim_and_shipment):
    claim, _shipment = claim_and_shipment
    with time_machine.travel(LATER, tick=False):
        assert send(client, event(to_address=False)).status_code == 200
        assert "delivered" not in services.enforce_deadlines()
    claim.refresh_from_db()
    assert claim.state == "awaiting_seller"


def test_the_documented_example_is_a_valid_request(client, settings, claim_and_shipment):
    """docs/carrier-webhook.md shows a signed request as a test vector for carriers: it must stay true."""
    from pathlib import Path

    doc = (Path(settings.BASE_DIR) / "docs" / "carrier-webhook.md").read_text()
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = next(line for line in doc.splitlines() if line.startswith('{"carrier": "DHL"')).encode()
    headers = dict(line.split(": ", 1) for line in doc.splitlines() if line.startswith("webhook-"))
    assert secret in doc and headers == {
        "webhook-id": "evt_2Wd8m0Q7", "webhook-timestamp": "1773242100",
        "webhook-signature": signature(body, event_id="evt_2Wd8m0Q7", timestamp=1773242100, secret=secret)}
    settings.CARRIER_WEBHOOK_SECRETS = [secret]
    with time_machine.travel(dt.datetime(2026, 3, 11, 15, 16, tzinfo=dt.UTC), tick=False):
        response = post(client, body, headers)
    assert response.status_code == 200 and response.json() == {"event_id": "evt_2Wd8m0Q7", "result": "applied"}

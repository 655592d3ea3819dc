import datetime as dt
import hashlib
import hmac
import json

import pytest
import time_machine
from django.urls import reverse

from claims import services
from claims.tests.factories import OPENED_AT
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory

pytestmark = pytest.mark.django_db
SECRET = "carrier-shared-secret"


@pytest.fixture(autouse=True)
def secret(settings):
    settings.CARRIER_WEBHOOK_SECRET = SECRET


def send(client, event, secret=SECRET, raw=None):
    body = raw if raw is not None else json.dumps(event).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(reverse("carrier_webhook"), body, content_type="application/json",
                       headers={"X-Carrier-Signature": signature})


@pytest.fixture
def claim_and_shipment():
    order = OrderFactory(estimated_delivery=dt.date(2026, 3, 4))
    OrderItemFactory(order=order)
    shipment = ShipmentFactory(order=order, tracking_number="JJD000390007")
    with time_machine.travel(OPENED_AT, tick=False):
        claim = services.open_claim(order=order, buyer=order.buyer, reason="not_received",
                                    description="Nothing came", desired_outcome="refund")
    return claim, shipment


def delivered(at="2026-03-11T10:15:00+01:00", to_address=True):
    return {"tracking_number": "JJD000390007", "status": "delivered", "delivered_at": at,
            "delivered_to_order_address": to_address}


def test_a_signed_delivery_event_closes_the_not_received_claim_at_the_next_sweep(client, claim_and_shipment):
    claim, shipment = claim_and_shipment
    with time_machine.travel(OPENED_AT + dt.timedelta(days=1), tick=False):
        response = send(client, delivered())
        assert response.status_code == 200 and response.json() == {"updated": 1}
        assert services.enforce_deadlines() == {"delivered": 1}
    shipment.refresh_from_db()
    claim.refresh_from_db()
    assert shipment.source == "carrier" and shipment.delivered_at == dt.datetime(2026, 3, 11, 9, 15, tzinfo=dt.UTC)
    assert (claim.state, claim.outcome) == ("resolved", "delivered")


@pytest.mark.parametrize("secret, raw", [("wrong-secret", None), (SECRET, b"")])
def test_a_bad_signature_changes_nothing(client, claim_and_shipment, secret, raw):
    claim, shipment = claim_and_shipment
    body = json.dumps(delivered()).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    response = client.post(reverse("carrier_webhook"), body + (b" " if raw is not None else b""),
                           content_type="application/json", headers={"X-Carrier-Signature": signature})
    assert response.status_code == 403
    shipment.refresh_from_db()
    assert shipment.delivered_at is None


def test_no_secret_configured_refuses_everything(client, settings, claim_and_shipment):
    settings.CARRIER_WEBHOOK_SECRET = ""
    assert send(client, delivered(), secret="").status_code == 403


@pytest.mark.parametrize("event, status", [
    ({"status": "delivered"}, 400),
    ({"tracking_number": "JJD000390007", "status": "delivered", "delivered_at": "yesterday"}, 400),
    ({"tracking_number": "JJD000390007", "status": "delivered", "delivered_at": "2026-03-11T10:15:00"}, 400),
    ({"tracking_number": "UNKNOWN", "status": "delivered", "delivered_at": "2026-03-11T10:15:00Z"}, 404),
    ({"tracking_number": "JJD000390007", "status": "in_transit"}, 202),
])
def test_malformed_or_irrelevant_events(client, claim_and_shipment, event, status):
    assert send(client, event).status_code == status
    _claim, shipment = claim_and_shipment
    shipment.refresh_from_db()
    assert shipment.delivered_at is None


def test_not_json_and_get_are_refused(client):
    assert send(client, None, raw=b"not json").status_code == 400
    assert client.get(reverse("carrier_webhook")).status_code == 405


def test_delivery_elsewhere_keeps_the_claim_open(client, claim_and_shipment):
    claim, _shipment = claim_and_shipment
    with time_machine.travel(OPENED_AT + dt.timedelta(days=1), tick=False):
        assert send(client, delivered(to_address=False)).status_code == 200
        assert "delivered" not in services.enforce_deadlines()
    claim.refresh_from_db()
    assert claim.state == "awaiting_seller"

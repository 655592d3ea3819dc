"""The shop's endpoints (a platform key): orders created and updated idempotently on their number, shipments that
make not-received claims react, refund confirmations. The clock is fixed: ship and delivery dates are checked
against it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from api import shop
from claims import services
from claims.models import Claim
from claims.tests.factories import OPENED_AT, claim_world
from orders.models import Order, Shipment
from orders.tests.factories import OrderFactory, ShipmentFactory
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

from .helpers import get, platform_key, post, seller_key

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
NOW = dt.datetime(2026, 3, 6, 12, 0, tzinfo=dt.UTC)
ORDERS = "/api/v1/shop/orders"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def shop_key() -> str:
    return platform_key()[1]


@pytest.fixture
def seller():
    return SellerFactory(slug="phones-direct")


def order_body(seller, number: str = "SHOP-1001", **changes) -> dict:
    body = {
        "number": number, "buyer": {"email": "Erika@Example.com", "name": "Erika Mustermann"}, "seller": seller.slug,
        "placed_at": "2026-03-02T09:00:00Z", "buyer_kind": "consumer", "currency": "EUR", "shipping": "4.90",
        "delivery_name": "Erika Mustermann", "delivery_line1": "Hauptstraße 1", "delivery_postal_code": "10115",
        "delivery_city": "Berlin", "delivery_country": "DE", "language": "de", "payment_method": "card",
        "payment_reference": "pay_1", "card_last4": "4242", "ship_by": "2026-03-03", "estimated_delivery": "2026-03-04",
        "items": [
            {"sku": "PH-1", "title": "Phone", "quantity": 1, "unit_price": "299.00", "condition": "new",
             "serial_number": "356938035643809"},
            {"sku": "LIC-1", "title": "Licence key", "quantity": 2, "unit_price": 10.5, "condition": "new",
             "is_digital": True},
        ],
        "shipments": [{"carrier": "DHL", "tracking_number": "jjd 0001 0001", "shipped_at": "2026-03-03T10:00:00Z"}],
    }
    body.update(changes)
    return body


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    data = response.json()
    assert data["type"] == f"/api/problems/{code}"
    return data


# --- creating and updating an order -----------------------------------------------------------------------------


def test_the_shop_creates_an_order_with_its_items_buyer_and_shipments(client, shop_key, seller):
    response = post(client, ORDERS, shop_key, order_body(seller))
    assert response.status_code == 201, response.content
    data = response.json()
    order = Order.objects.get(number="SHOP-1001")
    assert (order.seller, order.total, order.shipping_amount, order.card_last4) == (
        seller, Decimal("324.90"), Decimal("4.90"), "4242")
    assert data["total"] == "324.90" and data["shipping"] == "4.90" and data["placed_at"] == "2026-03-02T09:00:00Z"
    assert data["seller"] == "phones-direct" and data["buyer"] == {"email": "Erika@example.com",
                                                                   "name": "Erika Mustermann"}
    phone, key = data["items"]
    assert (phone["title"], phone["quantity"], phone["unit_price"], phone["serial_number"]) == (
        "Phone", 1, "299.00", "356938035643809")
    assert (key["quantity"], key["unit_price"], key["is_digital"]) == (2, "10.50", True)
    # The warranty comes from the seller's policy (create_order); it runs once the goods arrive.
    assert [i.warranty_months for i in order.items.all()] == [24, 24]
    assert phone["warranty_months"] == 24 and phone["warranty_until"] is None and data["received_on"] is None
    [shipment] = data["shipments"]
    assert (shipment["carrier"], shipment["tracking_number"], shipment["source"], shipment["confirmed"]) == (
        "DHL", "JJD00010001", "shop", True)
    assert shipment["shipped_at"] == "2026-03-03T10:00:00Z" and shipment["delivered_at"] is None
    buyer = order.buyer
    assert (buyer.username, buyer.email, buyer.has_usable_password()) == ("erika@example.com", "Erika@example.com",
                                                                         False)
    assert get(client, f"{ORDERS}/SHOP-1001", shop_key).json() == data


def test_the_same_order_again_changes_nothing_and_answers_200(client, shop_key, seller):
    first = post(client, ORDERS, shop_key, order_body(seller))
    assert first.status_code == 201
    again = post(client, ORDERS, shop_key, order_body(seller))  # another Idempotency-Key: handled anew
    assert again.status_code == 200 and "Idempotent-Replayed" not in again
    assert again.json() == first.json()
    assert Order.objects.count() == 1 and Shipment.objects.count() == 1
    assert get_user_model().objects.filter(email__iexact="erika@example.com").count() == 1
    # The same Idempotency-Key replays the first answer as it was.
    replay_key = "shop-order-1001"
    assert post(client, ORDERS, shop_key, order_body(seller), idempotency_key=replay_key).status_code == 200
    replayed = post(client, ORDERS, shop_key, order_body(seller), idempotency_key=replay_key)
    assert replayed["Idempotent-Replayed"] == "true"


def test_an_existing_order_takes_a_new_address_dates_payment_and_shipments(client, shop_key, seller):
    post(client, ORDERS, shop_key, order_body(seller))
    body = order_body(seller, delivery_line1="Marktplatz 9", delivery_city="Potsdam", delivery_postal_code="14467",
                      ship_by="2026-03-04", estimated_delivery="2026-03-07", payment_reference="pay_2",
                      language="en")
    del body["card_last4"]  # left out: kept
    body["shipments"].append({"carrier": "UPS", "tracking_number": "1Z999", "shipped_at": "2026-03-04T08:00:00Z"})
    response = post(client, ORDERS, shop_key, body)
    assert response.status_code == 200, response.content
    order = Order.objects.get()
    assert (order.delivery_line1, order.delivery_city, order.delivery_postal_code) == ("Marktplatz 9", "Potsdam",
                                                                                        "14467")
    assert (order.ship_by, order.estimated_delivery) == (dt.date(2026, 3, 4), dt.date(2026, 3, 7))
    assert (order.payment_reference, order.card_last4, order.language) == ("pay_2", "4242", "en")
    assert [s["tracking_number"] for s in response.json()["shipments"]] == ["JJD00010001", "1Z999"]
    # A date sent as null is cleared.
    response = post(client, ORDERS, shop_key, order_body(seller, ship_by=None))
    assert response.status_code == 200 and response.json()["ship_by"] is None


@pytest.mark.parametrize(("change", "field"), [
    (lambda b: b["items"][1].update(quantity=3), "items.1.quantity"),
    (lambda b: b["items"][0].update(sku="PH-2"), "items.0.sku"),
    (lambda b: b["items"][0].update(unit_price="289.00"), "items.0.unit_price"),
    (lambda b: b["items"][0].update(warranty_months=36), "items.0.warranty_months"),
    (lambda b: b["items"][1].pop("is_digital"), "items.1.is_digital"),
    (lambda b: b["items"].reverse(), "items.0.title"),
    (lambda b: b["items"].append({"title": "Case", "quantity": 1, "unit_price": "9.00", "condition": "new"}),
     "items"),
    (lambda b: b.update(shipping="0.00"), "shipping"),
    (lambda b: b.update(placed_at="2026-03-02T11:00:00+01:00"), "placed_at"),
    (lambda b: b.update(buyer_kind="business"), "buyer_kind"),
    (lambda b: b["buyer"].update(email="max@example.com"), "buyer.email"),
])
def test_what_was_sold_cannot_change_once_the_order_exists(client, shop_key, seller, change, field):
    first = post(client, ORDERS, shop_key, order_body(seller)).json()
    body = order_body(seller, delivery_city="Potsdam")
    change(body)
    data = problem(post(client, ORDERS, shop_key, body), 409, "conflict")
    assert list(data["errors"]) == [field]
    assert "SHOP-1001 already exists" in data["detail"]
    # Nothing of the request was kept: not the new city either.
    assert get(client, f"{ORDERS}/SHOP-1001", shop_key).json() == first


def test_the_same_moment_in_another_time_zone_is_the_same_order(client, shop_key, seller):
    post(client, ORDERS, shop_key, order_body(seller))
    response = post(client, ORDERS, shop_key, order_body(seller, placed_at="2026-03-02T10:00:00+01:00"))
    assert response.status_code == 200


def test_the_seller_cannot_change_and_months_the_shop_gave_are_kept(client, shop_key, seller):
    body = order_body(seller)
    body["items"][0]["warranty_months"] = 36
    assert post(client, ORDERS, shop_key, body).status_code == 201
    assert post(client, ORDERS, shop_key, body).status_code == 200  # the months as given: the same order
    other = SellerFactory()
    data = problem(post(client, ORDERS, shop_key, order_body(other, items=body["items"])), 409, "conflict")
    assert list(data["errors"]) == ["seller"]


def test_an_order_of_an_unknown_or_inactive_seller_is_refused_at_seller(client, shop_key, seller):
    unknown = order_body(seller)
    unknown["seller"] = "nobody-sells-this"
    assert problem(post(client, ORDERS, shop_key, unknown), 422, "invalid")["errors"]["seller"]
    pending = SellerFactory(pending=True)
    data = problem(post(client, ORDERS, shop_key, order_body(pending)), 422, "invalid")
    assert list(data["errors"]) == ["seller"] and "not active" in data["detail"]
    assert not Order.objects.exists()
    assert not get_user_model().objects.filter(email__iexact="erika@example.com").exists()


def test_the_buyer_is_made_once_and_found_again_by_email_in_any_case(client, shop_key, seller):
    post(client, ORDERS, shop_key, order_body(seller))
    second = order_body(seller, number="SHOP-1002", shipments=[])
    second["buyer"] = {"email": "  ERIKA@example.COM "}
    assert post(client, ORDERS, shop_key, second).status_code == 201
    buyers = get_user_model().objects.filter(email__iexact="erika@example.com")
    assert buyers.count() == 1
    assert set(Order.objects.values_list("buyer", flat=True)) == {buyers.get().pk}
    # Someone with an account already is that account.
    max_user = UserFactory(email="max@example.com")
    third = order_body(seller, number="SHOP-1003", shipments=[], buyer={"email": "Max@Example.com"})
    assert post(client, ORDERS, shop_key, third).status_code == 201
    assert Order.objects.get(number="SHOP-1003").buyer == max_user


def test_a_buyer_the_shop_made_chooses_a_password_through_the_reset_link(client, shop_key, seller):
    post(client, ORDERS, shop_key, order_body(seller))
    client.post(reverse("password_reset"), {"email": "erika@example.com"})
    [email] = mail.outbox
    assert email.to == ["Erika@example.com"]
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", email.body).group(1)
    form = client.get(link, follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": "a-new-pass-2026!", "new_password2": "a-new-pass-2026!"})
    buyer = get_user_model().objects.get(email__iexact="erika@example.com")
    assert buyer.check_password("a-new-pass-2026!")
    assert client.login(request=RequestFactory().post("/accounts/login/"), username="erika@example.com",
                        password="a-new-pass-2026!")


def test_an_account_that_lost_its_password_after_logging_in_gets_no_reset_link(client):
    user = UserFactory(email="locked@example.com", last_login=NOW - 24 * H)
    user.set_unusable_password()
    user.save()
    client.post(reverse("password_reset"), {"email": "locked@example.com"})
    assert mail.outbox == []


@pytest.mark.parametrize(("change", "field"), [
    (lambda b: b["items"][0].update(unit_price="1.005"), "items.0.unit_price"),
    (lambda b: b["items"][0].update(unit_price="-1"), "items.0.unit_price"),
    (lambda b: b["items"][0].update(unit_price="NaN"), "items.0.unit_price"),
    (lambda b: b["items"][0].update(quantity=0), "items.0.quantity"),
    (lambda b: b["items"][0].update(title="Pho\x00ne"), "items.0.title"),
    (lambda b: b["items"][0].update(condition="broken"), "items.0.condition"),
    (lambda b: b.update(shipping=-0.01), "shipping"),
    (lambda b: b.update(placed_at="2026-03-02T09:00:00"), "placed_at"),
    (lambda b: b.update(number="SHOP/1"), "number"),
    (lambda b: b.update(language="xx"), "language"),
    (lambda b: b.update(card_last4="4242424242424242"), "card_last4"),
    (lambda b: b.update(items=[]), "items"),
    (lambda b: b["buyer"].update(email="not an address"), "buyer.email"),
    (lambda b: b["shipments"][0].update(shipped_at="2026-03-03T10:00:00"), "shipments.0.shipped_at"),
])
def test_invalid_fields_are_named(client, shop_key, seller, change, field):
    body = order_body(seller)
    change(body)
    data = problem(post(client, ORDERS, shop_key, body), 422, "validation")
    assert field in data["errors"], data["errors"]
    assert not Order.objects.exists()


@pytest.mark.parametrize(("change", "field"), [
    (lambda b: b.update(placed_at="0001-01-01T00:00:00+05:00"), "placed_at"),
    (lambda b: b.update(placed_at="9999-12-31T23:59:59-05:00"), "placed_at"),
    (lambda b: b.update(estimated_delivery="9999-12-31"), "estimated_delivery"),
    (lambda b: b.update(shipping=float("inf")), "shipping"),
    (lambda b: b["items"][0].update(title="\ud800"), "items.0.title"),
    (lambda b: b["items"][0].update(quantity=2**40), "items.0.quantity"),
    (lambda b: b["items"][0].update(warranty_months=2**20), "items.0.warranty_months"),
    (lambda b: b["shipments"][0].update(tracking_number="x" * 101), "shipments.0.tracking_number"),
])
def test_values_a_database_or_the_date_arithmetic_would_fail_on_are_refused(client, shop_key, seller, change, field):
    body = order_body(seller)
    change(body)
    data = problem(post(client, ORDERS, shop_key, body), 422, "validation")
    assert field in data["errors"], data["errors"]


def test_odd_paths_are_404_problems(client, shop_key):
    for number in ("%00", "%E2%80%AE", "x" * 33):
        problem(get(client, f"{ORDERS}/{number}", shop_key), 404, "not-found")
    for refund_id in ("%E2%80%AE", "refund_%C2%B9", "%D9%A3"):  # not ASCII digits
        problem(post(client, f"/api/v1/shop/refunds/{refund_id}/confirmation", shop_key,
                     {"status": "paid", "reference": "r"}), 404, "not-found")


def test_amounts_may_be_numbers_or_strings_and_a_total_too_large_is_refused(client, shop_key, seller):
    body = order_body(seller, shipping=0)
    body["items"][0]["unit_price"] = 12
    assert post(client, ORDERS, shop_key, body).json()["total"] == "33.00"
    huge = order_body(seller, number="SHOP-HUGE")
    huge["items"][0].update(unit_price="9999999999.99", quantity=2)
    data = problem(post(client, ORDERS, shop_key, huge), 422, "invalid")
    assert list(data["errors"]) == ["items"]


def test_a_refused_shipment_refuses_the_whole_order_at_its_field(client, shop_key, seller):
    ShipmentFactory(order=OrderFactory(), carrier="DHL", tracking_number="JJD00010001")
    data = problem(post(client, ORDERS, shop_key, order_body(seller)), 422, "invalid")
    assert list(data["errors"]) == ["shipments.0.tracking_number"]
    assert "another order" in data["detail"]
    future = order_body(seller, shipments=[{"carrier": "DHL", "tracking_number": "X1",
                                            "shipped_at": (NOW + H).isoformat()}])
    assert list(problem(post(client, ORDERS, shop_key, future), 422, "invalid")["errors"]) == [
        "shipments.0.shipped_at"]
    assert Order.objects.count() == 1  # only the factory's
    assert not get_user_model().objects.filter(email__iexact="erika@example.com").exists()


def test_an_unknown_order_is_a_404_problem(client, shop_key):
    problem(get(client, f"{ORDERS}/NOPE-1", shop_key), 404, "not-found")
    problem(get(client, f"{ORDERS}/{'9' * 40}", shop_key), 404, "not-found")
    problem(post(client, f"{ORDERS}/NOPE-1/shipments", shop_key, {"carrier": "DHL", "tracking_number": "X"}), 404,
            "not-found")


def test_reading_an_order_takes_as_many_queries_with_20_items_as_with_2(client, shop_key, seller):
    def order_with(number: str, items: int) -> str:
        body = order_body(seller, number=number)
        body["items"] = [{"sku": f"S{i}", "title": f"Item {i}", "quantity": 1, "unit_price": "1.00",
                          "condition": "used"} for i in range(items)]
        body["shipments"] = [{"carrier": "DHL", "tracking_number": f"{number}-{i}"} for i in range(items // 2)]
        assert post(client, ORDERS, shop_key, body).status_code == 201
        return f"{ORDERS}/{number}"

    small, large = order_with("Q-2", 2), order_with("Q-20", 20)
    counts = []
    for url in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert get(client, url, shop_key).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert len(get(client, large, shop_key).json()["items"]) == 20


# --- shipments: the not-received claims react -------------------------------------------------------------------


def _not_received_claim(client, shop_key, seller) -> Claim:
    """An order the shop sent with its parcel in transit, and the buyer's not-received claim on 10 March."""
    post(client, ORDERS, shop_key, order_body(seller))
    order = Order.objects.get()
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=seller, role="staff")
    with time_machine.travel(OPENED_AT, tick=False):
        return services.open_claim(order=order, buyer=order.buyer, reason="not_received",
                                   description="Nothing arrived", desired_outcome="refund",
                                   items=[order.items.get(sku="PH-1")])


def sweep(at: dt.datetime) -> dict[str, int]:
    with time_machine.travel(at, tick=False):
        return services.enforce_deadlines(at)


def test_the_shops_delivery_closes_a_not_received_claim_and_its_withdrawal_stops_it(client, shop_key, seller):
    """As a carrier scan does (claims/tests/test_tracking.py): a confirmed delivery to the order's address makes the
    claim due for the sweep, which closes it; the shop withdrawing the delivery first leaves it open."""
    claim = _not_received_claim(client, shop_key, seller)
    url = f"{ORDERS}/SHOP-1001/shipments"
    delivered = {"carrier": "dhl", "tracking_number": "JJD 0001 0001", "delivered_at": (OPENED_AT + H).isoformat(),
                 "delivered_to_order_address": True}
    with time_machine.travel(OPENED_AT + H, tick=False):
        response = post(client, url, shop_key, delivered)
        assert response.status_code == 200, response.content
        assert response.json()["delivered_at"] == "2026-03-10T10:00:00Z"
        withdrawn = post(client, url, shop_key, {"carrier": "DHL", "tracking_number": "JJD00010001",
                                                 "delivered_at": None})
        assert withdrawn.status_code == 200 and withdrawn.json()["delivered_at"] is None
    assert Shipment.objects.count() == 1
    assert sweep(OPENED_AT + H).get("delivered") is None
    claim.refresh_from_db()
    assert claim.state == "awaiting_seller" and claim.delivery_seen_at is None
    # The delivery sent again with the whole order: the claim reacts the same way.
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        body = order_body(seller)
        body["shipments"][0].update(delivered_at=(OPENED_AT + 2 * H).isoformat(), delivered_to_order_address=True)
        assert post(client, ORDERS, shop_key, body).status_code == 200
    assert sweep(OPENED_AT + 2 * H) == {"delivered": 1}


def test_a_new_shipment_is_201_and_another_orders_parcel_is_refused(client, shop_key, seller):
    post(client, ORDERS, shop_key, order_body(seller))
    url = f"{ORDERS}/SHOP-1001/shipments"
    created = post(client, url, shop_key, {"carrier": "GLS", "tracking_number": "gls 42",
                                           "shipped_at": "2026-03-04T09:00:00Z"})
    assert created.status_code == 201 and created.json()["tracking_number"] == "GLS42"
    again = post(client, url, shop_key, {"carrier": "gls", "tracking_number": "GLS42"})
    assert again.status_code == 200 and again.json() == created.json()  # nothing given: nothing changed
    ShipmentFactory(order=OrderFactory(), carrier="UPS", tracking_number="1Z1")
    data = problem(post(client, url, shop_key, {"carrier": "UPS", "tracking_number": "1z1"}), 422, "invalid")
    assert list(data["errors"]) == ["tracking_number"]
    data = problem(post(client, url, shop_key, {"carrier": "GLS", "tracking_number": "GLS42",
                                                "delivered_at": "2026-03-01T09:00:00Z"}), 422, "invalid")
    assert list(data["errors"]) == ["delivered_at"]


def test_the_shop_confirms_a_parcel_the_seller_reported_but_not_its_delivery(client, shop_key, seller):
    post(client, ORDERS, shop_key, order_body(seller, shipments=[]))
    order = Order.objects.get()
    reported = ShipmentFactory(order=order, carrier="DHL", tracking_number="JJD5", seller_reported=True,
                               delivered_at=NOW - H, delivered_to_order_address=True)
    response = post(client, f"{ORDERS}/SHOP-1001/shipments", shop_key, {"carrier": "DHL", "tracking_number": "JJD5"})
    assert response.status_code == 200
    reported.refresh_from_db()
    assert (reported.source, reported.delivered_at) == ("shop", None) and reported.confirmed_at is not None


# --- refund confirmations ----------------------------------------------------------------------------------------


@pytest.fixture
def refund():
    world = claim_world("escalated", defect_type="irremovable")
    with time_machine.travel(OPENED_AT + dt.timedelta(days=1), tick=False):
        services.decide(claim=world.claim, by=world.agent, outcome="partial_refund", funded_by="seller",
                        amount="120.00")
    return world.refresh().refunds.get()


def confirm(client, key: str, refund_id, body: dict):
    return post(client, f"/api/v1/shop/refunds/{refund_id}/confirmation", key, body)


def test_a_refund_confirmed_paid_again_and_contradicted(client, shop_key, refund, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(client, shop_key, f"refund_{refund.pk}", {"status": "paid", "reference": "re_3PXyz"})
    assert response.status_code == 200, response.content
    assert response.json() == {"refund_id": f"refund_{refund.pk}", "status": "paid", "amount": "120.00",
                               "currency": "EUR", "reference": "re_3PXyz", "failure_reason": "",
                               "claim": refund.claim.number}
    refund.refresh_from_db()
    assert (refund.status, refund.payment_reference) == ("paid", "re_3PXyz")
    assert refund.events.order_by("pk").last().actor is None  # the system, as the payments webhook
    assert [m.to for m in mail.outbox] == [[refund.claim.buyer.email]]
    events = refund.events.count()
    with django_capture_on_commit_callbacks(execute=True):
        again = confirm(client, shop_key, refund.pk, {"status": "paid", "reference": "re_3PXyz"})
    assert again.status_code == 200 and refund.events.count() == events and len(mail.outbox) == 1
    assert "already paid" in problem(confirm(client, shop_key, refund.pk, {"status": "paid", "reference": "re_x"}),
                                     409, "state")["detail"]
    problem(confirm(client, shop_key, refund.pk, {"status": "failed", "reason": "Card expired"}), 409, "state")


def test_a_refund_confirmed_failed_and_the_same_failure_again(client, shop_key, refund):
    response = confirm(client, shop_key, refund.pk, {"status": "failed", "reason": "Card expired"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["failure_reason"]) == ("failed", "Card expired")
    events = refund.events.count()
    assert confirm(client, shop_key, refund.pk, {"status": "failed", "reason": "Card expired"}).status_code == 200
    assert refund.events.count() == events


def test_an_unknown_refund_is_404_and_a_confirmation_needs_its_reference_or_reason(client, shop_key, refund):
    for refund_id in (refund.pk + 1000, f"refund_{refund.pk + 1000}", "abc", "0", "9" * 30):
        problem(confirm(client, shop_key, refund_id, {"status": "paid", "reference": "re_1"}), 404, "not-found")
    assert problem(confirm(client, shop_key, refund.pk, {"status": "paid"}), 422, "validation")["errors"] == {
        "reference": ["A paid refund needs the payment provider's reference."]}
    assert list(problem(confirm(client, shop_key, refund.pk, {"status": "failed", "reason": "  "}), 422,
                        "validation")["errors"]) == ["reason"]
    assert list(problem(confirm(client, shop_key, refund.pk, {"status": "refunded"}), 422,
                        "validation")["errors"]) == ["status"]
    refund.refresh_from_db()
    assert refund.status == "pending"


# --- keys ---------------------------------------------------------------------------------------------------------


def _every_shop_operation() -> list[tuple[str, str]]:
    """(method, url) of every operation of the shop's router, its path parameters filled in."""
    operations = []
    for path, view in shop.router.path_operations.items():
        url = "/api/v1/shop" + re.sub(r"\{(\w+)\}", lambda m: {"number": "SHOP-1001", "refund_id": "1"}[m[1]], path)
        operations += [(method, url) for operation in view.operations for method in operation.methods]
    return operations


def test_every_shop_endpoint_refuses_a_sellers_key_and_a_read_key_on_writes(client, shop_key, seller):
    post(client, ORDERS, shop_key, order_body(seller))
    _, sellers = seller_key(seller, scope="write")
    _, read_only = platform_key(scope="read")
    operations = _every_shop_operation()
    assert {method for method, _url in operations} == {"GET", "POST"} and len(operations) == 4
    for method, url in operations:
        if method == "GET":
            assert get(client, url, sellers).json()["type"] == "/api/problems/wrong-key-kind"
            assert get(client, url, read_only).status_code == 200
        else:
            problem(post(client, url, sellers, order_body(seller)), 403, "wrong-key-kind")
            problem(post(client, url, read_only, order_body(seller)), 403, "read-only-key")



# --- two requests at once (PostgreSQL) -----------------------------------------------------------------------------


def _race(first, second) -> list:
    """`first` runs in a transaction kept open a moment after it wrote; `second` starts inside that moment (as in
    orders/tests/test_tracking_races.py). Returns what each returned or raised."""
    import threading
    import time

    from django.db import transaction

    wrote, results = threading.Event(), [None, None]

    def run(index: int, function) -> None:
        try:
            with time_machine.travel(NOW, tick=False):
                if index == 0:
                    with transaction.atomic():
                        results[0] = function()
                        wrote.set()
                        time.sleep(0.5)
                else:
                    wrote.wait(5)
                    with transaction.atomic():
                        results[1] = function()
        except Exception as error:  # noqa: BLE001 - the loser's error is the result
            results[index] = error
        finally:
            wrote.set()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                      reason="needs PostgreSQL: two connections waiting on one unique index entry")


@pytest.mark.postgres
@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_one_order_sent_twice_at_once_is_created_once():
    from orders import services as orders

    seller, buyer = SellerFactory(), UserFactory()
    items = [{"title": "Phone", "quantity": 1, "unit_price": Decimal("299.00"), "condition": "new"}]

    def save():
        return orders.save_order(number="SHOP-RACE", buyer=buyer, seller=seller, items=items,
                                 placed_at=NOW - 24 * H, delivery_name="E", delivery_line1="L",
                                 delivery_postal_code="1", delivery_city="C")

    results = _race(save, save)
    assert [created for _order, created in results] == [True, False], results
    assert Order.objects.filter(number="SHOP-RACE").count() == 1


@pytest.mark.postgres
@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_new_buyer_in_two_orders_at_once_is_one_account():
    from orders import services as orders

    results = _race(lambda: orders.buyer_for_email(email="new@example.com"),
                    lambda: orders.buyer_for_email(email="NEW@example.com"))
    assert results[0].pk == results[1].pk, results
    assert get_user_model().objects.filter(email__iexact="new@example.com").count() == 1

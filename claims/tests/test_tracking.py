"""Tracking that cannot be faked, as the claims see it: a seller cannot borrow another order's parcel, move the
hand-over before the order, or close a claim with tracking it only reported; a parcel scan never closes a claim
about digital items only. The clock is controlled throughout."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from claims import services
from claims.eligibility import receipt_date
from claims.errors import ClaimError
from claims.policy import current_policy
from claims.services.tracking import apply_carrier_update, record_shipment, update_tracking
from claims.tests.factories import OPENED_AT
from orders.models import Order, Shipment
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
PLACED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # OrderFactory's placed_at
SHIPPED = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)
DELIVERED = dt.datetime(2026, 3, 5, 12, 0, tzinfo=dt.UTC)


def not_received_claim(*, digital_only: bool = False, placed_at: dt.datetime = PLACED):
    """A not-received claim (opened 10 March) with the seller's staff; the order's parcel is in transit."""
    order = OrderFactory(estimated_delivery=dt.date(2026, 3, 4), placed_at=placed_at)
    phone = OrderItemFactory(order=order, title="Phone")
    key = OrderItemFactory(order=order, title="Licence key", is_digital=True)
    ShipmentFactory(order=order, tracking_number="JJD000000001")
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="staff")
    with time_machine.travel(OPENED_AT, tick=False):
        claim = services.open_claim(order=order, buyer=order.buyer, reason="not_received",
                                    description="Nothing arrived", desired_outcome="refund",
                                    items=[key] if digital_only else [phone, key])
    return claim, staff


def sweep(at: dt.datetime) -> dict[str, int]:
    with time_machine.travel(at, tick=False):
        return services.enforce_deadlines(at)


# --- one parcel, one order ---------------------------------------------------------------------------------------


def test_a_seller_cannot_put_another_buyers_parcel_on_its_claim():
    """The issue's attack: the seller borrows another buyer's in-transit number; its delivery then closed the
    victim's claim."""
    claim, staff = not_received_claim()
    others = ShipmentFactory(order=OrderFactory(), tracking_number="JJD777777777", seller_reported=True)
    with time_machine.travel(OPENED_AT + H, tick=False):
        with pytest.raises(ClaimError, match="already registered for another order. Please check it."):
            services.add_tracking(claim=claim, by=staff, carrier="dhl", tracking_number="jjd 7777 7777 7")
        assert apply_carrier_update(carrier="DHL", tracking_number="JJD777777777", status="delivered",
                                    occurred_at=OPENED_AT + H, delivered_to_order_address=True) == [others]
    claim.refresh_from_db()
    assert claim.state == "awaiting_seller" and claim.delivery_seen_at is None and not claim.messages.exists()
    assert not Shipment.objects.filter(order=claim.order, tracking_number="JJD777777777").exists()
    assert sweep(OPENED_AT + 2 * H).get("delivered") is None


def test_the_seller_page_says_why_a_tracking_number_is_refused(client):
    claim, staff = not_received_claim()
    ShipmentFactory(order=OrderFactory(), tracking_number="JJD777777777")
    client.force_login(staff)
    with time_machine.travel(OPENED_AT + H, tick=False):
        response = client.post(reverse("sellers:tracking", kwargs={"number": claim.number}), {
            "tracking-carrier": "DHL", "tracking-tracking_number": "JJD777777777"})
    assert response.status_code == 400
    assert "This tracking number is already registered for another order. Please check it." in \
        response.content.decode()
    claim.refresh_from_db()
    assert claim.state == "awaiting_seller"


def test_the_seller_entering_its_own_number_again_keeps_one_shipment():
    claim, staff = not_received_claim()
    with time_machine.travel(OPENED_AT + H, tick=False):
        services.add_tracking(claim=claim, by=staff, carrier="DPD", tracking_number="0150 780041")
        services.add_tracking(claim=claim, by=staff, carrier="dpd", tracking_number="0150780041")
    assert claim.order.shipments.filter(tracking_number="0150780041").count() == 1
    assert list(claim.messages.values_list("body", flat=True)) == ["Shipment tracking: DPD 0150780041"] * 2


# --- ship dates --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shipped_at, message", [
    (dt.datetime(2023, 3, 1, 12, tzinfo=dt.UTC), "before the order was placed"),
    (PLACED - H, "before the order was placed"),
    (OPENED_AT + 2 * H, "cannot be in the future"),
])
def test_a_ship_date_before_the_order_or_in_the_future_is_refused(shipped_at, message):
    claim, staff = not_received_claim()
    with time_machine.travel(OPENED_AT + H, tick=False), pytest.raises(ClaimError, match=message):
        services.add_tracking(claim=claim, by=staff, carrier="DHL", tracking_number="JJD1", shipped_at=shipped_at)
    assert not claim.order.shipments.filter(tracking_number="JJD1").exists()


PLACED_AFTERNOON = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)  # 15:00 in Berlin


@pytest.mark.parametrize("placed_at, shipped_on, expected", [
    (PLACED, "2026-03-03", dt.datetime(2026, 3, 3, 11, 0, tzinfo=dt.UTC)),  # a day: noon in Berlin
    (PLACED_AFTERNOON, "2026-03-02", PLACED_AFTERNOON),  # the day of the order: not before it was placed
    (PLACED, "2026-03-10", OPENED_AT + H),  # today, at 11:00 in Berlin: now, not noon
])
def test_the_seller_page_keeps_a_ship_day_inside_what_is_possible(client, placed_at, shipped_on, expected):
    claim, staff = not_received_claim(placed_at=placed_at)
    client.force_login(staff)
    with time_machine.travel(OPENED_AT + H, tick=False):
        response = client.post(reverse("sellers:tracking", kwargs={"number": claim.number}), {
            "tracking-carrier": "DHL", "tracking-tracking_number": "JJD1", "tracking-shipped_on": shipped_on})
    assert response.status_code == 302
    assert claim.order.shipments.get(tracking_number="JJD1").shipped_at == expected


def test_the_seller_page_refuses_a_ship_day_before_the_order(client):
    claim, staff = not_received_claim()
    client.force_login(staff)
    with time_machine.travel(OPENED_AT + H, tick=False):
        response = client.post(reverse("sellers:tracking", kwargs={"number": claim.number}), {
            "tracking-carrier": "DHL", "tracking-tracking_number": "JJD1", "tracking-shipped_on": "2024-03-01"})
    assert response.status_code == 400
    assert "cannot have been handed to the carrier before the order was placed" in response.content.decode()
    assert not claim.order.shipments.filter(tracking_number="JJD1").exists()


# --- seller-reported tracking counts for nothing by itself ------------------------------------------------------


def test_a_seller_reported_delivery_does_not_close_the_claim():
    claim, _staff = not_received_claim()
    order = claim.order
    with time_machine.travel(OPENED_AT + H, tick=False):
        record_shipment(order=order, carrier="DHL", tracking_number="JJD2", shipped_at=SHIPPED,
                        delivered_at=DELIVERED, delivered_to_order_address=True, source="seller")
        shipment = order.shipments.get(tracking_number="JJD000000001")
        with pytest.raises(ClaimError, match="Tracking does not show delivery"):
            services.mark_delivered(claim=claim)
    claim.refresh_from_db()
    assert claim.delivery_seen_at is None
    assert sweep(OPENED_AT + 2 * H).get("delivered") is None
    # The carrier's own scan of the confirmed parcel does close it.
    with time_machine.travel(OPENED_AT + 3 * H, tick=False):
        update_tracking(shipment=shipment, delivered_at=OPENED_AT + 3 * H, delivered_to_order_address=True,
                        source="carrier")
    assert sweep(OPENED_AT + 3 * H) == {"delivered": 1}


def test_a_seller_reported_delivery_does_not_refuse_a_not_received_claim():
    order = OrderFactory(estimated_delivery=dt.date(2026, 3, 4))
    OrderItemFactory(order=order)
    ShipmentFactory(order=order, delivered_at=DELIVERED, delivered_to_order_address=True, seller_reported=True)
    with time_machine.travel(OPENED_AT, tick=False):
        claim = services.open_claim(order=order, buyer=order.buyer, reason="not_received",
                                    description="Nothing came", desired_outcome="refund")
    assert claim.state == "awaiting_seller"


def test_seller_reported_dates_do_not_move_the_receipt_date():
    policy = current_policy()
    business = OrderFactory(buyer_kind="business")
    ShipmentFactory(order=business, shipped_at=SHIPPED, delivered_at=DELIVERED, delivered_to_order_address=True)
    # The seller claims an earlier hand-over and delivery on a parcel of its own.
    ShipmentFactory(order=business, shipped_at=PLACED, delivered_at=PLACED + H, delivered_to_order_address=True,
                    seller_reported=True)
    business = Order.objects.prefetch_related("shipments").get(pk=business.pk)
    assert business.handed_to_carrier_at() == SHIPPED
    assert receipt_date(business, policy=policy) == dt.date(2026, 3, 3)
    consumer = OrderFactory()
    ShipmentFactory(order=consumer, delivered_at=DELIVERED, delivered_to_order_address=True)
    ShipmentFactory(order=consumer, delivered_at=PLACED + H, delivered_to_order_address=True, seller_reported=True)
    assert consumer.delivered_at() == DELIVERED
    assert receipt_date(consumer, policy=policy) == dt.date(2026, 3, 5)
    only_reported = OrderFactory(buyer_kind="business")
    ShipmentFactory(order=only_reported, delivered_at=DELIVERED, delivered_to_order_address=True,
                    seller_reported=True)
    assert receipt_date(only_reported, policy=policy) is None


# --- digital items ---------------------------------------------------------------------------------------------


def test_a_parcel_scan_does_not_close_a_claim_about_digital_items_only():
    claim, _staff = not_received_claim(digital_only=True)
    shipment = claim.order.shipments.get()
    with time_machine.travel(OPENED_AT + H, tick=False):
        apply_carrier_update(carrier="DHL", tracking_number=shipment.tracking_number, status="delivered",
                             occurred_at=OPENED_AT + H, delivered_to_order_address=True)
        with pytest.raises(ClaimError, match="Tracking does not show delivery"):
            services.mark_delivered(claim=claim)
    claim.refresh_from_db()
    assert claim.delivery_seen_at is None and claim.state == "awaiting_seller"
    assert sweep(OPENED_AT + 2 * H).get("delivered") is None


def test_the_sweep_does_not_close_a_digital_only_claim_marked_before_the_fix():
    claim, _staff = not_received_claim(digital_only=True)
    Shipment.objects.filter(order=claim.order).update(delivered_at=OPENED_AT, delivered_to_order_address=True)
    claim.delivery_seen_at = OPENED_AT + H  # what note_delivery wrote before digital claims were left alone
    claim.refresh_next_deadline()
    claim.save()
    assert sweep(OPENED_AT + H).get("delivered") is None
    claim.refresh_from_db()
    assert claim.state == "awaiting_seller" and claim.delivery_seen_at is None


def test_a_parcel_scan_closes_a_claim_that_includes_the_parcels_item():
    claim, _staff = not_received_claim()
    with time_machine.travel(OPENED_AT + H, tick=False):
        apply_carrier_update(carrier="DHL", tracking_number="JJD000000001", status="delivered",
                             occurred_at=OPENED_AT + H, delivered_to_order_address=True)
    assert sweep(OPENED_AT + H) == {"delivered": 1}


def test_a_reopened_not_received_claim_is_not_closed_again_by_the_old_delivery_scan():
    """Seen: a reopened not-received claim was closed again by the next sweep (the old delivery marker stayed)."""
    from sellers.tests.factories import make_agent

    claim, _staff = not_received_claim()
    agent = make_agent()
    with time_machine.travel(OPENED_AT + H, tick=False):
        apply_carrier_update(carrier="DHL", tracking_number="JJD000000001", status="delivered",
                             occurred_at=OPENED_AT + H, delivered_to_order_address=True)
    assert sweep(OPENED_AT + H) == {"delivered": 1}
    with time_machine.travel(OPENED_AT + 3 * H, tick=False):
        services.reopen(claim=claim, by=agent, reason="The buyer says the parcel held someone else's goods")
    claim.refresh_from_db()
    assert (claim.state, claim.delivery_seen_at) == ("escalated", None)
    assert sweep(OPENED_AT + 4 * H).get("delivered") is None
    claim.refresh_from_db()
    assert claim.state == "escalated"

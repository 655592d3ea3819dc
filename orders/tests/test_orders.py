import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction

from orders.models import Order, Shipment
from orders.services import TrackingError, apply_carrier_update, create_order, record_shipment, update_tracking
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db
PLACED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ADDRESS = {"delivery_name": "Max", "delivery_line1": "Weg 2", "delivery_postal_code": "80331",
           "delivery_city": "München"}


def test_items_copy_the_sellers_warranty_for_their_condition():
    seller = SellerFactory()
    seller.warranty_policy.months_like_new = 18
    seller.warranty_policy.save()
    order = create_order(number="O-1", buyer=UserFactory(), seller=seller, placed_at=PLACED,
                         shipping=Decimal("4.90"), items=[
                             {"title": "Phone", "condition": "new", "unit_price": "300.00"},
                             {"title": "Tablet", "condition": "like_new", "unit_price": "200.00", "quantity": 2},
                             {"title": "Laptop", "condition": "used", "unit_price": "150.00"},
                         ], **ADDRESS)
    assert [i.warranty_months for i in order.items.all()] == [24, 18, 12]
    assert order.total == Decimal("854.90")
    # A later policy change does not touch items already sold.
    seller.warranty_policy.months_new = 36
    seller.warranty_policy.save()
    assert order.items.first().warranty_months == 24


def test_business_buyers_get_the_sellers_business_warranty_none_by_default():
    seller = SellerFactory()
    order = create_order(number="O-2", buyer=UserFactory(), seller=seller, placed_at=PLACED, buyer_kind="business",
                         items=[{"title": "10 phones", "unit_price": "100", "quantity": 10}], **ADDRESS)
    assert order.items.get().warranty_months == 0


def test_delivery_is_the_last_shipment_delivered_to_the_order_address():
    order = create_order(number="O-3", buyer=UserFactory(), seller=SellerFactory(), placed_at=PLACED,
                         items=[{"title": "Phone", "unit_price": "1"}], **ADDRESS)
    first = dt.datetime(2026, 3, 4, 10, tzinfo=dt.UTC)
    second = dt.datetime(2026, 3, 6, 10, tzinfo=dt.UTC)
    with time_machine.travel(NOW, tick=False):
        record_shipment(order=order, carrier="DHL", tracking_number="A", shipped_at=PLACED, delivered_at=first,
                        delivered_to_order_address=True, source="shop")
        record_shipment(order=order, carrier="DHL", tracking_number="B", shipped_at=PLACED, delivered_at=second,
                        delivered_to_order_address=False, source="carrier")
    assert order.delivered_at() == first
    assert order.is_delivered_to_order_address()
    assert order.handed_to_carrier_at() == PLACED


# --- shipments and tracking ------------------------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 12, 9, 0, tzinfo=dt.UTC)
SHIPPED = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)


def an_order(number: str = "O-10", **fields):
    return create_order(number=number, buyer=UserFactory(), seller=SellerFactory(), placed_at=PLACED,
                        items=[{"title": "Phone", "unit_price": "100"}], **{**ADDRESS, **fields})


def test_tracking_numbers_are_normalised_and_carriers_matched_case_insensitively():
    order = an_order()
    with time_machine.travel(NOW, tick=False):
        shipment = record_shipment(order=order, carrier="  DHL ", tracking_number=" jjd 0003\t9000 7 ",
                                   shipped_at=SHIPPED)
        again = record_shipment(order=order, carrier="dhl", tracking_number="JJD000390007", shipped_at=SHIPPED)
    assert (shipment.carrier, shipment.tracking_number) == ("DHL", "JJD000390007")
    assert again.pk == shipment.pk and order.shipments.count() == 1


def test_the_same_number_on_the_same_order_updates_that_shipment():
    order = an_order()
    later = SHIPPED + dt.timedelta(days=1)
    with time_machine.travel(NOW, tick=False):
        record_shipment(order=order, carrier="DPD", tracking_number="0150780041", shipped_at=SHIPPED)
        shipment = record_shipment(order=order, carrier="DPD", tracking_number="0150 780041", shipped_at=later)
    assert order.shipments.count() == 1 and shipment.shipped_at == later


def test_a_tracking_number_of_another_order_is_refused():
    mine, theirs = an_order("O-11"), an_order("O-12")
    with time_machine.travel(NOW, tick=False):
        record_shipment(order=theirs, carrier="DHL", tracking_number="JJD000390007", shipped_at=SHIPPED)
        with pytest.raises(TrackingError, match="already registered for another order. Please check it."):
            record_shipment(order=mine, carrier="dhl", tracking_number="jjd000390007", shipped_at=SHIPPED)
        # Another carrier's parcel may carry the same digits.
        record_shipment(order=mine, carrier="DPD", tracking_number="JJD000390007", shipped_at=SHIPPED)
    assert list(Shipment.objects.filter(order=mine).values_list("carrier", flat=True)) == ["DPD"]


def test_the_database_refuses_one_parcel_on_two_orders():
    mine, theirs = an_order("O-13"), an_order("O-14")
    Shipment.objects.create(order=theirs, carrier="DHL", tracking_number="JJD1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Shipment.objects.create(order=mine, carrier="dhl", tracking_number="JJD1")


@pytest.mark.parametrize("shipped_at, delivered_at, message", [
    (PLACED - dt.timedelta(minutes=1), None, "before the order was placed on Mon 2 Mar"),
    (dt.datetime(2019, 1, 1, tzinfo=dt.UTC), None, "before the order was placed"),
    (NOW + dt.timedelta(minutes=1), None, "cannot be in the future"),
    (SHIPPED, SHIPPED - dt.timedelta(hours=1), "delivery cannot be before"),
    (SHIPPED, NOW + dt.timedelta(hours=1), "delivery date cannot be in the future"),
])
def test_ship_and_delivery_dates_lie_between_the_order_and_now(shipped_at, delivered_at, message):
    order = an_order()
    with time_machine.travel(NOW, tick=False), pytest.raises(TrackingError, match=message):
        record_shipment(order=order, carrier="DHL", tracking_number="JJD1", shipped_at=shipped_at,
                        delivered_at=delivered_at, delivered_to_order_address=True, source="shop")
    assert not order.shipments.exists()


def test_what_the_seller_enters_stays_seller_reported_and_counts_for_nothing():
    order = an_order(buyer_kind="business")
    with time_machine.travel(NOW, tick=False):
        shipment = record_shipment(order=order, carrier="DHL", tracking_number="JJD1", shipped_at=PLACED,
                                   delivered_at=SHIPPED, delivered_to_order_address=True, source="seller")
    assert shipment.confirmed_at is None and shipment.source == "seller"
    order = Order.objects.prefetch_related("shipments").get(pk=order.pk)
    assert order.delivered_at() is None and order.handed_to_carrier_at() is None
    assert not order.is_delivered_to_order_address()


@pytest.mark.parametrize("source", ["carrier", "agent", "shop"])
def test_the_carrier_and_the_platform_confirm_a_shipment(source):
    order = an_order()
    with time_machine.travel(NOW, tick=False):
        shipment = record_shipment(order=order, carrier="DHL", tracking_number="JJD1", shipped_at=SHIPPED,
                                   source=source)
    assert shipment.confirmed_at == NOW and order.handed_to_carrier_at() == SHIPPED


def test_a_seller_cannot_change_a_confirmed_shipment():
    order = an_order()
    with time_machine.travel(NOW, tick=False):
        shipment = record_shipment(order=order, carrier="DHL", tracking_number="JJD1", shipped_at=SHIPPED,
                                   source="carrier")
        same = record_shipment(order=order, carrier="DHL", tracking_number="JJD1", shipped_at=PLACED)
        assert (same.shipped_at, same.source) == (SHIPPED, "carrier")  # re-entering it changes nothing
        with pytest.raises(TrackingError, match="can no longer be changed by hand"):
            update_tracking(shipment=shipment, delivered_at=NOW, delivered_to_order_address=True, source="seller")
        update_tracking(shipment=shipment, delivered_at=NOW, delivered_to_order_address=True, source="agent")
    shipment.refresh_from_db()
    assert (shipment.delivered_at, shipment.source) == (NOW, "agent")


def test_a_seller_reported_shipment_is_confirmed_by_the_carriers_first_event():
    order = an_order(buyer_kind="business")
    first_scan = SHIPPED + dt.timedelta(days=1)
    with time_machine.travel(NOW, tick=False):
        record_shipment(order=order, carrier="DHL", tracking_number="JJD1", shipped_at=PLACED)
        assert apply_carrier_update(carrier="dhl", tracking_number="jjd1", status="in_transit",
                                    occurred_at=first_scan) != []
    shipment = order.shipments.get()
    # The carrier's time replaces the seller's: only carrier-confirmed dates move a receipt date.
    assert (shipment.confirmed_at, shipment.shipped_at, shipment.last_event_at) == (NOW, first_scan, first_scan)
    assert Order.objects.get(pk=order.pk).handed_to_carrier_at() == first_scan

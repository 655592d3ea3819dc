import datetime as dt
from decimal import Decimal

import pytest

from orders.services import create_order, record_shipment
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
    record_shipment(order=order, carrier="DHL", tracking_number="A", shipped_at=PLACED, delivered_at=first,
                    delivered_to_order_address=True)
    record_shipment(order=order, carrier="DHL", tracking_number="B", shipped_at=PLACED, delivered_at=second,
                    delivered_to_order_address=False)
    assert order.delivered_at() == first
    assert order.is_delivered_to_order_address()
    assert order.handed_to_carrier_at() == PLACED

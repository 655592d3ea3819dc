import datetime as dt
from decimal import Decimal

import factory

from orders.models import Order, OrderItem, Shipment
from sellers.tests.factories import SellerFactory, UserFactory


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"O-{100000 + n}")
    buyer = factory.SubFactory(UserFactory)
    seller = factory.SubFactory(SellerFactory)
    buyer_kind = "consumer"
    placed_at = factory.LazyFunction(lambda: dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    currency = "EUR"
    total = Decimal("199.00")
    ship_by = dt.date(2026, 3, 3)
    estimated_delivery = dt.date(2026, 3, 5)
    delivery_name = "Erika Mustermann"
    delivery_line1 = "Hauptstraße 1"
    delivery_postal_code = "10115"
    delivery_city = "Berlin"
    payment_method = "card"
    payment_reference = factory.Sequence(lambda n: f"pay_{n}")


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    title = factory.Sequence(lambda n: f"Refurbished phone {n}")
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    condition = "new"
    quantity = 1
    unit_price = Decimal("199.00")
    warranty_months = 24


class ShipmentFactory(factory.django.DjangoModelFactory):
    """A shipment the carrier confirmed (what closes claims and moves dates); `seller_reported=True` for one the
    seller only entered."""

    class Meta:
        model = Shipment

    class Params:
        seller_reported = factory.Trait(source="seller", confirmed_at=None)

    order = factory.SubFactory(OrderFactory)
    carrier = "DHL"
    tracking_number = factory.Sequence(lambda n: f"JJD{1000000 + n}")
    shipped_at = factory.LazyFunction(lambda: dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC))
    delivered_at = None
    delivered_to_order_address = False
    source = "carrier"
    confirmed_at = factory.LazyFunction(lambda: dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC))

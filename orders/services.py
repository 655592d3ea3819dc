"""Orders arrive from the marketplace's shop; this is how they are written here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction

from sellers.models import Seller, WarrantyPolicy

from .models import BuyerKind, Order, OrderItem, Shipment


def create_order(*, number: str, buyer: Any, seller: Seller, placed_at: dt.datetime, items: Iterable[dict[str, Any]],
                 buyer_kind: str = BuyerKind.CONSUMER, currency: str = "EUR", shipping: Decimal = Decimal("0.00"),
                 **fields: Any) -> Order:
    """Create an order and its items. Each item's warranty is copied from the seller's policy for the item's
    condition (business buyers get the seller's business warranty, none by default)."""
    items = list(items)
    policy, _created = WarrantyPolicy.objects.get_or_create(seller=seller)
    with transaction.atomic():
        total = sum((Decimal(str(i["unit_price"])) * i.get("quantity", 1) for i in items), Decimal("0.00")) + shipping
        order = Order.objects.create(number=number, buyer=buyer, seller=seller, placed_at=placed_at,
                                     buyer_kind=buyer_kind, currency=currency, total=total, **fields)
        for data in items:
            data = dict(data)
            condition = data.setdefault("condition", "new")
            if "warranty_months" not in data:
                data["warranty_months"] = (
                    policy.business_months if buyer_kind == BuyerKind.BUSINESS else policy.months_for(condition)
                )
            OrderItem.objects.create(order=order, **data)
    return order


def record_shipment(*, order: Order, carrier: str, tracking_number: str, shipped_at: dt.datetime | None,
                    delivered_at: dt.datetime | None = None, delivered_to_order_address: bool = False,
                    source: str = "seller") -> Shipment:
    with transaction.atomic():
        shipment = Shipment.objects.create(order=order, carrier=carrier, tracking_number=tracking_number,
                                           shipped_at=shipped_at, delivered_at=delivered_at,
                                           delivered_to_order_address=delivered_to_order_address, source=source)
        _tracking_changed(order)
    return shipment


def update_tracking(*, shipment: Shipment, delivered_at: dt.datetime | None, delivered_to_order_address: bool,
                    source: str) -> Shipment:
    """A tracking update from the carrier, the seller or an agent."""
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        shipment.delivered_at = delivered_at
        shipment.delivered_to_order_address = delivered_to_order_address
        shipment.source = source
        shipment.save(update_fields=["delivered_at", "delivered_to_order_address", "source", "updated_at"])
        _tracking_changed(shipment.order)
    return shipment


def _tracking_changed(order: Order) -> None:
    from claims.services import note_delivery

    note_delivery(order=Order.objects.prefetch_related("shipments").get(pk=order.pk))


def apply_carrier_update(*, tracking_number: str, delivered_at: dt.datetime | None,
                         delivered_to_order_address: bool) -> list[Shipment]:
    """A carrier's tracking event for every shipment with this number (usually one)."""
    shipments = list(Shipment.objects.filter(tracking_number=tracking_number))
    return [update_tracking(shipment=shipment, delivered_at=delivered_at,
                            delivered_to_order_address=delivered_to_order_address, source="carrier")
            for shipment in shipments]

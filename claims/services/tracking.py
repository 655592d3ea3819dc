"""Tracking as claims see it. The orders app records shipments and carrier events and knows nothing of claims;
these functions call it and, in the same transaction, let the open not-received claims of every order whose
tracking changed react (note_delivery): a confirmed delivery to the order's address makes them due for the sweep,
which closes them, and a carrier withdrawing it makes them no longer due. Every caller that should move claims
(the seller's tracking, the carrier webhook, the demo, the benchmarks) comes through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from orders import services as orders
from orders.models import CarrierEvent, Order, Shipment

from .deadlines import note_delivery
from .returns import apply_carrier_event, tracking_taken_by_return


def _orders_changed(order_ids: Iterable[int]) -> None:
    for order in Order.objects.prefetch_related("shipments").filter(pk__in=set(order_ids)).order_by("pk"):
        note_delivery(order=order)


def record_shipment(**fields: Any) -> Shipment:
    """orders.services.record_shipment, then the order's claims react. A tracking number a buyer's return parcel has
    is refused, as another order's is: one parcel per tracking number (claims.returns)."""
    if tracking_taken_by_return(carrier=fields.get("carrier", ""), tracking_number=fields.get("tracking_number", "")):
        raise orders.TrackingError(_("This tracking number is already registered for another parcel. Please check "
                                     "it."), code="tracking_taken", field="tracking_number")
    with transaction.atomic():
        shipment = orders.record_shipment(**fields)
        _orders_changed([shipment.order_id])
    return shipment


def update_tracking(**fields: Any) -> Shipment:
    """orders.services.update_tracking, then the order's claims react."""
    with transaction.atomic():
        shipment = orders.update_tracking(**fields)
        _orders_changed([shipment.order_id])
    return shipment


def report_shipment(*, order: Order, carrier: str, tracking_number: str, source: str,
                    **tracking: Any) -> tuple[Shipment, bool]:
    """A parcel of the order as the platform (the shop, an agent) states it now: a new one is recorded
    (record_shipment), a known one brought up to date (update_tracking), and the order's claims react. `tracking`
    holds what the caller said of shipped_at, delivered_at and delivered_to_order_address: a value given is set (a
    delivered_at of None withdraws a delivery); one not given is kept where the carrier or the platform confirmed
    it, and a delivery only the seller reported is dropped, since only the caller's word confirms it now (a hand-over
    date cannot be emptied: the seller's stays unless one is given). Nothing is written when nothing changes.
    Returns (the shipment, whether it is new); raises TrackingError."""
    known = orders.shipment_of(order=order, carrier=carrier, tracking_number=tracking_number)
    if known is None:
        shipment = record_shipment(order=order, carrier=carrier, tracking_number=tracking_number, source=source,
                                   shipped_at=tracking.get("shipped_at"), delivered_at=tracking.get("delivered_at"),
                                   delivered_to_order_address=tracking.get("delivered_to_order_address", False))
        return shipment, True
    confirmed = known.confirmed_at is not None
    shipped_at = tracking.get("shipped_at")
    delivered_at = tracking.get("delivered_at", known.delivered_at if confirmed else None)
    to_address = delivered_at is not None and tracking.get(
        "delivered_to_order_address", known.delivered_to_order_address if confirmed else False)
    with transaction.atomic():
        if shipped_at is not None and (shipped_at != known.shipped_at or not confirmed):
            known = record_shipment(order=order, carrier=known.carrier, tracking_number=known.tracking_number,
                                    shipped_at=shipped_at, source=source)
        if (delivered_at, to_address) != (known.delivered_at, known.delivered_to_order_address) \
                or known.confirmed_at is None:
            known = update_tracking(shipment=known, delivered_at=delivered_at, delivered_to_order_address=to_address,
                                    source=source)
    return known, False


def apply_carrier_update(**fields: Any) -> list[Shipment]:
    """orders.services.apply_carrier_update, then the claims of every order it changed react."""
    with transaction.atomic():
        shipments = orders.apply_carrier_update(**fields)
        _orders_changed(shipment.order_id for shipment in shipments)
    return shipments


def record_carrier_event(*, event_id: str, carrier: str, tracking_number: str, status: str, occurred_at: dt.datetime,
                         delivered_to_order_address: bool = False) -> tuple[CarrierEvent, bool]:
    """orders.services.record_carrier_event (once per event id), then, if it moved a shipment, its order's claims
    react. An event no shipment matched may be about a buyer's return parcel (claims.services.returns)."""
    with transaction.atomic():
        event, handled = orders.record_carrier_event(
            event_id=event_id, carrier=carrier, tracking_number=tracking_number, status=status,
            occurred_at=occurred_at, delivered_to_order_address=delivered_to_order_address)
        if handled and event.result == orders.CarrierEventResult.APPLIED and event.shipment is not None:
            _orders_changed([event.shipment.order_id])
        elif handled and event.result == orders.CarrierEventResult.UNKNOWN_SHIPMENT:
            apply_carrier_event(event=event)
    return event, handled

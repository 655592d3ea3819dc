"""The shop's endpoints (a platform key): orders with items and shipments, tracking updates, refund
confirmations.

    POST /api/v1/shop/orders                                create or update an order (idempotent on its number)
    GET  /api/v1/shop/orders/{number}                       the order, its items and shipments
    POST /api/v1/shop/orders/{number}/shipments             add a shipment, or update a known one's tracking
    POST /api/v1/shop/refunds/{refund_id}/confirmation      a refund paid or failed (as the payments webhook)

The work is the services': orders.services (buyer_for_email, save_order), claims.services.tracking (report_shipment:
the order's not-received claims react) and claims.services.payouts (mark_refund_paid, mark_refund_failed). Their
refusals come back as problems naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from claims.eligibility import receipt_date, warranty_ends_on
from claims.models import Refund
from claims.payout_webhook import refund_key
from claims.policy import policy_for_order
from claims.services import mark_refund_failed, mark_refund_paid
from claims.services.tracking import report_shipment
from claims.webhooks import refund_pk
from core.errors import DomainError
from core.models import max_length
from orders import services as orders
from orders.models import Order, Shipment, ShipmentSource
from sellers.models import Seller

from .auth import platform_key
from .problems import Problem
from .shop_schemas import (
    RefundConfirmationIn,
    RefundConfirmationOut,
    ShopOrderIn,
    ShopOrderOut,
    ShopShipmentIn,
    ShopShipmentOut,
)

router = Router(auth=platform_key, tags=["shop"])

MAX_NUMBER_LENGTH = max_length(Order, "number")


def _refused(exc: DomainError, *, prefix: str = "") -> Problem:
    """A service's refusal as a problem, at the field it names (TrackingError.field, OrderError.field)."""
    from .api import DOMAIN_CODES  # api.api mounts this router: imported when called, not at import

    code = DOMAIN_CODES.get(getattr(exc, "code", None) or "invalid", "invalid")
    field = ".".join(part for part in (prefix, getattr(exc, "field", "")) if part)
    return Problem(code, str(exc), errors={field: [str(exc)]} if field else None)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _order(number: str) -> Order:
    """The order with this number, with everything its answer shows (a constant number of queries), or 404."""
    if len(number) > MAX_NUMBER_LENGTH or not number.isprintable():
        raise Http404
    order = (Order.objects.select_related("seller", "buyer")
             .prefetch_related("items", Prefetch("shipments", queryset=Shipment.objects.order_by("id")))
             .filter(number=number).first())
    if order is None:
        raise Http404
    return order


def _shipment_out(shipment: Shipment) -> dict[str, Any]:
    return {"id": shipment.pk, "carrier": shipment.carrier, "tracking_number": shipment.tracking_number,
            "shipped_at": shipment.shipped_at, "delivered_at": shipment.delivered_at,
            "delivered_to_order_address": shipment.delivered_to_order_address, "source": shipment.source,
            "confirmed": shipment.confirmed_at is not None}


def _order_out(order: Order) -> dict[str, Any]:
    received_on = receipt_date(order, policy=policy_for_order(order))
    return {
        "number": order.number, "seller": order.seller.slug,
        "buyer": {"email": order.buyer.email, "name": order.buyer.get_full_name()},
        "buyer_kind": order.buyer_kind, "placed_at": order.placed_at, "currency": order.currency,
        "total": _money(order.total), "shipping": _money(order.shipping_amount), "ship_by": order.ship_by,
        "estimated_delivery": order.estimated_delivery, "delivery_name": order.delivery_name,
        "delivery_line1": order.delivery_line1, "delivery_line2": order.delivery_line2,
        "delivery_postal_code": order.delivery_postal_code, "delivery_city": order.delivery_city,
        "delivery_country": order.delivery_country, "language": order.language,
        "payment_method": order.payment_method, "payment_reference": order.payment_reference,
        "card_last4": order.card_last4, "received_on": received_on,
        "items": [{"id": item.pk, "sku": item.sku, "title": item.title, "condition": item.condition,
                   "quantity": item.quantity, "unit_price": _money(item.unit_price),
                   "serial_number": item.serial_number, "warranty_months": item.warranty_months,
                   "warranty_until": warranty_ends_on(item, received_on), "is_digital": item.is_digital,
                   "is_consumable": item.is_consumable, "is_perishable": item.is_perishable,
                   "expires_on": item.expires_on, "refunded_amount": _money(item.refunded_amount)}
                  for item in order.items.all()],
        "shipments": [_shipment_out(shipment) for shipment in order.shipments.all()],
    }


def _seller(slug: str) -> Seller:
    seller = Seller.objects.filter(slug=slug).first()
    if seller is None:
        message = _("There is no seller “%(slug)s”.") % {"slug": slug}
        raise Problem("invalid", message, errors={"seller": [message]})
    return seller


def _save_shipment(order: Order, shipment: ShopShipmentIn, *, prefix: str = "") -> tuple[Shipment, bool]:
    # Only what the shop sent: a delivered_at left out is kept, a null one withdraws the delivery.
    tracking = shipment.model_dump(exclude_unset=True, exclude={"carrier", "tracking_number"})
    try:
        return report_shipment(order=order, carrier=shipment.carrier, tracking_number=shipment.tracking_number,
                               source=ShipmentSource.SHOP, **tracking)
    except orders.TrackingError as exc:
        raise _refused(exc, prefix=prefix) from exc


@router.post("/orders", response={200: ShopOrderOut, 201: ShopOrderOut}, summary="Create or update an order")
def save_order(request: HttpRequest, payload: ShopOrderIn) -> Status[dict[str, Any]]:
    """Idempotent on the order's number: 201 when it was created, 200 when it existed (updated or not).

    Once an order exists its seller, buyer, items (compared position by position), placing time, kind of buyer,
    currency and shipping cannot change (409 `conflict`, naming the field); the delivery address, the dates, the
    language and the payment's method, reference and card are updated when sent. New shipments are recorded and known
    ones brought up to date, and the order's not-received claims react to them. The whole request is one
    transaction: a refusal changes nothing."""
    seller = _seller(payload.seller)
    fields = payload.model_dump(exclude_unset=True, exclude={"number", "buyer", "seller", "items", "shipments"})
    # Items are compared in full (what was not sent is the default), but months left out stay the seller's to set.
    items = [item.model_dump(exclude={"warranty_months"} if item.warranty_months is None else set())
             for item in payload.items]
    with transaction.atomic():
        buyer = orders.buyer_for_email(email=payload.buyer.email, name=payload.buyer.name)
        try:
            order, created = orders.save_order(number=payload.number, buyer=buyer, seller=seller, items=items,
                                               **fields)
        except orders.OrderError as exc:
            raise _refused(exc) from exc
        for index, shipment in enumerate(payload.shipments):
            _save_shipment(order, shipment, prefix=f"shipments.{index}")
    return Status(201 if created else 200, _order_out(_order(order.number)))


@router.get("/orders/{number}", response=ShopOrderOut, summary="An order")
def get_order(request: HttpRequest, number: str) -> dict[str, Any]:
    return _order_out(_order(number))


@router.post("/orders/{number}/shipments", response={200: ShopShipmentOut, 201: ShopShipmentOut},
             summary="Add a shipment or update its tracking")
def save_shipment(request: HttpRequest, number: str, payload: ShopShipmentIn) -> Status[dict[str, Any]]:
    """A shipment is known by its carrier and tracking number (spaces and case do not matter): 201 when it is new,
    200 when it was known. What is sent is the shop's word and confirms the shipment; a delivered_at of null
    withdraws a delivery, one left out is kept. The order's not-received claims react. A tracking number of another
    order is refused at `tracking_number`."""
    with transaction.atomic():
        order = _order(number)
        shipment, created = _save_shipment(order, payload)
    return Status(201 if created else 200, _shipment_out(shipment))


@router.post("/refunds/{refund_id}/confirmation", response=RefundConfirmationOut,
             summary="A refund was paid or failed")
def confirm_refund(request: HttpRequest, refund_id: str, payload: RefundConfirmationIn) -> dict[str, Any]:
    """What the payments webhook does (claims.webhooks), for a shop that calls the API instead: `refund_id` is the
    refund's number or "refund_<number>". The same confirmation again changes nothing (200); a paid refund cannot be
    paid with another reference or fail (409 `state`)."""
    pk = refund_pk(int(refund_id) if refund_id.isascii() and refund_id.isdigit() else refund_id)
    if pk is None or not Refund.objects.filter(pk=pk).exists():
        raise Http404
    field = "reference" if payload.status == "paid" else "reason"
    value = getattr(payload, field)
    if not value:
        message = (_("A paid refund needs the payment provider's reference.") if payload.status == "paid"
                   else _("A failed refund needs the reason it failed."))
        raise Problem("validation", message, errors={field: [message]})
    if payload.status == "paid":
        refund = mark_refund_paid(refund=pk, reference=value, by=None)
    else:
        refund = mark_refund_failed(refund=pk, reason=value, by=None)
    return {"refund_id": refund_key(refund), "status": refund.status, "amount": _money(refund.amount),
            "currency": refund.currency, "reference": refund.payment_reference,
            "failure_reason": refund.failure_reason, "claim": refund.claim.number}

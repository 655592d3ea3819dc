"""Orders arrive from the marketplace's shop; this is how they are written here."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Field, Model
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from core import formatting
from core.errors import DomainError
from core.models import max_length
from markets.models import Market
from markets.selectors import market_for
from sellers.models import Seller, SellerStatus, WarrantyPolicy

from .models import BuyerKind, CarrierEvent, Order, OrderItem, Shipment, ShipmentSource

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


def create_order(*, number: str, buyer: Any, seller: Seller, placed_at: dt.datetime, items: Iterable[dict[str, Any]],
                 buyer_kind: str = BuyerKind.CONSUMER, currency: str = "EUR", shipping: Decimal = Decimal("0.00"),
                 **fields: Any) -> Order:
    """Create an order and its items. Each item's warranty (unless the shop gives one) is copied from the seller's
    policy for the item's condition; for a consumer it is never less than the statutory months of the delivery
    country's market, whoever gives it (business buyers get the seller's business warranty, none by default)."""
    items = list(items)
    policy, _created = WarrantyPolicy.objects.get_or_create(seller=seller)
    with transaction.atomic():
        total = sum((Decimal(str(i["unit_price"])) * i.get("quantity", 1) for i in items), Decimal("0.00")) + shipping
        order = Order.objects.create(number=number, buyer=buyer, seller=seller, placed_at=placed_at,
                                     buyer_kind=buyer_kind, currency=currency, total=total, shipping_amount=shipping,
                                     **fields)
        market = market_for(order.delivery_country) if buyer_kind != BuyerKind.BUSINESS else None
        for data in items:
            data = dict(data)
            data.setdefault("condition", "new")
            data["warranty_months"] = _item_warranty_months(data, policy, market)
            OrderItem.objects.create(order=order, **data)
    return order


def _item_warranty_months(data: dict[str, Any], policy: WarrantyPolicy, market: Market | None) -> int:
    condition = data.get("condition", "new")
    if data.get("warranty_months") is None:
        return warranty_months_for(policy, condition, market)
    if market is not None:  # the shop's own months, but never under the consumer's statutory floor
        return max(int(data["warranty_months"]), market.statutory_months(condition))
    return int(data["warranty_months"])


def warranty_months_for(policy: WarrantyPolicy, condition: str, market: Market | None) -> int:
    """The warranty an item is sold with: the seller's months for its condition, and for a consumer (`market`: the
    delivery country's) never less than that market's law. SPEC section 10: "Consumer law sets floors that a
    seller's policy may only exceed" (e.g. Portugal's three years on new goods, Decreto-Lei 84/2021 art. 12.º).
    A business buyer (`market=None`) gets the seller's business warranty."""
    if market is None:
        return policy.business_months
    return max(policy.months_for(condition), market.statutory_months(condition))


def book_refund(*, order: Order, lines: Iterable[tuple[OrderItem | None, Decimal]]) -> None:
    """Add a refund's lines to what has been refunded per item (and of the shipping, `None`). Called in the
    transaction that records the refund, with the order row locked; the check constraints refuse more than was
    paid (an IntegrityError the caller turns into words)."""
    for item, amount in lines:
        if item is None:
            Order.objects.filter(pk=order.pk).update(shipping_refunded=F("shipping_refunded") + amount)
        else:
            OrderItem.objects.filter(pk=item.pk, order_id=order.pk).update(
                refunded_amount=F("refunded_amount") + amount)


# --- the shop: buyers and orders as it sends them ----------------------------------------------------------------


class OrderError(DomainError):
    """An order the shop sent, refused. Codes: "invalid" (a rule refuses it), "conflict" (it contradicts the order
    as first sent under that number). `field` names the part of the order it is about."""

    def __init__(self, message: str, code: str = "invalid", *, field: str = "") -> None:
        super().__init__(message, code=code)
        self.field = field


# What a buyer's username may hold (django.contrib.auth's UnicodeUsernameValidator); most email addresses do.
_USERNAME = re.compile(r"[\w.@+-]+")


def buyer_for_email(*, email: str, name: str = "") -> Any:
    """The person the shop means by this email address: the account with it (compared case-insensitively; the
    oldest, should there be several), else a new account with no usable password, whose owner chooses one through
    "Forgot your password?" (config.views.PasswordResetForm sends such accounts the link). A new account's username
    is the address in lower case when that is free, so the buyer logs in with their email address."""
    user_model = get_user_model()
    email = user_model.objects.normalize_email(email.strip())
    found = user_model.objects.filter(email__iexact=email).order_by("pk").first()
    if found is not None:
        return found
    username = email.lower()
    if len(username) > 150 or not _USERNAME.fullmatch(username):
        username = f"buyer-{secrets.token_hex(8)}"
    user = user_model(username=username, email=email, first_name=name.strip()[:150])
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # The same buyer's other order, a moment ago (the username is unique), or an account whose username is
        # this address but whose email is another.
        found = user_model.objects.filter(email__iexact=email).order_by("pk").first()
        if found is not None:
            return found
        user.username = f"buyer-{secrets.token_hex(8)}"
        user.save()
    return user


# What the shop may change once an order exists: where it goes, when, and how it was paid for. What was bought,
# what it cost, when, by whom and as what kind of buyer is fixed: claims, refunds and warranties rest on it.
ORDER_UPDATABLE_FIELDS = ("ship_by", "estimated_delivery", "delivery_name", "delivery_line1", "delivery_line2",
                          "delivery_postal_code", "delivery_city", "delivery_country", "language", "payment_method",
                          "payment_reference", "card_last4")
ORDER_FIXED_FIELDS = {"placed_at": "placed_at", "buyer_kind": "buyer_kind", "currency": "currency",
                      "shipping": "shipping_amount"}  # as the shop names them: the order's field
ITEM_FIELDS = ("title", "sku", "condition", "quantity", "unit_price", "serial_number", "is_digital", "is_consumable",
               "is_perishable", "expires_on")


def save_order(*, number: str, buyer: Any, seller: Seller, items: Iterable[dict[str, Any]],
               **fields: Any) -> tuple[Order, bool]:
    """The shop's order as it is now, idempotent on its number. Returns (the order, whether it was created).

    The first time a number is seen the order is created (create_order; only for an active seller). Afterwards the
    same order again changes nothing; of ORDER_UPDATABLE_FIELDS those given are updated (fields not given are kept);
    a different seller, buyer, item list (compared position by position) or any of ORDER_FIXED_FIELDS is refused
    (OrderError "conflict", naming the field). Raises OrderError."""
    items = [dict(item) for item in items]
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(number=number).first()
        if order is None:
            if seller.status != SellerStatus.ACTIVE:
                raise OrderError(_("Orders are taken only for active sellers; %(seller)s is not active.")
                                 % {"seller": seller.slug}, field="seller")
            _check_total(items, fields.get("shipping", Decimal("0.00")))
            try:
                with transaction.atomic():
                    return create_order(number=number, buyer=buyer, seller=seller, items=items, **fields), True
            except IntegrityError:
                order = Order.objects.select_for_update().filter(number=number).first()
                if order is None:
                    raise
                # Sent twice at the same moment: the other request created it; this one is an update.
        _check_unchanged(order, buyer=buyer, seller=seller, items=items, fields=fields)
        changed = [name for name in ORDER_UPDATABLE_FIELDS if name in fields and getattr(order, name) != fields[name]]
        for name in changed:
            setattr(order, name, fields[name])
        if changed:
            order.save(update_fields=changed)
    return order, False


def _check_total(items: list[dict[str, Any]], shipping: Any) -> None:
    """The order's total must fit its column (a database would refuse it, or round it)."""
    field = Order._meta.get_field("total")
    total = sum((Decimal(str(i["unit_price"])) * int(i.get("quantity", 1)) for i in items), Decimal("0.00"))
    if total + Decimal(str(shipping)) >= Decimal(10) ** (field.max_digits - field.decimal_places):
        raise OrderError(_("The order's total is larger than any order can be. Please check the prices and "
                           "quantities."), field="items")


def _model_field(model: type[Model], name: str) -> Field[Any, Any]:
    """One of the model's own fields (never the other side of a relation)."""
    return cast("Field[Any, Any]", model._meta.get_field(name))


def _check_unchanged(order: Order, *, buyer: Any, seller: Seller, items: list[dict[str, Any]],
                     fields: dict[str, Any]) -> None:
    def conflict(field: str, what: str | StrPromise) -> OrderError:
        return OrderError(_("Order %(number)s already exists with another %(what)s; it cannot change once the order "
                            "exists.") % {"number": order.number, "what": what}, code="conflict", field=field)

    if order.seller_id != seller.pk:
        raise conflict("seller", _("seller"))
    if order.buyer_id != buyer.pk:
        raise conflict("buyer.email", _("buyer"))
    for name, model_field in ORDER_FIXED_FIELDS.items():
        if name in fields and getattr(order, model_field) != fields[name]:
            raise conflict(name, _model_field(Order, model_field).verbose_name)
    existing = list(order.items.all())
    if len(existing) != len(items):
        raise conflict("items", _("list of items"))
    policy, _created = WarrantyPolicy.objects.get_or_create(seller_id=order.seller_id)
    market = market_for(order.delivery_country) if order.buyer_kind != BuyerKind.BUSINESS else None
    for index, (item, data) in enumerate(zip(existing, items, strict=True)):
        for name in ITEM_FIELDS:
            expected = data[name] if name in data else _model_field(OrderItem, name).get_default()
            if getattr(item, name) != expected:
                raise conflict(f"items.{index}.{name}", _("item %(position)d") % {"position": index + 1})
        # Months the shop gave are compared as create_order would have stored them; without, the seller's policy
        # decided when it was sold (and may have changed since).
        if data.get("warranty_months") is not None and \
                item.warranty_months != _item_warranty_months(data, policy, market):
            raise conflict(f"items.{index}.warranty_months", _("item %(position)d") % {"position": index + 1})


# --- shipments and tracking ------------------------------------------------------------------------------------


class TrackingError(DomainError):
    """A shipment or tracking change refused. The message is written for the person who entered it (a seller's
    staff, an agent); being a ValidationError, forms and the claim services can show it as is. `field` names the
    input it is about (carrier, tracking_number, shipped_at, delivered_at) where it is one."""

    def __init__(self, message: str, code: str = "invalid", *, field: str = "") -> None:
        super().__init__(message, code=code)
        self.field = field


# Who confirms a shipment: the carrier's own events and the platform (an agent, the marketplace's shop). What a
# seller enters stays seller-reported until one of them confirms it.
CONFIRMING_SOURCES = frozenset({ShipmentSource.CARRIER, ShipmentSource.AGENT, ShipmentSource.SHOP})
DELIVERED = "delivered"


class CarrierEventResult:
    """What became of a carrier event (`CarrierEvent.result`)."""

    APPLIED = "applied"
    IGNORED_OUT_OF_ORDER = "ignored_out_of_order"  # older than the shipment's latest applied event
    IGNORED_BEFORE_ORDER = "ignored_before_order"  # before the order was placed: not this order's parcel
    UNKNOWN_SHIPMENT = "unknown_shipment"  # no shipment with this carrier and number (yet)


def extend_warranty(*, item_id: int, days: int, warranty_until: dt.date | None = None,
                    trial_until: dt.date | None = None) -> OrderItem:
    """A justified claim's effect on an item (claims.services decides it): `days` more warranty, and after a repair
    or replacement a warranty and a trial that run at least until the given dates. Under the item's row lock, so
    two claims resolved at once both count."""
    item = OrderItem.objects.select_for_update().get(pk=item_id)
    item.warranty_extension_days += days
    fields = ["warranty_extension_days"]
    if warranty_until is not None:
        item.warranty_minimum_until = max(item.warranty_minimum_until or warranty_until, warranty_until)
        fields.append("warranty_minimum_until")
    if trial_until is not None:
        item.trial_minimum_until = max(item.trial_minimum_until or trial_until, trial_until)
        fields.append("trial_minimum_until")
    item.save(update_fields=fields)
    return item


def normalise_tracking_number(value: str) -> str:
    """How a tracking number is stored and matched: no whitespace anywhere, upper case ("jjd 0003 9000 7" and
    "JJD000390007" are one parcel)."""
    return "".join(str(value).split()).upper()


def normalise_carrier(value: str) -> str:
    """Carriers are matched case-insensitively; the name is kept as written, without stray whitespace."""
    return " ".join(str(value).split())


def shipment_of(*, order: Order, carrier: str, tracking_number: str) -> Shipment | None:
    """The order's shipment with this carrier and tracking number (matched as record_shipment matches them), if it
    has one."""
    carrier, number = normalise_carrier(carrier), normalise_tracking_number(tracking_number)
    return (order.shipments.alias(carrier_key=Lower("carrier"))
            .filter(carrier_key=carrier.lower(), tracking_number=number).first())


def _shipment_by_tracking(carrier: str, number: str) -> Shipment | None:
    """The shipment with this (carrier, tracking number), locked; the unique index answers it."""
    return (Shipment.objects.select_for_update(of=("self",)).select_related("order")
            .alias(carrier_key=Lower("carrier")).filter(carrier_key=carrier.lower(), tracking_number=number).first())


def _check_dates(order: Order, *, shipped_at: dt.datetime | None, delivered_at: dt.datetime | None) -> None:
    """Ship and delivery dates lie between the order's placing and now."""
    now = timezone.now()
    placed = formatting.day(order.placed_at)
    if shipped_at is not None:
        if shipped_at < order.placed_at:
            raise TrackingError(_("The parcel cannot have been handed to the carrier before the order was placed on "
                                  "%(placed)s. Please check the date.") % {"placed": placed}, field="shipped_at")
        if shipped_at > now:
            raise TrackingError(_("The date the parcel was handed to the carrier cannot be in the future."),
                                field="shipped_at")
    if delivered_at is not None:
        if delivered_at < order.placed_at or (shipped_at is not None and delivered_at < shipped_at):
            raise TrackingError(_("The delivery cannot be before the order was placed on %(placed)s or before the "
                                  "parcel was handed to the carrier. Please check the date.") % {"placed": placed},
                                field="delivered_at")
        if delivered_at > now:
            raise TrackingError(_("The delivery date cannot be in the future."), field="delivered_at")


def record_shipment(*, order: Order, carrier: str, tracking_number: str, shipped_at: dt.datetime | None,
                    delivered_at: dt.datetime | None = None, delivered_to_order_address: bool = False,
                    source: str = ShipmentSource.SELLER) -> Shipment:
    """A parcel of the order, as the seller, an agent, the shop or the carrier reports it.

    The tracking number is normalised. The same carrier and number on this order is that shipment again (updated,
    never duplicated); on another order it is refused, so nobody can borrow another buyer's parcel. What the seller
    enters stays seller-reported (`confirmed_at` empty) until a carrier event confirms it, and changes nothing a
    carrier or the platform already confirmed. Raises TrackingError with a sentence for the person."""
    if source not in ShipmentSource.values:
        raise ValueError(f"unknown shipment source {source!r}")
    carrier, number = normalise_carrier(carrier), normalise_tracking_number(tracking_number)
    if not carrier or not number:
        raise TrackingError(_("Please give both the carrier and the tracking number."),
                            field="tracking_number" if carrier else "carrier")
    if len(carrier) > max_length(Shipment, "carrier") or \
            len(number) > max_length(Shipment, "tracking_number"):
        raise TrackingError(_("The carrier or the tracking number is longer than any we know. Please check it."),
                            field="tracking_number" if len(carrier) <= max_length(Shipment, "carrier")
                            else "carrier")
    _check_dates(order, shipped_at=shipped_at, delivered_at=delivered_at)
    confirming = source in CONFIRMING_SOURCES
    now = timezone.now()
    with transaction.atomic():
        shipment, created = _shipment_by_tracking(carrier, number), False
        if shipment is None:
            try:
                with transaction.atomic():
                    shipment = Shipment.objects.create(
                        order=order, carrier=carrier, tracking_number=number, shipped_at=shipped_at,
                        delivered_at=delivered_at,
                        delivered_to_order_address=delivered_at is not None and delivered_to_order_address,
                        source=source, confirmed_at=now if confirming else None,
                        last_event_at=(delivered_at or shipped_at) if source == ShipmentSource.CARRIER else None)
                created = True
            except IntegrityError:
                shipment = _shipment_by_tracking(carrier, number)  # entered by someone else a moment ago
                if shipment is None:
                    raise
        if shipment.order_id != order.pk:
            raise TrackingError(_("This tracking number is already registered for another order. Please check it."),
                                code="tracking_taken", field="tracking_number")
        if not created:
            if shipment.confirmed_at is not None and not confirming:
                return shipment  # the carrier's (or the platform's) word stands; the seller's entry changes none of it
            if shipped_at is not None:
                shipment.shipped_at = shipped_at
            if delivered_at is not None:
                shipment.delivered_at, shipment.delivered_to_order_address = delivered_at, delivered_to_order_address
            shipment.source = source
            if confirming and shipment.confirmed_at is None:
                shipment.confirmed_at = now
            shipment.save()
    return shipment


def update_tracking(*, shipment: Shipment, delivered_at: dt.datetime | None, delivered_to_order_address: bool,
                    source: str, occurred_at: dt.datetime | None = None) -> Shipment:
    """A tracking update from the carrier, an agent, the shop or the seller. The carrier and the platform confirm
    the shipment; a seller may change only a shipment nobody confirmed yet, and it stays seller-reported.
    `occurred_at` is the carrier's time of the event (kept as the shipment's latest event)."""
    if source not in ShipmentSource.values:
        raise ValueError(f"unknown shipment source {source!r}")
    confirming = source in CONFIRMING_SOURCES
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update(of=("self",)).select_related("order").get(pk=shipment.pk)
        if shipment.confirmed_at is not None and not confirming:
            raise TrackingError(_("The carrier has confirmed this shipment, so its tracking can no longer be changed "
                                  "by hand. Please contact support if it is wrong."), code="state")
        _check_dates(shipment.order, shipped_at=None, delivered_at=delivered_at)
        shipment.delivered_at = delivered_at
        shipment.delivered_to_order_address = delivered_at is not None and delivered_to_order_address
        shipment.source = source
        if confirming and shipment.confirmed_at is None:
            shipment.confirmed_at = timezone.now()
        if source == ShipmentSource.CARRIER and occurred_at is not None:
            shipment.last_event_at = max(occurred_at, shipment.last_event_at or occurred_at)
        if confirming and delivered_at is not None and shipment.shipped_at and shipment.shipped_at > delivered_at:
            shipment.shipped_at = delivered_at  # it cannot have left after it arrived
        shipment.save()
    return shipment


def _apply_carrier_event_locked(shipment: Shipment, *, status: str, occurred_at: dt.datetime,
                                delivered_to_order_address: bool) -> str:
    """One carrier event on a shipment the caller holds locked. The latest event (by the carrier's clock)
    describes the parcel: "delivered" is a delivery (to the order's address or not, as the carrier says); any
    later event of another status (delivery_failed, returned, back in transit) withdraws it."""
    if occurred_at < shipment.order.placed_at:
        return CarrierEventResult.IGNORED_BEFORE_ORDER
    if shipment.last_event_at is not None and occurred_at < shipment.last_event_at:
        return CarrierEventResult.IGNORED_OUT_OF_ORDER
    if shipment.confirmed_at is None or shipment.shipped_at is None:
        # The carrier's first word replaces the seller's date: it had the parcel by then, and only
        # carrier-confirmed dates move a receipt date.
        shipment.shipped_at = occurred_at
        shipment.confirmed_at = shipment.confirmed_at or timezone.now()
    shipment.last_event_at = occurred_at
    shipment.source = ShipmentSource.CARRIER
    if status == DELIVERED:
        shipment.delivered_at, shipment.delivered_to_order_address = occurred_at, delivered_to_order_address
    else:
        shipment.delivered_at, shipment.delivered_to_order_address = None, False
    shipment.save()
    return CarrierEventResult.APPLIED


def apply_carrier_update(*, tracking_number: str, delivered_at: dt.datetime | None = None,
                         delivered_to_order_address: bool = False, carrier: str | None = None,
                         status: str | None = None, occurred_at: dt.datetime | None = None) -> list[Shipment]:
    """A carrier's tracking event for its shipment, matched on (carrier, normalised tracking number); without a
    carrier (older callers) on the number alone. Without a status, a `delivered_at` is a delivery at that time and
    none withdraws one. Returns the shipments it changed: none when unknown, before the order or out of order."""
    status = status or (DELIVERED if delivered_at else "")
    occurred_at = occurred_at or delivered_at or timezone.now()
    number = normalise_tracking_number(tracking_number)
    with transaction.atomic():
        shipments = Shipment.objects.select_for_update(of=("self",)).select_related("order").filter(
            tracking_number=number)
        if carrier is not None:
            shipments = shipments.alias(carrier_key=Lower("carrier")).filter(
                carrier_key=normalise_carrier(carrier).lower())
        return [shipment for shipment in shipments
                if _apply_carrier_event_locked(shipment, status=status, occurred_at=occurred_at,
                                               delivered_to_order_address=delivered_to_order_address)
                == CarrierEventResult.APPLIED]


def settle_carrier_event(*, event: CarrierEvent, result: str) -> CarrierEvent:
    """What became of an event no shipment of an order matched, as the app that matched it says (claims matches a
    buyer's return parcel by its carrier and tracking number): it is then no longer retried as unknown."""
    event.shipment = None
    event.result = result
    event.save(update_fields=["shipment", "result"])
    return event


def record_carrier_event(*, event_id: str, carrier: str, tracking_number: str, status: str, occurred_at: dt.datetime,
                         delivered_to_order_address: bool = False) -> tuple[CarrierEvent, bool]:
    """A carrier webhook event, handled once per event id. Returns (the event, whether it was handled now); a
    repeat changes nothing, except that an event we could not match (no such shipment yet) is matched again when
    the carrier retries it. The event's `result` says what became of it (CarrierEventResult)."""
    carrier, number = normalise_carrier(carrier), normalise_tracking_number(tracking_number)
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = CarrierEvent.objects.create(event_id=event_id, carrier=carrier, tracking_number=number,
                                                    status=status, occurred_at=occurred_at)
        except IntegrityError:
            event = CarrierEvent.objects.select_for_update().get(event_id=event_id)
            if event.result != CarrierEventResult.UNKNOWN_SHIPMENT:
                return event, False
        shipment = _shipment_by_tracking(event.carrier, event.tracking_number)
        if shipment is None:
            event.result = CarrierEventResult.UNKNOWN_SHIPMENT
        else:
            event.shipment = shipment
            event.result = _apply_carrier_event_locked(
                shipment, status=event.status, occurred_at=event.occurred_at or occurred_at,
                delivered_to_order_address=delivered_to_order_address)
        event.save(update_fields=["shipment", "result"])
    return event, True

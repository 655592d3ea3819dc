"""The bodies of the shop's endpoints (api.shop): an order with its items and shipments, a shipment, a refund
confirmation. Every string is one line of text of the column's length (a database would refuse more, or control
characters); amounts are decimal strings or numbers with at most two places; times carry their UTC offset."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from orders.models import BuyerKind, Condition, PaymentMethod


def _one_line(value: str) -> str:
    # Control characters (NUL above all, which PostgreSQL refuses) and lone surrogates have no place in a name,
    # an address or a number.
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise ValueError(_("Control characters are not allowed here."))
    return value


def _email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ValueError(_("Enter a valid email address.")) from exc
    return value


def _language(value: str) -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    if value not in codes:
        raise ValueError(_("The language is one of %(codes)s.") % {"codes": ", ".join(codes)})
    return value


# The dates a shop can mean. Far from the ends of Python's calendar, where converting to UTC or the claims' date
# arithmetic (opening windows, warranties) would overflow.
EARLIEST = dt.date(1970, 1, 1)
LATEST = dt.date(2999, 12, 31)


def _in_range(value: dt.date) -> dt.date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(_("The date must lie between %(earliest)s and %(latest)s.")
                         % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()})
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    _in_range(value.date())
    return value.astimezone(dt.UTC)


def _text(max_length: int, min_length: int = 0) -> object:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     AfterValidator(_one_line)]


if TYPE_CHECKING:  # _text(): strings, with constraints the type checker does not know
    Name: TypeAlias = str
    Title: TypeAlias = str
    Code: TypeAlias = str
    Carrier: TypeAlias = str
    TrackingNumber: TypeAlias = str
    AddressLine: TypeAlias = str
    OptionalAddressLine: TypeAlias = str
    PostalCode: TypeAlias = str
    City: TypeAlias = str
    Reference: TypeAlias = str
    Reason: TypeAlias = str
else:
    Name = _text(150)
    Title = _text(300, 1)
    Code = _text(64)  # a sku, a serial number or IMEI
    Carrier = _text(100, 1)  # the carrier and the tracking number are normalised, then checked against their columns
    TrackingNumber = _text(100, 1)
    AddressLine = _text(200, 1)
    OptionalAddressLine = _text(200)
    PostalCode = _text(20, 1)
    City = _text(100, 1)
    Reference = _text(100)
    Reason = _text(500)


Moment = Annotated[AwareDatetime, AfterValidator(_utc)]  # with its UTC offset; kept in UTC
Day = Annotated[dt.date, AfterValidator(_in_range)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, allow_inf_nan=False,
                                 description='An amount: a decimal string ("12.50") or a number, at most two places.')]
OrderNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                               pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254),
                  AfterValidator(_one_line), AfterValidator(_email)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z]{3}$")]
Country = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z]{2}$")]
Language = Annotated[str, StringConstraints(max_length=10), AfterValidator(_language)]
# The model's own choices, so the schema and the database never disagree.
if TYPE_CHECKING:  # Literals made at run time from the values: to the type checker, strings
    BuyerKindValue: TypeAlias = str
    ConditionValue: TypeAlias = str
    PaymentMethodValue: TypeAlias = str
else:
    BuyerKindValue = Literal[tuple(BuyerKind.values)]
    ConditionValue = Literal[tuple(Condition.values)]
    PaymentMethodValue = Literal[tuple(PaymentMethod.values)]
# Bounds of the columns (a positive integer, a small positive integer).
MAX_QUANTITY = 2_147_483_647
MAX_WARRANTY_MONTHS = 32_767
# Bounds of one request, so that one order cannot occupy a worker for long.
MAX_ITEMS = 500
MAX_SHIPMENTS = 100


class ShopBuyerIn(Schema):
    email: Email = Field(description="Who bought: found by this address (any case), or a new account is made for it "
                                     "(no password: the buyer chooses one with “Forgot your password?”).")
    name: Name = ""


class ShopItemIn(Schema):
    sku: Code = ""
    title: Title
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    unit_price: Money
    condition: ConditionValue
    serial_number: Code = Field("", description="Serial number or IMEI.")
    warranty_months: int | None = Field(
        None, ge=0, le=MAX_WARRANTY_MONTHS,
        description="Leave out to copy the seller's warranty for the item's condition; a consumer never gets less "
                    "than the law of the delivery country.")
    is_digital: bool = False
    is_consumable: bool = False
    is_perishable: bool = False
    expires_on: Day | None = Field(None, description="Expiry or best-before date.")


class ShopShipmentIn(Schema):
    carrier: Carrier
    tracking_number: TrackingNumber
    shipped_at: Moment | None = Field(None, description="When the carrier took the parcel.")
    delivered_at: Moment | None = Field(
        None, description="When it was delivered. On a known shipment, null withdraws a delivery; left out, it is "
                          "kept.")
    delivered_to_order_address: bool = False


class ShopOrderIn(Schema):
    number: OrderNumber
    buyer: ShopBuyerIn
    seller: Slug = Field(description="The seller's slug.")
    placed_at: Moment
    buyer_kind: BuyerKindValue
    currency: Currency
    shipping: Money = Field(description="The part of the total that paid for shipping.")
    delivery_name: AddressLine
    delivery_line1: AddressLine
    delivery_line2: OptionalAddressLine = ""
    delivery_postal_code: PostalCode
    delivery_city: City
    delivery_country: Country
    language: Language = Field(description="The language the buyer shopped in: their emails are written in it.")
    payment_method: PaymentMethodValue
    payment_reference: Reference = ""
    card_last4: Annotated[str, StringConstraints(pattern=r"^([0-9]{4})?$")] = Field(
        "", description="The card's last four digits, never more.")
    ship_by: Day | None = None
    estimated_delivery: Day | None = None
    items: list[ShopItemIn] = Field(min_length=1, max_length=MAX_ITEMS)
    shipments: list[ShopShipmentIn] = Field(default_factory=list, max_length=MAX_SHIPMENTS)


class ShopBuyerOut(Schema):
    email: str
    name: str


class ShopItemOut(Schema):
    id: int
    sku: str
    title: str
    condition: str
    quantity: int
    unit_price: str
    serial_number: str
    warranty_months: int
    warranty_until: dt.date | None = Field(description="The warranty's last day; empty until the buyer received "
                                                       "the goods (the warranty runs from then).")
    is_digital: bool
    is_consumable: bool
    is_perishable: bool
    expires_on: dt.date | None
    refunded_amount: str


class ShopShipmentOut(Schema):
    id: int
    carrier: str
    tracking_number: str = Field(description="As stored: without spaces, in upper case.")
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None
    delivered_to_order_address: bool
    source: str = Field(description="Who reported it last: carrier, seller, agent or shop.")
    confirmed: bool = Field(description="Confirmed by the carrier or the platform; what a seller only reported "
                                        "closes no claim.")


class ShopOrderOut(Schema):
    number: str
    seller: str
    buyer: ShopBuyerOut
    buyer_kind: str
    placed_at: dt.datetime
    currency: str
    total: str
    shipping: str
    ship_by: dt.date | None
    estimated_delivery: dt.date | None
    delivery_name: str
    delivery_line1: str
    delivery_line2: str
    delivery_postal_code: str
    delivery_city: str
    delivery_country: str
    language: str
    payment_method: str
    payment_reference: str
    card_last4: str
    received_on: dt.date | None = Field(description="The day the buyer received the goods, by confirmed tracking.")
    items: list[ShopItemOut]
    shipments: list[ShopShipmentOut]


class RefundConfirmationIn(Schema):
    status: Literal["paid", "failed"]
    reference: Reference = Field("", description="The payment provider's reference; needed when paid.")
    reason: Reason = Field("", description="Why the payout failed; needed when failed.")


class RefundConfirmationOut(Schema):
    refund_id: str = Field(description='"refund_<number>"')
    status: str
    amount: str
    currency: str
    reference: str
    failure_reason: str
    claim: str = Field(description="The claim's number.")

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class BuyerKind(models.TextChoices):
    CONSUMER = "consumer", _("Consumer")
    BUSINESS = "business", _("Business")


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    PAYPAL = "paypal", _("PayPal")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    OTHER = "other", _("Other")


class Order(models.Model):
    number = models.CharField(_("order number"), max_length=32, unique=True)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT,
                              related_name="orders")
    seller = models.ForeignKey("sellers.Seller", verbose_name=_("seller"), on_delete=models.PROTECT,
                               related_name="orders")
    buyer_kind = models.CharField(_("buyer kind"), max_length=10, choices=BuyerKind.choices, default=BuyerKind.CONSUMER)
    placed_at = models.DateTimeField(_("placed at"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2,
                                validators=[MinValueValidator(Decimal("0"))])
    # The part of `total` that paid for shipping (total = items + shipping). A claim on every item of the order
    # may refund it; `shipping_refunded` is what has been, kept within it by the database.
    shipping_amount = models.DecimalField(_("shipping"), max_digits=12, decimal_places=2, default=Decimal("0.00"),
                                          validators=[MinValueValidator(Decimal("0"))])
    shipping_refunded = models.DecimalField(_("shipping refunded"), max_digits=12, decimal_places=2,
                                            default=Decimal("0.00"))
    ship_by = models.DateField(_("dispatch by"), null=True, blank=True)
    estimated_delivery = models.DateField(_("estimated delivery"), null=True, blank=True)

    delivery_name = models.CharField(_("delivery name"), max_length=200)
    delivery_line1 = models.CharField(_("delivery line 1"), max_length=200)
    delivery_line2 = models.CharField(_("delivery line 2"), max_length=200, blank=True)
    delivery_postal_code = models.CharField(_("delivery postal code"), max_length=20)
    delivery_city = models.CharField(_("delivery city"), max_length=100)
    delivery_country = models.CharField(_("delivery country"), max_length=2, default="DE")

    language = models.CharField(
        _("buyer's language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE,
        help_text=_("The language the buyer shopped in; their emails about this order are written in it."),
    )
    payment_method = models.CharField(_("payment method"), max_length=20, choices=PaymentMethod.choices,
                                      default=PaymentMethod.CARD)
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    # What the buyer recognises their payment method by ("card ending 4242"); never a full card number.
    card_last4 = models.CharField(_("card ending"), max_length=4, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at"]
        indexes = [models.Index(fields=["buyer", "-placed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(shipping_refunded__gte=0) & Q(shipping_refunded__lte=F("shipping_amount")),
                name="shipping_refunded_within_paid",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def delivery_address(self) -> str:
        lines = [self.delivery_name, self.delivery_line1, self.delivery_line2,
                 f"{self.delivery_postal_code} {self.delivery_city}", self.delivery_country]
        return "\n".join(line for line in lines if line)

    def confirmed_shipments(self) -> list[Shipment]:
        """The shipments a carrier event or the platform confirmed. Only these close claims and move dates: what
        a seller merely reported proves nothing by itself."""
        return [s for s in self.shipments.all() if s.confirmed_at is not None]

    def delivered_at(self) -> dt.datetime | None:
        """When the buyer received the goods: the last confirmed shipment delivered to the order's address."""
        times = [
            s.delivered_at for s in self.confirmed_shipments() if s.delivered_at and s.delivered_to_order_address
        ]
        return max(times) if times else None

    def handed_to_carrier_at(self) -> dt.datetime | None:
        """The first confirmed hand-over to a carrier."""
        times = [s.shipped_at for s in self.confirmed_shipments() if s.shipped_at]
        return min(times) if times else None

    def is_delivered_to_order_address(self) -> bool:
        """Confirmed tracking shows a delivery to the order's address."""
        return any(s.delivered_at and s.delivered_to_order_address for s in self.confirmed_shipments())


class Condition(models.TextChoices):
    NEW = "new", _("New")
    LIKE_NEW = "like_new", _("Like new")
    USED = "used", _("Used")


class OrderItem(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="items")
    title = models.CharField(_("title"), max_length=300)
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    condition = models.CharField(_("condition"), max_length=10, choices=Condition.choices, default=Condition.NEW)
    quantity = models.PositiveIntegerField(_("quantity"), default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2,
                                     validators=[MinValueValidator(Decimal("0"))])
    serial_number = models.CharField(_("serial number / IMEI"), max_length=64, blank=True)
    warranty_months = models.PositiveSmallIntegerField(
        _("warranty months"), help_text=_("Copied from the seller's warranty policy when the order was placed.")
    )
    is_digital = models.BooleanField(_("is digital"), default=False)
    is_consumable = models.BooleanField(_("is consumable"), default=False)
    # Warranty claim policy: "For perishable goods, defect liability claims must be raised no later than the day
    # following the buyer's receipt of the order"; goods with an expiry or minimum shelf-life date "no later than"
    # that date.
    is_perishable = models.BooleanField(_("perishable"), default=False)
    expires_on = models.DateField(_("expiry or best-before date"), null=True, blank=True)
    # Set by resolved claims (see claims.services): the warranty never ends before this date after a
    # repair or replacement, and it is pushed back by the days the item spent in justified claims.
    warranty_minimum_until = models.DateField(_("warranty minimum until"), null=True, blank=True)
    warranty_extension_days = models.PositiveIntegerField(_("warranty extension days"), default=0)
    trial_minimum_until = models.DateField(_("trial minimum until"), null=True, blank=True)
    # Everything refunded for this item across all claims. Written only by orders.services.book_refund, in the
    # transaction that records the refund; the database refuses more than was paid for the item.
    refunded_amount = models.DecimalField(_("refunded amount"), max_digits=12, decimal_places=2,
                                          default=Decimal("0.00"))

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="item_quantity_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("unit_price") * F("quantity")),
                name="item_refunded_within_paid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def refundable_amount(self) -> Decimal:
        """What is left to refund on this item: price × quantity paid minus every refund for it so far."""
        return max(self.line_total - self.refunded_amount, Decimal("0.00"))


class ShipmentSource(models.TextChoices):
    CARRIER = "carrier", _("Carrier webhook")
    SELLER = "seller", _("Seller")
    AGENT = "agent", _("Support agent")
    SHOP = "shop", _("The marketplace's shop")


class Shipment(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(_("carrier"), max_length=50)
    tracking_number = models.CharField(_("tracking number"), max_length=64, db_index=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    delivered_to_order_address = models.BooleanField(_("delivered to order address"), default=False)
    source = models.CharField(_("source"), max_length=10, choices=ShipmentSource.choices, default=ShipmentSource.SELLER)
    # Set when a carrier event (or the platform: an agent, the shop) confirmed the shipment. Until then what the
    # seller entered is only seller-reported: it closes no claim by itself and moves no receipt date.
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    # When the latest carrier event applied to this shipment happened (the carrier's clock): older events that
    # arrive later are ignored.
    last_event_at = models.DateTimeField(_("last event at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["shipped_at", "id"]
        constraints = [
            # One parcel belongs to one order: a seller cannot claim another buyer's parcel as its own.
            models.UniqueConstraint(Lower("carrier"), "tracking_number", name="one_shipment_per_tracking_number"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class CarrierEvent(models.Model):
    """Every carrier webhook event received, by its id: a repeat is acknowledged and ignored."""

    event_id = models.CharField(_("event ID"), max_length=100, unique=True)
    carrier = models.CharField(_("carrier"), max_length=50)
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    status = models.CharField(_("status"), max_length=30)
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    shipment = models.ForeignKey(Shipment, verbose_name=_("shipment"), null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="events")
    result = models.CharField(_("result"), max_length=30, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("carrier event")
        verbose_name_plural = _("carrier events")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.status} {self.carrier} {self.tracking_number}"

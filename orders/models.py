from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
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
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    seller = models.ForeignKey("sellers.Seller", on_delete=models.PROTECT, related_name="orders")
    buyer_kind = models.CharField(max_length=10, choices=BuyerKind.choices, default=BuyerKind.CONSUMER)
    placed_at = models.DateTimeField(_("placed at"))
    currency = models.CharField(max_length=3, default="EUR")
    total = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    ship_by = models.DateField(_("dispatch by"), null=True, blank=True)
    estimated_delivery = models.DateField(_("estimated delivery"), null=True, blank=True)

    delivery_name = models.CharField(max_length=200)
    delivery_line1 = models.CharField(max_length=200)
    delivery_line2 = models.CharField(max_length=200, blank=True)
    delivery_postal_code = models.CharField(max_length=20)
    delivery_city = models.CharField(max_length=100)
    delivery_country = models.CharField(max_length=2, default="DE")

    language = models.CharField(
        _("buyer's language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE,
        help_text=_("The language the buyer shopped in; their emails about this order are written in it."),
    )
    payment_method = models.CharField(max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.CARD)
    payment_reference = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-placed_at"]
        indexes = [models.Index(fields=["buyer", "-placed_at"])]

    def __str__(self) -> str:
        return self.number

    @property
    def delivery_address(self) -> str:
        lines = [self.delivery_name, self.delivery_line1, self.delivery_line2,
                 f"{self.delivery_postal_code} {self.delivery_city}", self.delivery_country]
        return "\n".join(line for line in lines if line)

    def delivered_at(self) -> dt.datetime | None:
        """When the buyer received the goods: the last shipment delivered to the order's address."""
        times = [
            s.delivered_at for s in self.shipments.all() if s.delivered_at and s.delivered_to_order_address
        ]
        return max(times) if times else None

    def handed_to_carrier_at(self) -> dt.datetime | None:
        times = [s.shipped_at for s in self.shipments.all() if s.shipped_at]
        return min(times) if times else None

    def is_delivered_to_order_address(self) -> bool:
        return any(s.delivered_at and s.delivered_to_order_address for s in self.shipments.all())


class Condition(models.TextChoices):
    NEW = "new", _("New")
    LIKE_NEW = "like_new", _("Like new")
    USED = "used", _("Used")


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    title = models.CharField(max_length=300)
    sku = models.CharField(max_length=64, blank=True)
    condition = models.CharField(max_length=10, choices=Condition.choices, default=Condition.NEW)
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    serial_number = models.CharField(_("serial number / IMEI"), max_length=64, blank=True)
    warranty_months = models.PositiveSmallIntegerField(
        help_text=_("Copied from the seller's warranty policy when the order was placed.")
    )
    is_digital = models.BooleanField(default=False)
    is_consumable = models.BooleanField(default=False)
    # Set by resolved claims (see claims.services): the warranty never ends before this date after a
    # repair or replacement, and it is pushed back by the days the item spent in justified claims.
    warranty_minimum_until = models.DateField(null=True, blank=True)
    warranty_extension_days = models.PositiveIntegerField(default=0)
    trial_minimum_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gte=1), name="item_quantity_positive")]

    def __str__(self) -> str:
        return self.title

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class ShipmentSource(models.TextChoices):
    CARRIER = "carrier", _("Carrier webhook")
    SELLER = "seller", _("Seller")
    AGENT = "agent", _("Support agent")


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(max_length=50)
    tracking_number = models.CharField(max_length=64, db_index=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_to_order_address = models.BooleanField(default=False)
    source = models.CharField(max_length=10, choices=ShipmentSource.choices, default=ShipmentSource.SELLER)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shipped_at", "id"]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"

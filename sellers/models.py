from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_fsm import FSMField, FSMModelMixin

from core.formatting import money_text
from core.fsm import transition
from core.models import AppendOnlyModel
from markets.selectors import market_for


class SellerStatus(models.TextChoices):
    PENDING = "pending", _("Pending vetting")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class Seller(FSMModelMixin, models.Model):
    display_name = models.CharField(_("display name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    legal_name = models.CharField(_("legal name"), max_length=200)
    registration_number = models.CharField(_("business registration number"), max_length=100, blank=True)
    tax_id = models.CharField(_("tax id"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="DE")
    email = models.EmailField(_("contact email"), blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE,
                                help_text=_("Emails to the seller's staff are written in this language."))
    is_platform = models.BooleanField(
        _("sold by the marketplace"), default=False, help_text=_("First-party: the platform itself sells.")
    )
    status = FSMField(_("status"), choices=SellerStatus.choices, default=SellerStatus.PENDING, protected=True)

    identity_verified_at = models.DateTimeField(_("identity verified at"), null=True, blank=True)
    identity_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("identity verified by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+"
    )
    registration_verified_at = models.DateTimeField(_("registration verified at"), null=True, blank=True)
    registration_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("registration verified by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+"
    )
    tax_verified_at = models.DateTimeField(_("tax verified at"), null=True, blank=True)
    tax_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("tax verified by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+"
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    suspension_reason = models.TextField(_("suspension reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("seller")
        verbose_name_plural = _("sellers")
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_vetted(self) -> bool:
        return bool(self.identity_verified_at and self.registration_verified_at and self.tax_verified_at)

    @property
    def trial_days(self) -> int:
        """Days after receipt in which a buyer may return an item for any reason: the seller's warranty policy,
        else the marketplace default (settings.TRIAL_DAYS_DEFAULT)."""
        try:
            return self.warranty_policy.trial_days
        except WarrantyPolicy.DoesNotExist:
            return settings.TRIAL_DAYS_DEFAULT

    def _is_vetted(self) -> bool:
        return self.is_vetted

    @transition(field=status, source=SellerStatus.PENDING, target=SellerStatus.ACTIVE, conditions=[_is_vetted])
    def activate(self) -> None:
        self.activated_at = timezone.now()

    @transition(field=status, source=SellerStatus.ACTIVE, target=SellerStatus.SUSPENDED)
    def suspend(self, *, reason: str) -> None:
        self.suspended_at = timezone.now()
        self.suspension_reason = reason

    @transition(field=status, source=SellerStatus.SUSPENDED, target=SellerStatus.ACTIVE)
    def reinstate(self) -> None:
        self.suspended_at = None
        self.suspension_reason = ""

    def ledger_balance(self) -> Decimal:
        """What the seller owes the platform (positive) or is owed (negative)."""
        total = self.ledger_entries.aggregate(total=Sum("amount"))["total"]
        return total if total is not None else Decimal("0.00")


class WarrantyPolicy(models.Model):
    """A seller's warranty and trial terms. Warranty is never under the marketplace minimum (12 months)."""

    seller = models.OneToOneField(Seller, verbose_name=_("seller"), on_delete=models.CASCADE,
                                  related_name="warranty_policy")
    months_new = models.PositiveSmallIntegerField(_("months new"), default=24, validators=[MinValueValidator(12)])
    months_like_new = models.PositiveSmallIntegerField(_("months like new"), default=21,
                                                       validators=[MinValueValidator(12)])
    months_used = models.PositiveSmallIntegerField(_("months used"), default=12, validators=[MinValueValidator(12)])
    business_months = models.PositiveSmallIntegerField(
        _("business months"), default=0,
        help_text=_("Warranty granted to business buyers. By default they get none (commercial code)."),
    )
    trial_days = models.PositiveSmallIntegerField(_("trial days"), default=30, validators=[MinValueValidator(30)])
    return_address = models.TextField(_("return address"), blank=True)
    # Warranty claim policy 3.1: claimed goods may be brought to and collected from the seller's premises; goods not
    # collected within the free period pay a storage fee a day.
    offers_collection = models.BooleanField(_("buyers may collect claimed goods in person"), default=False)
    storage_fee_per_day = models.DecimalField(_("storage fee per day"), max_digits=6, decimal_places=2,
                                              default=Decimal("0.50"), validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        verbose_name = _("warranty policy")
        verbose_name_plural = _("warranty policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(months_new__gte=12) & Q(months_like_new__gte=12) & Q(months_used__gte=12),
                name="warranty_at_least_12_months",
            ),
            models.CheckConstraint(condition=Q(trial_days__gte=30), name="trial_at_least_30_days"),
        ]

    def __str__(self) -> str:
        return f"Warranty policy of {self.seller}"

    def months_for(self, condition: str) -> int:
        return {"new": self.months_new, "like_new": self.months_like_new, "used": self.months_used}[condition]

    def clean(self) -> None:
        """SPEC section 10: "Consumer law sets floors that a seller's policy may only exceed". The floor is the
        statutory warranty of the seller's own country's market (markets.selectors.market_for); an order delivered
        elsewhere gets at least that market's months as well (orders.services.create_order)."""
        super().clean()
        try:
            country = self.seller.country
        except Seller.DoesNotExist:
            return
        market = market_for(country)
        errors = {}
        for field, condition in (("months_new", "new"), ("months_like_new", "like_new"), ("months_used", "used")):
            floor = market.statutory_months(condition)
            months = getattr(self, field)
            if months is not None and months < floor:
                errors[field] = ngettext(
                    "A seller's policy may only be more generous than its market: the law of %(market)s gives "
                    "%(months)d month of warranty for these goods.",
                    "A seller's policy may only be more generous than its market: the law of %(market)s gives "
                    "%(months)d months of warranty for these goods.", floor) % {"market": market.name, "months": floor}
        if errors:
            raise ValidationError(errors)


class MembershipRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    STAFF = "staff", _("Staff")


class SellerMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                             related_name="seller_memberships")
    seller = models.ForeignKey(Seller, verbose_name=_("seller"), on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=MembershipRole.choices, default=MembershipRole.STAFF)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("seller membership")
        verbose_name_plural = _("seller memberships")
        constraints = [models.UniqueConstraint(fields=["user", "seller"], name="one_membership_per_seller")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) at {self.seller}"


class LedgerKind(models.TextChoices):
    REFUND_RECOVERY = "refund_recovery", _("Refund recovered from the seller")
    DISPUTE_FINE = "dispute_fine", _("Payment-provider dispute fine")
    ADJUSTMENT = "adjustment", _("Adjustment")
    # Money that moved between the seller and the platform: a payment received from the seller, or what it owed
    # offset against its payouts. Negative: it lowers what the seller owes.
    SETTLEMENT = "settlement", _("Settlement")


class LedgerEntry(AppendOnlyModel):
    """Money between a seller and the platform. Positive: the seller owes the platform."""

    seller = models.ForeignKey(Seller, verbose_name=_("seller"), on_delete=models.PROTECT,
                               related_name="ledger_entries")
    kind = models.CharField(_("kind"), max_length=20, choices=LedgerKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    claim = models.ForeignKey(
        "claims.Claim", verbose_name=_("claim"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="ledger_entries"
    )
    refund = models.OneToOneField(
        "claims.Refund", verbose_name=_("refund"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="ledger_entry"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("ledger entry")
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("ledger entries")
        constraints = [
            # A refund is recovered at most once (OneToOne above); a lost dispute is fined once.
            models.UniqueConstraint(
                fields=["claim"], condition=Q(kind="dispute_fine"), name="one_dispute_fine_per_claim"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {money_text(self.amount, self.currency)} ({self.seller})"


class CannedReply(models.Model):
    """A seller's own reply text, picked on the claim page and edited before sending."""

    seller = models.ForeignKey(Seller, verbose_name=_("seller"), on_delete=models.CASCADE,
                               related_name="canned_replies")
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title", "id"]
        constraints = [models.UniqueConstraint(fields=["seller", "title"], name="one_canned_reply_per_title")]

    def __str__(self) -> str:
        return self.title

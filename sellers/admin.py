"""Sellers in the support console: vetting (verify identity, registration and tax data; activate; suspend;
reinstate) and the ledger. Status and vetting records move only through sellers.services, from action pages
(core/console.py); the ledger is read-only and corrected by adjustments, which are new entries. The finance
team records settlements (a payment received from the seller, or what it owed offset against its payouts) here too.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import formatting, roles
from core.console import ActionForm, ConsoleAction, ConsoleActionsMixin, boolean_words, person_label, yes_no

from . import services
from .models import LedgerEntry, Seller, SellerMembership, SellerStatus, WarrantyPolicy
from .services import CURRENCY_CODE, SETTLEMENT_NOTE_LIMIT, SettlementMethod

LEDGER_ON_PAGE = 20


class SuspendForm(ActionForm):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=gettext_lazy("Recorded on the seller. Its claims still with the seller go to the platform at once."),
    )


class AdjustmentForm(ActionForm):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"),
        max_digits=12,
        decimal_places=2,
        help_text=gettext_lazy("Positive: the seller owes the platform more. Negative: the platform owes the seller."),
    )
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, initial="EUR")
    note = forms.CharField(
        label=gettext_lazy("Why"), max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if not CURRENCY_CODE.fullmatch(currency):
            raise forms.ValidationError(gettext_lazy("Enter a three-letter currency code such as EUR."))
        return currency


class SettlementForm(ActionForm):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount received"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=gettext_lazy("What the seller paid, or what was offset, as a positive number. It is booked as a "
                               "negative entry: it lowers what the seller owes."),
    )
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, initial="EUR")
    method = forms.ChoiceField(label=gettext_lazy("How"), choices=SettlementMethod.choices,
                               initial=SettlementMethod.PAYMENT_RECEIVED, widget=forms.RadioSelect)
    note = forms.CharField(
        label=gettext_lazy("Note or payment reference"), max_length=SETTLEMENT_NOTE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=gettext_lazy("The seller sees it on its statement, e.g. the bank transfer's reference."),
    )

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if not CURRENCY_CODE.fullmatch(currency):
            raise forms.ValidationError(gettext_lazy("Enter a three-letter currency code such as EUR."))
        return currency


def _verify(step: str) -> Callable[[Seller, Any, dict[str, Any]], str]:
    words = {
        "identity": gettext_lazy("Verified the identity."),
        "registration": gettext_lazy("Verified the business registration."),
        "tax": gettext_lazy("Verified the tax data."),
    }

    def run(seller: Seller, by: Any, data: dict[str, Any]) -> str:
        services.verify(seller=seller, by=by, step=step)
        return str(words[step])

    return run


def _not_verified(step: str) -> Callable[[Seller, Any], bool]:
    """Offered while the step is open and there is something to check (the service says the same)."""
    needs = {"identity": None, "registration": "registration_number", "tax": "tax_id"}[step]

    def available(seller: Seller, user: Any) -> bool:
        return getattr(seller, f"{services.VETTING_STEPS[step]}_at") is None and (
            not needs or bool(getattr(seller, needs))
        )

    return available


def _activate(seller: Seller, by: Any, data: dict[str, Any]) -> str:
    services.activate(seller=seller, by=by)
    return _("Activated.")


def _suspend(seller: Seller, by: Any, data: dict[str, Any]) -> str:
    services.suspend(seller=seller, by=by, reason=data["reason"])
    return _("Suspended: %(reason)s") % {"reason": data["reason"]}


def _reinstate(seller: Seller, by: Any, data: dict[str, Any]) -> str:
    services.reinstate(seller=seller, by=by)
    return _("Reinstated.")


def _adjust(seller: Seller, by: Any, data: dict[str, Any]) -> str:
    entry = services.add_adjustment(
        seller=seller, by=by, amount=data["amount"], note=data["note"], currency=data["currency"]
    )
    return _("Ledger adjustment of %(amount)s: %(note)s") % {
        "amount": formatting.money_text(entry.amount, entry.currency),
        "note": entry.note,
    }


def _settle(seller: Seller, by: Any, data: dict[str, Any]) -> str:
    entry = services.record_settlement(seller=seller, by=by, amount=data["amount"], note=data["note"],
                                       method=data["method"], currency=data["currency"])
    return _("Settlement of %(amount)s: %(note)s") % {
        "amount": formatting.money_text(-entry.amount, entry.currency),
        "note": entry.note,
    }


SETTLE = "settle"

SELLER_ACTIONS = (
    ConsoleAction(
        name="verify-identity",
        label=gettext_lazy("Verify identity"),
        run=_verify("identity"),
        available=_not_verified("identity"),
        guard=True,
        success=gettext_lazy("Identity verified."),
    ),
    ConsoleAction(
        name="verify-registration",
        label=gettext_lazy("Verify registration"),
        run=_verify("registration"),
        available=_not_verified("registration"),
        guard=True,
        success=gettext_lazy("Registration verified."),
    ),
    ConsoleAction(
        name="verify-tax",
        label=gettext_lazy("Verify tax data"),
        run=_verify("tax"),
        available=_not_verified("tax"),
        guard=True,
        success=gettext_lazy("Tax data verified."),
    ),
    ConsoleAction(
        name="activate",
        label=gettext_lazy("Activate"),
        run=_activate,
        available=lambda s, user: s.status == SellerStatus.PENDING and s.is_vetted,
        success=gettext_lazy("The seller is active."),
    ),
    ConsoleAction(
        name="suspend",
        label=gettext_lazy("Suspend"),
        run=_suspend,
        form=SuspendForm,
        danger=True,
        available=lambda s, user: s.status == SellerStatus.ACTIVE,
        success=gettext_lazy("The seller is suspended."),
        intro=gettext_lazy("A suspended seller answers no claims: the platform handles them."),
    ),
    ConsoleAction(
        name="reinstate",
        label=gettext_lazy("Reinstate"),
        run=_reinstate,
        available=lambda s, user: s.status == SellerStatus.SUSPENDED,
        success=gettext_lazy("The seller is active again."),
    ),
    ConsoleAction(
        name="adjust",
        label=gettext_lazy("Add a ledger adjustment"),
        run=_adjust,
        form=AdjustmentForm,
        permission="sellers.add_ledgerentry",
        success=gettext_lazy("The adjustment was added to the ledger."),
        intro=gettext_lazy("The ledger is never edited: a correction is a new entry."),
    ),
    ConsoleAction(
        name=SETTLE,
        label=gettext_lazy("Record a settlement"),
        run=_settle,
        form=SettlementForm,
        permission="sellers.add_ledgerentry",
        success=gettext_lazy("The settlement was added to the ledger; the seller sees it on its statement."),
        intro=gettext_lazy("A payment received from the seller, or what it owed offset against its payouts. It "
                           "cannot be more than the seller owes; anything else is an adjustment."),
    ),
)


class WarrantyPolicyInline(admin.StackedInline):
    model = WarrantyPolicy
    can_delete = False
    readonly_fields = ["offers_collection_words"]
    offers_collection_words = boolean_words(WarrantyPolicy, "offers_collection")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str | list[str] | tuple[str, ...]]:
        """Editable for whoever may change it; read-only for everyone else, its yes/no in words."""
        fields = [name for name in super().get_fields(request, obj) if name != "offers_collection_words"]
        if self.has_change_permission(request, obj):
            return fields
        return ["offers_collection_words" if name == "offers_collection" else name for name in fields]


class SellerMembershipInline(admin.TabularInline):
    model = SellerMembership
    extra = 0
    autocomplete_fields = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user")


VETTING_FIELDS = [
    "identity_verified_at",
    "identity_verified_by",
    "registration_verified_at",
    "registration_verified_by",
    "tax_verified_at",
    "tax_verified_by",
    "activated_at",
    "suspended_at",
    "suspension_reason",
]
# Who verified what is in the vetting panel at the top of the page; the form shows the rest.
STATUS_FIELDS = ("activated_at", "suspended_at", "suspension_reason")


def _worded(name: str | list[str] | tuple[str, ...]) -> str | list[str] | tuple[str, ...]:
    return "is_platform_words" if name == "is_platform" else name


@admin.register(Seller)
class SellerAdmin(ConsoleActionsMixin, admin.ModelAdmin):
    console_actions = SELLER_ACTIONS

    list_display = ["display_name", "legal_name", "country", "status", "vetted", "is_platform_words", "activated_at"]
    list_filter = ["status", "is_platform", "country"]
    search_fields = ["display_name", "legal_name", "=registration_number", "=tax_id", "=slug"]
    show_full_result_count = False
    inlines = [WarrantyPolicyInline, SellerMembershipInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "display_name",
                    "slug",
                    "legal_name",
                    "registration_number",
                    "tax_id",
                    "country",
                    "email",
                    "language",
                    "is_platform",
                    "status",
                ]
            },
        ),
        (gettext_lazy("Status"), {"fields": STATUS_FIELDS}),
    ]

    class Media:
        css = {"all": ["css/admin-console.css"]}

    def has_console_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.is_agent(request.user) and request.user.has_perm("sellers.change_seller")

    def may_run(self, request: HttpRequest, action: ConsoleAction, obj: Any = None) -> bool:
        """Settlements are the finance team's (who are not agents); everything else is the agents'."""
        if action.name == SETTLE:
            return (roles.may_manage_payouts(request.user) and self.has_view_permission(request, obj)
                    and request.user.has_perm(action.permission))
        return super().may_run(request, action, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Seller | None = None) -> list[str]:
        """Status and vetting records move only through the services. Data already verified is not edited
        (a change would need verifying again); the first-party flag is for superusers."""
        readonly = ["status", *VETTING_FIELDS]
        if obj is not None:
            readonly.append("slug")
            if obj.identity_verified_at:
                readonly += ["legal_name", "country"]
            if obj.registration_verified_at:
                readonly.append("registration_number")
            if obj.tax_verified_at:
                readonly.append("tax_id")
        if not request.user.is_superuser:
            readonly.append("is_platform_words")
        return readonly

    def get_prepopulated_fields(self, request: HttpRequest, obj: Seller | None = None) -> dict[str, Any]:
        return {"slug": ["display_name"]} if obj is None else {}

    @admin.display(description=gettext_lazy("vetted"))
    def vetted(self, seller: Seller) -> str:
        return yes_no(seller.is_vetted)

    # Read-only yes/no facts in words (the list, and the form for agents), not the admin's tick and cross.
    is_platform_words = boolean_words(Seller, "is_platform")

    def get_fieldsets(self, request: HttpRequest, obj: Seller | None = None) -> list[Any]:
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return list(fieldsets)
        return [(title, {**options, "fields": [_worded(name) for name in options["fields"]]})
                for title, options in fieldsets]

    def get_urls(self) -> list[Any]:
        return [*self.console_action_urls(), *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        pk = _int_or_none(unquote(object_id))
        seller = Seller.objects.filter(pk=pk).first() if pk is not None else None
        if seller is not None and self.has_view_permission(request, seller):
            extra.update(self._page_context(request, seller))
        return super().change_view(request, object_id, form_url, extra)

    def _page_context(self, request: HttpRequest, seller: Seller) -> dict[str, Any]:
        entries = seller.ledger_entries.select_related("claim", "created_by")
        balances = [
            {"currency": row["currency"], "total": Decimal(row["total"]).quantize(Decimal("0.01"))}
            for row in LedgerEntry.objects.filter(seller=seller)
            .values("currency")
            .annotate(total=Sum("amount"))
            .order_by("currency")
        ] or [{"currency": settings.MARKETPLACE_CURRENCY, "total": Decimal("0.00")}]  # nothing booked: nothing owed
        ledger_view = request.user.has_perm("sellers.view_ledgerentry")
        return {
            "seller_page": True,
            "seller": seller,
            "vetting": [
                {
                    "label": _("Identity"),
                    "at": seller.identity_verified_at,
                    "by": person_label(seller.identity_verified_by) if seller.identity_verified_by_id else "",
                },
                {
                    "label": _("Business registration"),
                    "at": seller.registration_verified_at,
                    "by": person_label(seller.registration_verified_by) if seller.registration_verified_by_id else "",
                },
                {
                    "label": _("Tax data"),
                    "at": seller.tax_verified_at,
                    "by": person_label(seller.tax_verified_by) if seller.tax_verified_by_id else "",
                },
            ],
            "buttons": self.offered_actions(request, seller),
            "ledger": list(entries[:LEDGER_ON_PAGE]) if ledger_view else [],
            "balances": balances if ledger_view else [],
            "ledger_view": ledger_view,
            "ledger_url": reverse("admin:sellers_ledgerentry_changelist")
            + "?"
            + urlencode({"seller__id__exact": seller.pk}),
            "ledger_limit": LEDGER_ON_PAGE,
        }


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """The seller ledger, read-only: entries are never edited or deleted (adjustments come from the seller
    page)."""

    list_display = ["created", "seller", "kind", "money", "claim", "note"]
    list_filter = ["kind", "currency", ("seller", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["seller", "claim"]
    search_fields = ["=claim__number", "seller__display_name"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    date_hierarchy = "created_at"
    fields = ["created_at", "seller", "kind", "amount", "currency", "claim", "refund", "note", "created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("created"), ordering="created_at")
    def created(self, entry: LedgerEntry) -> str:
        return formatting.moment(entry.created_at)

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def money(self, entry: LedgerEntry) -> str:
        return formatting.money_text(entry.amount, entry.currency)

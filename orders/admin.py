"""Orders in the support console: read-only for everyone, superusers too. Orders, their items and shipments are
written only by the order services (warranty copied from the seller's policy, totals checked, tracking changes
seen by the claims), so the admin is no back door around them. Payment-provider disputes are recorded from here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from core import formatting, roles
from core.console import ReadOnlyAdminMixin as ReadOnlyMixin
from core.console import boolean_words, mask_email

from .models import Order, OrderItem, Shipment
from .services import normalise_tracking_number


class OrderItemInline(ReadOnlyMixin, admin.TabularInline):
    model = OrderItem
    extra = 0
    # Perishable and expiry-dated goods have their own claim deadlines (claims.eligibility.special_claims_until).
    fields = ["title", "sku", "condition", "quantity", "unit_price", "serial_number", "warranty_months",
              "is_digital_words", "is_consumable_words", "is_perishable_words", "expires_on", "warranty_minimum_until",
              "warranty_extension_days", "trial_minimum_until", "refunded_amount"]
    # Yes/no in words, not the admin's tick and cross.
    readonly_fields = ["is_digital_words", "is_consumable_words", "is_perishable_words"]
    is_digital_words = boolean_words(OrderItem, "is_digital")
    is_consumable_words = boolean_words(OrderItem, "is_consumable")
    is_perishable_words = boolean_words(OrderItem, "is_perishable")


class ShipmentInline(ReadOnlyMixin, admin.TabularInline):
    model = Shipment
    extra = 0
    fields = ["carrier", "tracking_number", "shipped_at", "delivered_at", "delivered_to_order_address_words", "source",
              "confirmed_at", "last_event_at"]
    readonly_fields = ["delivered_to_order_address_words"]
    delivered_to_order_address_words = boolean_words(Shipment, "delivered_to_order_address")


@admin.register(Order)
class OrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["number", "seller", "buyer_email", "buyer_kind", "placed", "money", "estimated_delivery"]
    list_filter = ["buyer_kind", "payment_method", ("seller", admin.RelatedFieldListFilter)]
    list_select_related = ["seller", "buyer"]
    search_fields = ["number", "payment_reference", "shipments__tracking_number", "buyer__email"]
    search_help_text = _("Exact order number, payment reference, tracking number or buyer email.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    autocomplete_fields = ["buyer", "seller"]
    inlines = [OrderItemInline, ShipmentInline]
    date_hierarchy = "placed_at"
    readonly_fields = ["claims_on_order", "buyer_contact"]

    @admin.display(description=_("buyer"), ordering="buyer__email")
    def buyer_email(self, order: Order) -> str:
        return mask_email(order.buyer.email)

    @admin.display(description=_("placed at"), ordering="placed_at")
    def placed(self, order: Order) -> str:
        return formatting.moment(order.placed_at)

    @admin.display(description=_("total"), ordering="total")
    def money(self, order: Order) -> str:
        return formatting.money_text(order.total, order.currency)

    def get_fields(self, request: HttpRequest, obj: Order | None = None) -> list[str | list[str] | tuple[str, ...]]:
        """The buyer's name and email in place of a link to the user admin."""
        fields = list(super().get_fields(request, obj))
        if "buyer_contact" in fields:
            fields.remove("buyer_contact")
            fields[fields.index("buyer")] = "buyer_contact"
        return fields

    @admin.display(description=_("buyer"))
    def buyer_contact(self, order: Order) -> str:
        buyer = order.buyer
        return format_html("{} &lt;{}&gt;", buyer.get_full_name() or buyer.get_username(), buyer.email)

    @admin.display(description=_("claims"))
    def claims_on_order(self, order: Order) -> str:
        claims = list(order.claims.only("pk", "number", "state").order_by("opened_at"))
        if not claims:
            return "—"
        return format_html_join(", ", '<a href="{}">{}</a> ({})', (
            (reverse("admin:claims_claim_change", args=[c.pk]), c.number, c.get_state_display()) for c in claims))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """Exact matches on indexed columns (see ClaimAdmin.get_search_results)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        variants = list({term, term.upper(), normalise_tracking_number(term)})
        order_ids = list(Shipment.objects.filter(tracking_number__in=variants).values_list("order_id", flat=True)[:100])
        condition = Q(number__in=variants) | Q(payment_reference__in=variants) | Q(pk__in=order_ids)
        if "@" in term:
            buyer_ids = list(get_user_model().objects.filter(email__iexact=term).values_list("pk", flat=True)[:20])
            condition |= Q(buyer_id__in=buyer_ids)
        return queryset.filter(condition), False

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> Any:
        extra = dict(extra_context or {})
        if roles.is_agent(request.user) and request.user.has_perm("claims.add_claim"):
            order = self.get_object(request, unquote(object_id))
            if order is not None:
                extra["dispute_url"] = reverse("admin:claims_claim_record_dispute") + "?" + urlencode(
                    {"order": order.number})
        return super().change_view(request, object_id, form_url, extra)



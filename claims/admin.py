from django.contrib import admin

from .models import Claim, ClaimItem, ClaimTransition, Evidence, Message, Offer, Refund


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ClaimItemInline(ReadOnlyInline):
    model = ClaimItem
    fields = ["order_item", "quantity", "is_open"]


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["created_at", "party", "author", "body", "is_internal"]


class OfferInline(ReadOnlyInline):
    model = Offer
    fields = ["created_at", "kind", "amount", "status", "made_by", "on_behalf_of_platform"]


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["created_at", "amount", "currency", "funded_by", "status", "payment_reference"]


class EvidenceInline(ReadOnlyInline):
    model = Evidence
    fields = ["created_at", "kind", "party", "content_type", "size", "original_name"]


class TransitionInline(ReadOnlyInline):
    model = ClaimTransition
    fields = ["created_at", "name", "from_state", "to_state", "actor", "party", "reason"]


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    """Read-only view of claims: every change goes through claims.services."""

    list_display = ["number", "state", "reason", "seller", "opened_at", "next_deadline_at"]
    list_filter = ["state", "reason", "channel"]
    list_select_related = ["seller"]
    search_fields = ["number", "order__number"]
    show_full_result_count = False
    date_hierarchy = "opened_at"
    inlines = [ClaimItemInline, EvidenceInline, MessageInline, OfferInline, RefundInline, TransitionInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

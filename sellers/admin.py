from django.contrib import admin

from .models import LedgerEntry, Seller, SellerMembership, WarrantyPolicy


class WarrantyPolicyInline(admin.StackedInline):
    model = WarrantyPolicy
    can_delete = False


class SellerMembershipInline(admin.TabularInline):
    model = SellerMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ["display_name", "legal_name", "country", "status", "is_platform", "activated_at"]
    list_filter = ["status", "is_platform", "country"]
    search_fields = ["display_name", "legal_name", "registration_number", "tax_id", "slug"]
    prepopulated_fields = {"slug": ["display_name"]}
    # Status moves only through the vetting services, never by editing the field.
    readonly_fields = ["status", "identity_verified_at", "identity_verified_by", "registration_verified_at",
                       "registration_verified_by", "tax_verified_at", "tax_verified_by", "activated_at",
                       "suspended_at", "suspension_reason"]
    inlines = [WarrantyPolicyInline, SellerMembershipInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "seller", "kind", "amount", "currency", "claim"]
    list_filter = ["kind"]
    list_select_related = ["seller", "claim"]
    search_fields = ["seller__display_name", "claim__number"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

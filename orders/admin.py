from django.contrib import admin

from .models import Order, OrderItem, Shipment


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0


class ShipmentInline(admin.TabularInline):
    model = Shipment
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "seller", "buyer_kind", "placed_at", "total", "currency", "estimated_delivery"]
    list_filter = ["buyer_kind", "seller"]
    list_select_related = ["seller"]
    search_fields = ["number", "payment_reference", "shipments__tracking_number"]
    autocomplete_fields = ["buyer", "seller"]
    inlines = [OrderItemInline, ShipmentInline]
    date_hierarchy = "placed_at"

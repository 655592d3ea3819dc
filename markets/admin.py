"""Markets in the support console: agents read them, superusers keep them. A change applies to claims opened after
it; every open claim keeps the values of its policy snapshot."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Market


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = ["country", "name", "currency", "time_zone", "warranty_months_new", "warranty_months_like_new",
                    "warranty_months_used", "warranty_claim_days", "warranty_claim_max_days", "dispute_window_days"]
    list_display_links = ["country", "name"]
    ordering = ["country"]
    fieldsets = [
        (None, {"fields": ["country", "name", "currency", "languages"]}),
        (_("Calendar"), {"fields": ["time_zone", "holiday_subdivision"]}),
        (_("Statutory warranty"), {"fields": ["warranty_months_new", "warranty_months_like_new",
                                              "warranty_months_used"]}),
        (_("Warranty claims and disputes"), {"fields": ["warranty_claim_days", "warranty_claim_max_days",
                                                        "dispute_window_days"]}),
        (_("Legal sources"), {"fields": ["law"]}),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # orders belong to a market by their delivery country: a market is changed, never removed

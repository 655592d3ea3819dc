"""Two factors in the console (issue 18). django-otp registers admins of its own for authenticator apps and recovery
codes: they show every secret and every unused recovery code, and let staff with the permissions make an app for
someone else. Both are replaced by one list for superusers: who has an app since when, and "delete" as the reset a
person who lost both phone and recovery codes needs (their next login sets up a new app; the audit log has it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.console import SuperuserOnlyMixin

from . import two_factor

for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class TwoFactorAppAdmin(SuperuserOnlyMixin, admin.ModelAdmin):  # whatever a group was given on django-otp's tables
    list_display = ["user", "created_at", "last_used_at", "throttling_failure_count"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ("user", "created_at", "last_used_at", "throttling_failure_count", "throttling_failure_timestamp")
    readonly_fields = fields
    ordering = ["-id"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[TOTPDevice]:
        return super().get_queryset(request).filter(confirmed=True)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a person sets up their own app (accounts.views.mfa_setup): only they see its secret

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: TOTPDevice) -> None:
        two_factor.reset(user=obj.user, by=request.user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TOTPDevice]) -> None:
        for device in queryset.select_related("user"):
            two_factor.reset(user=device.user, by=request.user, request=request)


admin.site.register(TOTPDevice, TwoFactorAppAdmin)

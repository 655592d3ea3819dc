"""Login lockouts in the support console (issue 18: "agents see and clear lockouts").

Axes registers its own admins for its models; they show the form data axes keeps with each attempt and call a pair
locked by a fixed count, which our growing delay (accounts.lockout) does not use. They are replaced by one read-only
list of (normalized username, address) pairs within the failure memory: failures, last failure, locked until and
whether locked now, all from accounts.lockout's one delay rule. Clearing a lockout (the list's action, or deleting
from the pair's page: the agents group has axes.delete_accessattempt for exactly this) forgets the pair's failures
and writes lockout_cleared to the audit log. Nothing is added or changed here."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy, ngettext

from core.console import moment_html, yes_no
from core.usernames import normalize_username

from . import lockout

for model in (AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
# The console's index and breadcrumbs name axes' app by what agents do there ("Axes" means nothing to them).
apps.get_app_config("axes").verbose_name = gettext_lazy("Login lockouts")


class LockedNowFilter(admin.SimpleListFilter):
    title = gettext_lazy("locked now")
    parameter_name = "locked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> QuerySet[AccessAttempt]:
        if self.value() == "yes":
            return queryset.filter(lockout.locked_q(timezone.now()))
        if self.value() == "no":
            return queryset.exclude(lockout.locked_q(timezone.now()))
        return queryset


@admin.register(AccessAttempt)
class LoginLockoutAdmin(admin.ModelAdmin):
    list_display = ("username", "ip_address", "failures", "last_failure", "locked_until", "locked_now")
    list_display_links = ("username",)
    fields = ("username", "ip_address", "failures", "last_failure", "locked_until", "locked_now")
    readonly_fields = fields
    list_filter = (LockedNowFilter,)
    search_fields = ("username", "ip_address")
    actions = ["clear_lockouts"]
    show_full_result_count = False

    class Media:
        css = {"all": ["css/admin-console.css"]}  # the console's styles (links not by colour alone, wrapping cells)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessAttempt]:
        return lockout.pairs(super().get_queryset(request))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[AccessAttempt],
                           search_term: str) -> tuple[QuerySet[AccessAttempt], bool]:
        # Usernames are kept in their one spelling: "ＢＯＢ" finds bob's pairs.
        return super().get_search_results(request, queryset, normalize_username(search_term))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": gettext_lazy("Login lockouts"), **(extra_context or {})})

    # --- columns --------------------------------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("failures"), ordering="pair_failures")
    def failures(self, obj: AccessAttempt) -> int:
        return obj.pair_failures

    @admin.display(description=gettext_lazy("last failure"), ordering="attempt_time")
    def last_failure(self, obj: AccessAttempt) -> str:
        return moment_html(obj.attempt_time)  # the pair's latest row (lockout.pairs)

    @admin.display(description=gettext_lazy("locked until"))
    def locked_until(self, obj: AccessAttempt) -> str:
        return moment_html(lockout.locked_until(obj.pair_failures, obj.attempt_time))

    @admin.display(description=gettext_lazy("locked now"))
    def locked_now(self, obj: AccessAttempt) -> str:
        until = lockout.locked_until(obj.pair_failures, obj.attempt_time)
        return yes_no(until is not None and timezone.now() < until)

    # --- permissions: see and clear, nothing else -----------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # clearing is the one way to delete, and it is audited
        return actions

    @admin.action(description=gettext_lazy("Clear lockout"), permissions=["delete"])
    def clear_lockouts(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        chosen = list(queryset)
        self.log_deletions(request, chosen)  # type: ignore[arg-type]  # any iterable of rows; the stubs say QuerySet
        cleared = sum(1 for attempt in chosen if self._clear(request, attempt))
        self.message_user(request, ngettext("%(count)d lockout cleared: that username may log in from that address "
                                            "again.", "%(count)d lockouts cleared: those usernames may log in from "
                                            "those addresses again.", cleared) % {"count": cleared},
                          messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: AccessAttempt) -> None:
        self._clear(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        for attempt in queryset:
            self._clear(request, attempt)

    def _clear(self, request: HttpRequest, attempt: AccessAttempt) -> int:
        return lockout.clear_lockout(username=attempt.username, ip_address=attempt.ip_address, by=request.user,
                                     request=request)

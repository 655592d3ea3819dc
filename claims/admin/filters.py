"""The claim list's own filters (the deadline, escalation, assignment)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy

from .. import deadlines
from ..choices import ClaimState, EscalationCause
from ..selectors import PLATFORM_STATES


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("deadline")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", gettext_lazy("Overdue")), ("no", gettext_lazy("Open, on time"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(deadlines.overdue_q(timezone.now()))
        if self.value() == "no":
            return queryset.exclude(state=ClaimState.RESOLVED).exclude(deadlines.overdue_q(timezone.now()))
        return queryset


class EscalatedFilter(admin.SimpleListFilter):
    title = gettext_lazy("escalated")
    parameter_name = "escalated"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("now", gettext_lazy("With the platform now")),
            ("ever", gettext_lazy("Ever escalated")),
            ("never", gettext_lazy("Never escalated")),
            ("appeal", gettext_lazy("Appealed against a decision")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "now":
            return queryset.filter(state__in=PLATFORM_STATES)
        if value == "ever":
            return queryset.filter(escalated_at__isnull=False)
        if value == "never":
            return queryset.filter(escalated_at__isnull=True)
        if value == "appeal":  # with the platform by an appeal, or back from one (claims.appeals)
            return queryset.filter(escalation_cause=EscalationCause.APPEAL)
        return queryset


class AssignedFilter(admin.SimpleListFilter):
    title = gettext_lazy("assigned to")
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("me", gettext_lazy("Me")),
            ("nobody", gettext_lazy("Nobody")),
            ("others", gettext_lazy("Other agents")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "me":
            return queryset.filter(assigned_to=request.user)
        if value == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        if value == "others":
            return queryset.filter(assigned_to__isnull=False).exclude(assigned_to=request.user)
        return queryset

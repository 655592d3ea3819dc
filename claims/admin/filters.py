"""The claim list's own filters (the seller, the deadline, escalation, assignment)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy

from .. import deadlines
from ..choices import ClaimState, EscalationCause
from ..selectors import PLATFORM_STATES

if TYPE_CHECKING:
    from django.contrib.admin.filters import _ListFilterChoices


class SellerFilter(admin.RelatedFieldListFilter):
    """Django's filter by seller, the same links, at a fraction of the cost with a thousand sellers: the choices are
    read as (id, name) pairs instead of whole sellers, each link is one query string with the seller's id put in
    (not a sorted urlencode of every parameter per seller), and the list is written by `filter_items`
    (claims/templatetags/console.py) instead of a template loop."""

    template = "admin/claims/filter.html"
    _PLACEHOLDER = "SELLERPK0"  # letters and digits: urlencode leaves it as it is

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[Any]:  # (pk, name) pairs
        model = field.remote_field.model
        ordering = self.field_admin_ordering(field, request, model_admin) or model._meta.ordering
        # str(seller) is its display name (sellers.models.Seller.__str__)
        return list(model._default_manager.order_by(*ordering).values_list("pk", "display_name"))

    def _around_the_id(self, changelist: Any) -> tuple[str, str]:
        """A seller's link is the query string Django writes with the seller's id in its place: what comes before
        and after it. Found as the parameter itself (after "?" or "&", where a value's own "&" and "=" are encoded),
        never as the same letters in another parameter's value."""
        written = changelist.get_query_string({self.lookup_kwarg: self._PLACEHOLDER}, [self.lookup_kwarg_isnull])
        for start in ("?", "&"):
            needle = f"{start}{self.lookup_kwarg}={self._PLACEHOLDER}"
            at = written.find(needle)
            if at != -1:
                return written[:at + len(needle) - len(self._PLACEHOLDER)], written[at + len(needle):]
        raise AssertionError(f"{self.lookup_kwarg} is not in {written}")  # get_query_string always writes it

    def choices(self, changelist: Any) -> Iterator[_ListFilterChoices]:
        if changelist.add_facets:  # the console shows no facets (ClaimAdmin.show_facets); Django's way if it ever does
            yield from super().choices(changelist)
            return
        chosen: str | list[str] = self.lookup_val or []  # a list since Django 5.0; the stubs say str
        yield {
            "selected": self.lookup_val is None and not self.lookup_val_isnull,
            "query_string": changelist.get_query_string(remove=[self.lookup_kwarg, self.lookup_kwarg_isnull]),
            "display": gettext_lazy("All"),  # Django's own words (its catalogue)
        }
        before, after = self._around_the_id(changelist)
        for pk_val, name in self.lookup_choices:
            yield {
                "selected": str(pk_val) in chosen,
                "query_string": f"{before}{pk_val}{after}",
                "display": name,
            }
        if self.include_empty_choice:
            yield {
                "selected": bool(self.lookup_val_isnull),
                "query_string": changelist.get_query_string({self.lookup_kwarg_isnull: "True"}, [self.lookup_kwarg]),
                "display": self.empty_value_display,
            }


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

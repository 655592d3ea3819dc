"""The claim list of the support console, and the ClaimAdmin that puts the console's parts together: the claim page
(page.py), the escalated queue and assignment (queue.py), payment-provider disputes (disputes.py), the list's
filters (filters.py) and the action pages (actions.py, on core.console).

The claim form itself is read-only for everyone: every change goes through claims.services from an action page.
Agents act with `claims.change_claim` (+ being an agent); recording a dispute opens a claim and needs
`claims.add_claim`. The queries are in claims.selectors.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.console import ConsoleActionsMixin, ReadOnlyAdminMixin, boolean_words, buyer_label, person_label

from .. import roles
from ..models import Claim
from ..selectors import console_search
from .actions import CLAIM_ACTIONS
from .display import Clock, deadline_html, opened_html
from .disputes import DisputeMixin
from .filters import AssignedFilter, EscalatedFilter, OverdueFilter, SellerFilter
from .page import ClaimPageMixin, ResolutionPageMixin
from .paginator import EstimatedCountPaginator
from .presence import PresenceMixin
from .queue import QueueMixin


class ClaimChangeList(ChangeList):
    """The claim list: the page's claims carry the clock their moments are written with (`list_clock`, read once for
    the page, claims/admin/display.py), and the page's rows are written by claims/admin/rows.py."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        clock = Clock.current()
        for claim in self.result_list:  # fills the page's queryset cache: the rows are these same objects
            claim.list_clock = clock


@admin.register(Claim)
class ClaimAdmin(ClaimPageMixin, ResolutionPageMixin, PresenceMixin, QueueMixin, DisputeMixin, ReadOnlyAdminMixin,
                 ConsoleActionsMixin, admin.ModelAdmin):
    console_actions = CLAIM_ACTIONS
    paginator = EstimatedCountPaginator

    # The deadline comes early: on a narrow screen the table scrolls and what is overdue must still show. At 1280 px
    # the row fits without scrolling (admin-console.css lets the long cells wrap).
    list_display = ["number", "state", "deadline", "reason", "seller", "buyer_masked", "opened", "assignee"]
    list_filter = [
        "state",
        "reason",
        ("seller", SellerFilter),
        "channel",
        OverdueFilter,
        EscalatedFilter,
        AssignedFilter,
    ]
    # Rows render from these joins alone: no query per row (tests/test_admin.py counts them).
    list_select_related = ["seller", "buyer", "assigned_to"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice is a scan per choice at a million claims
    list_per_page = 50
    # Overdue first, then the least time left (claims.deadlines); claims with nothing due last, newest first.
    ordering = [F("action_due_at").asc(nulls_last=True), "-opened_at"]
    date_hierarchy = "opened_at"
    search_fields = ["number", "order__number", "buyer__email", "order__shipments__tracking_number",
                     "returns__rma_number", "returns__tracking_number"]
    search_help_text = gettext_lazy("Exact claim number, order number, buyer email, tracking number or return number "
                                    "(RMA).")
    # The search box's visible label (templates/admin/claims/search_form.html).
    search_label = gettext_lazy("Find claims")
    actions = ["assign_to_me"]

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "state",
                    "reason",
                    "channel",
                    "provider_reference",
                    "desired_outcome",
                    "discovered_on",
                    "description",
                    "order",
                    "buyer_contact",
                    "seller",
                    "assignee",
                ]
            },
        ),
        (
            gettext_lazy("Deadlines"),
            {
                "fields": [
                    "deadline_now",
                    "opened_at",
                    "first_reply_due_at",
                    "first_reply_breached",
                    "resolution_due_at",
                    "info_requested_from",
                    "info_due_at",
                    "decision_due_at",
                    "decision_breached",
                    "hard_deadline_at",
                ]
            },
        ),
        (
            gettext_lazy("Decision"),
            {
                "fields": [
                    "outcome",
                    "funded_by",
                    "refund_amount",
                    "denial_reason",
                    "decision_note",
                    "rejected",
                    "rejection_code",
                    "escalation_cause",
                    "inspection_result",
                    "buyer_missed_info",
                    "seller_missed_info",
                ]
            },
        ),
        (
            gettext_lazy("Milestones"),
            {
                "classes": ["collapse"],
                "fields": [
                    "first_replied_at",
                    "escalated_at",
                    "info_requested_at",
                    "decided_at",
                    "return_received_at",
                    "resolved_at",
                    "reopened_at",
                    "last_activity_at",
                    "next_deadline_at",
                ],
            },
        ),
        (gettext_lazy("Policy values when opened"), {"classes": ["collapse"], "fields": ["policy"]}),
    ]
    readonly_fields = ["buyer_contact", "deadline_now", "assignee", "first_reply_breached_words", "rejected_words",
                       "decision_breached_words"]

    class Media:
        css = {"all": ["css/admin-console.css", "css/console-workspace.css"]}

    # --- permissions: the form is read-only, claims are never added or deleted here ---------------------

    def has_console_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Acting on claims: an agent (roles.is_agent) with the change permission. Checked again on every POST,
        and the service checks the agent's role once more."""
        return roles.is_agent(request.user) and request.user.has_perm("claims.change_claim")

    def has_record_dispute_permission(self, request: HttpRequest) -> bool:
        return roles.is_agent(request.user) and request.user.has_perm("claims.add_claim")

    # --- the list ---------------------------------------------------------------------------------------

    def action_checkbox(self, obj: Claim) -> SafeString:
        """The same checkbox as Django's, written directly: a widget rendered through templates for every row
        is a third of the list's time."""
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, obj.pk,
                           format_html(_("Select this object for an action - {}"), str(obj)))


    @admin.display(description=gettext_lazy("buyer"), ordering="buyer__email")
    def buyer_masked(self, claim: Claim) -> str:
        return buyer_label(claim.buyer)

    @admin.display(description=gettext_lazy("opened"), ordering="opened_at")
    def opened(self, claim: Claim) -> str:
        return opened_html(claim.opened_at, getattr(claim, "list_clock", None))

    @admin.display(description=gettext_lazy("next deadline"), ordering="action_due_at")
    def deadline(self, claim: Claim) -> str:
        return deadline_html(claim.action_due_at, clock=getattr(claim, "list_clock", None))

    @admin.display(description=gettext_lazy("assigned to"), ordering="assigned_to__username")
    def assignee(self, claim: Claim) -> str:
        return person_label(claim.assigned_to) if claim.assigned_to_id else "—"

    @admin.display(description=gettext_lazy("buyer"))
    def buyer_contact(self, claim: Claim) -> str:
        buyer = claim.buyer
        return format_html("{} &lt;{}&gt;", buyer.get_full_name() or buyer.get_username(), buyer.email)

    @admin.display(description=gettext_lazy("deadline that matters now"))
    def deadline_now(self, claim: Claim) -> str:
        return deadline_html(claim.action_due_at)

    # Yes/no facts in words, not the admin's tick and cross (a red cross for "not breached" reads as a fault).
    first_reply_breached_words = boolean_words(Claim, "first_reply_breached")
    rejected_words = boolean_words(Claim, "rejected")
    decision_breached_words = boolean_words(Claim, "decision_breached")

    def get_fieldsets(self, request: HttpRequest, obj: Claim | None = None) -> list[Any]:
        """The claim page shows the claim's facts itself (page.py); the raw field list is for superusers only, under
        "All fields". For everyone else the admin's form has no fields at all, so none of its rows is rendered."""
        if not request.user.is_superuser:
            return []
        return [
            (title, {**options, "fields": [self._worded(name) for name in options["fields"]]})
            for title, options in super().get_fieldsets(request, obj)
        ]

    def _worded(self, name: str | list[str] | tuple[str, ...]) -> str | list[str] | tuple[str, ...]:
        return f"{name}_words" if isinstance(name, str) and hasattr(self, f"{name}_words") else name

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ClaimChangeList

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        return (queryset.filter(console_search(term)), False) if term else (queryset, False)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {
            "console_queue_url": reverse("admin:claims_claim_queue") if self.has_console_permission(request) else None,
            "console_dispute_url": reverse("admin:claims_claim_record_dispute")
            if self.has_record_dispute_permission(request)
            else None,
        }
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    # --- the claim page ---------------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("queue/", wrap(self.queue_view), name=self.console_url_name("queue")),
            path("queue/assign/", wrap(self.bulk_assign_view), name=self.console_url_name("bulk_assign")),
            path("provider-dispute/", wrap(self.record_dispute_view), name=self.console_url_name("record_dispute")),
            path("<path:object_id>/resolution/", wrap(self.resolution_view), name=self.console_url_name("resolution")),
            path("<path:object_id>/presence/", wrap(self.presence_view), name=self.console_url_name("presence")),
            *self.console_action_urls(),
            *super().get_urls(),
        ]

    # --- the escalated queue ----------------------------------------------------------------------------

    # --- payment-provider disputes ----------------------------------------------------------------------


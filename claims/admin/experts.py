"""Expert assessments in the support console: the list (running, costs due, costs overdue, costs paid; the claim
linked) and each assessment's page with its actions, every one through claims.services.experts: the expert's result
with the report, the cost lines of an unjustified claim, sending their list to the buyer, and marking it paid.

Who: support agents (roles.is_agent) who see claims. The assessment is part of a claim, so no model permission of its
own is needed; every POST is checked again here and once more by the service (claims.abilities).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core import formatting
from core.console import ActionForm, ConsoleAction, ConsoleActionsMixin, ReadOnlyAdminMixin, yes_no

from .. import experts, roles, services
from ..abilities import assessment_abilities
from ..choices import ExpertResult
from ..eligibility import MAX_DESCRIPTION_LENGTH
from ..forms import ATTACHMENT_TYPES
from ..models import ExpertAssessment, ExpertCost

# --- the action pages' forms -----------------------------------------------------------------------------------


class StartForm(ActionForm):
    expert = forms.CharField(label=gettext_lazy("Expert (optional)"), required=False, max_length=200,
                             help_text=gettext_lazy("The person or laboratory assessing the defect. The warranty-claim "
                                                    "clock pauses until the result is recorded."))


class ConcludeForm(ActionForm):
    expert = forms.CharField(label=gettext_lazy("Expert"), required=False, max_length=200,
                             help_text=gettext_lazy("The person or laboratory that assessed the defect."))
    result = forms.ChoiceField(label=gettext_lazy("Result"), choices=ExpertResult.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=MAX_DESCRIPTION_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
                           help_text=gettext_lazy("The buyer and the seller see it."))
    report = forms.FileField(label=gettext_lazy("The expert's report"), required=False,
                             widget=forms.FileInput(attrs={"accept": ATTACHMENT_TYPES}),
                             help_text=gettext_lazy("A PDF, or a photo of the report. Checked like every evidence "
                                                    "file."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.obj is not None:
            self.fields["expert"].initial = self.obj.expert


class CostForm(ActionForm):
    description = forms.CharField(label=gettext_lazy("What for"), max_length=200,
                                  help_text=gettext_lazy("For example the expert's fee, or transport to the expert."))
    amount = forms.DecimalField(label=gettext_lazy("Amount"), max_digits=12, decimal_places=2,
                                min_value=Decimal("0.01"))


class RemoveCostForm(ActionForm):
    cost = forms.ModelChoiceField(label=gettext_lazy("Cost"), queryset=ExpertCost.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.obj is not None:
            cast(forms.ModelChoiceField, self.fields["cost"]).queryset = self.obj.costs.order_by("id")


# --- the actions -----------------------------------------------------------------------------------------------


def _can(action: str) -> Callable[[ExpertAssessment, Any], bool]:
    """Offered when claims.abilities allows the action on this assessment to this person now."""
    return lambda assessment, user: assessment_abilities(assessment, user)[action].allowed


def _conclude(assessment: ExpertAssessment, by: Any, data: dict[str, Any]) -> str:
    services.conclude_expert_assessment(assessment=assessment, by=by, result=data["result"], note=data["note"],
                                        report=data["report"], expert=data["expert"])
    return _("Recorded the expert's result: %(result)s") % {"result": ExpertResult(data["result"]).label}


def _add_cost(assessment: ExpertAssessment, by: Any, data: dict[str, Any]) -> str:
    cost = services.add_expert_cost(assessment=assessment, by=by, description=data["description"],
                                    amount=data["amount"])
    return _("Added a cost: %(what)s, %(amount)s.") % {
        "what": cost.description, "amount": formatting.money_text(cost.amount, assessment.claim.currency)}


def _remove_cost(assessment: ExpertAssessment, by: Any, data: dict[str, Any]) -> str:
    cost = data["cost"]
    services.remove_expert_cost(cost=cost, by=by)
    return _("Removed a cost: %(what)s, %(amount)s.") % {
        "what": cost.description, "amount": formatting.money_text(cost.amount, assessment.claim.currency)}


def _send_costs(assessment: ExpertAssessment, by: Any, data: dict[str, Any]) -> str:
    sent = services.send_expert_costs(assessment=assessment, by=by)
    return _("Sent the list of costs to the buyer, due by %(day)s.") % {
        "day": formatting.day(sent.costs_due_on)}


def _mark_paid(assessment: ExpertAssessment, by: Any, data: dict[str, Any]) -> str:
    services.mark_expert_costs_paid(assessment=assessment, by=by)
    return _("Marked the costs as paid.")


EXPERT_ACTIONS = (
    ConsoleAction(
        name="conclude", label=gettext_lazy("Record the expert's result"), form=ConcludeForm, run=_conclude,
        available=_can("conclude"),
        success=gettext_lazy("The result was recorded; the buyer and the seller are told."),
        intro=gettext_lazy("After a denial, a justified claim is reopened for a new decision; an unjustified one stays "
                           "denied and its costs are listed and sent to the buyer."),
    ),
    ConsoleAction(
        name="add-cost", label=gettext_lazy("Add a cost"), form=CostForm, run=_add_cost, available=_can("add_cost"),
        success=gettext_lazy("The cost was added. Send the list when it is complete."),
        intro=gettext_lazy("The buyer bears all the costs of an unjustified claim: the expert's, the seller's and "
                           "those of transporting the goods."),
    ),
    ConsoleAction(
        name="remove-cost", label=gettext_lazy("Remove a cost"), form=RemoveCostForm, run=_remove_cost,
        available=lambda assessment, user: (_can("remove_cost")(assessment, user) and assessment.costs.exists()),
        success=gettext_lazy("The cost was removed."), danger=True,
    ),
    ConsoleAction(
        name="send-costs", label=gettext_lazy("Send the list of costs to the buyer"), run=_send_costs,
        available=_can("send_costs"),
        success=gettext_lazy("The list of costs was sent to the buyer with its due date."),
    ),
    ConsoleAction(
        name="mark-paid", label=gettext_lazy("Mark the costs as paid"), run=_mark_paid,
        available=_can("mark_costs_paid"), success=gettext_lazy("The costs are marked as paid."),
    ),
)


# --- the list ----------------------------------------------------------------------------------------------------


class StatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return experts.STATUSES

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return experts.with_status(queryset, value) if value in dict(experts.STATUSES) else queryset


@admin.register(ExpertAssessment)
class ExpertAssessmentAdmin(ReadOnlyAdminMixin, ConsoleActionsMixin, admin.ModelAdmin):
    console_actions = EXPERT_ACTIONS
    list_display = ["claim_link", "stage", "requested", "expert", "result", "costs", "due", "paid"]
    # The claim's column links to the claim: the assessment's own page is the next column's link (a link in a link
    # has no name of its own, axe's link-name).
    list_display_links = ["stage"]
    list_filter = [StatusFilter, "stage", "result"]
    # Rows render from the join and the annotation alone: no query per row (claims/tests/test_expert_console.py).
    list_select_related = ["claim"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    ordering = ["-requested_at", "-id"]
    search_fields = ["claim__number"]
    search_help_text = gettext_lazy("Exact claim number.")
    actions = ["mark_costs_paid"]
    fields = ["claim_link", "stage", "requested_by", "requested_by_party", "requested_at", "expert", "concluded_at",
              "result", "note", "report_link", "costs_sent_at", "costs_due_on", "costs_paid_at"]
    readonly_fields = ["claim_link", "report_link"]

    class Media:
        css = {"all": ["css/admin-console.css"]}

    # --- who -----------------------------------------------------------------------------------------------------

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.is_agent(request.user) and request.user.has_perm("claims.view_claim")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_console_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.is_agent(request.user) and request.user.has_perm("claims.change_claim")

    # --- the list ------------------------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(
            costs_sum=Coalesce(Sum("costs__amount"), Value(Decimal("0")),
                               output_field=DecimalField(max_digits=12, decimal_places=2)))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        return (queryset.filter(claim__number__in={term, term.upper()}), False) if term else (queryset, False)

    @admin.display(description=gettext_lazy("claim"), ordering="claim__number")
    def claim_link(self, assessment: ExpertAssessment) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:claims_claim_change", args=[assessment.claim_id]),
                           assessment.claim.number)

    @admin.display(description=gettext_lazy("requested"), ordering="requested_at")
    def requested(self, assessment: ExpertAssessment) -> str:
        return formatting.day(assessment.requested_at)

    @admin.display(description=gettext_lazy("costs"))
    def costs(self, assessment: ExpertAssessment) -> str:
        total = getattr(assessment, "costs_sum", None)
        return formatting.money_text(total, assessment.claim.currency) if total else "—"

    @admin.display(description=gettext_lazy("costs due"), ordering="costs_due_on")
    def due(self, assessment: ExpertAssessment) -> str:
        return formatting.day(assessment.costs_due_on) if assessment.costs_due_on else "—"

    @admin.display(description=gettext_lazy("paid"))
    def paid(self, assessment: ExpertAssessment) -> str:
        return yes_no(None if assessment.costs_due_on is None else assessment.costs_paid_at is not None)

    @admin.display(description=gettext_lazy("report"))
    def report_link(self, assessment: ExpertAssessment) -> str:
        if not assessment.report_id:
            return "—"
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>',
                           reverse("claims:evidence", kwargs={"pk": assessment.report_id}), _("The expert's report"))

    @admin.action(description=gettext_lazy("Mark the costs as paid"))
    def mark_costs_paid(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Each assessment through services.mark_expert_costs_paid (its own lock and check), each logged."""
        if not self.has_console_permission(request):
            self.message_user(request, _("Only support agents record payments of costs."), messages.ERROR)
            return
        done = 0
        for assessment in ExpertAssessment.objects.filter(pk__in=list(queryset.values_list("pk", flat=True))):
            outcome = self.run_service(request, assessment, functools.partial(_mark_paid, assessment, request.user, {}))
            done += outcome.done
        if done:
            self.message_user(request, ngettext("The costs of %(count)d assessment are marked as paid.",
                                                "The costs of %(count)d assessments are marked as paid.", done)
                              % {"count": done}, messages.SUCCESS)

    # --- the page ------------------------------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        return [*self.console_action_urls(), *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = dict(extra_context or {})
        assessment = self.get_object(request, object_id)
        if assessment is not None and self.has_view_permission(request, assessment):
            can_act = self.has_console_permission(request, assessment)
            extra.update({
                "assessment_page": True,
                "buttons": self.offered_actions(request, assessment) if can_act else [],
                "cost_lines": list(assessment.costs.order_by("id")),
                "cost_total": experts.costs_total(assessment),
                "result_words": experts.result_sentence(assessment),
            })
        return super().change_view(request, object_id, form_url, extra)

"""Expert assessments in words and figures: what the buyer's page, the seller dashboard, the emails and the console
say about them, and the console's status filters. The rules (who may do what, when) are in claims.abilities; the
writes in claims.services.experts.

The seller's warranty claim policy: "The time needed for expert assessment of the defect is not included in this
period" (an assessment during the claim pauses the warranty-claim clock), and after a denial "the buyer may send the
goods at their own expense for expert assessment ... If the expert assessment determines that the warranty claim by
the buyer is unjustified ..., the buyer shall bear all costs incurred ... The buyer must settle these costs within 30
days from the receipt of the list of costs".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.formatting import day, money, money_text

from .choices import ExpertResult, ExpertStage
from .models import Claim, ExpertAssessment, ExpertCost

# --- reads ------------------------------------------------------------------------------------------------------


def running_assessment(claim: Claim) -> ExpertAssessment | None:
    """The claim's assessment that has not concluded yet (the database allows one at a time)."""
    if "expert_assessments" in getattr(claim, "_prefetched_objects_cache", {}):
        # A list asking many claims (claims.abilities.prefetch_for_abilities) read their assessments at once.
        return next((a for a in claim.expert_assessments.all() if a.concluded_at is None), None)
    return claim.expert_assessments.filter(concluded_at__isnull=True).order_by("-requested_at", "-id").first()


def claim_assessments(claim: Claim) -> list[ExpertAssessment]:
    """A claim's assessments, oldest first, with their cost lines and reports: two queries."""
    return list(claim.expert_assessments.select_related("report").prefetch_related(
        Prefetch("costs", queryset=ExpertCost.objects.order_by("id"))).order_by("requested_at", "id"))


def costs_total(assessment: ExpertAssessment) -> Decimal:
    return money(sum((cost.amount for cost in assessment.costs.all()), Decimal("0")))


# --- the console's status filters -------------------------------------------------------------------------------

RUNNING, COSTS_DUE, OVERDUE, PAID = "running", "costs_due", "overdue", "paid"
STATUSES = [
    (RUNNING, gettext_lazy("Running")),
    (COSTS_DUE, gettext_lazy("Costs due")),
    (OVERDUE, gettext_lazy("Costs overdue")),
    (PAID, gettext_lazy("Costs paid")),
]


def status_q(status: str, today: dt.date | None = None) -> Q:
    """Each status as a condition on the assessment's own columns (the costs-due ones on the partial index)."""
    today = today or timezone.localdate()
    unpaid = Q(costs_due_on__isnull=False, costs_paid_at__isnull=True)
    return {
        RUNNING: Q(concluded_at__isnull=True),
        # "within 30 days from the receipt of the list of costs": due through the last day, overdue the day after.
        COSTS_DUE: unpaid & Q(costs_due_on__gte=today),
        OVERDUE: unpaid & Q(costs_due_on__lt=today),
        PAID: Q(costs_paid_at__isnull=False),
    }[status]


def with_status(queryset: QuerySet[ExpertAssessment], status: str) -> QuerySet[ExpertAssessment]:
    return queryset.filter(status_q(status))


# --- words ------------------------------------------------------------------------------------------------------


def expert_request_help(days: int) -> str:
    """What asking for an expert costs the buyer, said plainly before they ask (and in the written resolution)."""
    return ngettext(
        "You think the denial is wrong? You can ask for an independent expert to assess the item. You send the item "
        "at your own expense. If the expert finds the claim justified, we reopen it and decide again. If the expert "
        "finds it unjustified, you pay all the costs of the assessment, including transport, within %(count)d day "
        "of receiving the list of costs.",
        "You think the denial is wrong? You can ask for an independent expert to assess the item. You send the item "
        "at your own expense. If the expert finds the claim justified, we reopen it and decide again. If the expert "
        "finds it unjustified, you pay all the costs of the assessment, including transport, within %(count)d days "
        "of receiving the list of costs.", days) % {"count": days}


def result_sentence(assessment: ExpertAssessment) -> str:
    if assessment.result == ExpertResult.JUSTIFIED:
        return _("The expert found the claim justified.")
    if assessment.result == ExpertResult.UNJUSTIFIED:
        return _("The expert found the claim unjustified.")
    if assessment.stage == ExpertStage.AFTER_DENIAL:
        return _("Waiting for the expert's result. Our support team records it when it arrives.")
    return _("Waiting for the expert's result. The time the expert needs does not count towards the time limit "
             "for resolving the claim.")


def assessment_detail(assessment: ExpertAssessment) -> str:
    """The news of one assessment for an email: the expert, the result, its note."""
    lines = []
    if assessment.expert:
        lines.append(_("Expert: %(expert)s") % {"expert": assessment.expert})
    lines.append(result_sentence(assessment))
    if assessment.note:
        lines.append(assessment.note)
    return "\n".join(lines)


def costs_due_sentence(assessment: ExpertAssessment) -> str:
    """The buyer's part of an unjustified assessment: how much, by when, or that it was paid."""
    if assessment.costs_due_on is None:
        return ""
    total = money_text(costs_total(assessment), assessment.claim.currency)
    if assessment.costs_paid_at is not None:
        return _("You paid the costs of %(total)s. Thank you.") % {"total": total}
    return _("Please pay %(total)s by %(due)s, to the account the seller gives you or in cash.") % {
        "total": total, "due": day(assessment.costs_due_on)}

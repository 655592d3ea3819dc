"""Expert assessments of a warranty claim's defect: during the claim (the warranty-claim clock pauses), or after a
denial at the buyer's request (justified: the claim is reopened for a new decision; unjustified: the buyer bears the
listed costs, due 30 days after the list is sent).

Each service locks the claim (and the assessment), asks claims.abilities whether this person may do it now, writes,
records a timeline entry (a ClaimTransition without a change of state) and tells the parties through the outbox.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import roles
from ..abilities import (
    conclude_expert_refusal,
    expert_costs_paid_refusal,
    expert_costs_refusal,
    request_expert_refusal,
    running_during_claim,
    start_expert_refusal,
)
from ..calendar import local_date
from ..choices import EscalationCause, EvidenceKind, ExpertResult, ExpertStage, Party
from ..errors import ClaimError
from ..experts import costs_total
from ..models import Claim, ClaimTransition, ExpertAssessment, ExpertCost
from ..notifications import notify
from ..policy import Policy
from ._base import (
    User,
    _clean_text,
    _files_removed_on_failure,
    _lock,
    _money,
    _post,
    _prepare_uploads,
    _record,
    _store_evidence,
)

# What a report may be: the expert's written assessment, or another document (a photo of a paper report is a photo).
REPORT_KINDS = (EvidenceKind.INSPECTION_REPORT, EvidenceKind.DOCUMENT)


def _log(claim: Claim, name: str, by: User | None, reason: str = "") -> ClaimTransition:
    """A timeline entry that changes no state (as the first-reply breach is recorded)."""
    now = timezone.now()
    Claim.objects.filter(pk=claim.pk).update(last_activity_at=now)
    claim.last_activity_at = now
    return _record(claim, name, by=by, reason=reason, at=now)


def _save_clock(claim: Claim, fields: list[str]) -> None:
    claim.refresh_next_deadline()
    claim.save(update_fields=[*fields, "next_deadline_at", "action_due_at", "updated_at"])


def _lock_assessment(assessment: ExpertAssessment | int) -> tuple[Claim, ExpertAssessment]:
    """The claim first, then the assessment, always in this order (as every claim service locks the claim)."""
    pk = assessment.pk if isinstance(assessment, ExpertAssessment) else assessment
    claim_id = ExpertAssessment.objects.filter(pk=pk).values_list("claim_id", flat=True).first()
    if claim_id is None:
        raise ClaimError(_("This expert assessment does not exist."), code="invalid")
    claim = _lock(claim_id)
    locked = ExpertAssessment.objects.select_for_update().get(pk=pk)
    locked.claim = claim
    return claim, locked


def start_expert_assessment(*, claim: Claim, by: User, expert: str = "") -> ExpertAssessment:
    """The seller's staff (while the claim is with them) or an agent have an expert assess the defect. The claim's
    warranty-claim clock pauses until the result: "The time needed for expert assessment of the defect is not
    included in this period" (warranty claim policy)."""
    expert = _clean_text(expert, what=_("the expert's name"), required=False, limit=200)
    with transaction.atomic():
        claim = _lock(claim)
        if refusal := start_expert_refusal(claim, by):
            raise refusal
        now = timezone.now()
        try:
            with transaction.atomic():
                assessment = ExpertAssessment.objects.create(
                    claim=claim, stage=ExpertStage.DURING_CLAIM, requested_by=by,
                    requested_by_party=roles.party_of(claim, by) or Party.AGENT, requested_at=now, expert=expert)
        except IntegrityError as exc:  # one_running_expert_assessment: an assessment after a denial still runs
            raise ClaimError(_("An expert is already assessing the defect of claim %(number)s.")
                             % {"number": claim.number}, code="state") from exc
        claim.expert_paused_at = now
        _save_clock(claim, ["expert_paused_at"])
        log = _log(claim, "start_expert_assessment", by, expert)
        notify(claim, "expert_started", to=[Party.BUYER, Party.SELLER, Party.AGENT], key=log,
               context={"assessment": assessment})
    return assessment


def request_expert_assessment(*, claim: Claim, by: User) -> ExpertAssessment:
    """The buyer of a denied warranty claim asks for an expert assessment: "If the seller ... determines that the
    claim is not justified, the buyer may send the goods at their own expense for expert assessment". Agents record
    the expert, the report and the result (conclude_expert_assessment)."""
    with transaction.atomic():
        claim = _lock(claim)
        if refusal := request_expert_refusal(claim, by):
            raise refusal
        try:
            with transaction.atomic():
                assessment = ExpertAssessment.objects.create(
                    claim=claim, stage=ExpertStage.AFTER_DENIAL, requested_by=by, requested_by_party=Party.BUYER,
                    requested_at=timezone.now())
        except IntegrityError as exc:  # an assessment during the claim was left running when it was resolved
            raise ClaimError(_("An expert is already assessing the defect of claim %(number)s.")
                             % {"number": claim.number}, code="state") from exc
        log = _log(claim, "request_expert_assessment", by)
        notify(claim, "expert_requested", to=[Party.BUYER, Party.SELLER, Party.AGENT], key=log,
               context={"assessment": assessment})
    return assessment


def _paused_until(claim: Claim, now: dt.datetime) -> dt.datetime | None:
    """The warranty-claim limit moved on by the time the expert took. The legal maximum ("the resolution of the
    warranty claim must not take longer than 60 days") does not move, and the limit never passes it."""
    if claim.warranty_due_at is None or claim.expert_paused_at is None:
        return claim.warranty_due_at
    due = claim.warranty_due_at + max(now - claim.expert_paused_at, dt.timedelta(0))
    return min(due, claim.warranty_max_at) if claim.warranty_max_at else due


def conclude_expert_assessment(*, assessment: ExpertAssessment, by: User, result: str, note: str = "",
                               report: Any = None, expert: str | None = None) -> ExpertAssessment:
    """Record the expert's result (and report, checked as every evidence file is). During the claim the clock runs
    again, its limit later by the pause. After a denial: justified reopens the claim for a new decision (escalated,
    cause `expert`); unjustified leaves it denied, and the costs are listed and sent (send_expert_costs)."""
    if result not in ExpertResult.values:
        raise ClaimError(_("Please choose the expert's result."))
    note = _clean_text(note, what=_("the note on the result"), required=False)
    if expert is not None:
        expert = _clean_text(expert, what=_("the expert's name"), required=False, limit=200)
    files = _prepare_uploads([report] if report else [], kind=EvidenceKind.INSPECTION_REPORT)
    with _files_removed_on_failure() as stored, transaction.atomic():
        claim, assessment = _lock_assessment(assessment)
        if refusal := conclude_expert_refusal(claim, assessment, by):
            raise refusal
        now = timezone.now()
        party = roles.party_of(claim, by) or Party.AGENT
        if files:
            # On the thread as a message with the report attached, so both parties find it where files are shown.
            message = _post(claim, by=by, party=party, body=note or _("The expert's report is attached."))
            [assessment.report] = _store_evidence(claim, files, by=by, party=party, stored=stored, message=message)
        assessment.result = result
        assessment.note = note
        assessment.concluded_at = now
        if expert:
            assessment.expert = expert
        assessment.save(update_fields=["result", "note", "concluded_at", "report", "expert"])
        log = _log(claim, "conclude_expert_assessment", by, "\n".join(
            part for part in (str(ExpertResult(result).label), note) if part))
        if assessment.stage == ExpertStage.DURING_CLAIM:
            claim.warranty_due_at = _paused_until(claim, now)
            claim.expert_paused_at = None
            _save_clock(claim, ["warranty_due_at", "expert_paused_at"])
        elif result == ExpertResult.JUSTIFIED:
            _reopen_for_expert(claim, by=by, assessment=assessment)
            return assessment
        notify(claim, "expert_concluded", to=[Party.BUYER, Party.SELLER, Party.AGENT], key=log,
               context={"assessment": assessment})
    return assessment


def conclude_running_expert_assessment(*, claim: Claim, by: User, result: str, note: str = "",
                                       report: Any = None) -> ExpertAssessment:
    """The claim page's way (the seller dashboard): the result of the assessment running during the claim."""
    with transaction.atomic():
        claim = _lock(claim)
        running = running_during_claim(claim)
        if refusal := conclude_expert_refusal(claim, running, by):
            raise refusal
        # refused above when none is running
        return conclude_expert_assessment(assessment=cast(ExpertAssessment, running), by=by, result=result, note=note,
                                          report=report)


def _reopen_for_expert(claim: Claim, *, by: User, assessment: ExpertAssessment) -> None:
    """"The buyer may send the goods ... for expert assessment": an expert who finds the denied claim justified sends
    it back to the platform for a new decision, through the ordinary reopen (its log, its notification to both)."""
    from .agents import reopen

    reason = _("An expert found the claim justified.")
    if assessment.note:
        reason += "\n" + assessment.note
    reopened = reopen(claim=claim, by=by, reason=reason)
    Claim.objects.filter(pk=reopened.pk).update(escalation_cause=EscalationCause.EXPERT)
    claim.escalation_cause = EscalationCause.EXPERT


def add_expert_cost(*, assessment: ExpertAssessment, by: User, description: str, amount: Any) -> ExpertCost:
    """An agent lists one cost of an unjustified claim (the expert, transport, the seller's assessment), before the
    list is sent: "the buyer shall bear all costs incurred by the seller, the third party performing the service, or
    the expert ..., including those costs related to the transport of the goods"."""
    description = _clean_text(description, what=_("what the cost is for"), limit=200)
    value = _money(amount, what=_("The amount"))
    with transaction.atomic():
        claim, assessment = _lock_assessment(assessment)
        if refusal := expert_costs_refusal(assessment, by):
            raise refusal
        return ExpertCost.objects.create(assessment=assessment, description=description, amount=value)


def remove_expert_cost(*, cost: ExpertCost, by: User) -> None:
    """A cost entered by mistake goes, while the list is not sent yet."""
    with transaction.atomic():
        claim, assessment = _lock_assessment(cost.assessment_id)
        if refusal := expert_costs_refusal(assessment, by):
            raise refusal
        ExpertCost.objects.filter(pk=cost.pk, assessment=assessment).delete()


def send_expert_costs(*, assessment: ExpertAssessment, by: User) -> ExpertAssessment:
    """Email the buyer the list of costs with its due date: "The buyer must settle these costs within 30 days from
    the receipt of the list of costs" (policy `expert_costs_days`, counted in the claim's market time zone from the
    day it is sent)."""
    with transaction.atomic():
        claim, assessment = _lock_assessment(assessment)
        if refusal := expert_costs_refusal(assessment, by):
            raise refusal
        if not assessment.costs.exists():
            raise ClaimError(_("Please list at least one cost before sending the list to the buyer."))
        now = timezone.now()
        policy = Policy.from_snapshot(claim.policy)
        assessment.costs_sent_at = now
        assessment.costs_due_on = local_date(now, time_zone=policy.time_zone) + dt.timedelta(
            days=policy.expert_costs_days)
        assessment.save(update_fields=["costs_sent_at", "costs_due_on"])
        log = _log(claim, "send_expert_costs", by)
        costs = list(assessment.costs.order_by("id"))
        notify(claim, "expert_costs", to=[Party.BUYER], key=log,
               context={"assessment": assessment, "costs": costs, "total": costs_total(assessment)})
    return assessment


def mark_expert_costs_paid(*, assessment: ExpertAssessment, by: User) -> ExpertAssessment:
    """An agent records that the buyer paid the listed costs."""
    with transaction.atomic():
        claim, assessment = _lock_assessment(assessment)
        if refusal := expert_costs_paid_refusal(assessment, by):
            raise refusal
        assessment.costs_paid_at = timezone.now()
        assessment.save(update_fields=["costs_paid_at"])
        _log(claim, "expert_costs_paid", by)
    return assessment

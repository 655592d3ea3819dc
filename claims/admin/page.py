"""The console's claim page: the read-only claim with its thread, evidence, transitions and the agent's actions."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from ..admin_forms import AssignForm, MessageForm
from ..choices import ClaimState, Reason
from ..experts import claim_assessments, result_sentence
from ..models import Claim, Evidence
from ..presenters import policy_of, transition_words
from ..remedies import defect_overview
from ..resolution import written_resolution
from ..selectors import collection_status, console_claim, warranty_clock_status
from .actions import BUTTON_ACTIONS
from .display import deadline_html, state_label


class ClaimPageMixin:
    """For ClaimAdmin: the change page gets the claim's thread, evidence, transitions and action buttons."""

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        if self.has_view_permission(request):
            claim = console_claim(_int_or_none(unquote(object_id)))
            if claim is not None:
                extra.update(self._page_context(request, claim))
        return super().change_view(request, object_id, form_url, extra)

    def _page_context(self, request: HttpRequest, claim: Claim) -> dict[str, Any]:
        can_act = self.has_console_permission(request, claim)
        attachments: dict[int, list[Evidence]] = {}
        for item in claim.evidence.all():
            if item.message_id:
                attachments.setdefault(item.message_id, []).append(item)
        thread = [{"message": m, "files": attachments.get(m.pk, [])} for m in claim.messages.all()]
        policy = policy_of(claim)
        context: dict[str, Any] = {
            "claim_page": True,
            "claim": claim,
            "can_act": can_act,
            "buttons": [a for a in self.offered_actions(request, claim) if a["action"].name in BUTTON_ACTIONS]
            if can_act
            else [],
            "evidence": list(claim.evidence.all()),
            "thread": thread,
            "transitions": [
                {
                    "log": t,
                    "words": transition_words(t.name, policy),
                    "from": state_label(t.from_state),
                    "to": state_label(t.to_state),
                }
                for t in claim.transitions.all()
            ],
            "deadline": deadline_html(claim.action_due_at),
            # the warranty-claim clock and the goods waiting for collection (claims.warranty_clock, claims.collection)
            "warranty_clock": warranty_clock_status(claim),
            "collection": collection_status(claim),
            # the type of defect, what the warranty claim policy allows now, the items' defect history
            "defect": defect_overview(claim),
            "queue_url": reverse("admin:claims_claim_queue") if can_act else None,
            # expert assessments (claims.experts; a warranty claim's only) and the written resolution
            "assessments": [(a, result_sentence(a), reverse("admin:claims_expertassessment_change", args=[a.pk]))
                            for a in claim_assessments(claim)] if claim.reason == Reason.DEFECTIVE else [],
            "resolution_url": reverse("admin:claims_claim_resolution", args=[claim.pk])
            if claim.state == ClaimState.RESOLVED else None,
        }
        if can_act:
            context.update(
                {
                    "assign_form": AssignForm(obj=claim, user=request.user, auto_id="id_assign_%s"),
                    "assign_url": self.console_action_url(claim, "assign"),
                    "message_form": MessageForm(obj=claim, user=request.user, auto_id="id_message_%s"),
                    "message_url": self.console_action_url(claim, "message"),
                }
            )
        return context


class ResolutionPageMixin:
    """For ClaimAdmin: the claim's written resolution as the buyer got it (claims.resolution), printable. Whoever may
    view the claim in the console may view it."""

    def resolution_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        claim = console_claim(_int_or_none(unquote(object_id)))
        if claim is None:
            raise Http404
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": _("Resolution of claim %(number)s") % {"number": claim.number},
            "opts": self.opts,  # type: ignore[attr-defined]
            "original": claim,
            "claim": claim,
            "resolution": written_resolution(claim),
            "back_url": reverse("admin:claims_claim_change", args=[claim.pk]),
        }
        request.current_app = self.admin_site.name  # type: ignore[attr-defined]
        return TemplateResponse(request, "admin/claims/claim/resolution.html", context)


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

"""The console's claim page: the read-only claim with its thread, evidence, transitions and the agent's actions."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import unquote
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from ..admin_forms import AssignForm, MessageForm
from ..models import Claim, Evidence
from ..presenters import policy_of, transition_words
from ..selectors import console_claim
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
            "queue_url": reverse("admin:claims_claim_queue") if can_act else None,
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


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

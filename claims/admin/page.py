"""The console's claim page, built for work: a header (number, state, who must act, the deadline that matters now with
its countdown, the assignee), the agent's actions, the evidence gallery and the conversation (messages, internal notes
and the logged transitions in one stream), and the claim's facts beside them. The raw field list is the superusers'
(ClaimAdmin.get_fieldsets)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core import logs
from core.console import ConsoleMixinBase, person_label

from .. import deadlines, decision_target
from ..admin_forms import AssignForm, MessageForm
from ..choices import ClaimState, Party, Reason
from ..experts import claim_assessments, result_sentence
from ..models import Claim, ClaimTransition, Evidence, Message
from ..money import shown_refund_room
from ..policy import Policy
from ..presenters import business_days, hours, policy_of, transition_words
from ..remedies import defect_overview
from ..resolution import written_resolution
from ..selectors import collection_status, console_claim, warranty_clock_status
from .actions import BUTTON_ACTIONS
from .display import state_label
from .workspace import workspace_context

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


class ClaimPageMixin(ConsoleMixinBase):
    """For ClaimAdmin: the change page gets the header's facts (who must act, by when), the actions (Decide first), the
    evidence, the conversation as one stream and the claim's facts, in a fixed number of queries."""

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        if self.has_view_permission(request):
            claim = console_claim(_int_or_none(unquote(object_id)))
            if claim is not None:
                logs.note_claim(claim.number)  # the rest of the request's log lines name it (core.logs)
                # The admin's own form reads this one (get_object), not the row again.
                request.console_claim = claim  # type: ignore[attr-defined]  # Django's request has no such field
                extra.update(self._page_context(request, claim))
        return super().change_view(request, object_id, form_url, extra)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Claim | None:
        claim = getattr(request, "console_claim", None)
        if claim is not None and from_field is None and str(claim.pk) == str(object_id):
            return claim
        found: Claim | None = super().get_object(request, object_id, from_field)
        if found is not None:  # the console's action pages and the history: their log lines name the claim
            logs.note_claim(found.number)
        return found

    def _page_context(self, request: HttpRequest, claim: Claim) -> dict[str, Any]:
        can_act = self.has_console_permission(request, claim)
        policy = policy_of(claim)
        room = shown_refund_room(claim)  # to show, from the page's rows (console_claim), never to pay
        context: dict[str, Any] = {
            "claim_page": True,
            "claim": claim,
            # The platform's decision target while it applies (None while it waits for information or once decided).
            "decision_due": decision_target.current(claim),
            "can_act": can_act,
            # Decide first: on an escalated claim it is what the agent is there for.
            "buttons": sorted((a for a in self.offered_actions(request, claim) if a["action"].name in BUTTON_ACTIONS),
                              key=lambda a: a["action"].name != "decide")
            if can_act
            else [],
            "evidence": [_shown(e) for e in claim.evidence.all()],
            "stream": conversation(claim, policy),
            "due": due_now(claim),
            "money": {"claimed": room.claimed_value, "refunded": room.refunded, "refundable": room.total},
            "policy_rows": policy_rows(policy),
            "all_fields": request.user.is_superuser,
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
        context.update(workspace_context(request, claim, can_act=can_act, room=room))
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


class ResolutionPageMixin(ConsoleMixinBase):
    """For ClaimAdmin: the claim's written resolution as the buyer got it (claims.resolution), printable. Whoever may
    view the claim in the console may view it."""

    def resolution_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        claim = console_claim(_int_or_none(unquote(object_id)))
        if claim is None:
            raise Http404
        logs.note_claim(claim.number)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Resolution of claim %(number)s") % {"number": claim.number},
            "opts": self.opts,
            "original": claim,
            "claim": claim,
            "resolution": written_resolution(claim),
            "back_url": reverse("admin:claims_claim_change", args=[claim.pk]),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/claims/claim/resolution.html", context)


# --- the header: who must act, by when -------------------------------------------------------------------------

WHO: dict[str, StrPromise] = {Party.BUYER: gettext_lazy("The buyer"), Party.SELLER: gettext_lazy("The seller"),
                               Party.AGENT: gettext_lazy("Support (us)")}
WHAT = {
    deadlines.FIRST_REPLY_BREACHED: gettext_lazy("first reply"),
    deadlines.TAKEN_OVER: gettext_lazy("resolve with the buyer"),
    deadlines.INFO_TIMEOUT: gettext_lazy("answer the question"),
    deadlines.FORCED_REFUND: gettext_lazy("decide before the full refund"),
    deadlines.DECISION: gettext_lazy("decide"),
    deadlines.WARRANTY_LIMIT: gettext_lazy("resolve within the legal time limit"),
    deadlines.WARRANTY_MAX: gettext_lazy("resolve within the warranty claim's maximum"),
}


def due_now(claim: Claim) -> dict[str, Any] | None:
    """Who must act now and by when: claims.deadlines' answer (the same as `claim.action_due_at`), in the console's
    words. None when nobody has to act."""
    action = deadlines.action_due(deadlines.due_events(claim))
    if action is None or claim.action_due_at is None:
        return None
    return {"who": WHO.get(action.who, action.who), "what": WHAT.get(action.what, ""), "at": claim.action_due_at,
            "past": deadlines.is_overdue(claim.action_due_at, timezone.now())}


# --- the conversation -----------------------------------------------------------------------------------------


# A transition and the message written with it are saved in one service call, a moment apart.
SAME_MOMENT = dt.timedelta(seconds=2)


def conversation(claim: Claim, policy: Policy) -> list[dict[str, Any]]:
    """Messages, internal notes and the logged transitions as one stream, oldest first. Each thing once: a transition
    whose reason is a message's text (a rejection, a question, an answer, a decision) is said by that message, which
    carries the transition's words; the opening carries the claim's description and the buyer's first files. Reads the
    page's prefetched rows only."""
    attachments: dict[int, list[dict[str, Any]]] = {}
    opening_files = []
    for item in claim.evidence.all():
        if item.message_id:
            attachments.setdefault(item.message_id, []).append(_shown(item))
        elif item.party == Party.BUYER:
            opening_files.append(_shown(item))
    messages: list[Message] = list(claim.messages.all())
    by_text: dict[str, list[Message]] = {}
    for message in messages:
        by_text.setdefault(message.body.strip(), []).append(message)
    said_by: dict[int, list[dict[str, Any]]] = {}
    entries: list[dict[str, Any]] = []
    for log in claim.transitions.all():
        moment = _moment(log, policy)
        twin = _twin(log, by_text, messages)
        if twin is not None:
            said_by.setdefault(twin.pk, []).append(moment)
            continue
        if log.name == "open":
            entries.append({"kind": "opened", "at": log.created_at, "moment": moment, "body": claim.description,
                            "files": opening_files})
        else:
            entries.append({"kind": "event", "at": log.created_at, "moment": moment, "body": log.reason, "files": []})
    for message in messages:
        entries.append({"kind": "note" if message.is_internal else "message", "at": message.created_at,
                        "message": message, "files": attachments.get(message.pk, []),
                        "moments": said_by.get(message.pk, [])})
    # At the same instant the transition comes first: "Claim opened", then what was said with it.
    return sorted(entries, key=lambda entry: (entry["at"], entry["kind"] not in ("opened", "event")))


def _moment(log: ClaimTransition, policy: Policy) -> dict[str, Any]:
    return {
        "log": log,
        "words": transition_words(log.name, policy),
        "from": state_label(log.from_state),
        "to": state_label(log.to_state),
        "moved": log.from_state != log.to_state,
        "who": (f"{person_label(log.actor)} ({log.get_party_display()})" if log.actor_id else _("System")),
    }


def _twin(log: ClaimTransition, by_text: dict[str, list[Message]], messages: list[Message]) -> Message | None:
    """The message written with a transition: the same text (the closest in time), or, for a transition without a
    reason (the seller's first reply), the same person's message of the same moment."""
    reason = log.reason.strip()
    if reason:
        candidates = by_text.get(reason, [])
    elif log.actor_id and log.name != "open":
        candidates = [m for m in messages if m.author_id == log.actor_id and not m.is_internal
                      and abs(m.created_at - log.created_at) <= SAME_MOMENT]
    else:
        candidates = []
    return min(candidates, key=lambda m: abs(m.created_at - log.created_at), default=None)


def _shown(evidence: Evidence) -> dict[str, Any]:
    """How the gallery shows a file: an image (its thumbnail opens the full image), a video (played in place) or a
    link (documents); a file deleted after the retention period or at its uploader's request (claims.retention) is
    said so instead of a link that leads nowhere."""
    if evidence.purged_at is not None:
        shows = "gone"
    elif evidence.content_type.startswith("video/"):
        shows = "video"  # its thumbnail is the poster
    elif evidence.thumbnail:
        shows = "image"
    else:
        shows = "file"
    return {"evidence": evidence, "shows": shows}


# --- the facts ------------------------------------------------------------------------------------------------


def _days(count: int) -> str:
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


def policy_rows(policy: Policy) -> list[tuple[Any, str]]:
    """The claim's policy snapshot as the deadlines it set, with its own numbers (never the current settings)."""
    return [
        (_("Market"), policy.market or policy.country),
        (_("First reply within"), hours(policy.first_reply_hours)),
        (_("Resolution with the seller within"), business_days(policy.resolution_business_days)),
        (_("Answer to a question within"), _days(policy.info_days)),
        (_("Platform decides within"), business_days(policy.decision_business_days)),
        (_("Full refund at the latest after"), _days(policy.hard_deadline_days)),
        (_("Reminders before a deadline"), hours(policy.reminder_hours)),
        (_("Dispute fine"), str(policy.dispute_fine)),
    ]


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

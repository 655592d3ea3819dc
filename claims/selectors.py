"""Reads of claims for the pages: scoped to the viewer, with everything a page shows fetched in a fixed
number of queries."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import roles
from .models import (
    Claim,
    ClaimState,
    ClaimTransition,
    Evidence,
    Message,
    Offer,
    OfferStatus,
    Outcome,
    Party,
    Refund,
    RefundStatus,
)


def _detail_queryset() -> QuerySet[Claim]:
    public_messages = Message.objects.filter(is_internal=False).select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Evidence.objects.order_by("created_at", "id")))
    return Claim.objects.select_related("order", "seller", "buyer").prefetch_related(
        "items__order_item",
        Prefetch("messages", queryset=public_messages, to_attr="public_messages"),
        Prefetch("offers", queryset=Offer.objects.order_by("created_at", "id")),
        Prefetch("evidence", queryset=Evidence.objects.filter(message__isnull=True), to_attr="opening_evidence"),
        Prefetch("transitions", queryset=ClaimTransition.objects.order_by("created_at", "id")),
        "refunds",
    )


def claim_for_buyer(user, number: str) -> Claim:  # type: ignore[no-untyped-def]
    return get_object_or_404(_detail_queryset().filter(buyer=user), number=number)


def evidence_for_viewer(user, pk: int) -> Evidence:  # type: ignore[no-untyped-def]
    """An evidence file the user may see: the claim's buyer, the seller's staff, agents. Attachments of internal
    notes are for agents only. Anything else is a 404, so file ids reveal nothing."""
    evidence = get_object_or_404(Evidence.objects.select_related("claim", "message"), pk=pk)
    claim = evidence.claim
    if roles.is_agent(user):
        return evidence
    internal = evidence.message is not None and evidence.message.is_internal
    if not internal and (roles.is_claim_buyer(claim, user) or roles.is_seller_staff(user, claim.seller_id)):
        return evidence
    from django.http import Http404

    raise Http404


@dataclasses.dataclass(frozen=True)
class Deadline:
    """The deadline that matters now, in plain words, for one viewer."""

    text: str
    due_at: dt.datetime | None = None
    urgent: bool = False


def _when(moment: dt.datetime) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def buyer_deadline(claim: Claim, now: dt.datetime | None = None) -> Deadline:
    now = now or timezone.now()
    state = claim.state
    if state == ClaimState.AWAITING_SELLER:
        if claim.first_reply_breached or (claim.first_reply_due_at and now >= claim.first_reply_due_at):
            return Deadline(_("The seller did not reply within 48 hours. You can ask us to step in now; otherwise "
                              "we take over automatically on %(when)s.") % {"when": _when(claim.resolution_due_at)},
                            claim.resolution_due_at, urgent=True)
        return Deadline(_("The seller has until %(when)s to reply.") % {"when": _when(claim.first_reply_due_at)},
                        claim.first_reply_due_at)
    if state == ClaimState.IN_PROGRESS:
        if claim.rejected:
            return Deadline(_("The seller rejected your claim. If you disagree, ask us to step in: we will look "
                              "at it and decide."), None, urgent=True)
        return Deadline(_("You are working it out with the seller. If it is not solved by %(when)s, we take over "
                          "automatically.") % {"when": _when(claim.resolution_due_at)}, claim.resolution_due_at)
    if state == ClaimState.AWAITING_INFO:
        if claim.info_requested_from == Party.BUYER:
            return Deadline(_("We need information from you. Please answer by %(when)s; without an answer we may "
                              "decide with what we have.") % {"when": _when(claim.info_due_at)},
                            claim.info_due_at, urgent=True)
        return Deadline(_("We asked the seller for information; they have until %(when)s to answer.")
                        % {"when": _when(claim.info_due_at)}, claim.info_due_at)
    if state == ClaimState.ESCALATED:
        return Deadline(_("Our support team is handling your claim and will decide it. If it is still open on "
                          "%(when)s, you get a full refund.") % {"when": _when(claim.hard_deadline_at)}
                        if claim.hard_deadline_at else _("Our support team is handling your claim."),
                        None)
    if state == ClaimState.AWAITING_RETURN:
        return Deadline(_("Please send the item back as agreed. The claim is completed when it arrives."), None)
    return Deadline(outcome_sentence(claim), None)


def outcome_sentence(claim: Claim) -> str:
    amount = f"{claim.refund_amount} {claim.currency}" if claim.refund_amount else ""
    return {
        Outcome.REFUND: _("Resolved: you are refunded %(amount)s.") % {"amount": amount},
        Outcome.PARTIAL_REFUND: _("Resolved: you are refunded %(amount)s.") % {"amount": amount},
        Outcome.DISCOUNT: _("Resolved: you get a price discount of %(amount)s.") % {"amount": amount},
        Outcome.REPLACEMENT: _("Resolved: the item is replaced."),
        Outcome.REPAIR: _("Resolved: the item is repaired."),
        Outcome.DENIED: _("Closed: the claim is not covered (%(reason)s).")
        % {"reason": claim.get_denial_reason_display()},
        Outcome.WITHDRAWN: _("You closed this claim."),
        Outcome.DELIVERED: _("Closed: tracking shows your order was delivered to your address."),
    }.get(claim.outcome, _("Resolved."))


def payment_method_words(order: Any) -> str:
    """How the buyer recognises where a refund goes: "card ending 4242", "your PayPal account"."""
    from orders.models import PaymentMethod

    if order.payment_method == PaymentMethod.CARD:
        return (_("card ending %(last4)s") % {"last4": order.card_last4}) if order.card_last4 else _("your card")
    return {
        PaymentMethod.PAYPAL: _("your PayPal account"),
        PaymentMethod.BANK_TRANSFER: _("your bank account"),
    }.get(order.payment_method, _("your original payment method"))


def refund_sentence(refund: Refund) -> str:
    """What the buyer is told about one refund: how and when the money arrives, or what happens next."""
    from django.conf import settings

    claim = refund.claim
    amount = f"{refund.amount} {refund.currency}"
    where = payment_method_words(claim.order)
    if refund.status == RefundStatus.PAID:
        low, high = settings.REFUND_ARRIVAL_BUSINESS_DAYS
        return _("%(amount)s sent to your original payment method, %(where)s, on %(day)s; it usually arrives within "
                 "%(low)d–%(high)d business days.") % {
            "amount": amount, "where": where, "day": date_format(timezone.localtime(refund.paid_at), "DATE_FORMAT"),
            "low": low, "high": high}
    if refund.status == RefundStatus.FAILED:
        return _("We could not send %(amount)s to %(where)s (%(reason)s). Our finance team will try again or "
                 "contact you about another way to pay you; you don't need to do anything.") % {
            "amount": amount, "where": where, "reason": refund.failure_reason}
    return _("%(amount)s is being paid back to %(where)s. We will email you as soon as it has been sent.") % {
        "amount": amount, "where": where}


def escalation_block(claim: Claim, now: dt.datetime | None = None) -> str:
    """Why the buyer cannot escalate now ('' when they can)."""
    if claim.buyer_may_escalate(now):
        return ""
    if claim.state in (ClaimState.AWAITING_SELLER, ClaimState.IN_PROGRESS):
        return _("You can ask us to step in from %(when)s (48 hours after you opened the claim), or at once if the "
                 "seller rejects it.") % {"when": _when(claim.first_reply_due_at)}
    return ""


TRANSITION_WORDS = {  # lazy: rendered in the language of each request, not of the import
    "open": gettext_lazy("Claim opened"),
    "reply": gettext_lazy("The seller replied"),
    "reject": gettext_lazy("The seller rejected the claim"),
    "accept_offer": gettext_lazy("Offer accepted"),
    "escalate": gettext_lazy("Passed to the platform"),
    "take_over": gettext_lazy("The platform took over"),
    "request_info": gettext_lazy("Information requested"),
    "provide_info": gettext_lazy("Information provided"),
    "info_timeout": gettext_lazy("Information not provided in time"),
    "decide": gettext_lazy("The platform decided"),
    "receive_return": gettext_lazy("Returned item received"),
    "close": gettext_lazy("Closed by the buyer"),
    "mark_delivered": gettext_lazy("Closed: delivered according to tracking"),
    "force_refund": gettext_lazy("Full refund after 180 days"),
    "reopen": gettext_lazy("Reopened by the platform"),
    "first_reply_breach": gettext_lazy("The seller missed the 48-hour reply deadline"),
    "record_provider_dispute": gettext_lazy("Payment-provider dispute recorded"),
    "record_provider_verdict": gettext_lazy("Payment-provider verdict recorded"),
}


@dataclasses.dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # "event", "message" or "offer"
    title: str
    party: str
    body: str = ""
    item: Any = None


def timeline(claim: Claim) -> list[TimelineEntry]:
    """Transitions, public messages and offers of a claim prefetched by `_detail_queryset`, oldest first."""
    entries = [
        TimelineEntry(t.created_at, "event", str(TRANSITION_WORDS.get(t.name, t.name)), t.party,
                      t.reason if t.name in ("reject", "decide", "reopen", "request_info") else "")
        for t in claim.transitions.all() if t.name not in ("provide_info",)
    ]
    entries += [TimelineEntry(m.created_at, "message", "", m.party, m.body, m) for m in claim.public_messages]
    entries += [TimelineEntry(o.created_at, "offer", str(o.get_kind_display()), Party.AGENT if o.on_behalf_of_platform
                              else Party.SELLER, o.note, o) for o in claim.offers.all()]
    return sorted(entries, key=lambda e: (e.at, {"event": 0, "message": 1, "offer": 2}[e.kind]))


def pending_offer(claim: Claim) -> Offer | None:
    return next((o for o in claim.offers.all() if o.status == OfferStatus.PENDING), None)

"""The claims side of outbound webhooks (integrations.webhooks): which notification is which webhook event, and what
the event says.

`emit_for` is called by claims.notifications.notify, which every service calls, in its transaction, for every event
it reports, with a key that makes the event unique. notify may be called more than once for one event (with other
recipients), so an event's dedupe key is built from the event itself, never from the call: the type, the claim and
the notification's key, or for a change of state that several notifications can report (the claim going to the
platform, the claim resolved) the moment of that change.

The data is minimal and holds nothing personal: codes, ids, amounts and moments, never the buyer's name, email or
address, nor the text of a message (the seller's API reads a message with its key, GET /api/v1/claims/{number}).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import emails
from integrations import webhooks
from integrations.models import WebhookEndpoint, WebhookEventType
from sellers.models import MembershipRole

from .choices import ClaimState, OfferStatus
from .models import Claim, Message, Offer, OutboundEmail, Refund

ENDPOINT_DISABLED_EVENT = "webhook_endpoint_disabled"  # OutboundEmail.event of the email to the endpoint's owners

OFFER_MADE = ("offer", "platform_offer", "counter_offer")
OFFER_ACCEPTED = ("offer_accepted", "counter_offer_accepted")
OFFER_DECLINED = ("offer_declined", "counter_offer_declined")
# Every notification of a claim going (back) to the platform: the buyer or an agent escalating, the takeover at the
# resolution deadline, the warranty claim's legal limit and maximum, a return the seller did not confirm, a
# reopening and an appeal. One webhook per move (keyed by escalated_at), whichever of them reports it, and none from
# the ones that only record something about a claim already with the platform.
ESCALATIONS = ("escalated", "takeover", "warranty_limit", "warranty_max_reached", "return_not_confirmed", "reopened",
               "appealed")
DECISIONS = ("decided", "appeal_decided")
# The written resolution goes out exactly once per resolution (keyed by resolved_at), whatever resolved the claim.
RESOLUTION = "resolution"
# The reminders: which deadline, and the field holding its moment.
REMINDERS: dict[str, tuple[str, str]] = {
    "reminder_first_reply": ("first_reply", "first_reply_due_at"),
    "reminder_resolution": ("resolution", "resolution_due_at"),
    "return_reminder": ("return_shipment", "return_due_at"),
    "warranty_reminder": ("warranty_limit", "warranty_due_at"),
    "decision_reminder": ("decision", "decision_due_at"),
}
# The platform's own target for deciding: news for the platform's endpoints, not for the seller's.
PLATFORM_ONLY_REMINDERS = ("decision_reminder",)

EVENT_TYPES: dict[str, str] = {
    "opened": WebhookEventType.CLAIM_OPENED,
    "message": WebhookEventType.CLAIM_MESSAGE_POSTED,
    **dict.fromkeys(OFFER_MADE, WebhookEventType.OFFER_MADE),
    **dict.fromkeys(OFFER_ACCEPTED, WebhookEventType.OFFER_ACCEPTED),
    **dict.fromkeys(OFFER_DECLINED, WebhookEventType.OFFER_DECLINED),
    **dict.fromkeys(ESCALATIONS, WebhookEventType.CLAIM_ESCALATED),
    "info_requested": WebhookEventType.CLAIM_INFO_REQUESTED,
    **dict.fromkeys(DECISIONS, WebhookEventType.CLAIM_DECIDED),
    RESOLUTION: WebhookEventType.CLAIM_RESOLVED,
    **dict.fromkeys(REMINDERS, WebhookEventType.DEADLINE_REMINDER),
    "refund_paid": WebhookEventType.REFUND_PAID,
}


def _iso(moment: dt.datetime | None) -> str | None:
    return webhooks.utc_iso(moment) if moment is not None else None


def _money(amount: Decimal | None) -> str | None:
    return f"{amount:.2f}" if amount is not None else None


def claim_data(claim: Claim) -> dict[str, Any]:
    """The claim as every event shows it."""
    return {
        "number": claim.number,
        "state": claim.state,
        "reason": claim.reason,
        "order": claim.order.number,
        "seller": claim.seller.slug,
        # As the API says it (the later of updated_at and last_activity_at), and never before this event: the row
        # in hand may predate the change being reported (a message moves last_activity_at with an UPDATE).
        "updated_at": _iso(max(claim.updated_at, claim.last_activity_at, timezone.now())),
    }


def _offer_data(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.pk,
        "kind": offer.kind,
        "amount": _money(offer.amount),
        "currency": offer.claim.currency,
        "status": offer.status,
        # Who proposed it: the seller, the platform (an agent on its behalf) or the buyer (a counter-offer).
        "by": "platform" if offer.on_behalf_of_platform else offer.party,
        "counter_to": offer.counter_to_id,
    }


def _details(claim: Claim, event: str, key: Any, context: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """What this event adds to the claim, and its dedupe key; None when it is no webhook event after all."""
    if event in ESCALATIONS:
        if claim.state != ClaimState.ESCALATED or claim.escalated_at is None:
            return None  # recorded about a claim that is not with the platform now, or is asked for information
        return ({"escalation": {"cause": claim.escalation_cause, "at": _iso(claim.escalated_at)}},
                f"escalated:{_iso(claim.escalated_at)}")
    if event == RESOLUTION:
        if claim.state != ClaimState.RESOLVED or claim.resolved_at is None:
            return None
        return ({"resolution": {"outcome": claim.outcome, "funded_by": claim.funded_by or None,
                                "refund_amount": _money(claim.refund_amount), "currency": claim.currency,
                                "resolved_at": _iso(claim.resolved_at)}},
                f"resolved:{_iso(claim.resolved_at)}")
    if event in REMINDERS:
        kind, field = REMINDERS[event]
        due_at = getattr(claim, field)
        return {"deadline": {"kind": kind, "due_at": _iso(due_at)}}, f"{kind}:{_iso(due_at)}"
    if event == "message":  # keyed by the message's id (claims.services.parties)
        try:
            message_id = int(key)
        except (TypeError, ValueError):
            return None
        message = (Message.objects.filter(pk=message_id, claim=claim)
                   .values("party", "is_internal", "created_at").first())
        if message is None or message["is_internal"]:
            return None  # internal notes are the agents' alone
        return ({"message": {"id": message_id, "party": message["party"],
                             "created_at": _iso(message["created_at"])}},
                f"message:{message_id}")
    if event in OFFER_MADE + OFFER_ACCEPTED + OFFER_DECLINED:
        offer = context.get("offer")
        if offer is None:
            return None
        return {"offer": _offer_data(offer)}, f"{event}:{key}"
    if event in DECISIONS:
        return ({"decision": {"outcome": claim.outcome, "funded_by": claim.funded_by or None,
                              "refund_amount": _money(claim.refund_amount), "currency": claim.currency,
                              "denial_reason": claim.denial_reason or None, "decided_at": _iso(claim.decided_at),
                              "appeal": event == "appeal_decided"}},
                f"{event}:{key}")
    if event == "info_requested":
        return ({"info_request": {"from": claim.info_requested_from or None, "due_at": _iso(claim.info_due_at)}},
                f"{event}:{key}")
    if event == "refund_paid":
        refund: Refund | None = context.get("refund")
        if refund is None:
            return None
        return ({"refund": {"id": refund.pk, "amount": _money(refund.amount), "currency": refund.currency,
                            "funded_by": refund.funded_by, "status": refund.status, "paid_at": _iso(refund.paid_at)}},
                f"{event}:{key}")
    return {}, f"{event}:{key}"  # claim.opened: the claim says it all


def emit_for(claim: Claim, event: str, *, key: Any, context: dict[str, Any] | None = None) -> None:
    """The webhook event of a notification, if it has one, written in the caller's transaction
    (integrations.webhooks.emit): once per event, to the seller's endpoints and the platform's that chose its type."""
    webhook_type = EVENT_TYPES.get(event)
    if webhook_type is None:
        return
    found = _details(claim, event, key, context or {})
    if found is None:
        return
    details, unique = found
    seller_id = None if event in PLATFORM_ONLY_REMINDERS else claim.seller_id
    webhooks.emit(type=webhook_type, seller_id=seller_id, claim_number=claim.number,
                  data={"claim": claim_data(claim), **details},
                  dedupe_key=f"{webhook_type}:{claim.pk}:{unique}")
    offer = (context or {}).get("offer")
    countered = offer.counter_to if event == "counter_offer" and offer is not None else None
    if countered is not None and countered.status == OfferStatus.DECLINED:
        # The buyer declined the seller's offer by countering it: no offer_declined notification says so (the
        # counter-offer does), but the seller's systems follow offers by their own events. Keyed as that
        # notification would be.
        webhooks.emit(type=WebhookEventType.OFFER_DECLINED, seller_id=claim.seller_id, claim_number=claim.number,
                      data={"claim": claim_data(claim), "offer": _offer_data(countered)},
                      dedupe_key=f"{WebhookEventType.OFFER_DECLINED}:{claim.pk}:offer_declined:{countered.pk}")



# --- an endpoint turned off by itself: its owner is told (integrations.signals.endpoint_disabled) -----------------


def _endpoint_link(endpoint: WebhookEndpoint) -> str:
    """Where the owner sees the endpoint: the seller dashboard's webhook page, or the console's endpoints."""
    if endpoint.seller is not None:
        path = f"{reverse('sellers:webhooks')}?seller={endpoint.seller.slug}"
    else:
        try:
            path = reverse("admin:integrations_webhookendpoint_changelist")
        except NoReverseMatch:  # the console lists no endpoints: its front page
            path = reverse("admin:index")
    return emails.site_link(path)


def _endpoint_owners(endpoint: WebhookEndpoint) -> list[tuple[Any, str]]:
    """Who looks after the endpoint, with the address to write to: a seller's owners; for a platform endpoint the
    superusers and settings.ADMINS. Never an API key's own user (it reads no email), nobody without an address."""
    people = get_user_model().objects.filter(is_active=True, api_key__isnull=True).exclude(email="")
    if endpoint.seller_id:
        people = people.filter(seller_memberships__seller_id=endpoint.seller_id,
                               seller_memberships__role=MembershipRole.OWNER)
    else:
        people = people.filter(is_superuser=True)
    found: list[tuple[Any, str]] = [(user, user.email) for user in people.distinct().order_by("pk")]
    if not endpoint.seller_id:
        known = {email.lower() for _user, email in found}
        for _name, email in cast("list[tuple[str, str]]", settings.ADMINS):  # (name, address) in Django 5.2
            if email and email.lower() not in known:
                known.add(email.lower())
                found.append((None, email))
    return found


def tell_endpoint_owners(endpoint: WebhookEndpoint, *, reason: str) -> list[int]:
    """Write the email saying the endpoint was turned off to each of its owners into the outbox, in the transaction
    that turned it off, in the owner's language; sent after the commit (claims.notifications.enqueue). Returns the
    outbox rows' ids; an endpoint turned off again later is a new email (keyed by the moment it was turned off)."""
    from .notifications import enqueue

    language = webhooks.owner_language(endpoint)
    link = _endpoint_link(endpoint)
    moment = (endpoint.disabled_at or timezone.now()).strftime("%Y%m%d%H%M%S%f")
    ids = []
    for user, email in _endpoint_owners(endpoint):
        name = (user.get_full_name() or user.username) if user is not None else ""
        context = {"name": name, "url": endpoint.url, "reason": reason, "link": link}
        with translation.override(language):
            subject = _("Webhook endpoint turned off: %(url)s") % {"url": endpoint.url}
            text, html = emails.render("webhook_disabled", context)
        digest = hashlib.sha256(email.lower().encode()).hexdigest()[:16]
        try:
            with transaction.atomic():
                row = OutboundEmail.objects.create(
                    claim=None, recipient=user, to_email=email, event=ENDPOINT_DISABLED_EVENT,
                    dedupe_key=f"{ENDPOINT_DISABLED_EVENT}:{endpoint.pk}:{moment}:{digest}", language=language,
                    subject=subject[:300], body_text=text, body_html=html)
        except IntegrityError:
            continue  # told already
        ids.append(row.pk)
    if ids:
        transaction.on_commit(lambda: enqueue(ids))
    return ids

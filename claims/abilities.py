"""What may this person do on this claim now, and why not: the one answer the buyer page, the seller page, the
support console and the API ask.

A transition's answer is django-fsm-2's (`can_proceed`: source state and conditions; `has_transition_perm`: the
`permission=` callable of claims.roles). What the services check besides lives here as small `*_refusal` functions
that return the ClaimError the service raises (None when there is nothing against it); the services call the same
functions, so a check is written once. Input (amounts, texts, files) is the services' and forms' alone: an allowed
action can still be refused for what is typed.

The keys of `abilities()` are stable action names (the API's too):

    message, upload_evidence                 post on the claim's thread (evidence comes as a message's attachments)
    accept_offer, decline_offer              the buyer answers the pending offer
    make_offer, withdraw_offer               the seller while the claim is with them; an agent for the platform
    add_tracking                             the seller proves the shipment of a not-received claim
    assign                                   an agent assigns the claim
    escalate, close, reject, provide_info, receive_return, request_info, decide, record_provider_verdict, reopen
                                             the transitions of Claim of the same name
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from . import presenters, roles
from .choices import WITH_SELLER_STATES, ClaimState, OfferStatus, Party, Reason
from .errors import ClaimError
from .models import Claim, Offer
from .selectors import pending_offer

TRANSITIONS = ("escalate", "close", "reject", "provide_info", "receive_return", "request_info", "decide",
               "record_provider_verdict", "reopen")
ACTIONS = ("message", "upload_evidence", "accept_offer", "decline_offer", "make_offer", "withdraw_offer",
           "add_tracking", "assign", *TRANSITIONS)
# What the buyer's and the seller's pages offer (everyone gets an answer for every action; the console asks for its
# actions one by one).
BUYER_ACTIONS = ("message", "upload_evidence", "accept_offer", "decline_offer", "provide_info", "escalate", "close")
SELLER_ACTIONS = ("message", "upload_evidence", "make_offer", "withdraw_offer", "reject", "add_tracking",
                  "receive_return", "provide_info")


@dataclasses.dataclass(frozen=True)
class Ability:
    allowed: bool
    reason: str = ""  # for people, when not allowed
    code: str = ""  # the ClaimError code the service refuses with: "forbidden" or "state"
    opens_at: dt.datetime | None = None  # refused only until then: waiting alone makes it possible


def abilities(claim: Claim, user: Any, actions: Iterable[str] = ACTIONS) -> dict[str, Ability]:
    """Every action (or the ones asked for) of `user` on `claim` now."""
    return {action: ability(claim, user, action) for action in actions}


def ability(claim: Claim, user: Any, action: str) -> Ability:
    if action == "escalate" and escalates_too_early(claim, user):
        opens_at = claim.first_reply_due_at
        when = date_format(timezone.localtime(opens_at), "DATETIME_FORMAT")
        return Ability(False, presenters.escalation_opens(when, presenters.policy_of(claim)), "state", opens_at)
    refusal = CHECKS[action](claim, user)
    return Ability(True) if refusal is None else Ability(False, str(refusal), refusal.code or "")


# --- the refusals: the services raise them ------------------------------------------------------------------


def state_error(claim: Claim) -> ClaimError:
    return ClaimError(
        _("That is not possible now: claim %(number)s is “%(state)s”.")
        % {"number": claim.number, "state": claim.get_state_display()},
        code="state",
    )


def forbidden(claim: Claim) -> ClaimError:
    return ClaimError(_("You are not allowed to do that on claim %(number)s.") % {"number": claim.number},
                      code="forbidden")


def transition_refusal(claim: Claim, verb: str, user: Any) -> ClaimError | None:
    """django-fsm-2's answer for one transition. `user=None` is the system, which fires only what no person may."""
    method = getattr(claim, verb)
    if not can_proceed(method):
        return state_error(claim)
    if user is None:
        allowed = method._django_fsm.get_transition(claim.state).permission is roles.nobody
    else:
        allowed = has_transition_perm(method, user)
    return None if allowed else forbidden(claim)


def escalates_too_early(claim: Claim, user: Any) -> bool:
    """The buyer asks before the seller's first-reply deadline and without a rejection (agents may at any time)."""
    return (roles.is_claim_buyer(claim, user) and not roles.is_agent(user)
            and claim.state in WITH_SELLER_STATES and not claim.buyer_may_escalate())


def message_refusal(claim: Claim, user: Any, *, internal: bool = False) -> ClaimError | None:
    party = roles.party_of(claim, user)
    if party not in (Party.BUYER, Party.SELLER, Party.AGENT):
        return forbidden(claim)
    if party == Party.SELLER and not roles.is_claim_seller_staff(claim, user):
        return ClaimError(_("This seller's account is not active; the platform answers this claim."),
                          code="forbidden")
    if internal and party != Party.AGENT:
        return forbidden(claim)
    if claim.state == ClaimState.RESOLVED and party != Party.AGENT:
        return ClaimError(_("Claim %(number)s is resolved. If something is still wrong, contact support.")
                          % {"number": claim.number}, code="state")
    return None


def make_offer_refusal(claim: Claim, user: Any) -> ClaimError | None:
    """The seller's staff while the claim is with them; an agent for the platform once it is with the platform."""
    if roles.is_claim_seller_staff(claim, user) and claim.state in WITH_SELLER_STATES:
        return None
    if roles.is_agent(user) and claim.state in (ClaimState.ESCALATED, ClaimState.AWAITING_INFO):
        return None
    return state_error(claim) if roles.party_of(claim, user) in (Party.SELLER, Party.AGENT) else forbidden(claim)


def withdraw_offer_refusal(claim: Claim, offer: Offer | None, user: Any) -> ClaimError | None:
    """Agents may withdraw any offer; the seller's staff only the seller's own, not the platform's."""
    platform = offer is not None and offer.on_behalf_of_platform
    if not (roles.is_agent(user) or (not platform and roles.is_claim_seller_staff(claim, user))):
        return forbidden(claim)
    if offer is None:
        return ClaimError(_("There is no pending offer to withdraw."), code="state")
    if offer.status != OfferStatus.PENDING:
        return ClaimError(_("This offer was already answered."), code="state")
    return None


def answer_offer_refusal(claim: Claim, offer: Offer | None, user: Any) -> ClaimError | None:
    """Only the buyer accepts or declines, and only an offer still pending."""
    if not roles.is_claim_buyer(claim, user) or (offer is not None and offer.claim_id != claim.pk):
        return forbidden(claim)
    if offer is None:
        return ClaimError(_("There is no pending offer to answer."), code="state")
    if offer.status != OfferStatus.PENDING:
        return ClaimError(_("This offer is no longer open: it was %(status)s.")
                          % {"status": offer.get_status_display().lower()}, code="state")
    return None


def tracking_refusal(claim: Claim, user: Any) -> ClaimError | None:
    if not roles.is_claim_seller_staff(claim, user):
        return forbidden(claim)
    if claim.reason != Reason.NOT_RECEIVED or claim.state not in WITH_SELLER_STATES:
        return ClaimError(_("Tracking can be added to an open claim for an item not received."), code="state")
    return None


def assign_refusal(user: Any, agent: Any = None) -> ClaimError | None:
    if not roles.is_agent(user) or (agent is not None and not roles.is_agent(agent)):
        return ClaimError(_("Only support agents can be assigned claims."), code="forbidden")
    return None


CHECKS: dict[str, Callable[[Claim, Any], ClaimError | None]] = {
    "message": message_refusal,
    "upload_evidence": message_refusal,
    "accept_offer": lambda claim, user: (answer_offer_refusal(claim, pending_offer(claim), user)
                                         or transition_refusal(claim, "accept_offer", user)),
    "decline_offer": lambda claim, user: answer_offer_refusal(claim, pending_offer(claim), user),
    "make_offer": make_offer_refusal,
    "withdraw_offer": lambda claim, user: withdraw_offer_refusal(claim, pending_offer(claim), user),
    "add_tracking": tracking_refusal,
    "assign": lambda claim, user: assign_refusal(user),
    **{verb: (lambda claim, user, verb=verb: transition_refusal(claim, verb, user)) for verb in TRANSITIONS},
}

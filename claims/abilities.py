"""What may this person do on this claim now, and why not: the one answer the buyer page, the seller page, the
support console and the API ask.

A transition's answer is django-fsm-2's (`can_proceed`: source state and conditions; `has_transition_perm`: the
`permission=` callable of claims.roles). What the services check besides lives here as small `*_refusal` functions
that return the ClaimError the service raises (None when there is nothing against it); the services call the same
functions, so a check is written once. Input (amounts, texts, files) is the services' and forms' alone: an allowed
action can still be refused for what is typed.

The keys of `abilities()` are stable action names (the API's too):

    message, upload_evidence                 post on the claim's thread (evidence comes as a message's attachments)
    accept_offer, decline_offer              the buyer answers the pending offer of the seller or the platform
    make_offer, withdraw_offer               the seller while the claim is with them; an agent for the platform
    counter_offer                            the buyer proposes another amount or remedy to the seller, in place of
                                             the seller's pending offer (which it declines) or after declining one
    accept_counter_offer, decline_counter_offer
                                             the seller's staff answer the buyer's pending counter-offer (an accepted
                                             one settles the claim as an accepted offer does)
    add_tracking                             the seller proves the shipment of a not-received claim
    classify_defect                          the seller (or an agent on an escalated claim) says what kind of defect
                                             a defective claim is about (claims.remedies: what that allows)
    confirm_goods_received                   the seller (or an agent) confirms the claimed goods arrived (the clock)
    record_collection                        the seller (or an agent) records the buyer collected the goods
    assign                                   an agent assigns the claim
    start_expert_assessment                  the seller while the claim is with them, or an agent: an expert assesses
                                             the defect (the warranty-claim clock pauses)
    conclude_expert_assessment               the seller or an agent records the result of the running one (during
                                             the claim; after a denial agents only, on the assessment's console page)
    request_expert_assessment                the buyer of a denied warranty claim asks for an expert
    add_return_tracking                      the buyer enters the return parcel's tracking (claims.returns)
    mark_return_delivered                    an agent records a return parcel delivered (a carrier without events)
    appeal                                   the buyer or the seller's staff appeal the platform's decision, once,
                                             until `closes_at` (claims.appeals); it fires Claim.appeal_decision
    escalate, close, reject, provide_info, receive_return, request_info, decide, record_provider_verdict, reopen,
    exercise_warranty_rights                 the transitions of Claim of the same name (`decide` on an appealed claim
                                             is refused to the agent whose decision is appealed)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from core import formatting
from core.formatting import moment

from . import appeals, presenters, returns, roles
from .choices import (
    OPEN_STATES,
    WITH_SELLER_STATES,
    Channel,
    ClaimState,
    ExpertResult,
    ExpertStage,
    OfferStatus,
    Outcome,
    Party,
    Reason,
)
from .errors import ClaimError
from .experts import running_assessment
from .models import Claim, ExpertAssessment, Offer
from .remedies import prefetch_histories, remedies_for
from .selectors import pending_offer

TRANSITIONS = ("escalate", "close", "reject", "provide_info", "receive_return", "request_info", "decide",
               "record_provider_verdict", "reopen", "exercise_warranty_rights")
ACTIONS = ("message", "upload_evidence", "accept_offer", "decline_offer", "make_offer", "withdraw_offer",
           "counter_offer", "accept_counter_offer", "decline_counter_offer",
           "add_tracking", "assign", "start_expert_assessment", "conclude_expert_assessment",
           "request_expert_assessment", "classify_defect", "confirm_goods_received", "record_collection", "appeal",
           "add_return_tracking", "mark_return_delivered", *TRANSITIONS)
# What the buyer's and the seller's pages offer (everyone gets an answer for every action; the console asks for its
# actions one by one).
BUYER_ACTIONS = ("message", "upload_evidence", "accept_offer", "decline_offer", "counter_offer", "provide_info",
                 "escalate", "close", "exercise_warranty_rights", "request_expert_assessment", "appeal",
                 "add_return_tracking")
SELLER_ACTIONS = ("message", "upload_evidence", "make_offer", "classify_defect", "withdraw_offer",
                  "accept_counter_offer", "decline_counter_offer", "reject",
                  "add_tracking", "receive_return", "provide_info", "confirm_goods_received", "record_collection",
                  "start_expert_assessment", "conclude_expert_assessment", "appeal")


@dataclasses.dataclass(frozen=True)
class Ability:
    allowed: bool
    reason: str = ""  # for people, when not allowed
    code: str = ""  # the ClaimError code the service refuses with: "forbidden" or "state"
    opens_at: dt.datetime | None = None  # refused only until then: waiting alone makes it possible
    closes_at: dt.datetime | None = None  # allowed only until then (that moment included): an appeal's last moment


def abilities(claim: Claim, user: Any, actions: Iterable[str] = ACTIONS) -> dict[str, Ability]:
    """Every action (or the ones asked for) of `user` on `claim` now."""
    return {action: ability(claim, user, action) for action in actions}


def prefetch_for_abilities(claims: list[Claim]) -> None:
    """Read at once what `abilities` reads of each claim besides its own fields, for a list that asks it of many
    claims (the API's): its seller (is the person its staff?), offers (the pending one), log (the decision an appeal
    would be against), expert assessments (the running one), appeal and defect with the defect's history (the
    remedies the policy allows). A fixed number of queries for the page; then asking each claim costs none."""
    prefetch_related_objects(claims, "seller", "offers", "transitions", "expert_assessments", "appeal", "defect")
    prefetch_histories(claims)


def ability(claim: Claim, user: Any, action: str) -> Ability:
    if action == "escalate" and escalates_too_early(claim, user):
        return Ability(False, str(escalation_too_early(claim)), "state", claim.first_reply_due_at)
    refusal = CHECKS[action](claim, user)
    if refusal is None and action == "appeal":
        return Ability(True, closes_at=appeals.closes_at(claim))
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


def escalation_too_early(claim: Claim) -> ClaimError:
    """The disabled escalate button's sentence, which the service refuses with too: from which moment the buyer can
    ask the platform to step in (in the claim's market zone), never "you can ask us" alone while it is disabled."""
    policy = presenters.policy_of(claim)
    when = moment(claim.first_reply_due_at, zone=ZoneInfo(policy.time_zone))
    return ClaimError(presenters.escalation_opens(when, policy), code="state")


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
    """The seller's staff while the claim is with them; an agent for the platform once it is with the platform; and
    not when the warranty claim policy allows no remedy at all (a defect a discount already compensated:
    claims.remedies, which also says which kinds of offer are allowed)."""
    seller = roles.is_claim_seller_staff(claim, user) and claim.state in WITH_SELLER_STATES
    agent = roles.is_agent(user) and claim.state in (ClaimState.ESCALATED, ClaimState.AWAITING_INFO)
    if not (seller or agent):
        return state_error(claim) if roles.party_of(claim, user) in (Party.SELLER, Party.AGENT) else forbidden(claim)
    if seller and (pending := pending_offer(claim)) is not None and pending.party == Party.BUYER:
        # One offer pending at a time: the seller answers the buyer's counter-offer first (declining it frees them
        # to offer again). A new offer of the seller's own replaces their pending one instead.
        return ClaimError(_("The buyer's counter-offer is waiting for your answer: accept or decline it before you "
                            "make another offer."), code="state")
    if claim.reason == Reason.DEFECTIVE and claim.defect_id is not None:
        if not (remedies := remedies_for(claim)).offer_kinds:
            return ClaimError(remedies.why, code="state")
    return None


def withdraw_offer_refusal(claim: Claim, offer: Offer | None, user: Any) -> ClaimError | None:
    """Agents may withdraw any offer; the seller's staff only the seller's own, not the platform's."""
    platform = offer is not None and offer.on_behalf_of_platform
    if not (roles.is_agent(user) or (not platform and roles.is_claim_seller_staff(claim, user))):
        return forbidden(claim)
    if offer is None:
        return ClaimError(_("There is no pending offer to withdraw."), code="state")
    if offer.status != OfferStatus.PENDING:
        return ClaimError(_("This offer was already answered."), code="state")
    if offer.party == Party.BUYER and not roles.is_agent(user):
        return ClaimError(_("This is the buyer's counter-offer: accept or decline it."), code="state")
    return None


def answer_offer_refusal(claim: Claim, offer: Offer | None, user: Any) -> ClaimError | None:
    """Only the buyer accepts or declines, and only an offer of the seller (or the platform) still pending."""
    if not roles.is_claim_buyer(claim, user) or (offer is not None and offer.claim_id != claim.pk):
        return forbidden(claim)
    if offer is None:
        return ClaimError(_("There is no pending offer to answer."), code="state")
    if offer.status != OfferStatus.PENDING:
        return ClaimError(_("This offer is no longer open: it was %(status)s.")
                          % {"status": offer.get_status_display().lower()}, code="state")
    if offer.party == Party.BUYER:
        return ClaimError(_("This is your own counter-offer: the seller answers it."), code="state")
    return None


def counter_offer_refusal(claim: Claim, user: Any, countered: Offer | None = None) -> ClaimError | None:
    """The buyer proposes another amount or remedy to the seller: while the claim is with the seller and they have
    answered it (in progress: where the buyer accepts the seller's offers), once the seller has made an offer to
    counter. One offer is pending at a time: the buyer counters the seller's pending offer (`countered`, which the
    counter-offer declines) or, when nothing is pending, makes a new one; never while their own waits for an answer.
    A counter-offer is never to the platform: the platform decides, and its offers are accepted or declined.
    Dispute policy: "If a buyer contacts you asking for help with an order, you should work with them to resolve the
    problem"; warranty claim policy: "the seller and the buyer may agree on a reasonable price discount"."""
    if not roles.is_claim_buyer(claim, user) or (countered is not None and countered.claim_id != claim.pk):
        return forbidden(claim)
    pending = pending_offer(claim)
    if pending is not None and pending.party == Party.BUYER:
        return ClaimError(_("Your counter-offer is waiting for the seller's answer."), code="state")
    if claim.state != ClaimState.IN_PROGRESS or claim.channel != Channel.PLATFORM:
        return ClaimError(_("A counter-offer goes to the seller, so it can be made only while you are working the "
                            "claim out with the seller."), code="state")
    if countered is not None and (refusal := answer_offer_refusal(claim, countered, user)):
        return refusal
    if countered is None and pending is not None:
        # The buyer answers an offer they have not seen yet (it came while they were writing): never in its place.
        return ClaimError(_("The seller has just made an offer. Please look at it first: you can accept it, decline "
                            "it or counter it."), code="state")
    if not any(o.party == Party.SELLER and not o.on_behalf_of_platform for o in claim.offers.all()):
        return ClaimError(_("You can make a counter-offer once the seller has made you an offer."), code="state")
    if claim.reason == Reason.DEFECTIVE and claim.defect_id is not None:
        if not (remedies := remedies_for(claim)).offer_kinds:
            return ClaimError(remedies.for_buyer, code="state")
    return None


def answer_counter_refusal(claim: Claim, offer: Offer | None, user: Any) -> ClaimError | None:
    """The seller's staff accept or decline the buyer's counter-offer while it is pending and the claim is still with
    them (once the platform has the claim, the platform decides)."""
    if not roles.is_claim_seller_staff(claim, user) or (offer is not None and offer.claim_id != claim.pk):
        return forbidden(claim)
    if offer is None or offer.party != Party.BUYER:
        return ClaimError(_("There is no counter-offer from the buyer to answer."), code="state")
    if offer.status != OfferStatus.PENDING:
        return ClaimError(_("This counter-offer is no longer open: it was %(status)s.")
                          % {"status": offer.get_status_display().lower()}, code="state")
    if claim.state not in WITH_SELLER_STATES:
        return state_error(claim)
    return None


def tracking_refusal(claim: Claim, user: Any) -> ClaimError | None:
    if not roles.is_claim_seller_staff(claim, user):
        return forbidden(claim)
    if claim.reason != Reason.NOT_RECEIVED or claim.state not in WITH_SELLER_STATES:
        return ClaimError(_("Tracking can be added to an open claim for an item not received."), code="state")
    return None


def confirm_goods_received_refusal(claim: Claim, user: Any) -> ClaimError | None:
    """The seller's staff (or an agent) confirm the claimed goods reached the seller, once, on an open claim opened on
    the platform with goods to receive. The warranty process "begins on the day when all the following conditions are
    met: Delivery of the written warranty claim ..., delivery of the defective goods" (claims.warranty_clock)."""
    if not roles.is_claim_seller_staff_or_agent(claim, user):
        return forbidden(claim)
    if claim.state == ClaimState.RESOLVED or claim.channel != Channel.PLATFORM:
        return state_error(claim)
    if claim.goods_received_at is not None:
        return ClaimError(_("The goods of claim %(number)s were already confirmed as received on %(when)s.")
                          % {"number": claim.number, "when": formatting.day(claim.goods_received_at)}, code="state")
    if claim.reason == Reason.NOT_RECEIVED and claim.state != ClaimState.AWAITING_RETURN:
        return ClaimError(_("The buyer did not receive the item, so there are no goods to receive back."),
                          code="state")
    return None


def record_collection_refusal(claim: Claim, user: Any) -> ClaimError | None:
    """The seller's staff (or an agent) record that the buyer collected the goods left with the seller
    (claims.collection)."""
    if not roles.is_claim_seller_staff_or_agent(claim, user):
        return forbidden(claim)
    if claim.collection_ready_at is None:
        return ClaimError(_("Nothing of claim %(number)s waits for the buyer to collect.") % {"number": claim.number},
                          code="state")
    if claim.collected_at is not None:
        return ClaimError(_("The buyer already collected the goods on %(when)s.")
                          % {"when": formatting.day(claim.collected_at)},
                          code="state")
    return None


def classify_defect_refusal(claim: Claim, user: Any) -> ClaimError | None:
    """The seller's staff while the claim is with them; an agent once the platform has it. Defective claims only:
    the type of defect decides the remedies the warranty claim policy allows (claims.remedies)."""
    with_seller = roles.is_claim_seller_staff(claim, user) and claim.state in WITH_SELLER_STATES
    with_platform = roles.is_agent(user) and claim.state in (ClaimState.ESCALATED, ClaimState.AWAITING_INFO)
    if not (with_seller or with_platform):
        return state_error(claim) if roles.party_of(claim, user) in (Party.SELLER, Party.AGENT) else forbidden(claim)
    if claim.reason != Reason.DEFECTIVE:
        return ClaimError(_("Only a claim about a defective item has a defect to classify."), code="state")
    return None


# --- expert assessments (claims.services.experts; the words in claims.experts) --------------------------------


def start_expert_refusal(claim: Claim, user: Any) -> ClaimError | None:
    """The seller's staff while the claim is with them, or an agent while it is open, have an expert assess the
    defect of a warranty claim, one assessment at a time. "The time needed for expert assessment of the defect is not
    included in this period" (warranty claim policy): the warranty-claim clock pauses meanwhile."""
    agent = roles.is_agent(user)
    if not (agent or roles.is_claim_seller_staff(claim, user)):
        return forbidden(claim)
    if claim.reason != Reason.DEFECTIVE:
        return ClaimError(_("An expert assessment is for a defect claimed under the warranty."), code="state")
    if claim.state not in (OPEN_STATES if agent else WITH_SELLER_STATES):
        return state_error(claim)
    if claim.expert_paused_at is not None:
        return ClaimError(_("An expert is already assessing the defect of claim %(number)s.")
                          % {"number": claim.number}, code="state")
    return None


def conclude_expert_refusal(claim: Claim, assessment: ExpertAssessment | None, user: Any) -> ClaimError | None:
    """The result of an assessment during the claim: the seller's staff or an agent; after a denial: an agent, who
    records the expert, the report and the result in the console."""
    if assessment is not None and assessment.stage == ExpertStage.AFTER_DENIAL:
        allowed = roles.is_agent(user)
    else:
        allowed = roles.is_agent(user) or roles.is_claim_seller_staff(claim, user)
    if not allowed:
        return forbidden(claim)
    if assessment is None:
        return ClaimError(_("No expert assessment is running on claim %(number)s.") % {"number": claim.number},
                          code="state")
    if assessment.concluded_at is not None:
        return ClaimError(_("This expert assessment has already concluded."), code="state")
    return None


def request_expert_refusal(claim: Claim, user: Any) -> ClaimError | None:
    """The buyer of a denied warranty claim may ask for an expert, once per denial: "If the seller ... determines
    that the claim is not justified, the buyer may send the goods at their own expense for expert assessment"."""
    if not roles.is_claim_buyer(claim, user):
        return forbidden(claim)
    if (claim.reason != Reason.DEFECTIVE or claim.channel != Channel.PLATFORM or claim.state != ClaimState.RESOLVED
            or claim.outcome != Outcome.DENIED):
        return ClaimError(_("An expert assessment can be asked for when a warranty claim was denied."), code="state")
    asked = (claim.expert_assessments.filter(stage=ExpertStage.AFTER_DENIAL, requested_at__gte=claim.resolved_at)
             .order_by("-requested_at", "-id").first())
    if asked is not None and asked.concluded_at is None:
        return ClaimError(_("The expert assessment you asked for is under way."), code="state")
    if asked is not None:
        return ClaimError(_("An expert has already assessed this denial."), code="state")
    return None


def expert_costs_refusal(assessment: ExpertAssessment, user: Any) -> ClaimError | None:
    """The costs of an unjustified claim after a denial: an agent lists them and sends the list, once. "If the expert
    assessment determines that the warranty claim by the buyer is unjustified ..., the buyer shall bear all costs"."""
    if not roles.is_agent(user):
        return forbidden(assessment.claim)
    if assessment.stage != ExpertStage.AFTER_DENIAL or assessment.result != ExpertResult.UNJUSTIFIED:
        return ClaimError(_("Costs are charged only when an expert the buyer asked for finds the claim "
                            "unjustified."), code="state")
    if assessment.costs_sent_at is not None:
        return ClaimError(_("The list of costs was already sent to the buyer."), code="state")
    return None


def expert_costs_paid_refusal(assessment: ExpertAssessment, user: Any) -> ClaimError | None:
    if not roles.is_agent(user):
        return forbidden(assessment.claim)
    if assessment.costs_sent_at is None:
        return ClaimError(_("The list of costs has not been sent to the buyer yet."), code="state")
    if assessment.costs_paid_at is not None:
        return ClaimError(_("The costs are already marked as paid."), code="state")
    return None


ASSESSMENT_CHECKS: dict[str, Callable[[ExpertAssessment, Any], ClaimError | None]] = {
    "conclude": lambda assessment, user: conclude_expert_refusal(assessment.claim, assessment, user),
    "add_cost": expert_costs_refusal,
    "remove_cost": expert_costs_refusal,
    "send_costs": expert_costs_refusal,
    "mark_costs_paid": expert_costs_paid_refusal,
}


def assessment_abilities(assessment: ExpertAssessment, user: Any) -> dict[str, Ability]:
    """What `user` may do on one expert assessment now (conclude, add_cost, remove_cost, send_costs,
    mark_costs_paid): the console's page asks this, and so will the API."""
    answers = {}
    for action, check in ASSESSMENT_CHECKS.items():
        refusal = check(assessment, user)
        answers[action] = Ability(True) if refusal is None else Ability(False, str(refusal), refusal.code or "")
    return answers


def running_during_claim(claim: Claim) -> ExpertAssessment | None:
    """The assessment running during the claim, which the seller (or an agent) concludes from the claim's page. Only
    a claim paused for an expert has one: no query for the others."""
    return running_assessment(claim) if claim.expert_paused_at is not None else None


# --- appeals (claims.appeals; the writes in claims.services.appeals) --------------------------------------------


def appeal_refusal(claim: Claim, user: Any, now: dt.datetime | None = None) -> ClaimError | None:
    """Issue 16: "Buyer or seller may appeal a platform decision once, within 14 days (setting), with a reason". The
    buyer or the seller's staff; a decision of the platform (claims.appeals.appealed_decision); until its last moment;
    never a second time, whoever appealed, and never after the appeal's decision, which is final."""
    if not roles.is_claim_party(claim, user):
        return forbidden(claim)
    if (appeal := appeals.appeal_of(claim)) is not None:
        return ClaimError(appeals.already_appealed(appeal), code="state")
    if appeals.appealed_decision(claim) is None:
        return ClaimError(_("Only a decision our support team made on this claim can be appealed, and only once it "
                            "is made."), code="state")
    last = appeals.closes_at(claim)
    if last is not None and (now or timezone.now()) > last:
        return ClaimError(_("The time to appeal this decision ended on %(when)s.")
                          % {"when": appeals.when(claim, last)}, code="state")
    return transition_refusal(claim, "appeal_decision", user)


def appeal_decider_refusal(claim: Claim, user: Any) -> ClaimError | None:
    """"It goes to another agent than the one who decided": the agent whose decision is appealed does not decide the
    appeal (no query unless the claim came back by an appeal)."""
    appeal = appeals.open_appeal(claim)
    if appeal is None or user is None or appeal.first_decided_by_id != user.pk:
        return None
    return ClaimError(_("You made the decision that is appealed: another agent decides the appeal."),
                      code="forbidden")


def assign_refusal(user: Any, agent: Any = None) -> ClaimError | None:
    if not roles.is_agent(user) or (agent is not None and not roles.is_agent(agent)):
        return ClaimError(_("Only support agents can be assigned claims."), code="forbidden")
    return None


def _transition_check(verb: str) -> Callable[[Claim, Any], ClaimError | None]:
    return lambda claim, user: transition_refusal(claim, verb, user)


CHECKS: dict[str, Callable[[Claim, Any], ClaimError | None]] = {
    "message": message_refusal,
    "upload_evidence": message_refusal,
    "accept_offer": lambda claim, user: (answer_offer_refusal(claim, pending_offer(claim), user)
                                         or transition_refusal(claim, "accept_offer", user)),
    "decline_offer": lambda claim, user: answer_offer_refusal(claim, pending_offer(claim), user),
    "counter_offer": lambda claim, user: counter_offer_refusal(claim, user, pending_offer(claim)),
    "accept_counter_offer": lambda claim, user: (answer_counter_refusal(claim, pending_offer(claim), user)
                                                 or transition_refusal(claim, "accept_counter_offer", user)),
    "decline_counter_offer": lambda claim, user: answer_counter_refusal(claim, pending_offer(claim), user),
    "make_offer": make_offer_refusal,
    "withdraw_offer": lambda claim, user: withdraw_offer_refusal(claim, pending_offer(claim), user),
    "add_tracking": tracking_refusal,
    "classify_defect": lambda claim, user: classify_defect_refusal(claim, user),
    "assign": lambda claim, user: assign_refusal(user),
    "start_expert_assessment": start_expert_refusal,
    "conclude_expert_assessment": lambda claim, user: conclude_expert_refusal(claim, running_during_claim(claim),
                                                                              user),
    "request_expert_assessment": request_expert_refusal,
    "confirm_goods_received": confirm_goods_received_refusal,
    "record_collection": record_collection_refusal,
    "appeal": appeal_refusal,
    "add_return_tracking": lambda claim, user: returns.tracking_refusal(claim, user, returns.latest_return(claim)),
    "mark_return_delivered": lambda claim, user: returns.mark_delivered_refusal(claim, user,
                                                                                returns.latest_return(claim)),
    **{verb: _transition_check(verb) for verb in TRANSITIONS},
    "decide": lambda claim, user: transition_refusal(claim, "decide", user) or appeal_decider_refusal(claim, user),
}

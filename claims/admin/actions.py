"""The claim page's actions, each offered when claims.abilities allows it. Each one calls one service of
claims.services; the service locks the claim, checks the state and the agent's permission again, logs the
transition and notifies. What `run` returns is the sentence of the admin LogEntry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import formatting
from core.console import ConsoleAction

from .. import services
from ..abilities import ability
from ..admin_forms import (
    UPHOLD,
    AssignForm,
    ClassifyDefectForm,
    DecideForm,
    EscalateForm,
    MessageForm,
    OfferForm,
    ProvideInfoForm,
    ProviderVerdictForm,
    ReopenForm,
    RequestInfoForm,
    ReturnReceivedForm,
    person_label,
)
from ..appeals import console_appeal
from ..choices import DefectType, DenialReason, FundedBy, OfferKind, Outcome, Party
from ..decision import decision_context
from ..errors import ClaimError
from ..macros import count_use, macro_context
from ..models import Claim
from ..money import refund_room
from ..selectors import pending_offer
from .experts import StartForm as StartExpertForm


def _can(action: str) -> Callable[[Claim, Any], bool]:
    """Offered when claims.abilities allows the action to this person now."""
    return lambda claim, user: ability(claim, user, action).allowed


def _assign(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    agent = data["agent"]
    services.assign(claim=claim, by=by, agent=agent)
    return _("Assigned to %(agent)s.") % {"agent": person_label(agent)} if agent else _("Unassigned.")


def _escalate(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    services.escalate(claim=claim, by=by, reason=data["reason"])
    return _("Escalated: %(reason)s") % {"reason": data["reason"]}


def _request_info(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    services.request_info(claim=claim, by=by, party=data["party"], question=data["question"])
    asked = {
        Party.BUYER: _("Asked the buyer for information: %(question)s"),
        Party.SELLER: _("Asked the seller for information: %(question)s"),
    }[data["party"]]
    return asked % {"question": data["question"]}


def _provide_info(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    services.provide_info(claim=claim, by=by, body=data["body"])
    return _("Recorded the answer: %(body)s") % {"body": data["body"]}


def _decide(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    if data["outcome"] == UPHOLD:  # an appeal's decision: the appealed one stands (claims.services.appeals)
        services.uphold_appeal(claim=claim, by=by, note=data["note"])
        count_use(data.get("macro"))
        return _("Decided the appeal: the decision stands.")
    decided = services.decide(
        claim=claim,
        by=by,
        outcome=data["outcome"],
        funded_by=data["funded_by"],
        amount=data["amount"],
        denial_reason=data["denial_reason"],
        note=data["note"],
        needs_return=data["needs_return"],
        recover_from_seller=data["recover_from_seller"],
    )
    count_use(data.get("macro"))
    parts = [_("Decided: %(outcome)s") % {"outcome": Outcome(data["outcome"]).label}]
    if decided.denial_reason:
        parts.append(str(DenialReason(decided.denial_reason).label))
    if decided.funded_by == FundedBy.SELLER:
        parts.append(_("paid by the seller"))
    elif decided.funded_by == FundedBy.PLATFORM:
        parts.append(_("paid by the platform, recovered from the seller") if data["recover_from_seller"]
                     else _("paid by the platform, which bears the cost"))
    if decided.refund_amount:
        parts.append(formatting.money_text(decided.refund_amount, decided.currency))
    return "; ".join(str(p) for p in parts) + "."


def _decide_context(claim: Claim, request: Any) -> dict[str, Any]:
    """The decide page besides its form: the evidence, the conversation in brief, what is left to refund per item
    (claims.decision), and the canned replies for the note (claims.macros)."""
    room = refund_room(claim)  # once, for the refundable amounts and the macros' {refundable}
    return {"decision": decision_context(claim, room), **macro_context(request, claim, room=room),
            "appeal": console_appeal(claim, room)}


def _classify_defect(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    services.classify_defect(claim=claim, by=by, defect_type=data["defect_type"], summary=data["summary"],
                             same_as=data["same_as"], item=data["item"])
    return _("Classified the defect: %(type)s.") % {"type": DefectType(data["defect_type"]).label}


def _reopen(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    services.reopen(claim=claim, by=by, reason=data["reason"])
    return _("Reopened: %(reason)s") % {"reason": data["reason"]}


def _message(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    internal = data["visibility"] == MessageForm.INTERNAL
    services.post_message(claim=claim, by=by, body=data["body"], internal=internal)
    count_use(data.get("macro"))
    return _("Added an internal note.") if internal else _("Sent a message to the buyer and the seller.")


def _offer(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    offer = services.make_offer(
        claim=claim,
        by=by,
        kind=data["kind"],
        amount=data["amount"],
        note=data["note"],
        return_instructions=data["return_instructions"],
    )
    amount = f" ({formatting.money_text(offer.amount, claim.currency)})" if offer.amount else ""
    return _("Offered on the platform's behalf: %(kind)s%(amount)s.") % {
        "kind": OfferKind(offer.kind).label,
        "amount": amount,
    }


def _withdraw_offer(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    can, offer = ability(claim, by, "withdraw_offer"), pending_offer(claim)
    if not can.allowed or offer is None:  # allowed means there is a pending offer
        raise ClaimError(can.reason, code=can.code)
    services.withdraw_offer(offer=offer, by=by)
    return _("Withdrew the pending offer: %(kind)s.") % {"kind": OfferKind(offer.kind).label}


def _receive_return(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    services.receive_return(claim=claim, by=by, inspection_result=data["inspection_result"], note=data["note"])
    return _("Recorded the returned item as received.")


def _return_delivered(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    ret = services.mark_return_delivered(claim=claim, by=by)
    return _("Recorded the return parcel %(rma)s as delivered to the seller.") % {"rma": ret.rma_number}


def _goods_received(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    services.confirm_goods_received(claim=claim, by=by)
    return _("Recorded that the claimed goods reached the seller.")


def _collected(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    services.record_collection(claim=claim, by=by)
    return _("Recorded that the buyer collected the goods.")


def _start_expert(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    services.start_expert_assessment(claim=claim, by=by, expert=data["expert"])
    return _("Started an expert assessment: %(expert)s") % {"expert": data["expert"] or "—"}


def _provider_verdict(claim: Claim, by: Any, data: dict[str, Any]) -> str:
    services.record_provider_verdict(claim=claim, by=by, buyer_won=data["buyer_won"], amount=data["amount"])
    return (
        _("Recorded the provider's verdict: the buyer won.")
        if data["buyer_won"]
        else _("Recorded the provider's verdict: the seller won.")
    )


CLAIM_ACTIONS = (
    ConsoleAction(
        name="decide",
        label=gettext_lazy("Decide"),
        form=DecideForm,
        run=_decide,
        available=_can("decide"),
        success=gettext_lazy("The decision was recorded; the buyer and the seller are told."),
        intro=gettext_lazy(
            "The platform's decision on the claim: the outcome, who pays, and for a denial what the buyer "
            "protection does not cover."
        ),
        template="admin/claims/claim/decide.html",
        context=_decide_context,
    ),
    ConsoleAction(
        name="classify-defect",
        label=gettext_lazy("Classify the defect"),
        form=ClassifyDefectForm,
        run=_classify_defect,
        available=_can("classify_defect"),
        success=gettext_lazy("The defect was classified; the buyer is told what it means for them."),
        intro=gettext_lazy(
            "The type of defect decides the remedies the warranty claim policy allows: a removable defect a repair or "
            "a replacement; one that prevents use a replacement or a full refund; an irremovable one that does not "
            "prevent use a price discount. The same defect after two repairs, or a third different defect, entitles "
            "the buyer to a replacement or a full refund."
        ),
    ),
    ConsoleAction(
        name="request-info",
        label=gettext_lazy("Request information"),
        form=RequestInfoForm,
        run=_request_info,
        available=_can("request_info"),
        success=gettext_lazy("The question was sent."),
    ),
    ConsoleAction(
        name="provider-verdict",
        label=gettext_lazy("Record the provider's verdict"),
        form=ProviderVerdictForm,
        run=_provider_verdict,
        available=_can("record_provider_verdict"),
        success=gettext_lazy("The verdict was recorded."),
        intro=gettext_lazy(
            "The payment provider decides this dispute. When the buyer wins, the platform recovers the "
            "amount from the seller and the seller's ledger gets the dispute fine."
        ),
    ),
    ConsoleAction(
        name="offer",
        label=gettext_lazy("Make an offer"),
        form=OfferForm,
        run=_offer,
        available=_can("make_offer"),
        success=gettext_lazy("The offer was sent to the buyer."),
        intro=gettext_lazy(
            "An offer on the platform's behalf; the platform pays if the buyer accepts. A pending offer is replaced."
        ),
    ),
    ConsoleAction(
        name="withdraw-offer",
        label=gettext_lazy("Withdraw the pending offer"),
        run=_withdraw_offer,
        danger=True,
        available=_can("withdraw_offer"),
        success=gettext_lazy("The offer was withdrawn."),
    ),
    ConsoleAction(
        name="provide-info",
        label=gettext_lazy("Record the answer"),
        form=ProvideInfoForm,
        run=_provide_info,
        available=_can("provide_info"),
        success=gettext_lazy("The answer was recorded; the claim is back with the platform."),
    ),
    ConsoleAction(
        name="receive-return",
        label=gettext_lazy("Return received"),
        form=ReturnReceivedForm,
        run=_receive_return,
        available=_can("receive_return"),
        success=gettext_lazy("The return was recorded."),
    ),
    ConsoleAction(
        name="return-delivered",
        label=gettext_lazy("Return delivered"),
        run=_return_delivered,
        available=_can("mark_return_delivered"),
        success=gettext_lazy("Recorded; the seller has to confirm receipt now, and is told by when."),
        intro=gettext_lazy("For a return parcel whose carrier sends no tracking events: record that it was delivered "
                           "to the seller. The seller's time to confirm receipt starts now."),
    ),
    ConsoleAction(
        name="goods-received",
        label=gettext_lazy("Goods reached the seller"),
        run=_goods_received,
        available=_can("confirm_goods_received"),
        success=gettext_lazy("Recorded; where the market's law sets a time limit for the warranty claim, it runs "
                             "from now and the buyer is told."),
    ),
    ConsoleAction(
        name="collected",
        label=gettext_lazy("Collected by the buyer"),
        run=_collected,
        available=_can("record_collection"),
        success=gettext_lazy("The collection was recorded."),
    ),
    ConsoleAction(
        name="escalate",
        label=gettext_lazy("Take over (escalate)"),
        form=EscalateForm,
        run=_escalate,
        available=_can("escalate"),
        success=gettext_lazy("The platform now handles the claim."),
    ),
    ConsoleAction(
        name="start-expert",
        label=gettext_lazy("Start an expert assessment"),
        form=StartExpertForm,
        run=_start_expert,
        available=_can("start_expert_assessment"),
        success=gettext_lazy("The expert assessment started; the buyer and the seller are told."),
        intro=gettext_lazy(
            "An expert assesses the defect. The time the expert needs does not count towards the warranty claim's "
            "time limit; record the result on the assessment's page."
        ),
    ),
    ConsoleAction(
        name="reopen",
        label=gettext_lazy("Reopen"),
        form=ReopenForm,
        run=_reopen,
        available=_can("reopen"),
        success=gettext_lazy("The claim was reopened and is with the platform."),
    ),
    ConsoleAction(
        name="assign",
        label=gettext_lazy("Assign"),
        form=AssignForm,
        run=_assign,
        available=_can("assign"),
        success=gettext_lazy("The assignment was saved."),
    ),
    ConsoleAction(
        name="message",
        label=gettext_lazy("Add a note or message"),
        form=MessageForm,
        run=_message,
        available=_can("message"),
        success=gettext_lazy("Saved."),
    ),
)

# Shown as buttons at the top of the claim page; "assign" and "message" have their own forms on the page.
BUTTON_ACTIONS = {a.name for a in CLAIM_ACTIONS} - {"assign", "message"}

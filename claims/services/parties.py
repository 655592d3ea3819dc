"""What the seller and the buyer do on a claim."""


from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import formatting
from orders.services import TrackingError
from sellers.models import WarrantyPolicy

from .. import quotas, roles
from ..abilities import (
    answer_offer_refusal,
    escalates_too_early,
    escalation_too_early,
    forbidden,
    make_offer_refusal,
    message_refusal,
    tracking_refusal,
    withdraw_offer_refusal,
)
from ..choices import (
    MONEY_OUTCOMES,
    OFFER_KINDS_NEEDING_RETURN,
    OFFER_KINDS_WITH_AMOUNT,
    WITH_SELLER_STATES,
    ClaimState,
    EscalationCause,
    EvidenceKind,
    FundedBy,
    InspectionResult,
    OfferKind,
    OfferStatus,
    Party,
    RejectionCode,
)
from ..errors import ClaimError
from ..models import Claim, ClaimView, Message, Offer
from ..money import RefundRoom
from ..notifications import notify
from ..offers import DECLINE_REASON_LENGTH
from ..remedies import compensated_reason_refusal, remedy_refusal
from ._base import (
    User,
    _after_resolution,
    _clean_text,
    _files_removed_on_failure,
    _fire,
    _lock,
    _money,
    _pay_refund,
    _post,
    _prepare_uploads,
    _record,
    _refund_room,
)
from .keeping_up import mark_claim_read
from .returns import mark_return_received
from .tracking import record_shipment

# --- seller ---------------------------------------------------------------------------------------------


def post_message(*, claim: Claim, by: User, body: str, attachments: Iterable[Any] = (),
                 internal: bool = False) -> Message:
    """A message on the claim's thread. The seller's first message is the first reply that stops the 48-hour
    clock. Internal notes are for agents only."""
    body = _clean_text(body, what=_("a message"))
    files = _prepare_uploads(attachments, claim=claim, by=by, message=not internal)
    with _files_removed_on_failure() as stored, transaction.atomic():
        claim = _lock(claim)
        if refusal := message_refusal(claim, by, internal=internal):
            raise refusal
        party = roles.party_of(claim, by)
        quotas.check_message(claim, by=by, party=party)  # messages per person per claim per hour (issue 18)
        if party == Party.SELLER and claim.state == ClaimState.AWAITING_SELLER:
            _fire(claim, "reply", by, at=timezone.now())
        message = _post(claim, by=by, party=party, body=body, internal=internal, files=files, stored=stored)
        if not internal:
            others = [p for p in (Party.BUYER, Party.SELLER, Party.AGENT) if p != party]
            notify(claim, "message", to=others, key=message.pk, context={"detail": body, "message": message})
        return message


def reply(*, claim: Claim, by: User, body: str, attachments: Iterable[Any] = ()) -> Message:
    """The seller answers the buyer (the first answer moves the claim to in_progress)."""
    with transaction.atomic():
        locked = _lock(claim)
        if not roles.is_claim_seller_staff(locked, by):
            raise forbidden(locked)
        return post_message(claim=locked, by=by, body=body, attachments=attachments)


def reject(*, claim: Claim, by: User, code: str, body: str, evidence: Iterable[Any]) -> Claim:
    """The seller rejects the claim with a reason code, an explanation and evidence; the buyer may escalate."""
    if code not in RejectionCode.values:
        raise ClaimError(_("Please choose the reason for rejecting the claim."))
    body = _clean_text(body, what=_("why you reject the claim"))
    files = _prepare_uploads(evidence, kind=EvidenceKind.DOCUMENT, claim=claim, by=by)
    if not files:
        raise ClaimError(_("A rejection needs evidence: attach a photo or document that supports it."))
    with _files_removed_on_failure() as stored, transaction.atomic():
        claim = _lock(claim)
        log = _fire(claim, "reject", by, reason=body, code=code, at=timezone.now())
        if code == RejectionCode.COMPENSATED and (refusal := compensated_reason_refusal(claim)):
            raise refusal
        # Its words go on the thread and to the buyer, and it may be repeated: a message in the hourly quota (issue 18).
        quotas.check_message(claim, by=by, party=roles.party_of(claim, by))
        _post(claim, by=by, party=Party.SELLER, body=body, files=files, stored=stored)
        notify(claim, "rejected", to=[Party.BUYER], key=log, context={"detail": body})
    return claim


def make_offer(*, claim: Claim, by: User, kind: str, amount: Any = None, note: str = "",
               return_instructions: str = "") -> Offer:
    """A resolution proposal: by the seller while the claim is with them, or by an agent for the platform."""
    if kind not in OfferKind.values:
        raise ClaimError(_("Please choose what you offer."))
    note = _clean_text(note, what=_("the note"), required=False)
    return_instructions = _clean_text(return_instructions, what=_("the return instructions"), required=False,
                                      limit=1000)
    with transaction.atomic():
        claim = _lock(claim)
        now = timezone.now()
        if refusal := make_offer_refusal(claim, by):
            raise refusal
        if refusal := remedy_refusal(claim, kind):  # the remedies the policy allows for the type of defect
            raise refusal
        # Words and an email to the buyer, and a pending offer may be replaced: counted with messages (issue 18).
        quotas.check_message(claim, by=by, party=roles.party_of(claim, by), offer=True)
        for_platform = claim.state not in WITH_SELLER_STATES  # then it is an agent's, for the platform
        if claim.state == ClaimState.AWAITING_SELLER:
            _fire(claim, "reply", by, at=now)

        refundable = _refund_room(claim).total
        if refundable <= 0 and kind in (*OFFER_KINDS_WITH_AMOUNT, OfferKind.FULL_REFUND, OfferKind.RETURN_FOR_REFUND):
            raise ClaimError(_("Everything claimed has already been refunded."), code="state")
        if kind in OFFER_KINDS_WITH_AMOUNT:
            if amount in (None, ""):
                raise ClaimError(_("Please enter the amount you offer."))
            value = _money(amount, what=_("The amount"))
            if value >= refundable:
                raise ClaimError(_("A partial refund or discount must be less than %(max)s; offer a full "
                                   "refund instead.") % {"max": formatting.money_text(refundable, claim.currency)})
        elif kind in (OfferKind.FULL_REFUND, OfferKind.RETURN_FOR_REFUND):
            value = refundable
        else:
            value = None
        if kind == OfferKind.RETURN_FOR_REFUND and not return_instructions:
            policy = WarrantyPolicy.objects.filter(seller_id=claim.seller_id).first()
            return_instructions = policy.return_address if policy else ""
            if not return_instructions:
                raise ClaimError(_("Please give the return address or the reference of a prepaid return label."))
        claim.offers.filter(status=OfferStatus.PENDING).update(status=OfferStatus.WITHDRAWN, answered_at=now)
        offer = Offer.objects.create(claim=claim, kind=kind, amount=value, note=note,
                                     return_instructions=return_instructions, made_by=by,
                                     on_behalf_of_platform=for_platform, created_at=now)
        Claim.objects.filter(pk=claim.pk).update(last_activity_at=now)
        notify(claim, "platform_offer" if for_platform else "offer", to=[Party.BUYER], key=offer.pk,
               context={"offer": offer})
        return offer


def withdraw_offer(*, offer: Offer, by: User) -> Offer:
    with transaction.atomic():
        claim = _lock(offer.claim_id)
        offer = Offer.objects.select_for_update().get(pk=offer.pk)
        if refusal := withdraw_offer_refusal(claim, offer, by):
            raise refusal
        offer.status = OfferStatus.WITHDRAWN
        offer.answered_at = timezone.now()
        offer.save(update_fields=["status", "answered_at"])
        return offer


def _pending_offer(claim: Claim, offer: Offer, by: User) -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if refusal := answer_offer_refusal(claim, offer, by):
        raise refusal
    return offer


def accept_offer(*, offer: Offer, by: User) -> Claim:
    """The buyer accepts: money outcomes resolve the claim, returns and replacements wait for the item."""
    with transaction.atomic():
        claim = _lock(offer.claim_id)
        offer = _pending_offer(claim, offer, by)
        _settle_offer(claim, offer, by=by, verb="accept_offer",
                      news=("offer_accepted", [Party.SELLER, Party.AGENT]))
    return claim


def _settle_offer(claim: Claim, offer: Offer, *, by: User, verb: str, news: tuple[str, Sequence[str]]) -> None:
    """Settle a locked claim as the accepted offer says: the buyer accepting the seller's or the platform's offer
    (`accept_offer`) and the seller accepting the buyer's counter-offer (`accept_counter_offer`, claims.services
    .counter_offers) both come here. The outcome is the offer's (OFFER_OUTCOME); money outcomes resolve the claim and
    pay the refund within what is left to refund; a replacement, a repair or a return for refund waits for the item
    (awaiting_return). `news`: the event and the parties told that the offer was accepted."""
    now = timezone.now()
    funded_by = FundedBy.PLATFORM if offer.on_behalf_of_platform else FundedBy.SELLER
    room = _refund_room(claim) if offer.outcome in MONEY_OUTCOMES else None
    amount = _offer_amount_now(claim, offer, room)
    _fire(claim, verb, by, reason=offer.get_kind_display(), outcome=offer.outcome,
          funded_by=funded_by if offer.outcome in MONEY_OUTCOMES else "", amount=amount,
          needs_return=offer.kind in OFFER_KINDS_NEEDING_RETURN, at=now,
          return_instructions=offer.return_instructions)  # the return's address (claims.services.returns)
    offer.status = OfferStatus.ACCEPTED
    offer.answered_at = now
    offer.save(update_fields=["status", "answered_at"])
    event, parties = news
    notify(claim, event, to=parties, key=offer.pk, context={"offer": offer})
    if claim.state == ClaimState.RESOLVED:
        if amount:
            # The ledger names who committed the platform's money: the agent who made the offer.
            _pay_refund(claim, amount, funded_by=funded_by, by=offer.made_by if offer.on_behalf_of_platform else by,
                        room=room)
        _after_resolution(claim, by=by)


def _offer_amount_now(claim: Claim, offer: Offer, room: RefundRoom | None) -> Decimal | None:
    """What accepting the offer pays, against what is left to refund now (another claim on the same item may have
    been refunded since the offer was made): a full refund pays what is left; a partial one must still fit."""
    if offer.outcome not in MONEY_OUTCOMES or room is None:
        return None
    left = room.total
    if left <= 0:
        raise ClaimError(_("Everything claimed has already been refunded, so this offer can no longer be accepted."),
                         code="state")
    if offer.kind in (OfferKind.FULL_REFUND, OfferKind.RETURN_FOR_REFUND):
        return min(offer.amount or left, left)
    if offer.amount is None or offer.amount > left:
        raise ClaimError(_("This offer is worth more than is left to refund (%(max)s) after another refund "
                           "on the same items. Please decline it and ask for a new one.")
                         % {"max": formatting.money_text(left, claim.currency)}, code="state")
    return offer.amount


def decline_offer(*, offer: Offer, by: User, reason: str = "") -> Offer:
    """The buyer declines the pending offer, saying why if they like: the reason is kept on the offer, shown on the
    timeline and sent to whoever made the offer."""
    reason = _clean_text(reason, what=_("why you decline the offer"), required=False, limit=DECLINE_REASON_LENGTH)
    with transaction.atomic():
        claim = _lock(offer.claim_id)
        offer = _pending_offer(claim, offer, by)
        _decline(claim, offer, by=by, reason=reason, verb="decline_offer")
        # A platform's offer was the agent's: the seller made none.
        told = [Party.AGENT] if offer.on_behalf_of_platform else [Party.SELLER, Party.AGENT]
        notify(claim, "offer_declined", to=told, key=offer.pk, context={"offer": offer})
        return offer


def _decline(claim: Claim, offer: Offer, *, by: User, reason: str, verb: str) -> None:
    """Mark a pending offer declined with its reason, and put the moment on the claim's timeline."""
    now = timezone.now()
    offer.status = OfferStatus.DECLINED
    offer.answered_at = now
    offer.decline_reason = reason
    offer.save(update_fields=["status", "answered_at", "decline_reason"])
    _record(claim, verb, by=by, reason=reason, at=now)
    Claim.objects.filter(pk=claim.pk).update(last_activity_at=now)


def receive_return(*, claim: Claim, by: User, inspection_result: str, note: str = "",
                   evidence: Iterable[Any] = ()) -> Claim:
    """The returned item arrived: a return for refund pays out now; a repair or replacement extends the
    warranty."""
    if inspection_result not in InspectionResult.values:
        raise ClaimError(_("Please choose the result of your inspection."))
    note = _clean_text(note, what=_("the inspection note"), required=False)
    files = _prepare_uploads(evidence, kind=EvidenceKind.INSPECTION_REPORT, claim=claim, by=by)
    with _files_removed_on_failure() as stored, transaction.atomic():
        claim = _lock(claim)
        now = timezone.now()
        log = _fire(claim, "receive_return", by, reason=note or InspectionResult(inspection_result).label,
                    inspection_result=inspection_result, at=now)
        mark_return_received(claim, at=now)
        notify(claim, "return_received", to=[Party.BUYER], key=log,
               context={"detail": InspectionResult(inspection_result).label})
        if claim.outcome in MONEY_OUTCOMES and claim.refund_amount:
            # The refund decided for this return (after a reopen: the new decision's), within what is left.
            room = _refund_room(claim)
            amount = min(claim.refund_amount, room.total)
            if amount > 0:
                # What the agent decided: a platform-paid refund is recovered from the seller unless it bears it.
                _pay_refund(claim, amount, funded_by=claim.funded_by or FundedBy.SELLER, by=by,
                            recover=not claim.platform_bears_cost, room=room)
        if note or files:
            _post(claim, by=by, party=roles.party_of(claim, by) or Party.AGENT,
                  body=note or InspectionResult(inspection_result).label, files=files, stored=stored)
        _after_resolution(claim, by=by)
    return claim


def add_tracking(*, claim: Claim, by: User, carrier: str = "", tracking_number: str = "",
                 shipped_at: dt.datetime | None = None, evidence: Iterable[Any] = ()) -> Message:
    """The seller answers a not-received claim with the shipment's tracking number, proof of shipment (a
    posting receipt, a customs form), or both. A carrier's later delivery scan then closes the claim."""
    carrier = _clean_text(carrier, what=_("the carrier"), required=False, limit=50)
    tracking_number = _clean_text(tracking_number, what=_("the tracking number"), required=False, limit=64)
    if bool(carrier) != bool(tracking_number):
        raise ClaimError(_("Please give both the carrier and the tracking number."))
    files = _prepare_uploads(evidence, kind=EvidenceKind.PROOF_OF_SHIPMENT, claim=claim, by=by)
    if not tracking_number and not files:
        raise ClaimError(_("Enter a tracking number or attach a proof of shipment."))
    with _files_removed_on_failure() as stored, transaction.atomic():
        claim = _lock(claim)
        if refusal := tracking_refusal(claim, by):
            raise refusal
        # A message on the thread like any other: counted in the hourly quota (issue 18).
        quotas.check_message(claim, by=by, party=Party.SELLER)
        if tracking_number:
            # Seller-reported until the carrier confirms it: it closes nothing and moves no date by itself.
            try:
                shipment = record_shipment(order=claim.order, carrier=carrier, tracking_number=tracking_number,
                                           shipped_at=shipped_at or timezone.now(), source="seller")
            except TrackingError as error:  # another order's parcel, a date before the order or in the future
                raise ClaimError(str(error)) from error
            body = _("Shipment tracking: %(carrier)s %(number)s") % {"carrier": shipment.carrier,
                                                                     "number": shipment.tracking_number}
        else:
            body = _("Proof of shipment attached.")
        if claim.state == ClaimState.AWAITING_SELLER:
            _fire(claim, "reply", by, at=timezone.now())
        message = _post(claim, by=by, party=Party.SELLER, body=body, files=files, stored=stored)
        notify(claim, "message", to=[Party.BUYER, Party.AGENT], key=message.pk,
               context={"detail": body, "message": message})
        return message


def mark_seen(*, claim: Claim, by: User, at: dt.datetime | None = None) -> None:
    """Remember that this person has seen the claim as it was `at` (for "new activity" in lists), and read its
    notifications up to then. The pages call it after their response was sent (core.after_response), so showing a
    claim writes nothing while it answers."""
    at = at or timezone.now()
    ClaimView.objects.update_or_create(claim=claim, user=by, defaults={"seen_at": at})
    mark_claim_read(claim=claim, user=by, at=at)


# --- buyer ----------------------------------------------------------------------------------------------


def escalate(*, claim: Claim, by: User, reason: str = "") -> Claim:
    """Ask the platform to step in: the buyer after 48 hours unresolved or after a rejection; an agent
    at any time (seller inaction, harassment, manipulation)."""
    reason = _clean_text(reason, what=_("the reason"), required=False)
    with transaction.atomic():
        claim = _lock(claim)
        if escalates_too_early(claim, by):
            raise escalation_too_early(claim)  # the disabled button's own sentence
        cause = EscalationCause.AGENT if roles.is_agent(by) and not roles.is_claim_buyer(claim, by) \
            else EscalationCause.BUYER
        log = _fire(claim, "escalate", by, reason=reason, cause=cause, at=timezone.now())
        # The buyer's reason goes to both parties; an agent's reasons for stepping in stay in the console.
        notify(claim, "escalated", to=[Party.BUYER, Party.SELLER], key=log,
               context={"buyer_reason": reason if cause == EscalationCause.BUYER else ""})
    return claim


def close(*, claim: Claim, by: User) -> Claim:
    """The buyer closes the claim as satisfied (outcome withdrawn). Nobody may require it."""
    with transaction.atomic():
        claim = _lock(claim)
        log = _fire(claim, "close", by, reason=_("Closed by the buyer"), at=timezone.now())
        _after_resolution(claim, by=by)
        notify(claim, "closed", to=[Party.SELLER, Party.AGENT], key=log)
    return claim



"""The buyer's counter-offer and the seller's answer to it (claims.abilities: counter_offer, accept_counter_offer,
decline_counter_offer).

The buyer proposes another amount (a partial refund or a discount, less than what is left to refund) or another
remedy (one the warranty claim policy allows on the claim: claims.remedies), in place of the seller's pending offer,
which it declines with the buyer's reason, or after declining one. The seller accepts it, which settles the claim
exactly as the buyer accepting an offer does (parties._settle_offer), or declines it with a reason and may then offer
again. One offer is pending at a time (the database's `one_pending_offer`).

The warranty claim policy: "the seller and the buyer may agree on a reasonable price discount of the goods"; the
remedies either may propose are the ones it gives the buyer for the type of defect (claims.remedies).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import formatting
from sellers.models import WarrantyPolicy

from .. import quotas
from ..abilities import answer_counter_refusal, counter_offer_refusal
from ..choices import OFFER_KINDS_WITH_AMOUNT, OfferKind, Party
from ..errors import ClaimError
from ..models import Claim, Offer
from ..notifications import notify
from ..offers import DECLINE_REASON_LENGTH, terms
from ..remedies import remedies_for
from ._base import User, _clean_text, _lock, _money, _record, _refund_room
from .parties import _decline, _settle_offer

ANSWER_PARTIES = [Party.BUYER]


def counter_offer(*, claim: Claim, by: User, kind: str, amount: Any = None, note: str = "", reason: str = "",
                  countered: Offer | None = None) -> Offer:
    """The buyer proposes `kind` (with `amount` for a partial refund or a discount) to the seller. `countered` is the
    seller's pending offer the buyer saw and declines by countering it (with `reason`); None when nothing was pending.
    An offer that changed meanwhile (withdrawn, replaced) refuses the counter-offer: the buyer answers what they saw."""
    if kind not in OfferKind.values:
        raise ClaimError(_("Please choose what you propose."))
    note = _clean_text(note, what=_("what you propose"), required=False)
    reason = _clean_text(reason, what=_("why you decline the offer"), required=False, limit=DECLINE_REASON_LENGTH)
    with transaction.atomic():
        claim = _lock(claim)
        if countered is not None:
            countered = Offer.objects.select_for_update().get(pk=countered.pk)
        if refusal := counter_offer_refusal(claim, by, countered):
            raise refusal
        if not (remedies := remedies_for(claim)).allows(kind):
            raise ClaimError(_("“%(remedy)s” is not possible on your claim now. %(why)s")
                             % {"remedy": OfferKind(kind).label, "why": remedies.for_buyer}, code="invalid")
        value = _counter_amount(claim, kind, amount)
        # Words and an email to the seller's staff: counted with the buyer's messages (issue 18).
        quotas.check_message(claim, by=by, party=Party.BUYER, offer=True)
        now = timezone.now()
        if countered is not None:
            _decline(claim, countered, by=by, reason=reason, verb="decline_offer")
        offer = Offer.objects.create(claim=claim, kind=kind, amount=value, note=note, party=Party.BUYER,
                                     counter_to=countered, made_by=by, return_instructions=_return_address(claim, kind),
                                     created_at=now)
        _record(claim, "counter_offer", by=by, reason=terms(offer), at=now)
        notify(claim, "counter_offer", to=[Party.SELLER], key=offer.pk, context={"offer": offer})
        return offer


def _counter_amount(claim: Claim, kind: str, amount: Any) -> Any:
    """What the counter-offer is worth, bounded by what is left to refund on the claimed items (claims.money): a
    partial refund or a discount less than that; a full refund or a return for refund all of it."""
    money_kind = kind in (*OFFER_KINDS_WITH_AMOUNT, OfferKind.FULL_REFUND, OfferKind.RETURN_FOR_REFUND)
    if not money_kind:
        return None
    refundable = _refund_room(claim).total
    if refundable <= 0:
        raise ClaimError(_("Everything claimed has already been refunded."), code="state")
    if kind not in OFFER_KINDS_WITH_AMOUNT:
        return refundable
    if amount in (None, ""):
        raise ClaimError(_("Please enter the amount you ask for."))
    value = _money(amount, what=_("The amount"))
    if value >= refundable:
        raise ClaimError(_("A partial refund or a discount must be less than %(max)s, what is left to refund "
                           "on the claimed items. To get all of it back, ask for a full refund.")
                         % {"max": formatting.money_text(refundable, claim.currency)})
    return value


def _return_address(claim: Claim, kind: str) -> str:
    """Where the item goes for a return, a repair or a replacement: the seller's return address, as the seller's own
    offer says it by default."""
    if kind not in (OfferKind.RETURN_FOR_REFUND, OfferKind.REPLACEMENT, OfferKind.REPAIR):
        return ""
    policy = WarrantyPolicy.objects.filter(seller_id=claim.seller_id).first()
    return policy.return_address if policy else ""


def _pending_counter(claim: Claim, offer: Offer, by: User) -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if refusal := answer_counter_refusal(claim, offer, by):
        raise refusal
    return offer


def accept_counter_offer(*, offer: Offer, by: User) -> Claim:
    """The seller's staff accept the buyer's counter-offer: the same outcome, refund and return as the buyer accepting
    an offer (parties._settle_offer), paid by the seller."""
    with transaction.atomic():
        claim = _lock(offer.claim_id)
        offer = _pending_counter(claim, offer, by)
        _settle_offer(claim, offer, by=by, verb="accept_counter_offer", news=("counter_offer_accepted", ANSWER_PARTIES))
    return claim


def decline_counter_offer(*, offer: Offer, by: User, reason: str = "") -> Offer:
    """The seller's staff decline the buyer's counter-offer, saying why if they like; they may then offer again, and
    the buyer may counter again or ask the platform to step in when the rules allow it."""
    reason = _clean_text(reason, what=_("why you decline the counter-offer"), required=False,
                         limit=DECLINE_REASON_LENGTH)
    with transaction.atomic():
        claim = _lock(offer.claim_id)
        offer = _pending_counter(claim, offer, by)
        _decline(claim, offer, by=by, reason=reason, verb="decline_counter_offer")
        notify(claim, "counter_offer_declined", to=ANSWER_PARTIES, key=offer.pk, context={"offer": offer})
        return offer


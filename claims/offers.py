"""Offers in people's words, both ways: the seller's (or the platform's) offer to the buyer, and the buyer's
counter-offer to the seller. The buyer's and the seller's offer sections, the emails and the console read them here.

What the buyer is told about asking the platform to step in is the escalate button's own state (claims.abilities
`escalate`, Claim.buyer_may_escalate), never a sentence of its own: the page does not say "you can ask us" while the
button waits for a later moment.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from core.formatting import money_text

from .abilities import ability
from .choices import WITH_SELLER_STATES, ClaimState
from .models import Claim, Offer
from .remedies import remedies_for

DECLINE_REASON_LENGTH = 1000  # why an offer is declined: a few sentences


def terms(offer: Offer) -> str:
    """"Partial refund: €20.00", "Replacement" (the amount as the active language writes it)."""
    kind = str(offer.get_kind_display())
    return f"{kind}: {money_text(offer.amount, offer.claim.currency)}" if offer.amount else kind


def counter_kinds(claim: Claim) -> list[str]:
    """The kinds of counter-offer the buyer may propose: those the warranty claim policy allows on this claim now
    (claims.remedies, as for the seller's offers), every kind for a claim that is not about a defect."""
    return remedies_for(claim).offer_kinds


def escalation_words(claim: Claim, user: Any) -> str:
    """When `user` (the buyer) may ask the platform to step in, from the escalate ability: now, from a moment (the
    disabled button's own sentence), or nothing when that is not theirs to ask (the platform has the claim)."""
    can = ability(claim, user, "escalate")
    if can.allowed:
        return _("You can ask us to step in now.")
    if can.opens_at is not None:
        return can.reason
    if claim.state in (ClaimState.ESCALATED, ClaimState.AWAITING_INFO):
        return _("Our support team handles your claim and will decide it.")
    return ""


def if_you_decline(claim: Claim, user: Any) -> str:
    """Beside the buyer's "Decline the offer" button: what happens next."""
    if claim.state not in WITH_SELLER_STATES:
        return _("If you decline, our support team decides your claim.")
    first = _("If you decline, the seller can make you another offer.")
    return " ".join(part for part in (first, escalation_words(claim, user)) if part)


def after_decline(claim: Claim, user: Any) -> str:
    """The buyer's confirmation once the offer is declined."""
    parts = [_("You declined the offer.")]
    if claim.state in WITH_SELLER_STATES:
        parts.append(_("The seller can make you another offer."))
        if ability(claim, user, "counter_offer").allowed:
            parts.append(_("You can also propose a solution yourself."))
    parts.append(escalation_words(claim, user))
    return " ".join(part for part in parts if part)


# --- the emails' detail paragraphs (claims.notifications), in the recipient's language --------------------------


def _lines(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


def offer_detail(offer: Offer) -> str:
    """A new offer to the buyer (the event says who made it: the seller's `offer`, the platform's `platform_offer`)."""
    return _lines(terms(offer), offer.note, offer.return_instructions)


def answered_detail(offer: Offer) -> str:
    """An offer accepted, or declined by the buyer with the reason they gave."""
    reason = _("The buyer's reason: %(reason)s") % {"reason": offer.decline_reason} if offer.decline_reason else ""
    return _lines(terms(offer), offer.note, reason)


def counter_detail(offer: Offer) -> str:
    """The buyer's counter-offer to the seller, with the offer it declined and why."""
    declined = offer.counter_to
    instead = ""
    if declined is not None:
        instead = _("The buyer declined your offer (%(terms)s).") % {"terms": terms(declined)}
        if declined.decline_reason:
            instead += " " + _("The buyer's reason: %(reason)s") % {"reason": declined.decline_reason}
    return _lines(_("The buyer proposes: %(terms)s") % {"terms": terms(offer)}, offer.note, instead)


def counter_declined_detail(offer: Offer) -> str:
    """The seller declined the buyer's counter-offer: why, and what the buyer can do now."""
    claim = offer.claim
    reason = _("The seller's reason: %(reason)s") % {"reason": offer.decline_reason} if offer.decline_reason else ""
    again = _("You can propose something else.") if ability(claim, claim.buyer, "counter_offer").allowed else ""
    return _lines(terms(offer), reason, " ".join(p for p in (again, escalation_words(claim, claim.buyer)) if p))

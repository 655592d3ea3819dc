"""The return of the claimed goods (issue 16): who pays its postage, where it goes, when it must be sent and when the
seller must confirm it. One place for the rule: the actions are claims.services.returns, the due events
claims.deadlines (and the sweep), the words claims.presenters, the slip claims.return_slip.

- A claim that enters `awaiting_return` (an accepted offer or counter-offer, a decision that needs the item back) gets
  a ReturnAuthorization: an RMA number, the address (the accepted offer's return instructions, else the seller's
  return address) and who pays the postage (`postage_payer`). The dispute policy does not cover "Items that are
  returned without a return agreement": the RMA is that agreement.
- The buyer sends the goods within `return_ship_days` calendar days of the authorization, in the claim's market zone
  at the same local clock time (`ship_due`), and is reminded `return_reminder_days` before (`reminder_at`). Not sent
  by then: the claim closes as withdrawn, as a claim the buyer no longer pursues.
- Sending is entering the return parcel's carrier and tracking number, checked like a shipment's (one parcel per
  tracking number, normalised as orders does it). From then on the buyer has done their part.
- Once the carrier (or an agent, for a carrier without webhooks) reports the parcel delivered, the seller confirms
  receipt within `return_confirm_business_days` business days of the delivery, same local clock time (`confirm_due`).
  Otherwise a refund is paid by the platform and recovered from the seller (buyer protection: "we refund the purchase
  price — even if the seller doesn't pay"); a repair or replacement, which the platform cannot carry out itself, goes
  to the platform to decide.

Where the claim stands is read from its own fields, so that claims.deadlines needs no query (`stage`):
`return_due_at` runs while the buyer still has to send the goods; sending clears it and settles the reminder
(`return_reminded_at`, as a recorded breach makes a reminder moot elsewhere); `return_confirm_due_at` runs once the
goods are delivered. A claim awaiting a return from before returns were authorized has none of them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypeGuard

from django.utils import timezone
from django.utils.translation import gettext as _

from . import roles
from .calendar import add_business_days, add_calendar_days
from .choices import ClaimState, Party, Reason, ReturnStatus
from .errors import ClaimError
from .policy import Policy

if TYPE_CHECKING:
    from .models import Claim, ReturnAuthorization

# Where a claim awaiting the goods stands (`stage`).
TO_SEND = "to_send"
IN_TRANSIT = "in_transit"
DELIVERED = "delivered"

# Who pays the return's postage, by the claim's reason.
POSTAGE_PAYER: dict[str, str] = {
    # Refurbished-goods conditions, the trial period: "Within the 30-day trial period any physical product can be
    # returned irrespective of the customers motivation. The costs associated with the return are covered by the
    # merchant."
    Reason.TRIAL_RETURN: Party.SELLER,
    # The same conditions, warranty claims: "The merchant will subsequently send an email along with a return slip
    # that enables you to ship the product back to the merchant free of charge." (and the seller's warranty claim
    # policy: "All properly claimed warranty repairs are free of charge").
    Reason.DEFECTIVE: Party.SELLER,
    # Buyer protection: "If the goods don't arrive, materially differ from the description, or the warranty isn't
    # honoured, we refund the purchase price": a price less the return's postage would not be the purchase price.
    Reason.WRONG_ITEM: Party.SELLER,
    Reason.NOT_AS_DESCRIBED: Party.SELLER,
    # An item reported as not received that turned up and goes back: the dispute policy "do[es] not hold sellers
    # responsible for delivery delays or errors if the seller can prove that they have sent the goods on time", and
    # does not cover "Items received after the agreed delivery date due to a delay in delivery".
    Reason.NOT_RECEIVED: Party.BUYER,
}
# What the goods' transport costs once inspected is another matter: "So long as product damage is not covered by this
# warranty, or no product damage can be determined, the customer is obligated to cover the costs of transport and
# shipping" is settled with an expert's costs (claims.experts), after the return.


def postage_payer(claim: Claim) -> str:
    return POSTAGE_PAYER.get(claim.reason, Party.SELLER)


def return_address(instructions: str, seller_address: str) -> str:
    """Where the goods go: what the accepted offer says (an address or a prepaid label's reference), else the
    seller's return address."""
    return (instructions or "").strip() or (seller_address or "").strip()


# --- the dates -------------------------------------------------------------------------------------------------------


def ship_due(authorized_at: dt.datetime, policy: Policy) -> dt.datetime:
    return add_calendar_days(authorized_at, policy.return_ship_days, time_zone=policy.time_zone)


def reminder_at(claim: Claim, policy: Policy) -> dt.datetime | None:
    """The reminder before the ship deadline, once (none once sent or the goods are on their way)."""
    if claim.return_due_at is None or claim.return_reminded_at is not None:
        return None
    return add_calendar_days(claim.return_due_at, -policy.return_reminder_days, time_zone=policy.time_zone)


def confirm_due(delivered_at: dt.datetime, policy: Policy) -> dt.datetime:
    return add_business_days(delivered_at, policy.return_confirm_business_days, time_zone=policy.time_zone,
                             country=policy.country, subdivision=policy.subdivision)


def stage(claim: Claim) -> str:
    """TO_SEND, IN_TRANSIT, DELIVERED, or "" (not awaiting a return, or awaiting one authorized before returns had a
    clock). From the claim's fields alone."""
    if claim.state != ClaimState.AWAITING_RETURN:
        return ""
    if claim.return_confirm_due_at is not None:
        return DELIVERED
    if claim.return_due_at is not None:
        return TO_SEND
    if claim.return_reminded_at is not None:
        return IN_TRANSIT
    return ""


def buyer_holds_return(claim: Claim) -> bool:
    """The buyer still has the goods to send: an authorized return not sent yet, or (a claim from before returns had a
    clock) goods that have not reached the seller. Issue 14's rule, which claims.deadlines.buyer_must_act applies to
    the 180-day refund: it "does not run while the buyer must act"; a return on its way or delivered is not held."""
    if claim.state != ClaimState.AWAITING_RETURN or claim.goods_received_at is not None:
        return False
    return stage(claim) in (TO_SEND, "")


# --- who may do what now (claims.abilities registers them) -----------------------------------------------------------


def latest_return(claim: Claim) -> ReturnAuthorization | None:
    """The claim's latest return authorization, read once per claim object (pages ask several questions of it)."""
    if not hasattr(claim, "_latest_return"):
        claim._latest_return = claim.returns.order_by("-created_at", "-id").first()  # type: ignore[attr-defined]  # a cache on the object
    return claim._latest_return  # type: ignore[attr-defined]  # the cache set above


def tracking_refusal(claim: Claim, user: Any, ret: ReturnAuthorization | None,
                     now: dt.datetime | None = None) -> ClaimError | None:
    """The buyer enters the return parcel's tracking, once, while the claim awaits the goods and the return is
    authorized, before its ship deadline. Entered, it is the buyer's part done (a number entered by mistake is put
    right by support, who can also record the delivery)."""
    if not roles.is_claim_buyer(claim, user):
        return ClaimError(_("You are not allowed to do that on claim %(number)s.") % {"number": claim.number},
                          code="forbidden")
    if claim.state != ClaimState.AWAITING_RETURN or ret is None:
        return ClaimError(_("Claim %(number)s is not waiting for a return.") % {"number": claim.number},
                          code="state")
    if ret.status != ReturnStatus.AUTHORIZED:
        return ClaimError(_("The tracking of your return was already entered: %(carrier)s %(number)s. If it is wrong, "
                            "please tell us in a message.") % {"carrier": ret.carrier, "number": ret.tracking_number},
                          code="state")
    now = now or timezone.now()
    if claim.return_due_at is not None and claim.return_due_at <= now:
        return ClaimError(_("The time to send the item back has passed."), code="state")
    return None


def mark_delivered_refusal(claim: Claim, user: Any, ret: ReturnAuthorization | None) -> ClaimError | None:
    """An agent records the delivery of a return parcel whose carrier sends no tracking events."""
    if not roles.is_agent(user):
        return ClaimError(_("You are not allowed to do that on claim %(number)s.") % {"number": claim.number},
                          code="forbidden")
    if claim.state != ClaimState.AWAITING_RETURN or ret is None or ret.status != ReturnStatus.SHIPPED:
        return ClaimError(_("There is no return parcel on its way on claim %(number)s.") % {"number": claim.number},
                          code="state")
    return None


def slip_available(ret: ReturnAuthorization | None) -> TypeGuard[ReturnAuthorization]:
    """A slip is printed for a return still to be sent or on its way (and kept for the records afterwards); never for
    one that expired or was cancelled."""
    return ret is not None and ret.status not in (ReturnStatus.EXPIRED, ReturnStatus.CANCELLED)

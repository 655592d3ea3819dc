"""The vocabulary of claims (SPEC.md): states, reasons, outcomes, parties and the other choices, with the sets of
them the rules use. Plain values: models, services, forms, templates and the API import them from here."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClaimState(models.TextChoices):
    AWAITING_SELLER = "awaiting_seller", _("Waiting for the seller")
    IN_PROGRESS = "in_progress", _("In progress with the seller")
    AWAITING_RETURN = "awaiting_return", _("Waiting for the return")
    ESCALATED = "escalated", _("With the platform")
    AWAITING_INFO = "awaiting_info", _("Waiting for information")
    RESOLVED = "resolved", _("Resolved")


OPEN_STATES = [
    ClaimState.AWAITING_SELLER,
    ClaimState.IN_PROGRESS,
    ClaimState.AWAITING_RETURN,
    ClaimState.ESCALATED,
    ClaimState.AWAITING_INFO,
]
WITH_SELLER_STATES = [ClaimState.AWAITING_SELLER, ClaimState.IN_PROGRESS]


class Reason(models.TextChoices):
    NOT_RECEIVED = "not_received", _("Item not received")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    DEFECTIVE = "defective", _("Defective (warranty)")
    TRIAL_RETURN = "trial_return", _("Trial return")


REASONS_NEEDING_PHOTOS = {Reason.WRONG_ITEM, Reason.NOT_AS_DESCRIBED, Reason.DEFECTIVE}


class DesiredOutcome(models.TextChoices):
    REFUND = "refund", _("Refund")
    REPLACEMENT = "replacement", _("Replacement")
    REPAIR = "repair", _("Repair")
    DISCOUNT = "discount", _("Price discount")


class Channel(models.TextChoices):
    PLATFORM = "platform", _("Opened on the platform")
    PAYMENT_PROVIDER = "payment_provider", _("Payment-provider dispute")


class Outcome(models.TextChoices):
    REFUND = "refund", _("Refund")
    PARTIAL_REFUND = "partial_refund", _("Partial refund")
    REPLACEMENT = "replacement", _("Replacement")
    REPAIR = "repair", _("Repair")
    DISCOUNT = "discount", _("Discount")
    DENIED = "denied", _("Denied")
    WITHDRAWN = "withdrawn", _("Withdrawn by the buyer")
    DELIVERED = "delivered", _("Delivered")


# Outcomes paid out as money to the buyer; replacement and repair always wait for the item to come back.
MONEY_OUTCOMES = {Outcome.REFUND, Outcome.PARTIAL_REFUND, Outcome.DISCOUNT}
RETURN_OUTCOMES = {Outcome.REPLACEMENT, Outcome.REPAIR}
# A justified warranty claim extends the warranty by the time in the claim (seller's warranty policy: "Upon
# resolving a justified warranty claim, the warranty period is extended by the duration of the claim process").
# Every outcome that gave the buyer something is justified; these are the ones that did not.
UNJUSTIFIED_OUTCOMES = {Outcome.DENIED, Outcome.WITHDRAWN, Outcome.DELIVERED}
# The outcomes an agent decides (claims.services.decide); withdrawn and delivered are not an agent's decision.
DECIDE_OUTCOMES = [Outcome.REFUND, Outcome.PARTIAL_REFUND, Outcome.REPLACEMENT, Outcome.REPAIR, Outcome.DISCOUNT,
                   Outcome.DENIED]


class FundedBy(models.TextChoices):
    SELLER = "seller", _("Seller")
    PLATFORM = "platform", _("Platform")


class DenialReason(models.TextChoices):
    """Section 4's exclusions: what buyer protection and warranty do not cover."""

    DAMAGE_AFTER_RECEIPT = "damage_after_receipt", _(
        "Damage caused after receipt (drops, liquid, unapproved chargers, third-party repair, rooting/jailbreak)"
    )
    NORMAL_WEAR = "normal_wear", _("Normal wear within the grade sold")
    TRANSPORT_DAMAGE = "transport_damage", _("Transport damage although the seller packed properly")
    ALTERED_OR_USED = "altered_or_used", _("Item altered or used after receipt")
    AS_DESCRIBED = "as_described", _("Item was accurately described; it did not meet expectations")
    POSTAGE_DISPUTE = "postage_dispute", _("Postage dispute")
    OFF_PLATFORM = "off_platform", _("Purchase made outside the platform")
    CHANGE_OF_MIND = "change_of_mind", _("Change of mind (use the 14-day right of withdrawal)")
    PROOF_OF_DELIVERY = "proof_of_delivery", _("Seller proved delivery to the order's address on time")
    NO_PARTICIPATION = "no_participation", _("The buyer did not provide the information requested")
    # The refurbished-goods warranty conditions: "The scope of the warranty does not extend to: expandable parts ...;
    # damage to fragile product elements, such as glass, display, and lenses; consumable items, such as batteries (if
    # the battery life remains in line with the specifications of the manufacturer); slight discrepancies between the
    # actual condition and the nominal condition of the product that do not affect functionality".
    BATTERY_WEAR = "battery_wear", _("Battery wear within the manufacturer's specification")
    FRAGILE_PARTS = "fragile_parts", _("Damage to fragile parts: glass, display, lenses")
    EXPANDABLE_PARTS = "expandable_parts", _("Expandable parts such as memory cards or lens caps")
    COSMETIC_WEAR = "cosmetic_wear", _("Cosmetic wear within the grade sold that does not affect function")
    # Warranty claim policy: "In the case of a discount, the goods cannot later be claimed for defects for which the
    # discount was granted."
    DEFECT_COMPENSATED = "defect_compensated", _("The defect was already compensated by a price discount")
    # Warranty claim policy, consumables: "the warranty does not cover wear and tear caused by normal use of the item,
    # and it cannot be confused with the product's lifetime".
    CONSUMABLE_LIFETIME = "consumable_lifetime", _("A consumable used beyond its stated lifetime")
    EXPERT_UNJUSTIFIED = "expert_unjustified", _("An expert assessment found the claim unjustified")


class RejectionCode(models.TextChoices):
    """Why a seller rejects a claim (the buyer may escalate at once)."""

    DELIVERED = "delivered", _("The item was delivered (proof attached)")
    AS_DESCRIBED = "as_described", _("The item matches the listing")
    BUYER_DAMAGE = "buyer_damage", _("Damage caused after receipt")
    NORMAL_WEAR = "normal_wear", _("Normal wear within the grade sold")
    OUT_OF_WARRANTY = "out_of_warranty", _("Outside the warranty period")
    BATTERY_WEAR = "battery_wear", _("Battery wear within the manufacturer's specification")
    EXCLUDED_PART = "excluded_part", _("A part the warranty does not cover (glass, display, expandable parts)")
    COMPENSATED = "compensated", _("The defect was already compensated by a price discount")
    OTHER = "other", _("Other (explained in the message)")


class Party(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    SELLER = "seller", _("Seller")
    AGENT = "agent", _("Support agent")
    SYSTEM = "system", _("System")


class EscalationCause(models.TextChoices):
    BUYER = "buyer", _("Escalated by the buyer")
    AGENT = "agent", _("Escalated by an agent")
    TAKEOVER = "takeover", _("Platform took over at the resolution deadline")
    SELLER_SUSPENDED = "seller_suspended", _("Seller is suspended")
    PAYMENT_PROVIDER = "payment_provider", _("Payment-provider dispute")
    REOPENED = "reopened", _("Reopened by an agent")
    WARRANTY_LIMIT = "warranty_limit", _("Warranty claim not resolved within the legal limit")
    EXPERT = "expert", _("An expert found the claim justified")
    APPEAL = "appeal", _("Appealed against the platform's decision")


class InspectionResult(models.TextChoices):
    AS_EXPECTED = "as_expected", _("Received as expected")
    DAMAGED = "damaged", _("Received damaged")
    INCOMPLETE = "incomplete", _("Received incomplete")


class EvidenceKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    VIDEO = "video", _("Video")
    INVOICE = "invoice", _("Invoice")
    PROOF_OF_SHIPMENT = "proof_of_shipment", _("Proof of shipment")
    CUSTOMS_FORM = "customs_form", _("Customs form")
    INSPECTION_REPORT = "inspection_report", _("Inspection report")
    DOCUMENT = "document", _("Other document")


class OfferKind(models.TextChoices):
    FULL_REFUND = "full_refund", _("Full refund")
    PARTIAL_REFUND = "partial_refund", _("Partial refund")
    REPLACEMENT = "replacement", _("Replacement")
    REPAIR = "repair", _("Repair")
    RETURN_FOR_REFUND = "return_for_refund", _("Return for refund")
    DISCOUNT = "discount", _("Price discount")


OFFER_KINDS_WITH_AMOUNT = {OfferKind.PARTIAL_REFUND, OfferKind.DISCOUNT}
OFFER_KINDS_NEEDING_RETURN = {OfferKind.REPLACEMENT, OfferKind.REPAIR, OfferKind.RETURN_FOR_REFUND}
OFFER_OUTCOME: dict[str, Outcome] = {
    OfferKind.FULL_REFUND: Outcome.REFUND,
    OfferKind.PARTIAL_REFUND: Outcome.PARTIAL_REFUND,
    OfferKind.REPLACEMENT: Outcome.REPLACEMENT,
    OfferKind.REPAIR: Outcome.REPAIR,
    OfferKind.RETURN_FOR_REFUND: Outcome.REFUND,
    OfferKind.DISCOUNT: Outcome.DISCOUNT,
}


class OfferStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class RefundStatus(models.TextChoices):
    """A refund's payout: pending → submitted (handed to the payment provider) → paid, or failed with the reason.
    A failed payout goes back to pending when it is retried."""

    PENDING = "pending", _("Pending payout")
    SUBMITTED = "submitted", _("Submitted for payout")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")


class DefectType(models.TextChoices):
    """The warranty claim policy's kinds of defect, which decide the buyer's remedies (see REMEDIES)."""

    REMOVABLE = "removable", _("Removable")
    REMOVABLE_PREVENTS_USE = "removable_prevents_use", _("Removable, but prevents proper use")
    IRREMOVABLE = "irremovable", _("Irremovable, does not prevent use")
    IRREMOVABLE_PREVENTS_USE = "irremovable_prevents_use", _("Irremovable and prevents proper use")


class RemedyKind(models.TextChoices):
    """What a defect of an order item was compensated with (claims.models.DefectRemedy)."""

    REPAIR = "repair", _("Repair")
    REPLACEMENT = "replacement", _("Replacement")
    DISCOUNT = "discount", _("Price discount")
    REFUND = "refund", _("Refund (withdrawal)")


class ExpertStage(models.TextChoices):
    DURING_CLAIM = "during_claim", _("During the claim (the clock is paused)")
    AFTER_DENIAL = "after_denial", _("After a denial, asked by the buyer")


class ExpertResult(models.TextChoices):
    JUSTIFIED = "justified", _("The claim is justified")
    UNJUSTIFIED = "unjustified", _("The claim is unjustified")


class AppealStatus(models.TextChoices):
    OPEN = "open", _("Waiting for a second agent")
    UPHELD = "upheld", _("Decision upheld")
    CHANGED = "changed", _("Decision changed")


class ReturnStatus(models.TextChoices):
    AUTHORIZED = "authorized", _("Waiting for the buyer to send the item")
    SHIPPED = "shipped", _("On its way back to the seller")
    DELIVERED = "delivered", _("Delivered to the seller")
    RECEIVED = "received", _("Receipt confirmed by the seller")
    EXPIRED = "expired", _("Not sent in time")
    CANCELLED = "cancelled", _("Cancelled")


class EmailKind(models.TextChoices):
    """The kinds of email a person chooses to get or not (claims.keeping_up); each notification event has one
    (claims.notifications.Event.kind). ALWAYS is every mail that carries a deadline, a decision or what the law
    requires in writing: it cannot be turned off, and an event that names no kind is one of them."""

    MESSAGES = "messages", _("Messages")
    OFFERS = "offers", _("Offers and answers to offers")
    PROGRESS = "progress", _("Updates on the claim's progress")
    SURVEYS = "surveys", _("Satisfaction surveys")
    ALWAYS = "always", _("Deadlines, decisions and legal notices")

"""The written resolution of a claim: what the buyer's email, the buyer's printable page, the seller dashboard's and
the console's copies all say, built by one function (`written_resolution`).

The seller's warranty claim policy: "the seller will provide confirmation of the date and method of resolving the
claim, including confirmation of the repair performed and the duration of the claim process, or, if the claim is
denied, the reasons for rejection", and "No later than 30 days from the date the claim was submitted, the seller will
issue a written confirmation of the claim resolution". SPEC section 5: "a written resolution to the buyer whenever a
claim is resolved (outcome, date, days in the claim, new warranty end)".

The facts are read once (`written_resolution`); the sentences are properties, so they are written in the language
active where they are read: the recipient's in an email (claims.notifications renders under their language), the
reader's on a page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import formatting

from .abilities import request_expert_refusal
from .calendar import local_date
from .choices import RETURN_OUTCOMES, UNJUSTIFIED_OUTCOMES, Channel, DenialReason, FundedBy, Outcome
from .eligibility import receipt_date, warranty_ends_on
from .policy import Policy
from .presenters import denial_words


@dataclasses.dataclass(frozen=True)
class ResolvedItem:
    title: str
    quantity: int
    # The last day of the item's warranty as it stands now, after this claim's extension (None: it has none).
    warranty_until: dt.date | None


@dataclasses.dataclass(frozen=True)
class WrittenResolution:
    claim: Any
    outcome: str
    submitted_on: dt.date
    resolved_on: dt.date
    # "The duration of the claim process is calculated from the day following the claim submission until the day
    # the claim is resolved" (warranty claim policy, common provisions): days between the two local dates.
    days: int
    amount: Decimal | None
    currency: str
    funded_by: str
    denial_reason: str
    decision_note: str
    inspection_result: str
    items: list[ResolvedItem]
    # The buyer may ask for an expert assessment of this denial now (claims.abilities.request_expert_refusal).
    expert_route: bool
    expert_costs_days: int

    @property
    def justified(self) -> bool:
        """A justified claim extends the warranty by its duration; withdrawn, delivered and denied ones do not."""
        return self.outcome not in UNJUSTIFIED_OUTCOMES

    @property
    def outcome_label(self) -> str:
        return str(Outcome(self.outcome).label) if self.outcome in Outcome.values else _("Resolved")

    @property
    def amount_text(self) -> str:
        return amount_words(self.amount, self.currency, self.funded_by)

    @property
    def outcome_sentence(self) -> str:
        return outcome_words(self.outcome, self.amount_text)

    @property
    def duration_sentence(self) -> str:
        return ngettext(
            "The claim took %(count)d day: counted from the day after you submitted it (%(submitted)s) to the day it "
            "was resolved (%(resolved)s).",
            "The claim took %(count)d days: counted from the day after you submitted it (%(submitted)s) to the day "
            "it was resolved (%(resolved)s).", self.days) % {
            "count": self.days, "submitted": formatting.day(self.submitted_on),
            "resolved": formatting.day(self.resolved_on)}

    @property
    def reasons(self) -> list[str]:
        """The reasons for a denial, in words: the exclusion named, and the decision's note."""
        if self.outcome != Outcome.DENIED:
            return []
        reasons = []
        if self.denial_reason in DenialReason.values:
            # The same sentence the decision and the Get help page's list of exclusions use (claims.presenters).
            reasons.append(str(denial_words(self.denial_reason) or DenialReason(self.denial_reason).label))
        elif self.claim.channel == Channel.PAYMENT_PROVIDER:
            reasons.append(_("The payment provider decided for the seller."))
        if self.decision_note:
            reasons.append(self.decision_note)
        return reasons

    @property
    def inspection_text(self) -> str:
        """The returned item's inspection when the seller received it (the repair or replacement confirmed)."""
        if not self.inspection_result or self.outcome not in {*RETURN_OUTCOMES, Outcome.REFUND}:
            return ""
        return str(self.claim.get_inspection_result_display())

    @property
    def warranty_sentence(self) -> str:
        if not any(item.warranty_until for item in self.items):
            return ""
        if self.justified:
            return ngettext("Your warranty is extended by the %(count)d day the claim took.",
                            "Your warranty is extended by the %(count)d days the claim took.",
                            self.days) % {"count": self.days}
        return _("The warranty is not extended: it is extended only when a claim is justified.")

    @property
    def expert_sentence(self) -> str:
        if not self.expert_route:
            return ""
        from .experts import expert_request_help

        return expert_request_help(self.expert_costs_days)


def amount_words(amount: Decimal | None, currency: str, funded_by: str) -> str:
    """The amount the buyer gets and who pays it, as the active language writes it: "€199.00, paid by the seller",
    "199,00 €, …" ('' without an amount). Also the decision's email (claims.decision), before the claim is resolved."""
    if not amount:
        return ""
    text = formatting.money_text(amount, currency)
    if funded_by == FundedBy.SELLER:
        return _("%(amount)s, paid by the seller") % {"amount": text}
    if funded_by == FundedBy.PLATFORM:
        return _("%(amount)s, paid by the platform") % {"amount": text}
    return text


def outcome_words(outcome: str, amount_text: str) -> str:
    """The outcome in the buyer's words, with `amount_words`' amount."""
    sentences: dict[str, str] = {
        Outcome.REFUND: _("Your claim was accepted: you get a refund of %(amount)s.") % {"amount": amount_text},
        Outcome.PARTIAL_REFUND: _("Your claim was accepted: you get a partial refund of %(amount)s.")
        % {"amount": amount_text},
        Outcome.DISCOUNT: _("Your claim was accepted: you get a price discount of %(amount)s.")
        % {"amount": amount_text},
        Outcome.REPLACEMENT: _("Your claim was accepted: the item is replaced, free of charge for you."),
        Outcome.REPAIR: _("Your claim was accepted: the item is repaired, free of charge for you."),
        Outcome.DENIED: _("Your claim was denied."),
        Outcome.WITHDRAWN: _("You closed the claim yourself."),
        Outcome.DELIVERED: _("The claim was closed: tracking shows your order was delivered to your address."),
    }
    return sentences.get(outcome, _("Your claim was resolved."))


def written_resolution(claim: Any) -> WrittenResolution | None:
    """The written resolution of a resolved claim (None while it is open). Reads the claim, its items with their
    order items and the order's shipments: a query or two when the page has not prefetched them."""
    if claim.resolved_at is None or claim.is_open:
        return None
    policy = Policy.from_snapshot(claim.policy)
    submitted_on = local_date(claim.opened_at, time_zone=policy.time_zone)
    resolved_on = local_date(claim.resolved_at, time_zone=policy.time_zone)
    received_on = receipt_date(claim.order, policy=policy)
    prefetched = "items" in getattr(claim, "_prefetched_objects_cache", {})
    claim_items = claim.items.all() if prefetched else claim.items.select_related("order_item").order_by("id")
    items = [ResolvedItem(ci.order_item.title, ci.quantity, warranty_ends_on(ci.order_item, received_on))
             for ci in claim_items]
    return WrittenResolution(
        claim=claim, outcome=claim.outcome, submitted_on=submitted_on, resolved_on=resolved_on,
        days=max((resolved_on - submitted_on).days, 0), amount=claim.refund_amount, currency=claim.currency,
        funded_by=claim.funded_by, denial_reason=claim.denial_reason, decision_note=claim.decision_note,
        inspection_result=claim.inspection_result, items=items,
        expert_route=claim.outcome == Outcome.DENIED and request_expert_refusal(claim, claim.buyer) is None,
        expert_costs_days=policy.expert_costs_days,
    )


def resolution_key(claim: Any) -> str:
    """One written resolution per resolution: a claim reopened and resolved again gets a new one."""
    return (claim.resolved_at or timezone.now()).isoformat()

"""The platform's decision on a claim, around the rules of claims.services.decide (which stay there): what the agent
reads before deciding (`decision_context`: the evidence, the conversation in brief, what is left to refund per item),
the one choice of who pays (`PAYERS`, `funding`), and the decision in the buyer's and the seller's words
(`decision_news`: the "decided" email).

The sentences are built when called, so they are in the language active then: the recipient's in an email
(claims.notifications renders under it), the agent's on the page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import formatting
from sellers.models import WarrantyPolicy

from .choices import MONEY_OUTCOMES, ClaimState, DenialReason, FundedBy, Outcome, Party, RefundStatus
from .models import Claim, ClaimTransition, Evidence, Message, Refund
from .money import RefundRoom, refund_room

# --- who pays: one choice for the agent, two arguments for the service ---------------------------------------------

SELLER_PAYS, PLATFORM_RECOVERS, PLATFORM_BEARS = "seller", "platform", "goodwill"
PAYERS = [
    (SELLER_PAYS, gettext_lazy("The seller pays (deducted from the seller's payouts)")),
    (PLATFORM_RECOVERS, gettext_lazy("The platform pays and recovers it from the seller")),
    (PLATFORM_BEARS, gettext_lazy("The platform pays and bears the cost (goodwill)")),
]


def funding(payer: str) -> tuple[str, bool]:
    """(funded_by, recover_from_seller) for claims.services.decide; ('', True) for no choice, which decide refuses
    unless the outcome is a denial."""
    return {
        SELLER_PAYS: (FundedBy.SELLER, True),
        PLATFORM_RECOVERS: (FundedBy.PLATFORM, True),
        PLATFORM_BEARS: (FundedBy.PLATFORM, False),
    }.get(payer, ("", True))


# --- what the agent reads before deciding ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RoomLine:
    """One claimed item (or the shipping): what the buyer paid for what is claimed, what of it is refunded already
    (by this claim or an earlier one), and the most that may still be refunded."""

    title: str
    quantity: int | None
    paid: Decimal
    refunded: Decimal
    left: Decimal


@dataclasses.dataclass(frozen=True)
class Conversation:
    counts: list[tuple[str, int]]  # (who, how many messages), internal notes last
    escalation_cause: str
    escalation_reason: str
    escalated_at: dt.datetime | None
    rejection: str  # the seller's rejection code in words, '' when the seller did not reject
    rejection_reason: str
    offers: list[Any]
    latest: list[Message]  # the last few messages and notes, newest first


@dataclasses.dataclass(frozen=True)
class DecisionContext:
    evidence: list[Evidence]
    conversation: Conversation
    room: list[RoomLine]
    refundable: Decimal
    currency: str


LATEST_MESSAGES = 5
# Transitions that bring a claim to the platform, and say why in their reason.
_TO_PLATFORM = ["escalate", "take_over", "reopen", "appeal_decision"]


def decision_context(claim: Claim, room: RefundRoom | None = None) -> DecisionContext:
    """Everything the decide page shows besides the form, in a fixed number of queries whatever the claim's size
    (the evidence, the message counts, the latest messages, two transitions, the offers, the refund room)."""
    evidence = list(Evidence.objects.filter(claim=claim).select_related("message").order_by("created_at", "id"))
    counts = {(row["party"], row["is_internal"]): row["n"] for row in
              Message.objects.filter(claim=claim).values("party", "is_internal").annotate(n=Count("id"))
              .order_by()}
    public = [(str(label), sum(n for (party, internal), n in counts.items() if party == value and not internal))
              for value, label in Party.choices]
    notes = sum(n for (_party, internal), n in counts.items() if internal)
    latest = list(Message.objects.filter(claim=claim).select_related("author")
                  .order_by("-created_at", "-id")[:LATEST_MESSAGES])
    moves = {t.name: t for t in ClaimTransition.objects.filter(claim=claim, name__in=[*_TO_PLATFORM, "reject"])
             .order_by("created_at", "id")}  # the latest of each name
    to_platform = max((moves[name] for name in _TO_PLATFORM if name in moves),
                      key=lambda t: (t.created_at, t.pk), default=None)
    rejection = moves.get("reject")
    conversation = Conversation(
        counts=[(label, n) for label, n in public if n] + ([(_("Internal notes"), notes)] if notes else []),
        escalation_cause=claim.get_escalation_cause_display() if claim.escalation_cause else "",
        escalation_reason=to_platform.reason if to_platform else "",
        escalated_at=claim.escalated_at,
        rejection=claim.get_rejection_code_display() if claim.rejected and claim.rejection_code else "",
        rejection_reason=rejection.reason if rejection and claim.rejected else "",
        offers=list(claim.offers.select_related("made_by").order_by("created_at", "id")),
        latest=latest,
    )
    room = room if room is not None else refund_room(claim)
    quantities = dict(claim.items.values_list("order_item_id", "quantity"))
    lines = []
    for item, left in room.lines:
        if item is None:
            order = claim.order
            lines.append(RoomLine(str(_("Shipping")), None, order.shipping_amount, order.shipping_refunded, left))
        else:
            paid = item.unit_price * quantities.get(item.pk, 0)
            lines.append(RoomLine(item.title, quantities.get(item.pk), paid, max(paid - left, Decimal("0.00")), left))
    return DecisionContext(evidence=evidence, conversation=conversation, room=lines, refundable=room.total,
                           currency=claim.currency)


# --- the decision in each party's words (the "decided" email) --------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DecisionNews:
    """The decision as one party reads it; the email's text and HTML show the same fields."""

    summary: str
    outcome: str
    amount: str  # the buyer's says who pays it too
    who_pays: str  # the seller's: what it owes
    reasons: list[str]
    note: str
    next_steps: list[str]
    return_to: str


def decision_news(claim: Claim, party: str, *, recover: bool = True, user: Any = None) -> DecisionNews:
    """The decision for the buyer or the seller: the outcome in words, the amount, who pays, the reasons of a denial
    and what happens next. `recover`: whether the platform recovers from the seller what it pays. `user`: the
    person who reads it; when they may appeal the decision (claims.abilities), the last step says until when."""
    from .resolution import amount_words, outcome_words, written_resolution

    outcome = claim.outcome
    label = str(Outcome(outcome).label) if outcome in Outcome.values else ""
    money = outcome in MONEY_OUTCOMES and bool(claim.refund_amount)
    amount = formatting.money_text(claim.refund_amount, claim.currency) if money else ""
    returning = claim.state == ClaimState.AWAITING_RETURN
    resolution = written_resolution(claim)  # None while the item is on its way back
    denied = outcome == Outcome.DENIED
    to_buyer = party == Party.BUYER
    note = claim.decision_note
    if to_buyer:
        amount_text = amount_words(claim.refund_amount, claim.currency, claim.funded_by) if money else ""
        summary = outcome_words(outcome, amount_text)
        who_pays = ""
        # A denial's reasons as the written resolution gives them: the exclusion in the buyer's words, and the note.
        reasons = resolution.reasons if denied and resolution else []
        if reasons:
            note = ""
        steps = _buyer_steps(claim, money=money, returning=returning, resolution=resolution)
    else:
        amount_text = amount
        summary = _seller_summary(outcome, amount) or label
        who_pays = seller_owes(claim, recover=recover).text if money else ""
        reasons = [_seller_denial_reason(claim)] if denied else []
        steps = _seller_steps(claim, money=money, returning=returning)
    if user is not None:
        steps.append(_appeal_step(claim, user))
    return DecisionNews(summary=summary, outcome=label, amount=amount_text, who_pays=who_pays,
                        reasons=[r for r in reasons if r], note=note, next_steps=[s for s in steps if s],
                        return_to=_return_address(claim) if returning and to_buyer else "")


def _buyer_steps(claim: Claim, *, money: bool, returning: bool, resolution: Any) -> list[str]:
    from .selectors import buyer_deadline, refund_sentence

    if returning:
        steps = [buyer_deadline(claim).text]
        if money:
            steps.append(_("The refund is paid once the item is back with the seller."))
        return steps
    steps = []
    # the refund is booked right after this email is written: its sentence as it will stand
    if money and claim.refund_amount is not None:
        steps.append(refund_sentence(Refund(claim=claim, amount=claim.refund_amount, currency=claim.currency,
                                            status=RefundStatus.PENDING)))
        low, high = settings.REFUND_ARRIVAL_BUSINESS_DAYS
        steps.append(_("The refund goes back to the payment method you paid with; once sent, it usually arrives "
                       "within %(low)d–%(high)d business days.") % {"low": low, "high": high})
    if resolution is not None:
        steps += [resolution.expert_sentence,
                  _("You will also receive the written confirmation of the resolution by email.")]
    return steps


def _appeal_step(claim: Claim, user: Any) -> str:
    """The way to appeal, when this person may appeal the decision now (claims.abilities: a decision of the platform,
    once per claim, until the window's last moment): the claim page's words and its last moment."""
    from .abilities import appeal_refusal
    from .appeals import until_sentence

    if appeal_refusal(claim, user) is not None:
        return ""
    return " ".join([_("If you think our decision is wrong, you can appeal it once. Another member of our support "
                       "team than the one who decided looks at the claim again; their decision is final."),
                     until_sentence(claim)])


def _seller_summary(outcome: str, amount: str) -> str:
    with_amount: dict[str, str] = {
        Outcome.REFUND: _("The buyer gets a refund of %(amount)s."),
        Outcome.PARTIAL_REFUND: _("The buyer gets a partial refund of %(amount)s."),
        Outcome.DISCOUNT: _("The buyer gets a price discount of %(amount)s."),
    }
    if outcome in with_amount:
        return with_amount[outcome] % {"amount": amount} if amount else ""
    without: dict[str, str] = {
        Outcome.REPLACEMENT: _("The buyer gets a replacement."),
        Outcome.REPAIR: _("The buyer gets the item repaired."),
        Outcome.DENIED: _("The claim was denied."),
    }
    return without.get(outcome, "")


@dataclasses.dataclass(frozen=True)
class SellerOwes:
    text: str
    statement_month: dt.date | None = None  # the monthly statement that lists the money (first day), once known


def seller_owes(claim: Claim, *, recover: bool | None = None) -> SellerOwes:
    """What the seller owes for a decided claim's money and when it is taken, in the seller's words: the seller's
    claim page and the "decided" email both say this. Nothing for a claim without money to pay (a denial, a repair,
    a replacement) or not decided yet.

    Where the money goes (claims.services._base._pay_refund, claims.seller.statements): a refund the seller funds is
    paid out to the buyer and charged against the seller's payouts; it shows on the statement of the month it is
    paid out. A refund the platform pays in the seller's place is added to the seller's balance (a refund recovery
    on the ledger) the moment it is made, and the balance is recovered from the payouts. Both wait for the item when
    the outcome needs it back. `recover`: whether the platform recovers what it pays (decide's
    recover_from_seller); by default what the claim recorded (`platform_bears_cost`)."""
    if (claim.outcome not in MONEY_OUTCOMES or not claim.refund_amount
            or claim.state not in (ClaimState.RESOLVED, ClaimState.AWAITING_RETURN)):
        return SellerOwes("")
    recover = not claim.platform_bears_cost if recover is None else recover
    amount = {"amount": formatting.money_text(claim.refund_amount, claim.currency)}
    waiting = claim.state == ClaimState.AWAITING_RETURN
    if claim.funded_by == FundedBy.PLATFORM and not recover:
        return SellerOwes(_("The platform pays the buyer and bears the cost; you owe nothing for this claim."))
    if claim.funded_by == FundedBy.PLATFORM:
        if waiting or claim.resolved_at is None:
            return SellerOwes(_("You will owe %(amount)s for this claim once the item is back with you: the platform "
                                "then pays the buyer in your place and recovers the amount from your payouts.")
                              % amount)
        # The refund and its recovery are booked in the transaction that resolves the claim (a decision, the return
        # received, the final refund, a payment provider's verdict): the email, written in it, knows the day too.
        month = _statement_month(claim.resolved_at)
        return SellerOwes(_("You owe %(amount)s for this claim: the platform paid the buyer in your place and "
                            "recovers the amount from your payouts. It was added to your balance on %(day)s (your "
                            "statement for %(month)s).")
                          % {**amount, "day": formatting.day(claim.resolved_at), "month": formatting.month(month)},
                          month)
    if claim.funded_by != FundedBy.SELLER:
        return SellerOwes("")
    if waiting:
        return SellerOwes(_("You will owe %(amount)s for this claim once the item is back with you: the buyer's "
                            "refund, deducted from your payouts when it is paid out.") % amount)
    refund = _latest_refund(claim)
    if refund is not None and refund.status == RefundStatus.PAID and refund.paid_at:
        month = _statement_month(refund.paid_at)
        return SellerOwes(_("You paid %(amount)s for this claim: the buyer's refund, paid out on %(day)s and deducted "
                            "from your payouts (your statement for %(month)s).")
                          % {**amount, "day": formatting.day(refund.paid_at), "month": formatting.month(month)},
                          month)
    return SellerOwes(_("You owe %(amount)s for this claim: the buyer's refund, deducted from your payouts when it is "
                        "paid out. Your statement for that month lists it.") % amount)


def _latest_refund(claim: Claim) -> Refund | None:
    """The claim's latest refund the seller funds (from the prefetched refunds on the seller's claim page)."""
    refunds = [refund for refund in claim.refunds.all() if refund.funded_by == FundedBy.SELLER]
    return max(refunds, key=lambda refund: (refund.created_at, refund.pk), default=None)


def _statement_month(moment: dt.datetime) -> dt.date:
    """The first day of the month whose statement lists `moment` (claims.seller.statements: the marketplace's
    calendar)."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date().replace(day=1)


def _seller_denial_reason(claim: Claim) -> str:
    if claim.denial_reason in DenialReason.values:
        return str(DenialReason(claim.denial_reason).label)
    return _("The payment provider decided for the seller.") if claim.provider_reference else ""


def _seller_steps(claim: Claim, *, money: bool, returning: bool) -> list[str]:
    if not returning:
        return [_("You don't need to do anything.")]
    steps = [_("The buyer sends the item back to you. When it arrives, record it as received on the claim page, with "
               "the result of your inspection.")]
    if money:
        steps.append(_("The refund is paid to the buyer when you record the item as received."))
    elif claim.outcome == Outcome.REPLACEMENT:
        steps.append(_("Then send the buyer a replacement, free of charge for them."))
    elif claim.outcome == Outcome.REPAIR:
        steps.append(_("Then repair the item and send it back to the buyer, free of charge for them."))
    return steps


def _return_address(claim: Claim) -> str:
    """Where the buyer sends the item: the return authorization's address (claims.returns), else the seller's return
    address (as a return-for-refund offer gives it)."""
    from .returns import latest_return

    if (ret := latest_return(claim)) is not None:
        return ret.address
    policy = WarrantyPolicy.objects.filter(seller_id=claim.seller_id).first()
    return policy.return_address if policy else ""

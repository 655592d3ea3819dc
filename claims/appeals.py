"""Appeals against the platform's decision (issue 16): "Buyer or seller may appeal a platform decision once, within
14 days (setting), with a reason; it goes to another agent than the one who decided; the outcome is final."

The reads and the words; the writes are claims.services.appeals, and "may this person appeal now, and why not" is
claims.abilities (`appeal`; `decide` refused to the agent whose decision is appealed).

- A platform decision is an agent's `decide` on a claim of the platform channel: what resolved the claim, or sent it
  waiting for the returned item (the return arriving completes that decision, it is not a new one). An accepted offer
  or counter-offer, a withdrawal, a delivery scan, the forced refund at the final deadline, a payment provider's
  verdict and a warranty choice of the buyer are nobody's decision to appeal.
- The window: from the decision until the same local clock time `appeal_days` (APPEAL_DAYS, the claim's policy
  snapshot) calendar days later in the claim's market zone, that moment included (claims.calendar: across a
  daylight-saving change it is an hour more or less than 14 × 24 hours).
- Once per claim (Appeal is one-to-one with its claim): a second appeal, by the same party or the other, is refused;
  the appeal's decision is final.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F
from django.utils.translation import gettext as _

from core.console import person_label
from core.formatting import moment, money_text

from .calendar import add_calendar_days
from .choices import AppealStatus, Channel, ClaimState, DenialReason, EscalationCause, FundedBy, Outcome, Party
from .models import Appeal, Claim, ClaimTransition, Refund
from .money import RefundRoom
from .policy import Policy

APPEALABLE_STATES = (ClaimState.RESOLVED, ClaimState.AWAITING_RETURN)
# State changes that carry out a decision already taken rather than replacing it: the returned item arrived, or it
# was delivered and the platform refunded in the seller's place when the seller did not confirm (claims.returns).
COMPLETING = ("receive_return", "refund_unconfirmed_return")
ZERO = Decimal("0.00")


def appealed_decision(claim: Claim) -> ClaimTransition | None:
    """The platform's decision a party may appeal: the `decide` behind the claim's present state (with its agent),
    or None. No query for a claim the platform never decided or that is open."""
    if claim.channel != Channel.PLATFORM or claim.decided_at is None or claim.state not in APPEALABLE_STATES:
        return None
    if "transitions" in getattr(claim, "_prefetched_objects_cache", {}):
        # A list asking many claims (claims.abilities.prefetch_for_abilities) read their logs at once.
        moves = [t for t in claim.transitions.all() if t.from_state != t.to_state and t.name not in COMPLETING]
        latest = max(moves, key=lambda t: (t.created_at, t.pk), default=None)
    else:
        latest = (ClaimTransition.objects.filter(claim=claim).exclude(from_state=F("to_state"))
                  .exclude(name__in=COMPLETING).select_related("actor").order_by("-created_at", "-id").first())
    return latest if latest is not None and latest.name == "decide" else None


def closes_at(claim: Claim) -> dt.datetime | None:
    """The last moment to appeal the claim's decision (included); None when it was never decided."""
    if claim.decided_at is None:
        return None
    policy = Policy.from_snapshot(claim.policy)
    return add_calendar_days(claim.decided_at, policy.appeal_days, time_zone=policy.time_zone)


def appeal_of(claim: Claim) -> Appeal | None:
    """The claim's appeal, if any: cached on the claim (select_related or an earlier look), no query for a claim the
    platform never decided (every appealed claim was)."""
    if claim.decided_at is None:
        return None
    try:
        return claim.appeal
    except Appeal.DoesNotExist:
        return None


def open_appeal(claim: Claim) -> Appeal | None:
    """The appeal waiting for the platform's decision on this claim; no query unless the claim came back by one."""
    if claim.escalation_cause != EscalationCause.APPEAL:
        return None
    appeal = appeal_of(claim)
    return appeal if appeal is not None and appeal.status == AppealStatus.OPEN else None


def decision_refunds(claim: Claim) -> list[Refund]:
    """The refunds of the claim's latest decision: paid with it, or when the returned item arrived. Refunds from
    before it (an accepted offer, then a reopening) are not the decision's."""
    if claim.decided_at is None:
        return []
    return list(Refund.objects.filter(claim=claim, created_at__gte=claim.decided_at).order_by("created_at", "id"))


@dataclasses.dataclass(frozen=True)
class ConsoleAppeal:
    """The appeal as the deciding agent reads it on the decide page."""

    appeal: Appeal
    appellant: str
    first: str
    first_decided_by: str  # the agent's name, "—" when unknown
    paid: Decimal  # what the appealed decision refunded
    refundable: Decimal  # the most a new decision gives the buyer in all: that, and what is left to refund


def console_appeal(claim: Claim, room: RefundRoom) -> ConsoleAppeal | None:
    """The open appeal the decide page answers, or None (no query unless the claim came back by an appeal)."""
    appeal = open_appeal(claim)
    if appeal is None:
        return None
    paid = sum((refund.amount for refund in decision_refunds(claim)), ZERO)
    return ConsoleAppeal(appeal=appeal, appellant=appellant_words(appeal), first=first_decision_words(appeal),
                         first_decided_by=person_label(appeal.first_decided_by), paid=paid,
                         refundable=paid + room.total)


def other_party(party: str) -> str:
    return Party.SELLER if party == Party.BUYER else Party.BUYER


# --- words ---------------------------------------------------------------------------------------------------


def zone_of(claim: Claim) -> ZoneInfo:
    return ZoneInfo(Policy.from_snapshot(claim.policy).time_zone)


def when(claim: Claim, value: dt.datetime | None) -> str:
    """A moment of the appeal in the claim's market zone: "Tue 14 Dec, 10:00 CET"."""
    return moment(value, zone=zone_of(claim))


def until_sentence(claim: Claim) -> str:
    return _("You can appeal until %(when)s.") % {"when": when(claim, closes_at(claim))}


def appellant_words(appeal: Appeal) -> str:
    return _("Appeal by the buyer") if appeal.party == Party.BUYER else _("Appeal by the seller")


def decision_words(outcome: str, funded_by: str, amount: Decimal | None, denial_reason: str, currency: str) -> str:
    """A decision in one line: "Partial refund: €30.00, paid by the seller", "Denied: normal wear"."""
    if outcome not in Outcome.values:
        return ""
    text = str(Outcome(outcome).label)
    if outcome == Outcome.DENIED and denial_reason in DenialReason.values:
        return f"{text}: {DenialReason(denial_reason).label}"
    if amount:
        text = f"{text}: {money_text(amount, currency)}"
    payers: dict[str, str] = {FundedBy.SELLER: _("paid by the seller"), FundedBy.PLATFORM: _("paid by the platform")}
    payer = payers.get(funded_by)
    return f"{text}, {payer}" if payer else text


def first_decision_words(appeal: Appeal) -> str:
    """The decision appealed against, as it stood."""
    return decision_words(appeal.first_outcome, appeal.first_funded_by, appeal.first_amount,
                          appeal.first_denial_reason, appeal.claim.currency)


def already_appealed(appeal: Appeal) -> str:
    """Why a second appeal is refused: whose appeal there is, and where it stands."""
    claim = appeal.claim
    if appeal.status == AppealStatus.OPEN:
        text = (_("The buyer appealed this decision on %(when)s. Our support team is looking at the claim again.")
                if appeal.party == Party.BUYER else
                _("The seller appealed this decision on %(when)s. Our support team is looking at the claim again."))
        return text % {"when": when(claim, appeal.created_at)}
    return _("The appeal against the platform's decision was decided on %(when)s. This decision is final.") % {
        "when": when(claim, appeal.decided_at)}


def status_words(appeal: Appeal) -> str:
    """Where the appeal stands, for both parties."""
    claim = appeal.claim
    if appeal.status == AppealStatus.OPEN:
        return _("Filed on %(when)s. Another member of our support team than the one who decided is looking at the "
                 "claim again; you will be told their decision, which is final.") % {
            "when": when(claim, appeal.created_at)}
    if appeal.status == AppealStatus.UPHELD:
        return _("Decided on %(when)s: the decision stands.") % {"when": when(claim, appeal.decided_at)}
    return _("Decided on %(when)s: the decision was changed.") % {"when": when(claim, appeal.decided_at)}


def appeal_news(news: Any, claim: Claim, party: str, *, paid: Decimal | None, added: Decimal | None) -> Any:
    """The appeal's decision for the "appeal_decided" email (claims.decision.DecisionNews): when the appealed decision
    had paid the buyer, the money step says what is paid now, and that nothing is taken back, instead of the
    decision's whole amount being paid."""
    from .choices import RefundStatus
    from .selectors import refund_sentence

    if not paid:
        return news
    whole = (refund_sentence(Refund(claim=claim, amount=claim.refund_amount, currency=claim.currency,
                                    status=RefundStatus.PENDING)) if claim.refund_amount else None)
    steps = [step for step in news.next_steps if step != whole]
    difference = max(paid - (claim.refund_amount or ZERO), ZERO)
    words = {"paid": money_text(paid, claim.currency), "added": money_text(added, claim.currency),
             "difference": money_text(difference, claim.currency)}
    if added:
        money = (refund_sentence(Refund(claim=claim, amount=added, currency=claim.currency,
                                        status=RefundStatus.PENDING)) if party == Party.BUYER else
                 _("The buyer was refunded %(paid)s already and is paid %(added)s more.")
                 % words)
    elif party == Party.BUYER:
        money = _("You keep the %(paid)s already refunded: nothing is taken back.") % words
    elif difference:
        money = _("The buyer keeps the %(paid)s already refunded; the platform bears the %(difference)s the new "
                  "decision does not cover.") % words
    else:
        money = _("The buyer keeps the %(paid)s already refunded; nothing more is paid.") % words
    return dataclasses.replace(news, next_steps=[money, *steps])

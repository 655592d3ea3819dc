"""Appeals against the platform's decision (issue 16). claims.appeals has the reads and words, claims.abilities the
"may they, and why not".

A party appeals (`appeal`): the decision is kept on the Appeal as it stood, and the claim goes back to the platform,
assigned to another agent than the one who decided. That agent upholds the decision (`uphold_appeal`: restored as it
was, no money moves again) or makes a new one through `claims.services.decide`, which settles the money here
(`settle_appeal`). Either way the claim is resolved again (or waits for the return again) and the appeal is decided:
final, never appealed again.

Money on a new decision: the new decision is what the buyer gets for the claim's decision in place of the first one.
What the first decision already refunded counts: only the difference is paid, never more than is left of what the
buyer paid (claims.money). A lower decision takes nothing back from the buyer: they keep what was paid, the platform
bears the difference, and the seller's share of the money already paid follows the new decision on the ledger (a
recovery reversed, or a refund the seller funded credited back).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import formatting
from sellers.models import LedgerEntry, LedgerKind
from sellers.services import record_claim_charge

from .. import roles
from ..abilities import appeal_decider_refusal, appeal_refusal, transition_refusal
from ..appeals import already_appealed, appealed_decision, decision_refunds, open_appeal, other_party
from ..calendar import add_calendar_days
from ..choices import OPEN_STATES, AppealStatus, ClaimState, FundedBy, Party
from ..errors import ClaimError
from ..models import Appeal, Claim, Refund
from ..money import RefundRoom
from ..notifications import notify
from ..policy import Policy
from ._base import User, _after_resolution, _clean_text, _fire, _lock, _pay_refund, _post, _refund_room, _set_items_open

ZERO = Decimal("0.00")


def appeal(*, claim: Claim, by: User, reason: str) -> Appeal:
    """The buyer or the seller's staff appeal the platform's decision, with their reason. Two appeals at once: the
    claim's row lock (and the appeal's one-to-one) let exactly one through; the other is told who appealed first."""
    reason = _clean_text(reason, what=_("why the decision should change"))
    with transaction.atomic():
        claim = _lock(claim)
        if refusal := appeal_refusal(claim, by):
            raise refusal
        decision = appealed_decision(claim)  # there is one: appeal_refusal checked it
        first_decider = decision.actor if decision is not None else None
        now = timezone.now()
        try:
            with transaction.atomic():
                filed = Appeal.objects.create(
                    claim=claim, party=roles.party_of(claim, by), appellant=by, reason=reason,
                    first_decided_by=first_decider, first_outcome=claim.outcome, first_funded_by=claim.funded_by,
                    first_amount=claim.refund_amount, first_denial_reason=claim.denial_reason, created_at=now)
        except IntegrityError as exc:  # the database's backstop behind the row lock
            raise ClaimError(already_appealed(Appeal.objects.get(claim=claim)), code="conflict") from exc
        # As for a reopening (claims.services.reopen): the 180-day refund never falls due at the next sweep.
        if claim.hard_deadline_at is not None:
            policy = Policy.from_snapshot(claim.policy)
            claim.hard_deadline_at = max(claim.hard_deadline_at,
                                         add_calendar_days(now, policy.reopen_days, time_zone=policy.time_zone))
        log = _fire(claim, "appeal_decision", by, reason=reason, assignee=least_busy_agent(other_than=first_decider),
                    at=now)
        _set_items_open(claim, True)
        notify(claim, "appealed", to=[other_party(filed.party), Party.AGENT], key=log, context={"appeal": filed})
    return filed


def least_busy_agent(*, other_than: User | None) -> User | None:
    """"It goes to another agent than the one who decided": the active agent with the fewest open claims assigned
    (the longest-serving first among equals), or None when there is no other agent: the claim then waits unassigned
    in the queue, and the agent who decided is refused its decision (claims.abilities)."""
    from ..admin_forms import agents  # every user claims.roles.is_agent accepts

    pool = agents().exclude(pk=getattr(other_than, "pk", None))
    # distinct: the pool's joins (permissions given directly and through groups) would count a claim more than once
    open_claims = Count("assigned_claims", filter=Q(assigned_claims__state__in=OPEN_STATES), distinct=True)
    return pool.annotate(open_claims=open_claims).order_by("open_claims", "pk").first()


def uphold_appeal(*, claim: Claim, by: User, note: str = "") -> Claim:
    """The second agent upholds the decision: it is restored as it stood (outcome, who pays, amount, denial reason,
    resolved or waiting for the return), without moving money again."""
    note = _clean_text(note, what=_("the note on the appeal"), required=False)
    with transaction.atomic():
        claim = _lock(claim)
        appeal = open_appeal(claim)
        if appeal is None:
            raise ClaimError(_("Claim %(number)s has no appeal waiting for a decision.") % {"number": claim.number},
                             code="state")
        if refusal := transition_refusal(claim, "decide", by) or appeal_decider_refusal(claim, by):
            raise refusal
        terms = settlement_terms(claim)
        appealed_from = claim.transitions.filter(name="appeal_decision").order_by("-created_at", "-id").first()
        reason = appeal_decision_reason(claim, note=note)
        log = _fire(claim, "decide", by, reason=reason, outcome=appeal.first_outcome, funded_by=appeal.first_funded_by,
                    amount=appeal.first_amount, denial_reason=appeal.first_denial_reason, note=claim.decision_note,
                    needs_return=appealed_from is not None and appealed_from.from_state == ClaimState.AWAITING_RETURN,
                    at=timezone.now(), bears_cost=claim.platform_bears_cost)
        settle_appeal(claim, appeal, terms, by=by, log=log, value=appeal.first_amount,
                      recover=not claim.platform_bears_cost, note=note, upheld=True)
        if note:
            _post(claim, by=by, party=Party.AGENT, body=note)
    return claim


@dataclasses.dataclass(frozen=True)
class SettlementTerms:
    """What the appealed decision has refunded so far (its refunds, and the seller's share of them), and what is left
    to refund on the claim: read before the new decision replaces the first."""

    refunds: tuple[Refund, ...]
    seller_share: Decimal
    room: RefundRoom

    @property
    def paid(self) -> Decimal:
        return sum((r.amount for r in self.refunds), ZERO)

    @property
    def refundable(self) -> Decimal:
        """The most a new decision may give the buyer: what the first one paid and what is still left."""
        return self.paid + self.room.total


def settlement_terms(claim: Claim) -> SettlementTerms:
    """Read on the locked claim before the decision that answers its appeal. The appealed decision's refunds are
    those paid with it or when the returned item arrived; refunds from before it (an accepted offer, then a
    reopening) are not the decision's and stay as they are."""
    refunds = tuple(decision_refunds(claim))
    recovered = sum((e.amount for e in LedgerEntry.objects.filter(refund__in=refunds, kind=LedgerKind.REFUND_RECOVERY)),
                    ZERO)
    funded = sum((r.amount for r in refunds if r.funded_by == FundedBy.SELLER), ZERO)
    return SettlementTerms(refunds=refunds, seller_share=recovered + funded, room=_refund_room(claim))


def settle_appeal(claim: Claim, appeal: Appeal, terms: SettlementTerms, *, by: User, log: Any,
                  value: Decimal | None, recover: bool, note: str, upheld: bool) -> None:
    """After the decide transition on an appealed claim: the money, the appeal's decision, both parties told, and
    the claim's resolution."""
    value = value or ZERO
    paid = terms.paid
    _rebalance_seller_share(claim, terms, covered=min(value, paid), recover=recover, by=by)
    added = value - paid if claim.state == ClaimState.RESOLVED and value > paid else ZERO
    if added:
        # Only what the new decision adds; within what is left (the order row is locked since the terms were read).
        _pay_refund(claim, added, funded_by=claim.funded_by, by=by, recover=recover, room=terms.room)
    # A new decision waiting for the return pays at the return (claims.services.receive_return: what is left of it).
    now = timezone.now()
    appeal.status = AppealStatus.UPHELD if upheld else AppealStatus.CHANGED
    appeal.decided_by = by
    appeal.decided_at = now
    appeal.note = note
    appeal.save(update_fields=["status", "decided_by", "decided_at", "note"])
    notify(claim, "appeal_decided", to=[Party.BUYER, Party.SELLER], key=log,
           context={"detail": log.reason, "recover": recover, "paid": paid, "added": added})
    if claim.state == ClaimState.RESOLVED:
        _after_resolution(claim, by=by)


def _rebalance_seller_share(claim: Claim, terms: SettlementTerms, *, covered: Decimal, recover: bool,
                            by: User) -> None:
    """The money the first decision refunded stays with the buyer. Of it, the seller now bears what the new decision
    covers if the new decision charges the seller (the seller pays, or the platform pays and recovers), else nothing:
    the ledger gets the difference once (a recovery reversed or added, or a seller-funded refund credited back)."""
    charged = claim.funded_by == FundedBy.SELLER or (claim.funded_by == FundedBy.PLATFORM and recover)
    delta = (covered if charged else ZERO) - terms.seller_share
    if not delta:
        return
    words = {"number": claim.number, "amount": formatting.money_text(abs(delta), claim.currency)}
    if delta > 0:
        _charge(claim, LedgerKind.REFUND_RECOVERY, delta, by,
                _("Claim %(number)s, appeal decided: the seller bears %(amount)s the platform refunded")
                % words)
        return
    recovered = terms.seller_share - sum((r.amount for r in terms.refunds if r.funded_by == FundedBy.SELLER), ZERO)
    reversed_recovery = min(-delta, recovered)
    if reversed_recovery > 0:
        _charge(claim, LedgerKind.REFUND_RECOVERY, -reversed_recovery, by,
                _("Claim %(number)s, appeal decided: recovery of %(amount)s reversed, the platform bears it")
                % {**words, "amount": formatting.money_text(reversed_recovery, claim.currency)})
    if (credited := -delta - reversed_recovery) > 0:
        _charge(claim, LedgerKind.ADJUSTMENT, -credited, by,
                _("Claim %(number)s, appeal decided: %(amount)s of the refund you funded is borne by the platform")
                % {**words, "amount": formatting.money_text(credited, claim.currency)})


def _charge(claim: Claim, kind: str, amount: Decimal, by: User, note: str) -> None:
    record_claim_charge(seller=claim.seller, kind=kind, amount=amount, currency=claim.currency, claim=claim, by=by,
                        note=note[:500])


def upholds(appeal: Appeal, *, outcome: str, funded_by: str, amount: Decimal | None, denial_reason: str) -> bool:
    """A "new" decision the same as the appealed one upholds it."""
    return (outcome, funded_by, amount, denial_reason) == (appeal.first_outcome, appeal.first_funded_by,
                                                           appeal.first_amount, appeal.first_denial_reason)


def appeal_decision_reason(claim: Claim, *, note: str, changed_to: str = "") -> str:
    """The transition log's reason of the appeal's decision (the buyer and the seller read it in the timeline):
    upheld, or changed to the new decision in words."""
    if changed_to:
        text = _("Appeal decided: the decision was changed to %(decision)s.") % {"decision": changed_to}
    else:
        text = _("Appeal decided: the decision stands.")
    return f"{text} {note}" if note else text

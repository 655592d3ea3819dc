"""What support agents do on a claim."""


from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from core import formatting
from orders.models import Order
from sellers.models import LedgerKind
from sellers.services import record_claim_charge

from .. import roles
from ..abilities import appeal_decider_refusal, assign_refusal, state_error, transition_refusal
from ..appeals import decision_words, open_appeal
from ..calendar import add_calendar_days
from ..choices import (
    DECIDE_OUTCOMES,
    MONEY_OUTCOMES,
    RETURN_OUTCOMES,
    Channel,
    ClaimState,
    DenialReason,
    EscalationCause,
    EvidenceKind,
    FundedBy,
    Outcome,
    Party,
    Reason,
)
from ..errors import ClaimError
from ..models import Claim, ClaimItem, ClaimTransition
from ..notifications import notify
from ..policy import Policy, policy_for_order
from ..presenters import denial_words
from ..remedies import compensated_reason_refusal, remedy_refusal
from ._base import (
    User,
    _after_resolution,
    _clean_text,
    _files_removed_on_failure,
    _fire,
    _lock,
    _money,
    _normalise_items,
    _pay_refund,
    _post,
    _prepare_uploads,
    _refund_room,
    _refuse_if_already_claimed,
    _set_items_open,
)
from .appeals import appeal_decision_reason, settle_appeal, settlement_terms, upholds

# --- agent ----------------------------------------------------------------------------------------------


def request_info(*, claim: Claim, by: User, party: str, question: str) -> Claim:
    """Ask the buyer or the seller for information; they have 2 calendar days to answer."""
    if party not in (Party.BUYER, Party.SELLER):
        raise ClaimError(_("Choose whether to ask the buyer or the seller."))
    question = _clean_text(question, what=_("the question"))
    with transaction.atomic():
        claim = _lock(claim)
        now = timezone.now()
        policy = Policy.from_snapshot(claim.policy)
        log = _fire(claim, "request_info", by, reason=question, party=party,
                    due_at=add_calendar_days(now, policy.info_days, time_zone=policy.time_zone), at=now)
        _post(claim, by=by, party=Party.AGENT, body=question)
        notify(claim, "info_requested", to=[party], key=log, context={"detail": question})
    return claim


def provide_info(*, claim: Claim, by: User, body: str, attachments: Iterable[Any] = ()) -> Claim:
    """The party asked answers; the claim goes back to the agent."""
    body = _clean_text(body, what=_("your answer"))
    files = _prepare_uploads(attachments, kind=EvidenceKind.DOCUMENT, claim=claim, by=by)
    with _files_removed_on_failure() as stored, transaction.atomic():
        claim = _lock(claim)
        party = roles.party_of(claim, by)
        log = _fire(claim, "provide_info", by, reason=body[:200], at=timezone.now())
        _post(claim, by=by, party=party or Party.AGENT, body=body, files=files, stored=stored)
        notify(claim, "info_provided", to=[Party.AGENT], key=log, context={"detail": body})
    return claim


def decide(*, claim: Claim, by: User, outcome: str, funded_by: str = "", amount: Any = None,
           denial_reason: str = "", note: str = "", needs_return: bool | None = None,
           recover_from_seller: bool = True) -> Claim:
    """The agent's decision on an escalated claim: the outcome, who pays, and for a denial the exclusion.

    When the platform pays (seller silent or refusing), the ledger recovers the amount from the seller
    unless the agent decides the platform bears it (`recover_from_seller=False`)."""
    if outcome not in DECIDE_OUTCOMES:
        raise ClaimError(_("Please choose an outcome."))
    note = _clean_text(note, what=_("the decision note"), required=False)
    if outcome == Outcome.DENIED:
        if denial_reason not in DenialReason.values:
            raise ClaimError(_("A denial must name what the buyer protection does not cover."))
        funded_by = ""
    else:
        denial_reason = ""
        if funded_by not in FundedBy.values:
            raise ClaimError(_("Please say who pays: the seller or the platform."))
    if outcome in RETURN_OUTCOMES:
        needs_return = True
    needs_return = bool(needs_return) and outcome != Outcome.DENIED
    with transaction.atomic():
        claim = _lock(claim)
        if not can_proceed(claim.decide):
            raise state_error(claim)  # before the amounts: a claim decided meanwhile says so, not "nothing left"
        # The remedies the warranty claim policy allows for the type of defect (claims.remedies), once the agent may.
        if refusal := (transition_refusal(claim, "decide", by) or appeal_decider_refusal(claim, by)
                       or remedy_refusal(claim, outcome)):
            raise refusal
        if denial_reason == DenialReason.DEFECT_COMPENSATED and (refusal := compensated_reason_refusal(claim)):
            raise refusal
        # Deciding an appeal: the new decision replaces the appealed one, whose refunds count (claims.services.appeals).
        appeal = open_appeal(claim)
        terms = settlement_terms(claim) if appeal is not None else None
        room = terms.room if terms is not None else _refund_room(claim)
        refundable = terms.refundable if terms is not None else room.total
        value: Decimal | None = None
        if outcome in MONEY_OUTCOMES and refundable <= 0:
            raise ClaimError(_("Everything claimed has already been refunded; choose another outcome."), code="state")
        if outcome == Outcome.REFUND:
            value = _money(amount, what=_("The amount")) if amount not in (None, "") else refundable
            if value > refundable:
                raise ClaimError(_("The refund cannot be more than %(max)s.")
                                 % {"max": formatting.money_text(refundable, claim.currency)})
        elif outcome in (Outcome.PARTIAL_REFUND, Outcome.DISCOUNT):
            if amount in (None, ""):
                raise ClaimError(_("Please enter the amount."))
            value = _money(amount, what=_("The amount"))
            if value >= refundable:
                raise ClaimError(_("A partial refund or discount must be less than %(max)s.")
                                 % {"max": formatting.money_text(refundable, claim.currency)})
        if terms is not None and terms.paid and needs_return and value is not None and value != refundable:
            # The refund paid when the item is back is what is left of the decision (claims.services.receive_return):
            # after money already paid that is right for the full refund only.
            raise ClaimError(_("The appealed decision already refunded %(paid)s. A new decision that waits "
                               "for the returned item can only be the full refund of %(max)s; decide another "
                               "amount without the return.")
                             % {"paid": formatting.money_text(terms.paid, claim.currency),
                                "max": formatting.money_text(refundable, claim.currency)}, code="invalid")
        now = timezone.now()
        # A denial tells the buyer the sentence the Get help page warned of (claims.presenters.DENIAL_WORDS).
        reason = note or (denial_words(denial_reason) if denial_reason else Outcome(outcome).label)
        upheld = appeal is not None and upholds(appeal, outcome=outcome, funded_by=funded_by, amount=value,
                                                denial_reason=denial_reason)
        if appeal is not None:
            changed_to = "" if upheld else decision_words(outcome, funded_by, value, denial_reason, claim.currency)
            reason = appeal_decision_reason(claim, note=note, changed_to=changed_to)
        log = _fire(claim, "decide", by, reason=reason, outcome=outcome, funded_by=funded_by, amount=value,
                    denial_reason=denial_reason, note=note, needs_return=needs_return, at=now,
                    bears_cost=not recover_from_seller)
        # The email says whether the platform recovers what it pays (claims.decision); the ledger entry is written
        # only when the refund is paid, which may wait for the return.
        if appeal is not None and terms is not None:  # told as the appeal's decision, final (terms: read for it)
            settle_appeal(claim, appeal, terms, by=by, log=log, value=value, recover=not claim.platform_bears_cost,
                          note=note, upheld=upheld)
        else:
            notify(claim, "decided", to=[Party.BUYER, Party.SELLER], key=log,
                   context={"detail": reason, "recover": recover_from_seller})
        if claim.state == ClaimState.RESOLVED and appeal is None:
            if value:
                _pay_refund(claim, value, funded_by=funded_by, by=by, recover=not claim.platform_bears_cost,
                            room=room)
            _after_resolution(claim, by=by)
        if note:
            _post(claim, by=by, party=Party.AGENT, body=note)
    return claim


def reopen(*, claim: Claim, by: User, reason: str) -> Claim:
    """An agent reopens a resolved claim to investigate further; it comes back escalated."""
    reason = _clean_text(reason, what=_("why the claim is reopened"))
    with transaction.atomic():
        claim = _lock(claim)
        now = timezone.now()
        # Issue 14: "a reopened claim gets time": the 180-day refund is never due at the next sweep of a claim
        # reopened late; it comes at least `reopen_days` calendar days after the reopening.
        if claim.hard_deadline_at is not None:
            policy = Policy.from_snapshot(claim.policy)
            floor = add_calendar_days(now, policy.reopen_days, time_zone=policy.time_zone)
            claim.hard_deadline_at = max(claim.hard_deadline_at, floor)
        log = _fire(claim, "reopen", by, reason=reason, at=now)
        _set_items_open(claim, True)
        notify(claim, "reopened", to=[Party.BUYER, Party.SELLER], key=log, context={"detail": reason})
    return claim


def assign(*, claim: Claim, by: User, agent: User | None) -> Claim:
    if refusal := assign_refusal(by, agent):
        raise refusal
    with transaction.atomic():
        claim = _lock(claim)
        claim.assigned_to = agent
        claim.save(update_fields=["assigned_to", "updated_at"])
    return claim


def record_provider_dispute(*, order: Order, by: User, reference: str, description: str,
                            items: Any = None) -> Claim:
    """An agent records a chargeback or PayPal dispute. The provider decides; the claim waits escalated."""
    if not roles.is_agent(by):
        raise ClaimError(_("Only support agents record payment-provider disputes."), code="forbidden")
    reference = _clean_text(reference, what=_("the provider's case reference"), limit=100)
    description = _clean_text(description, what=_("what the dispute is about"))
    order = Order.objects.select_related("seller").prefetch_related("items").get(pk=order.pk)
    pairs = _normalise_items(order, items)
    _refuse_if_already_claimed(pairs)
    now = timezone.now()
    policy = policy_for_order(order)
    with transaction.atomic():
        claim = Claim(order=order, buyer=order.buyer, seller=order.seller, reason=Reason.NOT_AS_DESCRIBED,
                      description=description, desired_outcome="refund", channel=Channel.PAYMENT_PROVIDER,
                      provider_reference=reference, currency=order.currency, opened_at=now,
                      policy=policy.as_snapshot())
        claim.save()
        try:
            with transaction.atomic():
                ClaimItem.objects.bulk_create([ClaimItem(claim=claim, order_item=i, quantity=q) for i, q in pairs])
        except IntegrityError as exc:
            raise ClaimError(_("Another claim is open on an item of this order."), code="conflict") from exc
        ClaimTransition.objects.create(claim=claim, name="record_provider_dispute", from_state="",
                                       to_state=claim.state, actor=by, party=Party.AGENT, reason=reference,
                                       created_at=now)
        log = _fire(claim, "take_over", None, reason=reference, cause=EscalationCause.PAYMENT_PROVIDER, at=now)
        notify(claim, "escalated", to=[Party.SELLER], key=log)
    return claim


def record_provider_verdict(*, claim: Claim, by: User, buyer_won: bool, amount: Any = None) -> Claim:
    """The provider's verdict. When the buyer wins, the platform refunded through the provider: the ledger
    recovers the amount from the seller and adds the fixed dispute fine."""
    with transaction.atomic():
        claim = _lock(claim)
        value = None
        room = _refund_room(claim) if buyer_won else None
        if room is not None and room.total > 0:  # nothing more to pay when it was refunded already
            refundable = room.total
            value = _money(amount, what=_("The amount")) if amount not in (None, "") else refundable
            if value > refundable:
                raise ClaimError(_("The amount cannot be more than %(max)s.")
                                 % {"max": formatting.money_text(refundable, claim.currency)})
        verdict = _("Provider decided for the buyer") if buyer_won else _("Provider decided for the seller")
        log = _fire(claim, "record_provider_verdict", by, reason=verdict, buyer_won=buyer_won, amount=value,
                    at=timezone.now())
        notify(claim, "decided", to=[Party.BUYER, Party.SELLER], key=log, context={"detail": verdict})
        if buyer_won:
            if value:
                _pay_refund(claim, value, funded_by=FundedBy.PLATFORM, by=by, room=room)
            fine = Policy.from_snapshot(claim.policy).dispute_fine
            record_claim_charge(
                seller=claim.seller, kind=LedgerKind.DISPUTE_FINE, amount=fine, currency="EUR", claim=claim, by=by,
                note=_("Payment-provider dispute %(ref)s lost") % {"ref": claim.provider_reference})
        _after_resolution(claim, by=by)
    return claim



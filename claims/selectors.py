"""Reads of claims for the pages: scoped to the viewer, with everything a page shows fetched in a fixed
number of queries."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from core import formatting
from orders.models import Order, OrderItem, Shipment
from sellers.models import LedgerEntry

from . import deadlines, decision_target, presenters, returns, roles, warranty_clock
from .calendar import local_date
from .choices import ClaimState, OfferStatus, Outcome, Party, RefundStatus
from .models import (
    Claim,
    ClaimItem,
    ClaimTransition,
    Evidence,
    ExpertAssessment,
    Message,
    Offer,
    OutboundEmail,
    Refund,
    ReturnAuthorization,
    SatisfactionResponse,
)

if TYPE_CHECKING:
    from typing import TypedDict

    from django.contrib.auth.models import AnonymousUser, User
    from django_stubs_ext import WithAnnotations

    class _BuyerAnswers(TypedDict):
        buyer_answers: list[SatisfactionResponse]

    # A claim of `buyer_claims_in_full`: with the buyer's own survey answers.
    ClaimInFull = WithAnnotations[Claim, _BuyerAnswers]


def _detail_queryset() -> QuerySet[Claim]:
    public_messages = Message.objects.filter(is_internal=False).select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Evidence.objects.order_by("created_at", "id")))
    return Claim.objects.select_related("order", "seller", "buyer").prefetch_related(
        "items__order_item",
        Prefetch("messages", queryset=public_messages, to_attr="public_messages"),
        Prefetch("offers", queryset=Offer.objects.order_by("created_at", "id")),
        Prefetch("evidence", queryset=Evidence.objects.filter(message__isnull=True), to_attr="opening_evidence"),
        Prefetch("transitions", queryset=ClaimTransition.objects.order_by("created_at", "id")),
        "refunds",
    )


def claim_for_buyer(user: User, number: str) -> Claim:
    return get_object_or_404(_detail_queryset().filter(buyer=user), number=number)


def buyer_claims_in_full(user: User) -> QuerySet[ClaimInFull]:
    """A buyer's claims, each with what their claim page shows (`_detail_queryset`) and the rest of what is theirs:
    the appeal, the returns, the expert assessments with their costs and the buyer's own survey answer
    (`buyer_answers`). A fixed number of queries however many claims: the buyer's data export (accounts.export)."""
    return (_detail_queryset().filter(buyer=user).select_related("appeal").prefetch_related(
        "returns", Prefetch("expert_assessments", queryset=ExpertAssessment.objects.prefetch_related("costs")),
        Prefetch("satisfaction", queryset=SatisfactionResponse.objects.filter(party=Party.BUYER),
                 to_attr="buyer_answers"))
        .order_by("opened_at", "id"))


def evidence_for_viewer(user: User | AnonymousUser, pk: int) -> Evidence:
    """An evidence file the user may see: the claim's buyer, the seller's staff, agents. Attachments of internal
    notes are for agents only. Anything else is a 404, so file ids reveal nothing."""
    evidence = get_object_or_404(Evidence.objects.select_related("claim", "message"), pk=pk)
    claim = evidence.claim
    if roles.is_agent(user):
        return evidence
    internal = evidence.message is not None and evidence.message.is_internal
    if not internal and (roles.is_claim_buyer(claim, user) or roles.is_seller_staff(user, claim.seller_id)):
        return evidence
    from django.http import Http404

    raise Http404


@dataclasses.dataclass(frozen=True)
class Deadline:
    """The deadline that matters now, in plain words, for one viewer."""

    text: str
    due_at: dt.datetime | None = None
    urgent: bool = False


def _when(moment: dt.datetime) -> str:
    return formatting.moment(moment)  # one way to write a moment on every page, with its zone


def buyer_deadline(claim: Claim, now: dt.datetime | None = None) -> Deadline:
    """What claims.deadlines says is due, in the buyer's words."""
    now = now or timezone.now()
    events = deadlines.due_events(claim)
    action = deadlines.action_due(events)
    what = action.what if action else ""
    if claim.is_open and warranty_clock.may_choose_remedy(claim):
        return Deadline(_("Your warranty claim was not resolved in time. You may now choose a replacement or withdraw "
                          "from the purchase with a full refund: see below."), None, urgent=True)
    if action is not None and what in (deadlines.WARRANTY_LIMIT, deadlines.WARRANTY_MAX) \
            and action.who == Party.SELLER:
        return Deadline(_("The seller must resolve your warranty claim by %(when)s, the limit the law sets; "
                          "otherwise we take over.") % {"when": _when(action.at)}, action.at)
    if action is not None and what == deadlines.FIRST_REPLY_BREACHED and deadlines.is_overdue(action.at, now):
        takeover = deadlines.event(events, deadlines.TAKEN_OVER)
        due = takeover.at if takeover else None
        return Deadline(_("The seller did not reply by %(missed)s. You can ask us to step in now; otherwise we take "
                          "over automatically on %(when)s.") % {"missed": _when(action.at),
                                                                "when": _when(due) if due else "—"},
                        due, urgent=True)
    if action is not None and what == deadlines.FIRST_REPLY_BREACHED:
        return Deadline(_("The seller has until %(when)s to reply.") % {"when": _when(action.at)}, action.at)
    if what == deadlines.TAKEN_OVER and claim.rejected:
        return Deadline(_("The seller rejected your claim. If you disagree, ask us to step in: we will look "
                          "at it and decide."), None, urgent=True)
    if action is not None and what == deadlines.TAKEN_OVER:
        return Deadline(_("You are working it out with the seller. If it is not solved by %(when)s, we take over "
                          "automatically.") % {"when": _when(action.at)}, action.at)
    if action is not None and what == deadlines.INFO_TIMEOUT and action.who == Party.BUYER:
        return Deadline(_("We need information from you. Please answer by %(when)s; without an answer we may "
                          "decide with what we have.") % {"when": _when(action.at)}, action.at, urgent=True)
    if action is not None and what == deadlines.INFO_TIMEOUT:
        return Deadline(_("We asked the seller for information; they have until %(when)s to answer.")
                        % {"when": _when(action.at)}, action.at)
    if claim.state == ClaimState.ESCALATED and (decision := decision_words(claim, now)) is not None:
        return Deadline(f'{_("Our support team is handling your claim.")} {decision.text}', decision.due_at)
    if claim.state == ClaimState.ESCALATED:
        return Deadline(_("Our support team is handling your claim and will decide it. If it is still open on "
                          "%(when)s, you get a full refund.") % {"when": _when(action.at)}
                        if action is not None and what == deadlines.FORCED_REFUND
                        else _("Our support team is handling your claim."), None)
    if claim.state == ClaimState.AWAITING_RETURN:
        return _return_deadline(claim)
    return Deadline(outcome_sentence(claim), None)


def _return_deadline(claim: Claim) -> Deadline:
    """Where the return stands (claims.returns), in the buyer's words; urgent once the buyer has been reminded."""
    stage = returns.stage(claim)
    if stage == returns.TO_SEND:
        return Deadline(presenters.send_by(claim), claim.return_due_at, urgent=claim.return_reminded_at is not None)
    if stage == returns.DELIVERED:
        return Deadline(f'{_("Your return was delivered to the seller.")} '
                        f'{presenters.confirm_by(claim, to_buyer=True)}', claim.return_confirm_due_at)
    if stage == returns.IN_TRANSIT:
        return Deadline(_("Your return is on its way to the seller. The claim is completed when the seller confirms "
                          "it arrived."), None)
    return Deadline(_("Please send the item back as agreed. The claim is completed when it arrives."), None)


@dataclasses.dataclass(frozen=True)
class DecisionWords:
    """The platform's decision target as the buyer and the seller read it, a sentence their pages follow their own
    with: the promise while it holds (with its countdown), an apology once it has passed (no countdown: a date in the
    past is no promise)."""

    text: str
    due_at: dt.datetime | None
    late: bool


def decision_words(claim: Claim, now: dt.datetime | None = None) -> DecisionWords | None:
    """None while no target applies (the platform waits for information, the claim is not with the platform, a
    payment provider decides it): the pages say what applies instead. Said in the claim's market zone."""
    due = decision_target.current(claim)
    if due is None:
        return None
    when = presenters.decision_moment(due, presenters.policy_of(claim))
    if deadlines.is_overdue(due, now or timezone.now()):
        return DecisionWords(_("We are late with our decision, sorry: it was due on %(when)s. We will decide as soon "
                               "as we can.") % {"when": when}, None, late=True)
    return DecisionWords(_("We will decide by %(when)s.") % {"when": when}, due, late=False)


@dataclasses.dataclass(frozen=True)
class WarrantyClock:
    """The warranty-claim clock of an open claim in words (claims.warranty_clock), for the buyer's, the seller's and
    the console's claim pages: when it started, the limit (or its pause), the maximum, and what the countdown runs
    to."""

    lines: list[str]
    countdown_to: dt.datetime | None = None
    urgent: bool = False


def warranty_clock_status(claim: Claim, *, to_buyer: bool = False) -> WarrantyClock | None:
    """None for a claim without a clock (no legal limit in its market, not a consumer's warranty claim, the goods
    not at the seller yet) and once it is resolved: the clock stops at the resolution."""
    if not claim.is_open or claim.goods_received_at is None or claim.warranty_due_at is None:
        return None
    limit_passed = claim.warranty_limit_reached_at is not None
    max_passed = claim.warranty_max_reached_at is not None
    paused = warranty_clock.is_paused(claim)
    lines = [presenters.clock_started(claim)]
    if limit_passed:
        lines.append(presenters.clock_limit_passed(claim))
    elif paused:
        lines.append(presenters.clock_paused(claim))
    else:
        lines.append(presenters.clock_limit(claim))
    if claim.warranty_max_at is not None:
        lines.append(presenters.clock_maximum_passed(claim, to_buyer=to_buyer) if max_passed
                     else presenters.clock_maximum(claim, to_buyer=to_buyer))
    countdown = None
    if not paused and not limit_passed:
        countdown = claim.warranty_due_at
    elif claim.warranty_max_at is not None and not max_passed:
        countdown = claim.warranty_max_at
    return WarrantyClock(lines, countdown, urgent=limit_passed or max_passed)


@dataclasses.dataclass(frozen=True)
class CollectionStatus:
    """Goods waiting at the seller for the buyer to collect (claims.collection), in words."""

    lines: list[str]
    collected: bool = False


def collection_status(claim: Claim, now: dt.datetime | None = None) -> CollectionStatus | None:
    if claim.collection_ready_at is None:
        return None
    policy = presenters.policy_of(claim)
    if claim.collected_at is not None:
        collected_on = presenters.market_day(claim.collected_at, policy)
        return CollectionStatus([_("Collected on %(day)s.") % {"day": collected_on},
                                 presenters.collected_detail(claim)], collected=True)
    today = local_date(now or timezone.now(), time_zone=policy.time_zone)
    lines = [_("Ready for collection at the seller since %(day)s.")
             % {"day": presenters.market_day(claim.collection_ready_at, policy)},
             presenters.storage_terms(claim), presenters.storage_fee_so_far(claim, today), presenters.sale_terms(claim)]
    return CollectionStatus([line for line in lines if line])


def outcome_sentence(claim: Claim) -> str:
    amount = formatting.money_text(claim.refund_amount, claim.currency) if claim.refund_amount else ""
    sentences: dict[str, str] = {
        Outcome.REFUND: _("Resolved: you are refunded %(amount)s.") % {"amount": amount},
        Outcome.PARTIAL_REFUND: _("Resolved: you are refunded %(amount)s.") % {"amount": amount},
        Outcome.DISCOUNT: _("Resolved: you get a price discount of %(amount)s.") % {"amount": amount},
        Outcome.REPLACEMENT: _("Resolved: the item is replaced."),
        Outcome.REPAIR: _("Resolved: the item is repaired."),
        Outcome.DENIED: _("Closed: the claim is not covered. %(reason)s")
        % {"reason": presenters.denial_words(claim.denial_reason)},
        Outcome.WITHDRAWN: _("You closed this claim."),
        Outcome.DELIVERED: _("Closed: tracking shows your order was delivered to your address."),
    }
    return sentences.get(claim.outcome, _("Resolved."))


def payment_method_words(order: Any) -> str:
    """How the buyer recognises where a refund goes: "card ending 4242", "your PayPal account"."""
    from orders.models import PaymentMethod

    if order.payment_method == PaymentMethod.CARD:
        return (_("card ending %(last4)s") % {"last4": order.card_last4}) if order.card_last4 else _("your card")
    return {
        PaymentMethod.PAYPAL: _("your PayPal account"),
        PaymentMethod.BANK_TRANSFER: _("your bank account"),
    }.get(order.payment_method, _("your original payment method"))


def refund_sentence(refund: Refund) -> str:
    """What the buyer is told about one refund: how and when the money arrives, or what happens next."""
    from django.conf import settings

    claim = refund.claim
    amount = formatting.money_text(refund.amount, refund.currency)
    where = payment_method_words(claim.order)
    if refund.status == RefundStatus.PAID:
        low, high = settings.REFUND_ARRIVAL_BUSINESS_DAYS
        return _("%(amount)s sent to your original payment method, %(where)s, on %(day)s; it usually arrives within "
                 "%(low)d–%(high)d business days.") % {
            "amount": amount, "where": where, "day": formatting.day(refund.paid_at),
            "low": low, "high": high}
    if refund.status == RefundStatus.FAILED:
        return _("We could not send %(amount)s to %(where)s (%(reason)s). Our finance team will try again or "
                 "contact you about another way to pay you; you don't need to do anything.") % {
            "amount": amount, "where": where, "reason": refund.failure_reason}
    return _("%(amount)s is being paid back to %(where)s. We will email you as soon as it has been sent.") % {
        "amount": amount, "where": where}


@dataclasses.dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # "event", "message" or "offer"
    title: str
    party: str
    body: str = ""
    item: Any = None
    # An event's note: the message its transition posted on the thread (its text and files), shown with the event.
    note: Message | None = None
    name: str = ""  # an event's transition


# The transitions whose reason is written for the parties (a rejection's reasons, the platform's question, ...).
SHOWN_REASONS = ("reject", "decide", "reopen", "request_info", "classify_defect", "start_expert_assessment",
                 "conclude_expert_assessment", "collected", "decline_offer", "decline_counter_offer",
                 "appeal_decision", "return_shipped")  # a return's tracking
# A transition and the note it posts on the thread are written in one transaction: moments apart, never minutes.
NOTE_WINDOW = dt.timedelta(minutes=1)


def timeline(claim: Claim) -> list[TimelineEntry]:
    """Transitions, public messages and offers of a claim prefetched by `_detail_queryset`, oldest first. Each moment
    once: a note a transition posted on the thread (a rejection's reasons and evidence, the platform's question, a
    decision's note, an inspection note) is shown with its event, not again as a message."""
    policy = presenters.policy_of(claim)
    messages = list(claim.public_messages)
    merged: set[int] = set()
    entries = []
    # a counter-offer is said by its offer entry below; an answer to the platform by its message
    for t in claim.transitions.all():
        if t.name in ("provide_info", "counter_offer"):
            continue
        note = _note_of(t, messages, merged)
        if note is not None:
            merged.add(note.pk)
        body = _shown_reason(t) or (note.body if note is not None else "")
        entries.append(TimelineEntry(t.created_at, "event", presenters.transition_words(t.name, policy), t.party,
                                     body, note=note, name=t.name))
    entries += [TimelineEntry(m.created_at, "message", "", m.party, m.body, m) for m in messages if m.pk not in merged]
    entries += [TimelineEntry(o.created_at, "offer", str(o.get_kind_display()), Party.AGENT if o.on_behalf_of_platform
                              else o.party, o.note, o) for o in claim.offers.all()]
    return sorted(entries, key=lambda e: (e.at, {"event": 0, "message": 1, "offer": 2}[e.kind]))


def _shown_reason(transition: ClaimTransition) -> str:
    """The transition's reason when it is written for the parties: the buyer's own words when asking the platform to
    step in too (an agent's reasons for escalating stay in the console)."""
    if transition.name in SHOWN_REASONS or (transition.name == "escalate" and transition.party == Party.BUYER):
        return transition.reason
    return ""


def _note_of(transition: ClaimTransition, messages: list[Message], merged: set[int]) -> Message | None:
    """The message the transition posted with its reason: same author, the same text (or the end of the reason, as an
    expert's result and note), written with it."""
    if transition.actor_id is None or not transition.reason:
        return None
    return next((m for m in messages if m.pk not in merged and m.author_id == transition.actor_id and m.body
                 and (m.body == transition.reason or transition.reason.endswith(m.body))
                 and abs(m.created_at - transition.created_at) <= NOTE_WINDOW), None)


def escalation_reason(claim: Claim) -> str:
    """Why the buyer asked the platform to step in, while the claim is with the platform because of it (not after a
    take-over or a reopening since): both parties' pages show it by the status."""
    if claim.state not in (ClaimState.ESCALATED, ClaimState.AWAITING_INFO):
        return ""
    handovers = [t for t in claim.transitions.all()
                 if t.name in ("escalate", "take_over", "reopen", "appeal_decision")]
    last = handovers[-1] if handovers else None
    return last.reason if last is not None and last.name == "escalate" and last.party == Party.BUYER else ""


def platform_question(claim: Claim, party: str) -> ClaimTransition | None:
    """The question the platform asked `party` and waits for an answer to (its text is the transition's reason)."""
    if claim.state != ClaimState.AWAITING_INFO or claim.info_requested_from != party:
        return None
    return next((t for t in reversed(list(claim.transitions.all())) if t.name == "request_info"), None)


def pending_offer(claim: Claim) -> Offer | None:
    return next((o for o in claim.offers.all() if o.status == OfferStatus.PENDING), None)


# --- the buyer's orders, with their claims (another buyer's order is a 404, never a 403) ------------------------


def buyer_orders(user: User) -> QuerySet[Order]:
    claims = Claim.objects.only("id", "number", "state", "order_id", "opened_at").order_by("-opened_at")
    return (Order.objects.filter(buyer=user).select_related("seller")
            .prefetch_related("items", Prefetch("claims", queryset=claims)).order_by("-placed_at", "-id"))


def buyer_order(user: User, number: str) -> Order:
    return get_object_or_404(buyer_orders(user).prefetch_related("shipments"), number=number)


def open_claims_by_item(order: Order) -> dict[int, str]:
    """The number of the claim open on each item of the order, by the item's id: one query, however many items."""
    return dict(ClaimItem.objects.filter(order_item__order=order, is_open=True)
                .values_list("order_item_id", "claim__number"))


# --- the support console ----------------------------------------------------------------------------------------

# The claims with the platform: what the escalated queue lists.
PLATFORM_STATES = [ClaimState.ESCALATED, ClaimState.AWAITING_INFO]


def console_claim(pk: int | None) -> Claim | None:
    """Everything the console's claim page shows, in a fixed number of queries."""
    if pk is None:
        return None
    return (
        # the defect: the page's defect overview (claims.remedies); the order's items: what is left to refund, shown
        # (claims.money.shown_refund_room) from these rows instead of reading the order again
        Claim.objects.select_related("order", "seller", "buyer", "assigned_to", "defect")
        .prefetch_related(
            Prefetch("items", queryset=ClaimItem.objects.select_related("order_item")),
            Prefetch("order__items", queryset=OrderItem.objects.order_by("pk")),
            Prefetch(
                "evidence",
                queryset=Evidence.objects.select_related("uploaded_by", "message").order_by("created_at", "id"),
            ),
            Prefetch("messages", queryset=Message.objects.select_related("author").order_by("created_at", "id")),
            Prefetch("offers", queryset=Offer.objects.select_related("made_by").order_by("created_at", "id")),
            "refunds",
            Prefetch("ledger_entries", queryset=LedgerEntry.objects.select_related("created_by")),
            Prefetch(
                "transitions", queryset=ClaimTransition.objects.select_related("actor").order_by("created_at", "id")
            ),
            # what the facts list says of each email (event, to whom, queued, sent): not its bodies and facts
            Prefetch("emails", queryset=OutboundEmail.objects.order_by("created_at", "id").only(
                "id", "claim_id", "event", "to_email", "created_at", "sent_at", "attempts")),
            "order__shipments",
        )
        .filter(pk=pk)
        .first()
    )


def console_search(term: str) -> Q:
    """Exact matches only, each served by an index: a claim list of a million rows is never scanned for a
    substring. Orders, shipments and buyers are looked up first, so the claim query is a plain OR of indexed
    columns."""
    variants = list({term, term.upper()})
    order_ids = list(Order.objects.filter(number__in=variants).values_list("pk", flat=True)[:100])
    order_ids += list(Shipment.objects.filter(tracking_number__in=variants).values_list("order_id", flat=True)[:100])
    # A return (claims.returns) by its RMA number or its parcel's tracking number.
    returned = list(ReturnAuthorization.objects.filter(Q(rma_number__in=variants) | Q(tracking_number__in=variants))
                    .values_list("claim_id", flat=True)[:100])
    condition = Q(number__in=variants) | Q(order_id__in=order_ids) | Q(pk__in=returned)
    if "@" in term:
        buyer_ids = list(get_user_model().objects.filter(email__iexact=term).values_list("pk", flat=True)[:20])
        condition |= Q(buyer_id__in=buyer_ids)
    return condition


def platform_queues(user: Any) -> dict[str, QuerySet[Claim]]:
    """The escalated queue's tabs: mine, unassigned, all."""
    base = Claim.objects.filter(state__in=PLATFORM_STATES)
    return {"me": base.filter(assigned_to=user), "unassigned": base.filter(assigned_to__isnull=True), "all": base}


def platform_queue_page(queryset: QuerySet[Claim]) -> QuerySet[Claim]:
    """A tab of the escalated queue in its order: overdue first, then the least time left (claims.deadlines). An
    escalated claim's deadline is the platform's decision target (claims.decision_target), one waiting for information
    the asked party's deadline."""
    return (queryset.select_related("seller", "buyer", "assigned_to")
            .order_by(F("action_due_at").asc(nulls_last=True), "escalated_at", "pk"))


def decision_breaches(since: dt.datetime) -> tuple[int, int]:
    """The platform's decision target kept and missed (claims.decision_target), over the claims decided or escalated
    since `since`: (claims whose target was missed, claims that had a target). A claim counts once, however many
    targets it had; payment-provider disputes have none. One query."""
    counts = Claim.objects.filter(Q(decided_at__gte=since) | Q(escalated_at__gte=since),
                                  decision_due_at__isnull=False).aggregate(
        breached=Count("pk", filter=Q(decision_breached=True)), with_target=Count("pk"))
    return counts["breached"], counts["with_target"]

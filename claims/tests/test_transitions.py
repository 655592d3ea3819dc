"""SPEC section 3 as one table: every transition, tried by every kind of person.

Each row builds a scene through the services, lets one actor (buyer, another buyer, the seller's staff,
another seller's staff, an agent, an anonymous visitor or the system) try one service at one moment, and
checks either the whole effect (state, outcome, the one log row, money) or that the refusal carries the
right code and changed nothing at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Model

from claims import services
from claims.errors import ClaimError
from claims.models import Claim, ClaimTransition, Offer, Refund
from claims.tests.factories import OPENED_AT, ClaimWorld, claim_world, delivered_order, photo
from orders.models import OrderItem, Shipment
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers import services as seller_services
from sellers.models import LedgerEntry, SellerMembership
from sellers.tests.factories import UserFactory, make_agent

pytestmark = pytest.mark.django_db

SET_UP_AT = OPENED_AT + dt.timedelta(hours=1, minutes=30)  # after claim_world's own steps (at +1 h)
ACT_AFTER = dt.timedelta(hours=2)  # rows act at OPENED_AT + 2 h unless they say otherwise
CLAIMED_VALUE = "199.00"  # the order total of claim_world's order
PARTY_OF_ROLE = {"buyer": "buyer", "staff": "seller", "agent": "agent", "system": "system"}


# --- scenes: a claim driven through the services, with what the row needs -----------------------------


@dataclasses.dataclass
class Scene:
    world: ClaimWorld
    offer: Offer | None = None

    @property
    def claim(self) -> Claim:
        return self.world.claim

    def actor(self, role: str) -> Any:
        if role == "anonymous":
            return AnonymousUser()
        if role == "system":
            return None
        return getattr(self.world, role)


Step = Callable[[Scene], object]


def scene(state: str, *steps: Step) -> Callable[[], Scene]:
    def build() -> Scene:
        built = Scene(claim_world(state))
        with time_machine.travel(SET_UP_AT, tick=False):
            for step in steps:
                step(built)
        built.world.refresh()
        return built

    return build


def offered(kind: str, amount: str | None = None, *, by: str = "staff") -> Step:
    def step(s: Scene) -> None:
        s.offer = services.make_offer(claim=s.claim, by=s.actor(by), kind=kind, amount=amount)

    return step


def classified(defect_type: str, *, by: str = "staff") -> Step:
    """A repair, a discount or a partial refund of a defect needs its type first (claims.remedies)."""
    def step(s: Scene) -> None:
        services.classify_defect(claim=s.claim, by=s.actor(by), defect_type=defect_type)

    return step


def buyer_accepted(s: Scene) -> None:
    services.accept_offer(offer=s.offer, by=s.world.buyer)


def buyer_declined(s: Scene) -> None:
    services.decline_offer(offer=s.offer, by=s.world.buyer)


def buyer_countered(kind: str, amount: str | None = None) -> Step:
    """The buyer counters the seller's pending offer: it is declined, and the counter-offer is the scene's offer."""
    def step(s: Scene) -> None:
        s.offer = services.counter_offer(claim=s.claim, by=s.world.buyer, kind=kind, amount=amount, countered=s.offer,
                                         reason="Not enough.")

    return step


def staff_rejected(s: Scene) -> None:
    services.reject(claim=s.claim, by=s.world.staff, code="as_described", body="It matches the listing.",
                    evidence=[photo()])


def asked(party: str) -> Step:
    def step(s: Scene) -> None:
        services.request_info(claim=s.claim, by=s.world.agent, party=party, question="Please send the invoice.")

    return step


def agent_escalated(s: Scene) -> None:
    services.escalate(claim=s.claim, by=s.world.agent, reason="Seller inaction")


def return_sent_and_delivered(s: Scene) -> None:
    """The buyer sent the item back and an agent recorded its delivery (claims.services.returns)."""
    services.add_return_tracking(claim=s.claim, by=s.world.buyer, carrier="DHL", tracking_number="JJD000390007")
    services.mark_return_delivered(claim=s.claim, by=s.world.agent)


def warranty_max_passed(s: Scene) -> None:
    """The warranty claim's maximum passed unresolved (the sweep sets it: claims/tests/test_warranty_clock.py)."""
    Claim.objects.filter(pk=s.claim.pk).update(goods_received_at=OPENED_AT, warranty_max_reached_at=SET_UP_AT)


def seller_suspended(s: Scene) -> None:
    seller_services.suspend(seller=s.claim.seller, by=s.world.agent, reason="Failed vetting re-check")


def _people(order, claim: Claim, agent=None) -> ClaimWorld:  # type: ignore[no-untyped-def]
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="staff")
    return ClaimWorld(claim, staff, agent or make_agent())


def not_received(*steps: Step, tracked_to_order_address: bool) -> Callable[[], Scene]:
    """A not-received claim; later the carrier reports a delivery (to the order's address or elsewhere)."""

    def build() -> Scene:
        # Expected on 4 March: with the 3-business-day buffer a not-received claim may open on 10 March.
        order = OrderFactory(estimated_delivery=dt.date(2026, 3, 4))
        OrderItemFactory(order=order)
        ShipmentFactory(order=order)
        with time_machine.travel(OPENED_AT, tick=False):
            claim = services.open_claim(order=order, buyer=order.buyer, reason="not_received",
                                        description="Nothing arrived.", desired_outcome="refund")
        built = Scene(_people(order, claim))
        with time_machine.travel(SET_UP_AT, tick=False):
            for step in steps:
                step(built)
        Shipment.objects.filter(order=order).update(delivered_at=SET_UP_AT,
                                                    delivered_to_order_address=tracked_to_order_address)
        built.world.refresh()
        return built

    return build


def provider_dispute() -> Scene:
    order = delivered_order()
    agent = make_agent()
    with time_machine.travel(OPENED_AT, tick=False):
        claim = services.record_provider_dispute(order=order, by=agent, reference="PP-D-4711",
                                                 description="PayPal dispute: item not as described.")
    world = _people(order, claim, agent)
    world.refresh()
    return Scene(world)


SCENES: dict[str, Callable[[], Scene]] = {
    "awaiting_seller": scene("awaiting_seller"),
    "in_progress": scene("in_progress"),
    "rejected": scene("in_progress", staff_rejected),
    "escalated": scene("escalated"),
    "awaiting_info from buyer": scene("awaiting_info"),
    "awaiting_info from seller": scene("escalated", asked("seller")),
    "awaiting_return": scene("awaiting_return"),  # an agent decided a repair, paid by the seller
    "resolved": scene("resolved"),  # an agent decided a full refund, paid by the seller
    "offer full_refund": scene("in_progress", offered("full_refund")),
    "in_progress, irremovable": scene("in_progress", classified("irremovable")),
    "escalated, irremovable": scene("escalated", classified("irremovable", by="agent")),
    "escalated, removable": scene("escalated", classified("removable", by="agent")),
    "offer partial_refund": scene("in_progress", classified("irremovable"), offered("partial_refund", "40.00")),
    "offer discount": scene("in_progress", classified("irremovable"), offered("discount", "30.00")),
    "offer replacement": scene("in_progress", offered("replacement")),
    "offer repair": scene("in_progress", classified("removable"), offered("repair")),
    "offer return_for_refund": scene("in_progress", offered("return_for_refund")),
    "platform offer": scene("escalated", offered("full_refund", by="agent")),
    "declined offer": scene("in_progress", classified("irremovable"), offered("partial_refund", "40.00"),
                            buyer_declined),
    "return_for_refund accepted": scene("in_progress", offered("return_for_refund"), buyer_accepted),
    "counter-offer": scene("in_progress", classified("irremovable"), offered("partial_refund", "40.00"),
                           buyer_countered("partial_refund", "90.00")),
    "counter-offer replacement": scene("in_progress", offered("full_refund"), buyer_countered("replacement")),
    "seller suspended": scene("awaiting_seller", seller_suspended),
    "not_received, delivered": not_received(tracked_to_order_address=True),
    "not_received, delivered elsewhere": not_received(tracked_to_order_address=False),
    "not_received escalated, delivered": not_received(agent_escalated, tracked_to_order_address=True),
    "provider dispute": provider_dispute,
    "past the warranty maximum": scene("escalated", warranty_max_passed),
    "return for refund delivered": scene("in_progress", offered("return_for_refund"), buyer_accepted,
                                         return_sent_and_delivered),
    "repair delivered": scene("awaiting_return", return_sent_and_delivered),
}


# --- actions: one service call each; `by` is the actor (None for the system) ---------------------------


Act = Callable[[Scene, Any], object]


def reply(s: Scene, by: Any) -> object:
    return services.reply(claim=s.claim, by=by, body="Sorry to hear that, we are on it.")


def reject(s: Scene, by: Any) -> object:
    return services.reject(claim=s.claim, by=by, code="as_described", body="The item matches the listing.",
                           evidence=[photo()])


def reject_without_evidence(s: Scene, by: Any) -> object:
    return services.reject(claim=s.claim, by=by, code="as_described", body="It matches.", evidence=[])


def reject_without_code(s: Scene, by: Any) -> object:
    return services.reject(claim=s.claim, by=by, code="", body="It matches.", evidence=[photo()])


def make_offer(kind: str, amount: str | None = None) -> Act:
    def act(s: Scene, by: Any) -> object:
        return services.make_offer(claim=s.claim, by=by, kind=kind, amount=amount, note="Our proposal")

    return act


def accept(s: Scene, by: Any) -> object:
    return services.accept_offer(offer=s.offer, by=by)


def decline(s: Scene, by: Any) -> object:
    return services.decline_offer(offer=s.offer, by=by)


def withdraw(s: Scene, by: Any) -> object:
    return services.withdraw_offer(offer=s.offer, by=by)


def accept_counter(s: Scene, by: Any) -> object:
    return services.accept_counter_offer(offer=s.offer, by=by)


def escalate(s: Scene, by: Any) -> object:
    return services.escalate(claim=s.claim, by=by, reason="The seller does not help.")


def close(s: Scene, by: Any) -> object:
    return services.close(claim=s.claim, by=by)


def request_info(party: str) -> Act:
    def act(s: Scene, by: Any) -> object:
        return services.request_info(claim=s.claim, by=by, party=party, question="When did it start?")

    return act


def provide_info(s: Scene, by: Any) -> object:
    return services.provide_info(claim=s.claim, by=by, body="It started on the second day.")


def decide(outcome: str, *, funded_by: str = "seller", amount: str | None = None, denial_reason: str = "") -> Act:
    def act(s: Scene, by: Any) -> object:
        return services.decide(claim=s.claim, by=by, outcome=outcome, funded_by=funded_by, amount=amount,
                               denial_reason=denial_reason)

    return act


def receive_return(s: Scene, by: Any) -> object:
    return services.receive_return(claim=s.claim, by=by, inspection_result="as_expected")


def reopen(s: Scene, by: Any) -> object:
    return services.reopen(claim=s.claim, by=by, reason="The buyer sent new evidence.")


def appeal(s: Scene, by: Any) -> object:
    return services.appeal(claim=s.claim, by=by, reason="The decision missed the photos of the damage.")


def appeal_without_reason(s: Scene, by: Any) -> object:
    return services.appeal(claim=s.claim, by=by, reason=" ")


def provider_verdict(*, buyer_won: bool) -> Act:
    def act(s: Scene, by: Any) -> object:
        return services.record_provider_verdict(claim=s.claim, by=by, buyer_won=buyer_won)

    return act


# System services take no actor.
def take_over(s: Scene, by: None) -> object:
    return services.take_over(claim=s.claim)


def info_timeout(s: Scene, by: None) -> object:
    return services.info_timeout(claim=s.claim)


def mark_delivered(s: Scene, by: None) -> object:
    return services.mark_delivered(claim=s.claim)


def sweep(s: Scene, by: None) -> object:
    """The deadline sweep at the row's moment: the system's transitions of the return (claims.services.returns)."""
    return services.enforce_deadlines()


def force_refund(s: Scene, by: None) -> object:
    return services.force_refund(claim=s.claim)


def exercise_rights(choice: str) -> Act:
    def act(s: Scene, by: Any) -> object:
        return services.exercise_warranty_rights(claim=s.claim, by=by, choice=choice)

    return act


# --- extra checks for allowed rows ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Moment:
    """A time relative to when the row acted, counted on the marketplace's calendar."""

    days: int = 0

    def resolve(self, acted_at: dt.datetime) -> dt.datetime:
        local = acted_at.astimezone(ZoneInfo(settings.TIME_ZONE))
        return (local + dt.timedelta(days=self.days)).astimezone(dt.UTC)  # wall-clock arithmetic


NOW = Moment()
Check = Callable[[Scene, dt.datetime], None]


def claim_has(**expected: Any) -> Check:
    def check(s: Scene, at: dt.datetime) -> None:
        wanted = {k: v.resolve(at) if isinstance(v, Moment) else v for k, v in expected.items()}
        assert {k: getattr(s.claim, k) for k in expected} == wanted

    return check


def offer_is(status: str) -> Check:
    def check(s: Scene, at: dt.datetime) -> None:
        s.offer.refresh_from_db()
        assert (s.offer.status, s.offer.answered_at) == (status, at)

    return check


def new_pending_offer(kind: str, amount: str | None, *, for_platform: bool) -> Check:
    def check(s: Scene, at: dt.datetime) -> None:
        offer = s.claim.offers.get(status="pending")
        expected_amount = Decimal(amount) if amount else None
        assert (offer.kind, offer.amount, offer.on_behalf_of_platform, offer.created_at) == (
            kind, expected_amount, for_platform, at)

    return check


def message_from(party: str) -> Check:
    def check(s: Scene, at: dt.datetime) -> None:
        message = s.claim.messages.last()
        assert (message.party, message.created_at, message.is_internal) == (party, at, False)

    return check


def rejection_evidence_stored(s: Scene, at: dt.datetime) -> None:
    evidence = s.claim.evidence.get(party="seller")
    assert (evidence.uploaded_by, evidence.message.party) == (s.world.staff, "seller")


def warranty_extended(s: Scene, at: dt.datetime) -> None:
    item = OrderItem.objects.get(claim_items__claim=s.claim)
    # At least 6 months of warranty are left after a repair or a replacement.
    assert item.warranty_minimum_until == dt.date(2026, 9, 10)


# --- the table -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    scene: str
    actor: str
    act: Act
    after: dt.timedelta = ACT_AFTER
    # allowed
    to: str = ""
    log: str = ""  # the name of the one new log row; "" when the state does not move
    outcome: str | None = None  # None: not checked
    refund: tuple[str, str] | None = None  # (amount, funded_by) of the one new Refund
    ledger: tuple[str, ...] = ()  # kinds of the new LedgerEntry rows
    checks: Sequence[Check] = ()
    # refused
    error: str = ""
    says: str = ""


def allowed(text: str, scene_name: str, actor: str, act: Act, *, to: str, **expect: Any) -> Any:
    return pytest.param(Row(scene_name, actor, act, to=to, **expect), id=text)


def refused(text: str, scene_name: str, actor: str, act: Act, error: str, *, says: str = "",
            after: dt.timedelta = ACT_AFTER) -> Any:
    assert error in ("invalid", "state", "forbidden", "conflict")
    return pytest.param(Row(scene_name, actor, act, after=after, error=error, says=says), id=text)


HOURS_48 = dt.timedelta(hours=48)
# A return delivered at set-up (Tuesday): the seller confirms it within 2 business days, by Thursday at that time.
CONFIRM_DUE = SET_UP_AT - OPENED_AT + dt.timedelta(days=2)
FULL = (CLAIMED_VALUE, "seller")

ROWS = [
    # reply: seller only, awaiting_seller -> in_progress; the first reply stops the 48-hour clock
    allowed("seller staff replies: awaiting_seller becomes in_progress", "awaiting_seller", "staff", reply,
            to="in_progress", log="reply", checks=[claim_has(first_replied_at=NOW), message_from("seller")]),
    allowed("a later seller reply is a message: in_progress stays, first reply time kept", "in_progress", "staff",
            reply, to="in_progress", checks=[claim_has(first_replied_at=OPENED_AT + dt.timedelta(hours=1)),
                                             message_from("seller")]),
    refused("the buyer cannot reply as the seller", "awaiting_seller", "buyer", reply, "forbidden"),
    refused("another buyer cannot reply", "awaiting_seller", "other_buyer", reply, "forbidden"),
    refused("another seller's staff cannot reply", "awaiting_seller", "other_staff", reply, "forbidden"),
    refused("an agent cannot reply as the seller", "awaiting_seller", "agent", reply, "forbidden"),
    refused("an anonymous visitor cannot reply", "awaiting_seller", "anonymous", reply, "forbidden"),
    refused("a suspended seller's staff cannot reply", "seller suspended", "staff", reply, "forbidden"),
    refused("seller staff cannot reply on a resolved claim", "resolved", "staff", reply, "state"),
    # reject: reason code and evidence; first reply; the buyer may escalate at once (see escalate)
    allowed("seller staff rejects with code and evidence: awaiting_seller becomes in_progress, rejected",
            "awaiting_seller", "staff", reject, to="in_progress", log="reject",
            checks=[claim_has(rejected=True, rejection_code="as_described", first_replied_at=NOW),
                    rejection_evidence_stored]),
    allowed("seller staff rejects an in_progress claim: stays in_progress, rejected", "in_progress", "staff",
            reject, to="in_progress", log="reject", checks=[claim_has(rejected=True, rejection_code="as_described")]),
    refused("a rejection without evidence is refused", "awaiting_seller", "staff", reject_without_evidence,
            "invalid", says="evidence"),
    refused("a rejection without a reason code is refused", "awaiting_seller", "staff", reject_without_code,
            "invalid"),
    refused("the buyer cannot reject", "awaiting_seller", "buyer", reject, "forbidden"),
    refused("another seller's staff cannot reject", "awaiting_seller", "other_staff", reject, "forbidden"),
    refused("an agent cannot reject for the seller", "in_progress", "agent", reject, "forbidden"),
    refused("an anonymous visitor cannot reject", "in_progress", "anonymous", reject, "forbidden"),
    refused("seller staff cannot reject an escalated claim", "escalated", "staff", reject, "state"),
    # make_offer: the seller while the claim is with them, an agent for the platform once escalated
    allowed("seller staff's first answer is an offer: awaiting_seller becomes in_progress", "awaiting_seller",
            "staff", make_offer("full_refund"), to="in_progress", log="reply",
            checks=[claim_has(first_replied_at=NOW), new_pending_offer("full_refund", CLAIMED_VALUE,
                                                                       for_platform=False)]),
    allowed("seller staff offers a partial refund: in_progress stays", "in_progress, irremovable", "staff",
            make_offer("partial_refund", "40.00"), to="in_progress",
            checks=[new_pending_offer("partial_refund", "40.00", for_platform=False)]),
    allowed("a new seller offer replaces the pending one", "offer repair", "staff", make_offer("replacement"),
            to="in_progress", checks=[offer_is("withdrawn"), new_pending_offer("replacement", None,
                                                                                for_platform=False)]),
    allowed("an agent offers for the platform on an escalated claim: escalated stays", "escalated, irremovable",
            "agent",
            make_offer("discount", "25.00"), to="escalated",
            checks=[new_pending_offer("discount", "25.00", for_platform=True)]),
    refused("a partial refund offer without an amount changes nothing, not even the first reply",
            "awaiting_seller", "staff", make_offer("partial_refund"), "invalid"),
    refused("a partial refund offer worth the whole claim is refused", "in_progress, irremovable", "staff",
            make_offer("partial_refund", CLAIMED_VALUE), "invalid"),
    refused("the buyer cannot make an offer", "in_progress", "buyer", make_offer("full_refund"), "forbidden"),
    refused("another seller's staff cannot make an offer", "in_progress", "other_staff", make_offer("full_refund"),
            "forbidden"),
    refused("an anonymous visitor cannot make an offer", "in_progress", "anonymous", make_offer("full_refund"),
            "forbidden"),
    refused("seller staff cannot make an offer once escalated", "escalated", "staff", make_offer("full_refund"),
            "state"),
    refused("an agent cannot make an offer while the seller has the claim", "in_progress", "agent",
            make_offer("full_refund"), "state"),
    # accept: refunds and discounts resolve, replacement/repair/return-for-refund wait for the item
    allowed("the buyer accepts a full refund: resolved, refund paid by the seller", "offer full_refund", "buyer",
            accept, to="resolved", log="accept_offer", outcome="refund", refund=FULL, checks=[offer_is("accepted")]),
    allowed("the buyer accepts a partial refund: resolved", "offer partial_refund", "buyer", accept,
            to="resolved", log="accept_offer", outcome="partial_refund", refund=("40.00", "seller"),
            checks=[offer_is("accepted")]),
    allowed("the buyer accepts a discount: resolved", "offer discount", "buyer", accept, to="resolved",
            log="accept_offer", outcome="discount", refund=("30.00", "seller"), checks=[offer_is("accepted")]),
    allowed("the buyer accepts a replacement: awaiting_return", "offer replacement", "buyer", accept,
            to="awaiting_return", log="accept_offer", outcome="replacement",
            checks=[offer_is("accepted"), claim_has(refund_amount=None, funded_by="")]),
    allowed("the buyer accepts a repair: awaiting_return", "offer repair", "buyer", accept, to="awaiting_return",
            log="accept_offer", outcome="repair", checks=[offer_is("accepted")]),
    allowed("the buyer accepts a return for refund: awaiting_return, paid only when the item is back",
            "offer return_for_refund", "buyer", accept, to="awaiting_return", log="accept_offer", outcome="refund",
            checks=[offer_is("accepted"), claim_has(refund_amount=Decimal(CLAIMED_VALUE), funded_by="seller")]),
    allowed("the buyer accepts the platform's offer: resolved, paid by the platform and recovered from the seller",
            "platform offer", "buyer", accept, to="resolved", log="accept_offer", outcome="refund",
            refund=(CLAIMED_VALUE, "platform"), ledger=("refund_recovery",), checks=[offer_is("accepted")]),
    refused("seller staff cannot accept their own offer", "offer full_refund", "staff", accept, "forbidden"),
    refused("another buyer cannot accept the offer", "offer full_refund", "other_buyer", accept, "forbidden"),
    refused("an agent cannot accept for the buyer", "offer full_refund", "agent", accept, "forbidden"),
    refused("an anonymous visitor cannot accept", "offer full_refund", "anonymous", accept, "forbidden"),
    refused("the buyer cannot accept a declined offer", "declined offer", "buyer", accept, "state"),
    # decline / withdraw: the claim stays where it is
    allowed("the buyer declines an offer: in_progress stays, the moment on the timeline", "offer partial_refund",
            "buyer", decline, to="in_progress", log="decline_offer", checks=[offer_is("declined")]),
    refused("seller staff cannot decline for the buyer", "offer partial_refund", "staff", decline, "forbidden"),
    refused("another buyer cannot decline the offer", "offer partial_refund", "other_buyer", decline, "forbidden"),
    refused("the buyer cannot decline an offer twice", "declined offer", "buyer", decline, "state"),
    allowed("seller staff withdraw their offer: in_progress stays", "offer partial_refund", "staff", withdraw,
            to="in_progress", checks=[offer_is("withdrawn")]),
    refused("the buyer cannot withdraw the seller's offer", "offer partial_refund", "buyer", withdraw, "forbidden"),
    refused("another seller's staff cannot withdraw the offer", "offer partial_refund", "other_staff", withdraw,
            "forbidden"),
    refused("seller staff cannot withdraw the platform's offer", "platform offer", "staff", withdraw, "forbidden"),
    # the buyer's counter-offer: the seller's staff accept it, settled as an accepted offer (services.counter_offers)
    allowed("seller staff accept the buyer's counter-offer of a partial refund: resolved, paid by the seller",
            "counter-offer", "staff", accept_counter, to="resolved", log="accept_counter_offer",
            outcome="partial_refund", refund=("90.00", "seller"), checks=[offer_is("accepted")]),
    allowed("seller staff accept the buyer's counter-offer of a replacement: awaiting_return",
            "counter-offer replacement", "staff", accept_counter, to="awaiting_return", log="accept_counter_offer",
            outcome="replacement", checks=[offer_is("accepted"), claim_has(refund_amount=None, funded_by="")]),
    refused("the buyer cannot accept their own counter-offer for the seller", "counter-offer", "buyer",
            accept_counter, "forbidden"),
    refused("another seller's staff cannot accept the counter-offer", "counter-offer", "other_staff",
            accept_counter, "forbidden"),
    refused("an agent cannot accept the counter-offer for the seller", "counter-offer", "agent", accept_counter,
            "forbidden"),
    refused("seller staff cannot accept their own offer as a counter-offer", "offer partial_refund", "staff",
            accept_counter, "state"),
    # escalate: the buyer after 48 h or after a rejection, an agent at any time
    refused("the buyer cannot escalate before 48 hours and is told the deadline", "awaiting_seller", "buyer",
            escalate, "state", says="step in from Thu 12 Mar, 10:00 CET", after=HOURS_48 - dt.timedelta(minutes=1)),
    refused("the buyer cannot escalate an answered claim before 48 hours", "in_progress", "buyer", escalate,
            "state", says="step in from Thu 12 Mar, 10:00 CET"),
    allowed("the buyer escalates at exactly 48 hours", "awaiting_seller", "buyer", escalate, to="escalated",
            log="escalate", after=HOURS_48, checks=[claim_has(escalation_cause="buyer", escalated_at=NOW)]),
    allowed("the buyer escalates an answered but unresolved claim after 48 hours", "in_progress", "buyer",
            escalate, to="escalated", log="escalate", after=dt.timedelta(hours=72),
            checks=[claim_has(escalation_cause="buyer")]),
    allowed("the buyer escalates at once after a rejection", "rejected", "buyer", escalate, to="escalated",
            log="escalate", checks=[claim_has(escalation_cause="buyer", escalated_at=NOW)]),
    allowed("an agent escalates at any time", "awaiting_seller", "agent", escalate, to="escalated",
            log="escalate", after=dt.timedelta(minutes=5),
            checks=[claim_has(escalation_cause="agent", escalated_at=NOW)]),
    allowed("an agent escalates an in_progress claim", "in_progress", "agent", escalate, to="escalated",
            log="escalate"),
    refused("seller staff cannot escalate", "awaiting_seller", "staff", escalate, "forbidden", after=HOURS_48),
    refused("another buyer cannot escalate", "awaiting_seller", "other_buyer", escalate, "forbidden",
            after=HOURS_48),
    refused("another seller's staff cannot escalate", "awaiting_seller", "other_staff", escalate, "forbidden",
            after=HOURS_48),
    refused("an anonymous visitor cannot escalate", "awaiting_seller", "anonymous", escalate, "forbidden",
            after=HOURS_48),
    refused("the buyer cannot escalate an escalated claim again", "escalated", "buyer", escalate, "state",
            after=HOURS_48),
    refused("an agent cannot escalate a resolved claim (that is reopen)", "resolved", "agent", escalate, "state"),
    # take over: the system, at the resolution deadline
    allowed("the system takes over a claim awaiting the seller", "awaiting_seller", "system", take_over,
            to="escalated", log="take_over", checks=[claim_has(escalation_cause="takeover", escalated_at=NOW)]),
    allowed("the system takes over an in_progress claim", "in_progress", "system", take_over, to="escalated",
            log="take_over"),
    refused("the system cannot take over an escalated claim", "escalated", "system", take_over, "state"),
    # request info: an agent names the party, who has 2 calendar days
    allowed("an agent asks the buyer: escalated becomes awaiting_info, due in 2 calendar days", "escalated",
            "agent", request_info("buyer"), to="awaiting_info", log="request_info",
            checks=[claim_has(info_requested_from="buyer", info_requested_at=NOW, info_due_at=Moment(days=2),
                              next_deadline_at=Moment(days=2)), message_from("agent")]),
    allowed("an agent asks the seller", "escalated", "agent", request_info("seller"), to="awaiting_info",
            log="request_info", checks=[claim_has(info_requested_from="seller", info_due_at=Moment(days=2))]),
    refused("the buyer cannot request information", "escalated", "buyer", request_info("seller"), "forbidden"),
    refused("seller staff cannot request information", "escalated", "staff", request_info("buyer"), "forbidden"),
    refused("an anonymous visitor cannot request information", "escalated", "anonymous", request_info("buyer"),
            "forbidden"),
    refused("an agent cannot request information while the seller has the claim", "in_progress", "agent",
            request_info("buyer"), "state"),
    # provide info: the party asked (or an agent recording an answer), back to escalated
    allowed("the buyer answers when asked: back to escalated", "awaiting_info from buyer", "buyer", provide_info,
            to="escalated", log="provide_info",
            checks=[claim_has(info_requested_from="", info_due_at=None), message_from("buyer")]),
    allowed("seller staff answer when the seller is asked", "awaiting_info from seller", "staff", provide_info,
            to="escalated", log="provide_info", checks=[message_from("seller")]),
    allowed("an agent records an answer that came by phone", "awaiting_info from buyer", "agent", provide_info,
            to="escalated", log="provide_info"),
    refused("seller staff cannot answer for the buyer", "awaiting_info from buyer", "staff", provide_info,
            "forbidden"),
    refused("the buyer cannot answer for the seller", "awaiting_info from seller", "buyer", provide_info,
            "forbidden"),
    refused("another buyer cannot answer", "awaiting_info from buyer", "other_buyer", provide_info, "forbidden"),
    refused("another seller's staff cannot answer", "awaiting_info from seller", "other_staff", provide_info,
            "forbidden"),
    refused("an anonymous visitor cannot answer", "awaiting_info from buyer", "anonymous", provide_info,
            "forbidden"),
    refused("the buyer cannot answer when nothing was asked", "escalated", "buyer", provide_info, "state"),
    # info timeout: the system at the information deadline records the missed participation
    allowed("the buyer's answer times out: back to escalated, missed participation recorded",
            "awaiting_info from buyer", "system", info_timeout, to="escalated", log="info_timeout",
            checks=[claim_has(buyer_missed_info=1, seller_missed_info=0, info_requested_from="", info_due_at=None)]),
    allowed("the seller's answer times out", "awaiting_info from seller", "system", info_timeout, to="escalated",
            log="info_timeout", checks=[claim_has(buyer_missed_info=0, seller_missed_info=1)]),
    refused("no info timeout when nothing was asked", "escalated", "system", info_timeout, "state"),
    # decide: agents only; outcome, who pays, and a denial names its reason
    allowed("an agent decides a refund paid by the seller: resolved", "escalated", "agent", decide("refund"),
            to="resolved", log="decide", outcome="refund", refund=FULL, checks=[claim_has(decided_at=NOW)]),
    allowed("an agent decides a refund paid by the platform: recovered from the seller", "escalated", "agent",
            decide("refund", funded_by="platform"), to="resolved", log="decide", outcome="refund",
            refund=(CLAIMED_VALUE, "platform"), ledger=("refund_recovery",)),
    allowed("an agent decides a partial refund: resolved", "escalated, irremovable", "agent",
            decide("partial_refund", amount="50.00"), to="resolved", log="decide", outcome="partial_refund",
            refund=("50.00", "seller")),
    allowed("an agent decides a discount: resolved", "escalated, irremovable", "agent",
            decide("discount", amount="20.00"),
            to="resolved", log="decide", outcome="discount", refund=("20.00", "seller")),
    allowed("an agent decides a replacement: awaiting_return", "escalated", "agent", decide("replacement"),
            to="awaiting_return", log="decide", outcome="replacement"),
    allowed("an agent decides a repair: awaiting_return", "escalated, removable", "agent", decide("repair"),
            to="awaiting_return", log="decide", outcome="repair"),
    allowed("an agent denies naming the exclusion: resolved, nothing paid", "escalated", "agent",
            decide("denied", denial_reason="damage_after_receipt"), to="resolved", log="decide", outcome="denied",
            checks=[claim_has(denial_reason="damage_after_receipt", funded_by="", refund_amount=None)]),
    refused("a denial without a reason is refused", "escalated", "agent", decide("denied"), "invalid"),
    refused("the buyer cannot decide", "escalated", "buyer", decide("refund"), "forbidden"),
    refused("seller staff cannot decide", "escalated", "staff", decide("denied", denial_reason="as_described"),
            "forbidden"),
    refused("another seller's staff cannot decide", "escalated", "other_staff", decide("refund"), "forbidden"),
    refused("an anonymous visitor cannot decide", "escalated", "anonymous", decide("refund"), "forbidden"),
    refused("an agent cannot decide while the seller has the claim", "in_progress", "agent", decide("refund"),
            "state"),
    refused("an agent cannot decide while waiting for information", "awaiting_info from buyer", "agent",
            decide("refund"), "state"),
    # receive return: seller staff or an agent, with the inspection result
    allowed("seller staff receive the repaired item back: resolved, warranty extended", "awaiting_return", "staff",
            receive_return, to="resolved", log="receive_return", outcome="repair",
            checks=[claim_has(inspection_result="as_expected", return_received_at=NOW), warranty_extended]),
    allowed("an agent records the return", "awaiting_return", "agent", receive_return, to="resolved",
            log="receive_return", outcome="repair"),
    allowed("the returned item arrives: the return for refund is paid now", "return_for_refund accepted", "staff",
            receive_return, to="resolved", log="receive_return", outcome="refund", refund=FULL),
    refused("the buyer cannot confirm the return", "awaiting_return", "buyer", receive_return, "forbidden"),
    refused("another seller's staff cannot confirm the return", "awaiting_return", "other_staff", receive_return,
            "forbidden"),
    refused("an anonymous visitor cannot confirm the return", "awaiting_return", "anonymous", receive_return,
            "forbidden"),
    refused("no return can be received on an escalated claim", "escalated", "staff", receive_return, "state"),
    # close: the buyer, from every open state, outcome withdrawn
    *[
        allowed(f"the buyer closes a claim that is {name}: resolved, withdrawn", name, "buyer", close, to="resolved",
                log="close", outcome="withdrawn", checks=[claim_has(funded_by="", refund_amount=None)])
        for name in ("awaiting_seller", "in_progress", "escalated", "awaiting_info from buyer", "awaiting_return")
    ],
    allowed("closing lapses the pending offer", "offer partial_refund", "buyer", close, to="resolved", log="close",
            outcome="withdrawn", checks=[offer_is("withdrawn")]),
    refused("seller staff cannot close the buyer's claim", "in_progress", "staff", close, "forbidden"),
    refused("an agent cannot close the buyer's claim", "escalated", "agent", close, "forbidden"),
    refused("another buyer cannot close the claim", "awaiting_seller", "other_buyer", close, "forbidden"),
    refused("another seller's staff cannot close the claim", "awaiting_seller", "other_staff", close, "forbidden"),
    refused("an anonymous visitor cannot close the claim", "awaiting_seller", "anonymous", close, "forbidden"),
    refused("the buyer cannot close a resolved claim", "resolved", "buyer", close, "state"),
    # delivered: the system, not_received claims only, when tracking shows delivery to the order's address
    allowed("tracking shows delivery to the order's address: a not_received claim resolves as delivered",
            "not_received, delivered", "system", mark_delivered, to="resolved", log="mark_delivered",
            outcome="delivered"),
    allowed("a delivered not_received claim resolves even when escalated", "not_received escalated, delivered",
            "system", mark_delivered, to="resolved", log="mark_delivered", outcome="delivered"),
    refused("delivery to another address does not resolve a not_received claim",
            "not_received, delivered elsewhere", "system", mark_delivered, "state"),
    refused("a defective claim never resolves as delivered", "awaiting_seller", "system", mark_delivered, "state"),
    # the return (claims.returns): not sent within 10 days the claim closes as withdrawn; delivered and not confirmed
    # by the seller within 2 business days, the platform refunds (and recovers) or decides a repair anew
    allowed("the item is not sent back in time: withdrawn", "awaiting_return", "system", sweep,
            after=dt.timedelta(days=10, hours=1), to="resolved", log="return_not_sent", outcome="withdrawn",
            checks=[claim_has(funded_by="", refund_amount=None)]),
    allowed("a delivered return for refund the seller does not confirm: the platform refunds and recovers",
            "return for refund delivered", "system", sweep, after=CONFIRM_DUE, to="resolved",
            log="refund_unconfirmed_return", outcome="refund", refund=(CLAIMED_VALUE, "platform"),
            ledger=("refund_recovery",), checks=[claim_has(inspection_result="", return_received_at=NOW)]),
    allowed("a delivered repair the seller does not confirm goes to the platform", "repair delivered", "system",
            sweep, after=CONFIRM_DUE, to="escalated", log="escalate_unconfirmed_return",
            outcome="repair", checks=[claim_has(escalation_cause="takeover", escalated_at=NOW)]),
    # forced refund: the system at 180 days, full refund paid by the platform and recovered from the seller
    *[
        allowed(f"the final deadline forces a full refund of a claim that is {name}", name, "system", force_refund,
                to="resolved", log="force_refund", outcome="refund", refund=(CLAIMED_VALUE, "platform"),
                ledger=("refund_recovery",), after=dt.timedelta(days=180))
        for name in ("awaiting_seller", "in_progress", "escalated", "awaiting_info from buyer", "awaiting_return")
    ],
    refused("no forced refund on a resolved claim", "resolved", "system", force_refund, "state",
            after=dt.timedelta(days=180)),
    # reopen: agents only, resolved -> escalated
    allowed("an agent reopens a resolved claim: escalated again, items claimable only here", "resolved", "agent",
            reopen, to="escalated", log="reopen", outcome="",
            checks=[claim_has(escalation_cause="reopened", reopened_at=NOW, resolved_at=None, refund_amount=None)]),
    refused("the buyer cannot reopen", "resolved", "buyer", reopen, "forbidden"),
    refused("seller staff cannot reopen", "resolved", "staff", reopen, "forbidden"),
    refused("an anonymous visitor cannot reopen", "resolved", "anonymous", reopen, "forbidden"),
    refused("an agent cannot reopen an open claim", "escalated", "agent", reopen, "state"),
    refused("an agent cannot reopen an in_progress claim", "in_progress", "agent", reopen, "state"),
    # appeal_decision (issue 16, claims.appeals): the buyer or the seller's staff appeal the platform's decision, once,
    # within APPEAL_DAYS; the claim goes back to the platform undecided (claims/tests/test_appeals.py has the rest)
    allowed("the buyer appeals the platform's decision: back with the platform", "resolved", "buyer", appeal,
            to="escalated", log="appeal_decision", outcome="",
            checks=[claim_has(escalation_cause="appeal", escalated_at=NOW, resolved_at=None, refund_amount=None,
                              funded_by="")]),
    allowed("seller staff appeal a decision waiting for the return", "awaiting_return", "staff", appeal,
            to="escalated", log="appeal_decision", outcome="", checks=[claim_has(escalation_cause="appeal")]),
    refused("an agent cannot appeal", "resolved", "agent", appeal, "forbidden"),
    refused("another buyer cannot appeal", "resolved", "other_buyer", appeal, "forbidden"),
    refused("another seller's staff cannot appeal", "resolved", "other_staff", appeal, "forbidden"),
    refused("an anonymous visitor cannot appeal", "resolved", "anonymous", appeal, "forbidden"),
    refused("an appeal needs a reason", "resolved", "buyer", appeal_without_reason, "invalid"),
    refused("an accepted offer is not the platform's decision", "return_for_refund accepted", "buyer", appeal,
            "state", says="Only a decision our support team made"),
    refused("no appeal before the platform decided", "escalated", "staff", appeal, "state"),
    refused("no appeal after the appeal window", "resolved", "buyer", appeal, "state", says="ended on",
            after=dt.timedelta(days=15)),
    # payment-provider disputes: the provider decides, an agent records it
    allowed("the provider decides for the buyer: refund by the platform, recovered, plus the dispute fine",
            "provider dispute", "agent", provider_verdict(buyer_won=True), to="resolved",
            log="record_provider_verdict", outcome="refund", refund=(CLAIMED_VALUE, "platform"),
            ledger=("dispute_fine", "refund_recovery")),
    allowed("the provider decides for the seller: denied, no fine", "provider dispute", "agent",
            provider_verdict(buyer_won=False), to="resolved", log="record_provider_verdict", outcome="denied"),
    refused("the buyer cannot record the provider's verdict", "provider dispute", "buyer",
            provider_verdict(buyer_won=True), "forbidden"),
    refused("seller staff cannot record the provider's verdict", "provider dispute", "staff",
            provider_verdict(buyer_won=False), "forbidden"),
    refused("no provider verdict on a claim opened on the platform", "escalated", "agent",
            provider_verdict(buyer_won=True), "state"),
    # exercise_warranty_rights: the buyer, past the warranty claim's maximum ("the same rights as if the defect were
    # one that cannot be remedied"): withdrawal with a full refund by the platform, or a replacement by the seller
    allowed("past the maximum the buyer withdraws: a full refund by the platform, recovered from the seller",
            "past the warranty maximum", "buyer", exercise_rights("refund"), to="resolved",
            log="exercise_warranty_rights", outcome="refund", refund=(CLAIMED_VALUE, "platform"),
            ledger=("refund_recovery",)),
    allowed("past the maximum the buyer chooses a replacement, the seller's", "past the warranty maximum", "buyer",
            exercise_rights("replacement"), to="resolved", log="exercise_warranty_rights", outcome="replacement",
            checks=[claim_has(funded_by="seller", refund_amount=None)]),
    refused("before the maximum the buyer cannot choose", "escalated", "buyer", exercise_rights("refund"), "state"),
    refused("seller staff cannot choose for the buyer", "past the warranty maximum", "staff",
            exercise_rights("replacement"), "forbidden"),
    refused("an agent cannot choose for the buyer", "past the warranty maximum", "agent", exercise_rights("refund"),
            "forbidden"),
    refused("another buyer cannot choose", "past the warranty maximum", "other_buyer", exercise_rights("refund"),
            "forbidden"),
    refused("an anonymous visitor cannot choose", "past the warranty maximum", "anonymous", exercise_rights("refund"),
            "forbidden"),
    refused("a choice that is neither is refused", "past the warranty maximum", "buyer",
            exercise_rights("store credit"), "invalid"),
    refused("nobody chooses without the buyer", "past the warranty maximum", "system", exercise_rights("refund"),
            "forbidden"),
    # A person's transition with nobody acting must not run as if the system fired it.
    refused("nobody escalates without a person", "awaiting_seller", "system", escalate, "forbidden"),
    refused("nobody closes without the buyer", "awaiting_seller", "system", close, "forbidden"),
    refused("nobody requests information without an agent", "escalated", "system", request_info("buyer"),
            "forbidden"),
    refused("nobody answers without the party asked", "awaiting_info from buyer", "system", provide_info,
            "forbidden"),
    refused("nobody decides without an agent", "escalated", "system", decide("refund"), "forbidden"),
    refused("nobody receives a return without seller staff or an agent", "awaiting_return", "system",
            receive_return, "forbidden"),
    refused("nobody reopens without an agent", "resolved", "system", reopen, "forbidden"),
    refused("nobody appeals without the buyer or the seller", "resolved", "system", appeal, "forbidden"),
]


# --- the test ------------------------------------------------------------------------------------------


def everything() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every claims, orders and sellers table (claims, log, offers, refunds, ledger, messages,
    evidence, outbox, items, warranties...): what a refused action must leave exactly as it was."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values_list(
            "pk", *[f.attname for f in model._meta.concrete_fields]))
        for app in ("claims", "orders", "sellers")
        for model in apps.get_app_config(app).get_models()
    }


@pytest.mark.parametrize("row", ROWS)
def test_transition(row: Row) -> None:
    s = SCENES[row.scene]()
    by = s.actor(row.actor)
    before = everything()
    from_state = s.claim.state
    at = OPENED_AT + row.after

    if row.error:
        with time_machine.travel(at, tick=False), pytest.raises(ClaimError) as refusal:
            row.act(s, by)
        assert refusal.value.code == row.error, str(refusal.value)
        assert row.says in str(refusal.value)
        assert everything() == before
        return

    with time_machine.travel(at, tick=False):
        row.act(s, by)
    claim = s.world.refresh()

    assert claim.state == row.to
    if row.outcome is not None:
        assert claim.outcome == row.outcome
    new_log = ClaimTransition.objects.exclude(pk__in=_pks(before, ClaimTransition))
    expected_log = [(row.log, from_state, row.to, getattr(by, "pk", None), PARTY_OF_ROLE[row.actor], at)]
    assert list(new_log.values_list("claim", "name", "from_state", "to_state", "actor", "party", "created_at")) == [
        (claim.pk, *entry) for entry in (expected_log if row.log else [])]

    new_refunds = Refund.objects.exclude(pk__in=_pks(before, Refund))
    assert [(r.claim_id, r.amount, r.funded_by) for r in new_refunds] == (
        [(claim.pk, Decimal(row.refund[0]), row.refund[1])] if row.refund else [])
    if row.refund:
        assert (claim.refund_amount, claim.funded_by) == (Decimal(row.refund[0]), row.refund[1])
    new_ledger = LedgerEntry.objects.exclude(pk__in=_pks(before, LedgerEntry))
    assert sorted(new_ledger.values_list("kind", flat=True)) == sorted(row.ledger)
    assert all(entry.seller_id == claim.seller_id and entry.claim_id == claim.pk for entry in new_ledger)

    # Resolving frees the items for a new claim and lapses pending offers; anything open keeps them.
    resolved = claim.state == "resolved"
    assert list(claim.items.values_list("is_open", flat=True)) == [not resolved]
    if resolved:
        assert (claim.resolved_at, claim.next_deadline_at) == (at, None)
        assert not claim.offers.filter(status="pending").exists()

    for check in row.checks:
        check(s, at)


def _pks(snapshot: dict[str, list[tuple[Any, ...]]], model: type[Model]) -> list[Any]:
    return [values[0] for values in snapshot[model._meta.label]]


def test_every_transition_of_the_lifecycle_has_a_row() -> None:
    """A new transition on Claim must come with its rows here."""
    transitions = {t.name for t in Claim._meta.get_field("state").get_all_transitions(Claim)}
    covered = {row.values[0].log for row in ROWS}
    assert transitions - covered == set()


def test_information_deadline_is_two_calendar_days_across_the_clock_change() -> None:
    """2 days are calendar days in the marketplace's zone, ending at the clock time of the request (hours, like the
    48-hour first reply, stay elapsed time). Asked on Saturday 24 October 2026 at 11:00 in Berlin, the party has
    until Monday 26 October at 11:00 local time, although clocks go back an hour in between (49 hours)."""
    asked_at = dt.datetime(2026, 10, 24, 9, 0, tzinfo=dt.UTC)  # 11:00 CEST
    s = Scene(claim_world("escalated", at=asked_at - dt.timedelta(hours=3)))
    with time_machine.travel(asked_at, tick=False):
        services.request_info(claim=s.claim, by=s.world.agent, party="buyer", question="Which charger did you use?")
    claim = s.world.refresh()
    assert claim.info_due_at == dt.datetime(2026, 10, 26, 10, 0, tzinfo=dt.UTC)  # 11:00 CET

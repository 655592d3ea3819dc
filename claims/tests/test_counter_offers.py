"""Offers both ways: the buyer declines an offer with a reason or counters it with another amount or remedy, and the
seller accepts the counter-offer (settled exactly as an accepted offer) or declines it. Every step on the timeline,
every answer told, one offer pending at a time, and what the buyer is told about asking the platform to step in is
the escalate button's own state."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, connection, transaction

from claims import offers, services
from claims.abilities import abilities, ability
from claims.errors import ClaimError
from claims.models import Claim, ClaimTransition, Offer, OutboundEmail, Refund, RefundLine
from claims.selectors import timeline
from claims.tests.factories import OPENED_AT, ClaimWorld, claim_world, photo
from orders.models import OrderItem
from sellers.models import LedgerEntry

pytestmark = pytest.mark.django_db

OFFERED_AT = OPENED_AT + dt.timedelta(hours=1, minutes=30)
AT = OPENED_AT + dt.timedelta(hours=2)  # before the 48-hour first-reply deadline: escalating waits
LATER = OPENED_AT + dt.timedelta(hours=50)  # past it: the buyer may ask the platform at once
PAID = Decimal("199.00")  # what claim_world's buyer paid for the claimed item


def offered(kind: str = "partial_refund", amount: str | None = "40.00", *, defect_type: str = "irremovable",
            state: str = "in_progress") -> tuple[ClaimWorld, Offer]:
    """A claim in progress (an irremovable defect: a partial refund or a discount is allowed, a repair is not) with
    the seller's pending offer."""
    world = claim_world(state, defect_type=defect_type)
    with time_machine.travel(OFFERED_AT, tick=False):
        offer = services.make_offer(claim=world.claim, by=world.staff if state == "in_progress" else world.agent,
                                    kind=kind, amount=amount)
    world.refresh()
    return world, offer


def countered(kind: str = "partial_refund", amount: str | None = "90.00", **scene) -> tuple[ClaimWorld, Offer, Offer]:
    world, offer = offered(**scene)
    with time_machine.travel(AT, tick=False):
        counter = services.counter_offer(claim=world.claim, by=world.buyer, kind=kind, amount=amount,
                                         reason="40 EUR does not cover the repair shop's quote.", countered=offer)
    world.refresh()
    return world, offer, counter


def emails(event: str) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(event=event).select_related("recipient").order_by("pk"))


def everything() -> dict[str, list[tuple]]:
    return {model._meta.label: list(model.objects.order_by("pk").values_list())
            for app in ("claims", "orders", "sellers") for model in apps.get_app_config(app).get_models()}


def refused(call) -> tuple[ClaimError, bool]:
    """The refusal, and whether nothing at all changed."""
    before = everything()
    with pytest.raises(ClaimError) as refusal:
        call()
    return refusal.value, everything() == before


# --- declining, with a reason ---------------------------------------------------------------------------------------


def test_the_buyer_declines_with_a_reason_kept_logged_and_sent_to_the_seller():
    world, offer = offered()
    with time_machine.travel(AT, tick=False):
        services.decline_offer(offer=offer, by=world.buyer, reason="Far too little for a broken hinge.")
    offer.refresh_from_db()
    assert (offer.status, offer.decline_reason, offer.answered_at) == ("declined", "Far too little for a broken hinge.",
                                                                       AT)
    log = ClaimTransition.objects.get(claim=world.claim, name="decline_offer")
    assert (log.party, log.actor, log.reason, log.from_state, log.to_state) == (
        "buyer", world.buyer, "Far too little for a broken hinge.", "in_progress", "in_progress")
    told, = emails("offer_declined")
    assert told.recipient == world.staff
    assert "Partial refund: €40.00" in told.body_text
    assert "The buyer's reason: Far too little for a broken hinge." in told.body_text
    world.refresh()
    assert world.claim.state == "in_progress" and world.claim.last_activity_at == AT


def test_declining_without_a_reason_is_fine_and_a_reason_too_long_changes_nothing():
    world, offer = offered()
    error, unchanged = refused(lambda: services.decline_offer(offer=offer, by=world.buyer, reason="x" * 1001))
    assert error.code == "invalid" and "under 1000 characters" in str(error) and unchanged
    services.decline_offer(offer=offer, by=world.buyer)
    offer.refresh_from_db()
    assert (offer.status, offer.decline_reason) == ("declined", "")
    assert "The buyer's reason" not in emails("offer_declined")[0].body_text


def test_declining_the_platforms_offer_tells_the_platform_not_the_seller():
    world, offer = offered("full_refund", None, state="escalated")
    services.assign(claim=world.claim, by=world.agent, agent=world.agent)
    services.decline_offer(offer=offer, by=world.buyer, reason="I want the item repaired.")
    assert [e.recipient for e in emails("offer_declined")] == [world.agent]


# --- the buyer's counter-offer --------------------------------------------------------------------------------------


def test_a_counter_offer_declines_the_sellers_offer_and_waits_for_the_seller():
    world, offer, counter = countered()
    offer.refresh_from_db()
    assert (offer.status, offer.decline_reason) == ("declined", "40 EUR does not cover the repair shop's quote.")
    assert (counter.party, counter.counter_to, counter.made_by, counter.status, counter.kind, counter.amount,
            counter.on_behalf_of_platform, counter.created_at) == (
        "buyer", offer, world.buyer, "pending", "partial_refund", Decimal("90.00"), False, AT)
    assert list(world.claim.offers.filter(status="pending")) == [counter]
    logged = list(ClaimTransition.objects.filter(claim=world.claim, created_at=AT).values_list("name", "party",
                                                                                               "reason"))
    assert logged == [("decline_offer", "buyer", "40 EUR does not cover the repair shop's quote."),
                      ("counter_offer", "buyer", "Partial refund: €90.00")]
    told, = emails("counter_offer")
    assert told.recipient == world.staff
    for words in ("The buyer proposes: Partial refund: €90.00", "The buyer declined your offer (Partial refund: "
                  "€40.00).", "The buyer's reason: 40 EUR does not cover the repair shop's quote."):
        assert words in told.body_text
    assert not emails("offer_declined")  # one email says it all


def test_the_database_keeps_one_offer_pending():
    world, _offer, counter = countered()
    with pytest.raises(IntegrityError), transaction.atomic():
        Offer.objects.create(claim=world.claim, kind="replacement", made_by=world.staff)
    assert counter.status == "pending"


@pytest.mark.parametrize(("amount", "says"), [
    ("199.00", "must be less than €199.00, what is left to refund on the claimed items. To get all of it back, "
               "ask for a full refund."),
    ("250.00", "must be less than €199.00"),
    (None, "Please enter the amount you ask for."),
    ("0", "The amount must be more than zero."),
    ("-5", "The amount must be more than zero."),
    ("lots", "The amount must be an amount like 12.50."),
])
def test_a_counter_amount_is_less_than_what_is_left_to_refund(amount, says):
    world, offer = offered()
    error, unchanged = refused(lambda: services.counter_offer(claim=world.claim, by=world.buyer,
                                                              kind="partial_refund", amount=amount, countered=offer))
    assert error.code == "invalid" and says in str(error) and unchanged


def test_the_bound_is_what_is_left_after_an_earlier_refund_on_the_item():
    world, offer = offered()
    OrderItem.objects.filter(order=world.claim.order).update(refunded_amount=Decimal("150.00"))
    error, _unchanged = refused(lambda: services.counter_offer(claim=world.claim, by=world.buyer,
                                                               kind="discount", amount="49.00", countered=offer))
    assert "must be less than €49.00" in str(error)
    counter = services.counter_offer(claim=world.claim, by=world.buyer, kind="full_refund", countered=offer)
    assert counter.amount == Decimal("49.00")  # a full refund is all that is left


@pytest.mark.parametrize(("defect_type", "kind", "allowed"), [
    ("irremovable", "repair", False),  # the policy's remedy for it is a price discount, never a repair
    ("irremovable", "discount", True),
    ("irremovable", "replacement", True),  # always: the seller may always replace
    ("removable", "partial_refund", False),  # a removable defect is repaired or replaced, not discounted
    ("removable", "repair", True),
    ("removable", "return_for_refund", True),
])
def test_the_remedies_the_policy_allows_are_the_ones_a_buyer_may_propose(defect_type, kind, allowed):
    world, offer = offered("replacement", None, defect_type=defect_type)
    call = lambda: services.counter_offer(claim=world.claim, by=world.buyer, kind=kind,  # noqa: E731
                                          amount="30.00" if kind in ("discount", "partial_refund") else None,
                                          countered=offer)
    assert (kind in offers.counter_kinds(world.claim)) == allowed
    if allowed:
        assert call().kind == kind
    else:
        error, unchanged = refused(call)
        assert error.code == "invalid" and unchanged
        assert str(error).startswith(f"“{Offer(kind=kind).get_kind_display()}” is not possible on your claim now.")


def test_a_return_or_replacement_counter_offer_names_the_sellers_return_address():
    world, offer = offered("replacement", None)
    world.claim.seller.warranty_policy.return_address = "Returns, Hafenstr. 1, 20457 Hamburg"
    world.claim.seller.warranty_policy.save()
    counter = services.counter_offer(claim=world.claim, by=world.buyer, kind="return_for_refund", countered=offer)
    assert (counter.amount, counter.return_instructions) == (PAID, "Returns, Hafenstr. 1, 20457 Hamburg")


def test_the_buyer_counters_again_after_the_seller_declined_with_nothing_pending():
    world, _offer, counter = countered()
    services.decline_counter_offer(offer=counter, by=world.staff)
    again = services.counter_offer(claim=world.claim, by=world.buyer, kind="discount", amount="70.00")
    assert (again.counter_to, again.status, again.party) == (None, "pending", "buyer")


@pytest.mark.parametrize(("who", "code", "says"), [
    ("other_buyer", "forbidden", "You are not allowed"),
    ("staff", "forbidden", "You are not allowed"),
    ("agent", "forbidden", "You are not allowed"),
    ("anonymous", "forbidden", "You are not allowed"),
])
def test_only_the_buyer_counters(who, code, says):
    world, offer = offered()
    person = AnonymousUser() if who == "anonymous" else getattr(world, who)
    error, unchanged = refused(lambda: services.counter_offer(claim=world.claim, by=person, kind="full_refund",
                                                              countered=offer))
    assert (error.code, unchanged) == (code, True) and says in str(error)


def test_when_a_counter_offer_is_not_possible():
    # nothing to counter: the seller has made no offer
    world = claim_world("in_progress", defect_type="irremovable")
    error, unchanged = refused(lambda: services.counter_offer(claim=world.claim, by=world.buyer, kind="full_refund"))
    assert (error.code, unchanged) == ("state", True) and "once the seller has made you an offer" in str(error)
    # the buyer's own counter-offer waits for the seller
    world, _offer, _counter = countered()
    error, unchanged = refused(lambda: services.counter_offer(claim=world.claim, by=world.buyer, kind="full_refund"))
    assert (error.code, unchanged) == ("state", True) and "waiting for the seller's answer" in str(error)
    # the platform's offer: the platform decides, it is not bargained with
    world, offer = offered("full_refund", None, state="escalated")
    error, unchanged = refused(lambda: services.counter_offer(claim=world.claim, by=world.buyer, kind="discount",
                                                              amount="50", countered=offer))
    assert (error.code, unchanged) == ("state", True) and "only while you are working the claim out with the seller" \
        in str(error)
    # an offer the buyer has not seen yet is not countered by a counter-offer to nothing
    world, offer = offered()
    error, unchanged = refused(lambda: services.counter_offer(claim=world.claim, by=world.buyer, kind="full_refund"))
    assert (error.code, unchanged) == ("state", True) and "The seller has just made an offer" in str(error)


def test_the_buyer_cannot_answer_their_own_counter_offer():
    world, _offer, counter = countered()
    for call in (services.accept_offer, services.decline_offer):
        error, unchanged = refused(lambda c=call: c(offer=counter, by=world.buyer))
        assert (error.code, unchanged) == ("state", True) and "your own counter-offer" in str(error)


# --- the seller's answer --------------------------------------------------------------------------------------------


def test_the_seller_accepting_a_counter_offer_settles_as_an_accepted_offer_does():
    """The same outcome, refund, ledger and log shape whichever side's offer is accepted."""
    by_buyer, seller_offer = offered("partial_refund", "90.00")
    with time_machine.travel(AT, tick=False):
        services.accept_offer(offer=seller_offer, by=by_buyer.buyer)
    by_seller, _offer, counter = countered("partial_refund", "90.00")
    with time_machine.travel(AT, tick=False):
        services.accept_counter_offer(offer=counter, by=by_seller.staff)

    fields = ("state", "outcome", "funded_by", "refund_amount", "resolved_at")
    one, other = by_buyer.refresh(), by_seller.refresh()
    assert [getattr(other, f) for f in fields] == [getattr(one, f) for f in fields] == [
        "resolved", "partial_refund", "seller", Decimal("90.00"), AT]
    refund, = Refund.objects.filter(claim=other)  # paid once
    assert (refund.amount, refund.funded_by, refund.currency) == (Decimal("90.00"), "seller", "EUR")
    assert list(RefundLine.objects.filter(refund=refund).values_list("amount", flat=True)) == [Decimal("90.00")]
    assert OrderItem.objects.get(claim_items__claim=other).refunded_amount == Decimal("90.00")
    assert not LedgerEntry.objects.filter(claim__in=[one, other]).exists()  # the seller pays: nothing to recover
    log = ClaimTransition.objects.get(claim=other, name="accept_counter_offer")
    assert (log.actor, log.party, log.from_state, log.to_state) == (by_seller.staff, "seller", "in_progress",
                                                                    "resolved")
    counter.refresh_from_db()
    assert (counter.status, counter.answered_at) == ("accepted", AT)
    told, = emails("counter_offer_accepted")
    assert told.recipient == by_seller.buyer and "Partial refund: €90.00" in told.body_text
    assert [e.recipient for e in emails("resolution") if e.claim_id == other.pk] == [by_seller.buyer]


@pytest.mark.parametrize(("kind", "outcome", "refund_amount"), [
    ("replacement", "replacement", None),
    ("return_for_refund", "refund", PAID),
])
def test_an_accepted_counter_offer_that_needs_the_item_back_waits_for_it(kind, outcome, refund_amount):
    world, _offer, counter = countered(kind, None)
    services.accept_counter_offer(offer=counter, by=world.staff)
    claim = world.refresh()
    assert (claim.state, claim.outcome, claim.funded_by, claim.refund_amount) == (
        "awaiting_return", outcome, "seller" if refund_amount else "", refund_amount)
    assert not claim.refunds.exists()  # a return for refund pays when the item arrives
    services.receive_return(claim=claim, by=world.staff, inspection_result="as_expected")
    claim = world.refresh()
    assert claim.state == "resolved"
    assert sum(r.amount for r in claim.refunds.all()) == (refund_amount or 0)


def test_the_seller_declines_with_a_reason_then_may_offer_again():
    world, _offer, counter = countered()
    with time_machine.travel(AT + dt.timedelta(minutes=5), tick=False):
        services.decline_counter_offer(offer=counter, by=world.staff, reason="Our repair partner fixes it for 45.")
    counter.refresh_from_db()
    assert (counter.status, counter.decline_reason) == ("declined", "Our repair partner fixes it for 45.")
    log = ClaimTransition.objects.get(claim=world.claim, name="decline_counter_offer")
    assert (log.actor, log.party, log.reason) == (world.staff, "seller", "Our repair partner fixes it for 45.")
    told, = emails("counter_offer_declined")
    assert told.recipient == world.buyer
    assert "The seller's reason: Our repair partner fixes it for 45." in told.body_text
    assert "You can propose something else." in told.body_text
    # the escalate button's own words: the first-reply deadline has not passed yet
    assert ability(world.refresh(), world.buyer, "escalate").reason in told.body_text
    offer = services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="45.00")
    assert offer.status == "pending"


def test_while_a_counter_offer_waits_the_seller_answers_it_before_offering_or_withdrawing():
    world, _offer, counter = countered()
    error, unchanged = refused(lambda: services.make_offer(claim=world.claim, by=world.staff, kind="full_refund"))
    assert (error.code, unchanged) == ("state", True) and "accept or decline it before you make another offer" \
        in str(error)
    error, unchanged = refused(lambda: services.withdraw_offer(offer=counter, by=world.staff))
    assert (error.code, unchanged) == ("state", True) and "the buyer's counter-offer" in str(error)


@pytest.mark.parametrize("who", ["buyer", "other_staff", "agent", "other_buyer"])
def test_only_the_sellers_staff_answer_a_counter_offer(who):
    world, _offer, counter = countered()
    for call in (services.accept_counter_offer, services.decline_counter_offer):
        error, unchanged = refused(lambda c=call: c(offer=counter, by=getattr(world, who)))
        assert (error.code, unchanged) == ("forbidden", True)


def test_the_seller_cannot_answer_their_own_offer_as_a_counter_offer_nor_an_answered_one():
    world, offer = offered()
    error, unchanged = refused(lambda: services.accept_counter_offer(offer=offer, by=world.staff))
    assert (error.code, unchanged) == ("state", True) and "no counter-offer from the buyer" in str(error)
    world, _offer, counter = countered()
    services.decline_counter_offer(offer=counter, by=world.staff)
    error, unchanged = refused(lambda: services.accept_counter_offer(offer=counter, by=world.staff))
    assert (error.code, unchanged) == ("state", True) and "no longer open: it was declined" in str(error)


def test_once_the_platform_has_the_claim_the_seller_no_longer_answers_the_counter_offer():
    world, _offer, counter = countered()
    services.escalate(claim=world.claim, by=world.agent, reason="Seller inaction")
    error, unchanged = refused(lambda: services.accept_counter_offer(offer=counter, by=world.staff))
    assert (error.code, unchanged) == ("state", True)
    # the agent's offer for the platform replaces it
    services.make_offer(claim=world.claim, by=world.agent, kind="full_refund")
    counter.refresh_from_db()
    assert counter.status == "withdrawn"


# --- abilities: what each person may do around a counter-offer ----------------------------------------------------


COUNTER_ACTIONS = {"accept_offer", "decline_offer", "counter_offer", "make_offer", "withdraw_offer",
                   "accept_counter_offer", "decline_counter_offer"}


@pytest.mark.parametrize(("scene", "buyer", "staff", "agent"), [
    ("seller offer", {"accept_offer", "decline_offer", "counter_offer"}, {"make_offer", "withdraw_offer"},
     {"withdraw_offer"}),
    ("counter pending", set(), {"accept_counter_offer", "decline_counter_offer"}, {"withdraw_offer"}),
    ("counter declined", {"counter_offer"}, {"make_offer"}, set()),
    ("no offer yet", set(), {"make_offer"}, set()),
    ("platform offer", {"accept_offer", "decline_offer"}, set(), {"make_offer", "withdraw_offer"}),
])
def test_who_may_do_what_around_a_counter_offer(scene, buyer, staff, agent):
    if scene == "seller offer":
        world, _offer = offered()
    elif scene == "no offer yet":
        world = claim_world("in_progress", defect_type="irremovable")
    elif scene == "platform offer":
        world, _offer = offered("full_refund", None, state="escalated")
    else:
        world, _offer, counter = countered()
        if scene == "counter declined":
            services.decline_counter_offer(offer=counter, by=world.staff)
    claim = world.refresh()
    expected = {"buyer": buyer, "staff": staff, "agent": agent, "other_buyer": set(), "other_staff": set()}
    for role, allowed in expected.items():
        can = abilities(claim, getattr(world, role), COUNTER_ACTIONS)
        assert {action for action, answer in can.items() if answer.allowed} == allowed, role
        for answer in can.values():
            assert answer.allowed or answer.code in ("state", "forbidden")


# --- the timeline ---------------------------------------------------------------------------------------------------


def test_the_timeline_says_each_step_once_with_its_reason():
    world, _offer, counter = countered()
    services.decline_counter_offer(offer=counter, by=world.staff, reason="Too much.")
    claim = Claim.objects.prefetch_related("offers", "transitions").get(pk=world.claim.pk)
    claim.public_messages = list(claim.messages.filter(is_internal=False))
    rows = [(e.kind, e.title, e.party, e.body) for e in timeline(claim) if e.at >= OFFERED_AT]
    assert rows == [
        ("offer", "Partial refund", "seller", ""),
        ("event", "Offer declined", "buyer", "40 EUR does not cover the repair shop's quote."),
        ("offer", "Partial refund", "buyer", ""),  # the counter-offer: said once, by its offer entry
        ("event", "The seller declined the counter-offer", "seller", "Too much."),
    ]


# --- what the buyer is told about asking us to step in --------------------------------------------------------------


def test_after_declining_the_buyer_is_told_from_when_they_may_ask_us_in_the_buttons_words():
    world, offer = offered()
    with time_machine.travel(AT, tick=False):
        services.decline_offer(offer=offer, by=world.buyer)
        claim = world.refresh()
        button = ability(claim, world.buyer, "escalate")
        words = offers.after_decline(claim, world.buyer)
    assert not button.allowed and button.opens_at == claim.first_reply_due_at
    assert button.reason in words and button.reason.startswith("You can ask us to step in from ")
    assert "You can ask us to step in now" not in words
    assert words.startswith("You declined the offer. The seller can make you another offer. You can also propose a "
                            "solution yourself.")
    with time_machine.travel(LATER, tick=False):
        assert ability(claim, world.buyer, "escalate").allowed
        assert offers.after_decline(claim, world.buyer).endswith("You can ask us to step in now.")
        assert offers.if_you_decline(claim, world.buyer).endswith("You can ask us to step in now.")


def test_after_a_rejection_the_buyer_may_ask_at_once_and_is_told_so():
    world, offer = offered()
    services.reject(claim=world.claim, by=world.staff, code="as_described", body="As listed.",
                    evidence=[photo()])
    with time_machine.travel(AT, tick=False):
        claim = world.refresh()
        assert offers.escalation_words(claim, world.buyer) == "You can ask us to step in now."


# --- a platform's offer in the buyer's email ------------------------------------------------------------------------


def test_the_offer_email_says_who_made_the_offer():
    seller, _offer = offered()
    platform, _offer = offered("full_refund", None, state="escalated")
    seller_mail, = emails("offer")
    platform_mail, = emails("platform_offer")
    assert (seller_mail.recipient, platform_mail.recipient) == (seller.buyer, platform.buyer)
    assert seller_mail.subject == f"The seller made an offer on claim {seller.claim.number}"
    assert "Partial refund: €40.00" in seller_mail.body_text
    assert platform_mail.subject == f"We made you an offer on claim {platform.claim.number}"
    assert "Our support team proposes this solution on the platform's behalf." in platform_mail.body_text
    assert "Full refund: €199.00" in platform_mail.body_text and "seller" not in platform_mail.body_text.lower()


# --- races: the seller withdraws while the buyer counters ---------------------------------------------------------


@pytest.mark.parametrize("first", ["withdraw", "counter"])
def test_withdrawing_and_countering_one_offer_one_wins(first):
    world, offer = offered()
    withdraw = lambda: services.withdraw_offer(offer=offer, by=world.staff)  # noqa: E731
    counter = lambda: services.counter_offer(claim=world.claim, by=world.buyer, kind="discount",  # noqa: E731
                                             amount="80.00", countered=offer)
    (withdraw if first == "withdraw" else counter)()
    error, unchanged = refused(counter if first == "withdraw" else withdraw)
    assert (error.code, unchanged) == ("state", True)
    assert str(error) == ("This offer is no longer open: it was withdrawn." if first == "withdraw"
                          else "This offer was already answered.")
    offer.refresh_from_db()
    assert offer.status == ("withdrawn" if first == "withdraw" else "declined")


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: two connections waiting on one row")
@pytest.mark.django_db(transaction=True)
def test_withdrawing_and_countering_at_once_on_postgresql(monkeypatch):
    world, offer = offered()
    take_lock = services._lock

    def lock_and_hold(claim):
        locked = take_lock(claim)
        time.sleep(0.3)  # whoever has the row keeps it a moment: the other one surely waits on it
        return locked

    from claims.services import counter_offers, parties

    for module in (parties, counter_offers):
        monkeypatch.setattr(module, "_lock", lock_and_hold)
    barrier = threading.Barrier(2)
    results: dict[str, Exception | None] = {}
    contenders = {
        "withdraw": lambda: services.withdraw_offer(offer=offer, by=world.staff),
        "counter": lambda: services.counter_offer(claim=world.claim, by=world.buyer, kind="discount",
                                                  amount="80.00", countered=offer),
    }

    def contend(name):
        try:
            barrier.wait(timeout=10)
            contenders[name]()
            results[name] = None
        except Exception as exc:  # judged below
            results[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=contend, args=(name,)) for name in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [name for name, error in results.items() if error is None]
    assert len(winners) == 1, results
    loser, = set(contenders) - set(winners)
    assert isinstance(results[loser], ClaimError) and results[loser].code == "state", repr(results[loser])
    offer.refresh_from_db()
    pending = list(Offer.objects.filter(claim=world.claim, status="pending"))
    if winners == ["withdraw"]:
        assert offer.status == "withdrawn" and pending == []
    else:
        assert offer.status == "declined" and [o.party for o in pending] == ["buyer"]
    assert ClaimTransition.objects.filter(claim=world.claim, name="counter_offer").count() == (winners == ["counter"])

"""Remedies by defect type and the defect history of an order item (claims.remedies, claims.services.remedies).

Warranty claim policy, III: a removable defect gets a free repair or a replacement; one that prevents use a
replacement or withdrawal, as does the same defect after two repairs or a third different defect; an irremovable
defect that does not prevent use a price discount; "In the case of a discount, the goods cannot later be claimed for
defects for which the discount was granted." Time is frozen for every step, in each market (DE, PT, SK).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection

from claims import services
from claims.abilities import ability
from claims.errors import ClaimError
from claims.models import Claim, ClaimTransition, Defect, DefectRemedy, Offer, OutboundEmail
from claims.remedies import item_history, remedies_for, remedy_refusal, same_defect_choices
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from core import formatting
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory, make_agent

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
MARKETS = ["DE", "PT", "SK"]
ALL_KINDS = ["full_refund", "partial_refund", "replacement", "repair", "return_for_refund", "discount"]


def staff_of(order: Any) -> Any:
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="staff")
    return staff


def at(moment: dt.datetime) -> Any:
    return time_machine.travel(moment, tick=False)


class Item:
    """One order item's claims, one after the other, each driven through the services at its own moment."""

    def __init__(self, country: str = "DE") -> None:
        self.order = delivered_order(delivery_country=country)
        self.staff = staff_of(self.order)
        self.agent = make_agent()
        self.item = self.order.items.get()
        self.when = OPENED_AT

    def step(self, delta: dt.timedelta = H) -> Any:
        self.when += delta
        return at(self.when)

    def open(self, *, desired: str = "replacement", same_defect: Any = None) -> Claim:
        self.when += 7 * DAY
        return open_defective_claim(at=self.when, order=self.order, desired_outcome=desired,
                                    same_defect=same_defect, discovered_on=self.when.date())

    def classify(self, claim: Claim, defect_type: str, **kwargs: Any) -> Claim:
        with self.step():
            return services.classify_defect(claim=claim, by=self.staff, defect_type=defect_type, **kwargs)

    def resolve(self, claim: Claim, kind: str, amount: str | None = None) -> Claim:
        """The seller offers `kind`, the buyer accepts, and an item sent back arrives."""
        with self.step():
            offer = services.make_offer(claim=claim, by=self.staff, kind=kind, amount=amount,
                                        return_instructions="Returns, 1 Depot St")
        with self.step():
            claim = services.accept_offer(offer=offer, by=claim.buyer)
        if claim.state == "awaiting_return":
            with self.step(2 * DAY):
                claim = services.receive_return(claim=claim, by=self.staff, inspection_result="as_expected")
        assert claim.state == "resolved"
        return Claim.objects.get(pk=claim.pk)

    def claim_with(self, kind: str, defect_type: str = "removable", *, amount: str | None = None,
                   same_as: Defect | None = None, desired: str = "replacement") -> Claim:
        claim = self.open(desired=desired)
        self.classify(claim, defect_type, same_as=same_as, summary="" if same_as else f"defect {self.when}")
        return self.resolve(claim, kind, amount)


def allowed_now(claim: Claim) -> list[str]:
    return sorted(k for k in ALL_KINDS if remedy_refusal(Claim.objects.get(pk=claim.pk), k) is None)


# --- the table ----------------------------------------------------------------------------------------------

TABLE = {
    "": ["full_refund", "replacement", "return_for_refund"],
    "removable": ["full_refund", "repair", "replacement", "return_for_refund"],
    "removable_prevents_use": ["full_refund", "replacement", "return_for_refund"],
    "irremovable": ["discount", "full_refund", "partial_refund", "replacement", "return_for_refund"],
    "irremovable_prevents_use": ["full_refund", "replacement", "return_for_refund"],
}


@pytest.mark.parametrize("country", MARKETS)
@pytest.mark.parametrize(("defect_type", "allowed"), TABLE.items(), ids=[t or "unclassified" for t in TABLE])
def test_the_remedies_of_each_defect_type(country: str, defect_type: str, allowed: list[str]) -> None:
    item = Item(country)
    claim = item.open(desired="replacement")
    if defect_type:
        item.classify(claim, defect_type)
    assert allowed_now(claim) == allowed
    claim.refresh_from_db()
    remedies = remedies_for(claim)
    assert sorted(remedies.offer_kinds) == allowed
    # The agent's outcomes follow the same rule; a denial is always possible.
    outcomes = {"refund": "full_refund", "partial_refund": "partial_refund", "replacement": "replacement",
                "repair": "repair", "discount": "discount"}
    assert sorted(o for o in remedies.outcomes if o != "denied") == sorted(o for o, k in outcomes.items()
                                                                          if k in allowed)
    assert "denied" in remedies.outcomes


@pytest.mark.parametrize("kind", ["repair", "discount", "partial_refund"])
def test_an_unclassified_defect_gets_no_repair_discount_or_partial_refund(kind: str) -> None:
    item = Item()
    claim = item.open(desired="repair")
    with item.step(), pytest.raises(ClaimError) as refused:
        services.make_offer(claim=claim, by=item.staff, kind=kind, amount="20.00")
    assert "needs the type of defect first" in str(refused.value)
    assert refused.value.code == "invalid"
    assert not Offer.objects.filter(claim=claim).exists()
    assert Claim.objects.get(pk=claim.pk).state == "awaiting_seller"  # refused before the reply it would have been


@pytest.mark.parametrize("kind", ["full_refund", "replacement", "return_for_refund"])
def test_an_unclassified_defect_may_get_the_most_a_buyer_can_get(kind: str) -> None:
    item = Item()
    claim = item.open(desired="repair")
    with item.step():
        offer = services.make_offer(claim=claim, by=item.staff, kind=kind, return_instructions="Depot")
    assert offer.kind == kind


def test_what_the_buyer_asked_for_widens_the_choice() -> None:
    item = Item()
    discount = item.open(desired="discount")
    item.classify(discount, "removable")
    assert "discount" in allowed_now(discount) and "partial_refund" in allowed_now(discount)
    assert "asked for a price discount" in remedies_for(Claim.objects.get(pk=discount.pk)).why
    item.resolve(discount, "discount", "20.00")

    repair = item.open(desired="repair")
    item.classify(repair, "removable_prevents_use", summary="Does not switch on")
    assert "repair" in allowed_now(repair)  # the buyer chose a repair of a defect that prevents use
    item.classify(repair, "irremovable_prevents_use")
    assert "repair" not in allowed_now(repair)  # what cannot be removed cannot be repaired, whatever was asked


def test_claims_for_other_reasons_are_not_restricted() -> None:
    world = claim_world("in_progress", reason="not_as_described", desired_outcome="discount")
    with at(OPENED_AT + 2 * H):
        offer = services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="20.00")
    assert offer.kind == "partial_refund"
    assert remedies_for(world.refresh()).applies is False


def test_the_agent_decision_follows_the_same_rule() -> None:
    world = claim_world("escalated")
    with at(OPENED_AT + 2 * H), pytest.raises(ClaimError) as refused:
        services.decide(claim=world.claim, by=world.agent, outcome="repair", funded_by="seller")
    assert "needs the type of defect first" in str(refused.value)
    with at(OPENED_AT + 3 * H):
        services.classify_defect(claim=world.claim, by=world.agent, defect_type="irremovable")
        with pytest.raises(ClaimError):
            services.decide(claim=world.claim, by=world.agent, outcome="repair", funded_by="seller")
        claim = services.decide(claim=world.claim, by=world.agent, outcome="discount", funded_by="seller",
                                amount="30.00")
    assert (claim.state, claim.outcome) == ("resolved", "discount")
    assert list(DefectRemedy.objects.filter(claim=claim).values_list("kind", flat=True)) == ["discount"]


def test_a_stranger_learns_nothing_from_the_remedy_rule() -> None:
    world = claim_world("escalated")
    with at(OPENED_AT + 2 * H), pytest.raises(ClaimError) as refused:
        services.decide(claim=world.claim, by=world.staff, outcome="repair", funded_by="seller")
    assert refused.value.code == "forbidden"


# --- after two repairs, three defects ------------------------------------------------------------------------


@pytest.mark.parametrize("country", MARKETS)
def test_after_two_repairs_of_the_same_defect_a_repair_is_refused(country: str) -> None:
    item = Item(country)
    first = item.claim_with("repair", desired="repair")
    defect = first.defect
    second = item.open(desired="repair", same_defect=defect)
    assert second.defect_id == defect.pk  # linked at opening: "the same defect again"
    item.classify(second, "removable", same_as=defect)
    assert "repair" in allowed_now(second)  # one repair so far
    item.resolve(second, "repair")

    third = item.open(desired="repair", same_defect=defect.pk)
    item.classify(third, "removable", same_as=defect)
    assert allowed_now(third) == ["full_refund", "replacement", "return_for_refund"]
    with item.step(), pytest.raises(ClaimError) as refused:
        services.make_offer(claim=third, by=item.staff, kind="repair")
    assert "This defect was repaired 2 times already, so the buyer is entitled to a replacement or withdrawal" in \
        str(refused.value)
    third = item.resolve(third, "replacement")
    assert [r.kind for r in item_history(item.item.pk).remedies] == ["repair", "repair", "replacement"]
    for_buyer = remedies_for(Claim.objects.get(pk=third.pk)).for_buyer
    assert "repaired 2 times" in for_buyer and "you are entitled" in for_buyer


def test_a_third_different_defect_entitles_to_a_replacement() -> None:
    item = Item("SK")
    item.claim_with("repair", desired="repair")
    item.claim_with("repair", desired="repair")
    third = item.open(desired="repair")
    item.classify(third, "removable", summary="Speaker crackles")
    assert "repair" not in allowed_now(third)
    assert remedies_for(Claim.objects.get(pk=third.pk)).different_defects == 3
    assert "The item has had 3 different defects" in remedies_for(Claim.objects.get(pk=third.pk)).why


def test_a_denied_claim_establishes_no_defect() -> None:
    item = Item()
    item.claim_with("repair", desired="repair")
    denied = item.open(desired="repair")
    item.classify(denied, "removable", summary="Scratched back")
    with item.step():
        services.escalate(claim=denied, by=item.agent)
        services.decide(claim=denied, by=item.agent, outcome="denied", denial_reason="cosmetic_wear")
    third = item.open(desired="repair")
    item.classify(third, "removable", summary="Speaker crackles")
    assert remedies_for(Claim.objects.get(pk=third.pk)).different_defects == 2
    assert "repair" in allowed_now(third)


# --- a defect compensated by a discount is never compensated again ---------------------------------------------


@pytest.mark.parametrize("country", MARKETS)
def test_a_discounted_defect_cannot_be_claimed_again_at_opening(country: str) -> None:
    item = Item(country)
    first = item.claim_with("discount", "irremovable", amount="25.00")
    defect = first.defect
    assert [(o, label) for o, label in same_defect_choices([item.item.pk])] == [
        (str(defect.pk), f"{item.item.title}: {defect.summary} (Irremovable, does not prevent use; claim "
                         f"{first.number}, {formatting.day(first.opened_at + H)})")]
    before = Claim.objects.count()
    with pytest.raises(ClaimError) as refused:
        item.open(same_defect=defect)
    text = str(refused.value)
    assert first.number in text
    assert "In the case of a discount, the goods cannot later be claimed for defects for which the discount was " \
           "granted." in text
    resolved_day = DefectRemedy.objects.get(claim=first).created_at
    assert formatting.day(resolved_day) in text
    assert Claim.objects.count() == before  # nothing opened, nothing stored


def test_a_discounted_defect_found_at_classification_is_refused_every_remedy() -> None:
    item = Item("SK")
    first = item.claim_with("partial_refund", "irremovable", amount="25.00")  # a partial refund is a discount too
    assert DefectRemedy.objects.get(claim=first).kind == "discount"
    second = item.open(desired="refund")  # the buyer did not say it was the same problem
    with item.step(), pytest.raises(ClaimError):  # not compensated: this reason is not available yet
        services.reject(claim=second, by=item.staff, code="compensated", body="Already discounted.",
                        evidence=[_photo()])
    item.classify(second, "irremovable", same_as=first.defect)
    second.refresh_from_db()
    remedies = remedies_for(second)
    assert remedies.compensated_by.claim_id == first.pk and remedies.offer_kinds == []
    assert first.number in remedies.why and "may reject" in remedies.why
    for kind in ALL_KINDS:
        assert remedy_refusal(second, kind) is not None
    can = ability(second, item.staff, "make_offer")  # nothing to offer: the page offers no form, the API says why
    assert not can.allowed and first.number in can.reason
    assert ability(second, item.staff, "reject").allowed
    with item.step():
        rejected = services.reject(claim=second, by=item.staff, code="compensated",
                                   body="This defect was discounted on the earlier claim.", evidence=[_photo()])
    assert rejected.rejection_code == "compensated"
    with item.step():
        services.escalate(claim=second, by=second.buyer)
        denied = services.decide(claim=second, by=item.agent, outcome="denied", denial_reason="defect_compensated")
    assert (denied.outcome, denied.denial_reason) == ("denied", "defect_compensated")


def test_denying_as_compensated_needs_a_compensated_defect() -> None:
    world = claim_world("escalated")
    with at(OPENED_AT + 2 * H), pytest.raises(ClaimError) as refused:
        services.decide(claim=world.claim, by=world.agent, outcome="denied", denial_reason="defect_compensated")
    assert "not about a defect already compensated" in str(refused.value)


# --- a replacement starts a new history ------------------------------------------------------------------------


@pytest.mark.parametrize("country", MARKETS)
def test_a_replacement_resets_the_history(country: str) -> None:
    item = Item(country)
    first = item.claim_with("repair", desired="repair")
    defect = first.defect
    item.claim_with("repair", same_as=defect, desired="repair")
    replaced = item.claim_with("replacement", same_as=defect)
    assert item_history(item.item.pk).replaced_by().claim_id == replaced.pk
    assert same_defect_choices([item.item.pk]) == []  # the new unit has no defects yet

    again = item.open(desired="repair")
    item.classify(again, "removable", same_as=defect)  # the seller links it anyway: the new unit's repairs count
    assert "repair" in allowed_now(again)
    assert remedies_for(Claim.objects.get(pk=again.pk)).repairs == 0


def test_a_discount_before_a_replacement_does_not_refuse_the_new_unit() -> None:
    item = Item("PT")
    discounted = item.claim_with("discount", "irremovable", amount="10.00")
    with pytest.raises(ClaimError):  # the discounted defect itself gets nothing more, not even a replacement
        item.claim_with("replacement", "irremovable_prevents_use", same_as=discounted.defect)
    with item.step():  # that claim stays open: the buyer closes it
        services.close(claim=Claim.objects.get(state="in_progress"), by=discounted.buyer)
    item.claim_with("replacement", "irremovable_prevents_use")  # another defect replaces the whole unit
    claim = item.open(same_defect=discounted.defect)  # the new unit: not compensated
    item.classify(claim, "irremovable", same_as=discounted.defect)
    assert remedies_for(Claim.objects.get(pk=claim.pk)).compensated_by is None


# --- the history is written once per claim ------------------------------------------------------------------


def test_a_reopened_and_redecided_claim_records_its_remedy_once() -> None:
    world = claim_world("escalated", defect_type="irremovable")
    with at(OPENED_AT + 2 * H):
        services.decide(claim=world.claim, by=world.agent, outcome="discount", funded_by="seller", amount="20.00")
    with at(OPENED_AT + DAY):
        services.reopen(claim=world.claim, by=world.agent, reason="The buyer says it got worse.")
    with at(OPENED_AT + 2 * DAY):
        services.decide(claim=world.claim, by=world.agent, outcome="partial_refund", funded_by="seller",
                        amount="10.00")
    assert list(DefectRemedy.objects.filter(claim=world.claim).values_list("kind", flat=True)) == ["discount"]


def test_withdrawn_and_denied_claims_record_nothing() -> None:
    item = Item()
    claim = item.open()
    item.classify(claim, "removable")
    with item.step():
        services.close(claim=claim, by=claim.buyer)
    assert not DefectRemedy.objects.exists()


def test_a_refund_is_recorded_as_a_withdrawal() -> None:
    item = Item()
    claim = item.claim_with("full_refund", "irremovable_prevents_use")
    assert DefectRemedy.objects.get(claim=claim).kind == "refund"


# --- classifying ---------------------------------------------------------------------------------------------


def test_classifying_answers_the_buyer_and_is_on_the_timeline() -> None:
    item = Item("SK")
    item.order.language = "de"
    item.order.save(update_fields=["language"])
    claim = item.open()
    mail.outbox.clear()
    claim = item.classify(claim, "removable", summary="Display flickers")
    claim.refresh_from_db()
    assert claim.state == "in_progress" and claim.first_replied_at == item.when  # an answer to the claim
    assert (claim.defect_type, claim.defect.summary, claim.defect.first_claim_id) == (
        "removable", "Display flickers", claim.pk)
    log = ClaimTransition.objects.filter(claim=claim).last()
    assert (log.name, log.from_state, log.to_state, log.party) == (
        "classify_defect", "in_progress", "in_progress", "seller")
    assert "Display flickers" in log.reason
    email = OutboundEmail.objects.get(claim=claim, event="defect_classified")
    assert email.language == "de" and email.recipient_id == claim.buyer_id


def test_reclassifying_updates_and_a_link_replaces_the_own_defect() -> None:
    item = Item()
    first = item.claim_with("repair", desired="repair")
    claim = item.open(desired="repair")
    item.classify(claim, "removable", summary="Loose hinge")
    own = Claim.objects.get(pk=claim.pk).defect
    with item.step():
        offer = services.make_offer(claim=claim, by=item.staff, kind="repair")
    item.classify(claim, "irremovable", summary="Cracked hinge")
    own.refresh_from_db()
    assert (own.defect_type, own.summary) == ("irremovable", "Cracked hinge")
    offer.refresh_from_db()
    assert offer.status == "withdrawn"  # a repair of an irremovable defect is no longer possible
    item.classify(claim, "removable", same_as=first.defect)
    assert Claim.objects.get(pk=claim.pk).defect_id == first.defect_id
    assert not Defect.objects.filter(pk=own.pk).exists()  # nothing referred to it any more


@pytest.mark.parametrize(("state", "who", "code"), [
    ("awaiting_seller", "buyer", "forbidden"),
    ("awaiting_seller", "agent", "state"),
    ("escalated", "staff", "state"),
    ("awaiting_return", "agent", "state"),
    ("resolved", "staff", "state"),
])
def test_who_may_classify_and_when(state: str, who: str, code: str) -> None:
    world = claim_world(state)
    person = {"buyer": world.buyer, "agent": world.agent, "staff": world.staff}[who]
    with at(OPENED_AT + 3 * H), pytest.raises(ClaimError) as refused:
        services.classify_defect(claim=world.claim, by=person, defect_type="removable")
    assert refused.value.code == code


def test_only_a_defective_claim_is_classified() -> None:
    world = claim_world("in_progress", reason="not_as_described")
    with at(OPENED_AT + 3 * H), pytest.raises(ClaimError) as refused:
        services.classify_defect(claim=world.claim, by=world.staff, defect_type="removable")
    assert refused.value.code == "state"


def test_an_earlier_defect_of_another_item_is_refused() -> None:
    item = Item()
    earlier = item.claim_with("repair", desired="repair")
    other = Item()
    claim = other.open()
    with other.step(), pytest.raises(ClaimError):
        services.classify_defect(claim=claim, by=other.staff, defect_type="removable", same_as=earlier.defect)
    with pytest.raises(ClaimError):
        open_defective_claim(at=other.when + DAY, order=other.order, same_defect=earlier.defect)


def test_a_claim_on_several_items_names_the_defective_one() -> None:
    order = delivered_order(items=2)
    staff = staff_of(order)
    claim = open_defective_claim(order=order)
    first, second = order.items.order_by("pk")
    with at(OPENED_AT + H):
        with pytest.raises(ClaimError) as refused:
            services.classify_defect(claim=claim, by=staff, defect_type="removable")
        assert "which item" in str(refused.value)
        services.classify_defect(claim=claim, by=staff, defect_type="removable", item=second)
    assert Claim.objects.get(pk=claim.pk).defect.order_item_id == second.pk


def _photo() -> Any:
    from claims.tests.factories import photo

    return photo()


def test_money_stays_what_the_offer_said() -> None:
    item = Item()
    claim = item.claim_with("discount", "irremovable", amount="25.00")
    assert claim.refund_amount == Decimal("25.00")


# --- concurrency: the services' row lock ------------------------------------------------------------------------


def test_a_stale_classification_cannot_lapse_an_offer_the_buyer_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seller re-classifies (which would withdraw the pending repair offer) with the claim as it was before the
    buyer accepted that offer: the lock's re-read finds the claim waiting for the return, and nothing changes."""
    item = Item()
    claim = item.open(desired="repair")
    item.classify(claim, "removable")
    with item.step():
        offer = services.make_offer(claim=claim, by=item.staff, kind="repair")
    stale = Claim.objects.select_related("seller", "order").get(pk=claim.pk)
    with item.step():
        services.accept_offer(offer=offer, by=claim.buyer)
    with item.step(), pytest.raises(ClaimError) as refused:
        services.classify_defect(claim=stale, by=item.staff, defect_type="irremovable")
    assert refused.value.code == "state"
    assert Claim.objects.get(pk=claim.pk).defect_type == "removable"
    assert Offer.objects.get(pk=offer.pk).status == "accepted"


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: two connections waiting on one row")
@pytest.mark.django_db(transaction=True)
def test_accepting_a_repair_while_the_seller_reclassifies_has_one_winner(monkeypatch: pytest.MonkeyPatch) -> None:
    item = Item("SK")
    claim = item.open(desired="repair")
    item.classify(claim, "removable")
    with item.step():
        offer = services.make_offer(claim=claim, by=item.staff, kind="repair")

    take_lock = services._lock

    def lock_and_hold(claim: Claim | int) -> Claim:
        locked = take_lock(claim)
        time.sleep(0.3)  # whoever has the row keeps it a moment: the other one surely waits
        return locked

    from claims.services import parties
    from claims.services import remedies as remedy_services

    for module in (parties, remedy_services):
        monkeypatch.setattr(module, "_lock", lock_and_hold)
    barrier = threading.Barrier(2)
    results: dict[str, Exception | None] = {}

    def contend(name: str, call: Any) -> None:
        try:
            barrier.wait(timeout=10)
            call()
            results[name] = None
        except Exception as exc:  # judged below
            results[name] = exc
        finally:
            connection.close()

    calls = {
        "accept": lambda: services.accept_offer(offer=offer, by=claim.buyer),
        "reclassify": lambda: services.classify_defect(claim=claim, by=item.staff, defect_type="irremovable"),
    }
    threads = [threading.Thread(target=contend, args=pair) for pair in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [name for name, error in results.items() if error is None]
    assert len(winners) == 1, results
    loser = next(error for error in results.values() if error is not None)
    assert isinstance(loser, ClaimError) and loser.code == "state", repr(loser)
    stored = Claim.objects.get(pk=claim.pk)
    if winners == ["accept"]:
        assert (stored.state, stored.defect_type, Offer.objects.get(pk=offer.pk).status) == (
            "awaiting_return", "removable", "accepted")
    else:
        assert (stored.state, stored.defect_type, Offer.objects.get(pk=offer.pk).status) == (
            "in_progress", "irremovable", "withdrawn")

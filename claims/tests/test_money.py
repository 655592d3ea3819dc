"""Refunds, who funds them, the seller ledger, the dispute fine and the warranty after a claim."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError

from claims import services
from claims.errors import ClaimError
from claims.models import ClaimTransition, Refund
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim, photo
from orders.models import OrderItem
from orders.tests.factories import OrderItemFactory
from sellers.models import LedgerEntry
from sellers.tests.factories import SellerFactory, make_agent

pytestmark = pytest.mark.django_db
LATER = OPENED_AT + dt.timedelta(days=1)


def at(moment):
    return time_machine.travel(moment, tick=False)


def test_platform_refund_in_the_sellers_place_is_recovered_through_the_ledger():
    world = claim_world("escalated")
    with at(LATER):
        services.decide(claim=world.claim, by=world.agent, outcome="refund", funded_by="platform")
    claim = world.refresh()
    assert (claim.state, claim.outcome, claim.funded_by) == ("resolved", "refund", "platform")
    assert claim.refund_amount == Decimal("199.00")
    refund = claim.refunds.get()
    entry = LedgerEntry.objects.get(seller=claim.seller)
    assert (entry.kind, entry.amount) == ("refund_recovery", Decimal("199.00"))
    assert (entry.claim, entry.refund) == (claim, refund)
    assert claim.seller.ledger_balance() == Decimal("199.00")


def test_the_platform_may_bear_a_refund_without_recovering_it():
    world = claim_world("escalated", defect_type="irremovable")
    with at(LATER):
        services.decide(claim=world.claim, by=world.agent, outcome="partial_refund", amount="50",
                        funded_by="platform", recover_from_seller=False)
    assert world.refresh().refunds.get().amount == Decimal("50.00")
    assert not LedgerEntry.objects.exists()


def test_a_refund_that_waits_for_the_return_keeps_the_agents_choice_not_to_recover_it():
    """The agent decided that the platform bears the refund; it is paid only when the item is back, and then the
    ledger must not recover it from the seller either."""
    world = claim_world("escalated")
    with at(LATER):
        services.decide(claim=world.claim, by=world.agent, outcome="refund", funded_by="platform",
                        needs_return=True, recover_from_seller=False)
    claim = world.refresh()
    assert (claim.state, claim.platform_bears_cost) == ("awaiting_return", True)
    with at(LATER + dt.timedelta(days=3)):
        services.receive_return(claim=claim, by=world.staff, inspection_result="as_expected")
    assert world.refresh().refunds.get().funded_by == "platform"
    assert not LedgerEntry.objects.exists()


def test_a_refund_that_waits_for_the_return_is_recovered_when_the_agent_said_so():
    world = claim_world("escalated")
    with at(LATER):
        services.decide(claim=world.claim, by=world.agent, outcome="refund", funded_by="platform",
                        needs_return=True)
    with at(LATER + dt.timedelta(days=3)):
        services.receive_return(claim=world.refresh(), by=world.staff, inspection_result="as_expected")
    assert LedgerEntry.objects.get(seller=world.claim.seller).kind == "refund_recovery"


def test_seller_funded_refund_needs_no_recovery():
    world = claim_world("escalated")
    with at(LATER):
        services.decide(claim=world.claim, by=world.agent, outcome="refund", funded_by="seller")
    assert world.refresh().refunds.get().funded_by == "seller"
    assert not LedgerEntry.objects.exists()


def test_first_party_seller_is_never_charged_through_the_ledger():
    order = delivered_order(seller=SellerFactory(is_platform=True))
    claim = open_defective_claim(order=order)
    agent = make_agent()
    with at(LATER):
        services.escalate(claim=claim, by=agent)
        services.decide(claim=claim, by=agent, outcome="refund", funded_by="platform")
    assert Refund.objects.get(claim=claim).funded_by == "platform"
    assert not LedgerEntry.objects.exists()


def test_forced_refund_pays_what_is_left_and_recovers_it():
    world = claim_world("escalated")
    with at(OPENED_AT + dt.timedelta(days=181)):
        services.force_refund(claim=world.claim)
    claim = world.refresh()
    assert (claim.outcome, claim.funded_by, claim.refund_amount) == ("refund", "platform", Decimal("199.00"))
    assert LedgerEntry.objects.get().amount == Decimal("199.00")


def test_whole_order_refund_includes_shipping_but_an_item_refund_does_not():
    order = delivered_order(items=2)
    order.total = Decimal("403.90")  # two items at 199.00 plus 5.90 shipping
    order.shipping_amount = Decimal("5.90")
    order.save()
    first, second = order.items.all()
    whole = open_defective_claim(order=order)
    assert whole.claimed_value() == Decimal("403.90")
    services.close(claim=whole, by=order.buyer)
    part = open_defective_claim(order=order, items=[second])
    assert part.claimed_value() == Decimal("199.00")


@pytest.mark.parametrize("amount, message", [
    ("199.00", "less than"), ("500", "less than"), ("-5", "more than zero"), ("0", "more than zero"),
    ("abc", "amount like"), (None, "enter the amount"),
])
def test_bad_partial_refund_amounts_are_refused_and_change_nothing(amount, message):
    world = claim_world("in_progress", defect_type="irremovable")
    with pytest.raises(ClaimError, match=message):
        services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount=amount)
    assert not world.claim.offers.exists()


def test_a_new_offer_replaces_the_pending_one():
    world = claim_world("in_progress", defect_type="irremovable")
    first = services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="20")
    second = services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="40")
    first.refresh_from_db()
    assert first.status == "withdrawn"
    assert second.status == "pending"
    with pytest.raises(ClaimError, match="no longer open"):
        services.accept_offer(offer=first, by=world.buyer)


def test_return_for_refund_pays_only_when_the_item_is_back():
    world = claim_world("in_progress")
    offer = services.make_offer(claim=world.claim, by=world.staff, kind="return_for_refund")
    assert offer.return_instructions  # the seller's return address by default
    services.accept_offer(offer=offer, by=world.buyer)
    claim = world.refresh()
    assert claim.state == "awaiting_return"
    assert not claim.refunds.exists()
    services.receive_return(claim=claim, by=world.staff, inspection_result="as_expected")
    claim = world.refresh()
    assert (claim.state, claim.outcome) == ("resolved", "refund")
    refund = claim.refunds.get()
    assert (refund.amount, refund.funded_by) == (Decimal("199.00"), "seller")


def test_discount_is_paid_back_and_resolves():
    world = claim_world("in_progress", defect_type="irremovable")
    offer = services.make_offer(claim=world.claim, by=world.staff, kind="discount", amount="30.00")
    services.accept_offer(offer=offer, by=world.buyer)
    claim = world.refresh()
    assert (claim.state, claim.outcome, claim.refund_amount) == ("resolved", "discount", Decimal("30.00"))


def test_lost_payment_provider_dispute_costs_the_refund_and_the_fine(settings):
    order = delivered_order()
    agent = make_agent()
    with at(OPENED_AT):
        claim = services.record_provider_dispute(order=order, by=agent, reference="PP-D-123",
                                                 description="Chargeback: item not as described")
    assert (claim.state, claim.channel) == ("escalated", "payment_provider")
    settings.CLAIM_DISPUTE_FINE = "40.00"  # a later policy change does not apply to this dispute
    with at(LATER):
        services.record_provider_verdict(claim=claim, by=agent, buyer_won=True)
    kinds = dict(LedgerEntry.objects.values_list("kind", "amount"))
    assert kinds == {"refund_recovery": Decimal("199.00"), "dispute_fine": Decimal("25.00")}
    assert claim.seller.ledger_balance() == Decimal("224.00")
    with pytest.raises(IntegrityError):
        LedgerEntry.objects.create(seller=claim.seller, kind="dispute_fine", amount=Decimal("25"), claim=claim)


def test_won_payment_provider_dispute_costs_the_seller_nothing():
    order = delivered_order()
    agent = make_agent()
    claim = services.record_provider_dispute(order=order, by=agent, reference="CB-9", description="Bank dispute")
    services.record_provider_verdict(claim=claim, by=agent, buyer_won=False)
    claim.refresh_from_db()
    assert (claim.state, claim.outcome) == ("resolved", "denied")
    assert not LedgerEntry.objects.exists()


def test_only_agents_record_provider_disputes():
    order = delivered_order()
    with pytest.raises(ClaimError) as excinfo:
        services.record_provider_dispute(order=order, by=order.buyer, reference="X", description="Y")
    assert excinfo.value.code == "forbidden"


def test_repair_leaves_six_months_of_warranty_and_adds_the_days_in_the_claim():
    # A used phone (12 months) delivered 2026-03-05: by 2027-01-11 less than 6 months are left.
    order = delivered_order()
    item = order.items.get()
    item.condition, item.warranty_months = "used", 12
    item.save()
    opened = dt.datetime(2027, 1, 11, 9, 0, tzinfo=dt.UTC)
    claim = open_defective_claim(order=order, at=opened, discovered_on=dt.date(2027, 1, 10))
    agent = make_agent()
    with at(opened + dt.timedelta(hours=1)):
        services.escalate(claim=claim, by=agent)
        services.classify_defect(claim=claim, by=agent, defect_type="removable")
        services.decide(claim=claim, by=agent, outcome="repair", funded_by="seller")
    with at(dt.datetime(2027, 1, 25, 9, 0, tzinfo=dt.UTC)):
        services.receive_return(claim=claim, by=agent, inspection_result="as_expected")
    item.refresh_from_db()
    assert item.warranty_minimum_until == dt.date(2027, 7, 25)
    assert item.warranty_extension_days == 14
    assert item.trial_minimum_until is None  # long past the trial period


def test_repair_inside_the_trial_gives_fourteen_more_trial_days():
    order = delivered_order()  # delivered 2026-03-05
    claim = open_defective_claim(order=order)  # opened 2026-03-10, inside the 30-day trial
    agent = make_agent()
    with at(LATER):
        services.escalate(claim=claim, by=agent)
        services.decide(claim=claim, by=agent, outcome="replacement", funded_by="seller")
    with at(dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)):
        services.receive_return(claim=claim, by=agent, inspection_result="as_expected")
    item = OrderItem.objects.get(order=order)
    assert item.trial_minimum_until == dt.date(2026, 4, 15)
    # ...so a trial return two weeks later is still allowed.
    with at(dt.datetime(2026, 4, 14, 9, 0, tzinfo=dt.UTC)):
        again = services.open_claim(order=order, buyer=order.buyer, reason="trial_return",
                                    description="Changed my mind after the exchange", desired_outcome="refund")
    assert again.state == "awaiting_seller"


def test_extended_warranty_lets_a_later_defect_claim_through():
    order = delivered_order()
    item = order.items.get()
    item.warranty_months = 12
    item.warranty_minimum_until = dt.date(2027, 6, 30)
    item.save()
    with at(dt.datetime(2027, 6, 20, 9, 0, tzinfo=dt.UTC)):
        claim = services.open_claim(order=order, buyer=order.buyer, reason="defective", description="Dead again",
                                    desired_outcome="repair", discovered_on=dt.date(2027, 6, 19),
                                    evidence=[photo()])
    assert claim.state == "awaiting_seller"


def test_denied_claims_pay_nothing_and_name_the_exclusion():
    world = claim_world("escalated")
    with pytest.raises(ClaimError, match="must name"):
        services.decide(claim=world.claim, by=world.agent, outcome="denied")
    services.decide(claim=world.claim, by=world.agent, outcome="denied", denial_reason="damage_after_receipt")
    claim = world.refresh()
    assert (claim.outcome, claim.denial_reason, claim.funded_by) == ("denied", "damage_after_receipt", "")
    assert not claim.refunds.exists()
    assert ClaimTransition.objects.filter(claim=claim, name="decide").get().reason.startswith("Damage caused")


def test_reopened_claim_cannot_collide_with_a_newer_claim_on_the_same_item():
    world = claim_world("escalated")
    services.decide(claim=world.claim, by=world.agent, outcome="denied", denial_reason="normal_wear")
    order = world.claim.order
    newer = open_defective_claim(order=order, at=LATER)
    with pytest.raises(ClaimError, match="Another claim is open"):
        services.reopen(claim=world.claim, by=world.agent, reason="Tracking issue")
    assert world.refresh().state == "resolved"
    services.close(claim=newer, by=order.buyer)
    services.reopen(claim=world.claim, by=world.agent, reason="Tracking issue")
    assert world.refresh().state == "escalated"


def test_ledger_entries_and_the_transition_log_are_append_only():
    seller = SellerFactory()
    entry = LedgerEntry.objects.create(seller=seller, kind="adjustment", amount=Decimal("-10.00"), note="Goodwill")
    entry.amount = Decimal("0")
    with pytest.raises(TypeError, match="append-only"):
        entry.save()
    with pytest.raises(TypeError, match="append-only"):
        entry.delete()
    with pytest.raises(TypeError, match="append-only"):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=0)
    with pytest.raises(TypeError, match="append-only"):
        LedgerEntry.objects.all().delete()
    log = claim_world().claim.transitions.get()
    with pytest.raises(TypeError, match="append-only"):
        log.delete()
    assert LedgerEntry.objects.get().amount == Decimal("-10.00")


def test_two_items_order_partial_claim_leaves_the_other_item_free():
    order = delivered_order(items=1)
    extra = OrderItemFactory(order=order, title="Charger", unit_price=Decimal("19.00"))
    open_defective_claim(order=order, items=[order.items.first()])
    other = open_defective_claim(order=order, items={extra: 1})
    assert other.claimed_value() == Decimal("19.00")


def test_nothing_left_to_refund_is_refused_clearly_after_a_reopen():
    world = claim_world("resolved")  # refunded in full
    services.reopen(claim=world.claim, by=world.agent, reason="Buyer says the refund never arrived")
    with pytest.raises(ClaimError, match="already been refunded"):
        services.make_offer(claim=world.claim, by=world.agent, kind="full_refund")
    with pytest.raises(ClaimError, match="already been refunded"):
        services.decide(claim=world.claim, by=world.agent, outcome="refund", funded_by="platform")
    services.decide(claim=world.claim, by=world.agent, outcome="denied", denial_reason="as_described")
    assert world.refresh().refunds.count() == 1


def test_payment_provider_disputes_are_decided_by_the_provider_not_by_an_agent():
    order = delivered_order()
    agent = make_agent()
    claim = services.record_provider_dispute(order=order, by=agent, reference="PP-1", description="Chargeback")
    with pytest.raises(ClaimError) as refusal:
        services.decide(claim=claim, by=agent, outcome="refund", funded_by="platform")
    assert refusal.value.code == "state"
    claim.refresh_from_db()
    assert claim.state == "escalated" and not claim.refunds.exists()

"""No path lets the refunds of an item exceed what was paid for it (issue 12, part 1), and a justified claim extends
the warranty by its days (part 5)."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from claims import services
from claims.errors import ClaimError
from claims.models import Claim, ClaimItem, Refund, RefundLine
from claims.money import refund_room
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from orders.models import Order, OrderItem
from sellers.models import LedgerEntry, SellerMembership
from sellers.tests.factories import UserFactory, make_agent

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def at(moment):
    return time_machine.travel(moment, tick=False)


def priced_order(price="593.99", shipping="0.00", items=1):
    order = delivered_order(items=items)
    OrderItem.objects.filter(order=order).update(unit_price=Decimal(price))
    order.shipping_amount = Decimal(shipping)
    order.total = Decimal(price) * items + Decimal(shipping)
    order.save()
    return order


def escalate_and_decide(claim, agent, when, **decision):
    with at(when):
        services.escalate(claim=claim, by=agent, reason="Please decide")
        if decision["outcome"] in ("partial_refund", "discount"):  # they need the type of defect (claims.remedies)
            services.classify_defect(claim=claim, by=agent, defect_type="irremovable")
        services.decide(claim=claim, by=agent, **decision)
    return Claim.objects.get(pk=claim.pk)


def refunded(order):
    return sum((r.amount for r in Refund.objects.filter(claim__order=order)), Decimal("0.00"))


def test_successive_claims_on_one_item_never_refund_more_than_was_paid():
    """Seen on the demo: 593.99 refunded three times through successive claims with the amount left empty."""
    order = priced_order("593.99")
    agent = make_agent()
    first = open_defective_claim(order=order, at=OPENED_AT)
    escalate_and_decide(first, agent, OPENED_AT + DAY, outcome="partial_refund", funded_by="platform", amount="100.00")
    second = open_defective_claim(order=order, at=OPENED_AT + 2 * DAY)
    second = escalate_and_decide(second, agent, OPENED_AT + 3 * DAY, outcome="refund", funded_by="platform")
    assert second.refund_amount == Decimal("493.99")  # what was left, not the price again
    assert refunded(order) == Decimal("593.99")
    item = order.items.get()
    assert (item.refunded_amount, item.refundable_amount) == (Decimal("593.99"), Decimal("0.00"))
    assert sum(e.amount for e in LedgerEntry.objects.all()) == Decimal("593.99")  # the seller is charged once
    with pytest.raises(ClaimError, match="already been refunded in full"):
        open_defective_claim(order=order, at=OPENED_AT + 4 * DAY)
    assert Claim.objects.filter(order=order).count() == 2


def test_an_agent_cannot_refund_more_than_is_left_on_the_item():
    order = priced_order("200.00")
    agent = make_agent()
    first = open_defective_claim(order=order)
    escalate_and_decide(first, agent, OPENED_AT + DAY, outcome="partial_refund", funded_by="seller", amount="150.00")
    second = open_defective_claim(order=order, at=OPENED_AT + 2 * DAY)
    with at(OPENED_AT + 3 * DAY):
        services.escalate(claim=second, by=agent)
        with pytest.raises(ClaimError, match="cannot be more than €50.00"):
            services.decide(claim=second, by=agent, outcome="refund", funded_by="seller", amount="200.00")
    assert refunded(order) == Decimal("150.00")
    assert Claim.objects.get(pk=second.pk).state == "escalated"


def test_the_forced_refund_after_an_earlier_partial_refund_pays_only_the_rest():
    order = priced_order("593.99")
    agent = make_agent()
    first = open_defective_claim(order=order)
    escalate_and_decide(first, agent, OPENED_AT + DAY, outcome="partial_refund", funded_by="seller", amount="93.99")
    second = open_defective_claim(order=order, at=OPENED_AT + 2 * DAY)
    with at(second.hard_deadline_at):
        services.enforce_deadlines()
    second.refresh_from_db()
    assert (second.outcome, second.refund_amount) == ("refund", Decimal("500.00"))
    assert refunded(order) == Decimal("593.99")


def test_after_a_reopen_the_return_pays_the_remainder():
    """Seen: after a reopen, a full refund against return paid 50.00 of 200.00 when the return arrived."""
    order = priced_order("200.00")
    world_agent = make_agent()
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller)
    claim = open_defective_claim(order=order)
    escalate_and_decide(claim, world_agent, OPENED_AT + DAY, outcome="partial_refund", funded_by="seller",
                        amount="50.00")
    with at(OPENED_AT + 2 * DAY):
        services.reopen(claim=claim, by=world_agent, reason="The buyer sent new photos")
        services.decide(claim=claim, by=world_agent, outcome="refund", funded_by="seller", needs_return=True)
    claim.refresh_from_db()
    assert (claim.state, claim.refund_amount) == ("awaiting_return", Decimal("150.00"))
    with at(OPENED_AT + 5 * DAY):
        services.receive_return(claim=claim, by=staff, inspection_result="as_expected")
    assert [r.amount for r in claim.refunds.order_by("pk")] == [Decimal("50.00"), Decimal("150.00")]
    assert order.items.get().refundable_amount == Decimal("0.00")


def test_an_accepted_full_refund_offer_pays_what_is_left_when_it_is_accepted():
    order = priced_order("100.00", items=1)
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller)
    agent = make_agent()
    claim = open_defective_claim(order=order)
    with at(OPENED_AT + DAY):
        offer = services.make_offer(claim=claim, by=staff, kind="full_refund")
    assert offer.amount == Decimal("100.00")
    # Meanwhile some of the item is refunded another way (a line written before the offer is answered).
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=order.pk)
        OrderItem.objects.filter(pk=order.items.get().pk).update(refunded_amount=Decimal("30.00"))
    with at(OPENED_AT + 2 * DAY):
        services.accept_offer(offer=offer, by=order.buyer)
    assert claim.refunds.get().amount == Decimal("70.00")
    assert agent  # the agent exists but never acted


def test_a_partial_offer_worth_more_than_is_left_cannot_be_accepted():
    order = priced_order("100.00")
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller)
    claim = open_defective_claim(order=order)
    with at(OPENED_AT + DAY):
        services.classify_defect(claim=claim, by=staff, defect_type="irremovable")
        offer = services.make_offer(claim=claim, by=staff, kind="partial_refund", amount="60.00")
    OrderItem.objects.filter(pk=order.items.get().pk).update(refunded_amount=Decimal("50.00"))
    with at(OPENED_AT + 2 * DAY), pytest.raises(ClaimError, match="worth more than is left"):
        services.accept_offer(offer=offer, by=order.buyer)
    assert not claim.refunds.exists()
    assert Claim.objects.get(pk=claim.pk).state == "in_progress"


def test_the_database_refuses_more_refunded_than_paid_on_an_item_and_on_shipping():
    order = priced_order("100.00", shipping="5.90")
    item = order.items.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderItem.objects.filter(pk=item.pk).update(refunded_amount=Decimal("100.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(shipping_refunded=Decimal("5.91"))
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderItem.objects.filter(pk=item.pk).update(refunded_amount=Decimal("-0.01"))


def test_a_whole_order_refund_pays_the_shipping_once_and_lines_say_what_was_paid_for():
    order = priced_order("100.00", shipping="5.90", items=2)
    agent = make_agent()
    claim = open_defective_claim(order=order)
    assert refund_room(claim).total == Decimal("205.90")
    claim = escalate_and_decide(claim, agent, OPENED_AT + DAY, outcome="refund", funded_by="seller")
    refund = claim.refunds.get()
    lines = sorted((line.order_item_id or 0, line.amount) for line in RefundLine.objects.filter(refund=refund))
    first, second = order.items.order_by("pk")
    assert lines == [(0, Decimal("5.90")), (first.pk, Decimal("100.00")), (second.pk, Decimal("100.00"))]
    order.refresh_from_db()
    assert order.shipping_refunded == Decimal("5.90")


def test_a_claim_on_part_of_the_order_never_refunds_the_shipping():
    order = priced_order("100.00", shipping="5.90", items=2)
    first = order.items.order_by("pk").first()
    claim = open_defective_claim(order=order, items=[first])
    assert refund_room(claim).total == Decimal("100.00")


def test_a_provider_verdict_is_bounded_by_what_is_left():
    order = priced_order("80.00")
    agent = make_agent()
    first = open_defective_claim(order=order)
    escalate_and_decide(first, agent, OPENED_AT + DAY, outcome="partial_refund", funded_by="seller", amount="30.00")
    with at(OPENED_AT + 2 * DAY):
        dispute = services.record_provider_dispute(order=order, by=agent, reference="PP-1", description="Chargeback")
        with pytest.raises(ClaimError, match="cannot be more than €50.00"):
            services.record_provider_verdict(claim=dispute, by=agent, buyer_won=True, amount="80.00")
        services.record_provider_verdict(claim=dispute, by=agent, buyer_won=True)
    assert refunded(order) == Decimal("80.00")


# --- warranty: every justified outcome extends it by the days in the claim ------------------------------


@pytest.mark.parametrize("outcome, extra, extended", [
    ("partial_refund", {"amount": "20.00", "funded_by": "seller"}, True),
    ("discount", {"amount": "20.00", "funded_by": "seller"}, True),
    ("refund", {"funded_by": "seller"}, True),
    ("denied", {"denial_reason": "normal_wear"}, False),
])
def test_a_justified_claim_extends_the_warranty_by_its_days(outcome, extra, extended):
    order = priced_order("200.00")
    agent = make_agent()
    claim = open_defective_claim(order=order)
    escalate_and_decide(claim, agent, OPENED_AT + 12 * DAY, outcome=outcome, **extra)
    item = order.items.get()
    assert item.warranty_extension_days == (12 if extended else 0)
    assert item.warranty_minimum_until is None  # the 6-month floor is for repairs and replacements only


def test_a_reopened_claim_adds_only_the_days_not_added_yet():
    order = priced_order("200.00")
    agent = make_agent()
    claim = open_defective_claim(order=order)
    escalate_and_decide(claim, agent, OPENED_AT + 10 * DAY, outcome="partial_refund", funded_by="seller",
                        amount="20.00")
    with at(OPENED_AT + 15 * DAY):
        services.reopen(claim=claim, by=agent, reason="New evidence")
        services.decide(claim=claim, by=agent, outcome="partial_refund", funded_by="seller", amount="30.00")
    assert order.items.get().warranty_extension_days == 15


def test_closing_or_delivery_adds_no_warranty_days():
    world = claim_world("in_progress")
    with at(OPENED_AT + 9 * DAY):
        services.close(claim=world.claim, by=world.buyer)
    assert world.claim.items.get().order_item.warranty_extension_days == 0


# --- two claims on one item refunded at the same moment (PostgreSQL row locks) -------------------------


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks; CI runs it")
@pytest.mark.django_db(transaction=True)
def test_two_claims_on_one_item_refunded_at_once_pay_it_once():
    order = priced_order("200.00")
    agent = make_agent()
    first = open_defective_claim(order=order)
    with at(OPENED_AT + DAY):
        services.escalate(claim=first, by=agent)
        services.classify_defect(claim=first, by=agent, defect_type="irremovable")
    # A second claim on the same item (as an older claim reopened or recorded by a provider would be).
    ClaimItem.objects.filter(claim=first).update(is_open=False)
    second = open_defective_claim(order=order, at=OPENED_AT + DAY)
    with at(OPENED_AT + DAY):
        services.escalate(claim=second, by=agent)
        services.classify_defect(claim=second, by=agent, defect_type="irremovable")
    barrier = threading.Barrier(2)
    results: dict[int, str] = {}

    def decide(claim):
        try:
            barrier.wait()
            services.decide(claim=claim, by=agent, outcome="partial_refund", funded_by="seller", amount="150.00")
            results[claim.pk] = "paid"
        except ClaimError as exc:
            results[claim.pk] = str(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = list(results.values())
    assert outcomes.count("paid") == 1
    loser = next(text for text in outcomes if text != "paid")
    assert "less than €50.00" in loser  # the loser saw what is left after the winner, under the order's lock
    assert refunded(order) == Decimal("150.00")
    assert order.items.get().refunded_amount == Decimal("150.00")

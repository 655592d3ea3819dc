"""Goods a buyer collects in person (issue 14, warranty claim policy 3.1): ready when the claim resolves with them at
the seller, free for a month from the later of the resolution and the legal limit, then €0.50 a day; six months on,
the buyer is told of the intended sale with a further period. Each notice once, none after collection."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from claims import collection, deadlines, services
from claims.errors import ClaimError
from claims.models import Claim, OutboundEmail
from claims.tests.factories import OPENED_AT, delivered_order, open_defective_claim
from claims.tests.test_warranty_clock import GOODS, SK_DUE, Case, sweep
from sellers.tests.factories import SellerFactory, UserFactory, make_agent

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
TICK = dt.timedelta(microseconds=1)
# Resolved early (before the legal limit of 10 April): free until a month after the limit, 10 May 10:00 CEST.
FREE_UNTIL = dt.datetime(2026, 5, 10, 8, 0, tzinfo=dt.UTC)
SALE_NOTICE = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)  # six months on, 10:00 CET


def collecting_seller(fee: str = "0.50"):
    return SellerFactory(warranty_policy__offers_collection=True, warranty_policy__storage_fee_per_day=Decimal(fee))


def denied_at(case: Case, at: dt.datetime) -> Claim:
    with time_machine.travel(at - H, tick=False):
        if case.fresh().state != "escalated":
            services.escalate(claim=case.claim, by=case.agent, reason="Seller inaction")
    with time_machine.travel(at, tick=False):
        services.decide(claim=case.claim, by=case.agent, outcome="denied", denial_reason="cosmetic_wear")
    return case.fresh()


def ready_case(country: str = "SK", *, resolved_at: dt.datetime = GOODS + 5 * DAY) -> Case:
    case = Case(country, seller=collecting_seller(), collect_in_person=True)
    case.goods_arrive()
    denied_at(case, resolved_at)
    return case


# --- opening -------------------------------------------------------------------------------------------------------


def test_the_buyer_chooses_to_collect_and_the_sellers_fee_is_copied():
    order = delivered_order(seller=collecting_seller("0.75"), delivery_country="SK")
    claim = open_defective_claim(order=order, collect_in_person=True)
    assert (claim.collect_in_person, claim.storage_fee_per_day) == (True, Decimal("0.75"))
    order.seller.warranty_policy.storage_fee_per_day = Decimal("2.00")
    order.seller.warranty_policy.save()
    assert Claim.objects.get(pk=claim.pk).storage_fee_per_day == Decimal("0.75")  # a later change is not the claim's


@pytest.mark.parametrize("seller, reason", [(SellerFactory, "defective"), (collecting_seller, "not_as_described")])
def test_collecting_in_person_only_where_the_seller_offers_it_and_for_a_defect(seller, reason):
    order = delivered_order(seller=seller(), delivery_country="SK")
    with pytest.raises(ClaimError) as refused:
        open_defective_claim(order=order, reason=reason, collect_in_person=True)
    assert "does not offer collecting" in str(refused.value)
    assert not Claim.objects.exists()


# --- ready for collection ------------------------------------------------------------------------------------------


def test_ready_when_a_claim_resolves_with_the_goods_at_the_seller(django_capture_on_commit_callbacks):
    case = Case("SK", seller=collecting_seller(), collect_in_person=True)
    case.goods_arrive()
    with django_capture_on_commit_callbacks(execute=True):
        claim = denied_at(case, GOODS + 5 * DAY)
    assert claim.collection_ready_at == GOODS + 5 * DAY
    assert claim.transitions.filter(name="collection_ready", from_state="resolved", to_state="resolved").exists()
    email = OutboundEmail.objects.get(event="collection_ready")
    assert email.recipient == case.buyer
    assert ("Storage is free until Sun 10 May. From Mon 11 May the seller may charge a storage fee of €0.50 a "
            "day") in email.body_text
    # The sweep's index holds the resolved claim until the notices are given; no person's deadline, no queue.
    assert (claim.next_deadline_at, claim.action_due_at) == (FREE_UNTIL, None)


def test_a_replacement_given_at_the_seller_is_ready_too():
    order = delivered_order(seller=collecting_seller(), delivery_country="DE")
    claim = open_defective_claim(order=order, collect_in_person=True)
    agent = make_agent()
    with time_machine.travel(OPENED_AT + H, tick=False):
        services.escalate(claim=claim, by=agent, reason="Seller inaction")
        services.decide(claim=claim, by=agent, outcome="replacement", funded_by="seller")
    returned_at = OPENED_AT + 10 * DAY
    with time_machine.travel(returned_at, tick=False):
        services.receive_return(claim=claim, by=agent, inspection_result="as_expected")
    claim = Claim.objects.get(pk=claim.pk)
    assert claim.collection_ready_at == returned_at
    # No legal limit in Germany: a month from the resolution, 10:00 Berlin on 20 April (CEST).
    assert collection.free_until(claim) == dt.datetime(2026, 4, 20, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("collect, outcome", [(False, "denied"), (True, "refund")])
def test_nothing_to_collect_without_the_choice_or_after_a_refund(collect, outcome):
    case = Case("SK", seller=collecting_seller(), collect_in_person=collect)
    case.goods_arrive()
    with time_machine.travel(GOODS + H, tick=False):
        services.escalate(claim=case.claim, by=case.agent, reason="Seller inaction")
        services.decide(claim=case.claim, by=case.agent, outcome=outcome, funded_by="seller",
                        denial_reason="cosmetic_wear")
    claim = case.fresh()
    assert claim.collection_ready_at is None
    assert deadlines.due_events(claim) == [] and claim.next_deadline_at is None


# --- the storage fee ------------------------------------------------------------------------------------------------


def test_the_fee_starts_a_month_after_the_legal_limit_when_resolved_early():
    claim = ready_case().claim
    assert collection.free_until(claim) == FREE_UNTIL
    last_free = dt.date(2026, 5, 10)
    assert collection.last_free_day(claim) == last_free
    assert collection.storage_fee(claim, last_free) == Decimal("0.00")
    assert collection.storage_fee(claim, last_free + DAY) == Decimal("0.50")  # the first charged day
    assert collection.storage_fee(claim, last_free + 10 * DAY) == Decimal("5.00")


def test_the_fee_starts_a_month_after_the_resolution_when_resolved_late():
    claim = ready_case(resolved_at=SK_DUE + 10 * DAY).claim  # 20 April, after the limit of 10 April
    assert collection.last_free_day(claim) == dt.date(2026, 5, 20)
    assert collection.charged_days(claim, dt.date(2026, 5, 20)) == 0
    assert collection.charged_days(claim, dt.date(2026, 5, 21)) == 1


def test_the_fee_is_counted_until_collection(django_capture_on_commit_callbacks):
    case = ready_case()
    for outsider in (case.buyer, UserFactory()):
        with pytest.raises(ClaimError) as refused:
            services.record_collection(claim=case.claim, by=outsider)
        assert refused.value.code == "forbidden"
    collected_at = FREE_UNTIL + 5 * DAY  # 15 May: five days charged
    with time_machine.travel(collected_at, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.record_collection(claim=case.claim, by=case.staff)
    claim = case.fresh()
    assert claim.collected_at == collected_at
    assert collection.storage_fee(claim, dt.date(2026, 12, 31)) == Decimal("2.50")  # nothing after collection
    assert claim.transitions.get(name="collected").reason == "Storage fee: €2.50"
    email = OutboundEmail.objects.get(event="collected")
    assert "Storage fee so far: €2.50 for 5 days." in email.body_text
    with pytest.raises(ClaimError) as again:
        services.record_collection(claim=claim, by=case.agent)
    assert again.value.code == "state"


# --- the notices ------------------------------------------------------------------------------------------------------


def test_the_storage_and_sale_notices_come_once_each(django_capture_on_commit_callbacks):
    case = ready_case()
    assert sweep(FREE_UNTIL - TICK) == {}
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(FREE_UNTIL) == {"storage_notice": 1}
        assert sweep(FREE_UNTIL + DAY) == {}
    claim = case.fresh()
    assert claim.storage_notice_at == FREE_UNTIL and claim.next_deadline_at == SALE_NOTICE
    assert set(OutboundEmail.objects.filter(event="storage_notice").values_list("recipient", flat=True)) == {
        case.buyer.pk, case.staff.pk}

    assert sweep(SALE_NOTICE - TICK) == {}
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(SALE_NOTICE) == {"sale_notice": 1}
        assert sweep(SALE_NOTICE + 60 * DAY) == {}
    claim = case.fresh()
    assert claim.sale_notice_at == SALE_NOTICE and claim.next_deadline_at is None
    # The further period: 30 days (COLLECTION_SALE_NOTICE_DAYS) from the notice.
    assert collection.may_sell_from(claim) == dt.date(2026, 12, 10)
    email = OutboundEmail.objects.get(event="sale_notice", recipient=case.buyer)
    assert "The seller may sell the item from Thu 10 Dec if it is not collected by then." in email.body_text
    assert "not been collected 6 months after the free storage ended" in email.body_text
    names = list(claim.transitions.values_list("name", flat=True))
    assert names.count("storage_notice") == names.count("sale_notice") == 1


def test_a_late_sweep_gives_both_notices_and_the_sale_period_runs_from_the_notice_given():
    case = ready_case()
    late = SALE_NOTICE + 3 * DAY
    assert sweep(late) == {"storage_notice": 1, "sale_notice": 1}
    assert collection.may_sell_from(case.fresh()) == dt.date(2026, 12, 13)


def test_no_notice_after_collection():
    case = ready_case()
    with time_machine.travel(FREE_UNTIL - DAY, tick=False):
        services.record_collection(claim=case.claim, by=case.agent)
    claim = case.fresh()
    assert claim.next_deadline_at is None and deadlines.due_events(claim) == []
    assert sweep(SALE_NOTICE + DAY) == {}
    assert collection.storage_fee(claim, dt.date(2026, 6, 1)) == Decimal("0.00")

"""The warranty-claim clock (issue 14): it starts when the seller confirms the goods arrived, runs the market's
calendar days in its zone (Slovakia 30, at most 60; Portugal 30; Germany none), pauses for an expert (the 60 days
never), reminds, escalates at the limit, and at the maximum lets the buyer choose a replacement or a full refund."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from claims import deadlines, services
from claims.abilities import abilities
from claims.deadlines import WARRANTY_LIMIT, WARRANTY_MAX, WARRANTY_REMINDER
from claims.errors import ClaimError
from claims.models import Claim, OutboundEmail
from claims.tests.factories import OPENED_AT, delivered_order, open_defective_claim
from sellers.models import LedgerEntry, SellerMembership
from sellers.tests.factories import UserFactory, make_agent

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
TICK = dt.timedelta(microseconds=1)
# Wednesday 11 March 2026, 10:00 in Bratislava and Berlin (CET), 09:00 in Lisbon (WET): the goods reach the seller.
# The clocks change on 29 March, so 30 and 60 calendar days later the same local time is an hour earlier in UTC.
GOODS = dt.datetime(2026, 3, 11, 9, 0, tzinfo=dt.UTC)
SK_DUE = dt.datetime(2026, 4, 10, 8, 0, tzinfo=dt.UTC)  # Friday 10 April, 10:00 CEST
SK_MAX = dt.datetime(2026, 5, 10, 8, 0, tzinfo=dt.UTC)  # Sunday 10 May, 10:00 CEST: calendar days, weekends count
SK_REMINDER = dt.datetime(2026, 4, 5, 8, 0, tzinfo=dt.UTC)  # five days before: Easter Sunday, 10:00 CEST
PT_DUE = dt.datetime(2026, 4, 10, 8, 0, tzinfo=dt.UTC)  # 09:00 WEST


class Case:
    """A defective claim in a market, with the seller's staff and an agent."""

    def __init__(self, country: str = "SK", *, buyer_kind: str = "consumer", reason: str = "defective",
                 seller=None, collect_in_person: bool = False) -> None:
        order = delivered_order(seller=seller, delivery_country=country, buyer_kind=buyer_kind)
        self.staff = UserFactory()
        SellerMembership.objects.create(user=self.staff, seller=order.seller, role="staff")
        self.agent = make_agent()
        kwargs = {"collect_in_person": True} if collect_in_person else {}
        self.claim = open_defective_claim(order=order, reason=reason, **kwargs)
        self.buyer = self.claim.buyer
        with time_machine.travel(OPENED_AT + H, tick=False):
            services.reply(claim=self.claim, by=self.staff, body="Please send it to us.")

    def goods_arrive(self, at: dt.datetime = GOODS) -> Claim:
        with time_machine.travel(at, tick=False):
            services.confirm_goods_received(claim=self.claim, by=self.staff)
        return self.fresh()

    def fresh(self) -> Claim:
        self.claim = Claim.objects.get(pk=self.claim.pk)
        return self.claim


def sweep(moment: dt.datetime) -> dict[str, int]:
    with time_machine.travel(moment, tick=False):
        return services.enforce_deadlines()


def warranty_events(claim: Claim) -> list[tuple[str, dt.datetime, str, bool]]:
    return [(e.what, e.at, e.who, e.recorded) for e in deadlines.due_events(claim)
            if e.what in (WARRANTY_LIMIT, WARRANTY_MAX, WARRANTY_REMINDER)]


@pytest.fixture
def seller_keeps_it(settings):
    """A resolution deadline longer than the legal limit, so the claim is still with the seller at the limit."""
    settings.CLAIM_RESOLUTION_BUSINESS_DAYS = 60


# --- when the clock starts, and where there is one ----------------------------------------------------------------


@pytest.mark.parametrize("country, due, most", [("SK", SK_DUE, SK_MAX), ("PT", PT_DUE, None), ("DE", None, None)])
def test_the_clock_starts_when_the_goods_reach_the_seller_per_market(country, due, most):
    case = Case(country)
    assert (case.claim.goods_received_at, case.claim.warranty_due_at) == (None, None)
    assert warranty_events(case.claim) == []  # not before the goods arrived
    claim = case.goods_arrive()
    assert (claim.goods_received_at, claim.warranty_due_at, claim.warranty_max_at) == (GOODS, due, most)


def test_thirty_calendar_days_across_the_clock_change_keep_the_local_time():
    # 10:00 CET on 11 March is 09:00 UTC; 10:00 CEST on 10 April is 08:00 UTC: 30 days less an hour of elapsed time.
    claim = Case("SK").goods_arrive()
    assert claim.warranty_due_at - claim.goods_received_at == 30 * DAY - H
    lisbon = Case("PT").goods_arrive(GOODS + 24 * DAY)  # 4 April, after the change: no hour lost
    assert lisbon.warranty_due_at - lisbon.goods_received_at == 30 * DAY


@pytest.mark.parametrize("buyer_kind, reason", [("business", "defective"), ("consumer", "not_as_described")])
def test_no_clock_for_a_business_buyer_or_another_reason(buyer_kind, reason):
    claim = Case("SK", buyer_kind=buyer_kind, reason=reason).goods_arrive()
    assert claim.goods_received_at == GOODS  # recorded all the same (the 180-day refund reads it)
    assert (claim.warranty_due_at, claim.warranty_max_at) == (None, None)
    assert warranty_events(claim) == []


def test_the_goods_are_confirmed_once_by_the_seller_or_an_agent(django_capture_on_commit_callbacks):
    case = Case("SK")
    for outsider in (case.buyer, UserFactory()):
        with pytest.raises(ClaimError) as refused:
            services.confirm_goods_received(claim=case.claim, by=outsider)
        assert refused.value.code == "forbidden"
    with django_capture_on_commit_callbacks(execute=True):
        claim = case.goods_arrive()
    log = claim.transitions.get(name="goods_received")
    assert (log.from_state, log.to_state, log.actor, log.party) == ("in_progress", "in_progress", case.staff, "seller")
    email = OutboundEmail.objects.get(event="goods_received")
    assert email.recipient == case.buyer
    assert "Fri 10 Apr, 10:00 CEST" in email.body_text and "Sun 10 May, 10:00 CEST" in email.body_text
    with time_machine.travel(GOODS + H, tick=False), pytest.raises(ClaimError) as again:
        services.confirm_goods_received(claim=claim, by=case.agent)
    assert again.value.code == "state" and "already confirmed as received" in str(again.value)
    assert Claim.objects.get(pk=claim.pk).goods_received_at == GOODS


def test_an_agent_confirms_the_goods_on_an_escalated_claim():
    case = Case("SK")
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        services.escalate(claim=case.claim, by=case.agent, reason="Seller inaction")
    with time_machine.travel(GOODS, tick=False):
        services.confirm_goods_received(claim=case.claim, by=case.agent)
    claim = case.fresh()
    assert (claim.state, claim.warranty_due_at) == ("escalated", SK_DUE)
    assert abilities(claim, case.staff)["confirm_goods_received"].code == "state"


# --- the events and the sweep ----------------------------------------------------------------------------------------


def test_the_clock_is_part_of_the_one_deadline_model(seller_keeps_it):
    claim = Case("SK").goods_arrive()
    assert warranty_events(claim) == [
        (WARRANTY_REMINDER, SK_REMINDER, "system", False),
        (WARRANTY_LIMIT, SK_DUE, "seller", False),
        (WARRANTY_MAX, SK_MAX, "seller", False),
    ]
    # The seller queue sorts by it: the legal limit is the seller's deadline that matters now.
    assert claim.action_due_at == SK_DUE
    assert claim.next_deadline_at == SK_REMINDER


def test_slovakia_thirty_then_sixty_days_with_the_seller(seller_keeps_it, django_capture_on_commit_callbacks):
    case = Case("SK")
    case.goods_arrive()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(SK_REMINDER - TICK) == {}
        assert sweep(SK_REMINDER) == {"warranty_reminder": 1}
        assert sweep(SK_REMINDER) == {}
    assert [m.subject for m in mail.outbox] == [
        f"Reminder: warranty claim {case.claim.number} must be resolved within 5 days"]
    assert mail.outbox[0].to == [case.staff.email]

    assert sweep(SK_DUE - TICK) == {}
    assert sweep(SK_DUE) == {"warranty_limit": 1}
    assert sweep(SK_DUE) == {}
    claim = case.fresh()
    assert (claim.state, claim.escalation_cause, claim.warranty_limit_reached_at) == (
        "escalated", "warranty_limit", SK_DUE)
    assert warranty_events(claim)[0] == (WARRANTY_LIMIT, SK_DUE, "agent", True)  # recorded; the platform's now
    assert claim.action_due_at == SK_DUE  # overdue for the platform until it is resolved

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(SK_MAX - TICK) == {"decision": 1}  # the platform's own decision target, 2 business days on
        assert sweep(SK_MAX) == {"warranty_max": 1}
        assert sweep(SK_MAX + DAY) == {}
    claim = case.fresh()
    assert claim.warranty_max_reached_at == SK_MAX and claim.state == "escalated"
    buyer_mail = [m for m in mail.outbox if m.to == [case.buyer.email]]
    assert [m.subject for m in buyer_mail] == [
        f"Claim {claim.number}: you may now choose a replacement or a full refund"]
    assert "not resolved within 60 days" in buyer_mail[0].body
    assert claim.next_deadline_at == claim.hard_deadline_at
    assert list(claim.transitions.values_list("name", flat=True)) == [
        "open", "reply", "goods_received", "take_over", "decision_breach", "warranty_max"]


def test_slovakia_at_the_limit_of_a_claim_the_platform_already_has(django_capture_on_commit_callbacks):
    case = Case("SK")
    claim = case.goods_arrive()
    assert sweep(claim.resolution_due_at) == {"taken_over": 1}  # the marketplace's 5 business days came first
    claim = case.fresh()
    claim.assigned_to = case.agent
    claim.save(update_fields=["assigned_to"])
    assert warranty_events(claim)[1] == (WARRANTY_LIMIT, SK_DUE, "agent", False)
    with django_capture_on_commit_callbacks(execute=True):
        # The platform's decision target (2 business days after the take-over) passed long before.
        assert sweep(SK_REMINDER) == {"decision": 1, "warranty_reminder": 1}
        assert sweep(SK_DUE) == {"warranty_limit": 1}
        assert sweep(SK_DUE + H) == {}
    claim = case.fresh()
    assert (claim.state, claim.escalation_cause) == ("escalated", "takeover")
    log = claim.transitions.get(name="warranty_limit")
    assert (log.from_state, log.to_state, log.party) == ("escalated", "escalated", "system")
    assert set(OutboundEmail.objects.filter(event="warranty_limit").values_list("recipient", flat=True)) == {
        case.buyer.pk, case.agent.pk}
    assert set(OutboundEmail.objects.filter(event="warranty_reminder").values_list("recipient", flat=True)) == {
        case.agent.pk}


def test_portugal_thirty_days_and_no_maximum(seller_keeps_it):
    case = Case("PT")
    claim = case.goods_arrive()
    assert [e[0] for e in warranty_events(claim)] == [WARRANTY_REMINDER, WARRANTY_LIMIT]
    # A sweep that was down catches up, without a stale reminder of a limit already passed.
    assert sweep(PT_DUE) == {"warranty_limit": 1}
    claim = case.fresh()
    assert (claim.state, claim.escalation_cause) == ("escalated", "warranty_limit")
    # Nothing more of the clock: the platform's decision target (its reminder first) is what comes next.
    assert claim.next_deadline_at == claim.decision_due_at - 24 * H
    assert sweep(PT_DUE + 40 * DAY) == {"decision": 1}
    assert claim.warranty_max_reached_at is None


def test_germany_has_no_clock(seller_keeps_it):
    claim = Case("DE").goods_arrive()
    assert warranty_events(claim) == []
    assert sweep(GOODS + 61 * DAY) == {}
    assert case_state(claim) == "in_progress"


def case_state(claim: Claim) -> str:
    return Claim.objects.get(pk=claim.pk).state


# --- paused for an expert ------------------------------------------------------------------------------------------


def pause(claim: Claim, at: dt.datetime) -> Claim:
    """What the expert assessment does when it starts (another part of the product): the clock's pause."""
    claim.expert_paused_at = at
    claim.refresh_next_deadline()
    claim.save()
    return Claim.objects.get(pk=claim.pk)


def test_an_expert_pauses_the_thirty_days_but_never_the_sixty(seller_keeps_it):
    case = Case("SK")
    claim = pause(case.goods_arrive(), GOODS + 10 * DAY)
    assert warranty_events(claim) == [(WARRANTY_MAX, SK_MAX, "seller", False)]
    assert sweep(SK_REMINDER) == {}
    assert sweep(SK_DUE) == {}
    assert case_state(claim) == "in_progress"
    # Resumed after 20 days: the limit moves on by the pause (the expert's part does that); the clock runs again.
    claim = case.fresh()
    claim.expert_paused_at = None
    claim.warranty_due_at = SK_DUE + 20 * DAY
    claim.refresh_next_deadline()
    claim.save()
    assert [e[:2] for e in warranty_events(claim)] == [
        (WARRANTY_REMINDER, SK_DUE + 15 * DAY), (WARRANTY_LIMIT, SK_DUE + 20 * DAY), (WARRANTY_MAX, SK_MAX)]
    assert sweep(SK_DUE + 15 * DAY) == {"warranty_reminder": 1}
    # Paused again: the maximum comes all the same.
    pause(case.fresh(), SK_DUE + 16 * DAY)
    assert sweep(SK_MAX) == {"warranty_max": 1}
    claim = case.fresh()
    assert (claim.state, claim.escalation_cause, claim.warranty_limit_reached_at) == (
        "escalated", "warranty_limit", None)


# --- the buyer's rights past the maximum ----------------------------------------------------------------------------


def past_the_maximum(seller_keeps_it: None = None) -> Case:
    case = Case("SK")
    case.goods_arrive()
    sweep(SK_MAX)
    case.fresh()
    return case


def test_before_the_maximum_the_buyer_cannot_choose(seller_keeps_it):
    case = Case("SK")
    case.goods_arrive()
    sweep(SK_DUE)
    answer = abilities(case.fresh(), case.buyer)["exercise_warranty_rights"]
    assert (answer.allowed, answer.code) == (False, "state")
    with time_machine.travel(SK_DUE + H, tick=False), pytest.raises(ClaimError) as refused:
        services.exercise_warranty_rights(claim=case.claim, by=case.buyer, choice="refund")
    assert refused.value.code == "state"


def test_past_the_maximum_the_buyer_withdraws_with_a_full_refund(seller_keeps_it, django_capture_on_commit_callbacks):
    case = past_the_maximum()
    assert abilities(case.claim, case.buyer)["exercise_warranty_rights"].allowed
    for other in (case.staff, case.agent, UserFactory()):
        assert abilities(case.claim, other)["exercise_warranty_rights"].code == "forbidden"
    with pytest.raises(ClaimError):
        services.exercise_warranty_rights(claim=case.claim, by=case.buyer, choice="money back twice")
    with time_machine.travel(SK_MAX + DAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.exercise_warranty_rights(claim=case.claim, by=case.buyer, choice="refund")
    claim = case.fresh()
    assert (claim.state, claim.outcome, claim.funded_by, claim.refund_amount) == (
        "resolved", "refund", "platform", Decimal("199.00"))
    refund = claim.refunds.get()
    assert (refund.amount, refund.funded_by) == (Decimal("199.00"), "platform")
    recovery = LedgerEntry.objects.get(claim=claim)
    assert (recovery.kind, recovery.amount) == ("refund_recovery", Decimal("199.00"))
    assert OutboundEmail.objects.filter(event="warranty_rights_exercised", recipient=case.staff).exists()
    assert claim.next_deadline_at is None and claim.action_due_at is None
    with pytest.raises(ClaimError) as again:
        services.exercise_warranty_rights(claim=claim, by=case.buyer, choice="replacement")
    assert again.value.code == "state"


def test_past_the_maximum_the_buyer_chooses_a_replacement_the_seller_provides(seller_keeps_it):
    case = past_the_maximum()
    with time_machine.travel(SK_MAX + DAY, tick=False):
        services.exercise_warranty_rights(claim=case.claim, by=case.buyer, choice="replacement")
    claim = case.fresh()
    assert (claim.state, claim.outcome, claim.funded_by, claim.refund_amount) == (
        "resolved", "replacement", "seller", None)
    assert not claim.refunds.exists() and not LedgerEntry.objects.filter(claim=claim).exists()
    assert claim.transitions.last().name == "exercise_warranty_rights"

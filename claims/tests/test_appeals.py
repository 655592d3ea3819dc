"""Appeals (issue 16): "Buyer or seller may appeal a platform decision once, within 14 days (setting), with a reason;
it goes to another agent than the one who decided; the outcome is final; logged and notified."

The window with time controlled across the spring daylight-saving change, once per claim whoever appeals, only an
agent's decision, the claim handed to the least busy other agent, the first decider refused, upholding without moving
money, a new decision paying only the rest and a lower one leaving the buyer what was paid (the seller's share moved on
the ledger once), the emails, the pages and the console; and on PostgreSQL the buyer and the seller appealing at once.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import reverse

from claims import services
from claims.abilities import ability
from claims.errors import ClaimError
from claims.models import Appeal, Claim, ClaimTransition, OutboundEmail, Refund
from claims.services import appeals as appeal_services
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import ClaimWorld, claim_world
from sellers.models import LedgerEntry, LedgerKind

pytestmark = pytest.mark.django_db

# Friday 20 March 2026, 10:00 in Berlin (CET); Berlin moves to summer time on Sunday 29 March.
DECIDED_AT = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)
# 14 calendar days later at the same clock time: Friday 3 April, 10:00 CEST, which is 08:00 UTC (an hour less than
# 14 × 24 hours).
CLOSES_AT = dt.datetime(2026, 4, 3, 8, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
APPEALED_AT = DECIDED_AT + dt.timedelta(days=2)
ANSWERED_AT = APPEALED_AT + dt.timedelta(days=1)
REASON = "The photos show the hinge cracked on arrival, not a drop."


def decided(outcome: str = "denied", *, funded_by: str = "", amount: str | None = None,
            recover_from_seller: bool = True, needs_return: bool = False, by: Any = None,
            **world_kwargs: Any) -> ClaimWorld:
    """An escalated claim decided at DECIDED_AT by `by` (the world's agent unless given), not-as-described: every
    outcome allowed."""
    world = claim_world("escalated", reason=world_kwargs.pop("reason", "not_as_described"), **world_kwargs)
    if by is not None:
        world.agent = by
    world.colleague = make_console_agent()  # another agent, for the appeal
    with time_machine.travel(DECIDED_AT, tick=False):
        services.decide(claim=world.claim, by=world.agent, outcome=outcome, funded_by=funded_by, amount=amount,
                        denial_reason="as_described" if outcome == "denied" else "",
                        recover_from_seller=recover_from_seller, needs_return=needs_return)
    world.refresh()
    return world


def only_agents(*agents: Any) -> None:
    """The agents' pool is exactly these (the worlds' own agents are switched off)."""
    get_user_model().objects.filter(is_staff=True).exclude(pk__in=[a.pk for a in agents]).update(is_active=False)


def appealed(world: ClaimWorld, *, by: Any = None, at: dt.datetime = APPEALED_AT) -> Appeal:
    with time_machine.travel(at, tick=False):
        appeal = services.appeal(claim=world.claim, by=by or world.buyer, reason=REASON)
    world.refresh()
    return appeal


def ledger(claim: Claim) -> list[tuple[str, Decimal]]:
    return list(LedgerEntry.objects.filter(claim=claim).order_by("created_at", "id").values_list("kind", "amount"))


def emails(claim: Claim, event: str) -> set[str]:
    return set(OutboundEmail.objects.filter(claim=claim, event=event).values_list("to_email", flat=True))


# --- the window ------------------------------------------------------------------------------------------------


def test_the_window_closes_14_calendar_days_later_at_the_same_clock_time_across_the_dst_change():
    world = decided()
    claim = world.claim
    with time_machine.travel(CLOSES_AT, tick=False):  # the last moment is included
        can = ability(claim, world.buyer, "appeal")
        assert can.allowed and can.closes_at == CLOSES_AT
        assert ability(claim, world.staff, "appeal").allowed
    for too_late in (CLOSES_AT + SECOND, DECIDED_AT + dt.timedelta(days=14)):  # 14 × 24 h is an hour too late
        with time_machine.travel(too_late, tick=False):
            can = ability(claim, world.buyer, "appeal")
            assert not can.allowed and can.code == "state"
            assert can.reason == "The time to appeal this decision ended on Fri 3 Apr, 10:00 CEST."
            with pytest.raises(ClaimError, match="ended on Fri 3 Apr, 10:00 CEST"):
                services.appeal(claim=claim, by=world.buyer, reason=REASON)
    assert not Appeal.objects.exists()
    with time_machine.travel(CLOSES_AT, tick=False):
        services.appeal(claim=claim, by=world.buyer, reason=REASON)  # the last second still in
    assert Appeal.objects.get().claim == claim


def test_the_window_follows_the_claims_own_setting(settings):
    world = decided()
    settings.APPEAL_DAYS = 3  # changed after the claim was opened: its snapshot's 14 days count
    with time_machine.travel(CLOSES_AT, tick=False):
        assert ability(world.claim, world.buyer, "appeal").allowed


def test_a_reason_is_required():
    world = decided()
    with time_machine.travel(APPEALED_AT, tick=False), pytest.raises(ClaimError, match="Please write"):
        services.appeal(claim=world.claim, by=world.buyer, reason="   ")
    assert not Appeal.objects.exists() and world.refresh().state == "resolved"


# --- filing it -----------------------------------------------------------------------------------------------


def test_the_buyer_appeals_a_denial_and_it_goes_to_the_least_busy_other_agent(django_capture_on_commit_callbacks):
    world = decided()
    busy, free = make_console_agent(), make_console_agent()
    for _ in range(2):
        other = claim_world("escalated").claim
        services.assign(claim=other, by=busy, agent=busy)
    only_agents(world.agent, busy, free)
    with django_capture_on_commit_callbacks(execute=True):
        appeal = appealed(world)
    claim = world.claim

    assert (claim.state, claim.escalation_cause, claim.assigned_to) == ("escalated", "appeal", free)
    assert claim.escalated_at == APPEALED_AT and claim.outcome == "" and claim.denial_reason == ""
    assert claim.decision_due_at is not None and claim.decision_due_at > APPEALED_AT  # the platform's target again
    assert claim.items.filter(is_open=True).count() == claim.items.count()
    assert (appeal.party, appeal.appellant, appeal.reason, appeal.status) == ("buyer", world.buyer, REASON, "open")
    assert (appeal.first_decided_by, appeal.first_outcome, appeal.first_denial_reason) == (
        world.agent, "denied", "as_described")
    log = ClaimTransition.objects.filter(claim=claim).latest("id")
    assert (log.name, log.from_state, log.to_state, log.actor, log.party, log.reason) == (
        "appeal_decision", "resolved", "escalated", world.buyer, "buyer", REASON)
    # the other party and the agent who has it now are told; not the appellant
    assert emails(claim, "appealed") == {world.staff.email, free.email}
    body = OutboundEmail.objects.filter(claim=claim, event="appealed").first().body_text
    assert "Appeal by the buyer: " + REASON in body


def test_the_sellers_staff_appeal_a_refund_and_the_buyer_is_told():
    world = decided("refund", funded_by="seller")
    appeal = appealed(world, by=world.staff)
    assert appeal.party == "seller" and appeal.first_outcome == "refund"
    assert appeal.first_funded_by == "seller" and appeal.first_amount == Decimal("199.00")
    assert emails(world.claim, "appealed") >= {world.buyer.email}
    assert world.staff.email not in emails(world.claim, "appealed")


def test_a_decision_waiting_for_the_return_can_be_appealed_and_upheld_back_to_waiting():
    world = claim_world("awaiting_return")  # a repair decided one hour after opening
    with time_machine.travel(world.claim.decided_at + dt.timedelta(days=1), tick=False):
        appeal = services.appeal(claim=world.claim, by=world.staff, reason="A repair is not needed: it works.")
    claim = world.refresh()
    assert claim.state == "escalated" and appeal.first_outcome == "repair"
    second = make_console_agent()
    with time_machine.travel(world.claim.decided_at + dt.timedelta(days=2), tick=False):
        services.uphold_appeal(claim=claim, by=second)
    claim = world.refresh()
    assert (claim.state, claim.outcome, claim.funded_by) == ("awaiting_return", "repair", "seller")


def test_a_decision_the_platform_carried_out_when_the_seller_did_not_confirm_the_return_can_be_appealed():
    """The refund the platform paid for an unconfirmed return carries out the agent's decision: still appealable."""
    world = decided("refund", funded_by="seller", needs_return=True)
    with time_machine.travel(DECIDED_AT + dt.timedelta(hours=2), tick=False):
        services.add_return_tracking(claim=world.claim, by=world.buyer, carrier="DHL", tracking_number="JJD000390007")
        services.mark_return_delivered(claim=world.claim, by=world.agent)
    with time_machine.travel(world.refresh().return_confirm_due_at + SECOND, tick=False):
        services.enforce_deadlines()
    claim = world.refresh()
    assert claim.state == "resolved" and claim.transitions.latest("id").name == "refund_unconfirmed_return"
    with time_machine.travel(claim.resolved_at + dt.timedelta(hours=1), tick=False):
        assert ability(claim, world.staff, "appeal").allowed
        appeal = services.appeal(claim=claim, by=world.staff, reason="It arrived; we were on holiday.")
    assert (appeal.first_outcome, appeal.first_funded_by, appeal.first_amount) == ("refund", "platform",
                                                                                    Decimal("199.00"))


def test_once_only_whoever_appeals_and_never_after_the_appeals_decision():
    world = decided()
    appealed(world)
    with time_machine.travel(APPEALED_AT + SECOND, tick=False):
        for person in (world.staff, world.buyer):
            can = ability(world.claim, person, "appeal")
            assert not can.allowed
            assert can.reason == ("The buyer appealed this decision on Sun 22 Mar, 10:00 CET. Our support team is "
                                  "looking at the claim again.")
            with pytest.raises(ClaimError, match="The buyer appealed this decision"):
                services.appeal(claim=world.claim, by=person, reason="Me too.")
    second = make_console_agent()
    with time_machine.travel(ANSWERED_AT, tick=False):
        services.uphold_appeal(claim=world.claim, by=second)
        for person in (world.staff, world.buyer):
            can = ability(world.refresh(), person, "appeal")
            assert not can.allowed and "This decision is final." in can.reason
    assert Appeal.objects.count() == 1
    assert ClaimTransition.objects.filter(claim=world.claim, name="appeal_decision").count() == 1


def test_outsiders_and_agents_cannot_appeal():
    world = decided()
    with time_machine.travel(APPEALED_AT, tick=False):
        for person in (world.other_buyer, world.other_staff, world.agent, make_console_agent()):
            assert ability(world.claim, person, "appeal").code == "forbidden"
            with pytest.raises(ClaimError) as refused:
                services.appeal(claim=world.claim, by=person, reason=REASON)
            assert refused.value.code == "forbidden"
    assert not Appeal.objects.exists()


def _accepted_offer() -> ClaimWorld:
    world = claim_world("in_progress", reason="not_as_described")
    offer = services.make_offer(claim=world.claim, by=world.staff, kind="full_refund")
    services.accept_offer(offer=offer, by=world.buyer)
    return world


def _withdrawn_after_a_decision() -> ClaimWorld:
    world = claim_world("awaiting_return")
    services.close(claim=world.claim, by=world.buyer)
    return world


def _forced_refund() -> ClaimWorld:
    world = claim_world("escalated")
    with time_machine.travel(world.refresh().hard_deadline_at + SECOND, tick=False):
        services.enforce_deadlines()
    return world


def _provider_verdict() -> ClaimWorld:
    world = claim_world("in_progress")
    services.close(claim=world.claim, by=world.buyer)
    claim = services.record_provider_dispute(order=world.claim.order, by=world.agent, reference="PP-1",
                                             description="Chargeback")
    services.record_provider_verdict(claim=claim, by=world.agent, buyer_won=False)
    world.claim = claim
    return world


@pytest.mark.parametrize("make", [_accepted_offer, _withdrawn_after_a_decision, _forced_refund, _provider_verdict,
                                  lambda: claim_world("escalated")],
                         ids=["accepted offer", "withdrawn", "forced refund", "provider verdict", "not decided"])
def test_only_a_decision_of_the_platform_can_be_appealed(make):
    world = make()
    claim = world.refresh()
    for person in (world.buyer, world.staff):
        can = ability(claim, person, "appeal")
        assert not can.allowed and can.code == "state", (claim.state, claim.outcome)
        with pytest.raises(ClaimError, match="Only a decision our support team made"):
            services.appeal(claim=claim, by=person, reason=REASON)
    assert not Appeal.objects.exists()


# --- who decides it --------------------------------------------------------------------------------------------


def test_the_agent_who_decided_is_refused_the_appeal_and_another_decides_it():
    world = decided()
    only_agents(world.agent)  # nobody else: the appeal waits unassigned
    appealed(world)
    claim = world.claim
    assert claim.assigned_to is None
    with time_machine.travel(ANSWERED_AT, tick=False):
        can = ability(claim, world.agent, "decide")
        assert not can.allowed and can.code == "forbidden"
        assert can.reason == "You made the decision that is appealed: another agent decides the appeal."
        for attempt in (lambda: services.decide(claim=claim, by=world.agent, outcome="refund", funded_by="seller"),
                        lambda: services.uphold_appeal(claim=claim, by=world.agent)):
            with pytest.raises(ClaimError, match="another agent decides the appeal"):
                attempt()
        assert world.refresh().state == "escalated"
        other = make_console_agent()
        assert ability(claim, other, "decide").allowed
        services.decide(claim=claim, by=other, outcome="refund", funded_by="seller")
    assert world.refresh().state == "resolved"


def test_the_agent_who_decided_may_still_decide_other_claims_and_a_reopened_one():
    world = decided()
    with time_machine.travel(APPEALED_AT, tick=False):
        services.reopen(claim=world.claim, by=world.agent, reason="A new photo came in.")
        assert ability(world.refresh(), world.agent, "decide").allowed


# --- deciding it: the money ------------------------------------------------------------------------------------


def test_upholding_restores_the_decision_without_moving_money_again(django_capture_on_commit_callbacks):
    world = decided("refund", funded_by="platform")  # recovered from the seller
    claim = world.claim
    assert ledger(claim) == [(LedgerKind.REFUND_RECOVERY, Decimal("199.00"))]
    appealed(world, by=world.staff)
    second = world.colleague
    with time_machine.travel(ANSWERED_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.uphold_appeal(claim=claim, by=second, note="The listing promised a leather case.")
    claim = world.refresh()
    assert (claim.state, claim.outcome, claim.funded_by, claim.refund_amount) == (
        "resolved", "refund", "platform", Decimal("199.00"))
    assert claim.decided_at == ANSWERED_AT and claim.assigned_to == second
    assert Refund.objects.filter(claim=claim).count() == 1
    assert ledger(claim) == [(LedgerKind.REFUND_RECOVERY, Decimal("199.00"))]
    assert claim.items.filter(is_open=True).count() == 0
    appeal = Appeal.objects.get()
    assert (appeal.status, appeal.decided_by, appeal.decided_at, appeal.note) == (
        "upheld", second, ANSWERED_AT, "The listing promised a leather case.")
    log = ClaimTransition.objects.filter(claim=claim).latest("id")
    assert (log.name, log.actor, log.reason) == (
        "decide", second, "Appeal decided: the decision stands. The listing promised a leather case.")
    assert emails(claim, "appeal_decided") == {world.buyer.email, world.staff.email}
    assert not OutboundEmail.objects.filter(claim=claim, event="decided", created_at__gte=ANSWERED_AT).exists()
    final = OutboundEmail.objects.get(claim=claim, event="appeal_decided", to_email=world.buyer.email)
    assert "This decision is final" in final.body_text


def test_a_new_decision_pays_only_the_rest_and_the_ledger_recovers_it_once():
    world = decided("partial_refund", funded_by="platform", amount="50.00")
    appealed(world)
    with time_machine.travel(ANSWERED_AT, tick=False):
        services.decide(claim=world.claim, by=world.colleague, outcome="refund", funded_by="platform",
                        note="The case was missing too.")
    claim = world.refresh()
    assert (claim.state, claim.outcome, claim.refund_amount) == ("resolved", "refund", Decimal("199.00"))
    assert sorted(Refund.objects.filter(claim=claim).values_list("amount", flat=True)) == [
        Decimal("50.00"), Decimal("149.00")]
    assert ledger(claim) == [(LedgerKind.REFUND_RECOVERY, Decimal("50.00")),
                             (LedgerKind.REFUND_RECOVERY, Decimal("149.00"))]
    appeal = Appeal.objects.get()
    assert appeal.status == "changed" and appeal.first_amount == Decimal("50.00")
    log = ClaimTransition.objects.filter(claim=claim, name="decide").latest("id")
    assert log.reason == ("Appeal decided: the decision was changed to Refund: €199.00, paid by the platform. "
                          "The case was missing too.")


def test_a_new_decision_cannot_give_more_than_was_paid_for_the_items():
    world = decided("partial_refund", funded_by="seller", amount="50.00")
    appealed(world)
    with time_machine.travel(ANSWERED_AT, tick=False):
        with pytest.raises(ClaimError, match="cannot be more than €199.00"):
            services.decide(claim=world.claim, by=world.colleague, outcome="refund", funded_by="seller",
                            amount="250.00")
        with pytest.raises(ClaimError, match="must be less than €199.00"):
            services.decide(claim=world.claim, by=world.colleague, outcome="partial_refund",
                            funded_by="seller", amount="199.00")
    assert world.refresh().state == "escalated" and Refund.objects.filter(claim=world.claim).count() == 1


def test_a_lower_decision_leaves_the_buyer_what_was_paid_and_reverses_the_sellers_recovery(
        django_capture_on_commit_callbacks):
    world = decided("refund", funded_by="platform")
    appealed(world, by=world.staff)
    with time_machine.travel(ANSWERED_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.decide(claim=world.claim, by=world.colleague, outcome="partial_refund", funded_by="platform",
                        amount="50.00")
    claim = world.refresh()
    assert (claim.outcome, claim.refund_amount) == ("partial_refund", Decimal("50.00"))
    assert list(Refund.objects.filter(claim=claim).values_list("amount", flat=True)) == [Decimal("199.00")]
    assert ledger(claim) == [(LedgerKind.REFUND_RECOVERY, Decimal("199.00")),
                             (LedgerKind.REFUND_RECOVERY, Decimal("-149.00"))]
    to_buyer = OutboundEmail.objects.get(claim=claim, event="appeal_decided", to_email=world.buyer.email)
    assert "You keep the €199.00 already refunded: nothing is taken back." in to_buyer.body_text
    assert "being paid back" not in to_buyer.body_text  # nothing is paid now
    assert OutboundEmail.objects.filter(claim=claim, event="resolution").count() == 2  # written again, final
    to_seller = OutboundEmail.objects.get(claim=claim, event="appeal_decided", to_email=world.staff.email)
    assert ("The buyer keeps the €199.00 already refunded; the platform bears the €149.00 the new decision does "
            "not cover.") in to_seller.body_text


def test_a_denial_on_appeal_of_a_refund_the_seller_funded_credits_the_seller():
    world = decided("refund", funded_by="seller")
    appealed(world, by=world.staff)
    with time_machine.travel(ANSWERED_AT, tick=False):
        services.decide(claim=world.claim, by=world.colleague, outcome="denied",
                        denial_reason="as_described")
    claim = world.refresh()
    assert claim.outcome == "denied" and Refund.objects.filter(claim=claim).count() == 1
    assert ledger(claim) == [(LedgerKind.ADJUSTMENT, Decimal("-199.00"))]  # the platform owes the seller that


def test_goodwill_that_becomes_the_sellers_on_appeal_is_recovered_once():
    world = decided("partial_refund", funded_by="platform", amount="50.00", recover_from_seller=False)
    assert ledger(world.claim) == []
    appealed(world)
    with time_machine.travel(ANSWERED_AT, tick=False):
        services.decide(claim=world.claim, by=world.colleague, outcome="refund", funded_by="platform")
    # the 50.00 already paid is now recovered too, and the 149.00 paid now
    assert sorted(amount for _kind, amount in ledger(world.claim)) == [Decimal("50.00"), Decimal("149.00")]


def test_after_money_was_paid_a_decision_waiting_for_the_return_is_the_full_refund_only():
    world = decided("partial_refund", funded_by="seller", amount="50.00")
    appealed(world)
    with time_machine.travel(ANSWERED_AT, tick=False):
        with pytest.raises(ClaimError, match="can only be the full refund of €199.00"):
            services.decide(claim=world.claim, by=world.colleague, outcome="partial_refund",
                            funded_by="seller", amount="80.00", needs_return=True)
        services.decide(claim=world.claim, by=world.colleague, outcome="refund", funded_by="seller",
                        needs_return=True)
    assert world.refresh().state == "awaiting_return"
    services.receive_return(claim=world.claim, by=world.staff, inspection_result="as_expected")
    assert sorted(Refund.objects.filter(claim=world.claim).values_list("amount", flat=True)) == [
        Decimal("50.00"), Decimal("149.00")]


# --- the pages -------------------------------------------------------------------------------------------------


def test_the_buyer_appeals_from_the_claim_page_and_sees_it_decided_and_final(client):
    world = decided()
    url = reverse("claims:detail", kwargs={"number": world.claim.number})
    appeal_url = reverse("claims:appeal", kwargs={"number": world.claim.number})
    client.force_login(world.buyer)
    with time_machine.travel(APPEALED_AT, tick=False):
        page = client.get(url).content.decode()
        assert "Appeal our decision" in page and "You can appeal until Fri 3 Apr, 10:00 CEST." in page
        assert '<time class="countdown" datetime="2026-04-03T10:00:00+02:00">' in page

        refused = client.post(appeal_url, {"appeal-reason": ""})
        assert refused.status_code == 400 and "Please say why the decision should change." in refused.content.decode()
        assert not Appeal.objects.exists()

        sent = client.post(appeal_url, {"appeal-reason": REASON})
        assert sent.status_code == 302
        assert [str(m) for m in get_messages(sent.wsgi_request)] == [
            "Your appeal was sent. Another member of our support team will look at the claim again."]
        page = client.get(url).content.decode()
    assert "Appeal against our decision" in page and REASON in page
    assert "Denied: Item was accurately described; it did not meet expectations" in page  # the decision appealed
    assert "The platform&#x27;s decision was appealed" in page  # the timeline, with the reason
    assert "Your reason:" in page
    assert "Appeal the decision" not in page

    with time_machine.travel(ANSWERED_AT, tick=False):
        services.decide(claim=world.claim, by=world.refresh().assigned_to, outcome="partial_refund",
                        funded_by="seller", amount="40.00", note="A fair share for the missing case.")
        page = client.get(url).content.decode()
    assert "The appeal was decided" in page and "Decided on Mon 23 Mar, 10:00 CET: the decision was changed." in page
    assert "This decision is final: it cannot be appealed again." in page
    assert "Decision on appeal" in page and "Partial refund: €40.00, paid by the seller" in page
    assert "Appeal decided: the decision was changed to Partial refund: €40.00, paid by the seller." in page


def test_the_seller_appeals_from_the_dashboard(client):
    world = decided("refund", funded_by="seller")
    url = reverse("sellers:claim", kwargs={"number": world.claim.number})
    client.force_login(world.staff)
    with time_machine.travel(APPEALED_AT, tick=False):
        page = client.get(url).content.decode()
        assert "Appeal the platform's decision" in page and "You can appeal until Fri 3 Apr, 10:00 CEST." in page
        refused = client.post(reverse("sellers:appeal", kwargs={"number": world.claim.number}), {"appeal-reason": ""})
        assert refused.status_code == 400 and "Please say why the decision should change." in refused.content.decode()
        sent = client.post(reverse("sellers:appeal", kwargs={"number": world.claim.number}),
                           {"appeal-reason": "The buyer dropped it: see the dent."})
        assert sent.status_code == 302
        page = client.get(url).content.decode()
    assert "Appeal against the platform's decision" in page and "Appeal by the seller" in page
    assert "The buyer dropped it: see the dent." in page
    client.force_login(world.buyer)  # the buyer sees the seller's appeal too
    page = client.get(reverse("claims:detail", kwargs={"number": world.claim.number})).content.decode()
    assert "Appeal by the seller" in page and "The seller's reason:" in page


def test_a_late_appeal_from_the_page_is_refused_with_the_reason_and_changes_nothing(client):
    world = decided()
    client.force_login(world.staff)
    with time_machine.travel(CLOSES_AT + SECOND, tick=False):
        page = client.get(reverse("sellers:claim", kwargs={"number": world.claim.number})).content.decode()
        assert "Appeal the decision" not in page
        response = client.post(reverse("sellers:appeal", kwargs={"number": world.claim.number}),
                               {"appeal-reason": REASON})
    assert response.status_code == 409
    assert "The time to appeal this decision ended on Fri 3 Apr, 10:00 CEST." in response.content.decode()
    assert not Appeal.objects.exists() and world.refresh().state == "resolved"


@pytest.mark.parametrize("who", ["buyer", "staff"])
def test_an_appeal_without_the_csrf_token_is_refused_and_with_it_goes_through(who):
    world = decided()
    person = getattr(world, who)
    page_url, appeal_url = {
        "buyer": (reverse("claims:detail", kwargs={"number": world.claim.number}),
                  reverse("claims:appeal", kwargs={"number": world.claim.number})),
        "staff": (reverse("sellers:claim", kwargs={"number": world.claim.number}),
                  reverse("sellers:appeal", kwargs={"number": world.claim.number})),
    }[who]
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    with time_machine.travel(APPEALED_AT, tick=False):
        refused = client.post(appeal_url, {"appeal-reason": REASON})
        assert refused.status_code == 403 and b"The form could not be sent" in refused.content  # the CSRF page
        assert not Appeal.objects.exists()
        token = client.get(page_url).cookies["csrftoken"].value
        sent = client.post(appeal_url, {"appeal-reason": REASON, "csrfmiddlewaretoken": token})
    assert sent.status_code == 302 and Appeal.objects.get().appellant == person


# --- the console -----------------------------------------------------------------------------------------------


def decide_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_act", kwargs={"object_id": claim.pk, "action": "decide"})


def test_the_console_shows_the_appeal_and_the_second_agent_upholds_it(client):
    first = make_console_agent(first_name="Julia", last_name="Neumann")
    world = decided(by=first)
    second = make_console_agent(first_name="Omar", last_name="Haddad")
    only_agents(first, second)
    appealed(world)
    claim = world.claim
    assert claim.assigned_to == second

    client.force_login(first)
    refused = client.get(decide_url(claim))
    assert refused.status_code == 302  # not offered to the agent whose decision is appealed
    header = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert "Appeal by the buyer" in header and REASON in header
    changelist = client.get(reverse("admin:claims_claim_changelist") + "?escalated=appeal").content.decode()
    assert claim.number in changelist
    queue = client.get(reverse("admin:claims_claim_queue") + "?who=all").content.decode()
    assert claim.number in queue and "<strong>Appeal</strong>" in queue

    client.force_login(second)
    with time_machine.travel(ANSWERED_AT, tick=False):
        page = client.get(decide_url(claim)).content.decode()
        assert "This is an appeal" in page and REASON in page
        assert "Denied: Item was accurately described; it did not meet expectations" in page
        assert "decided by Julia Neumann" in page
        assert 'value="uphold"' in page
        response = client.post(decide_url(claim), {"outcome": "uphold", "note": "Checked the photos again."})
    assert response.status_code == 302
    claim = world.refresh()
    assert (claim.state, claim.outcome, claim.denial_reason) == ("resolved", "denied", "as_described")
    assert Appeal.objects.get().status == "upheld"


def test_the_decide_page_of_an_appeal_counts_what_the_decision_paid():
    world = decided("refund", funded_by="seller")
    appealed(world, by=world.staff)
    from claims.appeals import console_appeal
    from claims.money import refund_room

    seen = console_appeal(world.claim, refund_room(world.claim))
    assert (seen.paid, seen.refundable) == (Decimal("199.00"), Decimal("199.00"))


# --- the race (PostgreSQL) -------------------------------------------------------------------------------------


def race(*calls: Callable[[], Any], hold: bool = False) -> list[Any]:
    """Run the calls in threads released together, each on its own connection; with `hold` the first to lock the
    claim keeps it a moment, so the other really waits on the row lock. Each result is a value or the exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    lock = appeal_services._lock
    holding = threading.Lock()

    def held(claim: Any) -> Claim:
        locked = lock(claim)
        if hold and holding.acquire(blocking=False):
            threading.Event().wait(0.5)
        return locked

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            with time_machine.travel(APPEALED_AT, tick=False):
                barrier.wait(timeout=10)
                results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - the loser is part of the result
            results[index] = exc
        finally:
            connection.close()

    appeal_services._lock = held
    try:
        threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        appeal_services._lock = lock
    return results


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: two connections on one row lock")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("hold", [False, True], ids=["at once", "one holds the row"])
def test_the_buyer_and_the_seller_appealing_at_once_file_one_appeal(hold):
    world = decided("partial_refund", funded_by="seller", amount="50.00")
    results = race(lambda: services.appeal(claim=world.claim, by=world.buyer, reason="Too little."),
                   lambda: services.appeal(claim=world.claim, by=world.staff, reason="Too much."), hold=hold)
    won = [r for r in results if isinstance(r, Appeal)]
    lost = [r for r in results if isinstance(r, ClaimError)]
    assert len(won) == 1 and len(lost) == 1, results
    winner = "buyer" if won[0].party == "buyer" else "seller"
    assert lost[0].code in ("state", "conflict")
    assert f"The {winner} appealed this decision on Sun 22 Mar, 10:00 CET." in str(lost[0])
    assert Appeal.objects.filter(claim=world.claim).count() == 1
    assert ClaimTransition.objects.filter(claim=world.claim, name="appeal_decision").count() == 1
    assert world.refresh().state == "escalated"

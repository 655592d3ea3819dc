"""The 180-day refund is the marketplace's failure to resolve, never a reward for a buyer who did not act (issue 14): it
does not run while the buyer must act (a question asked of them, a return they have not sent), it is due again as soon
as they act, and a claim reopened late gets time."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from claims import deadlines, services
from claims.models import Claim
from claims.tests.factories import OPENED_AT, claim_world

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
FINAL = OPENED_AT + 180 * DAY - H  # 180 Berlin days, CET to CEST: 10:00 local on 6 September


def sweep(moment: dt.datetime) -> dict[str, int]:
    with time_machine.travel(moment, tick=False):
        return services.enforce_deadlines()


def fresh(claim: Claim) -> Claim:
    return Claim.objects.get(pk=claim.pk)


def test_no_forced_refund_while_the_buyer_has_not_sent_the_return():
    world = claim_world("escalated", defect_type="removable")
    decided = FINAL - 5 * DAY  # day 175: a repair decided; the buyer has 10 days to send the item (claims.returns)
    with time_machine.travel(decided, tick=False):
        services.decide(claim=world.claim, by=world.agent, outcome="repair", funded_by="seller")
    claim = fresh(world.claim)
    assert (claim.state, claim.hard_deadline_at, claim.return_due_at) == ("awaiting_return", FINAL, FINAL + 5 * DAY)
    assert deadlines.event(deadlines.due_events(claim), deadlines.FORCED_REFUND) is None
    assert claim.action_due_at == claim.return_due_at  # the buyer's deadline to send it, not the 180 days
    assert sweep(FINAL + DAY) == {}  # day 181
    assert fresh(claim).state == "awaiting_return"
    # The buyer sends the item on day 181: they have done their part, and the refund is due at once.
    with time_machine.travel(FINAL + DAY + H, tick=False):
        services.add_return_tracking(claim=claim, by=world.buyer, carrier="DHL", tracking_number="JJD000390007")
    claim = fresh(claim)
    assert claim.next_deadline_at == FINAL and claim.action_due_at == FINAL
    assert sweep(FINAL + DAY + 2 * H) == {"forced_refund": 1}
    assert (fresh(claim).state, fresh(claim).outcome) == ("resolved", "refund")


def test_goods_handed_over_without_tracking_do_not_hold_the_refund_back():
    world = claim_world("escalated", defect_type="removable")
    with time_machine.travel(FINAL - 5 * DAY, tick=False):
        services.decide(claim=world.claim, by=world.agent, outcome="repair", funded_by="seller")
    assert sweep(FINAL + DAY) == {}
    # The buyer brought the item to the seller's shop: the seller confirms the goods arrived, no parcel involved.
    with time_machine.travel(FINAL + DAY + H, tick=False):
        services.confirm_goods_received(claim=world.claim, by=world.staff)
    assert fresh(world.claim).next_deadline_at == FINAL
    assert sweep(FINAL + DAY + 2 * H) == {"forced_refund": 1}


def test_no_forced_refund_while_a_question_to_the_buyer_is_open_and_due_again_once_answered():
    world = claim_world("escalated")
    claim = world.claim
    asked = FINAL - DAY  # day 179; two days to answer
    with time_machine.travel(asked, tick=False):
        services.request_info(claim=claim, by=world.agent, party="buyer", question="Which charger did you use?")
    claim = fresh(claim)
    assert claim.next_deadline_at == claim.info_due_at == asked + 2 * DAY
    assert sweep(FINAL + H) == {}
    assert fresh(claim).state == "awaiting_info"
    with time_machine.travel(FINAL + 2 * H, tick=False):
        services.provide_info(claim=claim, by=world.buyer, body="The original one.")
    assert fresh(claim).next_deadline_at == FINAL
    assert sweep(FINAL + 3 * H) == {"forced_refund": 1}


def test_a_question_to_the_seller_does_not_hold_the_refund_back():
    world = claim_world("escalated")
    with time_machine.travel(FINAL - DAY, tick=False):
        services.request_info(claim=world.claim, by=world.agent, party="seller", question="Proof of shipment?")
    assert fresh(world.claim).next_deadline_at == FINAL
    assert sweep(FINAL) == {"forced_refund": 1}


def test_a_buyer_who_never_answers_gets_the_refund_after_the_question_times_out():
    world = claim_world("escalated")
    with time_machine.travel(FINAL - DAY, tick=False):
        services.request_info(claim=world.claim, by=world.agent, party="buyer", question="When did it start?")
    # The question's two days end on day 181: back with the platform, the 180 days passed: refunded then.
    assert sweep(FINAL + DAY) == {"info_timeout": 1, "forced_refund": 1}


def denied() -> tuple[Claim, object]:
    world = claim_world("escalated")
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        services.decide(claim=world.claim, by=world.agent, outcome="denied", denial_reason="as_described")
    return fresh(world.claim), world.agent


def test_a_claim_reopened_after_day_180_gets_time():
    claim, agent = denied()
    reopened_at = OPENED_AT + 190 * DAY  # day 190, 16 September (summer time until mid-October)
    with time_machine.travel(reopened_at, tick=False):
        services.reopen(claim=claim, by=agent, reason="New evidence from the buyer.")
    claim = fresh(claim)
    # 30 calendar days (CLAIM_REOPEN_DAYS) from the reopening, at its local clock time.
    assert claim.hard_deadline_at == reopened_at + 30 * DAY
    assert sweep(reopened_at + H) == {}
    assert fresh(claim).state == "escalated"
    assert sweep(reopened_at + 30 * DAY - H) == {"decision": 1}  # the platform's own target passed long before
    assert sweep(reopened_at + 30 * DAY) == {"forced_refund": 1}


def test_a_claim_reopened_early_keeps_its_final_deadline(settings):
    claim, agent = denied()
    settings.CLAIM_REOPEN_DAYS = 10  # the snapshot's value counts, not the current setting
    with time_machine.travel(OPENED_AT + 20 * DAY, tick=False):
        services.reopen(claim=claim, by=agent, reason="Another look.")
    assert fresh(claim).hard_deadline_at == FINAL


def test_a_late_reopening_counts_days_on_the_markets_calendar():
    claim, agent = denied()
    reopened_at = dt.datetime(2026, 10, 20, 9, 0, tzinfo=dt.UTC)  # 11:00 CEST; the clocks go back on 25 October
    with time_machine.travel(reopened_at, tick=False):
        services.reopen(claim=claim, by=agent, reason="New evidence.")
    assert fresh(claim).hard_deadline_at == dt.datetime(2026, 11, 19, 10, 0, tzinfo=dt.UTC)  # 11:00 CET

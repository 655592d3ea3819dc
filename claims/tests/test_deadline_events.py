"""The one deadline model (claims.deadlines): a claim's due events in every state, and the stored columns and the
sweep that derive from them."""

import datetime as dt

import pytest
import time_machine

from claims import deadlines, services
from claims.deadlines import (
    DECISION,
    DECISION_REMINDER,
    DELIVERED,
    FIRST_REPLY_BREACHED,
    FIRST_REPLY_REMINDER,
    FORCED_REFUND,
    INFO_TIMEOUT,
    RESOLUTION_REMINDER,
    RETURN_NOT_SENT,
    RETURN_REMINDER,
    TAKEN_OVER,
)
from claims.models import Claim
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from claims.tests.test_deadlines import RESOLUTION_DUE, not_received_claim
from sellers.tests.factories import make_agent

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
FINAL = OPENED_AT + dt.timedelta(days=180) - H  # 180 Berlin days, CET to CEST
INFO_DUE = OPENED_AT + H + dt.timedelta(days=2)  # asked an hour after opening; 2 calendar days to answer
# Escalated an hour after opening (Tuesday 11:00 in Berlin): the platform decides by Thursday 11:00.
DECISION_DUE = OPENED_AT + H + 48 * H
# A repair decided an hour after opening: the buyer sends the item within 10 calendar days, reminded 3 days before.
RETURN_DUE = OPENED_AT + H + dt.timedelta(days=10)


def table(claim: Claim) -> list[tuple[str, dt.datetime, str, bool]]:
    return [(e.what, e.at, e.who, e.recorded) for e in deadlines.due_events(claim)]


def sweep(moment: dt.datetime) -> dict[str, int]:
    with time_machine.travel(moment, tick=False):
        return services.enforce_deadlines()


def after_the_sweep(moment: dt.datetime) -> Claim:
    world = claim_world("awaiting_seller")
    sweep(moment)
    return world.refresh()


SELLERS_RESOLUTION = [(RESOLUTION_REMINDER, RESOLUTION_DUE - 24 * H, "system", False),
                      (TAKEN_OVER, RESOLUTION_DUE, "seller", False)]
FINAL_DEADLINE = [(FORCED_REFUND, FINAL, "agent", False)]

EVENTS = {
    "awaiting_seller": (lambda: claim_world("awaiting_seller").claim, [
        (FIRST_REPLY_REMINDER, OPENED_AT + 24 * H, "system", False),
        (FIRST_REPLY_BREACHED, OPENED_AT + 48 * H, "seller", False), *SELLERS_RESOLUTION, *FINAL_DEADLINE]),
    "reminded": (lambda: after_the_sweep(OPENED_AT + 24 * H), [
        (FIRST_REPLY_BREACHED, OPENED_AT + 48 * H, "seller", False), *SELLERS_RESOLUTION, *FINAL_DEADLINE]),
    # The breach is recorded and the sweep has nothing more to do at it, but it stays the seller's missed deadline.
    "breached": (lambda: after_the_sweep(OPENED_AT + 48 * H), [
        (FIRST_REPLY_BREACHED, OPENED_AT + 48 * H, "seller", True), *SELLERS_RESOLUTION, *FINAL_DEADLINE]),
    "in_progress": (lambda: claim_world("in_progress").claim, [*SELLERS_RESOLUTION, *FINAL_DEADLINE]),
    # The buyer must act (answer; send the item back): the 180-day refund waits for them (issue 14).
    "awaiting_info": (lambda: claim_world("awaiting_info").claim, [(INFO_TIMEOUT, INFO_DUE, "buyer", False)]),
    # The platform's decision target is its own deadline, long before the 180-day refund (issue 15).
    "escalated": (lambda: claim_world("escalated").claim, [(DECISION_REMINDER, DECISION_DUE - 24 * H, "system", False),
                                                           (DECISION, DECISION_DUE, "agent", False), *FINAL_DEADLINE]),
    "awaiting_return": (lambda: claim_world("awaiting_return").claim, [
        (RETURN_REMINDER, RETURN_DUE - dt.timedelta(days=3), "system", False),
        (RETURN_NOT_SENT, RETURN_DUE, "buyer", False)]),
    "resolved": (lambda: claim_world("resolved").claim, []),
}


@pytest.mark.parametrize("case", list(EVENTS))
def test_due_events_per_state(case):
    make, expected = EVENTS[case]
    claim = make()
    assert table(claim) == expected
    # What is stored is what the function computes: the sweep's next moment and the deadline of whoever must act.
    events = deadlines.due_events(claim)
    assert claim.next_deadline_at == deadlines.next_deadline(events)
    action = deadlines.action_due(events)
    assert claim.action_due_at == (action.at if action else None)


def test_the_action_deadline_per_state():
    breached = after_the_sweep(OPENED_AT + 48 * H)
    assert (breached.next_deadline_at, breached.action_due_at) == (RESOLUTION_DUE - 24 * H, OPENED_AT + 48 * H)
    assert claim_world("in_progress").claim.action_due_at == RESOLUTION_DUE
    assert claim_world("awaiting_info").claim.action_due_at == INFO_DUE
    assert claim_world("escalated").claim.action_due_at == DECISION_DUE
    assert claim_world("awaiting_return").claim.action_due_at == RETURN_DUE  # the buyer's: send the item back
    assert claim_world("resolved").claim.action_due_at is None


def test_a_delivery_scan_is_the_systems_event_not_a_persons_deadline():
    claim, shipment = not_received_claim()
    from claims.services.tracking import update_tracking

    with time_machine.travel(OPENED_AT + 5 * H, tick=False):
        update_tracking(shipment=shipment, delivered_at=OPENED_AT + 5 * H, delivered_to_order_address=True,
                        source="carrier")
    claim.refresh_from_db()
    assert table(claim)[0] == (DELIVERED, OPENED_AT + 5 * H, "system", False)
    assert claim.next_deadline_at == OPENED_AT + 5 * H
    assert claim.action_due_at == OPENED_AT + 48 * H  # still the seller's first reply


def test_a_payment_provider_dispute_has_no_deadline():
    order = delivered_order()
    with time_machine.travel(OPENED_AT, tick=False):
        claim = services.record_provider_dispute(order=order, by=make_agent(), reference="PP-1",
                                                 description="Chargeback")
    assert (table(claim), claim.next_deadline_at, claim.action_due_at) == ([], None, None)


def test_the_reminder_comes_from_the_snapshot_not_the_current_setting(settings):
    claim = claim_world("awaiting_seller").claim
    settings.CLAIM_REMINDER_HOURS = 6
    assert table(claim)[0] == (FIRST_REPLY_REMINDER, OPENED_AT + 24 * H, "system", False)
    claim.policy = {**claim.policy, "reminder_hours": 6}
    assert table(claim)[0] == (FIRST_REPLY_REMINDER, OPENED_AT + 42 * H, "system", False)


def test_events_across_a_weekend_and_the_spring_clock_change():
    # Thursday 26 March 2026, 10:00 CET. The 48-hour first reply is elapsed time and ends on Saturday; the five
    # business days skip the weekend and end on Thursday 2 April at 10:00 CEST (08:00 UTC); the reminder is 24
    # elapsed hours before; the final deadline keeps the 10:00 clock time.
    opened = dt.datetime(2026, 3, 26, 9, 0, tzinfo=dt.UTC)
    claim = open_defective_claim(at=opened)
    resolution = dt.datetime(2026, 4, 2, 8, 0, tzinfo=dt.UTC)
    assert table(claim) == [
        (FIRST_REPLY_REMINDER, opened + 24 * H, "system", False),
        (FIRST_REPLY_BREACHED, dt.datetime(2026, 3, 28, 9, 0, tzinfo=dt.UTC), "seller", False),
        (RESOLUTION_REMINDER, dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC), "system", False),
        (TAKEN_OVER, resolution, "seller", False),
        (FORCED_REFUND, dt.datetime(2026, 9, 22, 8, 0, tzinfo=dt.UTC), "agent", False),
    ]
    assert sweep(resolution - dt.timedelta(microseconds=1)) == {
        "first_reply_breached": 1, "resolution_reminder": 1}  # no stale first-reply reminder after the breach
    assert sweep(resolution) == {"taken_over": 1}


def test_the_resolution_deadline_skips_easter():
    # Thursday before Good Friday: Friday 3 and Monday 6 April are holidays.
    world = claim_world("in_progress", at=dt.datetime(2026, 4, 2, 8, 30, tzinfo=dt.UTC))
    assert world.claim.action_due_at == dt.datetime(2026, 4, 13, 8, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("case", ["awaiting_seller", "reminded", "breached", "in_progress", "awaiting_info",
                                  "escalated", "awaiting_return"])
def test_the_sweep_acts_at_each_stored_next_deadline_on_the_events_due_then_and_never_twice(case):
    claim = EVENTS[case][0]()
    while claim.next_deadline_at is not None:  # walk the claim through its events until the final deadline
        at, just_before = claim.next_deadline_at, claim.next_deadline_at - dt.timedelta(microseconds=1)
        due = deadlines.due_now(claim, at)
        assert due and deadlines.due_now(claim, just_before) == []
        assert sweep(just_before) == {}
        assert sweep(at) == {event.what: 1 for event in due}
        assert sweep(at) == {}
        claim = Claim.objects.get(pk=claim.pk)
        assert deadlines.due_now(claim, at) == []
    # A return the buyer has not sent holds the 180-day refund back (issue 14), but not sent in time it closes the
    # claim as withdrawn (claims.returns).
    assert claim.state == "resolved"
    assert claim.outcome == ("withdrawn" if case == "awaiting_return" else "refund")


def test_the_migration_fills_the_columns_of_existing_claims():
    from importlib import import_module

    from django.apps import apps

    breached, escalated = after_the_sweep(OPENED_AT + 48 * H), claim_world("escalated").claim
    resolved = claim_world("resolved").claim
    Claim.objects.update(next_deadline_at=None, action_due_at=None)
    import_module("claims.migrations.0010_action_due_at").backfill(apps, None)
    stored = dict(Claim.objects.values_list("pk", "action_due_at"))
    assert stored == {breached.pk: OPENED_AT + 48 * H, escalated.pk: DECISION_DUE, resolved.pk: None}
    assert Claim.objects.get(pk=breached.pk).next_deadline_at == RESOLUTION_DUE - 24 * H

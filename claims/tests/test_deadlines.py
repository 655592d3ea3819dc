"""The deadline sweep: every deadline of SPEC section 3 acted on once, on time, and never twice."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from claims import services, tasks
from claims.models import Claim, ClaimTransition
from claims.services.tracking import update_tracking
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers.models import LedgerEntry
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
# OPENED_AT is Tuesday 2026-03-10 10:00 in Berlin (09:00 UTC); 5 business days later is Tuesday 17th.
RESOLUTION_DUE = dt.datetime(2026, 3, 17, 9, 0, tzinfo=dt.UTC)


def sweep(moment):
    with time_machine.travel(moment, tick=False):
        return services.enforce_deadlines()


def subjects():
    return [m.subject for m in mail.outbox]


def test_the_deadline_table_of_a_silent_seller(django_capture_on_commit_callbacks):
    world = claim_world("awaiting_seller")
    claim = world.claim
    assert claim.next_deadline_at == OPENED_AT + 24 * H  # the first-reply reminder
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(OPENED_AT + 24 * H - dt.timedelta(seconds=1)) == {}
        assert sweep(OPENED_AT + 24 * H) == {"first_reply_reminder": 1}
    assert subjects() == [f"Reminder: claim {claim.number} needs your reply within 24 hours"]
    assert world.refresh().next_deadline_at == OPENED_AT + 48 * H

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(OPENED_AT + 48 * H) == {"first_reply_breached": 1}
    claim = world.refresh()
    assert claim.first_reply_breached and claim.state == "awaiting_seller"
    assert sorted(m.to[0] for m in mail.outbox[1:]) == sorted([world.buyer.email, world.staff.email])
    assert claim.buyer_may_escalate(OPENED_AT + 48 * H)
    assert claim.next_deadline_at == RESOLUTION_DUE - 24 * H

    assert sweep(RESOLUTION_DUE - 24 * H) == {"resolution_reminder": 1}
    assert sweep(RESOLUTION_DUE - dt.timedelta(seconds=1)) == {}
    assert sweep(RESOLUTION_DUE) == {"taken_over": 1}
    claim = world.refresh()
    assert (claim.state, claim.escalation_cause) == ("escalated", "takeover")
    # The platform's decision target: 2 business days (Thursday 19th, 10:00), reminded 24 hours before.
    assert claim.decision_due_at == claim.action_due_at == RESOLUTION_DUE + 48 * H
    assert claim.next_deadline_at == RESOLUTION_DUE + 24 * H
    # Running again acts no more.
    assert sweep(RESOLUTION_DUE) == {}
    assert sweep(RESOLUTION_DUE + 24 * H) == {"decision_reminder": 1}
    assert sweep(RESOLUTION_DUE + 48 * H) == {"decision": 1}
    assert world.refresh().next_deadline_at == claim.hard_deadline_at
    assert sweep(RESOLUTION_DUE + 72 * H) == {}
    names = list(claim.transitions.values_list("name", flat=True))
    assert names == ["open", "first_reply_breach", "take_over", "decision_breach"]


def test_a_sweep_that_was_down_catches_up_without_stale_reminders(django_capture_on_commit_callbacks):
    world = claim_world("awaiting_seller")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(RESOLUTION_DUE + 72 * H) == {"first_reply_breached": 1, "taken_over": 1}
    assert not [s for s in subjects() if s.startswith("Reminder")]
    assert world.refresh().state == "escalated"


def test_a_replying_seller_is_not_breached_but_still_taken_over_at_the_resolution_deadline():
    world = claim_world("in_progress")
    assert sweep(OPENED_AT + 48 * H) == {}  # the only due thing then would have been the breach
    assert not world.refresh().first_reply_breached
    assert sweep(RESOLUTION_DUE) == {"taken_over": 1}


def test_resolution_deadline_skips_easter_holidays():
    # Thursday before Good Friday: Fri 3 and Mon 6 April are holidays, so 5 business days end Monday 13th.
    opened = dt.datetime(2026, 4, 2, 8, 30, tzinfo=dt.UTC)
    world = claim_world("in_progress", at=opened)
    due = dt.datetime(2026, 4, 13, 8, 30, tzinfo=dt.UTC)
    assert world.claim.resolution_due_at == due
    sweep(due - 24 * H)  # reminder
    assert sweep(due - dt.timedelta(minutes=1)) == {}
    assert sweep(due) == {"taken_over": 1}


def test_an_unanswered_information_request_times_out():
    world = claim_world("awaiting_info")
    claim = world.claim
    asked = claim.info_requested_at
    assert claim.info_due_at == asked + 48 * H
    assert sweep(claim.info_due_at - dt.timedelta(seconds=1)) == {}
    assert sweep(claim.info_due_at) == {"info_timeout": 1}
    claim = world.refresh()
    assert (claim.state, claim.buyer_missed_info, claim.info_due_at) == ("escalated", 1, None)
    assert sweep(asked + 96 * H) == {}


def test_the_final_deadline_forces_a_full_refund_paid_by_the_platform():
    world = claim_world("escalated")
    final = OPENED_AT + dt.timedelta(days=180) - dt.timedelta(hours=1)  # 180 Berlin days: CET to CEST
    assert world.claim.hard_deadline_at == final
    assert sweep(final - dt.timedelta(seconds=1)) == {"decision": 1}  # the platform's own target, long passed
    assert sweep(final) == {"forced_refund": 1}
    claim = world.refresh()
    assert (claim.state, claim.outcome, claim.funded_by) == ("resolved", "refund", "platform")
    assert LedgerEntry.objects.get(claim=claim).amount == Decimal("199.00")
    assert claim.next_deadline_at is None
    assert sweep(final + 24 * H) == {}


def not_received_claim():
    order = OrderFactory(estimated_delivery=dt.date(2026, 3, 4))  # + 3 business days: may report from the 10th
    OrderItemFactory(order=order)
    shipment = ShipmentFactory(order=order)
    with time_machine.travel(OPENED_AT, tick=False):
        claim = services.open_claim(order=order, buyer=order.buyer, reason="not_received",
                                    description="Nothing arrived", desired_outcome="refund")
    return claim, shipment


def test_tracking_showing_delivery_to_the_order_address_closes_a_not_received_claim():
    claim, shipment = not_received_claim()
    delivered = OPENED_AT + 5 * H
    with time_machine.travel(delivered, tick=False):
        update_tracking(shipment=shipment, delivered_at=delivered, delivered_to_order_address=True, source="carrier")
    claim.refresh_from_db()
    assert claim.next_deadline_at == delivered
    assert sweep(delivered) == {"delivered": 1}
    claim.refresh_from_db()
    assert (claim.state, claim.outcome) == ("resolved", "delivered")
    assert sweep(delivered + H) == {}


def test_delivery_to_another_address_does_not_close_the_claim():
    claim, shipment = not_received_claim()
    update_tracking(shipment=shipment, delivered_at=OPENED_AT + H, delivered_to_order_address=False, source="carrier")
    claim.refresh_from_db()
    assert claim.delivery_seen_at is None
    assert sweep(OPENED_AT + 2 * H) == {}
    assert Claim.objects.get(pk=claim.pk).state == "awaiting_seller"


def test_a_tracking_correction_before_the_sweep_keeps_the_claim_open():
    claim, shipment = not_received_claim()
    with time_machine.travel(OPENED_AT + H, tick=False):
        update_tracking(shipment=shipment, delivered_at=OPENED_AT, delivered_to_order_address=True, source="carrier")
        update_tracking(shipment=shipment, delivered_at=None, delivered_to_order_address=False, source="agent")
    assert sweep(OPENED_AT + 2 * H) == {}
    claim.refresh_from_db()
    assert (claim.state, claim.delivery_seen_at) == ("awaiting_seller", None)


def test_the_sweep_reads_only_due_claims(django_assert_max_num_queries):
    for _ in range(5):
        open_defective_claim(order=delivered_order())
    with django_assert_max_num_queries(1), time_machine.travel(OPENED_AT + H, tick=False):
        assert services.enforce_deadlines() == {}


def test_batches_cover_every_due_claim():
    claims = [open_defective_claim(order=delivered_order()) for _ in range(5)]
    with time_machine.travel(OPENED_AT + 24 * H, tick=False):
        assert services.enforce_deadlines(batch_size=2) == {"first_reply_reminder": 5}
    assert all(Claim.objects.get(pk=c.pk).first_reply_reminded_at for c in claims)


def test_resolved_claims_leave_the_index():
    world = claim_world("resolved")
    assert world.claim.next_deadline_at is None
    assert sweep(OPENED_AT + dt.timedelta(days=365)) == {}


def test_management_command_and_celery_task_call_the_same_sweep(capsys):
    claim_world("awaiting_seller")
    call_command("enforce_deadlines", now=(OPENED_AT + 24 * H).isoformat())
    assert "first_reply_reminder: 1" in capsys.readouterr().out
    with time_machine.travel(OPENED_AT + 48 * H, tick=False):
        assert tasks.enforce_deadlines.delay() is not None  # eager in tests
    assert ClaimTransition.objects.filter(name="first_reply_breach").count() == 1
    call_command("enforce_deadlines", now=(OPENED_AT + 48 * H).isoformat())
    assert "Nothing was due." in capsys.readouterr().out


def test_policy_snapshot_keeps_deadlines_of_open_claims(settings):
    world = claim_world("awaiting_seller")
    settings.CLAIM_REMINDER_HOURS = 6
    settings.CLAIM_RESOLUTION_BUSINESS_DAYS = 10
    assert sweep(OPENED_AT + 24 * H) == {"first_reply_reminder": 1}
    assert world.refresh().resolution_due_at == RESOLUTION_DUE


def test_seller_tracking_answers_a_not_received_claim_and_the_delivery_scan_closes_it():
    claim, _shipment = not_received_claim()
    staff = UserFactory()
    claim.seller.memberships.create(user=staff, role="staff")
    with time_machine.travel(OPENED_AT + H, tick=False):
        services.add_tracking(claim=claim, by=staff, carrier="DPD", tracking_number="0123456789")
    claim.refresh_from_db()
    assert claim.state == "in_progress" and "DPD 0123456789" in claim.messages.get().body
    shipment = claim.order.shipments.get(tracking_number="0123456789")
    with time_machine.travel(OPENED_AT + 30 * H, tick=False):
        update_tracking(shipment=shipment, delivered_at=OPENED_AT + 29 * H, delivered_to_order_address=True,
                        source="carrier")
    assert sweep(OPENED_AT + 30 * H) == {"delivered": 1}


def test_health_reports_lag_and_fails_when_the_sweep_is_behind(capsys):
    import json

    claim_world("awaiting_seller")
    with time_machine.travel(OPENED_AT + 24 * H + dt.timedelta(minutes=10), tick=False):
        with pytest.raises(SystemExit) as behind:
            call_command("claims_health")
        report = json.loads(capsys.readouterr().out)
        assert behind.value.code == 1 and report["deadlines_due"] == 1 and report["deadline_lag_seconds"] == 600
        services.enforce_deadlines()
        from claims.models import OutboundEmail

        OutboundEmail.objects.update(sent_at=OPENED_AT)
        call_command("claims_health")
        assert json.loads(capsys.readouterr().out)["deadlines_due"] == 0


def test_tracking_needs_a_carrier_and_number_together_or_proof_of_shipment():
    from claims.errors import ClaimError
    from claims.tests.factories import photo

    claim, _shipment = not_received_claim()
    staff = UserFactory()
    claim.seller.memberships.create(user=staff, role="staff")
    with pytest.raises(ClaimError, match="both the carrier and the tracking number"):
        services.add_tracking(claim=claim, by=staff, carrier="DHL")
    with pytest.raises(ClaimError, match="tracking number or attach a proof"):
        services.add_tracking(claim=claim, by=staff)
    services.add_tracking(claim=claim, by=staff, evidence=[photo("receipt.jpg")])
    message = claim.messages.get()
    assert message.body == "Proof of shipment attached."
    assert message.attachments.get().kind == "photo"  # a photo of the receipt: labelled as what it is
    assert claim.order.shipments.count() == 1  # no new shipment without a tracking number

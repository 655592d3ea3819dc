"""`manage.py seed_demo`: every state and outcome, working logins, and a second run that changes nothing."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import authenticate as django_authenticate
from django.core.management import call_command
from django.db import models
from django.test import RequestFactory
from django.utils import timezone
from django_fsm import RETURN_VALUE

from claims import roles
from claims.choices import Channel, ClaimState, Outcome
from claims.models import Claim, ClaimTransition, Evidence, OutboundEmail, Refund
from claims.services import enforce_deadlines
from orders.models import Order
from sellers.models import LedgerEntry, Seller, SellerMembership

pytestmark = pytest.mark.django_db

PASSWORD = "demo-pass-123"
LOGINS = ["admin", "agent", "seller", "seller_staff", "seller2", "seller2_staff", "shop", "seller_pending",
          "seller_suspended", "buyer", "buyer2", "business"]


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_claims_in_every_state_reached_through_the_services():
    seed()
    states = set(Claim.objects.values_list("state", flat=True))
    assert states == set(ClaimState.values)
    for claim in Claim.objects.all():
        first = ClaimTransition.objects.filter(claim=claim).order_by("created_at", "id").first()
        assert first is not None, claim.number
        expected = "record_provider_dispute" if claim.channel == Channel.PAYMENT_PROVIDER else "open"
        assert first.name == expected, claim.number
        # the log ends where the claim is
        last = ClaimTransition.objects.filter(claim=claim).exclude(from_state=claim.state, to_state=claim.state)
        assert last.order_by("created_at", "id").last().to_state == claim.state, claim.number


def test_outcomes_and_special_cases():
    seed()
    resolved = Claim.objects.filter(state=ClaimState.RESOLVED)
    outcomes = set(resolved.values_list("outcome", flat=True))
    assert {Outcome.REFUND, Outcome.PARTIAL_REFUND, Outcome.WITHDRAWN, Outcome.DENIED, Outcome.DELIVERED,
            Outcome.REPAIR} <= outcomes
    forced = resolved.get(transitions__name="force_refund")
    assert forced.outcome == Outcome.REFUND and forced.funded_by == "platform"
    assert forced.opened_at < timezone.now() - dt.timedelta(days=180)
    assert LedgerEntry.objects.filter(claim=forced, kind="refund_recovery", amount=forced.refund_amount).exists()

    assert Claim.objects.filter(rejected=True).count() >= 1
    assert Claim.objects.filter(state=ClaimState.AWAITING_SELLER, first_reply_due_at__lt=timezone.now()).exists()
    assert Claim.objects.filter(transitions__name="take_over", escalation_cause="seller_suspended").exists()
    assert Claim.objects.filter(transitions__name="reopen", state=ClaimState.ESCALATED).exists()

    dispute = Claim.objects.get(channel=Channel.PAYMENT_PROVIDER)
    assert dispute.state == ClaimState.RESOLVED and dispute.outcome == Outcome.REFUND
    fine = LedgerEntry.objects.get(claim=dispute, kind="dispute_fine")
    assert fine.amount == Decimal("25.00")
    assert fine.seller == dispute.seller

    assert Refund.objects.filter(funded_by="seller").exists()
    assert Refund.objects.filter(funded_by="platform").exists()
    assert Evidence.objects.filter(kind="photo").exists()
    assert Evidence.objects.filter(content_type="application/pdf").exists()
    for claim in Claim.objects.all():
        paid = sum((r.amount for r in claim.refunds.all()), Decimal("0"))
        assert paid <= claim.order.total, claim.number


def test_sellers_orders_and_buyers():
    seed()
    statuses = list(Seller.objects.values_list("status", flat=True))
    assert statuses.count("active") >= 3
    assert "pending" in statuses and "suspended" in statuses
    assert Seller.objects.filter(is_platform=True, status="active").exists()
    for seller in Seller.objects.filter(status="active"):
        assert seller.is_vetted
        assert SellerMembership.objects.filter(seller=seller, role="owner").exists()
    assert Order.objects.filter(buyer_kind="business").exists()
    assert Order.objects.filter(items__is_digital=True).exists()
    assert set(Order.objects.values_list("items__condition", flat=True)) == {"new", "like_new", "used"}
    assert Order.objects.filter(shipments__delivered_at__isnull=True, shipments__shipped_at__isnull=False).exists()
    # an order belongs to the market of its delivery country: most are German, one Slovak, one Portuguese
    assert set(Order.objects.values_list("delivery_country", flat=True)) == {"DE", "SK", "PT"}
    slovak = Order.objects.get(delivery_country="SK")
    assert slovak.claims.get().reason == "defective"
    assert slovak.claims.get().policy["market"] == "SK"
    portuguese = Order.objects.get(delivery_country="PT")
    assert portuguese.items.get(condition="new", is_consumable=False, is_perishable=False).warranty_months == 36
    assert Order.objects.filter(items__is_perishable=True).exists()


def authenticate(**credentials):
    """As the login page does: with its request, which the login limits (django-axes) need."""
    return django_authenticate(RequestFactory().post("/accounts/login/"), **credentials)


def test_logins_exist_and_authenticate():
    output = seed()
    for username in LOGINS:
        assert username in output
        user = authenticate(username=username, password=PASSWORD)
        assert user is not None, username
    assert authenticate(username="admin", password=PASSWORD).is_superuser
    assert roles.is_agent(authenticate(username="agent", password=PASSWORD))
    assert not roles.is_agent(authenticate(username="seller", password=PASSWORD))
    assert PASSWORD in output


def test_second_run_creates_nothing():
    seed()
    before = row_counts()
    output = seed()
    assert row_counts() == before
    assert "already present" in output
    assert "agent" in output  # the logins are printed again


def test_the_first_deadline_sweep_keeps_every_state():
    """The beat runs the sweep right after `make run`; the demo must still show every state."""
    seed()
    enforce_deadlines()
    assert set(Claim.objects.values_list("state", flat=True)) == set(ClaimState.values)
    overdue = Claim.objects.get(state=ClaimState.AWAITING_SELLER, first_reply_due_at__lt=timezone.now())
    assert overdue.first_reply_breached


def test_deadlines_times_and_emails_are_what_the_services_wrote(mailoutbox):
    """The demo's clock ran the sweep whenever a deadline came due, and nothing wrote a deadline by hand: asking
    the deadline logic again changes no field, and a sweep right after seeding finds nothing to do. Every moment
    recorded lies in the past (deadlines aside); the services' emails were handled by the outbox worker at the
    moment they were queued, and sent to nobody."""
    seed()
    assert enforce_deadlines() == {}
    fields = [field.attname for field in Claim._meta.concrete_fields]
    for claim in Claim.objects.all():
        copy = Claim.objects.get(pk=claim.pk)
        copy.refresh_next_deadline()
        assert {name: getattr(copy, name) for name in fields} == {name: getattr(claim, name) for name in fields}, (
            claim.order.number)
    overdue = Claim.objects.get(order__number="DEMO-1002")
    assert overdue.first_reply_breached and overdue.first_reply_reminded_at is not None
    forced = Claim.objects.get(order__number="DEMO-1014")
    assert forced.resolved_at == forced.hard_deadline_at == forced.transitions.get(name="force_refund").created_at

    now = timezone.now()
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.DateTimeField) and not field.name.endswith(("due_at", "deadline_at", "max_at")):
                latest = model._default_manager.aggregate(latest=models.Max(field.name))["latest"]
                assert latest is None or latest <= now, (model._meta.label, field.name)
    assert Claim.objects.filter(opened_at__lt=now - dt.timedelta(days=1)).count() >= 12

    assert mailoutbox == []
    assert OutboundEmail.objects.exists()
    assert not OutboundEmail.objects.exclude(sent_at=models.F("created_at")).exists()


def test_escalated_claims_carry_the_platforms_decision_target():
    """Escalated through the services, so each has its target (claims.decision_target), which the escalated queue
    sorts by; the payment provider decides its own dispute."""
    seed()
    escalated = Claim.objects.filter(state=ClaimState.ESCALATED, channel=Channel.PLATFORM)
    assert escalated.count() >= 2
    for claim in escalated:
        assert claim.decision_due_at is not None and claim.action_due_at == claim.decision_due_at, claim.number
    assert Claim.objects.get(channel=Channel.PAYMENT_PROVIDER).decision_due_at is None


def test_every_transition_log_is_a_path_of_the_state_machine_to_the_claims_state():
    seed()
    moves = {}
    for transition in Claim._meta.get_field("state").get_all_transitions(Claim):
        target = transition.target
        moves[transition.name, transition.source] = (
            set(target.allowed_states or ClaimState.values) if isinstance(target, RETURN_VALUE) else {target})
    now = timezone.now()
    for claim in Claim.objects.all():
        log = list(claim.transitions.order_by("created_at", "id"))
        first, later = log[0], log[1:]
        assert (first.from_state, first.to_state) == ("", ClaimState.AWAITING_SELLER), claim.order.number
        assert first.created_at == claim.opened_at, claim.order.number
        state = first.to_state
        for row in later:
            assert row.from_state == state, (claim.order.number, row.name)
            if (row.name, row.from_state) in moves:
                assert row.to_state in moves[row.name, row.from_state], (claim.order.number, row.name)
            else:  # a recorded fact, not a transition (the missed first reply)
                assert row.to_state == row.from_state, (claim.order.number, row.name)
            state = row.to_state
        assert state == claim.state, claim.order.number
        assert claim.opened_at <= log[-1].created_at <= now, claim.order.number
        if claim.state == ClaimState.RESOLVED:
            assert claim.resolved_at == log[-1].created_at, claim.order.number



def test_some_resolved_claims_have_satisfaction_answers_for_the_overview():
    from claims.models import SatisfactionResponse
    from claims.overview import compute

    seed()
    answers = SatisfactionResponse.objects.select_related("claim")
    assert answers.count() >= 5 and {a.party for a in answers} == {"buyer", "seller"}
    assert all(a.claim.state == ClaimState.RESOLVED and a.answered_at >= a.claim.resolved_at for a in answers)
    assert answers.filter(agent__isnull=False).exists() and answers.filter(agent__isnull=True).exists()
    data = compute()
    assert data.opened and data.resolved and sum(s.count for s in data.satisfaction) == answers.count()
    seed()  # a second run changes nothing
    assert SatisfactionResponse.objects.count() == answers.count()


def test_a_claim_awaits_its_return_with_an_authorization_and_tracking():
    seed()
    claim = Claim.objects.get(order__number="DEMO-1005")
    ret = claim.returns.get()
    assert (claim.state, ret.status, ret.carrier) == ("awaiting_return", "shipped", "DHL")
    assert ret.postage_paid_by == "seller"  # a warranty claim's return is free for the buyer
    assert ret.address == "Prepaid DHL label sent by e-mail, reference RET-1005-TH."
    assert claim.return_due_at is None and claim.return_reminded_at is not None  # sent: the buyer has done their part

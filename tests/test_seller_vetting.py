from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from sellers import services
from sellers.models import LedgerEntry, Seller, WarrantyPolicy
from sellers.tests.factories import SellerFactory, UserFactory, make_agent

pytestmark = pytest.mark.django_db


def pending_seller(**kwargs):
    return Seller.objects.create(display_name="Newcomer", slug="newcomer", legal_name="Newcomer s. r. o.",
                                 registration_number="56 394 918", tax_id="SK2121", country="SK", **kwargs)


def test_a_seller_is_activated_only_after_identity_registration_and_tax_checks():
    agent = make_agent()
    seller = pending_seller()
    with pytest.raises(ValidationError, match="before activating"):
        services.activate(seller=seller, by=agent)
    for step in ("identity", "registration", "tax"):
        services.verify(seller=seller, by=agent, step=step)
    seller = services.activate(seller=seller, by=agent)
    assert seller.status == "active" and seller.activated_at
    assert seller.identity_verified_by == agent and seller.tax_verified_at
    assert WarrantyPolicy.objects.get(seller=seller).months_new == 24


def test_suspend_and_reinstate():
    agent = make_agent()
    seller = SellerFactory()
    with pytest.raises(ValidationError, match="reason"):
        services.suspend(seller=seller, by=agent, reason=" ")
    seller = services.suspend(seller=seller, by=agent, reason="Fake tracking numbers")
    assert seller.status == "suspended"
    with pytest.raises(ValidationError, match="Only an active seller"):
        services.suspend(seller=seller, by=agent, reason="again")
    assert services.reinstate(seller=seller, by=agent).status == "active"


def test_only_agents_vet_sellers():
    seller = pending_seller()
    with pytest.raises(ValidationError, match="Only support agents"):
        services.verify(seller=seller, by=UserFactory(), step="identity")
    seller.refresh_from_db()
    assert seller.identity_verified_at is None


def test_status_cannot_be_written_directly():
    seller = SellerFactory()
    with pytest.raises(AttributeError):
        seller.status = "suspended"


def test_registration_check_needs_a_number():
    seller = pending_seller()
    Seller.objects.filter(pk=seller.pk).update(registration_number="")
    with pytest.raises(ValidationError, match="no business registration number"):
        services.verify(seller=seller, by=make_agent(), step="registration")


def test_warranty_is_never_under_twelve_months_nor_trial_under_thirty_days():
    seller = SellerFactory()
    policy = seller.warranty_policy
    policy.months_used = 6
    with pytest.raises(IntegrityError), transaction.atomic():
        policy.save()
    policy.refresh_from_db()
    policy.trial_days = 14
    with pytest.raises(IntegrityError), transaction.atomic():
        policy.save()


def test_adjustments_are_new_entries_and_the_balance_adds_up():
    agent = make_agent()
    seller = SellerFactory()
    services.add_adjustment(seller=seller, by=agent, amount=Decimal("25.00"), note="Fine")
    services.add_adjustment(seller=seller, by=agent, amount=Decimal("-5.50"), note="Correction of the fine")
    with pytest.raises(ValidationError, match="zero"):
        services.add_adjustment(seller=seller, by=agent, amount=Decimal("0"), note="nothing")
    assert seller.ledger_balance() == Decimal("19.50")
    assert LedgerEntry.objects.count() == 2


def test_suspending_a_seller_hands_its_open_claims_to_the_platform():
    from claims.tests.factories import claim_world

    world = claim_world("in_progress")
    services.suspend(seller=world.claim.seller, by=world.agent, reason="Counterfeit goods")
    claim = world.refresh()
    assert (claim.state, claim.escalation_cause) == ("escalated", "seller_suspended")
    assert claim.transitions.last().name == "take_over"


def test_a_vetting_step_is_recorded_once():
    agent, other = make_agent(), make_agent()
    seller = pending_seller()
    services.verify(seller=seller, by=agent, step="identity")
    with pytest.raises(ValidationError, match="already verified"):
        services.verify(seller=seller, by=other, step="identity")
    seller.refresh_from_db()
    assert seller.identity_verified_by == agent

"""The support console's actions: each one, done by an agent, calls its service and is logged (LogEntry); a
non-staff user is sent to the admin login and a staff user without the agents group is refused, with nothing
changed either way; a service's ClaimError is shown as an error message and changes nothing; GET never changes
anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib import messages
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.urls import reverse

from claims import services
from claims.admin.actions import CLAIM_ACTIONS
from claims.choices import Channel, ClaimState, OfferStatus
from claims.models import Claim, Offer
from claims.tests.admin_factories import make_console_agent, make_plain_staff
from claims.tests.factories import OPENED_AT, ClaimWorld, claim_world, delivered_order
from sellers.models import LedgerEntry, Seller, SellerStatus
from sellers.tests.factories import SellerFactory, UserFactory, make_agent

pytestmark = pytest.mark.django_db
NOW = OPENED_AT + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def agent():
    return make_console_agent(first_name="Julia", last_name="Neumann")


def log_entries(obj: Any, user: Any = None, flag: int = CHANGE):  # type: ignore[no-untyped-def]
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(type(obj)),
                                      object_id=str(obj.pk), action_flag=flag)
    return entries.filter(user=user) if user is not None else entries


def texts(response, level: int | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request) if level is None or m.level == level]


def snapshot(claim: Claim) -> tuple:
    claim = Claim.objects.get(pk=claim.pk)
    return (claim.state, claim.assigned_to_id, claim.outcome, claim.messages.count(), claim.offers.count(),
            claim.transitions.count(), claim.refunds.count(), LedgerEntry.objects.filter(claim=claim).count())


def act_url(claim: Claim, action: str) -> str:
    return reverse("admin:claims_claim_act", kwargs={"object_id": claim.pk, "action": action})


# --- every claim action: done by an agent, refused for everyone else ---------------------------------------


@dataclass(frozen=True)
class Case:
    state: str
    action: str
    data: Callable[[ClaimWorld, Any], dict[str, Any]]
    done: Callable[[Claim, Any], bool]
    prepare: Callable[[ClaimWorld], None] = lambda world: None


def _pending_offer(world: ClaimWorld) -> None:
    with time_machine.travel(NOW, tick=False):
        services.make_offer(claim=world.claim, by=world.agent, kind="replacement")


CASES = {
    "decide": Case("escalated", "decide",
                   lambda w, a: {"outcome": "refund", "funded_by": "platform", "recover_from_seller": "on",
                                 "note": "The photos show the defect."},
                   lambda c, a: c.state == ClaimState.RESOLVED and c.outcome == "refund" and c.funded_by == "platform"
                   and LedgerEntry.objects.filter(claim=c, kind="refund_recovery").exists()),
    "deny": Case("escalated", "decide",
                 lambda w, a: {"outcome": "denied", "denial_reason": "damage_after_receipt"},
                 lambda c, a: c.outcome == "denied" and c.denial_reason == "damage_after_receipt"),
    "request-info": Case("escalated", "request-info",
                         lambda w, a: {"party": "seller", "question": "Please send the dispatch photo."},
                         lambda c, a: c.state == ClaimState.AWAITING_INFO and c.info_requested_from == "seller"),
    "provide-info": Case("awaiting_info", "provide-info", lambda w, a: {"body": "The buyer called: it began on day 2."},
                         lambda c, a: c.state == ClaimState.ESCALATED),
    "offer": Case("escalated", "offer", lambda w, a: {"kind": "partial_refund", "amount": "40.00", "note": "Sorry."},
                  lambda c, a: c.offers.filter(on_behalf_of_platform=True, amount=Decimal("40.00"),
                                               made_by=a).exists(),
                  # a partial refund of a defect needs its type (claims.remedies)
                  prepare=lambda w: services.classify_defect(claim=w.claim, by=w.agent, defect_type="irremovable")),
    "withdraw-offer": Case("escalated", "withdraw-offer", lambda w, a: {},
                           lambda c, a: not c.offers.filter(status=OfferStatus.PENDING).exists(),
                           prepare=_pending_offer),
    "receive-return": Case("awaiting_return", "receive-return", lambda w, a: {"inspection_result": "as_expected"},
                           lambda c, a: c.state == ClaimState.RESOLVED and c.inspection_result == "as_expected"),
    "escalate": Case("in_progress", "escalate", lambda w, a: {"reason": "The seller stopped answering."},
                     lambda c, a: c.state == ClaimState.ESCALATED and c.escalation_cause == "agent"),
    "reopen": Case("resolved", "reopen", lambda w, a: {"reason": "New evidence from the buyer."},
                   lambda c, a: c.state == ClaimState.ESCALATED and c.reopened_at is not None),
    "assign": Case("escalated", "assign", lambda w, a: {"agent": str(a.pk)}, lambda c, a: c.assigned_to_id == a.pk),
    "note": Case("escalated", "message", lambda w, a: {"visibility": "internal", "body": "Check the seller's history."},
                 lambda c, a: c.messages.filter(is_internal=True, author=a).exists()),
    "message": Case("resolved", "message", lambda w, a: {"visibility": "public", "body": "Your refund is on its way."},
                    lambda c, a: c.messages.filter(is_internal=False, author=a, party="agent").exists()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_an_agent_acts_and_it_is_logged(client, agent, name):
    case = CASES[name]
    world = claim_world(case.state)
    case.prepare(world)
    client.force_login(agent)
    response = client.post(act_url(world.claim, case.action), case.data(world, agent))
    assert response.status_code == 302, texts(response)
    assert response["Location"] == reverse("admin:claims_claim_change", args=[world.claim.pk])
    claim = world.refresh()
    assert case.done(claim, agent), (name, texts(response))
    assert log_entries(claim, agent).count() == 1
    action = next(a for a in CLAIM_ACTIONS if a.name == case.action)
    assert texts(response, messages.SUCCESS) == [str(action.success)]
    assert texts(response, messages.ERROR) == []


@pytest.mark.parametrize("who", ["buyer", "staff", "bare_agent"])
@pytest.mark.parametrize("name", list(CASES))
def test_everyone_else_is_refused_and_nothing_changes(client, agent, name, who):
    case = CASES[name]
    world = claim_world(case.state)
    case.prepare(world)
    before = snapshot(world.claim)
    # buyer: not staff; staff: no agents group; bare_agent: act_as_agent alone, without the console's permissions
    user = {"buyer": world.buyer, "staff": make_plain_staff(), "bare_agent": make_agent()}[who]
    client.force_login(user)
    url = act_url(world.claim, case.action)
    for response in (client.get(url), client.post(url, case.data(world, agent))):
        if who == "buyer":
            assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
        else:
            assert response.status_code == 403
    assert snapshot(world.claim) == before
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize("name", list(CASES))
def test_get_only_shows_the_form(client, agent, name):
    case = CASES[name]
    world = claim_world(case.state)
    case.prepare(world)
    before = snapshot(world.claim)
    client.force_login(agent)
    response = client.get(act_url(world.claim, case.action))
    assert response.status_code == 200
    assert b'method="post"' in response.content and b"csrfmiddlewaretoken" in response.content
    assert snapshot(world.claim) == before
    assert not LogEntry.objects.exists()


# --- refusals from the services -----------------------------------------------------------------------------


def test_a_claim_error_on_input_keeps_the_form_and_changes_nothing(client, agent):
    world = claim_world("escalated")
    before = snapshot(world.claim)
    client.force_login(agent)
    response = client.post(act_url(world.claim, "decide"),
                           {"outcome": "refund", "funded_by": "seller", "amount": "9999.00"})
    assert response.status_code == 400
    assert any("cannot be more than" in t for t in texts(response, messages.ERROR))
    assert b'value="9999.00"' in response.content  # what was typed is still there
    assert snapshot(world.claim) == before
    assert not LogEntry.objects.exists()


def test_a_claim_error_on_state_goes_back_to_the_claim(client, agent):
    world = claim_world("resolved")
    before = snapshot(world.claim)
    client.force_login(agent)
    response = client.post(act_url(world.claim, "request-info"), {"party": "buyer", "question": "Anything else?"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:claims_claim_change", args=[world.claim.pk])
    assert any("not possible now" in t for t in texts(response, messages.ERROR))
    assert snapshot(world.claim) == before
    assert not LogEntry.objects.exists()
    page = client.get(response["Location"])
    assert page.status_code == 200


def test_an_invalid_form_is_shown_again(client, agent):
    world = claim_world("escalated")
    client.force_login(agent)
    response = client.post(act_url(world.claim, "request-info"), {"party": "nobody", "question": ""})
    assert response.status_code == 400
    assert b"errornote" in response.content
    assert world.refresh().state == ClaimState.ESCALATED


def test_assigning_someone_who_is_not_an_agent_is_refused(client, agent):
    world = claim_world("escalated")
    client.force_login(agent)
    response = client.post(act_url(world.claim, "assign"), {"agent": str(world.buyer.pk)})
    assert response.status_code == 400  # not a choice: only agents are offered
    assert world.refresh().assigned_to_id is None


# --- the queue's bulk assignment and the list's action -----------------------------------------------------


def test_bulk_assign_from_the_queue(client, agent):
    first, second = claim_world("escalated").claim, claim_world("awaiting_info").claim
    colleague = make_console_agent()
    client.force_login(agent)
    url = reverse("admin:claims_claim_bulk_assign")
    assert client.get(url).status_code == 405
    response = client.post(url, {"claims": [first.pk, second.pk], "agent": colleague.pk, "who": "unassigned"})
    assert response.status_code == 302 and "who=unassigned" in response["Location"]
    assert set(Claim.objects.filter(assigned_to=colleague).values_list("pk", flat=True)) == {first.pk, second.pk}
    assert log_entries(first, agent).count() == 1 and log_entries(second, agent).count() == 1
    assert any("2 claims assigned" in t for t in texts(response))
    response = client.post(url, {"claims": [first.pk], "agent": ""})  # nobody: unassign
    assert Claim.objects.get(pk=first.pk).assigned_to_id is None


@pytest.mark.parametrize("who", ["buyer", "staff"])
def test_bulk_assign_is_refused_outside_the_agents(client, agent, who):
    claim = claim_world("escalated").claim
    client.force_login(claim.buyer if who == "buyer" else make_plain_staff())
    response = client.post(reverse("admin:claims_claim_bulk_assign"), {"claims": [claim.pk], "agent": agent.pk})
    assert response.status_code == (302 if who == "buyer" else 403)
    assert Claim.objects.get(pk=claim.pk).assigned_to_id is None
    assert not LogEntry.objects.exists()


def test_assign_to_me_from_the_claim_list(client, agent):
    claims = [claim_world("escalated").claim, claim_world("in_progress").claim]
    client.force_login(agent)
    response = client.post(reverse("admin:claims_claim_changelist"),
                           {"action": "assign_to_me", "_selected_action": [c.pk for c in claims]})
    assert response.status_code == 302
    assert all(Claim.objects.get(pk=c.pk).assigned_to_id == agent.pk for c in claims)
    assert all(log_entries(c, agent).count() == 1 for c in claims)


# --- payment-provider disputes ------------------------------------------------------------------------------


def test_record_a_dispute_and_the_verdict_fines_the_seller(client, agent):
    order = delivered_order(items=2)
    first_item = order.items.first()
    client.force_login(agent)
    url = reverse("admin:claims_claim_record_dispute")
    page = client.get(url, {"order": order.number})
    assert page.status_code == 200 and first_item.title.encode() in page.content
    response = client.post(url, {"order": order.number, "reference": "PP-D-123",
                                 "description": "Buyer says the case was empty.", "items": [str(first_item.pk)]})
    assert response.status_code == 302, texts(response)
    claim = Claim.objects.get(order=order)
    assert response["Location"] == reverse("admin:claims_claim_change", args=[claim.pk])
    assert claim.channel == Channel.PAYMENT_PROVIDER and claim.state == ClaimState.ESCALATED
    assert list(claim.items.values_list("order_item", flat=True)) == [first_item.pk]
    assert log_entries(claim, agent, ADDITION).count() == 1

    claim_page = client.get(response["Location"]).content.decode()
    assert act_url(claim, "provider-verdict") in claim_page
    assert act_url(claim, "decide") not in claim_page  # the provider decides, not us
    response = client.post(act_url(claim, "provider-verdict"), {"winner": "buyer"})
    assert response.status_code == 302, texts(response)
    claim.refresh_from_db()
    assert claim.state == ClaimState.RESOLVED and claim.outcome == "refund"
    fine = LedgerEntry.objects.get(claim=claim, kind="dispute_fine")
    assert fine.amount == Decimal("25.00") and fine.seller == order.seller
    assert LedgerEntry.objects.filter(claim=claim, kind="refund_recovery", amount=Decimal("199.00")).exists()
    assert log_entries(claim, agent, CHANGE).count() == 1


def test_the_seller_wins_the_dispute_no_fine(client, agent):
    order = delivered_order()
    client.force_login(agent)
    client.post(reverse("admin:claims_claim_record_dispute"),
                {"order": order.number, "reference": "CB-9", "description": "Chargeback."})
    claim = Claim.objects.get(order=order)
    client.post(act_url(claim, "provider-verdict"), {"winner": "seller"})
    claim.refresh_from_db()
    assert claim.state == ClaimState.RESOLVED and claim.outcome == "denied"
    assert not LedgerEntry.objects.filter(claim=claim).exists()


def test_a_dispute_on_an_item_already_claimed_is_refused(client, agent):
    world = claim_world("in_progress")
    client.force_login(agent)
    response = client.post(reverse("admin:claims_claim_record_dispute"),
                           {"order": world.claim.order.number, "reference": "PP-1", "description": "Again."})
    assert response.status_code == 400
    assert any("already open" in t for t in texts(response, messages.ERROR))
    assert Claim.objects.count() == 1
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize("who", ["buyer", "staff", "bare_agent"])
def test_recording_disputes_is_for_agents(client, who):
    order = delivered_order()
    user = {"buyer": order.buyer, "staff": make_plain_staff(), "bare_agent": make_agent()}[who]
    client.force_login(user)
    url = reverse("admin:claims_claim_record_dispute")
    response = client.post(url, {"order": order.number, "reference": "PP-1", "description": "x"})
    assert response.status_code == (302 if who == "buyer" else 403)
    assert not Claim.objects.exists()


# --- sellers: vetting and the ledger ------------------------------------------------------------------------


def pending_seller() -> Seller:
    return SellerFactory(status=SellerStatus.PENDING, identity_verified_at=None, registration_verified_at=None,
                         tax_verified_at=None)


def seller_url(seller: Seller, action: str) -> str:
    return reverse("admin:sellers_seller_act", kwargs={"object_id": seller.pk, "action": action})


SELLER_CASES = {
    "verify-identity": (pending_seller, {}, lambda s, a: s.identity_verified_by_id == a.pk),
    "verify-registration": (pending_seller, {}, lambda s, a: s.registration_verified_by_id == a.pk),
    "verify-tax": (pending_seller, {}, lambda s, a: s.tax_verified_by_id == a.pk),
    "activate": (lambda: SellerFactory(status=SellerStatus.PENDING), {}, lambda s, a: s.status == SellerStatus.ACTIVE),
    "suspend": (SellerFactory, {"reason": "Counterfeit goods."}, lambda s, a: s.status == SellerStatus.SUSPENDED),
    "reinstate": (lambda: SellerFactory(status=SellerStatus.SUSPENDED), {},
                  lambda s, a: s.status == SellerStatus.ACTIVE),
    "adjust": (SellerFactory, {"amount": "-12.50", "currency": "eur", "note": "Fine waived."},
               lambda s, a: s.ledger_entries.filter(kind="adjustment", amount=Decimal("-12.50"), currency="EUR",
                                                    created_by=a).exists()),
}


@pytest.mark.parametrize("action", list(SELLER_CASES))
def test_an_agent_vets_and_adjusts(client, agent, action):
    make, data, done = SELLER_CASES[action]
    seller = make()
    client.force_login(agent)
    assert client.get(seller_url(seller, action)).status_code == 200
    response = client.post(seller_url(seller, action), data)
    assert response.status_code == 302, texts(response)
    seller.refresh_from_db()
    assert done(seller, agent), texts(response)
    assert log_entries(seller, agent).count() == 1


@pytest.mark.parametrize("who", ["buyer", "staff", "bare_agent"])
@pytest.mark.parametrize("action", list(SELLER_CASES))
def test_vetting_is_refused_outside_the_agents(client, action, who):
    make, data, _done = SELLER_CASES[action]
    seller = make()
    before = (seller.status, seller.identity_verified_at, seller.registration_verified_at, seller.tax_verified_at,
              seller.ledger_entries.count())
    user = {"buyer": UserFactory(), "staff": make_plain_staff(), "bare_agent": make_agent()}[who]
    client.force_login(user)
    response = client.post(seller_url(seller, action), data)
    assert response.status_code == (302 if who == "buyer" else 403)
    seller.refresh_from_db()
    assert before == (seller.status, seller.identity_verified_at, seller.registration_verified_at,
                      seller.tax_verified_at, seller.ledger_entries.count())
    assert not LogEntry.objects.exists()


def test_suspending_hands_the_sellers_claims_to_the_platform(client, agent):
    world = claim_world("in_progress")
    client.force_login(agent)
    client.post(seller_url(world.claim.seller, "suspend"), {"reason": "Repeated counterfeit reports."})
    assert world.refresh().state == ClaimState.ESCALATED
    assert world.claim.escalation_cause == "seller_suspended"


def test_activating_an_unvetted_seller_is_not_offered_and_refused(client, agent):
    seller = pending_seller()
    client.force_login(agent)
    page = client.get(reverse("admin:sellers_seller_change", args=[seller.pk])).content.decode()
    assert seller_url(seller, "activate") not in page
    assert seller_url(seller, "verify-identity") in page
    response = client.post(seller_url(seller, "activate"))
    assert response.status_code == 302
    assert any("Verify the seller's identity" in t for t in texts(response, messages.ERROR))
    seller.refresh_from_db()
    assert seller.status == SellerStatus.PENDING
    assert not LogEntry.objects.exists()


def test_verifying_twice_keeps_the_first_record(client, agent):
    seller = pending_seller()
    client.force_login(agent)
    client.post(seller_url(seller, "verify-identity"))
    first = Seller.objects.get(pk=seller.pk).identity_verified_at
    other = make_console_agent()
    client.force_login(other)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        response = client.post(seller_url(seller, "verify-identity"))
    seller.refresh_from_db()
    assert (seller.identity_verified_at, seller.identity_verified_by_id) == (first, agent.pk)
    assert any("not possible" in t for t in texts(response))


def test_ledger_adjustments_need_the_ledger_permission(client):
    seller = SellerFactory()
    agent_without_ledger = make_console_agent()
    from django.contrib.auth.models import Permission

    # The group grants add_ledgerentry; the same person with only the rest may not adjust.
    agent_without_ledger.groups.clear()
    agent_without_ledger.user_permissions.set(Permission.objects.filter(
        content_type__app_label__in=["claims", "sellers"], codename__in=["act_as_agent", "view_seller",
                                                                         "change_seller"]))
    client.force_login(agent_without_ledger)
    response = client.post(seller_url(seller, "adjust"), {"amount": "5.00", "currency": "EUR", "note": "x"})
    assert response.status_code == 403
    assert not seller.ledger_entries.exists()
    assert client.post(seller_url(seller, "verify-identity")).status_code == 302


def test_offers_made_in_the_console_are_the_platforms(client, agent):
    world = claim_world("awaiting_info")
    client.force_login(agent)
    client.post(act_url(world.claim, "offer"), {"kind": "full_refund"})
    offer = Offer.objects.get(claim=world.claim)
    assert offer.on_behalf_of_platform and offer.made_by == agent and offer.status == OfferStatus.PENDING

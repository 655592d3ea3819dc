"""The support console (Django admin): every registered ModelAdmin opens for a superuser and an agent, the claim
list is masked, searchable, filterable and costs the same number of queries for 1 and 30 claims, the escalated
queue, and the agents group's exact permissions."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import ErasureRequest
from accounts.tests.two_factor_helpers import give_app
from claims import services
from claims.models import Claim, ExpertAssessment, Macro, SatisfactionResponse
from claims.tests.admin_factories import (
    agents_group,
    make_console_agent,
    make_plain_staff,
    make_superuser,
    page_queries,
)
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from core import audit
from core.models import AuditEvent, AuditKind
from integrations.keys import create_api_key
from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint, WebhookEvent
from markets.models import Market
from sellers import services as seller_services

pytestmark = pytest.mark.django_db
NOW = OPENED_AT + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def agent():
    return make_console_agent(first_name="Julia", last_name="Neumann")


@pytest.fixture
def world():
    world = claim_world("resolved")
    seller_services.add_adjustment(seller=world.claim.seller, by=world.agent, amount=Decimal("5.00"),
                                   note="Goodwill correction")
    return world


# --- the agents group -------------------------------------------------------------------------------------


def test_the_agents_group_has_exactly_the_console_permissions():
    permissions = {f"{p.content_type.app_label}.{p.codename}" for p in agents_group().permissions.all()}
    assert permissions == {
        "claims.act_as_agent", "claims.view_claim", "claims.change_claim", "claims.add_claim",
        "sellers.view_seller", "sellers.change_seller", "sellers.view_warrantypolicy",
        "sellers.view_sellermembership", "sellers.view_ledgerentry", "sellers.add_ledgerentry",
        "orders.view_order", "orders.view_orderitem", "orders.view_shipment", "markets.view_market",
        "claims.view_macro", "claims.add_macro", "claims.change_macro", "claims.view_macrotext",
        "claims.add_macrotext", "claims.change_macrotext", "claims.delete_macrotext",
        "claims.view_satisfactionresponse",
        # Login lockouts: seen and cleared (clearing deletes the counter rows); erasure requests processed.
        "axes.view_accessattempt", "axes.delete_accessattempt",
        "accounts.view_erasurerequest", "accounts.change_erasurerequest", "accounts.process_erasure",
    }
    # A macro's text in one language may be removed (an inline row); nothing else is ever deleted.
    assert not any(p.startswith(("claims.delete", "sellers.delete", "orders.delete", "accounts.delete",
                                 "core.")) for p in permissions if p != "claims.delete_macrotext")


def test_a_group_member_is_an_agent_for_the_services(agent):
    from claims import roles

    assert roles.is_agent(agent)
    assert not roles.is_agent(make_plain_staff())


# --- smoke: every registered ModelAdmin ---------------------------------------------------------------------

# (changelist, change page, add page) status codes per role. A new ModelAdmin fails
# test_every_registered_model_admin_is_smoke_tested until it is added here.
EXPECTED = {
    "auth.group": {"superuser": (200, 200, 200), "agent": (403, 403, 403)},
    "auth.user": {"superuser": (200, 200, 200), "agent": (403, 403, 403)},
    "claims.claim": {"superuser": (200, 200, 403), "agent": (200, 200, 403)},
    "sellers.seller": {"superuser": (200, 200, 200), "agent": (200, 200, 403)},
    "sellers.ledgerentry": {"superuser": (200, 200, 403), "agent": (200, 200, 403)},
    # orders are written by the order services only: read-only for everyone (no back door around them)
    "orders.order": {"superuser": (200, 200, 403), "agent": (200, 200, 403)},
    # the payout queue is the finance group's (claims/tests/test_payouts_admin.py); agents do not see refunds
    "claims.refund": {"superuser": (200, 200, 403), "agent": (403, 403, 403)},
    # markets are the consumer law of each country: agents read them, superusers keep them
    "markets.market": {"superuser": (200, 200, 200), "agent": (200, 200, 403)},
    # expert assessments change only through their action pages (claims/tests/test_expert_console.py)
    "claims.expertassessment": {"superuser": (200, 200, 403), "agent": (200, 200, 403)},
    # satisfaction answers are the buyer's and the seller's: read-only, for agents (claims/tests/test_satisfaction.py)
    "claims.satisfactionresponse": {"superuser": (200, 200, 403), "agent": (200, 200, 403)},
    # canned replies: agents add and change them, with a text per language (claims/tests/test_macros.py)
    "claims.macro": {"superuser": (200, 200, 200), "agent": (200, 200, 200)},
    # API keys and webhooks (integrations/admin.py, tests/test_integrations_console.py): agents read them and
    # redeliver; superusers add the platform's keys and endpoints through the services (the add pages)
    "integrations.apikey": {"superuser": (200, 200, 200), "agent": (200, 200, 403)},
    "integrations.webhookendpoint": {"superuser": (200, 200, 200), "agent": (200, 200, 403)},
    "integrations.webhookdelivery": {"superuser": (200, 200, 403), "agent": (200, 200, 403)},
    "integrations.webhookevent": {"superuser": (200, 200, 403), "agent": (200, 200, 403)},
    # login lockouts (accounts/admin_lockouts.py, accounts/tests/test_lockout_console.py): seen and cleared, by
    # agents too; never added or changed
    "axes.accessattempt": {"superuser": (200, 200, 403), "agent": (200, 200, 403)},
    # erasure requests (accounts/admin_privacy.py, accounts/tests/test_erasure.py): the person asks on their privacy
    # page; agents process them through action pages, nobody edits or adds one
    "accounts.erasurerequest": {"superuser": (200, 200, 403), "agent": (200, 200, 403)},
    # the audit log (core/admin.py, tests/test_audit_log.py): superusers read it; nobody writes it
    "core.auditevent": {"superuser": (200, 200, 403), "agent": (403, 403, 403)},
    # authenticator apps (accounts/admin_two_factor.py, accounts/tests/test_two_factor.py): superusers see who has one
    # and reset it (delete); nobody adds or changes one, nor sees its secret
    "otp_totp.totpdevice": {"superuser": (200, 200, 403), "agent": (403, 403, 403)},
}


def test_every_registered_model_admin_is_smoke_tested():
    assert {model._meta.label_lower for model in admin.site._registry} == set(EXPECTED)


def an_object_of(label: str, world):  # type: ignore[no-untyped-def]
    claim = world.claim
    return {
        "auth.group": agents_group(),
        "auth.user": world.buyer,
        "claims.claim": claim,
        "sellers.seller": claim.seller,
        "sellers.ledgerentry": claim.seller.ledger_entries.first(),
        "orders.order": claim.order,
        "claims.refund": claim.refunds.first(),
        "markets.market": Market.objects.get(country="SK"),
        "claims.expertassessment": ExpertAssessment.objects.get_or_create(
            claim=claim, defaults={"stage": "during_claim", "requested_by_party": "agent"})[0],
        "claims.satisfactionresponse": SatisfactionResponse.objects.get_or_create(
            claim=claim, party="buyer", defaults={"rating": 4, "reason": claim.reason})[0],
        "claims.macro": Macro.objects.get_or_create(name="Ask for photos")[0],
        "accounts.erasurerequest": ErasureRequest.objects.get_or_create(user=world.buyer)[0],
        "core.auditevent": AuditEvent.objects.first() or audit.record(AuditKind.LOGIN, actor=world.buyer),
        "otp_totp.totpdevice": give_app(world.buyer),
        "axes.accessattempt": AccessAttempt.objects.get_or_create(
            username="someone", ip_address="203.0.113.5", user_agent="test", defaults={
                "get_data": "", "post_data": "", "http_accept": "", "path_info": "/accounts/login/",
                "failures_since_start": 5})[0],
        **({"integrations.apikey": ApiKey.objects.filter(seller=claim.seller).first()
            or create_api_key(name="ERP", seller=claim.seller)[0],
            "integrations.webhookendpoint": console_delivery(claim).endpoint,
            "integrations.webhookdelivery": console_delivery(claim),
            "integrations.webhookevent": console_delivery(claim).event} if label.startswith("integrations.") else {}),
    }[label]


def console_delivery(claim):  # type: ignore[no-untyped-def]
    """A failed delivery of an event of the claim to an endpoint of its seller (made once)."""
    endpoint = WebhookEndpoint.objects.get_or_create(seller=claim.seller, url="https://erp.example.com/hooks",
                                                     defaults={"events": ["claim.opened"], "secret": "whsec_x"})[0]
    event = WebhookEvent.objects.get_or_create(msg_id="msg_console", defaults={
        "type": "claim.opened", "seller": claim.seller, "claim_number": claim.number, "payload": {"type": "x"},
        "dedupe_key": "console"})[0]
    return WebhookDelivery.objects.get_or_create(event=event, endpoint=endpoint,
                                                 defaults={"status": "failed", "attempts": 8})[0]


@pytest.mark.parametrize("role", ["superuser", "agent"])
@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_admin_pages_open(client, world, role, label):
    user = make_superuser() if role == "superuser" else make_console_agent()
    client.force_login(user)
    obj = an_object_of(label, world)
    app_label, model_name = label.split(".")
    urls = (reverse(f"admin:{app_label}_{model_name}_changelist"),
            reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk]),
            reverse(f"admin:{app_label}_{model_name}_add"))
    got = tuple(client.get(url).status_code for url in urls)
    assert got == EXPECTED[label][role], (label, role, got)


@pytest.mark.parametrize("state", ["awaiting_seller", "in_progress", "escalated", "awaiting_info", "awaiting_return",
                                   "resolved"])
def test_the_claim_page_in_every_state(client, agent, state):
    world = claim_world(state)
    client.force_login(agent)
    response = client.get(reverse("admin:claims_claim_change", args=[world.claim.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert world.claim.number in page
    evidence = world.claim.evidence.first()
    assert reverse("claims:evidence_thumbnail", kwargs={"pk": evidence.pk}) in page
    assert client.get(reverse("claims:evidence_thumbnail", kwargs={"pk": evidence.pk})).status_code == 200
    expected_buttons = {
        "awaiting_seller": ["escalate"], "in_progress": ["escalate"],
        "escalated": ["decide", "request-info", "offer"], "awaiting_info": ["offer", "provide-info"],
        "awaiting_return": ["receive-return"], "resolved": ["reopen"],
    }[state]
    for action in expected_buttons:
        assert reverse("admin:claims_claim_act", kwargs={"object_id": world.claim.pk, "action": action}) in page
    # every state-changing control on the page is a POST form with a CSRF token
    for form in re.findall(r"<form[^>]*>", page):
        assert 'method="post"' in form or 'method="get"' in form
    assert page.count("csrfmiddlewaretoken") >= 2


def test_people_outside_the_console(client, world):
    url = reverse("admin:claims_claim_changelist")
    client.force_login(world.buyer)  # not staff: the admin's login page
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    client.force_login(make_plain_staff())  # staff without the agents group
    assert client.get(url).status_code == 403
    client.force_login(world.agent)  # act_as_agent alone opens nothing in the console
    assert client.get(url).status_code == 403
    assert client.get(reverse("admin:claims_claim_queue")).status_code == 403


# --- the claim list -----------------------------------------------------------------------------------------


def claims_on_list(response) -> list[str]:  # type: ignore[no-untyped-def]
    """Claim numbers in the order the page lists them (once each: a row may name its claim twice)."""
    return list(dict.fromkeys(re.findall(r"C-[0-9A-Z]{4}-[0-9A-Z]{4}", response.content.decode())))


def test_the_list_masks_the_buyer_and_marks_overdue_claims(client, agent):
    world = claim_world("awaiting_seller")
    client.force_login(agent)
    with time_machine.travel(OPENED_AT + dt.timedelta(days=3), tick=False):  # past the 48-hour first reply
        page = client.get(reverse("admin:claims_claim_changelist")).content.decode()
    email = world.buyer.email
    assert email not in page
    assert f"{email[0]}***@e***.com" in page
    assert "console-overdue" in page


def test_list_queries_do_not_grow_with_the_rows(client, agent):
    client.force_login(agent)
    url = reverse("admin:claims_claim_changelist")

    def count() -> int:
        return page_queries(client, url)

    first = open_defective_claim()
    services.assign(claim=first, by=agent, agent=agent)
    with_one = count()
    for index in range(29):
        claim = open_defective_claim(at=OPENED_AT + dt.timedelta(minutes=index + 1))
        if index % 2:
            services.assign(claim=claim, by=agent, agent=agent)
    assert Claim.objects.count() == 30
    with_thirty = count()
    assert with_thirty == with_one


def test_search_by_claim_order_email_and_tracking_number(client, agent):
    wanted = open_defective_claim()
    other = open_defective_claim(order=delivered_order())
    client.force_login(agent)
    url = reverse("admin:claims_claim_changelist")
    shipment = wanted.order.shipments.first()
    for term in (wanted.number.lower(), wanted.order.number, wanted.buyer.email.upper(), shipment.tracking_number):
        found = claims_on_list(client.get(url, {"q": term}))
        assert wanted.number in found and other.number not in found, term
    assert wanted.number not in claims_on_list(client.get(url, {"q": "nothing-like-this"}))


def test_filters(client, agent):
    late = claim_world("awaiting_seller").claim  # first reply due OPENED_AT + 48 h: overdue at NOW + 2 days
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        fresh = open_defective_claim(at=NOW + dt.timedelta(days=2))
        escalated = claim_world("escalated", at=NOW + dt.timedelta(days=2)).claim
        services.assign(claim=escalated, by=agent, agent=agent)
        client.force_login(agent)
        url = reverse("admin:claims_claim_changelist")

        def listed(**params: str) -> set[str]:
            return set(claims_on_list(client.get(url, params)))

        assert late.number in listed(overdue="yes") and fresh.number not in listed(overdue="yes")
        assert fresh.number in listed(overdue="no") and late.number not in listed(overdue="no")
        assert listed(escalated="now") == {escalated.number}
        assert escalated.number in listed(escalated="ever") and late.number in listed(escalated="never")
        assert listed(assigned="me") == {escalated.number}
        assert escalated.number not in listed(assigned="nobody") and late.number in listed(assigned="nobody")
        assert late.number in listed(state__exact="awaiting_seller")
        assert listed(channel__exact="payment_provider") == set()


# --- the escalated queue ------------------------------------------------------------------------------------


def test_the_escalated_queue(client, agent):
    mine_later = claim_world("escalated").claim  # the platform decides within 2 business days
    mine_sooner = claim_world("awaiting_info", at=OPENED_AT - dt.timedelta(hours=1)).claim  # asked earlier; 2 days
    unassigned = claim_world("escalated").claim
    claim_world("in_progress")  # not with the platform: never in the queue
    for claim in (mine_later, mine_sooner):
        services.assign(claim=claim, by=agent, agent=agent)
    client.force_login(agent)
    url = reverse("admin:claims_claim_queue")
    assert claims_on_list(client.get(url)) == [mine_sooner.number, mine_later.number]  # "me" by default
    assert claims_on_list(client.get(url, {"who": "unassigned"})) == [unassigned.number]
    assert set(claims_on_list(client.get(url, {"who": "all"}))) == {mine_sooner.number, mine_later.number,
                                                                     unassigned.number}
    page = client.get(url).content.decode()
    assert 'action="' + reverse("admin:claims_claim_bulk_assign") + '"' in page


def test_the_admin_index_leads_agents_to_their_queue(client, agent):
    client.force_login(agent)
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:claims_claim_queue") in page
    client.force_login(make_plain_staff())
    assert reverse("admin:claims_claim_queue") not in client.get(reverse("admin:index")).content.decode()


def test_seller_page_shows_the_ledger_balance_read_only(client, agent, world):
    client.force_login(agent)
    seller = world.claim.seller
    page = client.get(reverse("admin:sellers_seller_change", args=[seller.pk])).content.decode()
    assert "€5.00" in page and "Goodwill correction" in page
    assert 'name="tax_id"' not in page  # verified data is not edited
    entry = seller.ledger_entries.first()
    entry_page = client.get(reverse("admin:sellers_ledgerentry_change", args=[entry.pk])).content.decode()
    assert 'name="amount"' not in entry_page
    assert client.post(reverse("admin:sellers_ledgerentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403


def test_agents_group_survives_a_missing_row():
    """The helper used by these tests re-creates the group the way the migrations do: all of them."""
    before = {p.pk for p in agents_group().permissions.all()}
    Group.objects.filter(name="agents").delete()
    assert {p.pk for p in agents_group().permissions.all()} == before and len(before) == 27

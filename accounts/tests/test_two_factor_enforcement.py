"""Two factors enforced (issue 18, accounts.middleware): agents, the finance team and superusers pass them before the
console or any other page; buyers and sellers without an app are never asked; anyone with an app is asked at every
login. Through the real login pages too."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.tests.two_factor_helpers import give_app
from claims.tests.admin_factories import make_console_agent, make_finance, make_superuser
from claims.tests.factories import claim_world
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, 7, tzinfo=dt.UTC)
PASSWORD = "pw-for-tests-only"  # noqa: S105 - the factories' password
SETUP, VERIFY = reverse("accounts:mfa_setup"), reverse("accounts:mfa_verify")
STAFF_ROLES = {"agent": make_console_agent, "finance": make_finance, "superuser": make_superuser}


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def code_of(device: TOTPDevice) -> str:
    return str(hotp(device.bin_key, int(NOW.timestamp()) // 30, digits=6)).zfill(6)


def unverified(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, verified=False)
    return client


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
@pytest.mark.parametrize("url", ["/admin/", "/notifications/", "/account/security/", "/orders/"])
def test_the_console_people_set_up_an_app_before_any_page(role, url):
    person = STAFF_ROLES[role]()
    response = unverified(person).get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{SETUP}?next={url.replace('/', '%2F')}"


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_with_an_app_they_enter_a_code_and_land_where_they_were_going(role):
    person = STAFF_ROLES[role]()
    device = give_app(person)
    client = unverified(person)
    assert client.get("/admin/")["Location"] == f"{VERIFY}?next=%2Fadmin%2F"
    assert client.get(SETUP)["Location"].startswith(VERIFY)  # no new app without the current one
    response = client.post(VERIFY, {"code": code_of(device), "next": "/admin/"})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_test_clients_force_login_passes_the_second_factor_by_default():
    """conftest.py: every other test logs the console's people in with a session that passed it."""
    agent = make_console_agent()
    client = Client()
    client.force_login(agent)
    assert client.get("/admin/").status_code == 200
    assert TOTPDevice.objects.filter(user=agent, confirmed=True).count() == 1


def test_buyers_and_sellers_without_an_app_are_never_asked():
    world = claim_world("in_progress")
    for person, url in ((world.buyer, reverse("claims:detail", kwargs={"number": world.claim.number})),
                        (world.staff, reverse("sellers:queue"))):
        client = unverified(person)
        assert client.get(url).status_code == 200
        assert client.get(reverse("accounts:security")).status_code == 200


def test_a_seller_who_turned_it_on_is_asked_at_every_login():
    world = claim_world("in_progress")
    device = give_app(world.staff)
    client = unverified(world.staff)
    assert client.get(reverse("sellers:queue"))["Location"] == f"{VERIFY}?next=%2Fseller%2F"
    client.post(VERIFY, {"code": code_of(device)})
    assert client.get(reverse("sellers:queue")).status_code == 200


def test_a_form_sent_before_the_code_is_refused_with_the_way_in():
    agent = make_console_agent()
    give_app(agent)
    world = claim_world("escalated")
    url = reverse("admin:claims_claim_change", args=[world.claim.pk])
    response = unverified(agent).post(url, {"internal_note": "x"}, HTTP_REFERER=f"http://testserver{url}")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Enter a code from your authenticator app first. Nothing was changed." in html
    back = f"http%3A%2F%2Ftestserver%2Fadmin%2Fclaims%2Fclaim%2F{world.claim.pk}%2Fchange%2F"
    assert f'href="{VERIFY}?next={back}"' in html


def test_a_script_asking_for_json_gets_403_json():
    agent = make_console_agent()
    world = claim_world("escalated")
    url = reverse("admin:claims_claim_presence", args=[world.claim.pk])
    response = unverified(agent).post(url, {"version": "1"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Set up two-factor authentication first.", "two_factor_url": SETUP}
    get = unverified(agent).get("/admin/", HTTP_ACCEPT="application/json")
    assert get.status_code == 403 and get["Content-Type"] == "application/json"


def test_what_stays_open_before_the_second_factor():
    agent = make_console_agent()
    client = unverified(agent)
    assert client.get(SETUP).status_code == 200
    assert client.get(reverse("login")).status_code == 200  # logging in as someone else
    assert client.post(reverse("set_language"), {"language": "de", "next": "/"}).status_code == 302
    assert client.get(reverse("password_reset")).status_code == 200
    assert client.get(reverse("privacy")).status_code == 200  # the public notice in every page's footer
    # the API takes keys, never the session: the same answer as without one
    assert client.get("/api/v1/seller/claims").status_code == Client().get("/api/v1/seller/claims").status_code
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/admin/")["Location"].startswith(reverse("admin:login"))  # logged out


@pytest.mark.parametrize("login_url", ["/accounts/login/", "/admin/login/"])
def test_logging_in_with_the_password_leads_to_the_code(login_url):
    agent = make_console_agent(username="julia")
    device = give_app(agent)
    client = Client()
    response = client.post(f"{login_url}?next=/admin/", {"username": "julia", "password": PASSWORD,
                                                         "next": "/admin/"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{VERIFY}?next=%2Fadmin%2F"
    landed = client.post(VERIFY, {"code": code_of(device), "next": "/admin/"}, follow=True)
    assert landed.redirect_chain[-1][0] == "/admin/" and landed.status_code == 200


def test_logging_in_without_an_app_leads_to_the_set_up():
    make_finance(username="paul")
    client = Client()
    response = client.post("/accounts/login/", {"username": "paul", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0].startswith(SETUP)
    assert b"Your role in the support team requires two-factor authentication" in response.content


def test_a_buyer_logs_in_with_the_password_alone():
    UserFactory(username="erika")
    response = Client().post("/accounts/login/", {"username": "erika", "password": PASSWORD}, follow=True)
    assert response.status_code == 200 and VERIFY not in response.redirect_chain[-1][0]

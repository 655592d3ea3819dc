"""Two factors (issue 18): setting up an authenticator app, the code at login (app or recovery code), django-otp's
throttle, new recovery codes, turning off (refused for the roles that must use it), the console's reset, and the
audit log of each."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import hotp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from accounts.tests.two_factor_helpers import give_app
from claims.tests.admin_factories import make_console_agent, make_finance, make_superuser
from core.models import AuditEvent
from sellers.models import MembershipRole
from sellers.tests.factories import SellerMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, 7, tzinfo=dt.UTC)
PASSWORD = "pw-for-tests-only"  # noqa: S105 - the factories' password
SETUP, VERIFY, CODES, SECURITY = (reverse("accounts:mfa_setup"), reverse("accounts:mfa_verify"),
                                  reverse("accounts:mfa_recovery_codes"), reverse("accounts:security"))


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def code_of(key_or_device, *, at: dt.datetime = NOW, steps_later: int = 0) -> str:
    """What an authenticator app with this secret shows at `at`."""
    key = key_or_device.bin_key if isinstance(key_or_device, TOTPDevice) else bytes.fromhex(key_or_device)
    return str(hotp(key, int(at.timestamp()) // 30 + steps_later, digits=6)).zfill(6)


def secret_on_page(response) -> str:
    """The key as the set-up page shows it for typing into an app (base32 in groups), back to django-otp's hex."""
    shown = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', response.content.decode()).group(1)
    return base64.b32decode(shown.replace(" ", "")).hex()


def logged_in(user, *, verified: bool = False) -> Client:
    client = Client()
    client.force_login(user, verified=verified)
    return client


def audit(kind: str, user) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    return list(AuditEvent.objects.filter(kind=kind, subject_user=user).order_by("id"))


def assert_no_names_in_the_log(user) -> None:  # type: ignore[no-untyped-def]
    for event in AuditEvent.objects.all():
        text = f"{event.summary} {event.details}"
        assert user.username not in text and user.email not in text, text


def set_up(client: Client, *, password: str = PASSWORD) -> tuple[str, object]:
    page = client.get(SETUP)
    key = secret_on_page(page)
    response = client.post(SETUP, {"code": code_of(key), "confirm": password})
    return key, response


# --- setting up -------------------------------------------------------------------------------------------------------


def test_the_set_up_page_shows_a_qr_code_and_the_key_to_type():
    buyer = UserFactory()
    client = logged_in(buyer)
    page = client.get(SETUP)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<svg role="img" aria-label="QR code to scan with your authenticator app"' in html
    key = secret_on_page(page)
    shown = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', html).group(1)
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", shown)  # 32 characters in groups of four
    # the same secret until it is confirmed: a reload after scanning does not change it
    assert secret_on_page(client.get(SETUP)) == key
    assert not TOTPDevice.objects.filter(user=buyer).exists()  # nothing stored until a code confirms it
    assert page["Cache-Control"].startswith("max-age=0")


def test_the_qr_code_holds_the_key_and_the_issuer(settings):
    buyer = UserFactory(username="erika")
    key = two_factor.new_secret()
    settings.OTP_TOTP_ISSUER = None
    settings.MARKETPLACE_NAME = "Help: Center"
    uri = two_factor.provisioning_uri(buyer, key)
    secret = two_factor.secret_for_people(key).replace(" ", "")
    assert uri == (f"otpauth://totp/Help%20Center%3Aerika?secret={secret}&issuer=Help%20Center&algorithm=SHA1"
                   "&digits=6&period=30")
    settings.OTP_TOTP_ISSUER = "Acme Support"
    assert "issuer=Acme%20Support" in two_factor.provisioning_uri(buyer, key)


def test_a_wrong_code_or_password_confirms_nothing():
    buyer = UserFactory()
    client = logged_in(buyer)
    key = secret_on_page(client.get(SETUP))
    wrong_code = client.post(SETUP, {"code": str((int(code_of(key)) + 1) % 10**6).zfill(6), "confirm": PASSWORD})
    assert wrong_code.status_code == 400
    assert "That code does not match" in wrong_code.content.decode()
    wrong_password = client.post(SETUP, {"code": code_of(key), "confirm": "not-my-password"})
    assert wrong_password.status_code == 400
    assert "That is not your current password. Nothing was changed." in wrong_password.content.decode()
    not_a_code = client.post(SETUP, {"code": "12ab", "confirm": PASSWORD})
    assert not_a_code.status_code == 400 and "The code is 6 digits" in not_a_code.content.decode()
    assert not TOTPDevice.objects.filter(user=buyer).exists()
    assert not StaticDevice.objects.filter(user=buyer).exists()
    assert not AuditEvent.objects.filter(kind="mfa_enabled").exists()


def test_the_right_code_turns_it_on_and_the_recovery_codes_are_shown_once(settings):
    settings.MFA_RECOVERY_CODES = 10
    buyer = UserFactory()
    client = logged_in(buyer)
    key, response = set_up(client)
    assert response.status_code == 302 and response["Location"] == CODES
    device = TOTPDevice.objects.get(user=buyer)
    assert device.confirmed and device.key == key
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id  # this session passed its second factor

    shown = client.get(CODES)
    codes = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", shown.content.decode())
    assert len(codes) == len(set(codes)) == 10
    assert sorted(c.replace("-", "") for c in codes) == sorted(StaticToken.objects.filter(
        device__user=buyer).values_list("token", flat=True))
    assert "this is the only time they are shown" in shown.content.decode()
    again = client.get(CODES)
    assert again.status_code == 200 and not any(code in again.content.decode() for code in codes)
    assert "no-store" in shown["Cache-Control"]

    [event] = audit("mfa_enabled", buyer)
    assert event.actor == buyer and event.details == {"replaced_app": False, "recovery_codes": 10}
    assert_no_names_in_the_log(buyer)


def test_the_confirming_code_does_not_also_pass_the_next_login():
    buyer = UserFactory()
    key, _response = set_up(logged_in(buyer))
    other = logged_in(buyer)
    refused = other.post(VERIFY, {"code": code_of(key)})
    assert refused.status_code == 400


def test_a_new_app_replaces_the_old_one_and_keeps_the_session_verified():
    seller = UserFactory()
    old = give_app(seller)
    client = logged_in(seller, verified=True)
    key, response = set_up(client)
    assert response.status_code == 302
    assert list(TOTPDevice.objects.filter(user=seller).values_list("key", flat=True)) == [key]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()
    assert client.get(SECURITY).status_code == 200  # not sent to enter a code again
    assert audit("mfa_enabled", seller)[0].details["replaced_app"] is True


def test_replacing_the_app_needs_the_current_one_first():
    """A password alone never replaces an app: the set-up page sends a session that has not passed its code on."""
    seller = UserFactory()
    give_app(seller)
    client = logged_in(seller)
    response = client.get(SETUP)
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)


def test_the_security_page_for_someone_without_two_factors():
    buyer = UserFactory()
    page = logged_in(buyer).get(SECURITY)
    html = page.content.decode()
    assert page.status_code == 200
    assert "You log in with your password alone." in html and f'href="{SETUP}"' in html
    assert "Turn off two-factor authentication" not in html


def test_the_security_page_for_an_agent():
    agent = make_console_agent()
    client = logged_in(agent, verified=True)
    html = client.get(SECURITY).content.decode()
    assert "requires two-factor authentication: it stays on" in html
    assert f'href="{CODES}"' in html
    assert "Turn off two-factor authentication" not in html  # no form for what is refused


# --- the code at login ------------------------------------------------------------------------------------------------


def test_an_app_code_lets_the_session_in_and_keeps_where_it_was_going():
    seller = UserFactory()
    device = give_app(seller)
    client = logged_in(seller)
    sent = client.get(reverse("claims:notifications"))
    assert sent.status_code == 302 and sent["Location"] == f"{VERIFY}?next=%2Fnotifications%2F"
    page = client.get(sent["Location"])
    assert page.status_code == 200 and 'name="next" value="/notifications/"' in page.content.decode()
    response = client.post(VERIFY, {"code": code_of(device), "next": "/notifications/"})
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    assert client.get(reverse("claims:notifications")).status_code == 200
    assert not AuditEvent.objects.filter(kind="mfa_failed").exists()


def test_a_code_works_once():
    seller = UserFactory()
    device = give_app(seller)
    assert logged_in(seller).post(VERIFY, {"code": code_of(device)}).status_code == 302
    with time_machine.travel(NOW + dt.timedelta(seconds=2), tick=False):
        replay = logged_in(seller).post(VERIFY, {"code": code_of(device)})
    assert replay.status_code == 400 and "That code is not right" in replay.content.decode()


def test_a_next_elsewhere_is_not_followed():
    seller = UserFactory()
    device = give_app(seller)
    response = logged_in(seller).post(VERIFY, {"code": code_of(device), "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")


def test_a_recovery_code_lets_in_once():
    seller = UserFactory()
    give_app(seller)
    codes = two_factor.new_recovery_codes(user=seller)
    client = logged_in(seller)
    response = client.post(VERIFY, {"code": codes[3].upper().replace("-", " ")}, follow=True)
    assert response.redirect_chain[0][0] == reverse("home")
    assert "You used a recovery code. You have 9 left" in response.content.decode()
    assert client.session[DEVICE_ID_SESSION_KEY].startswith("otp_static.staticdevice/")
    [used] = audit("mfa_recovery_code_used", seller)
    assert used.details == {"purpose": "login", "left": 9}

    again = logged_in(seller).post(VERIFY, {"code": codes[3]})
    assert again.status_code == 400
    [failed] = audit("mfa_failed", seller)
    assert failed.details["code_kind"] == "recovery" and failed.actor == seller
    assert_no_names_in_the_log(seller)


def test_something_that_is_no_code_at_all_is_refused_without_counting():
    seller = UserFactory()
    give_app(seller)
    response = logged_in(seller).post(VERIFY, {"code": "hello"})
    assert response.status_code == 400 and "Enter the 6-digit code from your app" in response.content.decode()
    assert TOTPDevice.objects.get(user=seller).throttling_failure_count == 0
    assert not AuditEvent.objects.filter(kind="mfa_failed").exists()


def test_wrong_codes_are_throttled_and_logged():
    """django-otp's throttle: after n wrong codes in a row the next try waits 2^(n-1) seconds, the right code too;
    every wrong code and every try while waiting is an mfa_failed line."""
    seller = UserFactory()
    device = give_app(seller)
    client = logged_in(seller)
    wrong = str((int(code_of(device)) + 1) % 10**6).zfill(6)
    assert client.post(VERIFY, {"code": wrong}).status_code == 400  # 1 failure: wait 1 s
    held = client.post(VERIFY, {"code": code_of(device)})
    assert held.status_code == 429
    assert "Too many wrong codes. Please wait 1 second and try again." in held.content.decode()
    with time_machine.travel(NOW + dt.timedelta(seconds=1), tick=False):
        assert client.post(VERIFY, {"code": "aaaa-bbbb"}).status_code == 400  # a recovery code counts too: wait 2 s
        assert client.post(VERIFY, {"code": code_of(device)}).status_code == 429
    with time_machine.travel(NOW + dt.timedelta(seconds=2), tick=False):
        assert client.post(VERIFY, {"code": code_of(device)}).status_code == 429
    later = NOW + dt.timedelta(seconds=3)
    with time_machine.travel(later, tick=False):
        assert client.post(VERIFY, {"code": code_of(device, at=later)}).status_code == 302
    failed = audit("mfa_failed", seller)
    assert [e.details.get("throttled", False) for e in failed] == [False, True, False, True, True]
    assert [e.details.get("code_kind") for e in failed if not e.details.get("throttled")] == ["app", "recovery"]
    assert TOTPDevice.objects.get(pk=device.pk).throttling_failure_count == 0  # the right code reset it


def test_the_verify_page_sends_on_whoever_has_nothing_to_enter():
    buyer = UserFactory()
    assert logged_in(buyer).get(VERIFY)["Location"] == SECURITY
    agent = make_console_agent()
    assert logged_in(agent).get(f"{VERIFY}?next=/admin/")["Location"] == f"{SETUP}?next=%2Fadmin%2F"
    assert logged_in(agent, verified=True).get(f"{VERIFY}?next=/admin/")["Location"] == "/admin/"


# --- recovery codes ---------------------------------------------------------------------------------------------------


def test_new_recovery_codes_replace_the_old_ones(settings):
    settings.MFA_RECOVERY_CODES = 8
    seller = UserFactory()
    give_app(seller)
    old = two_factor.new_recovery_codes(user=seller)
    client = logged_in(seller, verified=True)
    form = client.get(CODES)
    assert "You have 8 unused recovery codes." in form.content.decode()
    assert client.post(CODES, {"confirm": "wrong"}).status_code == 400
    assert sorted(c.replace("-", "") for c in old) == sorted(StaticToken.objects.values_list("token", flat=True))
    response = client.post(CODES, {"confirm": PASSWORD})
    assert response.status_code == 302 and response["Location"] == CODES
    new = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", client.get(CODES).content.decode())
    assert len(new) == 8 and not set(new) & set(old)
    assert logged_in(seller).post(VERIFY, {"code": old[0]}).status_code == 400  # the old ones stopped working
    assert [e.details for e in audit("mfa_recovery_codes", seller)] == [{"count": 8}, {"count": 8}]


def test_a_current_code_confirms_a_change_instead_of_the_password():
    seller = UserFactory()
    device = give_app(seller)
    client = logged_in(seller, verified=True)
    assert client.post(CODES, {"confirm": code_of(device)}).status_code == 302
    assert not AccessAttempt.objects.exists()  # a right code is no failed password


def test_new_recovery_codes_keep_a_session_let_in_by_a_recovery_code():
    seller = UserFactory()
    give_app(seller)
    codes = two_factor.new_recovery_codes(user=seller)
    client = logged_in(seller)
    client.post(VERIFY, {"code": codes[0]})
    assert client.post(CODES, {"confirm": PASSWORD}).status_code == 302
    assert client.get(SECURITY).status_code == 200


def test_recovery_codes_need_an_app_first():
    buyer = UserFactory()
    assert logged_in(buyer).get(CODES)["Location"] == SECURITY
    with pytest.raises(two_factor.TwoFactorError):
        two_factor.new_recovery_codes(user=buyer)


def test_confirming_it_is_you_is_limited_as_a_login(settings):
    """A wrong password here is a failed login of the person's (username, address) pair (accounts.lockout): the
    limit's failure locks it, and then even the right password is refused (tests/test_brute_force.py has the rest)."""
    settings.LOGIN_FAILURE_LIMIT = 3
    seller = UserFactory()
    give_app(seller)
    client = logged_in(seller, verified=True)
    for _attempt in range(2):
        assert client.post(CODES, {"confirm": "guess"}).status_code == 400
    for secret in ("guess", PASSWORD):
        refused = client.post(CODES, {"confirm": secret})
        assert refused.status_code == 429 and "Too many failed logins" in refused.content.decode()
    assert AccessAttempt.objects.get(username=seller.username).failures_since_start == 3


# --- turning off ------------------------------------------------------------------------------------------------------


def test_a_seller_turns_it_off_with_the_password():
    seller = UserFactory()
    give_app(seller)
    two_factor.new_recovery_codes(user=seller)
    client = logged_in(seller, verified=True)
    wrong = client.post(SECURITY, {"confirm": "nope"})
    assert wrong.status_code == 400 and "neither your current password nor a current code" in wrong.content.decode()
    assert TOTPDevice.objects.filter(user=seller).exists()
    response = client.post(SECURITY, {"confirm": PASSWORD})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=seller).exists() and not StaticDevice.objects.filter(user=seller).exists()
    [event] = audit("mfa_disabled", seller)
    assert event.actor == seller
    # and the next login asks for nothing more
    assert logged_in(seller).get(reverse("claims:notifications")).status_code == 200


@pytest.mark.parametrize("make", [make_console_agent, make_finance, make_superuser],
                         ids=["agent", "finance", "superuser"])
def test_the_roles_that_must_use_it_cannot_turn_it_off(make):
    person = make()
    device = give_app(person)
    client = logged_in(person, verified=True)
    response = client.post(SECURITY, {"confirm": PASSWORD})
    assert response.status_code == 403
    assert "requires two-factor authentication, so it cannot be turned off" in response.content.decode()
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    assert not AuditEvent.objects.filter(kind="mfa_disabled").exists()
    with pytest.raises(two_factor.TwoFactorError):
        two_factor.turn_off(user=person)


# --- the console ------------------------------------------------------------------------------------------------------


def test_django_otps_own_admins_showing_secrets_are_gone():
    assert not admin.site.is_registered(StaticDevice)
    assert type(admin.site._registry[TOTPDevice]).__name__ == "TwoFactorAppAdmin"


def test_a_superuser_resets_a_persons_two_factors_in_the_console():
    agent = make_console_agent()
    device = give_app(agent)
    two_factor.new_recovery_codes(user=agent)
    superuser = make_superuser()
    client = logged_in(superuser, verified=True)
    url = reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200 and device.key not in page.content.decode()  # the secret is never shown
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=agent).exists() and not StaticDevice.objects.filter(user=agent).exists()
    [event] = audit("mfa_disabled", agent)
    assert event.actor == superuser and event.details == {"reset_by_support": True}
    # the agent sets up a new app at the next login
    assert logged_in(agent).get("/admin/")["Location"].startswith(SETUP)
    # agents do not see the list
    assert logged_in(make_console_agent(), verified=True).get(
        reverse("admin:otp_totp_totpdevice_changelist")).status_code == 403


def test_account_security_is_in_the_header_and_the_consoles_user_links():
    agent = make_console_agent()
    client = logged_in(agent, verified=True)
    link = f'<a href="{SECURITY}">Account security</a>'
    assert link in client.get(reverse("claims:notifications")).content.decode()
    assert link in client.get(reverse("admin:index")).content.decode()


# --- the seller dashboard ---------------------------------------------------------------------------------------------


def test_owners_without_two_factors_are_recommended_them_politely():
    owner = UserFactory()
    membership = SellerMembershipFactory(user=owner, role=MembershipRole.OWNER)
    staff = UserFactory()
    SellerMembershipFactory(user=staff, seller=membership.seller, role=MembershipRole.STAFF)
    queue = reverse("sellers:queue")
    html = logged_in(owner).get(queue).content.decode()
    assert "Recommended for owners:" in html and f'href="{SECURITY}"' in html
    assert "Recommended for owners" not in logged_in(staff).get(queue).content.decode()  # optional for staff
    give_app(owner)
    assert "Recommended for owners" not in logged_in(owner, verified=True).get(queue).content.decode()


def test_the_must_use_roles():
    assert two_factor.must_use_two_factors(make_console_agent())
    assert two_factor.must_use_two_factors(make_finance())
    assert two_factor.must_use_two_factors(UserFactory(is_superuser=True))
    assert not two_factor.must_use_two_factors(UserFactory(is_staff=True))  # staff without a role of the console
    assert not two_factor.must_use_two_factors(UserFactory())

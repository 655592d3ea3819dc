"""Brute force against every login path (issue 18): the site's login, the console's login, password reset and API
keys. The attacker's (username, address) pair is held up with the growing delay while the victim logs in with the
right password from another address; successful logins are never counted; Unicode spellings of a name share its
counter; an address guessing across many accounts hits a ceiling; reset emails are limited per address and per
email; wrong API keys end in a 429 problem while a valid key works. Time is frozen and moved by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.backends import NormalizedUsernameBackend
from accounts.lockout import API_KEY_USERNAME
from api.tests.helpers import auth, post, seller_key
from core.models import AuditEvent
from integrations.keys import revoke_api_key
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
PASSWORD = "pw-for-tests-only"  # UserFactory's
ATTACKER = "203.0.113.5"
VICTIM = "198.51.100.7"
# The waits (seconds) with the default settings: 5 failures, then 60 s, doubled per failure after a wait, 1 h at most.
WAITS = [60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_LOCKOUT_BASE_SECONDS = 60
    settings.LOGIN_LOCKOUT_MAX_SECONDS = 3600
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 50
    settings.LOGIN_RATE_WINDOW_SECONDS = 15 * 60


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def password_checks(monkeypatch) -> list[str]:
    """The usernames whose password was checked (accounts.backends, the last of AUTHENTICATION_BACKENDS)."""
    checked: list[str] = []
    original = NormalizedUsernameBackend.authenticate

    def spy(self: Any, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any) -> Any:
        checked.append(username or "")
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(NormalizedUsernameBackend, "authenticate", spy)
    return checked


def log_in(client: Client, username: str, password: str, address: str, *, admin: bool = False) -> Any:
    url = reverse("admin:login") if admin else reverse("login")
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(response: Any) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def refused(response: Any, wait: int) -> bool:
    page = response.content.decode()
    return (response.status_code == 429 and response["Retry-After"] == str(wait)
            and "Too many failed logins" in page and "_auth_user_id" not in response.client.session)


@pytest.mark.parametrize("admin", [False, True], ids=["site", "console"])
def test_the_attackers_pair_waits_longer_and_longer_while_the_victim_logs_in(clock, password_checks, admin):
    victim = UserFactory(username="victim", is_staff=admin, is_superuser=admin)
    attacker = Client()
    for _ in range(4):
        response = log_in(attacker, "victim", "guess", ATTACKER, admin=admin)
        assert response.status_code == 200  # the form again, with its error
    # The 5th failure locks the pair for 60 s: the page says so, in the site's design, with Retry-After.
    response = log_in(attacker, "victim", "guess", ATTACKER, admin=admin)
    assert refused(response, 60)
    assert "Please wait 1 minute" in response.content.decode() and 'class="site"' in response.content.decode()
    # Meanwhile the victim logs in from their own address with the right password.
    assert logged_in(log_in(Client(), "victim", PASSWORD, VICTIM, admin=admin))
    for wait, next_wait in zip(WAITS, WAITS[1:], strict=False):
        # Until the wait is over even the right password is refused, without being checked.
        clock.shift(wait - 1)
        checks = len(password_checks)
        assert refused(log_in(attacker, "victim", PASSWORD, ATTACKER, admin=admin), 1)
        assert len(password_checks) == checks
        # Then one more try is allowed; its failure doubles the wait (up to the cap).
        clock.shift(1)
        assert refused(log_in(attacker, "victim", "guess", ATTACKER, admin=admin), next_wait)
        assert len(password_checks) == checks + 1
        assert logged_in(log_in(Client(), "victim", PASSWORD, VICTIM, admin=admin))
    assert AccessAttempt.objects.get(username="victim", ip_address=ATTACKER).failures_since_start == 5 + len(WAITS) - 1
    # After the last wait the right password gets in, and that success clears the pair.
    clock.shift(3600)
    assert logged_in(log_in(attacker, "victim", PASSWORD, ATTACKER, admin=admin))
    assert not AccessAttempt.objects.filter(username="victim").exists()
    assert victim.pk  # (the account itself is untouched)


def test_an_attacker_hopping_addresses_within_their_ipv6_network_is_one_client(clock, settings):
    """An IPv6 attacker holds a whole /64 and may send each guess from a new address in it: the pair, the address's
    ceiling and the reset limit count the network (LIMIT_IPV6_PREFIX), while the victim in another /64 logs in."""
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 10
    settings.PASSWORD_RESET_ADDRESS_LIMIT = 2
    UserFactory(username="victim")
    hops = (f"2001:db8:bad:1::{n:x}" for n in range(1, 100))
    for _ in range(4):
        assert log_in(Client(), "victim", "guess", next(hops)).status_code == 200
    assert refused(log_in(Client(), "victim", "guess", next(hops)), 60)
    assert refused(log_in(Client(), "victim", PASSWORD, next(hops)), 60)
    assert AccessAttempt.objects.get(username="victim").ip_address == "2001:db8:bad:1::"
    assert logged_in(log_in(Client(), "victim", PASSWORD, "2001:db8:bad:2::1"))  # the next /64: someone else
    # Across many accounts: the network's ceiling (the six tries at the victim counted, the refused ones too).
    for name in ("a", "b", "c", "d"):
        assert log_in(Client(), name, "guess", next(hops)).status_code == 200
    response = log_in(Client(), "e", "guess", next(hops))
    assert response.status_code == 429 and "Too many failed logins came from your address" in response.content.decode()
    for _ in range(2):
        assert ask_reset("nobody@example.com", next(hops)).status_code == 302
    assert ask_reset("nobody@example.com", next(hops)).status_code == 429


def test_the_site_and_the_console_count_the_same_pair(clock):
    UserFactory(username="agentx", is_staff=True)
    attacker = Client()
    for admin in (False, True, False, True):
        assert log_in(attacker, "agentx", "guess", ATTACKER, admin=admin).status_code == 200
    assert refused(log_in(attacker, "agentx", "guess", ATTACKER, admin=True), 60)
    assert refused(log_in(attacker, "agentx", PASSWORD, ATTACKER), 60)


def test_the_eleventh_correct_login_in_fifteen_minutes_works(clock):
    UserFactory(username="buyer")
    for _ in range(15):  # one a minute
        client = Client()
        assert logged_in(log_in(client, "buyer", PASSWORD, ATTACKER))
        client.post(reverse("logout"))
        clock.shift(60)
    assert not AccessAttempt.objects.exists()


def test_successes_clear_the_pair_so_typos_never_add_up(clock):
    UserFactory(username="buyer")
    for _ in range(3):
        for _ in range(4):
            assert log_in(Client(), "buyer", "typo", VICTIM).status_code == 200
        assert logged_in(log_in(Client(), "buyer", PASSWORD, VICTIM))


@pytest.mark.parametrize("admin", [False, True], ids=["site", "console"])
def test_unicode_spellings_log_in_as_the_same_user_and_share_the_counter(clock, admin):
    user = UserFactory(username="buyer", is_staff=admin, is_superuser=admin)
    for spelling in ("ｂｕｙｅｒ", "𝐛𝐮𝐲𝐞𝐫", "BUYER", " Buyer "):
        client = Client()
        assert logged_in(log_in(client, spelling, PASSWORD, VICTIM, admin=admin)), spelling
        assert client.session["_auth_user_id"] == str(user.pk)
    attacker = Client()
    for spelling in ("ｂｕｙｅｒ", "𝐛𝐮𝐲𝐞𝐫", "BUYER", "Buyer"):
        assert log_in(attacker, spelling, "guess", ATTACKER, admin=admin).status_code == 200
    assert refused(log_in(attacker, "buyer", "guess", ATTACKER, admin=admin), 60)
    for spelling in ("ｂｕｙｅｒ", "𝐛𝐮𝐲𝐞𝐫", "bUyEr"):  # every spelling is the locked pair
        assert refused(log_in(attacker, spelling, PASSWORD, ATTACKER, admin=admin), 60)
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["buyer"]


def test_a_name_that_grows_when_normalized_is_counted_not_a_server_error(clock):
    """The login form takes 150 characters; NFKC makes "ﷺ" 18, so the normalized name outgrew axes' 255-character
    column (a 500 on PostgreSQL, and the try counted nowhere). No account has such a name: its first 255 characters
    are its key."""
    attacker = Client()
    for _ in range(4):
        assert log_in(attacker, "\ufdfa" * 150, "guess", ATTACKER).status_code == 200
    assert refused(log_in(attacker, "\ufdfa" * 150, "guess", ATTACKER), 60)
    [attempt] = AccessAttempt.objects.all()
    assert len(attempt.username) == 255 and attempt.failures_since_start == 5


def test_an_address_guessing_across_many_accounts_hits_its_ceiling(clock, settings, password_checks):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    for index in range(10):
        UserFactory(username=f"user{index}", is_staff=True, is_superuser=True)
    attacker = Client()
    for index in range(8):  # one guess each: no pair comes near its own limit
        assert log_in(attacker, f"user{index}", "guess", ATTACKER, admin=bool(index % 2)).status_code == 200
    checks = len(password_checks)
    for admin in (False, True):  # refused before any password is checked, the right one included
        response = log_in(attacker, "user9", PASSWORD, ATTACKER, admin=admin)
        assert response.status_code == 429 and response["Retry-After"] == str(15 * 60)
        assert "Too many failed logins came from your address" in response.content.decode()
    assert len(password_checks) == checks
    assert not AccessAttempt.objects.filter(username="user9").exists()  # the refusals lock no pair
    assert logged_in(log_in(Client(), "user9", PASSWORD, VICTIM))  # other addresses are not concerned
    clock.shift(10 * 60)
    assert log_in(attacker, "user9", PASSWORD, ATTACKER)["Retry-After"] == str(5 * 60)
    clock.shift(5 * 60)  # the window is over
    assert logged_in(log_in(attacker, "user9", PASSWORD, ATTACKER))


def test_successful_logins_do_not_count_towards_the_ceiling(clock, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    UserFactory(username="buyer")
    for _ in range(10):
        assert logged_in(log_in(Client(), "buyer", PASSWORD, ATTACKER))


# --- the current password, asked again ------------------------------------------------------------------------------


CHANGE_PASSWORD = {"site": "password_change", "console": "admin:password_change"}


def ask_password(client: Client, where: str, password: str, address: str) -> Any:
    """The password of a logged-in person asked again: to change it (the site, the console) or to confirm it is them
    before a change to their two factors (new recovery codes)."""
    if where == "two_factor":
        return client.post(reverse("accounts:mfa_recovery_codes"), {"confirm": password}, REMOTE_ADDR=address)
    return client.post(reverse(CHANGE_PASSWORD[where]), {
        "old_password": password, "new_password1": "a-new-long-passphrase-42",
        "new_password2": "a-new-long-passphrase-42"}, REMOTE_ADDR=address)


@pytest.fixture
def checked_passwords(monkeypatch) -> list[str]:
    """Every password checked against an account, by any path (the login's backend and every form)."""
    from django.contrib.auth.base_user import AbstractBaseUser

    checked: list[str] = []
    original = AbstractBaseUser.check_password

    def spy(self: Any, raw_password: str | None) -> bool:
        checked.append(raw_password or "")
        return original(self, raw_password)

    monkeypatch.setattr(AbstractBaseUser, "check_password", spy)
    return checked


@pytest.mark.parametrize("where", ["site", "console", "two_factor"])
def test_a_stolen_session_guessing_the_current_password_is_held_up_like_a_login(clock, checked_passwords, where):
    """Whoever holds someone's session (a shared computer, a stolen cookie) must not be able to learn their password
    by guessing at a form that asks for it again: the same pair, the same growing delay as the login."""
    from accounts.tests.two_factor_helpers import give_app

    victim = UserFactory(username="victim", is_staff=where == "console", is_superuser=where == "console")
    if where == "two_factor":
        give_app(victim)
    thief = Client()
    thief.force_login(victim)
    for _ in range(4):
        assert ask_password(thief, where, "guess", ATTACKER).status_code in (200, 400)  # the form, with its error
    response = ask_password(thief, where, "guess", ATTACKER)
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert "Too many failed logins" in response.content.decode()
    assert AccessAttempt.objects.get(username="victim", ip_address=ATTACKER).failures_since_start == 5
    # While the pair waits even the right password is refused, without being checked.
    checks = len(checked_passwords)
    clock.shift(59)
    response = ask_password(thief, where, PASSWORD, ATTACKER)
    assert response.status_code == 429 and response["Retry-After"] == "1"
    assert len(checked_passwords) == checks
    victim.refresh_from_db()
    assert victim.check_password(PASSWORD)
    # The owner, from their own address, is not held up.
    assert logged_in(log_in(Client(), "victim", PASSWORD, VICTIM, admin=where == "console"))
    owner = Client()
    owner.force_login(victim)
    assert ask_password(owner, where, PASSWORD, VICTIM).status_code == 302


# --- password reset ------------------------------------------------------------------------------------------------


def ask_reset(email: str, address: str) -> Any:
    return Client().post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def test_reset_is_limited_per_address(clock, settings):
    settings.PASSWORD_RESET_ADDRESS_LIMIT = 3
    settings.PASSWORD_RESET_WINDOW_SECONDS = 3600
    for index in range(3):
        assert ask_reset(f"nobody{index}@example.com", ATTACKER).status_code == 302
    response = ask_reset("nobody9@example.com", ATTACKER)
    assert response.status_code == 429 and response["Retry-After"] == "3600"
    assert "Too many password reset requests" in response.content.decode()
    assert ask_reset("nobody9@example.com", VICTIM).status_code == 302
    clock.shift(3600)
    assert ask_reset("nobody9@example.com", ATTACKER).status_code == 302


def test_reset_is_limited_per_email_without_telling_whether_it_has_an_account(clock, settings):
    settings.PASSWORD_RESET_EMAIL_LIMIT = 3
    settings.PASSWORD_RESET_WINDOW_SECONDS = 3600
    buyer = UserFactory(username="erika", email="erika@example.com")
    done = reverse("password_reset_done")
    # From a new address each time (the per-address limit does not help here), in any case of the address.
    for index, spelling in enumerate(["erika@example.com", "Erika@Example.com", "ERIKA@EXAMPLE.COM",
                                      "erika@example.COM", "Erika@example.com"]):
        response = ask_reset(spelling, f"192.0.2.{index + 1}")
        assert response.status_code == 302 and response["Location"] == done
    assert len(mail.outbox) == 3 and all(message.to == ["erika@example.com"] for message in mail.outbox)
    # An address with no account gets the same answer, and nothing.
    response = ask_reset("nobody@example.com", "192.0.2.50")
    assert response.status_code == 302 and response["Location"] == done
    assert len(mail.outbox) == 3
    lines = AuditEvent.objects.filter(kind="password_reset")
    assert [line.details["email_sent"] for line in lines.filter(subject_user=buyer).order_by("id")] == [
        True, True, True, False, False]
    assert lines.filter(subject_user__isnull=True).count() == 1
    assert not any("erika" in f"{line.summary} {line.details}".lower() or "example" in str(line.details)
                   for line in lines)  # never the email asked for
    clock.shift(3600)
    ask_reset("erika@example.com", "192.0.2.60")
    assert len(mail.outbox) == 4


# --- API keys -------------------------------------------------------------------------------------------------------


def me(client: Client, key: str, address: str) -> Any:
    return client.get("/api/v1/me", **auth(key), REMOTE_ADDR=address)


def too_many_keys(response: Any, wait: int) -> bool:
    return (response.status_code == 429 and response["Content-Type"] == "application/problem+json"
            and response.json()["type"] == "/api/problems/too-many-failed-keys"
            and response["Retry-After"] == str(wait))


def test_wrong_keys_end_in_a_429_problem_while_a_valid_key_works(client, clock):
    api_key, key = seller_key(SellerFactory())
    old, revoked = seller_key(api_key.seller, name="Old ERP")
    revoke_api_key(api_key=old)
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    for attempt in (wrong, revoked, "mk_00000000_nope", wrong):
        assert me(client, attempt, ATTACKER).status_code == 401
    assert too_many_keys(me(client, revoked, ATTACKER), 60)
    assert too_many_keys(me(client, wrong, ATTACKER), 60)  # refused, not counted
    assert me(client, key, ATTACKER).status_code == 200  # a valid key is never held up...
    assert me(client, wrong, VICTIM).status_code == 401  # ...nor another address
    assert too_many_keys(me(client, wrong, ATTACKER), 60)  # ...and a valid key clears nothing
    clock.shift(60)
    assert too_many_keys(me(client, wrong, ATTACKER), 120)  # the one try after the wait failed: doubled
    clock.shift(119)
    assert too_many_keys(me(client, wrong, ATTACKER), 1)
    attempt = AccessAttempt.objects.get(username=API_KEY_USERNAME, ip_address=ATTACKER)
    assert attempt.failures_since_start == 6


def test_a_wrong_key_counts_once_per_request_through_the_idempotency_middleware(client, clock):
    _api_key, key = seller_key(SellerFactory())
    response = post(client, "/api/v1/claims/C-NONE-0000/messages", key + "x", {"body": "hi"}, REMOTE_ADDR=ATTACKER)
    assert response.status_code == 401
    assert AccessAttempt.objects.get(username=API_KEY_USERNAME).failures_since_start == 1
    for _ in range(4):
        post(client, "/api/v1/claims/C-NONE-0000/messages", key + "x", {"body": "hi"}, REMOTE_ADDR=ATTACKER)
    assert too_many_keys(post(client, "/api/v1/claims/C-NONE-0000/messages", key + "x", {"body": "hi"},
                              REMOTE_ADDR=ATTACKER), 60)
    assert AccessAttempt.objects.get(username=API_KEY_USERNAME).failures_since_start == 5


def test_wrong_keys_do_not_count_towards_the_login_ceiling(client, clock, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    UserFactory(username="buyer")
    for _ in range(6):
        me(client, "mk_00000000_nope", ATTACKER)
    assert logged_in(log_in(Client(), "buyer", PASSWORD, ATTACKER))


# --- the audit log --------------------------------------------------------------------------------------------------


def test_logins_failures_and_lockouts_are_audited_without_names(clock):
    victim = UserFactory(username="victim", email="victim@example.com", is_staff=True, is_superuser=True)
    attacker = Client()
    for _ in range(5):
        log_in(attacker, "ＶＩＣＴＩＭ", "guess", ATTACKER, admin=True)
    log_in(attacker, "victim", PASSWORD, ATTACKER)  # refused while locked
    log_in(attacker, "ghost", "guess", ATTACKER)  # no such account
    log_in(Client(), "victim", PASSWORD, VICTIM)
    me(Client(), "mk_00000000_nope", ATTACKER)
    events = list(AuditEvent.objects.order_by("id"))
    kinds = [(event.kind, event.details.get("path"), event.details.get("refused", "")) for event in events]
    assert kinds == [("login_failed", "admin", "")] * 4 + [
        ("lockout", "admin", ""), ("login_failed", "admin", ""),  # the 5th failure locks (lockout is sent first)
        ("login_failed", "site", "lockout"),
        ("login_failed", "site", ""),
        ("login", "site", ""),
        ("login_failed", "api", ""),
    ]
    for event in events[:8]:
        assert event.subject_user_id == (None if event is events[7] else victim.pk)
        assert event.ip_address == ATTACKER
    assert events[4].details["failures"] == 5 and events[4].details["seconds"] == 60
    assert events[7].details["username_digest"] and "ghost" not in str(events[7].details)
    assert events[8].actor_id == victim.pk and events[8].ip_address == VICTIM
    assert events[9].subject_user_id is None and "username_digest" not in events[9].details
    for event in events:  # never a name or an email
        text = f"{event.summary} {event.details}".lower()
        assert "victim" not in text and "example.com" not in text and "ghost" not in text

"""The lockout rule (accounts.lockout) in itself, usernames in one spelling wherever an account is made or renamed,
the wait in words, and password changes in the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import lockout
from claims.tests.admin_factories import make_superuser
from core.models import AuditEvent
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
NEW_PASSWORD = "a-new-long-passphrase-42"


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_LOCKOUT_BASE_SECONDS = 60
    settings.LOGIN_LOCKOUT_MAX_SECONDS = 3600


# --- the rule ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("failures", "seconds"), [(0, 0), (4, 0), (5, 60), (6, 120), (7, 240), (10, 1920),
                                                   (11, 3600), (12, 3600), (500, 3600)])
def test_the_delay_doubles_from_the_limit_up_to_the_cap(failures, seconds):
    assert lockout.delay_seconds(failures) == seconds


def test_the_delay_follows_the_settings(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_LOCKOUT_BASE_SECONDS = 10
    settings.LOGIN_LOCKOUT_MAX_SECONDS = 25
    assert [lockout.delay_seconds(n) for n in range(2, 7)] == [0, 10, 20, 25, 25]


def test_locked_until_counts_from_the_last_failure():
    assert lockout.locked_until(4, T0) is None
    assert lockout.locked_until(5, T0) == T0 + dt.timedelta(seconds=60)
    assert lockout.locked_until(7, T0) == T0 + dt.timedelta(seconds=240)


@pytest.mark.parametrize(("seconds", "words"), [(1, "1 second"), (59, "59 seconds"), (60, "1 minute"),
                                                (61, "2 minutes"), (3600, "60 minutes")])
def test_the_wait_in_words(seconds, words):
    assert lockout.wait_text(seconds) == words


def test_the_api_keys_username_is_no_accounts():
    from django.contrib.auth.validators import UnicodeUsernameValidator
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        UnicodeUsernameValidator()(lockout.API_KEY_USERNAME)


def test_the_lockout_page_is_german_for_german_speakers(settings):
    UserFactory(username="buyer")
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            response = client.post(reverse("login"), {"username": "buyer", "password": "x"}, REMOTE_ADDR="192.0.2.1")
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert '<html lang="de">' in response.content.decode()


# --- usernames in one spelling -------------------------------------------------------------------------------------


@pytest.fixture
def console(client):
    client.force_login(make_superuser())
    return client


def add_user(console: Client, username: str):  # type: ignore[no-untyped-def]
    return console.post(reverse("admin:auth_user_add"), {
        "username": username, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})


@pytest.mark.parametrize("spelling", ["Bob", "BOB", "ｂｏｂ", "𝐛𝐨𝐛", " bob "])
def test_the_console_refuses_another_spelling_of_a_taken_username(console, spelling):
    UserFactory(username="bob")
    response = add_user(console, spelling)
    assert response.status_code == 200
    assert "A user with that username already exists." in response.content.decode()
    assert get_user_model().objects.filter(username__icontains="b").count() == 1


def test_the_console_makes_accounts_in_their_one_spelling(console):
    response = add_user(console, "Ｅｒｉｋａ")
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="erika").exists()


def test_renaming_an_account_to_another_spelling_of_a_taken_name_is_a_form_error(console):
    UserFactory(username="bob")
    other = UserFactory(username="robert")
    url = reverse("admin:auth_user_change", args=[other.pk])
    page = console.get(url)
    data = {"username": "ＢＯＢ", "email": other.email, "is_active": "on", "date_joined_0": "2026-03-10",
            "date_joined_1": "09:00:00", "initial-date_joined_0": "2026-03-10", "initial-date_joined_1": "09:00:00"}
    assert page.status_code == 200
    response = console.post(url, data)
    assert response.status_code == 200
    assert "A user with that username already exists." in response.content.decode()
    other.refresh_from_db()
    assert other.username == "robert"
    data["username"] = "Ｒｏｂｂｉｅ"
    assert console.post(url, data).status_code == 302
    other.refresh_from_db()
    assert other.username == "robbie"


# --- password changes in the audit log -----------------------------------------------------------------------------


def test_a_password_changed_on_the_site_is_audited(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("password_change"), {
        "old_password": "pw-for-tests-only", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    event = AuditEvent.objects.get(kind="password_changed")
    assert event.actor == user and event.subject_user == user and event.details == {"path": "site"}


def test_a_wrong_old_password_changes_nothing_and_audits_nothing(client):
    client.force_login(UserFactory())
    response = client.post(reverse("password_change"), {
        "old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(kind="password_changed").exists()


def test_a_password_chosen_through_a_reset_link_is_audited():
    user = UserFactory()
    client = Client()
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    form_url = client.get(reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token}))["Location"]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
                           REMOTE_ADDR="192.0.2.9")
    assert response.status_code == 302
    event = AuditEvent.objects.get(kind="password_changed")
    assert event.actor == user and event.details == {"path": "reset"} and event.ip_address == "192.0.2.9"


def test_the_reset_email_link_goes_to_the_audited_page(settings):
    UserFactory(email="erika@example.com")
    Client().post(reverse("password_reset"), {"email": "erika@example.com"})
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_passwords_set_in_the_console_are_audited(console):
    buyer = UserFactory()
    response = console.post(reverse("admin:auth_user_password_change", args=[buyer.pk]), {
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(kind="password_changed")
    assert event.subject_user == buyer and event.actor.is_superuser and event.details == {"path": "admin"}


def test_the_consoles_own_password_page_is_audited(client):
    admin_user = make_superuser()
    client.force_login(admin_user)
    response = client.post(reverse("admin:password_change"), {
        "old_password": "pw-for-tests-only", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    event = AuditEvent.objects.get(kind="password_changed")
    assert event.actor == admin_user and event.subject_user == admin_user
    assert client.post(reverse("admin:password_change"), {"old_password": "wrong"}).status_code == 200
    assert AuditEvent.objects.filter(kind="password_changed").count() == 1

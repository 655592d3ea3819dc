"""The demo's two factors (issue 18): admin, agent and finance have an authenticator app with the documented demo
secret, `manage.py totp_code` prints its code, and the printed logins say so."""

from __future__ import annotations

import base64
import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.tests.two_factor_helpers import give_app
from claims.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, 7, tzinfo=dt.UTC)


def totp_code(username: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("totp_code", username, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_totp_code_prints_what_the_app_shows():
    user = UserFactory(username="operator")
    device = give_app(user)
    with time_machine.travel(NOW, tick=False):
        code, note = totp_code("OPERATOR")  # the username in any spelling, as at login
    assert code == str(hotp(device.bin_key, int(NOW.timestamp()) // 30, digits=6)).zfill(6)
    assert note == ""


def test_totp_code_says_when_the_code_was_used():
    user = UserFactory(username="operator")
    device = give_app(user)
    device.last_t = int(NOW.timestamp()) // 30
    device.save()
    with time_machine.travel(NOW, tick=False):
        _code, note = totp_code("operator")
    assert "already used" in note and "23 s" in note  # 09:00:07: the next code at 09:00:30


def test_totp_code_refuses_without_an_app():
    UserFactory(username="nobody2fa")
    with pytest.raises(CommandError, match="has no confirmed authenticator app"):
        totp_code("nobody2fa")
    TOTPDevice.objects.create(user=UserFactory(username="halfway"), name="authenticator app", confirmed=False)
    with pytest.raises(CommandError, match="has no confirmed authenticator app"):
        totp_code("halfway")
    with pytest.raises(CommandError, match="No account"):
        totp_code("ghost")


def test_the_demo_console_logins_have_the_documented_app():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    output = out.getvalue()
    key = base64.b32decode(DEMO_TOTP_SECRET).hex()
    with_app = set(TOTPDevice.objects.filter(confirmed=True, key=key).values_list("user__username", flat=True))
    assert with_app == {"admin", "agent", "finance"}
    assert TOTPDevice.objects.count() == 3
    assert "DEMO 2FAD EMO2 FADE MO2F ADEM O2FA DEMO" in output and "manage.py totp_code agent" in output

    # the agent logs in as the README says: password, then the code totp_code prints
    client = Client()
    client.post("/accounts/login/", {"username": "agent", "password": DEMO_PASSWORD})
    assert client.get("/admin/")["Location"].startswith("/account/two-factor/verify/")
    code, _note = totp_code("agent")
    assert client.post("/account/two-factor/verify/", {"code": code, "next": "/admin/"})["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

    # a demo seeded before two factors existed gets the apps on the next run, and only then
    TOTPDevice.objects.all().delete()
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert "only gave admin, agent, finance the demo authenticator app" in again.getvalue()
    assert TOTPDevice.objects.filter(key=key).count() == 3

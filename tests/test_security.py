"""Production hardening: headers, rate limits, deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from claims.tests.factories import OPENED_AT, delivered_order, photo
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_every_page_has_a_strict_content_security_policy(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_login_attempts_are_limited(client, settings):
    """Failed logins lock their (username, address) pair (accounts.lockout; every path and the growing delay in
    tests/test_brute_force.py)."""
    settings.LOGIN_FAILURE_LIMIT = 3
    user = UserFactory()
    for _ in range(2):
        response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
        assert response.status_code == 200
    response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    assert response.status_code == 429 and "Too many failed logins" in response.content.decode()
    response = client.post(reverse("login"), {"username": user.username, "password": "pw-for-tests-only"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


def test_opening_claims_is_limited_per_buyer(client, settings):
    import time_machine

    settings.OPEN_CLAIM_RATE_LIMIT = 2
    buyer = UserFactory()
    client.force_login(buyer)
    with time_machine.travel(OPENED_AT, tick=False):
        for _ in range(2):
            order = delivered_order(buyer=buyer)
            url = reverse("claims:get_help", kwargs={"number": order.number})
            data = {"items": [str(order.items.first().pk)], "reason": "defective", "description": "Broken",
                    "desired_outcome": "repair", "discovered_on": "2026-03-09", "photos": [photo()]}
            assert client.post(url, data).status_code == 302
        order = delivered_order(buyer=buyer)
        response = client.post(reverse("claims:get_help", kwargs={"number": order.number}), {})
    assert response.status_code == 429
    assert order.claims.count() == 0


def test_production_settings_pass_the_deploy_check():
    env = {**{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},  # set by browser tests
           "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "DJANGO_SECRET_KEY": "x" * 20 + "-production-check-only-" + "y" * 30,
           "DJANGO_ALLOWED_HOSTS": "support.example.com", "DATABASE_URL": "postgres://u@127.0.0.1:5432/db",
           "REDIS_URL": "redis://127.0.0.1:6379/0"}
    result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

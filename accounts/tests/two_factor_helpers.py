"""Test helpers for two factors (issue 18): a confirmed authenticator app for a person, a test client's session
marked as having passed its second factor, and the code an app would show now."""

from __future__ import annotations

import base64
import time
from typing import Any

from django.conf import settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP, hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor


def give_app(user: Any) -> TOTPDevice:
    """The person's confirmed app, made (with a random secret) when they have none."""
    return two_factor.app_device(user) or TOTPDevice.objects.create(user=user, name=two_factor.APP_DEVICE_NAME,
                                                                   confirmed=True)


def needs_verified_session(user: Any) -> bool:
    """Whom the test client's force_login lets in as past their second factor: the roles that must use two factors
    and anyone who has an app. Asked of a fresh instance, so the caller's permission cache stays as it was."""
    fresh = type(user)._default_manager.get(pk=user.pk)
    return two_factor.must_use_two_factors(fresh) or two_factor.has_two_factors(fresh)


def mark_verified(client: Any, device: TOTPDevice) -> None:
    """What django_otp.login does to a session, for a test client's session."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key


def code_to_enter(device: TOTPDevice) -> str:
    """A code the device accepts now: the current one, or the next (within its tolerance) when the current one was
    already used by an earlier login of the same test."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    step = max(totp.t(), device.last_t + 1)
    if step > totp.t() + device.tolerance:
        before = time.time()
        time.sleep(device.step - (before - device.t0) % device.step + 0.05)
        if time.time() == before:
            raise RuntimeError("every code of this step and the next was used, and the clock is frozen")
        return code_to_enter(device)
    return str(hotp(device.bin_key, step, digits=device.digits)).zfill(device.digits)


def code_for_secret(secret: str) -> str:
    """What an authenticator app given this key (base32, as the set-up page shows it) shows now."""
    key = base64.b32decode(secret.replace(" ", "").upper())
    return str(hotp(key, int(time.time()) // 30, digits=6)).zfill(6)

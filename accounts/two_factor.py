"""Two factors (issue 18): a TOTP authenticator app (django-otp's TOTPDevice) with recovery codes (one StaticDevice
per person holding single-use codes).

Agents, the finance team and superusers must use them (`must_use_two_factors`); anyone else may turn them on. Whoever
has them is asked for a code at every login (accounts.middleware.TwoFactorMiddleware). The pages (accounts.views) call
only the functions here: what a set-up looks like (secret, QR code), confirming a new app, checking a code of either
kind (throttled by django-otp, every failure in the audit log), new recovery codes, turning off, and the check of the
current password or a current code that every change needs.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.oath import TOTP, hotp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from core import roles
from core.audit import record
from core.models import AuditKind

from . import lockout

# Device names are labels in django-otp's tables, not text shown to people.
APP_DEVICE_NAME = "authenticator app"
RECOVERY_DEVICE_NAME = "recovery codes"
# A recovery code: 8 characters of base32 (40 random bits), shown as two groups of four; guessing one is limited by
# the same throttle as the app's codes.
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
RECOVERY_LENGTH = 8
TOTP_PATTERN = re.compile(r"\d{6,8}")
RECOVERY_PATTERN = re.compile(rf"[{RECOVERY_ALPHABET}]{{{RECOVERY_LENGTH}}}")


class TwoFactorError(Exception):
    """A refusal to tell the person, in their words: a wrong code, a role that may not turn two factors off."""


class TooManyAttempts(TwoFactorError):
    def __init__(self, message: str, *, wait_seconds: int) -> None:
        super().__init__(message)
        self.wait_seconds = wait_seconds


# --- who and what ---------------------------------------------------------------------------------------------------


def must_use_two_factors(user: Any) -> bool:
    """Issue 18: "Agents, finance and superusers must use TOTP with recovery codes"."""
    return bool(user is not None and user.is_authenticated and user.is_active
                and (user.is_superuser or roles.is_agent(user) or roles.may_manage_payouts(user)))


def app_device(user: Any) -> TOTPDevice | None:
    """The person's confirmed authenticator app (one at most: a new one replaces the old)."""
    if user is None or not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def is_verified(user: Any) -> bool:
    """This session passed its second factor. django-otp's OTPMiddleware gives request.user `is_verified()`; the
    user model's types do not have it."""
    return user.is_verified()


def has_two_factors(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated
                and TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def step_needed(user: Any) -> str | None:
    """What a logged-in session that has not passed its second factor must do before anything else: "verify" (it
    has an app: every login asks for a code, whatever the role), "setup" (a role that must use two factors, no app
    yet) or nothing."""
    if has_two_factors(user):
        return "verify"
    if must_use_two_factors(user):
        return "setup"
    return None


@dataclass(frozen=True)
class Status:
    on: bool
    required: bool
    since: datetime | None
    last_used: datetime | None
    recovery_codes_left: int


def status(user: Any) -> Status:
    """What the security page says about a person's two factors."""
    device = app_device(user)
    return Status(on=device is not None, required=must_use_two_factors(user),
                  since=device.created_at if device else None, last_used=device.last_used_at if device else None,
                  recovery_codes_left=recovery_codes_left(user) if device else 0)


def recovery_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- setting up -------------------------------------------------------------------------------------------------------


def new_secret() -> str:
    """A new TOTP secret, hex as django-otp keeps it (20 random bytes, as RFC 4226 recommends)."""
    return random_hex(20)


def valid_secret(key: Any) -> TypeGuard[str]:
    try:
        return isinstance(key, str) and len(binascii.unhexlify(key)) == 20
    except (binascii.Error, ValueError):
        return False


def secret_for_people(key: str) -> str:
    """The secret as authenticator apps take it by hand: base32, in groups of four."""
    text = base64.b32encode(binascii.unhexlify(key)).decode().rstrip("=")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def issuer() -> str:
    return settings.OTP_TOTP_ISSUER or settings.MARKETPLACE_NAME


def provisioning_uri(user: Any, key: str) -> str:
    """The otpauth:// address the QR code holds (Google's Key Uri Format, which every authenticator app reads)."""
    name = issuer().replace(":", "")
    label = quote(f"{name}:{user.get_username()}")
    params = urlencode({"secret": secret_for_people(key).replace(" ", ""), "issuer": name, "algorithm": "SHA1",
                        "digits": 6, "period": 30}, quote_via=quote)
    return f"otpauth://totp/{label}?{params}"


def qr_code_svg(uri: str, *, label: str) -> SafeString:
    """The QR code as inline SVG (no image request, nothing the Content-Security-Policy has to allow), named for
    screen readers."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff", svgclass="qr-code",
                                                 omitsize=False)
    # segno writes no role: an <svg> without one is not announced as an image.
    svg = svg.replace("<svg ", format_html('<svg role="img" aria-label="{}" ', label), 1)
    return mark_safe(svg)  # noqa: S308 - segno's own markup, the label escaped by format_html


def _matching_step(key: str, code: str, *, tolerance: int = 1) -> int | None:
    """The time step a code of this secret belongs to (now, or one step either side), or None."""
    if not TOTP_PATTERN.fullmatch(code):
        return None
    totp = TOTP(binascii.unhexlify(key), step=30, t0=0, digits=6)
    totp.time = time.time()
    if totp.verify(int(code), tolerance=tolerance):
        return totp.t()
    return None


def confirm_app(*, user: Any, key: str, code: str, request: HttpRequest | None = None) -> tuple[TOTPDevice, list[str]]:
    """Issue 18: "the user confirms with a code before the device is confirmed". The code proves the app holds the
    secret; then the app replaces any earlier one, the recovery codes are made anew (returned to be shown once), and
    the audit log says two factors were turned on."""
    if not valid_secret(key):
        raise TwoFactorError(_("This set-up has expired. Please add the new key below to your app."))
    step = _matching_step(key, normalize_code(code))
    if step is None:
        raise TwoFactorError(_("That code does not match. Check that your phone's clock is right and enter the code "
                               "your app shows now."))
    with transaction.atomic():
        replaced, _kinds = TOTPDevice.objects.filter(user=user).delete()
        # The confirming code is used up: it cannot also serve as the next login's code.
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, key=key, confirmed=True, last_t=step)
        codes = _replace_recovery_codes(user)
        record(AuditKind.MFA_ENABLED, actor=user, request=request, obj=device, replaced_app=bool(replaced),
               recovery_codes=len(codes))
    return device, codes


# --- recovery codes ---------------------------------------------------------------------------------------------------


def _new_recovery_code() -> str:
    return "".join(secrets.choice(RECOVERY_ALPHABET) for _i in range(RECOVERY_LENGTH))


def show_recovery_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _replace_recovery_codes(user: Any) -> list[str]:
    """New codes on the person's one recovery device; the old ones stop working. The device itself stays, so a
    session that was let in with a recovery code stays verified."""
    device = StaticDevice.objects.filter(user=user).order_by("id").first()
    if device is None:
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.token_set.all().delete()
    codes: set[str] = set()
    while len(codes) < settings.MFA_RECOVERY_CODES:
        codes.add(_new_recovery_code())
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in sorted(codes)])
    return [show_recovery_code(code) for code in sorted(codes)]


def new_recovery_codes(*, user: Any, request: HttpRequest | None = None) -> list[str]:
    """Issue 18: "POST regenerates MFA_RECOVERY_CODES codes, shows them once; old ones stop working"."""
    if not has_two_factors(user):
        raise TwoFactorError(_("Turn on two-factor authentication first: recovery codes belong to an authenticator "
                               "app."))
    with transaction.atomic():
        codes = _replace_recovery_codes(user)
        record(AuditKind.MFA_RECOVERY_CODES, actor=user, request=request, count=len(codes))
    return codes


# --- checking a code --------------------------------------------------------------------------------------------------


def normalize_code(code: str) -> str:
    """What people type, as the devices compare it: no spaces or dashes (codes are shown grouped), lower case."""
    return re.sub(r"[\s\-]", "", str(code or "")).lower()


def looks_like_code(code: str) -> bool:
    normalized = normalize_code(code)
    return bool(TOTP_PATTERN.fullmatch(normalized) or RECOVERY_PATTERN.fullmatch(normalized))


def _wait_seconds(*devices: Any) -> int:
    """How long django-otp's throttle still holds (its delay doubles with every wrong code in a row)."""
    now = timezone.now()
    wait = 0
    for device in devices:
        if device is None:
            continue
        allowed, info = device.verify_is_allowed()
        if not allowed and info and info.get("locked_until"):
            wait = max(wait, math.ceil((info["locked_until"] - now).total_seconds()), 1)
    return wait


@dataclass(frozen=True)
class Verified:
    device: Any  # the TOTPDevice or the StaticDevice that accepted the code (django_otp.login takes it)
    recovery_code_used: bool
    recovery_codes_left: int | None  # after a recovery code: how many are left


def verify_code(*, user: Any, code: str, request: HttpRequest | None = None, purpose: str = "login") -> Verified:
    """Issue 18: "a TOTP code or a recovery code; wrong codes limited: django-otp's throttling AND count failures in
    the audit log". The app's throttle is the gate for both kinds: a wrong recovery code counts there too, so
    guessing cannot switch to the other kind to get round it. A recovery code works once."""
    normalized = normalize_code(code)
    is_app_code = bool(TOTP_PATTERN.fullmatch(normalized))
    if not is_app_code and not RECOVERY_PATTERN.fullmatch(normalized):
        raise TwoFactorError(_("Enter the 6-digit code from your app, or one of your recovery codes (8 letters and "
                               "digits)."))
    outcome: Verified | None = None
    wait = 0
    with transaction.atomic():
        # Locked rows: two requests at once cannot both use one code or both slip past the throttle.
        app = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("-id").first()
        if app is None:
            raise TwoFactorError(_("Two-factor authentication is not turned on for this account."))
        recovery = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("id").first()
        wait = _wait_seconds(app, recovery)
        if wait:
            record(AuditKind.MFA_FAILED, actor=user, request=request, obj=app, purpose=purpose, throttled=True)
        elif is_app_code:
            if app.verify_token(normalized):  # resets its throttle, or counts the failure
                outcome = Verified(device=app, recovery_code_used=False, recovery_codes_left=None)
        elif recovery is not None and recovery.verify_token(normalized):  # deletes the code it matched
            app.throttle_reset()
            left = recovery.token_set.count()
            record(AuditKind.MFA_RECOVERY_CODE_USED, actor=user, request=request, obj=recovery, purpose=purpose,
                   left=left)
            outcome = Verified(device=recovery, recovery_code_used=True, recovery_codes_left=left)
        else:
            app.throttle_increment()
        if outcome is None and not wait:
            record(AuditKind.MFA_FAILED, actor=user, request=request, obj=app, purpose=purpose,
                   code_kind="app" if is_app_code else "recovery", failures_in_a_row=app.throttling_failure_count)
    if wait:
        raise TooManyAttempts(ngettext(
            "Too many wrong codes. Please wait %(seconds)d second and try again.",
            "Too many wrong codes. Please wait %(seconds)d seconds and try again.", wait) % {"seconds": wait},
            wait_seconds=wait)
    if outcome is None:
        raise TwoFactorError(_("That code is not right. Enter the code your app shows now, or an unused recovery "
                               "code."))
    return outcome


def confirm_it_is_them(*, user: Any, secret: str, request: HttpRequest) -> None:
    """Issue 18: "changing anything needs the current password or a current code". The password is checked as a
    login is (accounts.lockout.check_current_password: the person's pair and address, the growing delay), so a
    borrowed session cannot guess it here; a code is checked (and throttled, and logged) as at login, before a wrong
    password is counted."""
    on = has_two_factors(user)
    code_refusal: TwoFactorError | None = None

    def by_code() -> bool:
        nonlocal code_refusal
        if not (on and looks_like_code(secret)):
            return False
        try:
            verify_code(user=user, code=secret, request=request, purpose="confirm")
        except TwoFactorError as error:
            code_refusal = error
            return False
        return True

    if lockout.check_current_password(request=request, user=user, password=secret, alternative=by_code):
        return
    if isinstance(code_refusal, TooManyAttempts):
        raise code_refusal
    if on:
        raise TwoFactorError(_("That is neither your current password nor a current code. Nothing was changed."))
    raise TwoFactorError(_("That is not your current password. Nothing was changed."))


# --- turning off ------------------------------------------------------------------------------------------------------


def turn_off(*, user: Any, request: HttpRequest | None = None) -> None:
    """Issue 18: optional for seller staff and everyone else, who may turn it off again; never for the roles that
    must use it."""
    if must_use_two_factors(user):
        raise TwoFactorError(_("Your role in the support team requires two-factor authentication, so it cannot be "
                               "turned off. If you have a new phone, set up the new authenticator app instead."))
    if not has_two_factors(user):
        raise TwoFactorError(_("Two-factor authentication is not turned on for this account."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        record(AuditKind.MFA_DISABLED, actor=user, request=request)


def reset(*, user: Any, by: Any, request: HttpRequest | None = None) -> None:
    """A superuser's reset in the console (accounts.admin_two_factor), for a person who lost both their phone and
    their recovery codes: app and codes are gone; whoever must use two factors sets up a new app at the next login."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        record(AuditKind.MFA_DISABLED, actor=by, subject=user, request=request, reset_by_support=True)


# --- codes for operators and tests ------------------------------------------------------------------------------------


def current_code(device: TOTPDevice, *, at: float | None = None) -> tuple[str, int, bool]:
    """The device's code now (as its app shows it), the seconds it stays valid, and whether it was already used (a
    code works once: the next one comes with the next step). For `manage.py totp_code` and for tests."""
    now = time.time() if at is None else at
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = now
    step = totp.t()
    code = str(hotp(device.bin_key, step, digits=device.digits)).zfill(device.digits)
    valid_for = device.step - int(now - device.t0) % device.step
    return code, valid_for, step <= device.last_t

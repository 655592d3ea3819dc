"""The account security pages (issue 18: two factors): the overview, setting up an authenticator app, entering a
code at login, new recovery codes. Each asks accounts.two_factor and shows the answer. And "Change password", for the
site and the console."""

from __future__ import annotations

from typing import Any

import django_otp
from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import two_factor
from .forms import ConfirmItIsYouForm, PasswordChangeForm, SetupForm, VerifyForm

PENDING_KEY = "two_factor_pending_key"  # the secret being set up: in the session until a code confirms it
CODES_ONCE = "two_factor_codes_once"  # new recovery codes, until the page that shows them once is opened


def _next(request: HttpRequest) -> str:
    """Where the person was going (from ?next= or the form), if it is on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return ""


def _with_next(url: str, target: str) -> str:
    return f"{url}?{urlencode({'next': target})}" if target else url


def _refused(form: forms.Form, error: two_factor.TwoFactorError) -> int:
    form.add_error(None, str(error))
    return 429 if isinstance(error, two_factor.TooManyAttempts) else 400


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, with the current password checked as a login is (accounts.forms.PasswordChangeForm)."""

    form_class = PasswordChangeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """Status, set up, new recovery codes, turn off (POST; refused for the roles that must use two factors)."""
    user = request.user
    form = ConfirmItIsYouForm(request.POST or None, user=user)
    http_status = 200
    if request.method == "POST":
        if two_factor.must_use_two_factors(user):
            form.add_error(None, _("Your role in the support team requires two-factor authentication, so it cannot "
                                   "be turned off. If you have a new phone, set up the new authenticator app "
                                   "instead."))
            http_status = 403
        elif form.is_valid():
            try:
                two_factor.confirm_it_is_them(user=user, secret=form.cleaned_data["confirm"], request=request)
                two_factor.turn_off(user=user, request=request)
            except two_factor.TwoFactorError as error:
                http_status = _refused(form, error)
            else:
                messages.success(request, _("Two-factor authentication is off. You log in with your password "
                                            "alone."))
                return redirect("accounts:security")
        else:
            http_status = 400
    return render(request, "accounts/security.html", {
        "status": two_factor.status(user), "form": form,
    }, status=http_status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """A new authenticator app: its secret as a QR code and as text; a code from the app (and the password or a code
    of the current app) confirms it. A second set-up replaces the app (a new phone)."""
    user = request.user
    target = _next(request)
    if two_factor.has_two_factors(user) and not two_factor.is_verified(user):
        # Replacing an app needs the current one first (the middleware says the same; a password alone never does).
        return redirect(_with_next(reverse("accounts:mfa_verify"), request.get_full_path()))
    key = request.session.get(PENDING_KEY)
    if not two_factor.valid_secret(key):
        key = request.session[PENDING_KEY] = two_factor.new_secret()
    form = SetupForm(request.POST or None, user=user)
    http_status = 200
    if request.method == "POST":
        http_status = 400
        if form.is_valid():
            try:
                two_factor.confirm_it_is_them(user=user, secret=form.cleaned_data["confirm"], request=request)
                device, codes = two_factor.confirm_app(user=user, key=key, code=form.cleaned_data["code"],
                                                       request=request)
            except two_factor.TwoFactorError as error:
                http_status = _refused(form, error)
            else:
                del request.session[PENDING_KEY]
                request.session.cycle_key()
                django_otp.login(request, device)  # this session passed its second factor
                request.session[CODES_ONCE] = codes
                messages.success(request, _("Two-factor authentication is on. From now on you enter a code from "
                                            "your app when you log in."))
                return redirect(_with_next(reverse("accounts:mfa_recovery_codes"), target))
    uri = two_factor.provisioning_uri(user, key)
    return render(request, "accounts/setup.html", {
        "form": form, "next": target, "secret": two_factor.secret_for_people(key), "issuer": two_factor.issuer(),
        "qr_code": two_factor.qr_code_svg(uri, label=_("QR code to scan with your authenticator app")),
        "required": two_factor.must_use_two_factors(user), "replacing": two_factor.has_two_factors(user),
        "second_factor_pending": two_factor.must_use_two_factors(user) and not two_factor.is_verified(user),
    }, status=http_status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """The second step of every login for whoever has an app: a code from it, or a recovery code."""
    user = request.user
    target = _next(request)
    if two_factor.is_verified(user):
        return redirect(target or "home")
    if not two_factor.has_two_factors(user):
        page = "accounts:mfa_setup" if two_factor.must_use_two_factors(user) else "accounts:security"
        return redirect(_with_next(reverse(page), target))
    form = VerifyForm(request.POST or None)
    http_status = 200
    if request.method == "POST":
        http_status = 400
        if form.is_valid():
            try:
                verified = two_factor.verify_code(user=user, code=form.cleaned_data["code"], request=request)
            except two_factor.TwoFactorError as error:
                http_status = _refused(form, error)
            else:
                request.session.cycle_key()  # a new session id for the session that now counts as fully logged in
                django_otp.login(request, verified.device)
                left = verified.recovery_codes_left
                if verified.recovery_code_used and left is not None:
                    messages.warning(request, ngettext(
                        "You used a recovery code. You have %(left)d left: make new ones on the account security "
                        "page before they run out.",
                        "You used a recovery code. You have %(left)d left: make new ones on the account security "
                        "page before they run out.", left) % {"left": left})
                return redirect(target or "home")
    return render(request, "accounts/verify.html", {"form": form, "next": target, "second_factor_pending": True},
                  status=http_status)


@never_cache  # shows new recovery codes once: no copy of them kept by the browser (back button)
@login_required
@require_http_methods(["GET", "POST"])
def mfa_recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes (POST, confirmed with the password or a code); they are shown once, on the GET after."""
    user = request.user
    target = _next(request)
    if not two_factor.has_two_factors(user):
        messages.info(request, _("Recovery codes come with two-factor authentication: turn it on first."))
        return redirect("accounts:security")
    form = ConfirmItIsYouForm(request.POST or None, user=user)
    http_status = 200
    if request.method == "POST":
        http_status = 400
        if form.is_valid():
            try:
                two_factor.confirm_it_is_them(user=user, secret=form.cleaned_data["confirm"], request=request)
                codes = two_factor.new_recovery_codes(user=user, request=request)
            except two_factor.TwoFactorError as error:
                http_status = _refused(form, error)
            else:
                request.session[CODES_ONCE] = codes
                messages.success(request, _("You have new recovery codes. The old ones no longer work."))
                return redirect(_with_next(reverse("accounts:mfa_recovery_codes"), target))
    codes = request.session.pop(CODES_ONCE, None)
    return render(request, "accounts/recovery_codes.html", {
        "codes": codes, "form": form, "next": target, "left": two_factor.recovery_codes_left(user),
    }, status=http_status)

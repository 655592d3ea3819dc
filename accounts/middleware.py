"""Issue 18: "enforced on the console and every other page": a logged-in session that has not passed its second factor
reaches nothing but the two-factor pages, logging in and out, the language switch and password resets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from . import two_factor

# What an unverified session may still open: the set-up and verification pages (the set-up only while there is no
# app to verify with, so a password alone never replaces one), leaving or switching accounts, the language, and
# password resets (the reset link is its own proof), the public privacy notice (linked from every page's footer), and
# the home page, which only sends each person on to their start page (where the second factor is asked for, with that
# page as `next`). The API takes keys, never a session.
ALWAYS_OPEN = {"logout", "admin:logout", "login", "admin:login", "set_language", "password_reset",
               "password_reset_done", "password_reset_confirm", "password_reset_complete", "accounts:mfa_verify",
               "privacy", "home"}
STEP_PAGES = {"setup": "accounts:mfa_setup", "verify": "accounts:mfa_verify"}
OPEN_PREFIXES = ("/api/",)


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return (request.headers.get("X-Requested-With") == "XMLHttpRequest"
            or request.content_type == "application/json"
            or ("application/json" in accept and "text/html" not in accept))


class TwoFactorMiddleware:
    """After django-otp's OTPMiddleware (which sets request.user.is_verified()). A person who must use two factors
    and has no app yet is sent to set one up; anyone with an app is sent to enter a code — with `next`, so they land
    where they were going. Where a redirect would be wrong (a form sent, a script asking for JSON) the answer is 403
    with the way to the page that lets them in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any,
                     view_kwargs: Any) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        name = match.view_name if match is not None else ""
        if name in ALWAYS_OPEN or request.path_info.startswith(OPEN_PREFIXES) or (match and "api" in match.namespaces):
            return None
        step = two_factor.step_needed(user)
        if step is None or name == STEP_PAGES[step]:
            return None
        return self.refuse(request, step)

    def refuse(self, request: HttpRequest, step: str) -> HttpResponse:
        page = reverse(STEP_PAGES[step])
        if request.method in ("GET", "HEAD") and not wants_json(request):
            return redirect(f"{page}?{urlencode({'next': request.get_full_path()})}")
        # A POST cannot be replayed after the code: back to the page it came from (this site's only).
        referer = request.headers.get("Referer", "")
        back = referer if url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                                         require_https=request.is_secure()) else ""
        url = f"{page}?{urlencode({'next': back})}" if back else page
        message = (_("Set up two-factor authentication first.") if step == "setup"
                   else _("Enter a code from your authenticator app first."))
        if wants_json(request):
            return JsonResponse({"detail": message, "two_factor_url": url}, status=403)
        return render(request, "accounts/two_factor_required.html", {
            "message": message, "url": url, "step": step, "second_factor_pending": True}, status=403)

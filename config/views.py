import unicodedata
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from core import ratelimit


class LoginView(auth_views.LoginView):
    """Django's login, with failed attempts limited per address and per username against password guessing."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:  # type: ignore[no-untyped-def]
        username = (request.POST.get("username") or "").strip().lower()
        limit, window = settings.LOGIN_RATE_LIMIT, settings.LOGIN_RATE_WINDOW_SECONDS
        allowed = ratelimit.hit("login-ip", ratelimit.client_ip(request), limit=limit * 5, window_seconds=window)
        allowed = ratelimit.hit("login-user", username, limit=limit, window_seconds=window) and allowed
        if not allowed:
            return ratelimit.too_many(request, _(
                "Too many login attempts. Please wait %(minutes)d minutes and try again, or "
                "reset your password.") % {"minutes": window // 60})
        return super().post(request, *args, **kwargs)


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, which also sends the link to a buyer whose account the shop made with their order
    (orders.services.buyer_for_email): no usable password yet and never logged in. Choosing a password through the
    link is how that buyer gets in. Django leaves out every account without a usable password; one that has logged
    in before and then lost it (made unusable on purpose) still gets nothing."""

    def get_users(self, email: str) -> Iterator[Any]:
        user_model = get_user_model()
        email_field = user_model.get_email_field_name()
        users = user_model._default_manager.filter(**{f"{email_field}__iexact": email, "is_active": True})
        for user in users:
            # As Django compares: the address exactly, up to Unicode case (an __iexact match alone is not enough).
            same = (unicodedata.normalize("NFKC", email).casefold()
                    == unicodedata.normalize("NFKC", getattr(user, email_field)).casefold())
            if same and (user.has_usable_password() or user.last_login is None):
                yield user

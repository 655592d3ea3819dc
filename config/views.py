from django.conf import settings
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

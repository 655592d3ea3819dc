"""Who calls: an API key in `Authorization: Bearer <key>` (integrations.keys). A seller's key acts as a member of
that seller's staff (its own user), so claims.roles authorizes every request as it would that staff member on the
dashboard; a platform key is the shop's. Each key has its own rate limit (API_RATE_LIMIT per
API_RATE_WINDOW_SECONDS), answered with 429 and Retry-After; a read key may only read.

A wrong or revoked key is a failed login (issue 18: every login path guarded): django-axes counts it for the pair
(accounts.lockout.API_KEY_USERNAME, client address) with the site's growing delay, and while that pair is locked a
wrong key is answered 429 too-many-failed-keys (Retry-After) instead of 401. A valid key always works: what is
locked is guessing from that address, not the keys."""

from __future__ import annotations

import math
import time
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from accounts import lockout
from integrations import keys
from integrations.models import ApiKey

from .problems import Problem

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def check_rate(api_key: ApiKey) -> None:
    """Count this request in the key's current window; past the limit, 429 with the seconds left in the window."""
    limit, window = settings.API_RATE_LIMIT, settings.API_RATE_WINDOW_SECONDS
    now = time.time()
    slot = int(now // window)
    cache_key = f"api-rate:{api_key.pk}:{slot}"
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        retry_after = max(1, math.ceil((slot + 1) * window - now))
        raise Problem("rate-limited",
                      _("This key made more than %(limit)d requests in %(window)d seconds. Try again in %(wait)d "
                        "seconds.") % {"limit": limit, "window": window, "wait": retry_after},
                      headers={"Retry-After": str(retry_after)})


def count_key_failure(request: HttpRequest) -> None:
    """A wrong or revoked key: a failed login of its pair, counted once per request (the idempotency middleware looked
    the key up too, and counts nothing). As axes' own backend does, a try while the pair is locked is refused without
    being counted; the try that reaches the limit and every one after it are answered 429."""
    if getattr(request, "key_failure_counted", False):
        return
    request.key_failure_counted = True  # type: ignore[attr-defined]  # our mark on Django's request
    credentials = {"username": lockout.API_KEY_USERNAME}
    if not AxesProxyHandler.is_allowed(request, credentials):
        request.axes_locked_out = True  # type: ignore[attr-defined]  # read by axes, as its own backend sets it
    # Axes records the failure (or, locked, only says so), the audit log its line (accounts.receivers).
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    if getattr(request, "axes_locked_out", False):
        wait = lockout.wait_seconds(request, credentials)
        raise Problem("too-many-failed-keys",
                      _("Too many wrong or revoked API keys were sent from your address. Try again in %(wait)d "
                        "seconds; a valid key is not held up.") % {"wait": wait},
                      headers={"Retry-After": str(wait)})


class KeyAuth(HttpBearer):
    """`kind`: "seller" (a seller's key), "platform" (the shop's) or "any"."""

    def __init__(self, kind: str = "seller") -> None:
        self.kind = kind
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_key = getattr(request, "api_key", None)  # found already by the idempotency middleware
        if api_key is None or not api_key.is_active:
            api_key = keys.authenticate(token)
        if api_key is None:
            count_key_failure(request)
            return None  # ninja answers 401 (api.api turns it into a problem)
        request.api_key = api_key  # type: ignore[attr-defined]  # our mark on Django's request
        request.user = api_key.user
        if not getattr(request, "rate_counted", False):  # the idempotency middleware counted POSTs already
            check_rate(api_key)
        if self.kind == "seller" and api_key.is_platform:
            raise Problem("wrong-key-kind", _("This endpoint is for a seller's key; this is a platform key."))
        if self.kind == "platform" and not api_key.is_platform:
            raise Problem("wrong-key-kind", _("This endpoint is for the shop's platform key; this is a seller's "
                                              "key."))
        if request.method not in SAFE_METHODS and not api_key.may_write:
            raise Problem("read-only-key", _("This key was made to read only. Make a key with the write scope to "
                                             "change anything."))
        return api_key


seller_key = KeyAuth("seller")
platform_key = KeyAuth("platform")

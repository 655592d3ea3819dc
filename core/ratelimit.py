"""A fixed-window rate limit on the shared cache (Redis in production), for actions people can abuse: failed logins
per address (guessing across many accounts), password reset emails, opening claims (flooding sellers).

A window starts with its first counted attempt and lasts `window_seconds`; `peek` reads a key's count and how long
its window has left without counting anything."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@dataclasses.dataclass(frozen=True)
class Window:
    count: int  # attempts counted in the current window (0: none, or the window is over)
    resets_in: int  # whole seconds until the window is over and the count forgotten (0 when there is none)


def _cache_key(scope: str, key: str) -> str:
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}"


def _start_window(cache_key: str, window_seconds: int) -> None:
    # When the window ends, for `peek` (Retry-After, "wait N minutes"): the cache does not tell a key's expiry.
    cache.set(f"{cache_key}:ends", time.time() + window_seconds, timeout=window_seconds)


def count(scope: str, key: str, *, window_seconds: int) -> int:
    """Count one attempt; the number counted in the current window, this one included."""
    cache_key = _cache_key(scope, key)
    if cache.add(cache_key, 0, timeout=window_seconds):
        _start_window(cache_key, window_seconds)
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds)
        _start_window(cache_key, window_seconds)
        return 1


def hit(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt; False when this key already used up its `limit` attempts in the current window."""
    return count(scope, key, window_seconds=window_seconds) <= limit


def peek(scope: str, key: str) -> Window:
    """The key's current window, read only: nothing is counted."""
    cache_key = _cache_key(scope, key)
    counted = cache.get(cache_key)
    if not counted:
        return Window(count=0, resets_in=0)
    ends = cache.get(f"{cache_key}:ends")
    return Window(count=int(counted), resets_in=max(1, math.ceil(ends - time.time())) if ends else 1)


def client_ip(request) -> str:  # type: ignore[no-untyped-def]
    # Behind the proxy of the production set-up REMOTE_ADDR is the proxy; it passes the client in
    # X-Forwarded-For, whose last entry is the one the proxy itself added.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and request.META.get("REMOTE_ADDR") in _trusted_proxies():
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def _trusted_proxies() -> set[str]:
    from django.conf import settings

    return set(settings.TRUSTED_PROXIES)


def too_many(request: HttpRequest, message: str, *, retry_after: int | None = None,
             context: dict | None = None) -> HttpResponse:
    """The page a refused attempt gets: 429 with the sentence saying how long to wait, and that wait in seconds as
    `Retry-After` when it is known."""
    response = render(request, "429.html", {"message": message, **(context or {})}, status=429)
    if retry_after is not None:
        response["Retry-After"] = str(max(1, retry_after))
    return response

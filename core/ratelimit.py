"""A fixed-window rate limit on the shared cache (Redis in production), for actions people can abuse:
logging in (password guessing) and opening claims (flooding sellers)."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def hit(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt; False when this key already used up its `limit` attempts in the current window."""
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}"
    cache.add(cache_key, 0, timeout=window_seconds)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds)
        count = 1
    return count <= limit


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


def too_many(request: HttpRequest, message: str) -> HttpResponse:
    """The page a refused attempt gets: 429 with the sentence saying how long to wait."""
    return render(request, "429.html", {"message": message}, status=429)

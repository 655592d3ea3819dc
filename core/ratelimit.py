"""A fixed-window rate limit on the shared cache (Redis in production), for actions people can abuse: failed logins
per address (guessing across many accounts), password reset emails, opening claims (flooding sellers).

A window starts with its first counted attempt and lasts `window_seconds`; `peek` reads a key's count and how long
its window has left without counting anything."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import ipaddress
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


def client_ip(request: HttpRequest) -> str:
    """The address of the person behind the request. Behind proxies or load balancers (TRUSTED_PROXIES: addresses or
    networks such as 10.0.0.0/8) REMOTE_ADDR is the last proxy, and each proxy appended the address it got the
    request from to X-Forwarded-For: the client is the rightmost entry that is not one of our proxies. Entries left
    of it were written by the client and are never believed. With no trusted proxy in front, REMOTE_ADDR."""
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not forwarded or not _is_trusted_proxy(remote):
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted_proxy(hop):
            return hop
    return hops[0] if hops else remote  # every hop is one of our proxies: the first one is the nearest to the client


def limited_address(request: HttpRequest) -> str:
    """The address the limits count a client under (failed logins, their ceiling, password resets; accounts.lockout
    and django-axes): `client_ip`, but an IPv6 client by its network of LIMIT_IPV6_PREFIX bits (64: what one
    subscriber, phone or rented server is given), written as that network's first address. Whoever holds a /64 can
    send from any of its 2^64 addresses, each of which, counted apart, would start afresh. An IPv4 address written
    as IPv6 (::ffff:a.b.c.d) is that IPv4 address. The audit log keeps the full address (core.audit)."""
    from django.conf import settings

    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{settings.LIMIT_IPV6_PREFIX}", strict=False).network_address)
    return address


def _is_trusted_proxy(address: str) -> bool:
    from django.conf import settings

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """TRUSTED_PROXIES as networks (a single address is a network of one)."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def too_many(request: HttpRequest, message: str, *, retry_after: int | None = None,
             context: dict | None = None) -> HttpResponse:
    """The page a refused attempt gets: 429 with the sentence saying how long to wait, and that wait in seconds as
    `Retry-After` when it is known."""
    response = render(request, "429.html", {"message": message, **(context or {})}, status=429)
    if retry_after is not None:
        response["Retry-After"] = str(max(1, retry_after))
    return response

"""The probes of load balancers and Prometheus (/healthz, /readyz, /metrics: the URL names in PROBE_URL_NAMES),
answered before the rest of the middleware.

They come over plain HTTP from inside the network, often with the machine's address as Host: through the whole stack
they would get an HTTPS redirect (SECURE_SSL_REDIRECT) or a 400 (the Host not in ALLOWED_HOSTS), and a session or CSRF
cookie would cost them a database query. None of that middleware has anything to say about them: the views need no
user, no session, no language, and build no URL from the Host. The request's reference (RequestIdMiddleware) and its
timing (core.metrics) still wrap them, from the middleware before this one."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, Resolver404, resolve, reverse


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._paths: frozenset[str] | None = None

    def paths(self) -> frozenset[str]:
        if self._paths is None:  # reversed on the first request: the URLconf is not loaded when this is made
            found = set()
            for name in settings.PROBE_URL_NAMES:
                try:
                    found.add(reverse(name))
                except NoReverseMatch:
                    continue
            self._paths = frozenset(found)
        return self._paths

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path not in self.paths():  # reverse() and request.path both carry the script prefix, if any
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if match.url_name not in settings.PROBE_URL_NAMES:
            return self.get_response(request)
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

"""Every request's reference: the id an error page shows for the reader to quote to support, the `X-Request-ID` response
header, and a field of every log line written while the request runs, so an operator finds that request's error in the
logs by it (core.middleware.RequestIdMiddleware sets it; LOGGING's handler adds it with RequestIdFilter).

A proxy or load balancer in front may send its own `X-Request-ID`; it is kept when it looks like an id (8 to 128
letters, digits, dots, underscores and hyphens), so the proxy's logs and ours share it. Anything else is replaced."""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar, Token

from django.http import HttpRequest

HEADER = "X-Request-ID"
NONE = "-"  # in log lines written outside a request (workers, commands)
_SANE = re.compile(r"[A-Za-z0-9._-]{8,128}")
_current: ContextVar[str] = ContextVar("request_id", default=NONE)


def new() -> str:
    """Sixteen hex digits: short enough to read out over the phone, random enough never to repeat in the logs."""
    return secrets.token_hex(8)


def accept(incoming: str | None) -> str:
    """The incoming header's id when it is sane, else a new one: a client never puts spaces, line breaks or markup
    into our logs and headers, nor a megabyte."""
    if incoming and _SANE.fullmatch(incoming):
        return incoming
    return new()


def of(request: HttpRequest) -> str:
    """The request's reference; one is given to a request that came in without the middleware (a test's factory)."""
    request_id = getattr(request, "request_id", None)
    if not request_id:
        request_id = request.request_id = new()  # type: ignore[attr-defined]  # our mark on the request
    return request_id


def current() -> str:
    return _current.get()


def bind(request_id: str) -> Token[str]:
    """Make `request_id` the one log lines carry until `unbind(token)`."""
    return _current.set(request_id)


def unbind(token: Token[str]) -> None:
    _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (for `%(request_id)s` in a format): the request's own when the record carries
    it (Django's "django.request" errors pass the request), else the one of the request being served, else "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or current()
        return True

"""Errors of the API as RFC 9457 problem details (`application/problem+json`): a stable `type` per error code, a
`title`, the HTTP `status`, a `detail` for people, and per-field messages in `errors` ({"field": ["message"]}).

The type is `/api/problems/<code>` (a relative URI, resolved against the API's address); that page describes it."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

CONTENT_TYPE = "application/problem+json"

# code: (status, title). The codes are a contract: clients switch on them.
PROBLEMS: dict[str, tuple[int, Any]] = {
    "bad-request": (400, _("The request is malformed")),
    "idempotency-key-missing": (400, _("An Idempotency-Key header is required")),
    "unauthorized": (401, _("A valid API key is required")),
    "forbidden": (403, _("This key may not do that")),
    "read-only-key": (403, _("This key may only read")),
    "wrong-key-kind": (403, _("This endpoint is for another kind of key")),
    "not-found": (404, _("Not found")),
    "method-not-allowed": (405, _("Method not allowed")),
    "state": (409, _("Not possible in the claim's current state")),
    "conflict": (409, _("Someone else changed it first")),
    "idempotency-key-in-progress": (409, _("A request with this Idempotency-Key is still running")),
    "payload-too-large": (413, _("The request is too large")),
    "validation": (422, _("The request has invalid fields")),
    "invalid": (422, _("The request was refused")),
    "idempotency-key-reused": (422, _("This Idempotency-Key was used with another request")),
    "rate-limited": (429, _("Too many requests")),
    "server-error": (500, _("Something went wrong on our side")),
}


def type_uri(code: str) -> str:
    return f"/api/problems/{code}"


class Problem(Exception):  # noqa: N818 - it is the RFC's name
    """Raised anywhere in the API; answered as problem details."""

    def __init__(self, code: str, detail: str = "", *, errors: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None, status: int | None = None) -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail
        self.errors = errors or {}
        self.headers = headers or {}
        self.status = status or PROBLEMS[code][0]


def problem_response(code: str, detail: str = "", *, errors: dict[str, list[str]] | None = None,
                     headers: dict[str, str] | None = None, status: int | None = None) -> HttpResponse:
    default_status, title = PROBLEMS[code]
    body: dict[str, Any] = {"type": type_uri(code), "title": str(title), "status": status or default_status,
                            "code": code}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status or default_status,
                            content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def from_problem(problem: Problem) -> HttpResponse:
    return problem_response(problem.code, problem.detail, errors=problem.errors, headers=problem.headers,
                            status=problem.status)

"""Errors of the API as RFC 9457 problem details (`application/problem+json`): a stable `type` per error code, a
`title`, the HTTP `status`, a `detail` for people, and per-field messages in `errors` ({"field": ["message"]}).

The type is `/api/problems/<code>` (a relative URI, resolved against the API's address); that page describes it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
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
    "too-many-failed-keys": (429, _("Too many wrong API keys from this address")),
    # Quotas of one claim (claims.quotas): messages per person per hour, a 429 with Retry-After as the request limit;
    # files and bytes per side of a claim, a 422 like every refusal by a rule of the claim (not 413, which says the
    # request itself is too large: a side that is full refuses even a small file, and no smaller request helps).
    "message-quota": (429, _("Too many messages on this claim this hour")),
    "file-quota": (422, _("Your side of the claim cannot add these files")),
    # An evidence file deleted after the retention period or at its uploader's request (claims.retention).
    "gone": (410, _("This file was deleted")),
    "server-error": (500, _("Something went wrong on our side")),
}

# code: what a client (or the person writing it) should do about it; shown on the page each `type` points to.
ADVICE: dict[str, Any] = {
    "bad-request": _("Check that the body is well-formed JSON (or multipart form data where the endpoint takes "
                     "files) and that the parameters have the types the schema gives them."),
    "idempotency-key-missing": _("Send an Idempotency-Key header (1 to 255 characters, a UUID for example) with "
                                 "every POST. Use a new key for each new request and the same key when you send the "
                                 "same request again after a timeout or a crash."),
    "unauthorized": _("Send “Authorization: Bearer <key>” with a key that has not been revoked. A seller's owner "
                      "makes keys on the seller dashboard; the key is shown once, when it is made."),
    "forbidden": _("The key's seller may not do this to this claim now. The claim's allowed_actions lists what it "
                   "may do."),
    "read-only-key": _("The key was made to read only. Ask the seller's owner for a key with the write scope."),
    "wrong-key-kind": _("Seller endpoints take a seller's key; the shop's endpoints take the platform key. Use the "
                        "other key."),
    "not-found": _("Nothing with this number or id exists for this key: check it, and check that the key belongs to "
                   "the seller of the claim."),
    "method-not-allowed": _("The endpoint exists but not with this HTTP method. The schema lists the methods of "
                            "each path."),
    "state": _("The claim is no longer in a state where this is possible, often because someone acted first. Fetch "
               "the claim again and look at its state and allowed_actions."),
    "conflict": _("Someone changed the claim while this request ran. Fetch it again and decide again."),
    "idempotency-key-in-progress": _("The first request with this Idempotency-Key has not finished. Wait for the "
                                     "seconds in Retry-After and send the same request again to get its answer."),
    "payload-too-large": _("Send less: smaller or fewer files, or a shorter body."),
    "validation": _("Some fields are missing or invalid; errors lists the messages per field. Correct them and send "
                    "the request again with a new Idempotency-Key."),
    "invalid": _("The request was understood but refused by a rule of the claim (an amount above what is left to "
                 "refund, a missing reason). detail says which; errors has the messages per field. Send the "
                 "corrected request with a new Idempotency-Key."),
    "idempotency-key-reused": _("This Idempotency-Key was used before with another method, path or body. Use a new "
                                "key for a new request."),
    "rate-limited": _("The key made too many requests in a short time. Wait for the seconds in Retry-After, then go "
                      "on more slowly."),
    "too-many-failed-keys": _("Wrong, revoked or malformed keys were sent from this address again and again, so "
                              "wrong keys from it are refused for a while; the wait doubles with every wrong key "
                              "sent after it. Check the key your integration sends (a seller's owner makes a new one "
                              "on the seller dashboard), then try again after the seconds in Retry-After. A valid key "
                              "is never held up."),
    "message-quota": _("The key's user posted as many messages on this claim as one person may in an hour; detail "
                       "says how many that is. Wait for the seconds in Retry-After, then post again. Other claims are "
                       "not affected."),
    "file-quota": _("Each side of a claim (the buyer; the seller's staff and API keys) may add a limited number of "
                    "files and bytes to it in all, counted apart, so the buyer's files never take the seller's room; "
                    "these files would take the seller's side over (detail says which limit and how much room is "
                    "left). Send fewer or smaller files, or none; the refusal changes nothing, so send the corrected "
                    "request with a new Idempotency-Key."),
    "gone": _("The file existed but was deleted: evidence is kept for a limited time after its claim closed (the "
              "privacy page says how long), or until the person who uploaded it had their data erased. The claim "
              "lists it with the moment it was deleted (purged_at); there is nothing to fetch again."),
    "server-error": _("Something failed on our side. This answer is not kept for the Idempotency-Key: fetch the "
                      "claim or order to see whether the change was made, then try again; if it keeps failing, tell "
                      "support."),
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


class ProblemMiddleware:
    """What Django or django-ninja answer under /api/v1/ outside the API's exception handlers — an address that is no
    endpoint (404), a method the endpoint does not take (405), an exception nobody handled (500, logged by Django as
    always) — as problem details too, so that a client reads every error of the API the same way."""

    CODES = {404: "not-found", 405: "method-not-allowed", 500: "server-error"}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        code = self.CODES.get(response.status_code)
        if (code is None or not request.path.startswith("/api/v1/")
                or response.get("Content-Type", "").startswith(CONTENT_TYPE)):
            return response
        headers = {"Allow": response["Allow"]} if response.has_header("Allow") else {}
        detail = {"not-found": _("There is no endpoint at this address. The schema at /api/openapi.json lists them."),
                  "method-not-allowed": _("This endpoint does not take %(method)s.") % {"method": request.method},
                  "server-error": _("Something failed on our side; it was logged. Try again later."),
                  }[code]
        return problem_response(code, str(detail), headers=headers)

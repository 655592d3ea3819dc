"""The API: OpenAPI 3.1 at /api/openapi.json, its docs at /api/docs (Swagger UI from the site's static files).

    /api/v1/me                     who this key is (any key)
    /api/v1/claims…                a seller's key: its claims, their timeline, the actions, evidence (api.seller)
    /api/v1/shop/…                 the shop's platform key: orders, shipments, refund confirmations (api.shop)

Every error is problem details (api.problems); every POST carries an Idempotency-Key (api.idempotency)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from core.errors import DomainError

from .auth import KeyAuth
from .problems import Problem, from_problem, problem_response

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Marketplace support API",
    version="1",
    description=(
        "The seller and shop API of the marketplace support site. Authenticate with `Authorization: Bearer <key>`; "
        "send an `Idempotency-Key` header with every POST. Errors are RFC 9457 problem details."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)

# ClaimError (and every DomainError) code -> problem code.
DOMAIN_CODES = {"invalid": "invalid", "state": "state", "forbidden": "forbidden", "conflict": "conflict",
                "not_found": "not-found", "message_quota": "message-quota", "file_quota": "file-quota"}


def field_errors(exc: DomainError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(message) for error in errors for message in error.messages]
                for field, errors in exc.error_dict.items()}
    return {}


@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return from_problem(exc)


@api.exception_handler(DomainError)
def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
    code = DOMAIN_CODES.get(getattr(exc, "code", None) or "invalid", "invalid")
    errors = field_errors(exc)
    detail = " ".join(str(m) for m in exc.messages)
    # A refusal that passes with time (the hourly message quota, claims.quotas) says when, as the rate limit does.
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return problem_response(code, detail, errors=errors, headers=headers)


@api.exception_handler(NinjaValidationError)
def _validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        # (source, [schema parameter,] field, …): a field may be called "body" too, so only the leading parts go
        location = [str(part) for part in error.get("loc", ())][1:]
        location = location[1:] if location[:1] in (["payload"], ["filters"]) and len(location) > 1 else location
        errors.setdefault(".".join(location) or "__all__", []).append(str(error.get("msg", "invalid")))
    return problem_response("validation", _("Some fields are missing or invalid."), errors=errors)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response("unauthorized", _("Send a valid, unrevoked API key as “Authorization: Bearer <key>”."),
                            headers={"WWW-Authenticate": 'Bearer realm="api"'})


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response("not-found", _("There is nothing here for this key."))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem_response("forbidden", str(exc) or _("This key may not do that."))


@api.exception_handler(RawPostDataException)
def _form_for_json(request: HttpRequest, exc: RawPostDataException) -> HttpResponse:
    # Multipart form data sent to an endpoint that takes JSON: the idempotency middleware read the form, so the body
    # cannot be read as JSON any more (Django); the request is the client's mistake, not a server error.
    return problem_response("bad-request", _("This endpoint takes a JSON body (Content-Type: application/json), "
                                             "not form data."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
            409: "conflict", 413: "payload-too-large", 422: "validation", 429: "rate-limited"}.get(
        exc.status_code, "bad-request")
    return problem_response(code, str(exc), status=exc.status_code)


class Me(Schema):
    name: str
    kind: str  # "seller" or "platform"
    seller: str | None  # the seller's slug
    scope: str


@api.get("/v1/me", response=Me, auth=KeyAuth("any"), tags=["keys"], summary="The key making this request")
def me(request: HttpRequest) -> Me:
    key = request.auth  # type: ignore[attr-defined]  # set by django-ninja's authentication
    return Me(name=key.name, kind="platform" if key.is_platform else "seller",
              seller=key.seller.slug if key.seller_id else None, scope=key.scope)


def _routers() -> None:
    from . import seller, shop

    api.add_router("/v1/", seller.router)
    api.add_router("/v1/shop/", shop.router)


_routers()

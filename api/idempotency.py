"""Every POST of the API carries an `Idempotency-Key` (a string of 1–255 characters the client makes, a UUID say).

The first answer is stored for API_IDEMPOTENCY_HOURS and returned again, byte for byte, to the same key with the
same request (`Idempotent-Replayed: true`); the same key with another method, path or body is refused (422
idempotency-key-reused). Two requests with one key at the same moment have one effect: the row is inserted before
the work starts, its unique constraint lets one request in, and the other waits for its answer (up to
WAIT_SECONDS, then 409 idempotency-key-in-progress with Retry-After). An answer that says nothing happened for a
reason that may pass (401, 429, 5xx) is not kept, so the client can try again with the same key; so is a running row
left behind by a process that died (ABANDONED_AFTER), which the next request with the key takes over.

"The same request" is the same method, path with query and data: a JSON body is compared by its content (the keys'
order and the spacing are the client library's business), a multipart body by its fields and files (the boundary
changes with every send). Every request counts against the key's rate limit, replays included.

It is a middleware over /api/ so that what is stored is the response as sent."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations import keys
from integrations.models import IdempotencyRecord

from .auth import check_rate
from .problems import Problem, from_problem, problem_response

HEADER = "Idempotency-Key"
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05
NOT_KEPT = {401, 429}
# A running row this old belongs to a request whose process died (a worker killed, a deploy): no request runs this
# long (the web server's timeout is far shorter), so the next request with the key runs instead of waiting for it.
ABANDONED_AFTER = dt.timedelta(minutes=5)


def _file_digest(upload: Any) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _request_hash(request: HttpRequest) -> str:
    content_type = request.META.get("CONTENT_TYPE", "")
    data: Any
    if content_type.startswith("multipart/form-data"):
        # The boundary differs from one send to the next: the fields and the files' bytes are the request.
        data = {"fields": {name: request.POST.getlist(name) for name in sorted(request.POST)},
                "files": {name: [[upload.name, _file_digest(upload)] for upload in request.FILES.getlist(name)]
                          for name in sorted(request.FILES)}}
    else:
        try:
            data = {"json": json.loads(request.body)}
        except (ValueError, RecursionError):  # not JSON (or not UTF-8, or nested too deep): the bytes themselves
            data = {"bytes": hashlib.sha256(request.body).hexdigest()}
    canonical = json.dumps([request.method, request.get_full_path(), data], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body), status=record.status_code,
                            content_type=record.content_type or "application/json")
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or not request.path.startswith("/api/v1/"):
            return self.get_response(request)
        authorization = request.headers.get("Authorization", "")
        scheme, _sep, token = authorization.partition(" ")
        api_key = keys.authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if api_key is None:
            # The API answers 401 (or 429 after repeated wrong keys): api.auth counts the failure, once per request.
            return self.get_response(request)
        request.api_key = api_key  # type: ignore[attr-defined]  # our mark on Django's request (api.auth)
        try:
            check_rate(api_key)  # here, so that replays and refusals count too (api.auth does not count it again)
        except Problem as problem:
            return from_problem(problem)
        request.rate_counted = True  # type: ignore[attr-defined]  # our mark on Django's request
        idempotency_key = request.headers.get(HEADER, "").strip()
        if not idempotency_key or len(idempotency_key) > 255 or not idempotency_key.isprintable():
            return problem_response("idempotency-key-missing",
                                    _("Send an Idempotency-Key header (1 to 255 printable characters, a UUID for "
                                      "example) with every POST, and the same one when you send the same request "
                                      "again."))
        try:
            request_hash = _request_hash(request)
        except RequestDataTooBig:
            return problem_response("payload-too-large", _("The request body is too large."))
        except SuspiciousOperation:  # too many fields or files (Django's limits)
            return problem_response("payload-too-large", _("The request has too many fields or files."))
        except MultiPartParserError:
            return problem_response("bad-request", _("The multipart body could not be read."))
        record = self._claim(api_key.pk, idempotency_key, request, request_hash)
        if isinstance(record, HttpResponse):
            return record
        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code in NOT_KEPT or response.status_code >= 500 or response.streaming:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=response.status_code, content_type=response.get("Content-Type", "")[:100],
            response_body=response.content, completed_at=timezone.now())
        return response

    def _claim(self, api_key_id: int, idempotency_key: str, request: HttpRequest,
               request_hash: str) -> IdempotencyRecord | HttpResponse:
        """Insert the running row, or answer from the row another request made."""
        expired = timezone.now() - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
        IdempotencyRecord.objects.filter(api_key_id=api_key_id, key=idempotency_key, created_at__lt=expired).delete()
        try:
            with transaction.atomic():
                # (a NUL in the path, %00, is no endpoint's, and PostgreSQL refuses it in a text column)
                return IdempotencyRecord.objects.create(api_key_id=api_key_id, key=idempotency_key,
                                                        method=request.method or "POST",
                                                        path=request.path.replace("\x00", "\ufffd")[:500],
                                                        request_hash=request_hash)
        except IntegrityError:
            pass
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            existing = IdempotencyRecord.objects.filter(api_key_id=api_key_id, key=idempotency_key).first()
            if existing is None:  # the first request failed and let the key go: this one may run
                return self._claim(api_key_id, idempotency_key, request, request_hash)
            if existing.request_hash != request_hash:
                return problem_response("idempotency-key-reused",
                                        _("This Idempotency-Key was first used with another request (%(method)s "
                                          "%(path)s, another body). Use a new key for a new request.")
                                        % {"method": existing.method, "path": existing.path})
            if existing.status_code is not None:
                return _replay(existing)
            if existing.created_at < timezone.now() - ABANDONED_AFTER:
                # Whoever deletes it runs the request; a second taker finds nothing to delete and waits for that one.
                IdempotencyRecord.objects.filter(pk=existing.pk, status_code__isnull=True).delete()
                return self._claim(api_key_id, idempotency_key, request, request_hash)
            if time.monotonic() >= deadline:
                return problem_response("idempotency-key-in-progress",
                                        _("The first request with this Idempotency-Key is still running. Ask again "
                                          "in a moment to get its answer."), headers={"Retry-After": "1"})
            time.sleep(POLL_SECONDS)


def purge_expired() -> int:
    """Stored answers past API_IDEMPOTENCY_HOURS (beat, hourly). Returns how many were deleted."""
    expired = timezone.now() - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    deleted, _detail = IdempotencyRecord.objects.filter(created_at__lt=expired).delete()
    return deleted

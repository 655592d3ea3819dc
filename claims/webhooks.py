"""The shop's payment system confirms a payout: JSON signed the Standard Webhooks way with one of
PAYMENTS_WEBHOOK_SECRETS (two during a rotation), timestamp within the library's 5 minutes.

    POST /webhooks/payments/
    webhook-id: <the shop's message id>
    webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">
    {"refund_id": "refund_42", "status": "paid", "reference": "re_3PZ…"}
    {"refund_id": 42, "status": "failed", "reason": "card expired"}

Idempotent by refund id: the same confirmation again changes nothing and answers 200 (the services compare the
reference or the reason). It works whatever REFUND_PROVIDER is: confirming a refund of the manual provider is fine.

    200 done (or already so)     400 bad JSON or fields        401 bad or missing signature, stale timestamp
    404 unknown refund           409 the refund's state refuses it (failed after paid…)     413 body too large
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import webhooks as signed

from .errors import ClaimError
from .models import Refund
from .payout_webhook import refund_key
from .services import mark_refund_failed, mark_refund_paid

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
REFUND_ID = re.compile(r"refund_(\d{1,18})(?:_\d{1,5})?")  # refund_42, or a retried payout's webhook-id refund_42_2


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def refund_pk(value: Any) -> int | None:
    """The refund a confirmation names: its number, or "refund_<number>" (as claims.payout_webhook.refund_key sends
    it); None for anything else. The shop's API endpoint (api.shop) reads its path with it too."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and (match := REFUND_ID.fullmatch(value)):
        return int(match.group(1))
    return None


@csrf_exempt  # authenticated by its Standard Webhooks signature, never by a browser session
@require_POST
def payments_confirmation(request: HttpRequest) -> JsonResponse:
    raw = signed.read_body(request, MAX_BODY_BYTES)
    if raw is None:
        return _error(f"body too large (at most {MAX_BODY_BYTES} bytes)", 413)
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _error("the body must be UTF-8 JSON", 400)
    headers = signed.signature_headers(request)
    if not all(headers.values()):
        return _error("missing webhook-id, webhook-timestamp or webhook-signature header", 401)
    if not settings.PAYMENTS_WEBHOOK_SECRETS:
        logger.error("payments webhook called but PAYMENTS_WEBHOOK_SECRETS is empty: every call is refused")
    verdict = signed.verify(raw, headers, settings.PAYMENTS_WEBHOOK_SECRETS)
    if verdict == signed.STALE:
        return _error("webhook-timestamp is not a time within 5 minutes of our clock", 401)
    if verdict != signed.VERIFIED:
        return _error("bad signature", 401)

    try:
        event = json.loads(body)
    except ValueError:
        return _error("the body is not JSON", 400)
    if not isinstance(event, dict):
        return _error("expected a JSON object", 400)
    pk = refund_pk(event.get("refund_id"))
    if pk is None:
        return _error('refund_id must be the refund\'s id: a number or "refund_<number>"', 400)
    status = event.get("status")
    if status not in ("paid", "failed"):
        return _error('status must be "paid" or "failed"', 400)
    field = "reference" if status == "paid" else "reason"
    value = event.get(field)
    if not isinstance(value, str) or not value.strip():
        return _error(f'a "{status}" confirmation needs a non-empty string "{field}"', 400)
    if not Refund.objects.filter(pk=pk).exists():
        return _error(f"no refund {refund_key(pk)}", 404)

    try:
        if status == "paid":
            refund = mark_refund_paid(refund=pk, reference=value, by=None)
        else:
            refund = mark_refund_failed(refund=pk, reason=value, by=None)
    except ClaimError as exc:
        return _error(str(exc), 409 if exc.code == "state" else 400)
    logger.info("payments webhook %s: refund %s is %s", request.headers.get("webhook-id", "")[:100], pk,
                refund.status)
    return JsonResponse({"refund_id": refund_key(refund), "status": refund.status})

"""The carrier's tracking webhook: JSON events signed with HMAC-SHA256 over the raw body.

    POST /webhooks/carrier/
    X-Carrier-Signature: sha256=<hex of HMAC-SHA256(CARRIER_WEBHOOK_SECRET, body)>
    {"tracking_number": "JJD000390007", "status": "delivered", "delivered_at": "2026-03-12T10:15:00+01:00",
     "delivered_to_order_address": true}
"""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services import apply_carrier_update

MAX_BODY_BYTES = 16 * 1024


def valid_signature(body: bytes, header: str) -> bool:
    secret = settings.CARRIER_WEBHOOK_SECRET
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


@csrf_exempt  # authenticated by its signature, not by a browser session
@require_POST
def carrier_tracking(request: HttpRequest) -> JsonResponse:
    body = request.body[: MAX_BODY_BYTES + 1]
    if len(body) > MAX_BODY_BYTES:
        return JsonResponse({"error": "body too large"}, status=413)
    if not valid_signature(body, request.headers.get("X-Carrier-Signature", "")):
        return JsonResponse({"error": "bad signature"}, status=403)
    try:
        event = json.loads(body)
        tracking_number = str(event["tracking_number"])[:64]
        status = event["status"]
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "expected JSON with tracking_number and status"}, status=400)
    if status != "delivered":
        return JsonResponse({"updated": 0, "ignored": f"status {status!r}"}, status=202)
    delivered_at = parse_datetime(str(event.get("delivered_at") or ""))
    if delivered_at is None or delivered_at.tzinfo is None:
        return JsonResponse({"error": "delivered_at must be an ISO 8601 time with a UTC offset"}, status=400)
    updated = apply_carrier_update(tracking_number=tracking_number, delivered_at=delivered_at,
                                   delivered_to_order_address=bool(event.get("delivered_to_order_address")))
    return JsonResponse({"updated": len(updated)}, status=200 if updated else 404)

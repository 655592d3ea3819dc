"""The carrier's tracking webhook, signed the Standard Webhooks way (docs/carrier-webhook.md).

    POST /webhooks/carrier/
    webhook-id: evt_2Wd8m0...          the event's id, the same on every retry
    webhook-timestamp: 1773220560      Unix seconds of this attempt, within 5 minutes of our clock
    webhook-signature: v1,<base64 of HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>
    {"carrier": "DHL", "tracking_number": "JJD000390007", "status": "delivered",
     "occurred_at": "2026-03-11T10:15:00+01:00", "delivered_to_order_address": true}

Id, timestamp and body are signed together, so a captured request can neither be edited nor sent again later;
each event id is handled once (orders.services.record_carrier_event), and the order's not-received claims react
(claims.services.tracking). An event no order's shipment matches may be about a buyer's return parcel
(claims.services.returns.apply_carrier_event).

    200 applied, ignored (out of order, before the order) or a repeat    400 bad JSON, fields or headers
    401 missing or bad signature, timestamp more than 5 minutes off      403 no secret configured
    404 no shipment or return parcel with this carrier and tracking number (recorded; a retry is matched again)
    413 too large
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import webhooks as signed
from core.models import max_length
from orders.models import CarrierEvent, Shipment
from orders.services import CarrierEventResult, normalise_carrier, normalise_tracking_number

from .services.tracking import record_carrier_event

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
# The window Standard Webhooks allows between the sender's timestamp and our clock (standardwebhooks enforces it
# too; checking it first gives the carrier a clear answer).
TIMESTAMP_TOLERANCE = dt.timedelta(minutes=5)


def carrier_secrets() -> list[str]:
    """Every secret accepted now: CARRIER_WEBHOOK_SECRETS (two while rotating), else CARRIER_WEBHOOK_SECRET."""
    secrets = [secret.strip() for secret in settings.CARRIER_WEBHOOK_SECRETS if secret.strip()]
    if not secrets and settings.CARRIER_WEBHOOK_SECRET:
        secrets = [settings.CARRIER_WEBHOOK_SECRET]
    return secrets


def _error(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _event(body: bytes) -> dict[str, Any] | str:
    """The event's fields, checked, or the sentence that says what is wrong with it."""
    try:
        data = json.loads(body)
    except ValueError:
        return "the body must be a JSON object"
    if not isinstance(data, dict):
        return "the body must be a JSON object"
    fields: dict[str, Any] = {}
    limits = {"carrier": max_length(Shipment, "carrier"),
              "tracking_number": max_length(Shipment, "tracking_number"),
              "status": max_length(CarrierEvent, "status")}
    clean = {"carrier": normalise_carrier, "tracking_number": normalise_tracking_number,
             "status": lambda value: value.strip().lower()}
    for name, limit in limits.items():
        value = data.get(name)
        value = clean[name](value) if isinstance(value, str) else ""
        if not value or len(value) > limit:
            return f"{name} must be a non-empty string of at most {limit} characters"
        fields[name] = value
    try:
        occurred_at = parse_datetime(data["occurred_at"]) if isinstance(data.get("occurred_at"), str) else None
    except ValueError:
        occurred_at = None
    if occurred_at is None or occurred_at.tzinfo is None:
        return "occurred_at must be an ISO 8601 time with a UTC offset"
    if occurred_at > timezone.now() + TIMESTAMP_TOLERANCE:
        return "occurred_at is in the future"
    fields["occurred_at"] = occurred_at
    to_address = data.get("delivered_to_order_address", False)
    if not isinstance(to_address, bool):
        return "delivered_to_order_address must be true or false"
    fields["delivered_to_order_address"] = to_address
    return fields


@csrf_exempt  # authenticated by its signature, not by a browser session
@require_POST
def carrier_tracking(request: HttpRequest) -> JsonResponse:
    body = signed.read_body(request, MAX_BODY_BYTES)
    if body is None:
        return _error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    headers = signed.signature_headers(request)
    if not all(headers.values()):
        return _error(401, "webhook-id, webhook-timestamp and webhook-signature headers are required")
    secrets = carrier_secrets()
    if not secrets:
        return _error(403, "the carrier webhook is not configured")
    try:
        sent_at = int(headers["webhook-timestamp"])
    except ValueError:
        return _error(400, "webhook-timestamp must be an integer: Unix seconds")
    if abs(timezone.now().timestamp() - sent_at) > TIMESTAMP_TOLERANCE.total_seconds():
        return _error(401, "webhook-timestamp is more than 5 minutes from our clock: sign every attempt anew, "
                           "with the current time")
    # Plain (non-"whsec_") secrets are the earlier single shared secret's bytes: they keep working.
    if signed.verify(body, headers, secrets, raw_secrets=True) != signed.VERIFIED:
        return _error(401, "bad signature")
    event_id = headers["webhook-id"]
    if len(event_id) > max_length(CarrierEvent, "event_id"):
        return _error(400, "webhook-id is too long")
    fields = _event(body)
    if isinstance(fields, str):
        return _error(400, fields)
    event, handled = record_carrier_event(event_id=event_id, **fields)
    if not handled:
        return JsonResponse({"event_id": event_id, "result": "duplicate"}, status=200)
    if event.result == CarrierEventResult.UNKNOWN_SHIPMENT:
        return _error(404, "no shipment with this carrier and tracking number", event_id=event_id,
                      result=event.result)
    return JsonResponse({"event_id": event_id, "result": event.result}, status=200)

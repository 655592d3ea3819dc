"""Receiving webhooks signed the Standard Webhooks way (https://www.standardwebhooks.com): webhook-id,
webhook-timestamp and the body signed together with HMAC-SHA256, the timestamp within 5 minutes of our clock, any
of several secrets accepted (two while one is rotated). The carrier's tracking events (claims.carrier_webhook) and the
shop's payout confirmations (claims.webhooks) both come in this way."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from django.http import HttpRequest
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

logger = logging.getLogger(__name__)

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")

VERIFIED = "verified"
STALE = "stale"  # the timestamp is missing, not a number, or more than 5 minutes from our clock
BAD_SIGNATURE = "bad_signature"


def read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body, or None when it is larger than `limit` bytes, as declared or as sent (never read past it)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def signature_headers(request: HttpRequest) -> dict[str, str]:
    return {name: request.headers.get(name, "") for name in SIGNATURE_HEADERS}


def _verifier(secret: str, *, raw_secrets: bool) -> Webhook | None:
    """"whsec_<base64>" is a Standard Webhooks secret (its key is the decoded bytes). With `raw_secrets`, any other
    string is used as its UTF-8 bytes (an older shared secret); without, it is a configuration error."""
    try:
        return Webhook(secret.encode()) if raw_secrets and not secret.startswith("whsec_") else Webhook(secret)
    except (ValueError, EmptyWebhookSecretError, RuntimeError):  # binascii.Error is a ValueError
        logger.error("a webhook secret is not a Standard Webhooks secret (whsec_<base64>): it is ignored")
        return None


def verify(body: bytes, headers: Mapping[str, str], secrets: Iterable[str], *, raw_secrets: bool = False) -> str:
    """VERIFIED when one of `secrets` signed this webhook-id, webhook-timestamp and body with a timestamp within 5
    minutes of now; STALE when the timestamp is off (whatever the secret); else BAD_SIGNATURE."""
    wanted = {name: headers.get(name, "") for name in SIGNATURE_HEADERS}
    for secret in secrets:
        verifier = _verifier(secret, raw_secrets=raw_secrets)
        if verifier is None:
            continue
        try:
            verifier.verify(body, wanted, json_parse=False)
        except WebhookVerificationError as exc:
            if "timestamp" in str(exc).lower() or "signature headers" in str(exc).lower():
                return STALE
        except (ValueError, TypeError):  # a malformed signature entry (no "v1,", bad base64), a non-UTF-8 body
            continue
        else:
            return VERIFIED
    return BAD_SIGNATURE

"""The `webhook` payout provider: the worker POSTs each refund to the shop's payment system, signed the Standard
Webhooks way, and the shop later confirms it through `POST /webhooks/payments/` (claims.webhooks).

    POST REFUND_WEBHOOK_URL
    webhook-id: refund_42                  (the same on every delivery of one payout: the shop deduplicates by it)
    webhook-timestamp: 1773136800
    webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body" with REFUND_WEBHOOK_SECRET>
    {"type": "refund.requested", "timestamp": "...", "data": {"refund_id": "refund_42", "amount": "199.00", ...}}

The design, chosen because it is the simplest one that loses nothing:

- Before its first POST a pending refund is moved to `submitted` (services.submit_refund, once). The sending
  function then POSTs any refund that is `submitted`: a retry after a timeout or a 5xx, or the same task handed out
  again after a worker was lost, sends the same refund again with the same webhook-id, and the shop's payment
  system deduplicates by that id. A paid or failed refund (confirmed meanwhile, or settled by a person) is never
  sent, and nothing is sent while the refund is still pending.
- A 2xx leaves the refund `submitted`: the shop's confirmation says paid or failed later.
- No answer, a timeout, 408, 429 or 5xx: tried again with exponential backoff (`retry_delay`), up to
  REFUND_WEBHOOK_MAX_ATTEMPTS POSTs in all; after the last one the refund is marked failed with the reason.
- Any other answer (a 4xx, or a redirect, which is never followed) is a refusal: the refund is marked failed at
  once with "payment system refused: HTTP …", and the buyer is told.
- A refund that a person retried after a failure is a new payout: its webhook-id gets the payout's number
  (refund_42_2, refund_42_3…), so the shop does not drop it as a repeat of the one that failed.

The Celery task (claims.tasks.submit_refund_payout) only calls `deliver_refund` and retries when told to; the beat
task claims.tasks.submit_pending_refunds calls `resubmit_pending` for refunds whose hand-off to the broker was lost.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from standardwebhooks import Webhook

from .choices import RefundStatus
from .errors import ClaimError
from .models import Refund, RefundEvent
from .services.payouts import WEBHOOK, mark_refund_failed, submit_refund

logger = logging.getLogger(__name__)

EVENT_TYPE = "refund.requested"
USER_AGENT = "marketplace-support-payouts/1"
BACKOFF_BASE_SECONDS = 30  # 30 s, 1 min, 2 min, 4 min … between POSTs
BACKOFF_CAP_SECONDS = 60 * 60  # never more than an hour between two POSTs
RESEND_AFTER = dt.timedelta(minutes=1)  # a refund pending this long was not handed to the worker
RESEND_BATCH = 500
RETRYABLE_STATUSES = {408, 429}
MAX_DETAIL = 200


# --- what we send ------------------------------------------------------------------------------------------


def refund_key(refund: Refund | int) -> str:
    """The refund's id as the shop knows it: `refund_<pk>` (also accepted back in confirmations)."""
    return f"refund_{refund.pk if isinstance(refund, Refund) else refund}"


def webhook_id(refund: Refund) -> str:
    """Stable across every delivery of one payout, so the shop deduplicates our retries; a payout retried by a person
    after a failure (attempts 2, 3…) is a new message the shop must act on."""
    return refund_key(refund) if refund.attempts <= 1 else f"{refund_key(refund)}_{refund.attempts}"


def _utc_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def payload(refund: Refund) -> dict[str, Any]:
    """The message body (Standard Webhooks' recommended shape: type, timestamp, data)."""
    order = refund.claim.order
    return {
        "type": EVENT_TYPE,
        "timestamp": _utc_iso(refund.submitted_at or refund.created_at),
        "data": {
            "refund_id": refund_key(refund),
            "attempt": max(refund.attempts, 1),
            "claim_number": refund.claim.number,
            "order_number": order.number,
            "payment_method": order.payment_method,
            "payment_reference": order.payment_reference,
            "card_last4": order.card_last4 or None,
            "amount": f"{refund.amount:.2f}",
            "currency": refund.currency,
            "funded_by": refund.funded_by,
        },
    }


def signed_headers(msg_id: str, body: str, *, secret: str, now: dt.datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed with `secret` ("whsec_…")."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }


# --- one POST -----------------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (urllib would follow a 302 to a POST with a GET without body): never followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer at all (network error, timeout)
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def transient(self) -> bool:
        return self.status is None or self.status >= 500 or self.status in RETRYABLE_STATUSES

    def describe(self) -> str:
        if self.status is None:
            return self.detail
        phrase = http.client.responses.get(self.status, "")
        return " ".join(part for part in (f"HTTP {self.status}", phrase) if part) + (
            f" ({self.detail})" if self.detail else "")


def _detail(error: urllib.error.HTTPError) -> str:
    """A short, plain sentence from the shop's refusal (it may reach the buyer as the failure reason): a JSON
    "reason"/"error"/"message" or the first line of a text/plain body, never an HTML page."""
    try:
        raw = error.read(4096)
    except (OSError, http.client.HTTPException):
        return ""
    content_type = (error.headers.get("Content-Type") or "").lower() if error.headers else ""
    text = ""
    if "json" in content_type:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            text = next((data[key] for key in ("reason", "error", "message") if isinstance(data.get(key), str)), "")
    elif content_type.startswith("text/plain"):
        text = raw.decode("utf-8", "replace").strip().splitlines()[0] if raw.strip() else ""
    text = re.sub(r"\s+", " ", "".join(ch for ch in text if ch.isprintable() or ch.isspace())).strip()
    return text[:MAX_DETAIL]


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to the shop; whatever happens, an Answer (never an exception)."""
    if urlsplit(url).scheme not in ("http", "https"):
        return Answer(None, f"REFUND_WEBHOOK_URL is not an http(s) URL: {url[:100]}")
    request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310 - scheme checked above
        "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
    try:
        with _opener.open(request, timeout=settings.REFUND_WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(4096)
            return Answer(response.status)
    except urllib.error.HTTPError as exc:  # an HTTP answer other than 2xx
        with exc:
            return Answer(exc.code, _detail(exc))
    except urllib.error.URLError as exc:
        return Answer(None, str(exc.reason)[:MAX_DETAIL])
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, a broken answer
        return Answer(None, f"{type(exc).__name__}: {exc}"[:MAX_DETAIL])


# --- one delivery of one refund -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    outcome: str  # "skipped" | "accepted" | "retry" | "failed"
    retry_in: int | None = None  # seconds, when outcome is "retry"
    detail: str = ""


def retry_delay(attempt: int) -> int:
    """Seconds to wait after POST number `attempt` (1, 2, …) failed for a passing reason: exponential, capped."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0))


def deliver_refund(refund_id: int, *, attempt: int = 1) -> Delivery:
    """POST number `attempt` of one refund to the shop's payment system (see the module's docstring)."""
    url, secret = settings.REFUND_WEBHOOK_URL, settings.REFUND_WEBHOOK_SECRET
    if not secret or urlsplit(url).scheme not in ("http", "https"):
        logger.error("refund %s not sent (it waits): REFUND_WEBHOOK_URL (http or https) and REFUND_WEBHOOK_SECRET "
                     "must both be set", refund_id)
        return Delivery("skipped", detail="not configured")
    refund = Refund.objects.filter(pk=refund_id).only("status").first()
    if refund is None:
        return Delivery("skipped", detail="no such refund")
    if refund.status == RefundStatus.PENDING:
        submit_refund(refund=refund_id)  # None when another worker got there first: it is submitted either way
    refund = Refund.objects.select_related("claim__order").get(pk=refund_id)
    if refund.status != RefundStatus.SUBMITTED:
        return Delivery("skipped", detail=f"refund is {refund.status}")

    body = json.dumps(payload(refund), separators=(",", ":"))
    msg_id = webhook_id(refund)
    answer = post(url, body.encode(), signed_headers(msg_id, body, secret=secret))
    if answer.accepted:
        logger.info("refund %s (%s) accepted by the payment system: HTTP %s", refund.pk, msg_id, answer.status)
        return Delivery("accepted", detail=str(answer.status))
    max_attempts = max(settings.REFUND_WEBHOOK_MAX_ATTEMPTS, 1)
    if answer.transient:
        if attempt < max_attempts:
            delay = retry_delay(attempt)
            logger.warning("refund %s (%s), POST %d of %d: %s; again in %d s", refund.pk, msg_id, attempt,
                           max_attempts, answer.describe(), delay)
            return Delivery("retry", retry_in=delay, detail=answer.describe())
        reason = f"payment system unreachable after {attempt} attempts: {answer.describe()}"
    else:
        reason = f"payment system refused: {answer.describe()}"
    _fail(refund.pk, reason)
    return Delivery("failed", detail=reason)


def _fail(refund_id: int, reason: str) -> None:
    """Mark the refund failed, unless it left `submitted` meanwhile (the shop confirmed it, a person settled it)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != RefundStatus.SUBMITTED:
            logger.info("refund %s is %s now: not marked failed (%s)", refund_id, refund.status, reason)
            return
        try:
            mark_refund_failed(refund=refund, reason=reason[:500], by=None)
        except ClaimError as exc:  # pragma: no cover - the lock above keeps its state
            logger.warning("refund %s not marked failed: %s", refund_id, exc)
            return
    logger.warning("refund %s failed: %s", refund_id, reason)


# --- the periodic re-send -----------------------------------------------------------------------------------


def resubmit_pending(now: dt.datetime | None = None) -> int:
    """Hand the worker every webhook refund still pending RESEND_AFTER after its last change (the broker was down
    when it was made or retried). Returns how many were handed over; stops at the first broker failure."""
    from .tasks import submit_refund_payout

    cutoff = (now or timezone.now()) - RESEND_AFTER
    recent = RefundEvent.objects.filter(refund=OuterRef("pk"), created_at__gt=cutoff)
    pks = list(Refund.objects.filter(status=RefundStatus.PENDING, provider=WEBHOOK, created_at__lte=cutoff)
               .exclude(Exists(recent)).order_by("created_at", "pk").values_list("pk", flat=True)[:RESEND_BATCH])
    handed = 0
    for pk in pks:
        try:
            submit_refund_payout.apply_async((pk,), retry=False)
        except Exception:  # noqa: BLE001 - any broker failure: the next run tries again
            logger.warning("broker unavailable: %d pending refunds wait for the next re-send", len(pks) - handed)
            break
        handed += 1
    return handed

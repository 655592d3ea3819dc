"""Outbound webhooks: the outbox of events and the engine that delivers them, the Standard Webhooks way
(https://www.standardwebhooks.com).

    POST <endpoint URL>
    webhook-id: msg_01JP0X8Q4M6V2R7T9W3Y5Z8B1C        (the event's: the same on every delivery and retry of it)
    webhook-timestamp: 1773136800
    webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">[ v1,<the same with the previous secret>]
    {"type": "claim.opened", "timestamp": "2026-03-10T09:00:00Z", "data": {...}}

- `emit` writes the event and one delivery per enabled endpoint that chose its type (the seller's own endpoints and
  every platform endpoint) in the caller's transaction, and hands the deliveries to Celery once it commits. A broker
  that is down loses nothing: the beat's `deliver_due` hands over what is due.
- `deliver` claims the delivery (a short row lock, then `claimed_until`), commits, and only then POSTs: no row lock is
  held during the network call, and a second worker given the same delivery finds it claimed and leaves it. The
  destination is checked again on every attempt (DNS may have changed since the endpoint was registered) and the
  request goes to the very address that was checked, so a host cannot resolve to a public address for the check and
  to a private one for the request.
- A 2xx is success. A 410 Gone turns the endpoint off at once. Anything else (another status, a redirect, which is
  never followed, a timeout, a refused destination) is retried after WEBHOOK_RETRY_SCHEDULE[attempts] seconds plus up
  to WEBHOOK_RETRY_JITTER of that at random, and fails after the last; an endpoint that keeps failing for
  WEBHOOK_DISABLE_AFTER_DAYS is turned off. Turning an endpoint off (integrations.endpoints.disable_endpoint) fails
  its pending deliveries, and integrations.signals.endpoint_disabled asks the layer above (claims.receivers) to
  email the endpoint's owner through the email outbox.
- `redeliver` sends one delivery again now, whatever its status, with the same webhook-id (the receiver
  deduplicates by it); the attempt records who asked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from standardwebhooks import Webhook

from core.errors import DomainError

from . import endpoints
from .models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookEventType
from .signals import endpoint_disabled

logger = logging.getLogger(__name__)

USER_AGENT = "marketplace-support-webhooks/1"
MSG_ID_PREFIX = "msg_"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # the ULID alphabet: sortable by time, no I, L, O, U
EXCERPT_LENGTH = 500  # WebhookAttempt.response_excerpt
READ_LIMIT = 4096  # bytes of an answer read, at most: the excerpt needs no more, and a huge answer costs nothing
MAX_ADDRESSES = 3  # addresses of one host tried in turn when the connection itself fails
# A claimed delivery is left alone until this long after the claim: connecting, sending and waiting for the answer
# are each bounded by WEBHOOK_TIMEOUT_SECONDS (and the body read by the same deadline), plus a margin for DNS.
CLAIM_MARGIN = dt.timedelta(seconds=30)
# A task may run a moment before the time the delivery is due (the worker's clock, a countdown rounded down).
EARLY_TOLERANCE = dt.timedelta(seconds=1)
# Retries due within this are handed to Celery with a countdown; later ones wait for the beat's deliver_due (a broker
# holding hours-long countdowns redelivers them when its visibility timeout passes).
COUNTDOWN_LIMIT_SECONDS = 60
# deliver_due hands its batch to the workers: the rows stay claimed this long for the task to find them.
HANDOFF = dt.timedelta(minutes=2)
DUE_BATCH = 200


class WebhookError(DomainError):
    pass


# --- the outbox ---------------------------------------------------------------------------------------------------


def new_msg_id(now: dt.datetime | None = None) -> str:
    """`msg_` and a ULID: 48 bits of milliseconds and 80 random bits in 26 Crockford base32 characters, so the ids
    sort by time and never repeat."""
    millis = int((now or timezone.now()).timestamp() * 1000)
    value = (millis << 80) | secrets.randbits(80)
    chars = []
    for _position in range(26):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return MSG_ID_PREFIX + "".join(reversed(chars))


def utc_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _subscribed(type: str, seller_id: int | None) -> list[int]:
    """The enabled endpoints that chose `type`: the seller's own and every platform endpoint. An endpoint's events are
    a short list, read here rather than queried (SQLite has no JSON containment). Inside `endpoints_read_once` the
    enabled endpoints are read once for all the events written."""
    read_once = _endpoints.get()
    if read_once is not None:
        if read_once.rows is None:
            read_once.rows = list(WebhookEndpoint.objects.filter(disabled_at__isnull=True).order_by("pk")
                                  .values_list("pk", "seller_id", "events"))
        rows = [(pk, events) for pk, owner, events in read_once.rows if owner is None or owner == seller_id]
    else:
        owners = Q(seller__isnull=True) | Q(seller_id=seller_id) if seller_id is not None else Q(seller__isnull=True)
        rows = list(WebhookEndpoint.objects.filter(owners, disabled_at__isnull=True).order_by("pk")
                    .values_list("pk", "events"))
    return [pk for pk, events in rows if isinstance(events, list) and type in events]


@dataclass
class _ReadOnce:
    """(id, seller id, events) of every enabled endpoint, once read inside `endpoints_read_once`."""

    rows: list[tuple[int, int | None, Any]] | None = None


_endpoints: ContextVar[_ReadOnce | None] = ContextVar("webhook_endpoints", default=None)


@contextlib.contextmanager
def endpoints_read_once() -> Iterator[None]:
    """Many events written at once (the deadline sweep's batch): the enabled endpoints are read with the first and
    kept until the end of the block, inside the caller's transaction."""
    token = _endpoints.set(_ReadOnce())
    try:
        yield
    finally:
        _endpoints.reset(token)


def emit(*, type: str, seller_id: int | None, claim_number: str, data: dict[str, Any],
         dedupe_key: str) -> WebhookEvent | None:
    """Write one event and its deliveries in the caller's transaction, and hand the deliveries to Celery once it
    commits. None when nobody subscribed to it, or when an event with this `dedupe_key` was written already (the
    caller's transaction goes on either way)."""
    if type not in WebhookEventType.values:
        raise ValueError(f"unknown webhook event type {type!r}")
    endpoint_ids = _subscribed(type, seller_id)
    if not endpoint_ids:
        return None
    now = timezone.now()
    payload = {"type": type, "timestamp": utc_iso(now), "data": data}
    try:
        with transaction.atomic():  # a savepoint: a duplicate must not break the caller's transaction
            event = WebhookEvent.objects.create(msg_id=new_msg_id(now), type=type, seller_id=seller_id,
                                                claim_number=claim_number[:32], payload=payload,
                                                dedupe_key=dedupe_key[:200], created_at=now)
    except IntegrityError:
        return None
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(event=event, endpoint_id=pk, next_attempt_at=now, created_at=now) for pk in endpoint_ids])
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: enqueue(ids))
    return event


def enqueue(ids: Iterable[int], *, handoff: str | None = None) -> int:
    """Hand deliveries to Celery; how many were handed. A broker that is down loses nothing: the rows wait for the
    beat's deliver_due."""
    from .tasks import deliver_webhook

    ids = list(ids)
    for handed, pk in enumerate(ids):
        try:
            deliver_webhook.apply_async((pk,) if handoff is None else (pk, handoff), retry=False)
        except Exception:  # noqa: BLE001 - any broker failure; the outbox keeps the deliveries
            logger.warning("broker unavailable: webhook deliveries %s wait for the beat", ids[handed:])
            return handed
    return len(ids)


# --- signing --------------------------------------------------------------------------------------------------------


def signing_secrets(endpoint: WebhookEndpoint, now: dt.datetime | None = None) -> list[str]:
    """The current secret, and during a rotation (until previous_secret_expires_at) the previous one too."""
    now = now or timezone.now()
    found = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        found.append(endpoint.previous_secret)
    return found


def sign(endpoint: WebhookEndpoint, msg_id: str, timestamp: dt.datetime, body: str) -> str:
    """The webhook-signature header: `v1,<signature>` per secret, separated by a space (the receiver accepts the
    message when any one of them matches a secret it knows)."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in signing_secrets(endpoint, timestamp))


def signed_headers(endpoint: WebhookEndpoint, msg_id: str, body: str, now: dt.datetime) -> dict[str, str]:
    # Whole seconds: the signature covers the timestamp as the header states it.
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(endpoint, msg_id, now, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


# --- where a webhook may go -----------------------------------------------------------------------------------------


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Why requests must not go to this address (empty: a public address). An IPv4 address written as IPv6
    (::ffff:10.0.0.1) is judged as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return _("%(host)s resolves to %(address)s, the unspecified address. Webhooks are only sent to public "
                 "internet addresses.")
    if address.is_loopback:
        return _("%(host)s resolves to %(address)s, a loopback address of our own servers. Webhooks are only sent "
                 "to public internet addresses.")
    if address.is_link_local:
        return _("%(host)s resolves to %(address)s, a link-local address (as used by cloud metadata services). "
                 "Webhooks are only sent to public internet addresses.")
    if address.is_multicast:
        return _("%(host)s resolves to %(address)s, a multicast address. Webhooks are only sent to public internet "
                 "addresses.")
    if address.is_reserved:
        return _("%(host)s resolves to %(address)s, a reserved address. Webhooks are only sent to public internet "
                 "addresses.")
    if address.is_private:
        return _("%(host)s resolves to %(address)s, an address of a private network. Webhooks are only sent to "
                 "public internet addresses.")
    if not address.is_global:  # shared (carrier-grade NAT), documentation and benchmarking ranges
        return _("%(host)s resolves to %(address)s, a reserved address. Webhooks are only sent to public internet "
                 "addresses.")
    return ""


def resolve_destination(url: str) -> list[str]:
    """The addresses a webhook to `url` may be sent to, in the resolver's order; WebhookError when the URL is not
    http(s), its host does not resolve, or any address it resolves to is private, loopback, link-local, multicast,
    reserved or unspecified (unless WEBHOOK_ALLOW_PRIVATE_DESTINATIONS). Any, not all: a host with one private
    address could be sent there."""
    try:
        parts = urlsplit(url or "")
        port = parts.port
    except ValueError as exc:
        raise WebhookError(_("The webhook URL is not valid (check its host and port).")) from exc
    if parts.scheme not in ("http", "https"):
        raise WebhookError(_("A webhook URL starts with https:// (or http://)."))
    host = parts.hostname
    if not host:
        raise WebhookError(_("The webhook URL has no host name."))
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise WebhookError(_("The host name %(host)s could not be resolved. Check the URL.") % {"host": host}) from exc
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0) is not part of the address
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise WebhookError(_("The host name %(host)s could not be resolved. Check the URL.") % {"host": host})
    if not settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS:
        for address in addresses:
            try:
                parsed = ipaddress.ip_address(address)
            except ValueError as exc:
                raise WebhookError(_("The host name %(host)s could not be resolved. Check the URL.")
                                   % {"host": host}) from exc
            if why := _refusal(parsed):
                raise WebhookError(why % {"host": host, "address": address}, code="invalid")
    return addresses


def check_destination(url: str) -> None:
    """Refuse (WebhookError) a URL that webhooks must not be sent to: see resolve_destination."""
    resolve_destination(url)


# --- one POST -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int | None = None  # None: no HTTP answer (refused destination, connection error, timeout)
    error: str = ""
    excerpt: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return text[:EXCERPT_LENGTH]


def _describe(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return _("No answer within %(seconds)s seconds.") % {"seconds": f"{settings.WEBHOOK_TIMEOUT_SECONDS:g}"}
    return f"{type(error).__name__}: {error}"[:EXCERPT_LENGTH]


def post(url: str, body: str, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` at an address that passed check_destination just now; whatever happens, an Answer."""
    try:
        addresses = resolve_destination(url)
    except WebhookError as exc:
        return Answer(error=str(exc)[:EXCERPT_LENGTH])
    target = httpx.URL(url)
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    # The host's name goes in Host and in TLS (SNI and the certificate check); the connection goes to the address.
    headers = {**headers, "host": target.netloc.decode("ascii")}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    error: Exception | None = None
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for address in addresses[:MAX_ADDRESSES]:
            deadline = time.monotonic() + timeout
            try:
                with client.stream("POST", target.copy_with(host=address), content=body.encode(), headers=headers,
                                   extensions=extensions) as response:
                    raw = b""
                    for chunk in response.iter_bytes():
                        raw += chunk
                        if len(raw) >= READ_LIMIT or time.monotonic() > deadline:
                            break
                    return Answer(status=response.status_code, excerpt=_excerpt(raw[:READ_LIMIT]))
            except httpx.ConnectError as exc:  # this address takes no connection: the host's next one may
                error = exc
                continue
            except httpx.HTTPError as exc:  # a timeout, a reset, a broken answer: the request may have arrived
                return Answer(error=_describe(exc))
    return Answer(error=_describe(error) if error else _("No address to send to."))


# --- one delivery ---------------------------------------------------------------------------------------------------


def _claim(delivery_id: int, *, handoff: dt.datetime | None = None, redelivery: bool = False,
           now: dt.datetime) -> WebhookDelivery | None:
    """Lock the delivery for a moment and mark it claimed until the attempt is surely over; None when it is not
    for this call (sent, failed, not due, claimed by another worker). Commits before returning."""
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    if handoff is not None:
        free |= Q(claimed_until=handoff)  # claimed for this very task by deliver_due
    with transaction.atomic():
        rows = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("event", "endpoint").filter(free, pk=delivery_id))
        if not redelivery:
            rows = rows.filter(status=DeliveryStatus.PENDING)
        delivery = rows.first()
        if delivery is None:
            return None
        if not delivery.endpoint.is_enabled:
            if delivery.status == DeliveryStatus.PENDING:  # turned off since; disable_endpoint fails the rest
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                delivery.claimed_until = None
                delivery.last_error = _("Not sent: the endpoint was turned off.")[:500]
                delivery.save(update_fields=["status", "next_attempt_at", "claimed_until", "last_error"])
            return None
        if not redelivery and delivery.next_attempt_at and delivery.next_attempt_at > now + EARLY_TOLERANCE:
            return None  # a task that came early (a duplicate, or an eager countdown): the due time will come
        delivery.claimed_until = now + 3 * dt.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS) + CLAIM_MARGIN
        delivery.save(update_fields=["claimed_until"])
    return delivery


def deliver(delivery_id: int, *, handoff: str | None = None) -> bool:
    """One attempt of a pending delivery that is due; True when the endpoint accepted it. Safe to call twice at
    once: the second call finds the delivery claimed and does nothing. `handoff`: deliver_due's claim on the row."""
    now = timezone.now()
    handed = dt.datetime.fromisoformat(handoff) if handoff else None
    delivery = _claim(delivery_id, handoff=handed, now=now)
    if delivery is None:
        return False
    return _attempt(delivery, by=None, redelivery=False).ok


def _attempt(delivery: WebhookDelivery, *, by: Any, redelivery: bool) -> Answer:
    """POST a claimed delivery (the claim is committed: nothing is locked while we wait), then record it."""
    event, endpoint = delivery.event, delivery.endpoint
    body = json.dumps(event.payload, separators=(",", ":"))
    started = time.monotonic()
    try:
        answer = post(endpoint.url, body, signed_headers(endpoint, event.msg_id, body, timezone.now()))
    except Exception as exc:  # noqa: BLE001 - a malformed secret or URL, anything unforeseen: logged as a failure
        logger.exception("webhook delivery %s: the attempt broke", delivery.pk)
        answer = Answer(error=f"{type(exc).__name__}: {exc}"[:EXCERPT_LENGTH])
    duration_ms = int((time.monotonic() - started) * 1000)
    retry_in = _record(delivery, answer, duration_ms=duration_ms, by=by, redelivery=redelivery)
    if retry_in is not None and retry_in <= COUNTDOWN_LIMIT_SECONDS:
        _enqueue_retry(delivery.pk, retry_in)
    return answer


def retry_delay(attempts: int) -> float | None:
    """Seconds until the next attempt after `attempts` attempts (WEBHOOK_RETRY_SCHEDULE[attempts]) with up to
    WEBHOOK_RETRY_JITTER of it added at random, so the retries of many deliveries that failed together spread out;
    None after the last."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if attempts >= len(schedule):
        return None
    delay = float(schedule[attempts])
    return delay + random.uniform(0, settings.WEBHOOK_RETRY_JITTER * delay)  # noqa: S311 - spreading load, no secret


def _what_failed(answer: Answer) -> str:
    if answer.status is None:
        return answer.error[:500]
    return f"HTTP {answer.status}"


def _record(delivery: WebhookDelivery, answer: Answer, *, duration_ms: int, by: Any,
            redelivery: bool) -> float | None:
    """Log the attempt and move the delivery and its endpoint on; the seconds until a retry, if one is due. A
    redelivery is outside the schedule: it counts no attempt, and its failure leaves the status as it was."""
    now = timezone.now()
    retry_in = None
    with transaction.atomic():
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        WebhookAttempt.objects.create(delivery=current, attempted_at=now, status_code=answer.status,
                                      error="" if answer.ok else _what_failed(answer),
                                      response_excerpt=answer.excerpt, duration_ms=duration_ms,
                                      redelivery_by=by)
        current.claimed_until = None
        current.last_status_code = answer.status
        current.last_error = "" if answer.ok else _what_failed(answer)
        if not redelivery:
            current.attempts += 1
        if answer.ok:
            current.status = DeliveryStatus.SUCCEEDED
            current.delivered_at = now
            current.next_attempt_at = None
        # A 410 schedules no retry: _endpoint_health turns the endpoint off, which fails this delivery if pending.
        elif not answer.gone and not redelivery and current.status == DeliveryStatus.PENDING:
            retry_in = retry_delay(current.attempts)
            if retry_in is None:
                current.status = DeliveryStatus.FAILED
                current.next_attempt_at = None
            else:
                current.next_attempt_at = now + dt.timedelta(seconds=retry_in)
        current.save(update_fields=["claimed_until", "last_status_code", "last_error", "attempts", "status",
                                    "delivered_at", "next_attempt_at"])
        _endpoint_health(current, answer, now=now)
        if current.status != DeliveryStatus.PENDING:
            retry_in = None  # the endpoint was turned off just now
    delivery.status = current.status
    return retry_in


def _endpoint_health(delivery: WebhookDelivery, answer: Answer, *, now: dt.datetime) -> None:
    """A success clears failing_since; the first failure after one sets it. A 410, or a failure when the endpoint has
    been failing for WEBHOOK_DISABLE_AFTER_DAYS, turns it off."""
    endpoint_id = delivery.endpoint_id
    if answer.ok:
        WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=False).update(failing_since=None)
        return
    if answer.gone:
        _disable(delivery, lambda: _("The endpoint answered 410 Gone: it no longer takes events."))
        return
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(failing_since=now)
    since = WebhookEndpoint.objects.filter(pk=endpoint_id).values_list("failing_since", flat=True).first()
    days = settings.WEBHOOK_DISABLE_AFTER_DAYS
    if since is not None and since <= now - dt.timedelta(days=days):
        _disable(delivery, lambda: ngettext("Every delivery failed for %(days)d day (the last: %(error)s).",
                                            "Every delivery failed for %(days)d days (the last: %(error)s).", days)
                 % {"days": days, "error": _what_failed(answer)[:200]})


def _disable(delivery: WebhookDelivery, reason: Callable[[], str]) -> None:
    """Turn the endpoint off (its pending deliveries fail) and have its owner told, once: an endpoint turned off
    meanwhile, by a person or another worker, keeps its first reason and its owner gets no second email. The reason
    is written in the owner's language: the dashboard shows it to them, and their email quotes it."""
    endpoint = (WebhookEndpoint.objects.select_for_update(of=("self",)).select_related("seller")
                .get(pk=delivery.endpoint_id))
    if not endpoint.is_enabled:
        return
    if delivery.status == DeliveryStatus.PENDING:  # this attempt's error stays on it (disable_endpoint writes another)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        delivery.status = DeliveryStatus.FAILED
    with translation.override(owner_language(endpoint)):
        endpoints.disable_endpoint(endpoint=endpoint, reason=reason(), by=None)
    logger.warning("webhook endpoint %s (%s) turned off: %s", endpoint.pk, endpoint.url, reason)
    endpoint_disabled.send(sender=WebhookEndpoint, endpoint=endpoint, reason=endpoint.disabled_reason)


def owner_language(endpoint: WebhookEndpoint) -> str:
    """The language the endpoint's owner reads: the seller's, or the site's for a platform endpoint."""
    return (endpoint.seller.language if endpoint.seller is not None else "") or settings.LANGUAGE_CODE


def _enqueue_retry(delivery_id: int, seconds: float) -> None:
    from .tasks import deliver_webhook

    try:
        deliver_webhook.apply_async((delivery_id,), countdown=seconds, retry=False)
    except Exception:  # noqa: BLE001 - any broker failure; deliver_due picks it up when due
        logger.warning("broker unavailable: webhook delivery %s waits for the beat", delivery_id)


# --- the beat's catch-up and a person's redelivery ------------------------------------------------------------------


def deliver_due(limit: int = DUE_BATCH, *, now: dt.datetime | None = None) -> int:
    """Hand the workers every pending delivery that is due and not being sent (the broker was down, a worker was
    lost, a retry too far off for a countdown). The batch is claimed for HANDOFF, so the next run does not hand it
    over again while it waits in the queue; a task finds its row by that claim. Returns how many were handed."""
    now = now or timezone.now()
    until = now + HANDOFF
    with transaction.atomic():
        ids = list(WebhookDelivery.objects.select_for_update(skip_locked=True)
                   .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
                   .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
                   .order_by(F("next_attempt_at").asc(), "pk").values_list("pk", flat=True)[:limit])
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(claimed_until=until)
    return enqueue(ids, handoff=until.isoformat()) if ids else 0


def redeliver(*, delivery: WebhookDelivery, by: Any) -> WebhookDelivery:
    """Send a delivery again now, whatever its status (same webhook-id: the receiver deduplicates), and return it as
    it is afterwards. Success makes it succeeded; a failure is logged and changes nothing else (a pending delivery
    keeps its schedule). Refused for a turned-off endpoint (turning it on is the owner's choice, not a side effect)
    and while a worker is sending it. The request is made in the caller's thread: call it outside a transaction, so
    that nothing stays locked while the endpoint answers (pages and the console do)."""
    endpoint = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).only("disabled_at").first()
    if endpoint is None or not endpoint.is_enabled:
        raise WebhookError(_("The endpoint is turned off. Turn it on first to send events to it again."),
                           code="state")
    claimed = _claim(delivery.pk, redelivery=True, now=timezone.now())
    if claimed is None:
        raise WebhookError(_("This delivery is being sent right now. Look at its log again in a moment."),
                           code="conflict")
    _attempt(claimed, by=by, redelivery=True)
    return WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery.pk)

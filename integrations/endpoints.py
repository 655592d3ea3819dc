"""Webhook endpoints, the people's side: registered, changed, their signing secret rotated, turned off and on,
deleted. A seller's endpoints are kept by its owner (on the dashboard); the platform's (the shop's, `seller` empty)
by superusers (in the console), who may also turn off any seller's endpoint that misbehaves. The deliveries
themselves are integrations.webhooks'.

A secret is `whsec_` and the base64 of 32 random bytes (the Standard Webhooks form), returned once by the function
that makes it and never shown again. A rotation keeps the old secret as `previous_secret` for
WEBHOOK_SECRET_ROTATION_HOURS: the deliveries are signed with both, so the receiver can switch without losing any.

Turning an endpoint off (here, or integrations.webhooks after a 410 or WEBHOOK_DISABLE_AFTER_DAYS of failures) fails
its pending deliveries: turning it on again does not send a backlog of old events at once; the owner redelivers the
ones they still want from the delivery log.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.models import max_length
from sellers.models import MembershipRole, Seller, SellerMembership

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEventType

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
SECRET_BYTES = 32
URL_MAX_LENGTH = max_length(WebhookEndpoint, "url")
DESCRIPTION_MAX_LENGTH = max_length(WebhookEndpoint, "description")
REASON_MAX_LENGTH = max_length(WebhookEndpoint, "disabled_reason")


class EndpointError(DomainError):
    """A refusal of an endpoint change. `field` names the input it is about ("url", "events", "description"; empty
    for the change as a whole), so a form shows it next to that field."""

    def __init__(self, message: str, code: str = "invalid", field: str = "") -> None:
        super().__init__(message, code=code)
        self.field = field


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


# --- who ---------------------------------------------------------------------------------------------------------


def is_owner(user: Any, seller_id: int) -> bool:
    """The person answerable for the shop: the owner keeps its keys and endpoints (as its canned replies)."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return SellerMembership.objects.filter(user=user, seller_id=seller_id, role=MembershipRole.OWNER).exists()


def is_superuser(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff and user.is_superuser)


def may_manage(user: Any, seller_id: int | None) -> bool:
    """A seller's endpoints: its owner, or a superuser; the platform's: superusers only."""
    if is_superuser(user):
        return True
    return seller_id is not None and is_owner(user, seller_id)


def _check(user: Any, seller_id: int | None) -> None:
    if not may_manage(user, seller_id):
        raise EndpointError(_("Only the shop's owner can change its webhook endpoints."), code="forbidden")


# --- what is asked for -------------------------------------------------------------------------------------------


def clean_url(url: str) -> str:
    """An http(s) URL that webhooks may be sent to (integrations.webhooks.check_destination: no private or loopback
    address unless WEBHOOK_ALLOW_PRIVATE_DESTINATIONS, a host that resolves)."""
    url = (url or "").strip()
    if not url:
        raise EndpointError(_("Enter the URL the events are sent to."), field="url")
    if len(url) > URL_MAX_LENGTH:
        raise EndpointError(_("A URL has at most %(limit)d characters.") % {"limit": URL_MAX_LENGTH}, field="url")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise EndpointError(_("Enter a full URL starting with https://."), field="url") from exc
    # integrations.webhooks imports this module (to turn endpoints off): imported here, not at the top.
    from . import webhooks

    try:
        webhooks.check_destination(url)
    except DomainError as exc:
        raise EndpointError(str(exc), code=exc.code or "invalid", field="url") from exc
    return url


def clean_events(events: Iterable[str]) -> list[str]:
    """At least one known event type, each once, in the order of WebhookEventType (how the pages list them)."""
    chosen = {str(event) for event in events or ()}
    unknown = sorted(chosen - set(WebhookEventType.values))
    if unknown:
        raise EndpointError(_("Unknown event types: %(unknown)s.") % {"unknown": ", ".join(unknown)}, field="events")
    if not chosen:
        raise EndpointError(_("Choose at least one event to receive."), field="events")
    return [value for value in WebhookEventType.values if value in chosen]


def clean_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise EndpointError(_("A description has at most %(limit)d characters.") % {"limit": DESCRIPTION_MAX_LENGTH},
                            field="description")
    return description


# --- writes ------------------------------------------------------------------------------------------------------


def create_endpoint(*, seller: Seller | None, url: str, events: Iterable[str], description: str = "",
                    by: Any) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of `seller` (None: the platform's), on. Returns it and its secret, which is never shown
    again."""
    _check(by, seller.pk if seller is not None else None)
    events = clean_events(events)
    description = clean_description(description)
    url = clean_url(url)
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(seller=seller, url=url, description=description, events=events,
                                              secret=secret, created_by=by)
    return endpoint, secret


def _locked(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)


def _refresh(target: WebhookEndpoint, source: WebhookEndpoint) -> WebhookEndpoint:
    """The caller's instance shows what was saved (views render it after the call)."""
    for field in WebhookEndpoint._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


def update_endpoint(*, endpoint: WebhookEndpoint, by: Any, url: str | None = None, description: str | None = None,
                    events: Iterable[str] | None = None) -> WebhookEndpoint:
    """Change what is given (None: unchanged). A new URL is checked as a new endpoint's; the secret stays."""
    _check(by, endpoint.seller_id)
    changes: dict[str, Any] = {}
    if events is not None:
        changes["events"] = clean_events(events)
    if description is not None:
        changes["description"] = clean_description(description)
    if url is not None and url.strip() != endpoint.url:
        changes["url"] = clean_url(url)
    with transaction.atomic():
        locked = _locked(endpoint)
        for name, value in changes.items():
            setattr(locked, name, value)
        if changes:
            locked.save(update_fields=list(changes))
    return _refresh(endpoint, locked)


def rotate_secret(*, endpoint: WebhookEndpoint, by: Any) -> str:
    """A new secret, returned once. The current one stays valid as `previous_secret` for
    WEBHOOK_SECRET_ROTATION_HOURS (deliveries carry both signatures meanwhile); a secret older than that, from a
    rotation still under way, is dropped."""
    _check(by, endpoint.seller_id)
    secret = new_secret()
    with transaction.atomic():
        locked = _locked(endpoint)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = timezone.now() + dt.timedelta(hours=settings.WEBHOOK_SECRET_ROTATION_HOURS)
        locked.secret = secret
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    _refresh(endpoint, locked)
    return secret


def disable_endpoint(*, endpoint: WebhookEndpoint, reason: str, by: Any = None) -> WebhookEndpoint:
    """Turn it off: no new deliveries, and the pending ones fail (see the module's text). `by` None: the system
    (integrations.webhooks after a 410 or days of failures). Turning off an endpoint that is off keeps the first
    reason."""
    if by is not None:
        _check(by, endpoint.seller_id)
    reason = (reason or "").strip()[:REASON_MAX_LENGTH] or _("Turned off.")
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(endpoint)
        if locked.disabled_at is None:
            locked.disabled_at = now
            locked.disabled_reason = reason
            locked.save(update_fields=["disabled_at", "disabled_reason"])
            WebhookDelivery.objects.filter(endpoint=locked, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.FAILED, next_attempt_at=None,
                last_error=_("Not sent: the endpoint was turned off.")[:500])
    return _refresh(endpoint, locked)


def enable_endpoint(*, endpoint: WebhookEndpoint, by: Any) -> WebhookEndpoint:
    """Turn it on again, with a clean slate: failing_since is cleared (the days of failures count anew). What failed
    while it was off is not resent; the delivery log redelivers it."""
    _check(by, endpoint.seller_id)
    with transaction.atomic():
        locked = _locked(endpoint)
        if locked.disabled_at is not None or locked.failing_since is not None:
            locked.disabled_at = None
            locked.disabled_reason = ""
            locked.failing_since = None
            locked.save(update_fields=["disabled_at", "disabled_reason", "failing_since"])
    return _refresh(endpoint, locked)


def delete_endpoint(*, endpoint: WebhookEndpoint, by: Any) -> None:
    """Gone, with its delivery log. The events themselves stay (other endpoints may have received them)."""
    _check(by, endpoint.seller_id)
    with transaction.atomic():
        _locked(endpoint).delete()

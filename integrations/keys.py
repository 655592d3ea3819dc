"""API keys: made (shown once), found from the `Authorization: Bearer` header, revoked.

A key is `mk_<8 hex>_<43 urlsafe>`: the first part, its prefix, finds the row; the whole key is compared by its
SHA-256 (a random 256-bit secret needs no slow hash). The key's own user (ApiKey.user) is what the API acts as: for a
seller's key a staff member of that seller (sellers.SellerMembership), so the dashboard's role functions authorize
the API too; revoking the key deactivates that user."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.errors import DomainError
from core.models import AuditKind
from sellers.models import MembershipRole, Seller, SellerMembership

from .models import ApiKey, ApiScope

KEY_PREFIX = "mk_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8
LAST_USED_PRECISION_SECONDS = 60  # last use is written at most once a minute per key


class ApiKeyError(DomainError):
    pass


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(*, name: str, seller: Seller | None, scope: str = ApiScope.READ,
                   created_by: Any = None) -> tuple[ApiKey, str]:
    """A new key for `seller` (None: a platform key, for the shop). Returns the row and the key itself, which is
    never shown again."""
    name = (name or "").strip()
    if not name:
        raise ApiKeyError(_("Give the key a name, so you know later what uses it."), code="invalid")
    if len(name) > 100:
        raise ApiKeyError(_("A key's name has at most 100 characters."), code="invalid")
    if scope not in ApiScope.values:
        raise ApiKeyError(_("A key's scope is “read” or “write”."), code="invalid")
    prefix = KEY_PREFIX + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model(username=f"api-key-{prefix[len(KEY_PREFIX):]}", first_name=name[:150],
                          last_name=_("(API key)"), is_active=True)
        user.set_unusable_password()
        user.save()
        if seller is not None:
            SellerMembership.objects.create(user=user, seller=seller, role=MembershipRole.STAFF)
        api_key = ApiKey.objects.create(name=name, seller=seller, scope=scope, prefix=prefix, hashed_key=_hash(key),
                                        user=user, created_by=created_by)
        # The audit log (issue 18: "API keys"): who made which key, for whom (None: the command line).
        audit.record(AuditKind.API_KEY_CREATED, actor=created_by, obj=api_key, prefix=prefix, scope=scope,
                     seller=seller.pk if seller is not None else None)
    return api_key, key


def revoke_api_key(*, api_key: ApiKey, by: Any = None) -> ApiKey:
    """From now on every request with the key is refused (401). Revoking twice changes nothing."""
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.revoked_by = by
            api_key.save(update_fields=["revoked_at", "revoked_by"])
            get_user_model().objects.filter(pk=api_key.user_id).update(is_active=False)
            audit.record(AuditKind.API_KEY_REVOKED, actor=by, obj=api_key, prefix=api_key.prefix,
                         seller=api_key.seller_id)
    return api_key


def authenticate(key: str) -> ApiKey | None:
    """The active key this is, with its user and seller loaded; None for anything else (malformed, unknown,
    revoked, or the seller no longer active is left to the role functions)."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 100 or not (key.isascii() and key.isprintable()):
        return None  # (a NUL in the header would reach the database, which refuses it)
    prefix = key[:PREFIX_LENGTH]  # the secret part may hold "_" too
    if key[PREFIX_LENGTH:PREFIX_LENGTH + 1] != "_":
        return None
    api_key = (ApiKey.objects.select_related("user", "seller").filter(prefix=prefix, revoked_at__isnull=True)
               .first())
    if api_key is None or not hmac.compare_digest(api_key.hashed_key, _hash(key)):
        return None
    if not api_key.user.is_active:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() >= LAST_USED_PRECISION_SECONDS:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def rate_limit() -> tuple[int, int]:
    return settings.API_RATE_LIMIT, settings.API_RATE_WINDOW_SECONDS

"""The append-only audit log (core.models.AuditEvent): one call, `record`, from wherever something worth auditing
happens (logins and lockouts, second factors, API keys, refunds and payouts, ledger adjustments, data exports and
erasures). Written in the caller's transaction, so a change that is rolled back leaves no line."""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest

from .models import AuditEvent, AuditKind

# `subject` left out: the account concerned is the actor's own. Passed as None: no account (a username that matches
# none).
ACTOR = object()


def record(kind: str, *, actor: Any = None, subject: Any = ACTOR, request: HttpRequest | None = None, obj: Any = None,
           summary: str = "", **details: Any) -> AuditEvent:
    """Add one line. `actor` did it, `subject` is the account it concerns (the actor's own by default), `obj` the
    record it concerns (its model label and key are kept), `details` anything else, free of names and emails."""
    if subject is not ACTOR and subject is not None and not getattr(subject, "is_authenticated", True):
        subject = None
    if kind not in AuditKind.values:
        raise ValueError(f"unknown audit kind {kind!r}")
    if actor is not None and not getattr(actor, "is_authenticated", True):
        actor = None  # an AnonymousUser
    ip = None
    if request is not None:
        from .ratelimit import client_ip

        ip = client_ip(request) or None
    return AuditEvent.objects.create(
        kind=kind, actor=actor, subject_user=actor if subject is ACTOR else subject, ip_address=ip,
        object_type=obj._meta.label_lower if obj is not None else "", object_id=str(obj.pk) if obj is not None else "",
        summary=str(summary)[:300], details=details,
    )


def username_digest(username: str) -> str:
    """What the log keeps of a username that matches no account: enough to see that the same name was tried again,
    nothing to read it back from."""
    from .usernames import normalize_username

    return hashlib.sha256(normalize_username(username).encode()).hexdigest()[:16]

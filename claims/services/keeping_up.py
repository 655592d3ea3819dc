"""Keeping up with one's claims: notifications read, and which kinds of email a person gets (claims.keeping_up reads
them; claims.notifications writes the notifications and honours the preferences)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..choices import EmailKind
from ..errors import ClaimError
from ..models import Claim, EmailPreference, Notification
from ..notifications import drop_unsent


def mark_all_read(*, user: User, at: dt.datetime | None = None) -> int:
    """Everything in the person's list read; returns how many were unread."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=at or timezone.now())


def mark_claim_read(*, claim: Claim, user: User, at: dt.datetime) -> int:
    """The claim's notifications read as the person saw the claim at `at` (claims.services.mark_seen): news that came
    in after the page was made stays unread."""
    return (Notification.objects.filter(user=user, claim=claim, read_at__isnull=True, created_at__lte=at)
            .update(read_at=at))


def set_email_preferences(*, user: User, enabled: Mapping[str, bool]) -> None:
    """Turn kinds of email on or off. The mails that carry a deadline or a decision (EmailKind.ALWAYS) cannot be
    turned off: asking to is refused, and nothing changes."""
    for kind, on in enabled.items():
        if kind == EmailKind.ALWAYS and not on:
            raise ClaimError(_("Emails with a deadline, a decision or a legal notice are always sent: they cannot be "
                               "turned off."), code="invalid")
        if kind not in EmailKind.values:
            raise ClaimError(_("There is no such kind of email."), code="invalid")
    with transaction.atomic():
        for kind, on in enabled.items():
            if kind != EmailKind.ALWAYS:
                EmailPreference.objects.update_or_create(user=user, kind=kind, defaults={"enabled": bool(on)})
                if not on:  # what of the kind still waits in the outbox (a digest above all) is not sent either
                    drop_unsent(user=user, kind=kind)

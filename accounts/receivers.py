"""Accounts keep one spelling of their username (core.usernames), whoever makes them: the console, a command, the
shop's API or the demo. Logins, failed logins and lockouts go to the audit log (core.audit), by account and never
by name: a username that is no account's is kept as a digest; failed logins also count towards their address's
ceiling (accounts.lockout)."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from core import audit
from core.usernames import normalize_username

from . import lockout


@receiver(pre_save, sender=get_user_model(), dispatch_uid="accounts.normalize_username")
def _normalize_username(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance.username = normalize_username(instance.username)


def _who(username: str | None) -> tuple[Any, dict[str, Any]]:
    """The account a tried username names, or (None, its digest); a wrong API key names nobody."""
    if username == lockout.API_KEY_USERNAME:
        return None, {}
    user = lockout.account_named(username)
    return user, ({} if user is not None else {"username_digest": audit.username_digest(username or "")})


@receiver(user_logged_in, dispatch_uid="accounts.audit_login")
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit.record("login", actor=user, request=request, path=lockout.login_path(request))


@receiver(user_login_failed, dispatch_uid="accounts.audit_login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                  **kwargs: Any) -> None:
    if request is None:
        return  # authenticate() without a request: axes' backend refused it before any password was checked
    # Axes' receiver ran first (its app comes first): the request says whether the try was refused unchecked.
    if getattr(request, "login_refusal", None) is not None:
        refused = "address"
    elif getattr(request, "axes_locked_out", False) and getattr(request, "axes_failures_since_start", None) is None:
        refused = "lockout"
    else:
        refused = ""
    lockout.count_address_failure(request, credentials)
    user, details = _who(lockout.username_of(request, credentials))
    if refused:
        details["refused"] = refused
    audit.record("login_failed", subject=user, request=request, path=lockout.login_path(request), **details)


@receiver(user_locked_out, dispatch_uid="accounts.audit_lockout")
def _locked_out(sender: Any, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any) -> None:
    # Axes sends this for the failure that locks a pair and again for every try refused while it is locked; only the
    # first is a lockout (axes counted that failure: axes_failures_since_start is set).
    failures = getattr(request, "axes_failures_since_start", None)
    if request is None or failures is None:
        return
    user, details = _who(username)
    audit.record("lockout", subject=user, request=request, path=lockout.login_path(request), failures=failures,
                 seconds=lockout.delay_seconds(failures), **details)

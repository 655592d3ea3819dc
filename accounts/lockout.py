"""Failed logins, counted by django-axes per (normalized username, client address) (settings: LOGIN_*, AXES_*)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from core.usernames import normalize_username


def username_of(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username axes counts under: the one spelling the login itself uses (accounts.backends)."""
    username = (credentials or {}).get("username")
    if username is None:
        username = request.POST.get("username") if request is not None and request.method == "POST" else None
    return None if username is None else normalize_username(username)

"""Logging in by username in its one spelling (core.usernames): "ＡＤＭＩＮ" and "Admin" are "admin", for the password
check as for the login limits (accounts.lockout), which see the same normalized name."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from core.usernames import normalize_username


class NormalizedUsernameBackend(ModelBackend):
    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:
        if username is not None:
            username = normalize_username(username)
        return super().authenticate(request, username=username, password=password, **kwargs)

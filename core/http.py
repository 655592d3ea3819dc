"""Types for views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """The request a view behind `login_required` (or `admin_site.admin_view`) gets: its user is logged in. For
    annotations only; Django builds the requests."""

    user: User

"""What every email shares, whichever app writes it: its links start with SITE_URL (`site_link`), it comes from the
marketplace by name (`sender`), and its two parts are rendered from one name (`render`: templates/emails/<name>.txt
and .html) with the marketplace's name and address that its header and footer show.

An email is rendered in the language active when `render` is called: the writer sets the recipient's
(`translation.override`) around it.
"""

from __future__ import annotations

from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string


def site_link(path: str = "/") -> str:
    """The absolute address of a path of the site, as an email links to it: SITE_URL, never the host a request came
    in on (a link in an email outlives the request, and a Host header is the requester's to choose)."""
    return settings.SITE_URL.rstrip("/") + "/" + path.lstrip("/")


def sender() -> str:
    """The From of every email: DEFAULT_FROM_EMAIL, with MARKETPLACE_NAME as the name shown when it gives none."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((name or settings.MARKETPLACE_NAME, address))


def render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """(text, HTML) of templates/emails/<template>.txt and .html, with `marketplace_name` and `site_root` (the site's
    front page) for the header and footer."""
    full = {"marketplace_name": settings.MARKETPLACE_NAME, "site_root": site_link("/"), **context}
    return (render_to_string(f"emails/{template}.txt", full), render_to_string(f"emails/{template}.html", full))

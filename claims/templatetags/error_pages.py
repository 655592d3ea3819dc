"""The ways back an error page offers (templates/errors/_ways_back.html): the reader's start page and the page they
came from. Neither reads the database when the view gave the start page itself (the 500 page, config.errors)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import template
from django.core.exceptions import DisallowedHost
from django.utils.http import url_has_allowed_host_and_scheme

from claims import start

register = template.Library()


@register.simple_tag(takes_context=True)
def start_page(context: Any) -> start.StartPage:
    given = context.get("start_page")
    if given is not None:
        return given
    user = context.get("user")
    return start.start_page(user) if user is not None else start.HOME


@register.simple_tag(takes_context=True)
def previous_page(context: Any) -> str:
    """The page the reader came from (the Referer) when it is one of this site's other pages; "" otherwise: another
    site's address is no way back, and the failing page itself would fail again."""
    request = context.get("request")
    referer = request.headers.get("Referer", "") if request is not None else ""
    if not referer:
        return ""
    try:
        host = request.get_host()
    except DisallowedHost:  # the 400 of a request to a host name this site does not answer to
        return ""
    if not url_has_allowed_host_and_scheme(referer, allowed_hosts={host}, require_https=request.is_secure()):
        return ""
    if urlsplit(referer).path == request.path:
        return ""
    return referer

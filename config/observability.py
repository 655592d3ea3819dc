"""Which claim a web request is about, for its log lines (core.logs): the claim number of the URL of the buyer's
claim pages (claims/<number>/…), the seller dashboard's (seller/claims/<number>/…) and the API's
(api/v1/claims/<number>…). An order's pages take an order number (orders/<number>/…): not a claim. The console
addresses a claim by its id; its claim pages name the claim themselves when they read it (claims.admin.page)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch

from core import logs

# The route of a page about one claim: "claims/<str:number>/…" (django's converter) or "claims/<number>" (the API).
CLAIM_ROUTE = re.compile(r"(?:^|/)claims/<(?:str:)?number>")


def claim_number(match: ResolverMatch | None) -> str | None:
    if match is None:
        return None
    number = match.kwargs.get("number")
    return number if isinstance(number, str) and CLAIM_ROUTE.search(match.route or "") else None


class ClaimLogMiddleware:
    """Log lines written while a request about one claim is handled name that claim, from the moment its URL is
    resolved (process_view) to the end of the request; nothing is left over for the next request of the thread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with logs.claim_scope():
            return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any,
                     view_kwargs: Any) -> None:
        logs.note_claim(claim_number(request.resolver_match))

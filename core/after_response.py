"""Work a page causes but that must not be part of answering it: it runs after the response was sent.

A GET changes nothing while it answers (STYLE.md); remembering that a person has now seen a claim is such a write.
Django closes every response once the server has sent it (the test client does the same), and runs the response's
closers then; a failure there is logged, never shown to the person, who already has the page."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpResponseBase

logger = logging.getLogger(__name__)


def after_response(response: HttpResponseBase, work: Callable[..., Any], /, *args: Any,
                   **kwargs: Any) -> HttpResponseBase:
    def run() -> None:
        try:
            work(*args, **kwargs)
        except Exception:  # the page was sent; this must not turn into a server error
            logger.exception("after-response work %s failed", getattr(work, "__name__", work))

    # HttpResponseBase.close() calls these closers; it is Django's own hook for "the response is done".
    response._resource_closers.append(run)
    return response

"""Work a page causes but that must not be part of answering it: it runs after the response was sent.

A GET changes nothing while it answers (STYLE.md); remembering that a person has now seen a claim is such a write.
Django closes every response once the server has sent it (the test client does the same), and runs the response's
closers then; a failure there is logged, never shown to the person, who already has the page."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpResponseBase

logger = logging.getLogger(__name__)


_Response = TypeVar("_Response", bound=HttpResponseBase)


def after_response(response: _Response, work: Callable[..., Any], /, *args: Any, **kwargs: Any) -> _Response:
    # The work runs in the request's context: its log lines carry the request's reference and claim (core.logs).
    context = contextvars.copy_context()

    def run() -> None:
        try:
            context.run(work, *args, **kwargs)
        except Exception:  # the page was sent; this must not turn into a server error
            logger.exception("after-response work %s failed", getattr(work, "__name__", work))

    # HttpResponseBase.close() calls these closers; it is Django's own hook for "the response is done".
    response._resource_closers.append(run)  # type: ignore[attr-defined]  # private to Django, not in the stubs
    return response

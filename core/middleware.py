"""Response headers every page gets, and the reference of every request."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from . import request_id


class ContentSecurityPolicyMiddleware:
    """A strict Content-Security-Policy: scripts only from our own static files (no inline script anywhere),
    nothing embeds our pages. Views that set their own policy (evidence files) keep it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = "; ".join(f"{directive} {' '.join(sources)}"
                                for directive, sources in settings.CONTENT_SECURITY_POLICY.items())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class HeadMiddleware:
    """A HEAD request gets the headers of the GET, Content-Length included, and no body: a WSGI server must not send
    one (RFC 9110), and gunicorn drops it with a warning per request (load balancers probe with HEAD). Django's own
    server and test client strip it themselves; behind gunicorn nobody did."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method != "HEAD":
            return response
        if isinstance(response, StreamingHttpResponse):  # a file (evidence): its Content-Length came from the file
            stream = getattr(response, "file_to_stream", None)
            response.streaming_content = iter(())
            if stream is not None:
                stream.close()
        else:
            response.headers.setdefault("Content-Length", str(len(response.content)))
            response.content = b""
        return response


class RequestIdMiddleware:
    """First of all middleware: gives the request its reference (core.request_id) as `request.request_id`, makes log
    lines written meanwhile carry it, and returns it in the `X-Request-ID` header of every answer, error pages and the
    API's problem details included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        reference = request_id.accept(request.headers.get(request_id.HEADER))
        request.request_id = reference  # type: ignore[attr-defined]  # our mark on the request
        token = request_id.bind(reference)
        try:
            response = self.get_response(request)
        finally:
            request_id.unbind(token)
        response[request_id.HEADER] = reference
        return response

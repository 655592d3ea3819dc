"""A HEAD request's answer carries the GET's headers and no body (core.middleware.HeadMiddleware): gunicorn would drop
the body with a warning per request, and load balancers probe with HEAD."""

import io

from django.http import FileResponse, HttpResponse
from django.test import RequestFactory

from core.middleware import HeadMiddleware


def test_a_head_answer_has_the_length_of_the_get_and_no_body():
    answer = HeadMiddleware(lambda request: HttpResponse(b"<h1>Log in</h1>"))
    head = answer(RequestFactory().head("/accounts/login/"))
    assert (head.content, head["Content-Length"]) == (b"", "15")
    get = answer(RequestFactory().get("/accounts/login/"))
    assert get.content == b"<h1>Log in</h1>"


def test_a_head_answer_for_a_file_sends_none_of_it_and_closes_it():
    file = io.BytesIO(b"x" * 5000)
    head = HeadMiddleware(lambda request: FileResponse(file, content_type="image/jpeg"))(RequestFactory().head("/e/1"))
    assert b"".join(head.streaming_content) == b"" and head["Content-Length"] == "5000" and file.closed

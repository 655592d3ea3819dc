"""Problem details (api.problems): every code has a page saying what it means and what to do, at the address its
`type` gives; and what Django or django-ninja answer under /api/v1/ outside the API's handlers (no such endpoint, a
method it does not take, an exception) is problem details too."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseServerError
from django.test import RequestFactory
from django.urls import reverse
from django.utils.html import escape

from api.problems import ADVICE, PROBLEMS, ProblemMiddleware, type_uri
from sellers.tests.factories import SellerFactory

from .helpers import auth, get, post, seller_key

# --- the pages -----------------------------------------------------------------------------------------------------


def test_every_problem_says_what_to_do():
    assert set(ADVICE) == set(PROBLEMS)
    assert all(str(ADVICE[code]).strip() for code in PROBLEMS)


@pytest.mark.django_db
def test_the_problems_page_lists_every_code_with_its_status_title_and_advice(client):
    response = client.get(reverse("api_problems"), HTTP_HOST="127.0.0.1")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="' in html and "skip-link" in html  # the site's own page (base.html)
    for code, (status, title) in PROBLEMS.items():
        assert f'id="{code}"' in html and f"<code>{code}</code>" in html
        assert f"<dd>{status}</dd>" in html
        assert escape(str(title)) in html
        assert escape(str(ADVICE[code])) in html


@pytest.mark.django_db
def test_each_problem_type_is_the_address_of_its_page(client):
    for code, (status, title) in PROBLEMS.items():
        assert reverse("api_problem", args=[code]) == type_uri(code)
        page = client.get(type_uri(code), HTTP_HOST="127.0.0.1")
        assert page.status_code == 200, code
        html = page.content.decode()
        assert f'<h1 id="title-{code}">{escape(str(title))}</h1>' in html and f"<dd>{status}</dd>" in html
        assert html.count('class="card"') == 1  # this problem, not the whole list
    assert client.get("/api/problems/no-such-problem", HTTP_HOST="127.0.0.1").status_code == 404


@pytest.mark.django_db
def test_a_problem_answered_by_the_api_points_to_its_page(client):
    _key, key = seller_key(SellerFactory(), scope="read")
    problem = client.post("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="127.0.0.1",
                          HTTP_IDEMPOTENCY_KEY="x").json()
    assert problem["code"] in PROBLEMS
    page = client.get(problem["type"], HTTP_HOST="127.0.0.1")
    assert page.status_code == 200 and escape(problem["title"]) in page.content.decode()
    assert get(client, "/api/v1/me", key).status_code == 200


# --- what Django and django-ninja answer ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_address_of_the_api_that_is_no_endpoint_is_a_404_problem(client):
    _key, key = seller_key(SellerFactory())
    for response in (get(client, "/api/v1/no-such-endpoint", key),
                     client.get("/api/v1/claims/C-1/nothing/here", HTTP_HOST="127.0.0.1")):
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
        assert response.json()["type"] == "/api/problems/not-found"


@pytest.mark.django_db
def test_a_method_an_endpoint_does_not_take_is_a_405_problem_with_allow(client):
    _key, key = seller_key(SellerFactory())
    for response in (post(client, "/api/v1/me", key), client.delete("/api/v1/me", **auth(key)),
                     client.put("/api/v1/me", **auth(key))):
        assert response.status_code == 405 and response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "method-not-allowed" and response["Allow"] == "GET"


def test_an_exception_nobody_handled_is_a_500_problem():
    middleware = ProblemMiddleware(lambda request: HttpResponseServerError("<h1>Server Error (500)</h1>"))
    response = middleware(RequestFactory().post("/api/v1/shop/orders"))
    assert response.status_code == 500 and response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["type"] == "/api/problems/server-error"


def test_what_is_not_the_api_or_is_a_problem_already_is_left_alone():
    factory = RequestFactory()
    html = ProblemMiddleware(lambda request: HttpResponse("<h1>Not Found</h1>", status=404))
    assert html(factory.get("/api/problems/nope")).content == b"<h1>Not Found</h1>"
    assert html(factory.get("/orders/nope/")).content == b"<h1>Not Found</h1>"
    not_allowed = ProblemMiddleware(lambda request: HttpResponseNotAllowed(["GET"]))
    assert not_allowed(factory.post("/admin/")).status_code == 405
    assert not_allowed(factory.post("/admin/"))["Content-Type"].startswith("text/html")
    problem = ProblemMiddleware(lambda request: HttpResponse(b'{"code": "state"}', status=404,
                                                             content_type="application/problem+json"))
    assert problem(factory.get("/api/v1/claims/C-1")).content == b'{"code": "state"}'
    ok = ProblemMiddleware(lambda request: HttpResponse(b"file", status=200, content_type="image/jpeg"))
    assert ok(factory.get("/api/v1/claims/C-1/evidence/1")).content == b"file"

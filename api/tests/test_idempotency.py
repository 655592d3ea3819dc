"""Every POST of the API with an Idempotency-Key (api.idempotency): the first answer is kept and given again, byte for
byte, with one effect; another request with the key is refused; answers that say "try again" are not kept; a key
lives API_IDEMPOTENCY_HOURS; two requests with one key at the same moment have one effect (PostgreSQL).

The middleware is tested on its own first (RequestFactory and a view that counts what it did), then through the
API's real POST routes: the shop's orders (api.shop) and a seller's reply to a claim (api.seller)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, RequestFactory, override_settings
from django.test.client import encode_multipart

from api import idempotency
from api.idempotency import IdempotencyMiddleware, purge_expired
from integrations.keys import revoke_api_key
from integrations.models import IdempotencyRecord
from orders.models import Order
from sellers.tests.factories import SellerFactory

from .helpers import auth, platform_key, post, seller_key

pytestmark = pytest.mark.django_db
PATH = "/api/v1/claims/C-1/messages"
NOW = dt.datetime(2026, 3, 11, 9, 0, tzinfo=dt.UTC)


class CountingView:
    """The API behind the middleware: counts its effects and answers with the count (so a second run shows)."""

    def __init__(self, status: int = 201, raises: bool = False) -> None:
        self.calls: list[HttpRequest] = []
        self.status = status
        self.raises = raises

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.calls.append(request)
        if self.raises:
            raise RuntimeError("the view failed")
        return JsonResponse({"effect": len(self.calls), "id": uuid.uuid4().hex}, status=self.status)


@pytest.fixture
def key() -> str:
    _api_key, secret = seller_key(SellerFactory())
    return secret


def send(middleware: Callable[[HttpRequest], HttpResponse], key: str, body: Any = None, *, path: str = PATH,
         idempotency_key: str | None = "key-1", **extra: Any) -> HttpResponse:
    headers = auth(key)
    if idempotency_key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
    data = body if isinstance(body, str | bytes) else json.dumps(body if body is not None else {"body": "Hello"})
    request = RequestFactory().post(path, data=data, content_type="application/json", **headers, **extra)
    return middleware(request)


# --- the middleware on its own -----------------------------------------------------------------------------------


def test_the_same_key_and_request_get_the_first_answer_again_byte_for_byte(key):
    view = CountingView()
    middleware = IdempotencyMiddleware(view)
    first = send(middleware, key)
    assert first.status_code == 201 and not first.has_header("Idempotent-Replayed")
    again = send(middleware, key)
    assert len(view.calls) == 1  # one effect
    assert again.status_code == 201 and again.content == first.content
    assert again["Idempotent-Replayed"] == "true" and again["Content-Type"] == first["Content-Type"]
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.method, record.path, record.status_code) == ("key-1", "POST", PATH, 201)
    # a new key is a new request
    assert json.loads(send(middleware, key, idempotency_key="key-2").content)["effect"] == 2


def test_the_same_json_written_differently_is_the_same_request(key):
    view = CountingView()
    middleware = IdempotencyMiddleware(view)
    first = send(middleware, key, '{"body": "Hello", "amount": "1.00"}')
    again = send(middleware, key, '{\n  "amount": "1.00",\n  "body":"Hello"\n}')
    assert len(view.calls) == 1 and again.content == first.content and again["Idempotent-Replayed"] == "true"


def test_a_body_nested_too_deep_for_json_is_compared_by_its_bytes(key):
    view = CountingView()
    middleware = IdempotencyMiddleware(view)
    deep = "[" * 100_000 + "]" * 100_000
    assert send(middleware, key, deep).status_code == 201  # the view decides what to answer, not a RecursionError
    assert send(middleware, key, deep)["Idempotent-Replayed"] == "true"
    assert send(middleware, key, deep[1:-1]).status_code == 422
    assert len(view.calls) == 1


def test_the_same_key_with_another_request_is_refused(key):
    view = CountingView()
    middleware = IdempotencyMiddleware(view)
    send(middleware, key, {"body": "Hello"})
    for other in (
        lambda: send(middleware, key, {"body": "Hello!"}),  # another body
        lambda: send(middleware, key, {"body": "Hello"}, path="/api/v1/claims/C-2/messages"),  # another path
        lambda: send(middleware, key, {"body": "Hello"}, path=PATH + "?notify=1"),  # another query
        lambda: send(middleware, key, b"\xff\xfe not JSON"),
    ):
        refused = other()
        assert refused.status_code == 422, refused.content
        problem = json.loads(refused.content)
        assert problem["type"] == "/api/problems/idempotency-key-reused" and refused["Content-Type"] == (
            "application/problem+json")
        assert PATH in problem["detail"]
    assert len(view.calls) == 1
    assert json.loads(send(middleware, key, {"body": "Hello"}).content)["effect"] == 1  # the first is still kept


def test_a_post_without_a_key_or_with_a_too_long_one_is_refused_before_anything_runs(key):
    view = CountingView()
    middleware = IdempotencyMiddleware(view)
    for idempotency_key in (None, "", "   ", "k" * 256, "a\x00b", "a\nb"):
        refused = send(middleware, key, idempotency_key=idempotency_key)
        assert refused.status_code == 400
        assert json.loads(refused.content)["type"] == "/api/problems/idempotency-key-missing"
    assert send(middleware, key, idempotency_key="k" * 255).status_code == 201
    assert len(view.calls) == 1


def test_what_the_middleware_leaves_alone(key):
    """GETs, what is not the API's v1, and requests without a valid key (the API answers them 401) run as they
    are: nothing is kept."""
    view = CountingView(status=200)
    middleware = IdempotencyMiddleware(view)
    factory = RequestFactory()
    middleware(factory.get(PATH, **auth(key)))
    middleware(factory.post("/api/problems/", **auth(key)))
    middleware(factory.post(PATH, HTTP_HOST="127.0.0.1"))
    middleware(factory.post(PATH, **auth(key + "x"), HTTP_IDEMPOTENCY_KEY="k"))
    middleware(factory.post(PATH, HTTP_AUTHORIZATION=f"Basic {key}", HTTP_IDEMPOTENCY_KEY="k"))
    assert len(view.calls) == 5 and not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("status", [401, 429, 500, 502, 503])
def test_answers_that_say_try_again_are_not_kept(key, status):
    view = CountingView(status=status)
    middleware = IdempotencyMiddleware(view)
    assert send(middleware, key).status_code == status
    assert not IdempotencyRecord.objects.exists()
    view.status = 201
    again = send(middleware, key)
    assert again.status_code == 201 and json.loads(again.content)["effect"] == 2  # it ran again
    assert not again.has_header("Idempotent-Replayed")


@pytest.mark.parametrize("status", [200, 400, 403, 404, 409, 422])
def test_other_answers_are_kept(key, status):
    view = CountingView(status=status)
    middleware = IdempotencyMiddleware(view)
    first = send(middleware, key)
    again = send(middleware, key)
    assert again.status_code == status and again.content == first.content and len(view.calls) == 1


def test_a_view_that_raises_lets_the_key_go(key):
    view = CountingView(raises=True)
    middleware = IdempotencyMiddleware(view)
    with pytest.raises(RuntimeError):
        send(middleware, key)
    assert not IdempotencyRecord.objects.exists()
    view.raises = False
    assert send(middleware, key).status_code == 201 and len(view.calls) == 2


@override_settings(API_IDEMPOTENCY_HOURS=24)
def test_a_key_is_kept_for_api_idempotency_hours_then_runs_again(key):
    view = CountingView()
    middleware = IdempotencyMiddleware(view)
    with time_machine.travel(NOW, tick=False):
        send(middleware, key)
    with time_machine.travel(NOW + dt.timedelta(hours=23, minutes=59), tick=False):
        assert send(middleware, key)["Idempotent-Replayed"] == "true"
        assert purge_expired() == 0
        # another body is still refused while the first is kept
        assert send(middleware, key, {"body": "Other"}).status_code == 422
    with time_machine.travel(NOW + dt.timedelta(hours=24, minutes=1), tick=False):
        again = send(middleware, key, {"body": "Other"})
        assert again.status_code == 201 and json.loads(again.content)["effect"] == 2
        assert not again.has_header("Idempotent-Replayed")
    assert IdempotencyRecord.objects.count() == 1
    with time_machine.travel(NOW + dt.timedelta(hours=49), tick=False):
        assert purge_expired() == 1
    assert not IdempotencyRecord.objects.exists()


def test_multipart_with_another_boundary_but_the_same_fields_and_files_is_the_same_request(key):
    view = CountingView()
    middleware = IdempotencyMiddleware(view)

    def upload(boundary: str, content: bytes = b"%PDF-1.4 the invoice", note: str = "The invoice") -> HttpResponse:
        data = {"kind": "document", "note": note, "file": SimpleUploadedFile("invoice.pdf", content)}
        request = RequestFactory().post(PATH, data=encode_multipart(boundary, data),
                                        content_type=f"multipart/form-data; boundary={boundary}", **auth(key),
                                        HTTP_IDEMPOTENCY_KEY="upload-1")
        return middleware(request)

    first = upload("BoUnDaRy-one")
    again = upload("another-boundary-2")
    assert len(view.calls) == 1 and again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert view.calls[0].FILES["file"].read() == b"%PDF-1.4 the invoice"  # the view still reads the whole file
    assert upload("third", content=b"%PDF-1.4 another invoice").status_code == 422  # other bytes
    assert upload("fourth", note="Another note").status_code == 422  # another field


def test_a_request_still_running_makes_the_second_wait_then_answers_409(key, monkeypatch):
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    view = CountingView()
    middleware = IdempotencyMiddleware(view)
    send(middleware, key)
    IdempotencyRecord.objects.update(status_code=None, response_body=b"")  # as if the first were still running
    waiting = send(middleware, key)
    assert waiting.status_code == 409 and waiting["Retry-After"] == "1"
    assert json.loads(waiting.content)["type"] == "/api/problems/idempotency-key-in-progress"
    assert len(view.calls) == 1
    assert send(middleware, key, {"body": "Other"}).status_code == 422  # another request: refused at once


def test_a_running_row_left_by_a_process_that_died_is_taken_over(key, monkeypatch):
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    view = CountingView()
    middleware = IdempotencyMiddleware(view)
    with time_machine.travel(NOW, tick=False):
        send(middleware, key)
        IdempotencyRecord.objects.update(status_code=None, response_body=b"")  # the worker was killed
    with time_machine.travel(NOW + idempotency.ABANDONED_AFTER - dt.timedelta(seconds=1), tick=False):
        assert send(middleware, key).status_code == 409  # it may still be running
    with time_machine.travel(NOW + idempotency.ABANDONED_AFTER + dt.timedelta(seconds=1), tick=False):
        retried = send(middleware, key)
        assert retried.status_code == 201 and json.loads(retried.content)["effect"] == 2
        assert send(middleware, key).content == retried.content  # and now that answer is kept
    assert IdempotencyRecord.objects.get().status_code == 201


def test_keys_are_per_api_key(key):
    _other, other_key = seller_key(SellerFactory())
    view = CountingView()
    middleware = IdempotencyMiddleware(view)
    send(middleware, key)
    assert not send(middleware, other_key).has_header("Idempotent-Replayed")
    assert len(view.calls) == 2


@override_settings(API_RATE_LIMIT=3, API_RATE_WINDOW_SECONDS=60)
def test_replays_and_refusals_count_against_the_rate_limit(key):
    view = CountingView()
    middleware = IdempotencyMiddleware(view)
    assert send(middleware, key).status_code == 201
    assert send(middleware, key).status_code == 201  # a replay
    assert send(middleware, key, idempotency_key=None).status_code == 400
    limited = send(middleware, key)
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert len(view.calls) == 1


# --- through the API: the shop's orders --------------------------------------------------------------------------


def order_body(seller, number: str = "SHOP-IDEM-1", **changes: Any) -> dict[str, Any]:
    body = {
        "number": number, "buyer": {"email": "idem.buyer@example.org", "name": "Ida Buyer"}, "seller": seller.slug,
        "placed_at": "2026-03-02T09:00:00+00:00", "buyer_kind": "consumer", "currency": "EUR", "shipping": "4.90",
        "delivery_name": "Ida Buyer", "delivery_line1": "Hauptstraße 1", "delivery_postal_code": "10115",
        "delivery_city": "Berlin", "delivery_country": "DE", "language": "de", "payment_method": "card",
        "items": [{"sku": "PH-1", "title": "Refurbished phone", "quantity": 1, "unit_price": "199.00",
                   "condition": "used"}],
    }
    return {**body, **changes}


def test_an_order_sent_twice_with_one_key_is_created_once_and_answered_the_same(client):
    seller = SellerFactory()
    _platform, shop = platform_key()
    first = post(client, "/api/v1/shop/orders", shop, order_body(seller), idempotency_key="order-SHOP-IDEM-1")
    assert first.status_code == 201, first.content
    again = post(client, "/api/v1/shop/orders", shop, order_body(seller), idempotency_key="order-SHOP-IDEM-1")
    # the stored answer: "created", although the order exists now (a new key is told 200, "it existed")
    assert again.status_code == 201 and again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert Order.objects.filter(number="SHOP-IDEM-1").count() == 1
    assert post(client, "/api/v1/shop/orders", shop, order_body(seller)).status_code == 200
    changed = post(client, "/api/v1/shop/orders", shop, order_body(seller, delivery_city="Hamburg"),
                   idempotency_key="order-SHOP-IDEM-1")
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency-key-reused"
    assert Order.objects.get(number="SHOP-IDEM-1").delivery_city == "Berlin"


def test_a_post_to_the_api_without_an_idempotency_key_is_a_400_problem(client):
    _platform, shop = platform_key()
    response = client.post("/api/v1/shop/orders", data=json.dumps(order_body(SellerFactory())),
                           content_type="application/json", **auth(shop))
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/api/problems/idempotency-key-missing"
    assert not Order.objects.exists()


def test_a_revoked_key_is_401_and_its_answer_is_not_kept(client):
    seller = SellerFactory()
    api_key, shop = platform_key()
    revoke_api_key(api_key=api_key)
    assert post(client, "/api/v1/shop/orders", shop, order_body(seller), idempotency_key="k").status_code == 401
    assert not IdempotencyRecord.objects.exists() and not Order.objects.exists()


def test_a_nul_in_the_path_is_kept_without_it(client):
    """PostgreSQL refuses NUL in a text column: the stored path has a replacement character instead."""
    _platform, shop = platform_key()
    response = post(client, "/api/v1/shop/orders%00", shop, {}, idempotency_key="nul-path")
    assert response.status_code == 404 and response.json()["code"] == "not-found"
    assert IdempotencyRecord.objects.get().path == "/api/v1/shop/orders\ufffd"
    assert post(client, "/api/v1/shop/orders%00", shop, {}, idempotency_key="nul-path")["Idempotent-Replayed"]


# --- through the API: a seller's reply to a claim (helper A's route) ---------------------------------------------


def reply_world():
    from claims.tests.factories import claim_world

    world = claim_world("awaiting_seller")
    _api_key, key = seller_key(world.claim.seller, scope="write")
    return world, key


def test_a_reply_sent_twice_with_one_key_is_posted_once(client):
    world, key = reply_world()
    path = f"/api/v1/claims/{world.claim.number}/messages"
    before = world.claim.messages.count()
    first = post(client, path, key, {"body": "We are sending a new one today."}, idempotency_key="reply-1")
    assert 200 <= first.status_code < 300, first.content
    again = post(client, path, key, {"body": "We are sending a new one today."}, idempotency_key="reply-1")
    assert again.status_code == first.status_code and again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert world.claim.messages.count() == before + 1
    other = post(client, path, key, {"body": "Something else."}, idempotency_key="reply-1")
    assert other.status_code == 422 and other.json()["code"] == "idempotency-key-reused"
    assert world.claim.messages.count() == before + 1


# --- two requests with one key at the same moment (PostgreSQL) ---------------------------------------------------


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at once (each on its own database connection)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - a failure is part of the result
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def settle(responses: list[Any], again: Callable[[], Any]) -> None:
    """Both answers are the same (one replayed the other's), or the second was told the first still ran (409) and
    a retry gets the stored answer."""
    for response in responses:
        assert not isinstance(response, BaseException), response
    statuses = sorted(r.status_code for r in responses)
    if 409 in statuses and any(r.json().get("code") == "idempotency-key-in-progress" for r in responses):
        done = next(r for r in responses if r.json().get("code") != "idempotency-key-in-progress")
        retry = again()
        assert retry.status_code == done.status_code and retry.content == done.content
        return
    assert statuses[0] == statuses[1], statuses
    assert responses[0].content == responses[1].content
    assert sorted(r.has_header("Idempotent-Replayed") for r in responses) == [False, True]


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: two connections at once")
@pytest.mark.django_db(transaction=True)
def test_two_orders_with_one_key_at_the_same_moment_have_one_effect():
    seller = SellerFactory()
    _platform, shop = platform_key()
    body = order_body(seller, number="SHOP-RACE-1")

    def send_order() -> Any:
        return post(Client(), "/api/v1/shop/orders", shop, body, idempotency_key="order-SHOP-RACE-1")

    responses = race(send_order, send_order)
    settle(responses, send_order)
    assert Order.objects.filter(number="SHOP-RACE-1").count() == 1
    assert {r.status_code for r in responses} <= {201, 409}
    assert IdempotencyRecord.objects.get().status_code == 201


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: two connections at once")
@pytest.mark.django_db(transaction=True)
def test_two_replies_with_one_key_at_the_same_moment_post_one_message():
    world, key = reply_world()
    path = f"/api/v1/claims/{world.claim.number}/messages"
    before = world.claim.messages.count()

    def send_reply() -> Any:
        return post(Client(), path, key, {"body": "On its way."}, idempotency_key="reply-race-1")

    responses = race(send_reply, send_reply)
    settle(responses, send_reply)
    assert world.claim.messages.count() == before + 1

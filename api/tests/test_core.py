"""The API's frame: keys, scopes, rate limits, problem details, idempotency, the schema and its docs."""

from __future__ import annotations

import pytest
from django.test import override_settings

from integrations.keys import authenticate, revoke_api_key
from integrations.models import ApiKey
from sellers.tests.factories import SellerFactory

from .helpers import auth, get, platform_key, seller_key

pytestmark = pytest.mark.django_db


def test_a_key_is_shown_once_and_stored_hashed():
    seller = SellerFactory()
    api_key, key = seller_key(seller)
    assert key.startswith(api_key.prefix + "_")
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert key not in (stored.hashed_key, stored.prefix) and len(stored.hashed_key) == 64
    assert authenticate(key) == api_key
    assert authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert authenticate("mk_nothing") is None and authenticate("") is None


def test_me_answers_who_the_key_is(client):
    seller = SellerFactory()
    _api_key, key = seller_key(seller, scope="read", name="Warehouse")
    response = get(client, "/api/v1/me", key)
    assert response.status_code == 200
    assert response.json() == {"name": "Warehouse", "kind": "seller", "seller": seller.slug, "scope": "read"}
    _platform, shop = platform_key()
    assert get(client, "/api/v1/me", shop).json()["kind"] == "platform"


def test_no_key_a_wrong_key_and_a_revoked_key_are_401_problems(client):
    api_key, key = seller_key(SellerFactory())
    for headers in ({"HTTP_HOST": "127.0.0.1"}, auth("mk_00000000_nope"), auth(key + "x"),
                    auth(key[:4] + "\x00" + key[5:]), auth(key + "\u00e9")):
        response = client.get("/api/v1/me", **headers)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["type"] == "/api/problems/unauthorized"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert get(client, "/api/v1/me", key).status_code == 200
    revoke_api_key(api_key=api_key)
    # (from another address: the four wrong keys above are one short of the lockout, tests/test_brute_force.py)
    assert client.get("/api/v1/me", **auth(key), REMOTE_ADDR="192.0.2.1").status_code == 401


@override_settings(API_RATE_LIMIT=3, API_RATE_WINDOW_SECONDS=60)
def test_each_key_has_its_own_rate_limit_answered_with_retry_after(client):
    from django.core.cache import cache

    cache.clear()
    _a, key = seller_key(SellerFactory())
    _b, other = seller_key(SellerFactory())
    assert [get(client, "/api/v1/me", key).status_code for _ in range(3)] == [200, 200, 200]
    refused = get(client, "/api/v1/me", key)
    assert refused.status_code == 429
    assert refused.json()["type"] == "/api/problems/rate-limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert get(client, "/api/v1/me", other).status_code == 200


def test_the_schema_and_the_docs_are_served_from_the_site(client):
    schema = client.get("/api/openapi.json", HTTP_HOST="127.0.0.1")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.1")
    docs = client.get("/api/docs", HTTP_HOST="127.0.0.1")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()

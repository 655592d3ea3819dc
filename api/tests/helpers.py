"""Keys and requests for the API tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

from integrations.keys import create_api_key

_keys = itertools.count(1)


def seller_key(seller, scope: str = "write", name: str = "ERP") -> tuple[Any, str]:
    return create_api_key(name=name, seller=seller, scope=scope)


def platform_key(scope: str = "write", name: str = "Shop") -> tuple[Any, str]:
    return create_api_key(name=name, seller=None, scope=scope)


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}", "HTTP_HOST": "127.0.0.1"}


def post(client, path: str, key: str, body: Any = None, *, idempotency_key: str | None = None, **extra: Any):
    """A JSON POST with a fresh Idempotency-Key (or the one given)."""
    headers = auth(key)
    headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key or f"test-{next(_keys)}"
    return client.post(path, data=json.dumps(body if body is not None else {}), content_type="application/json",
                       **headers, **extra)


def get(client, path: str, key: str, **params: Any):
    return client.get(path, params, **auth(key))

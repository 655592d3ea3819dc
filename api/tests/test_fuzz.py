"""Schema-driven fuzzing of every endpoint (schemathesis): whatever the schema allows, and much it does not, no request
gets a 5xx, and every error is problem details.

The API runs in-process (Django's WSGI handler) against one seeded world: a seller's claim in progress with an offer
and a photo, an order, a refund. Each request carries the key its route takes (the seller's write key, or the shop's
platform key) and a fresh Idempotency-Key; the path parameters are the world's real ones every other time (so bodies
reach real claims and orders) and schemathesis' own otherwise (so odd numbers and ids are tried too). Examples are
few per operation, so the file runs in well under a minute; `FUZZ_EXAMPLES=500` runs longer."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import uuid
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
import time_machine
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from claims import services
from claims.tests.factories import OPENED_AT, claim_world

from .helpers import platform_key, seller_key

NOW = OPENED_AT + dt.timedelta(days=1)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
COVERAGE = os.environ.get("FUZZ_COVERAGE", "1") == "1"

schema = schemathesis.openapi.from_wsgi(
    "/api/openapi.json", WSGIHandler(), headers={"Host": "127.0.0.1"},
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": COVERAGE}}}))


class World:
    def __init__(self) -> None:
        world = claim_world("in_progress", defect_type="irremovable")
        self.claim = world.claim
        with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
            self.offer = services.make_offer(claim=self.claim, by=world.staff, kind="partial_refund",
                                             amount=Decimal("20.00"))
        refund = claim_world("resolved").claim.refunds.get()
        self.values = {("claims", "number"): self.claim.number, ("offers", "offer_id"): self.offer.pk,
                       ("evidence", "evidence_id"): self.claim.evidence.first().pk,
                       ("orders", "number"): self.claim.order.number, ("refunds", "refund_id"): refund.pk}
        self.seller_key = seller_key(self.claim.seller, "write")[1]
        self.platform_key = platform_key("write")[1]
        self.calls = itertools.count()

    def key_for(self, path: str) -> str:
        return self.platform_key if path.startswith("/api/v1/shop/") else self.seller_key

    def real_parameters(self, path: str, generated: dict[str, Any]) -> dict[str, Any]:
        segments = path.strip("/").split("/")
        real = {}
        for name in generated:
            before = segments[segments.index("{" + name + "}") - 1]
            real[name] = self.values.get((before, name), generated[name])
        return real


@pytest.fixture
def world(db, settings):  # noqa: ARG001 - db: the world is in the test's database
    settings.API_RATE_LIMIT = 1_000_000
    # Django's WSGI handler closes "old" connections when a request starts and ends, and the test's connection
    # (inside the test's transaction) looks old to it: Django's own test client unhooks that for its requests, and
    # so must a test that calls the WSGI handler itself.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield World()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every refusal of the API is problem details with a stable type (api.problems)."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("Content-Type", response.headers.get("content-type", ""))
    if isinstance(content_type, list):
        content_type = content_type[0]
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} answered as {content_type!r}, not problem details")
    body = response.json()
    assert body["type"] == f"/api/problems/{body['code']}" and body["status"] == response.status_code, body
    return True


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_no_request_gets_a_server_error(case, world):
    if case.path_parameters and next(world.calls) % 2 == 0:
        case.path_parameters = world.real_parameters(case.path, case.path_parameters)
    headers = {"Authorization": f"Bearer {world.key_for(case.path)}", "Host": "127.0.0.1"}
    if case.method.upper() == "POST":
        headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4()}"
    with time_machine.travel(NOW, tick=False):
        case.call_and_validate(headers=headers, checks=[not_a_server_error, problem_details])

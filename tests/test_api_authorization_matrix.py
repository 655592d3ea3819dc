"""Who may call which API route: every (path, method) of the OpenAPI schema, for every kind of caller, in one table.

The routes come from the schema the API serves (api.api.api), so a new endpoint is in the matrix the moment it exists;
its path parameters are filled from one seeded world by their name and the path segment before them (PARAMETERS):
a parameter the table does not know fails the test, so no route slips past. POSTs carry a fresh Idempotency-Key
and a small body made from the route's own request schema (it may be invalid for the owner: a 422 is fine there;
what matters is what everyone else gets). Each request runs in a transaction that is rolled back.

The callers: the site's people of tests/test_authorization_matrix.py, logged in with a session but no key (the API
takes keys only: 401 everywhere); seller S's write key and read key; seller T's write key (S's claims are a 404 to it,
answered exactly as for a claim that does not exist); S's revoked key (401); the shop's platform keys (403
wrong-key-kind on a seller's routes). No answer to anyone outside S (or, for the shop's routes, the shop) contains
S's claim number, its buyer's email or its description.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from api.api import api
from api.tests.helpers import platform_key, seller_key
from claims import services
from claims.models import Claim
from claims.tests.admin_factories import make_console_agent, make_finance, make_superuser
from claims.tests.factories import OPENED_AT, claim_world, photo
from integrations.keys import revoke_api_key
from tests.test_authorization_matrix import ROLES

pytestmark = pytest.mark.django_db

NOW = OPENED_AT + dt.timedelta(days=1)
DESCRIPTION = "Hinge cracked on the left side, unit marked 9K2B-ZW."
BUYER_EMAIL = "api.matrix.buyer.k4v@example.org"
# Served without a key, and not part of the schema they describe.
PUBLIC = {"/api/openapi.json", "/api/docs"}

# --- what a response is, in the words of the table -------------------------------------------------------------------
#   "2xx"                   it worked
#   "401"                   no valid key
#   "403 wrong-key-kind"    a seller's key on the shop's routes, or the shop's key on a seller's
#   "403 read-only-key"     a read key on a POST
#   "404", "409", "422"     the status (409: not possible in the claim's state; 422: the body, or a rule)
#   "same as nothing"       (expectation only) 404, or 422 for a body refused before any lookup — and in both cases
#                           exactly the answer to a claim, offer or file that does not exist
OK, UNAUTHORIZED, WRONG_KIND, READ_ONLY = "2xx", "401", "403 wrong-key-kind", "403 read-only-key"
SAME_AS_NOTHING = "same as nothing"
OWNER_ACTS = {OK, "409", "422"}

KEYS = ["S write", "S read", "T write", "S revoked", "platform write", "platform read"]
# Route kinds by path: the shop's (platform key), who-am-I (any key), and the seller's (a seller's key).
KINDS = [("/api/v1/shop/", "shop"), ("/api/v1/me", "any"), ("/api/v1/", "seller")]

# kind -> method -> caller -> the answers allowed
EXPECTED: dict[str, dict[str, dict[str, set[str]]]] = {
    "seller": {
        "GET": {"S write": {OK}, "S read": {OK}, "T write": {SAME_AS_NOTHING}, "S revoked": {UNAUTHORIZED},
                "platform write": {WRONG_KIND}, "platform read": {WRONG_KIND}},
        "POST": {"S write": OWNER_ACTS, "S read": {READ_ONLY}, "T write": {SAME_AS_NOTHING},
                 "S revoked": {UNAUTHORIZED}, "platform write": {WRONG_KIND}, "platform read": {WRONG_KIND}},
    },
    "shop": {
        "GET": {"S write": {WRONG_KIND}, "S read": {WRONG_KIND}, "T write": {WRONG_KIND}, "S revoked": {UNAUTHORIZED},
                "platform write": {OK}, "platform read": {OK}},
        "POST": {"S write": {WRONG_KIND}, "S read": {WRONG_KIND}, "T write": {WRONG_KIND},
                 "S revoked": {UNAUTHORIZED}, "platform write": OWNER_ACTS, "platform read": {READ_ONLY}},
    },
    "any": {
        "GET": {"S write": {OK}, "S read": {OK}, "T write": {OK}, "S revoked": {UNAUTHORIZED},
                "platform write": {OK}, "platform read": {OK}},
    },
}
# Who may see S's claim's data in an answer: S's own keys on its routes, the shop on the shop's (an order's buyer).
ENTITLED = {"seller": {"S write", "S read"}, "shop": {"platform write", "platform read"}, "any": set()}


# --- the world -------------------------------------------------------------------------------------------------------


class World:
    def __init__(self) -> None:
        base = claim_world("in_progress", description=DESCRIPTION, defect_type="irremovable")
        base.buyer.email = BUYER_EMAIL
        base.buyer.save(update_fields=["email"])
        self.claim: Claim = base.claim
        with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
            self.offer = services.make_offer(claim=self.claim, by=base.staff, kind="partial_refund",
                                             amount=Decimal("20.00"))
        self.evidence = self.claim.evidence.filter(kind="photo").first()
        self.refund = claim_world("resolved").claim.refunds.get()
        # Seller T: a claim of its own, with an offer and a photo, so its key is seen to work on its own things.
        other = claim_world("in_progress", defect_type="irremovable")
        with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
            other_offer = services.make_offer(claim=other.claim, by=other.staff, kind="partial_refund",
                                              amount=Decimal("10.00"))
        self.people: dict[str, Any] = {
            "anonymous": None, "buyer": base.buyer, "other_buyer": base.other_buyer, "staff": base.staff,
            "other_staff": base.other_staff, "agent": make_console_agent(), "finance": make_finance(),
            "superuser": make_superuser(),
        }
        self.keys = {"S write": seller_key(self.claim.seller, "write")[1],
                     "S read": seller_key(self.claim.seller, "read")[1],
                     "T write": seller_key(other.claim.seller, "write")[1],
                     "platform write": platform_key("write")[1], "platform read": platform_key("read")[1]}
        revoked, self.keys["S revoked"] = seller_key(self.claim.seller, "write", name="Old ERP")
        revoke_api_key(api_key=revoked)
        # (segment before the parameter, parameter) -> value: S's things, T's things, things that do not exist
        self.values = {
            "S": {("claims", "number"): self.claim.number, ("offers", "offer_id"): self.offer.pk,
                  ("evidence", "evidence_id"): self.evidence.pk, ("orders", "number"): self.claim.order.number,
                  ("refunds", "refund_id"): self.refund.pk},
            "T": {("claims", "number"): other.claim.number, ("offers", "offer_id"): other_offer.pk,
                  ("evidence", "evidence_id"): other.claim.evidence.first().pk,
                  ("orders", "number"): other.claim.order.number, ("refunds", "refund_id"): self.refund.pk},
            "nothing": {("claims", "number"): "CLM-NO-SUCH-1", ("offers", "offer_id"): 987654321,
                        ("evidence", "evidence_id"): 987654322, ("orders", "number"): "NO-SUCH-ORDER-1",
                        ("refunds", "refund_id"): 987654323},
        }
        self.secrets = {"claim number": self.claim.number, "buyer email": BUYER_EMAIL, "description": DESCRIPTION}


PLACEHOLDER = re.compile(r"\{(\w+)\}")


def parameter_value(world: World, whose: str, path: str, name: str) -> Any:
    """The value of a path parameter, by its name and the path segment before it ("claims/{number}" is a claim's
    number, "orders/{number}" an order's). A parameter the table does not know fails the test."""
    segments = path.strip("/").split("/")
    before = segments[segments.index("{" + name + "}") - 1]
    try:
        return world.values[whose][(before, name)]
    except KeyError:
        pytest.fail(f"{path}: no value for the path parameter {name!r} after {before!r}; add it to World.values "
                    "(S's, T's and one that does not exist) and say in EXPECTED who may call the route")


def url(world: World, whose: str, path: str) -> str:
    return PLACEHOLDER.sub(lambda match: str(parameter_value(world, whose, path, match.group(1))), path)


# --- bodies from the schema ------------------------------------------------------------------------------------------

SCHEMA = api.get_openapi_schema()
FILE = object()  # a binary field: a small photo


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def example(node: dict[str, Any], name: str = "", *, everything: bool = True) -> Any:
    """A small value the schema accepts as far as types, enums and lengths go (not patterns or formats it does not
    name): enough for most bodies to pass validation, so that a stranger's refusal is about who they are."""
    node = resolve(node)
    if node.get("examples"):
        return node["examples"][0]
    if node.get("default") is not None:
        return node["default"]
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    for union in ("anyOf", "oneOf", "allOf"):
        if union in node:
            options = [option for option in node[union] if resolve(option).get("type") != "null"]
            return example(options[0], name, everything=everything) if options else None
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        wanted = node.get("properties", {}) if everything else {
            key: value for key, value in node.get("properties", {}).items() if key in node.get("required", [])}
        return {key: example(value, key, everything=everything) for key, value in wanted.items()}
    if kind == "array":
        return [example(node.get("items", {}), name, everything=everything)
                for _ in range(max(1, node.get("minItems", 1)))]
    if kind == "integer":
        return max(1, node.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    fmt = node.get("format")
    if fmt == "binary":
        return FILE
    if fmt == "date-time":
        return "2026-03-10T09:00:00+00:00"
    if fmt == "date":
        return "2026-03-10"
    if fmt == "email" or "email" in name:
        return "api.matrix@example.org"
    text = "Matrix text, short and plain."
    return text[:node.get("maxLength", len(text))].ljust(node.get("minLength", 0), "x")


def request_body(operation: dict[str, Any]) -> dict[str, Any]:
    """Client.post arguments for the operation's body: JSON when it takes JSON, else multipart (files as photos)."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return {"data": json.dumps(example(content["application/json"]["schema"])),
                "content_type": "application/json"}
    if "multipart/form-data" in content:
        fields = example(content["multipart/form-data"]["schema"], everything=False)
        data: dict[str, Any] = {}
        for key, value in fields.items():
            if value is FILE or (isinstance(value, list) and FILE in value):
                data[key] = [photo(f"{key}.jpg")] if isinstance(value, list) else photo(f"{key}.jpg")
            else:
                data[key] = value
        return {"data": data}
    return {"data": "{}", "content_type": "application/json"}


# --- routes ----------------------------------------------------------------------------------------------------------


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method.upper(), operation) for path, methods in SCHEMA["paths"].items()
            for method, operation in methods.items()]


def kind_of(path: str) -> str:
    for prefix, kind in KINDS:
        if path.startswith(prefix):
            return kind
    raise AssertionError(f"{path}: not a route of /api/v1/; give it a kind in KINDS and a row in EXPECTED")


def api_patterns() -> list[tuple[str, str | None]]:
    """(route, name) of every URL pattern in the API's namespace."""

    def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> list[tuple[str, str | None, str]]:
        found = []
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = entry.namespace or namespace
                found += walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                found.append((prefix + str(entry.pattern), entry.name, namespace))
        return found

    return [(route, name) for route, name, namespace in walk(get_resolver().url_patterns) if namespace == "api"]


# --- requests --------------------------------------------------------------------------------------------------------


def token(response: Any) -> str:
    if 200 <= response.status_code < 300:
        return OK
    if response.status_code == 403 and response.get("Content-Type", "").startswith("application/problem+json"):
        return f"403 {response.json().get('code')}"
    return str(response.status_code)


def body_of(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def call(world: World, method: str, path: str, operation: dict[str, Any], *, person: str | None = None,
         key: str | None = None) -> tuple[str, bytes, Any]:
    """One request, as a person with a session or with a key, in a transaction that is rolled back."""
    with transaction.atomic():
        client = Client()
        headers = {"HTTP_HOST": "127.0.0.1"}
        if person is not None and world.people[person] is not None:
            client.force_login(world.people[person])
        if key is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        if method == "POST":
            headers["HTTP_IDEMPOTENCY_KEY"] = f"matrix-{uuid.uuid4()}"
            response = client.post(path, **request_body(operation), **headers)
        else:
            response = client.get(path, **headers)
        result = token(response), body_of(response), response
        transaction.set_rollback(True)
    return result


def allowed(expected: set[str], got: str) -> bool:
    return got in expected


# --- the tests -------------------------------------------------------------------------------------------------------


def test_every_route_of_the_api_is_in_its_schema_and_needs_a_key():
    """Nothing under the API's namespace hides from the schema (and so from this matrix), and every operation of the
    schema asks for a key; the schema and its docs are the only pages without one."""
    templates = {path for path, _method, _operation in operations()}
    hidden = []
    for route, name in api_patterns():
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        if name in ("openapi-json", "openapi-view"):
            assert path in PUBLIC, path
        elif name == "api-root":
            continue  # django-ninja's root: a 404 that only serves to reverse the API's prefix
        elif path not in templates:
            hidden.append(f"{route} (name={name})")
    assert not hidden, f"API routes missing from the schema (include_in_schema=False?): {hidden}"
    for path, method, operation in operations():
        assert operation.get("security") == [{"KeyAuth": []}], f"{method} {path} does not ask for a key"
        kind_of(path)  # every route has a kind, so a row of EXPECTED


@pytest.mark.parametrize("path", sorted(PUBLIC))
def test_the_schema_and_the_docs_need_no_key(client, path):
    assert client.get(path, HTTP_HOST="127.0.0.1").status_code == 200


def test_a_route_with_an_unknown_parameter_fails_the_matrix():
    world = type("W", (), {"values": {"S": {("claims", "number"): "C-1"}}})()
    assert url(world, "S", "/api/v1/claims/{number}") == "/api/v1/claims/C-1"  # type: ignore[arg-type]
    with pytest.raises(pytest.fail.Exception, match="no value for the path parameter 'parcel_id'"):
        url(world, "S", "/api/v1/claims/{number}/parcels/{parcel_id}")  # type: ignore[arg-type]


def render(rows: list[dict[str, Any]], callers: list[str]) -> str:
    width = max(len(row["label"]) for row in rows)
    lines = [f"{'route':<{width}}  " + "  ".join(f"{caller:>19}" for caller in callers)]
    for row in rows:
        cells = []
        for caller in callers:
            got, ok = row["got"][caller]
            cells.append(f"{got:>19}" if ok else f"{'!' + got:>19}")
        lines.append(f"{row['label']:<{width}}  " + "  ".join(cells))
    return "\n".join(lines)


@override_settings(API_RATE_LIMIT=100_000)
def test_api_authorization_matrix():
    with time_machine.travel(NOW, tick=False):
        world = World()
        rows, mismatches, leaks = [], [], []
        for path, method, operation in operations():
            kind = kind_of(path)
            expected = EXPECTED[kind].get(method)
            assert expected is not None, f"{method} {path}: no row for {method} of {kind} routes in EXPECTED"
            row: dict[str, Any] = {"label": f"{method} {path} ({kind})", "got": {}}
            target = url(world, "S", path)
            # the people of the site, with their session: the API does not know sessions
            for role in ROLES:
                got, body, _response = call(world, method, target, operation, person=role)
                ok = got == UNAUTHORIZED
                row["got"][role] = (got, ok)
                if not ok:
                    mismatches.append(f"{method} {target} as {role} (session): got {got}, expected 401")
                leaks += [f"{method} {target} as {role} (session, {got}) shows the {what}"
                          for what, secret in world.secrets.items() if secret.encode() in body]
            nothing = None
            if PLACEHOLDER.search(path):
                nothing = call(world, method, url(world, "nothing", path), operation, key=world.keys["T write"])
            for caller in KEYS:
                got, body, response = call(world, method, target, operation, key=world.keys[caller])
                wanted = expected[caller]
                if SAME_AS_NOTHING in wanted:
                    if nothing is None:  # no object in the path (the list): T's own, and nothing of S's
                        ok = got == OK
                    else:  # indistinguishable from a claim that does not exist
                        ok = got in ("404", "422") and (got, body) == nothing[:2]
                else:
                    ok = allowed(wanted, got)
                if got != OK and not response.get("Content-Type", "").startswith("application/problem+json"):
                    ok = False  # every refusal of the API is problem details
                row["got"][caller] = (got, ok)
                if not ok:
                    mismatches.append(f"{method} {target} with {caller}: got {got} {body[:200]!r}, expected "
                                      f"{sorted(wanted)}")
                if caller not in ENTITLED[kind] or got in (UNAUTHORIZED, "404") or got.startswith("403"):
                    leaks += [f"{method} {target} with {caller} ({got}) shows the {what}"
                              for what, secret in world.secrets.items() if secret.encode() in body]
            rows.append(row)
        # Seller T's key works on T's own claim (so its 404s above are about whose claim it is, not a broken key).
        for path, method, operation in operations():
            if method == "GET" and kind_of(path) == "seller":
                got, body, _response = call(world, method, url(world, "T", path), operation,
                                            key=world.keys["T write"])
                if got != OK:
                    mismatches.append(f"{method} {url(world, 'T', path)} with T write on T's own: got {got}")
        # The leak check looks for the right words: S's key is shown its claim's number and description.
        _got, shown, _response = call(world, "GET", f"/api/v1/claims/{world.claim.number}", {},
                                      key=world.keys["S read"])
    report = render(rows, [*ROLES, *KEYS])
    print(report)
    assert not mismatches and not leaks, "\n".join(
        ["Mismatches:", *mismatches, "", "Leaks:", *leaks, "", "The whole matrix (!: not allowed):", report])
    assert len(rows) == len(operations()) and rows
    assert world.claim.number.encode() in shown and DESCRIPTION.encode() in shown

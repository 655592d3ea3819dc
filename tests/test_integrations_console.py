"""API keys and webhooks in the support console (integrations/admin.py): superusers make platform keys and endpoints
(shown once), revoke keys, turn endpoints off and on, rotate and delete the platform's; agents read everything and
redeliver; no page ever shows a hash or a secret after it was made; lists cost the same queries for 1 and 20 rows."""

from __future__ import annotations

import re
import socket
from html import unescape
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims.tests.admin_factories import make_console_agent, make_finance, make_superuser
from integrations import endpoints, keys
from integrations.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture(autouse=True)
def _public_dns(monkeypatch, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        address = "10.0.0.9" if "intranet" in host else "93.184.216.34"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def superuser():  # type: ignore[no-untyped-def]
    return make_superuser()


@pytest.fixture
def agent():  # type: ignore[no-untyped-def]
    return make_console_agent()


@pytest.fixture
def seller_endpoint():  # type: ignore[no-untyped-def]
    seller = SellerFactory()
    owner = UserFactory()
    SellerMembership.objects.create(user=owner, seller=seller, role="owner")
    return endpoints.create_endpoint(seller=seller, url="https://erp.example.com/hooks", events=["claim.opened"],
                                     by=owner)[0]


def failed_deliveries(endpoint, count: int, start: int = 0):  # type: ignore[no-untyped-def]
    made = []
    for index in range(start, start + count):
        event = WebhookEvent.objects.create(msg_id=f"msg_c{index}", type="claim.opened", seller=endpoint.seller,
                                            claim_number=f"C-26CC-{index:04d}", payload={"n": index},
                                            dedupe_key=f"console-{index}")
        delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, status="failed", attempts=8,
                                                  last_status_code=502)
        WebhookAttempt.objects.create(delivery=delivery, status_code=502, response_excerpt="Bad gateway")
        made.append(delivery)
    return made


# --- API keys -----------------------------------------------------------------------------------------------------


def test_a_superuser_makes_a_platform_key_and_sees_it_once(client, superuser):
    client.force_login(superuser)
    add = reverse("admin:integrations_apikey_add")
    assert client.get(add).status_code == 200
    response = client.post(add, {"name": "Shop backend", "scope": "write"})
    api_key = ApiKey.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:integrations_apikey_change", args=[api_key.pk])
    assert api_key.is_platform and api_key.may_write and api_key.created_by == superuser
    page = client.get(response["Location"]).content.decode()
    shown = re.findall(r'value="(mk_[0-9a-f]{8}_[^"]+)"', page)
    assert len(shown) == 1 and keys.authenticate(unescape(shown[0])) == api_key
    assert 'src="/static/js/copy.js"' in page
    again = client.get(response["Location"]).content.decode()
    assert shown[0] not in again and api_key.hashed_key not in again and api_key.prefix in again
    assert client.post(add, {"name": "", "scope": "write"}).status_code == 400


def test_a_superuser_revokes_a_key_agents_only_read_them(client, superuser, agent):
    seller = SellerFactory()
    api_key, key = keys.create_api_key(name="ERP", seller=seller, scope="write")
    revoke = reverse("admin:integrations_apikey_act", kwargs={"object_id": api_key.pk, "action": "revoke"})
    client.force_login(agent)
    page = client.get(reverse("admin:integrations_apikey_change", args=[api_key.pk]))
    assert page.status_code == 200 and revoke not in page.content.decode()
    assert api_key.hashed_key not in page.content.decode()
    assert client.get(reverse("admin:integrations_apikey_add")).status_code == 403
    assert client.post(revoke).status_code == 403 and keys.authenticate(key) is not None
    client.force_login(superuser)
    assert revoke in client.get(reverse("admin:integrations_apikey_change", args=[api_key.pk])).content.decode()
    assert client.post(revoke).status_code == 302
    assert keys.authenticate(key) is None
    assert ApiKey.objects.get().revoked_by == superuser


def test_finance_and_plain_staff_see_none_of_it(client, seller_endpoint):
    delivery = failed_deliveries(seller_endpoint, 1)[0]
    for person in (make_finance(), UserFactory(is_staff=True)):
        client.force_login(person)
        for name, args in (("apikey_changelist", []), ("webhookendpoint_changelist", []),
                           ("webhookendpoint_change", [seller_endpoint.pk]), ("webhookdelivery_changelist", []),
                           ("webhookdelivery_change", [delivery.pk]), ("webhookevent_changelist", [])):
            assert client.get(reverse(f"admin:integrations_{name}", args=args)).status_code == 403, name


# --- endpoints ----------------------------------------------------------------------------------------------------


def test_a_superuser_adds_a_platform_endpoint_and_sees_its_secret_once(client, superuser):
    client.force_login(superuser)
    add = reverse("admin:integrations_webhookendpoint_add")
    refused = client.post(add, {"url": "https://intranet.example.com/h", "events": ["refund.paid"]})
    assert refused.status_code == 400 and "private network" in text(refused)
    assert not WebhookEndpoint.objects.exists()
    response = client.post(add, {"url": "https://shop.example.com/hooks", "description": "Shop",
                                 "events": ["refund.paid", "claim.decided"]})
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and endpoint.is_platform
    assert endpoint.events == ["claim.decided", "refund.paid"]
    page = client.get(response["Location"]).content.decode()
    assert f'value="{endpoint.secret}"' in page
    again = client.get(response["Location"]).content.decode()
    assert endpoint.secret not in again and "https://shop.example.com/hooks" in again

    rotate = reverse("admin:integrations_webhookendpoint_rotate", kwargs={"object_id": endpoint.pk})
    assert rotate in again and client.get(rotate).status_code == 200
    old = endpoint.secret
    response = client.post(rotate)
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == old and endpoint.secret != old
    page = client.get(response["Location"]).content.decode()
    assert endpoint.secret in page and old not in page

    edit = reverse("admin:integrations_webhookendpoint_act", kwargs={"object_id": endpoint.pk, "action": "edit"})
    response = client.post(edit, {"url": "https://intranet.example.com/h", "events": ["refund.paid"]})
    assert response.status_code == 400 and "private network" in text(response)
    client.post(edit, {"url": "https://shop.example.com/v2", "events": ["refund.paid"]})
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events) == ("https://shop.example.com/v2", ["refund.paid"])

    delete = reverse("admin:integrations_webhookendpoint_delete", args=[endpoint.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_a_sellers_endpoint_is_read_only_in_the_console_but_may_be_turned_off(client, superuser, agent,
                                                                             seller_endpoint):
    change = reverse("admin:integrations_webhookendpoint_change", args=[seller_endpoint.pk])
    disable = reverse("admin:integrations_webhookendpoint_act",
                      kwargs={"object_id": seller_endpoint.pk, "action": "disable"})
    client.force_login(agent)
    page = client.get(change).content.decode()
    assert "https://erp.example.com/hooks" in page and seller_endpoint.secret not in page and disable not in page
    assert client.post(disable, {"reason": "x"}).status_code == 403
    client.force_login(superuser)
    page = client.get(change).content.decode()
    assert seller_endpoint.secret not in page and disable in page
    for name in ("rotate",):
        assert client.get(reverse(f"admin:integrations_webhookendpoint_{name}",
                                  kwargs={"object_id": seller_endpoint.pk})).status_code == 403
    edit = reverse("admin:integrations_webhookendpoint_act", kwargs={"object_id": seller_endpoint.pk,
                                                                     "action": "edit"})
    client.post(edit, {"url": "https://other.example.com/", "events": ["refund.paid"]})
    assert client.post(reverse("admin:integrations_webhookendpoint_delete", args=[seller_endpoint.pk]),
                       {"post": "yes"}).status_code == 403
    seller_endpoint.refresh_from_db()
    assert seller_endpoint.url == "https://erp.example.com/hooks"

    assert client.post(disable, {"reason": "Floods us with 500s"}).status_code == 302
    seller_endpoint.refresh_from_db()
    assert seller_endpoint.disabled_reason == "Floods us with 500s"
    enable = reverse("admin:integrations_webhookendpoint_act",
                     kwargs={"object_id": seller_endpoint.pk, "action": "enable"})
    assert client.post(enable).status_code == 302
    seller_endpoint.refresh_from_db()
    assert seller_endpoint.is_enabled


# --- deliveries ---------------------------------------------------------------------------------------------------


def test_agents_redeliver_from_the_list_and_the_page(client, agent, seller_endpoint):
    first, second = failed_deliveries(seller_endpoint, 2)
    client.force_login(agent)
    page = client.get(reverse("admin:integrations_webhookdelivery_change", args=[first.pk]))
    assert page.status_code == 200 and "Bad gateway" in text(page) and "C-26CC-0000" in text(page)
    act = reverse("admin:integrations_webhookdelivery_act", kwargs={"object_id": first.pk, "action": "redeliver"})
    assert act in page.content.decode()

    def sent(*, delivery, by):  # type: ignore[no-untyped-def]
        return delivery

    with mock.patch("integrations.webhooks.redeliver", side_effect=sent) as redeliver:
        assert client.post(act).status_code == 302
        assert redeliver.call_args.kwargs == {"delivery": first, "by": agent}
        response = client.post(reverse("admin:integrations_webhookdelivery_changelist"),
                               {"action": "redeliver_selected", "_selected_action": [first.pk, second.pk]})
    assert response.status_code == 302
    assert sorted(call.kwargs["delivery"].pk for call in redeliver.call_args_list[1:]) == [first.pk, second.pk]


def test_the_delivery_list_costs_the_same_queries_for_1_and_20_rows(client, agent, seller_endpoint):
    client.force_login(agent)

    def count(name: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(f"admin:integrations_{name}_changelist")).status_code == 200
        return len(queries)

    failed_deliveries(seller_endpoint, 1)
    one = {name: count(name) for name in ("webhookdelivery", "webhookevent", "webhookendpoint", "apikey")}
    failed_deliveries(seller_endpoint, 19, start=1)
    for index in range(3):
        keys.create_api_key(name=f"K{index}", seller=seller_endpoint.seller)
    assert {name: count(name) for name in one} == one


def test_the_lists_filter_by_whose_and_status(client, agent, superuser, seller_endpoint):
    platform_key, _key = keys.create_api_key(name="Shop", seller=None)
    seller_key, _key = keys.create_api_key(name="ERP", seller=seller_endpoint.seller)
    keys.revoke_api_key(api_key=seller_key, by=superuser)
    client.force_login(agent)
    url = reverse("admin:integrations_apikey_changelist")

    def names(**params: str) -> set[str]:
        page = client.get(url, params).content.decode()
        return {name for name in ("Shop", "ERP") if f">{name}</a>" in page}

    assert names() == {"Shop", "ERP"}
    assert names(whose="platform") == {"Shop"} and names(whose="seller") == {"ERP"}
    assert names(status="revoked") == {"ERP"} and names(status="active") == {"Shop"}
    endpoints.disable_endpoint(endpoint=seller_endpoint, reason="x", by=superuser)
    page = client.get(reverse("admin:integrations_webhookendpoint_changelist"), {"status": "on"}).content.decode()
    assert "erp.example.com" not in page
    page = client.get(reverse("admin:integrations_webhookendpoint_changelist"), {"status": "off"}).content.decode()
    assert "erp.example.com" in page


def test_an_endpoints_page_leads_to_its_delivery_log(client, agent, seller_endpoint, superuser):
    failed_deliveries(seller_endpoint, 1)
    other, _secret = endpoints.create_endpoint(seller=None, url="https://shop.example.com/h", events=["refund.paid"],
                                               by=superuser)
    failed_deliveries(other, 1, start=5)
    client.force_login(agent)
    page = client.get(reverse("admin:integrations_webhookendpoint_change", args=[seller_endpoint.pk]))
    log = re.search(r'href="([^"]*webhookdelivery/\?endpoint__id__exact=\d+)"', page.content.decode()).group(1)
    listed = text(client.get(unescape(log)))
    assert "C-26CC-0000" in listed and "C-26CC-0005" not in listed

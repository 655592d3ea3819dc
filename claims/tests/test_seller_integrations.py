"""The dashboard's "API & webhooks" pages (claims.seller.integrations): the owner makes a key and sees it once,
revokes it; registers, changes, turns off and on, rotates and deletes webhook endpoints (a private destination is
refused at the URL field); reads each endpoint's delivery log (its queries do not grow with its rows) and redelivers.
Staff are refused every page, and another seller's keys, endpoints and deliveries are not found."""

from __future__ import annotations

import datetime as dt
import re
import socket
from html import unescape
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations import endpoints, keys
from integrations.models import (
    ApiKey,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
PUBLIC = "93.184.216.34"


def text(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def member(seller, role: str):  # type: ignore[no-untyped-def]
    user = UserFactory(first_name="Olga", last_name="Owner" if role == "owner" else "Staff")
    SellerMembership.objects.create(user=user, seller=seller, role=role)
    return user


def resolving_to(monkeypatch, address: str) -> None:
    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def _public_dns(monkeypatch, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    resolving_to(monkeypatch, PUBLIC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


class Shop:
    def __init__(self) -> None:
        self.seller = SellerFactory(display_name="Phone Corner")
        self.owner = member(self.seller, "owner")
        self.staff = member(self.seller, "staff")
        self.other_seller = SellerFactory(display_name="Other Shop")
        self.other_owner = member(self.other_seller, "owner")

    def endpoint(self, seller=None, **kwargs):  # type: ignore[no-untyped-def]
        seller = seller or self.seller
        owner = self.owner if seller == self.seller else self.other_owner
        values = {"url": "https://erp.example.com/hooks", "events": ["claim.opened", "offer.accepted"], **kwargs}
        return endpoints.create_endpoint(seller=seller, by=owner, **values)[0]


@pytest.fixture
def shop() -> Shop:
    return Shop()


def deliveries(endpoint, count: int, *, status: str = DeliveryStatus.FAILED, start: int = 0):  # type: ignore[no-untyped-def]
    made = []
    for index in range(start, start + count):
        event = WebhookEvent.objects.create(
            msg_id=f"msg_{endpoint.pk}_{index}", type="claim.opened", seller=endpoint.seller,
            claim_number=f"C-26AB-{index:04d}", payload={"type": "claim.opened", "data": {"number": index}},
            dedupe_key=f"{endpoint.pk}-{index}", created_at=NOW - dt.timedelta(minutes=index))
        delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, status=status, attempts=8,
                                                  last_status_code=503, created_at=event.created_at)
        WebhookAttempt.objects.create(delivery=delivery, status_code=503, response_excerpt="Service Unavailable",
                                      duration_ms=120)
        made.append(delivery)
    return made


# --- the tab ------------------------------------------------------------------------------------------------------


def test_the_tab_is_the_owners(client, shop):
    client.force_login(shop.owner)
    page = client.get(reverse("sellers:queue")).content.decode()
    assert reverse("sellers:api_keys") in page and "API & webhooks" in page
    client.force_login(shop.staff)
    page = client.get(reverse("sellers:queue")).content.decode()
    assert reverse("sellers:api_keys") not in page


# --- API keys -----------------------------------------------------------------------------------------------------


def test_the_owner_makes_a_key_sees_it_once_and_revokes_it(client, shop):
    client.force_login(shop.owner)
    add = reverse("sellers:api_key_add")
    assert client.get(add).status_code == 200
    response = client.post(add, {"name": "Warehouse system", "scope": "write"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('sellers:api_keys')}?seller={shop.seller.slug}"
    api_key = ApiKey.objects.get()
    assert (api_key.name, api_key.scope, api_key.seller, api_key.created_by) == (
        "Warehouse system", "write", shop.seller, shop.owner)

    page = client.get(response["Location"])
    shown = re.findall(r'value="(mk_[0-9a-f]{8}_[^"]+)"', page.content.decode())
    assert len(shown) == 1
    assert keys.authenticate(unescape(shown[0])) == api_key  # the very key, usable
    assert "Your new key “Warehouse system”" in text(page) and "only time it is shown" in text(page)
    assert 'src="/static/js/copy.js"' in page.content.decode() and "<script>" not in page.content.decode()
    # a reload (or the back button) no longer has it
    again = client.get(response["Location"]).content.decode()
    assert shown[0] not in again and "only time it is shown" not in again
    assert api_key.prefix in again and "Warehouse system" in again and "Read and write" in again

    revoke = reverse("sellers:api_key_revoke", kwargs={"key_id": api_key.pk})
    assert "Revoke the key" in text(client.get(revoke))
    response = client.post(revoke)
    assert response.status_code == 302
    assert keys.authenticate(unescape(shown[0])) is None
    api_key.refresh_from_db()
    assert api_key.revoked_by == shop.owner and api_key.revoked_at == NOW
    assert "Revoked" in text(client.get(reverse("sellers:api_keys")))


def test_a_key_needs_a_name_and_a_scope(client, shop):
    client.force_login(shop.owner)
    response = client.post(reverse("sellers:api_key_add"), {"name": " ", "scope": "admin"})
    assert response.status_code == 400
    assert "Give the key a name" in text(response) and not ApiKey.objects.exists()


def test_a_key_shown_once_belongs_to_the_shop_it_was_made_for(client, shop):
    """An owner of two shops: the new key of one is not shown on the other's page (nor dropped by it)."""
    second = SellerFactory(display_name="Second Shop")
    SellerMembership.objects.create(user=shop.owner, seller=second, role="owner")
    client.force_login(shop.owner)
    client.post(f"{reverse('sellers:api_key_add')}?seller={second.slug}", {"name": "ERP", "scope": "read"})
    assert ApiKey.objects.get().seller == second
    assert "only time it is shown" not in text(client.get(reverse("sellers:api_keys"), {"seller": shop.seller.slug}))
    assert "only time it is shown" in text(client.get(reverse("sellers:api_keys"), {"seller": second.slug}))


# --- webhook endpoints --------------------------------------------------------------------------------------------


def test_the_owner_adds_an_endpoint_and_sees_its_secret_once(client, shop):
    client.force_login(shop.owner)
    add = reverse("sellers:webhook_add")
    form = client.get(add)
    assert form.status_code == 200
    assert "A claim was opened" in text(form) and "claim.opened" in text(form)  # the events, with their labels
    assert form.content.decode().count('type="checkbox" name="events"') == 11
    response = client.post(add, {"url": "https://erp.example.com/hooks", "description": "ERP",
                                 "events": ["claim.opened", "refund.paid"]})
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["claim.opened", "refund.paid"] and endpoint.created_by == shop.owner
    page = client.get(response["Location"]).content.decode()
    assert f'value="{endpoint.secret}"' in page
    again = client.get(response["Location"]).content.decode()
    assert endpoint.secret not in again and endpoint.url in again and "A refund was paid" in again


def test_a_private_destination_is_refused_at_the_url_field(client, shop, monkeypatch):
    resolving_to(monkeypatch, "10.0.0.5")
    client.force_login(shop.owner)
    response = client.post(reverse("sellers:webhook_add"), {"url": "https://erp.intranet.example/hooks",
                                                            "events": ["claim.opened"]})
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()
    form = response.context["form"]
    assert list(form.errors) == ["url"] and "10.0.0.5" in form.errors["url"][0]
    assert "private network" in text(response)


def test_events_are_required(client, shop):
    client.force_login(shop.owner)
    response = client.post(reverse("sellers:webhook_add"), {"url": "https://erp.example.com/hooks"})
    assert response.status_code == 400 and list(response.context["form"].errors) == ["events"]


def test_the_owner_edits_turns_off_and_on_rotates_and_deletes_an_endpoint(client, shop, settings):
    settings.WEBHOOK_SECRET_ROTATION_HOURS = 24
    endpoint = shop.endpoint()
    first_secret = endpoint.secret
    client.force_login(shop.owner)
    edit = reverse("sellers:webhook_edit", kwargs={"endpoint_id": endpoint.pk})
    form = client.get(edit).content.decode()
    assert 'value="https://erp.example.com/hooks"' in form
    checked = re.findall(r'<input type="checkbox" name="events" value="([a-z._]+)"[^>]*\bchecked\b', form)
    assert checked == ["claim.opened", "offer.accepted"]
    response = client.post(edit, {"url": "https://erp.example.com/v2", "description": "v2",
                                  "events": ["claim.decided"]})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.description, endpoint.events) == ("https://erp.example.com/v2", "v2",
                                                                     ["claim.decided"])

    toggle = reverse("sellers:webhook_toggle", kwargs={"endpoint_id": endpoint.pk})
    assert client.post(toggle, {"action": "disable"}).status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and "Olga Owner" in endpoint.disabled_reason
    page = text(client.get(reverse("sellers:webhooks")))
    assert "Off" in page and "Turn on" in page and endpoint.disabled_reason in page
    assert client.post(toggle, {"action": "enable"}).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.is_enabled
    assert client.post(toggle, {"action": "sideways"}).status_code == 400

    rotate = reverse("sellers:webhook_rotate", kwargs={"endpoint_id": endpoint.pk})
    assert "24 more hours" in text(client.get(rotate))
    response = client.post(rotate)
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret != first_secret and endpoint.previous_secret == first_secret
    assert endpoint.previous_secret_expires_at == NOW + dt.timedelta(hours=24)
    page = client.get(response["Location"]).content.decode()
    assert f'value="{endpoint.secret}"' in page and first_secret not in page
    assert "The endpoint's new secret" in page and "The old secret stays valid until" in page
    again = client.get(response["Location"]).content.decode()
    assert endpoint.secret not in again and "the old one is valid until" in again

    delete = reverse("sellers:webhook_delete", kwargs={"endpoint_id": endpoint.pk})
    assert "Delete the endpoint" in text(client.get(delete))
    assert client.post(delete).status_code == 302
    assert not WebhookEndpoint.objects.exists()


# --- the delivery log ---------------------------------------------------------------------------------------------


def log_queries(client, endpoint) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("sellers:webhook_deliveries", kwargs={"endpoint_id": endpoint.pk}))
        assert response.status_code == 200
    return len(queries)


def test_the_delivery_log_costs_the_same_queries_for_2_and_20_rows(client, shop):
    endpoint = shop.endpoint()
    client.force_login(shop.owner)
    deliveries(endpoint, 2)
    with_two = log_queries(client, endpoint)
    deliveries(endpoint, 18, start=2)
    assert log_queries(client, endpoint) == with_two


def test_the_delivery_log_shows_each_delivery_and_pages(client, shop):
    endpoint = shop.endpoint()
    made = deliveries(endpoint, 30)
    client.force_login(shop.owner)
    url = reverse("sellers:webhook_deliveries", kwargs={"endpoint_id": endpoint.pk})
    page = client.get(url)
    html = page.content.decode()
    assert html.count(">Redeliver</button>") == 25  # a Redeliver button per row, 25 a page
    assert reverse("sellers:claim", kwargs={"number": "C-26AB-0000"}) in html
    assert "HTTP 503" in text(page) and "Failed" in text(page) and "Page 1 of 2" in text(page)
    assert "C-26AB-0029" in text(client.get(url, {"page": 2}))
    # filtered by status
    WebhookDelivery.objects.filter(pk=made[3].pk).update(status=DeliveryStatus.SUCCEEDED, delivered_at=NOW,
                                                         last_status_code=200)
    only = text(client.get(url, {"status": "succeeded"}))
    assert "C-26AB-0003" in only and "C-26AB-0004" not in only and "1 delivery" in only
    # one delivery, with its attempts and what was sent
    detail = client.get(reverse("sellers:webhook_delivery", kwargs={"delivery_id": made[0].pk}))
    assert detail.status_code == 200
    assert "Service Unavailable" in text(detail) and "120 ms" in text(detail) and made[0].event.msg_id in text(detail)
    assert "&quot;number&quot;: 0" in detail.content.decode()


def test_redeliver_calls_the_webhooks_redeliver_and_goes_back(client, shop):
    endpoint = shop.endpoint()
    delivery = deliveries(endpoint, 1)[0]
    client.force_login(shop.owner)
    back = reverse("sellers:webhook_deliveries", kwargs={"endpoint_id": endpoint.pk}) + "?page=1"

    def succeeded(*, delivery, by):  # type: ignore[no-untyped-def]
        WebhookAttempt.objects.create(delivery=delivery, status_code=204, redelivery_by=by)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SUCCEEDED)
        return WebhookDelivery.objects.select_related("event").get(pk=delivery.pk)

    url = reverse("sellers:webhook_redeliver", kwargs={"delivery_id": delivery.pk})
    with mock.patch("integrations.webhooks.redeliver", side_effect=succeeded) as redeliver:
        response = client.post(url, {"next": back})
    redeliver.assert_called_once()
    assert redeliver.call_args.kwargs["delivery"] == delivery and redeliver.call_args.kwargs["by"] == shop.owner
    assert response.status_code == 302 and response["Location"] == back
    assert "“A claim was opened” was delivered again." in text(client.get(back))

    def refused(*, delivery, by):  # type: ignore[no-untyped-def]
        from integrations.webhooks import WebhookError

        raise WebhookError("The endpoint is turned off. Turn it on first to send events to it again.", code="state")

    with mock.patch("integrations.webhooks.redeliver", side_effect=refused):
        response = client.post(url, {"next": "https://evil.example/"})  # not a page of ours: the log instead
    assert response["Location"].startswith(reverse("sellers:webhook_deliveries", kwargs={"endpoint_id": endpoint.pk}))
    assert "Turn it on first" in text(client.get(response["Location"]))


def test_redeliver_through_the_real_function_records_the_attempt(client, shop, monkeypatch):
    """The real integrations.webhooks.redeliver, its HTTP request answered 500 without a network."""
    from integrations import webhooks

    endpoint = shop.endpoint()
    delivery = deliveries(endpoint, 1)[0]
    monkeypatch.setattr(webhooks, "post", lambda url, body, headers: webhooks.Answer(status=500, excerpt="Oops"))
    client.force_login(shop.owner)
    response = client.post(reverse("sellers:webhook_redeliver", kwargs={"delivery_id": delivery.pk}), follow=True)
    assert "was sent again, but the endpoint did not accept it (it answered 500)" in text(response)
    attempt = WebhookAttempt.objects.filter(delivery=delivery).order_by("-id").first()
    assert attempt.status_code == 500 and attempt.redelivery_by == shop.owner


# --- who ----------------------------------------------------------------------------------------------------------


def object_urls(shop: Shop, endpoint, delivery, api_key) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [
        ("GET", reverse("sellers:api_key_revoke", kwargs={"key_id": api_key.pk})),
        ("POST", reverse("sellers:api_key_revoke", kwargs={"key_id": api_key.pk})),
        ("GET", reverse("sellers:webhook_edit", kwargs={"endpoint_id": endpoint.pk})),
        ("POST", reverse("sellers:webhook_edit", kwargs={"endpoint_id": endpoint.pk})),
        ("GET", reverse("sellers:webhook_rotate", kwargs={"endpoint_id": endpoint.pk})),
        ("POST", reverse("sellers:webhook_rotate", kwargs={"endpoint_id": endpoint.pk})),
        ("POST", reverse("sellers:webhook_toggle", kwargs={"endpoint_id": endpoint.pk})),
        ("GET", reverse("sellers:webhook_delete", kwargs={"endpoint_id": endpoint.pk})),
        ("POST", reverse("sellers:webhook_delete", kwargs={"endpoint_id": endpoint.pk})),
        ("GET", reverse("sellers:webhook_deliveries", kwargs={"endpoint_id": endpoint.pk})),
        ("GET", reverse("sellers:webhook_delivery", kwargs={"delivery_id": delivery.pk})),
        ("POST", reverse("sellers:webhook_redeliver", kwargs={"delivery_id": delivery.pk})),
    ]


def unchanged(endpoint, api_key) -> None:  # type: ignore[no-untyped-def]
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (stored.secret, stored.url, stored.is_enabled) == (endpoint.secret, endpoint.url, True)
    assert ApiKey.objects.get(pk=api_key.pk).is_active


def test_staff_are_refused_every_page(client, shop):
    endpoint = shop.endpoint()
    delivery = deliveries(endpoint, 1)[0]
    api_key, _key = keys.create_api_key(name="ERP", seller=shop.seller, created_by=shop.owner)
    client.force_login(shop.staff)
    lists = [("GET", reverse(name)) for name in ("sellers:api_keys", "sellers:api_key_add", "sellers:webhooks",
                                                 "sellers:webhook_add")]
    lists += [("POST", reverse("sellers:api_key_add")), ("POST", reverse("sellers:webhook_add"))]
    with mock.patch("integrations.webhooks.redeliver") as redeliver:
        for method, url in lists + object_urls(shop, endpoint, delivery, api_key):
            data = {"name": "x", "scope": "write", "url": "https://x.example.com/", "events": ["claim.opened"],
                    "action": "disable"}
            response = client.post(url, data) if method == "POST" else client.get(url)
            assert response.status_code == 403, (method, url)
    redeliver.assert_not_called()
    unchanged(endpoint, api_key)
    assert ApiKey.objects.count() == 1 and WebhookEndpoint.objects.count() == 1


def test_another_sellers_keys_endpoints_and_deliveries_are_not_found(client, shop):
    endpoint = shop.endpoint()
    delivery = deliveries(endpoint, 1)[0]
    api_key, _key = keys.create_api_key(name="ERP", seller=shop.seller, created_by=shop.owner)
    client.force_login(shop.other_owner)
    with mock.patch("integrations.webhooks.redeliver") as redeliver:
        for method, url in object_urls(shop, endpoint, delivery, api_key):
            response = client.post(url, {"action": "disable"}) if method == "POST" else client.get(url)
            assert response.status_code == 404, (method, url)
    redeliver.assert_not_called()
    unchanged(endpoint, api_key)
    # ...and its own lists show nothing of this shop
    assert "erp.example.com" not in client.get(reverse("sellers:webhooks")).content.decode()
    assert api_key.prefix not in client.get(reverse("sellers:api_keys")).content.decode()


def test_platform_keys_and_endpoints_are_not_on_any_dashboard(client, shop):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    api_key, _key = keys.create_api_key(name="Shop", seller=None, created_by=superuser)
    endpoint, _secret = endpoints.create_endpoint(seller=None, url="https://shop.example.com/h",
                                                  events=["refund.paid"], by=superuser)
    client.force_login(shop.owner)
    assert client.get(reverse("sellers:api_key_revoke", kwargs={"key_id": api_key.pk})).status_code == 404
    assert client.get(reverse("sellers:webhook_edit", kwargs={"endpoint_id": endpoint.pk})).status_code == 404
    assert "shop.example.com" not in client.get(reverse("sellers:webhooks")).content.decode()


def test_people_who_work_for_no_seller_are_refused(client, shop):
    client.force_login(UserFactory())
    assert client.get(reverse("sellers:api_keys")).status_code == 403
    assert client.get(reverse("sellers:webhooks")).status_code == 403
    client.logout()
    assert client.get(reverse("sellers:webhooks")).status_code == 302


def test_active_keys_come_first_and_the_pages_with_secrets_are_never_cached(client, shop):
    old, _key = keys.create_api_key(name="Old ERP", seller=shop.seller)
    keys.revoke_api_key(api_key=old, by=shop.owner)
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        keys.create_api_key(name="Older but active", seller=shop.seller)
    client.force_login(shop.owner)
    response = client.get(reverse("sellers:api_keys"))
    page = text(response)
    assert page.index("Older but active") < page.index("Old ERP")
    assert "no-store" in response["Cache-Control"]
    assert "no-store" in client.get(reverse("sellers:webhooks"))["Cache-Control"]

"""integrations.endpoints: who may register, change, rotate, turn off and delete a webhook endpoint, what an endpoint
may point at (the destination check of integrations.webhooks, with getaddrinfo mocked), the secret shown once and
kept during a rotation, and what turning an endpoint off and on does to its deliveries."""

from __future__ import annotations

import base64
import datetime as dt
import socket

import pytest
import time_machine

from integrations import endpoints
from integrations.endpoints import EndpointError
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
PUBLIC = "93.184.216.34"


def resolving_to(monkeypatch, address: str) -> list[str]:
    """Every host name resolves to `address`; the names asked for are recorded."""
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(host)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.fixture(autouse=True)
def public_dns(monkeypatch, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    return resolving_to(monkeypatch, PUBLIC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def member(seller, role: str):  # type: ignore[no-untyped-def]
    user = UserFactory()
    SellerMembership.objects.create(user=user, seller=seller, role=role)
    return user


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    seller = SellerFactory()
    return seller, member(seller, "owner")


def make(shop, **kwargs):  # type: ignore[no-untyped-def]
    seller, owner = shop
    values = {"url": "https://erp.example.com/hooks", "events": ["claim.opened"], **kwargs}
    return endpoints.create_endpoint(seller=seller, by=owner, **values)


# --- creating ---------------------------------------------------------------------------------------------------------


def test_the_owner_registers_an_endpoint_and_gets_its_secret_once(shop, public_dns):
    seller, owner = shop
    endpoint, secret = make(shop, events=["refund.paid", "claim.opened", "claim.opened"], description="  ERP  ")
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    stored = WebhookEndpoint.objects.get()
    assert stored == endpoint and stored.secret == secret and stored.seller == seller and stored.created_by == owner
    assert stored.events == ["claim.opened", "refund.paid"]  # each once, in the order of WebhookEventType
    assert stored.description == "ERP" and stored.is_enabled and stored.previous_secret == ""
    assert public_dns == ["erp.example.com"]  # the destination was checked
    assert make(shop)[1] != secret  # every endpoint its own secret


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1", "fc00::1",
                                     "0.0.0.0", "224.0.0.1"])  # noqa: S104 - an address to refuse, not to bind
def test_a_private_or_loopback_destination_is_refused_at_the_url(shop, monkeypatch, address):
    resolving_to(monkeypatch, address)
    with pytest.raises(EndpointError) as refused:
        make(shop, url="https://internal.example.com/hooks")
    assert refused.value.field == "url" and address in str(refused.value)
    assert not WebhookEndpoint.objects.exists()


def test_a_private_destination_is_allowed_when_the_setting_says_so(shop, monkeypatch, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    resolving_to(monkeypatch, "10.1.2.3")
    endpoint, _secret = make(shop, url="http://erp.internal/hooks")
    assert endpoint.url == "http://erp.internal/hooks"


def test_a_host_that_does_not_resolve_is_refused(shop, monkeypatch):
    def nowhere(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nowhere)
    with pytest.raises(EndpointError) as refused:
        make(shop, url="https://no-such-host.example/hooks")
    assert refused.value.field == "url" and "could not be resolved" in str(refused.value)


@pytest.mark.parametrize(("values", "field"), [
    ({"url": "ftp://erp.example.com/hooks"}, "url"),
    ({"url": "erp.example.com/hooks"}, "url"),
    ({"url": ""}, "url"),
    ({"url": "https://erp.example.com/" + "x" * 500}, "url"),
    ({"events": []}, "events"),
    ({"events": ["claim.opened", "claim.deleted"]}, "events"),
    ({"description": "x" * 201}, "description"),
])
def test_what_an_endpoint_is_made_of_is_checked(shop, values, field):
    with pytest.raises(EndpointError) as refused:
        make(shop, **values)
    assert refused.value.field == field and refused.value.code == "invalid"
    assert not WebhookEndpoint.objects.exists()


def test_only_the_owner_or_a_superuser_manages_a_sellers_endpoints(shop):
    seller, owner = shop
    staff = member(seller, "staff")
    other_owner = member(SellerFactory(), "owner")
    for person in (staff, other_owner, UserFactory(), None):
        with pytest.raises(EndpointError) as refused:
            endpoints.create_endpoint(seller=seller, url="https://erp.example.com/h", events=["claim.opened"],
                                      by=person)
        assert refused.value.code == "forbidden"
    endpoint, _secret = make(shop)
    for call in (lambda by: endpoints.update_endpoint(endpoint=endpoint, by=by, description="x"),
                 lambda by: endpoints.rotate_secret(endpoint=endpoint, by=by),
                 lambda by: endpoints.disable_endpoint(endpoint=endpoint, reason="x", by=by),
                 lambda by: endpoints.enable_endpoint(endpoint=endpoint, by=by),
                 lambda by: endpoints.delete_endpoint(endpoint=endpoint, by=by)):
        with pytest.raises(EndpointError):
            call(staff)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    endpoints.disable_endpoint(endpoint=endpoint, reason="Abuse", by=superuser)
    assert WebhookEndpoint.objects.get().disabled_reason == "Abuse"


def test_platform_endpoints_are_the_superusers(shop):
    _seller, owner = shop
    with pytest.raises(EndpointError):
        endpoints.create_endpoint(seller=None, url="https://shop.example.com/h", events=["refund.paid"], by=owner)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    endpoint, _secret = endpoints.create_endpoint(seller=None, url="https://shop.example.com/h",
                                                  events=["refund.paid"], by=superuser)
    assert endpoint.is_platform


# --- changing ---------------------------------------------------------------------------------------------------------


def test_update_changes_what_is_given_and_checks_a_new_url(shop, monkeypatch):
    _seller, owner = shop
    endpoint, secret = make(shop)
    endpoints.update_endpoint(endpoint=endpoint, by=owner, events=["offer.made", "claim.opened"],
                              description="Warehouse")
    stored = WebhookEndpoint.objects.get()
    assert stored.events == ["claim.opened", "offer.made"] and stored.description == "Warehouse"
    assert stored.url == "https://erp.example.com/hooks" and stored.secret == secret
    resolving_to(monkeypatch, "10.0.0.7")
    # the same URL is not checked again (it passed when it was registered)...
    endpoints.update_endpoint(endpoint=endpoint, by=owner, url="https://erp.example.com/hooks")
    # ...a new one is, and a refused one changes nothing
    with pytest.raises(EndpointError) as refused:
        endpoints.update_endpoint(endpoint=endpoint, by=owner, url="https://intranet.example.com/h", events=[])
    assert refused.value.field in {"url", "events"}
    with pytest.raises(EndpointError) as refused:
        endpoints.update_endpoint(endpoint=endpoint, by=owner, url="https://intranet.example.com/h")
    assert refused.value.field == "url"
    assert WebhookEndpoint.objects.get().url == "https://erp.example.com/hooks"
    assert endpoint.description == "Warehouse"  # the caller's instance shows what was saved


def test_rotation_keeps_the_old_secret_for_the_rotation_hours(shop, settings):
    settings.WEBHOOK_SECRET_ROTATION_HOURS = 24
    _seller, owner = shop
    endpoint, first = make(shop)
    second = endpoints.rotate_secret(endpoint=endpoint, by=owner)
    stored = WebhookEndpoint.objects.get()
    assert second != first and second.startswith("whsec_")
    assert (stored.secret, stored.previous_secret) == (second, first)
    assert stored.previous_secret_expires_at == NOW + dt.timedelta(hours=24)
    assert endpoint.secret == second
    # a second rotation keeps the secret in use until now, not the one before it
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        third = endpoints.rotate_secret(endpoint=endpoint, by=owner)
    stored.refresh_from_db()
    assert (stored.secret, stored.previous_secret) == (third, second)
    assert stored.previous_secret_expires_at == NOW + dt.timedelta(hours=26)


def test_the_signature_uses_both_secrets_during_a_rotation(shop):
    from integrations import webhooks

    _seller, owner = shop
    endpoint, _first = make(shop)
    endpoints.rotate_secret(endpoint=endpoint, by=owner)
    endpoint.refresh_from_db()
    assert len(webhooks.sign(endpoint, "msg_1", NOW, "{}").split(" ")) == 2
    with time_machine.travel(NOW + dt.timedelta(hours=25), tick=False):
        assert len(webhooks.sign(endpoint, "msg_1", NOW + dt.timedelta(hours=25), "{}").split(" ")) == 1


# --- off and on -------------------------------------------------------------------------------------------------------


def deliveries(endpoint, *statuses):  # type: ignore[no-untyped-def]
    made = []
    for index, status in enumerate(statuses):
        event = WebhookEvent.objects.create(msg_id=f"msg_{endpoint.pk}_{index}", type="claim.opened",
                                            seller=endpoint.seller, claim_number=f"C-TEST-{index:04d}",
                                            payload={"type": "claim.opened"}, dedupe_key=f"{endpoint.pk}-{index}")
        made.append(WebhookDelivery.objects.create(event=event, endpoint=endpoint, status=status,
                                                   next_attempt_at=NOW if status == "pending" else None))
    return made


def test_turning_off_fails_what_waits_and_turning_on_does_not_send_it(shop):
    _seller, owner = shop
    endpoint, _secret = make(shop)
    pending, delivered = deliveries(endpoint, DeliveryStatus.PENDING, DeliveryStatus.SUCCEEDED)
    endpoints.disable_endpoint(endpoint=endpoint, reason="Maintenance", by=owner)
    stored = WebhookEndpoint.objects.get()
    assert stored.disabled_at == NOW and stored.disabled_reason == "Maintenance" and not endpoint.is_enabled
    pending.refresh_from_db()
    delivered.refresh_from_db()
    assert pending.status == DeliveryStatus.FAILED and pending.next_attempt_at is None and pending.last_error
    assert delivered.status == DeliveryStatus.SUCCEEDED and delivered.last_error == ""
    # turned off again (by the system, say): the first reason stays
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        endpoints.disable_endpoint(endpoint=endpoint, reason="410 Gone")
    assert WebhookEndpoint.objects.get().disabled_reason == "Maintenance"

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=NOW - dt.timedelta(days=3))
    endpoints.enable_endpoint(endpoint=endpoint, by=owner)
    stored = WebhookEndpoint.objects.get()
    assert stored.is_enabled and stored.disabled_reason == "" and stored.failing_since is None
    pending.refresh_from_db()
    assert pending.status == DeliveryStatus.FAILED  # not resent: the owner redelivers what they want


def test_the_system_turns_an_endpoint_off_without_a_person(shop):
    endpoint, _secret = make(shop)
    endpoints.disable_endpoint(endpoint=endpoint, reason="")
    assert WebhookEndpoint.objects.get().disabled_reason  # never without a reason to show


def test_delete_takes_the_delivery_log_but_not_the_events(shop):
    _seller, owner = shop
    endpoint, _secret = make(shop)
    deliveries(endpoint, DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED)
    endpoints.delete_endpoint(endpoint=endpoint, by=owner)
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    assert WebhookEvent.objects.count() == 2

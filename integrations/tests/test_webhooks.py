"""Outbound webhooks (integrations.webhooks) against a real HTTP server started by the test (tests.receiver): the
outbox, Standard Webhooks signatures checked with the `standardwebhooks` library, retries with backoff and jitter,
turning an endpoint off (410, days of failures) and telling its owner, redelivery, the private-address guard, and on
PostgreSQL that no row lock is held while waiting for the endpoint and that two workers send a delivery once."""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from standardwebhooks.webhooks import WebhookVerificationError

from integrations import webhooks
from integrations.endpoints import new_secret
from integrations.keys import create_api_key
from integrations.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from integrations.tasks import deliver_due_webhooks, deliver_webhook
from sellers.models import MembershipRole, SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

from .receiver import running_receiver

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
SCHEDULE = [0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 24 * 3600]


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True  # the receiver listens on 127.0.0.1
    settings.WEBHOOK_RETRY_SCHEDULE = SCHEDULE
    settings.WEBHOOK_RETRY_JITTER = 0.1
    settings.WEBHOOK_DISABLE_AFTER_DAYS = 3
    settings.WEBHOOK_TIMEOUT_SECONDS = 5.0


@pytest.fixture
def receiver():
    with running_receiver() as server:
        yield server


def endpoint_for(seller, url: str, events=("claim.opened",), **fields) -> WebhookEndpoint:
    fields.setdefault("secret", new_secret())
    return WebhookEndpoint.objects.create(seller=seller, url=url, events=list(events), **fields)


def emit(seller, *, type: str = "claim.opened", key: str = "1", number: str = "C-1") -> WebhookEvent | None:
    return webhooks.emit(type=type, seller_id=seller.pk if seller else None, claim_number=number,
                         data={"claim": {"number": number, "state": "awaiting_seller"}},
                         dedupe_key=f"{type}:{number}:{key}")


def owner_of(seller, **user_fields):
    user = UserFactory(**user_fields)
    SellerMembership.objects.create(user=user, seller=seller, role=MembershipRole.OWNER)
    return user


def emitted(django_capture_on_commit_callbacks, seller, **kwargs) -> WebhookEvent:
    """Emit in a transaction and run what its commit hands to the (eager) workers: the first attempts."""
    with django_capture_on_commit_callbacks(execute=True):
        event = emit(seller, **kwargs)
    assert event is not None
    return event


# --- the outbox ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_event_goes_to_the_sellers_subscribed_endpoints_and_every_platform_endpoint():
    seller, other = SellerFactory(), SellerFactory()
    wanted = endpoint_for(seller, "https://erp.example.com/a", events=["claim.opened", "offer.made"])
    endpoint_for(seller, "https://erp.example.com/b", events=["offer.made"])  # another type
    endpoint_for(seller, "https://erp.example.com/c", disabled_at=T0, disabled_reason="off")
    endpoint_for(other, "https://other.example.com/")  # another seller's
    platform = endpoint_for(None, "https://shop.example.com/hooks")
    endpoint_for(None, "https://shop.example.com/offers", events=["offer.made"])

    with time_machine.travel(T0, tick=False):
        event = emit(seller)

    assert re.fullmatch(r"msg_[0-9A-HJKMNP-TV-Z]{26}", event.msg_id)
    assert event.payload == {"type": "claim.opened", "timestamp": "2026-03-10T09:00:00Z",
                             "data": {"claim": {"number": "C-1", "state": "awaiting_seller"}}}
    deliveries = WebhookDelivery.objects.filter(event=event)
    assert {d.endpoint_id for d in deliveries} == {wanted.pk, platform.pk}
    assert all(d.status == DeliveryStatus.PENDING and d.next_attempt_at == T0 for d in deliveries)


@pytest.mark.django_db
def test_a_platform_only_event_reaches_no_seller_endpoint():
    seller = SellerFactory()
    endpoint_for(seller, "https://erp.example.com/a", events=["deadline.reminder"])
    platform = endpoint_for(None, "https://shop.example.com/hooks", events=["deadline.reminder"])
    event = emit(None, type="deadline.reminder")
    assert [d.endpoint_id for d in event.deliveries.all()] == [platform.pk]


@pytest.mark.django_db
def test_the_same_dedupe_key_twice_writes_one_event_and_the_callers_transaction_goes_on():
    seller = SellerFactory()
    endpoint_for(seller, "https://erp.example.com/a")
    with transaction.atomic():
        first = emit(seller, key="7")
        assert emit(seller, key="7") is None
        third = emit(seller, key="8")  # the savepoint kept the transaction usable
    assert first is not None and third is not None
    assert WebhookEvent.objects.count() == 2
    assert WebhookDelivery.objects.count() == 2


@pytest.mark.django_db
def test_nobody_subscribed_writes_nothing():
    seller = SellerFactory()
    endpoint_for(seller, "https://erp.example.com/a", events=["refund.paid"])
    assert emit(seller) is None
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_msg_ids_are_unique_and_sort_by_time():
    ids = [webhooks.new_msg_id(T0 + dt.timedelta(milliseconds=n)) for n in range(50)]
    assert len(set(ids)) == 50
    assert [i[:14] for i in ids] == sorted(i[:14] for i in ids)  # the time part


# --- one delivery, signed -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_delivery_is_signed_the_standard_webhooks_way(receiver, django_capture_on_commit_callbacks):
    seller = SellerFactory()
    endpoint = endpoint_for(seller, receiver.url)
    receiver.answer(200, b'{"ok": true}')
    event = emitted(django_capture_on_commit_callbacks, seller)

    [request] = receiver.received
    assert request.verify(endpoint.secret) == event.payload
    assert request.headers["webhook-id"] == event.msg_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == webhooks.USER_AGENT
    assert request.headers["webhook-signature"].count("v1,") == 1
    with pytest.raises(WebhookVerificationError):
        request.verify(new_secret())  # another secret does not verify it
    delivery = WebhookDelivery.objects.get(event=event)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
    assert delivery.delivered_at is not None and delivery.claimed_until is None
    [attempt] = delivery.attempt_log.all()
    assert (attempt.status_code, attempt.error, attempt.response_excerpt) == (200, "", '{"ok": true}')
    assert attempt.redelivery_by is None


@pytest.mark.django_db
def test_during_a_rotation_both_secrets_sign_and_each_verifies(receiver):
    seller = SellerFactory()
    old, new = new_secret(), new_secret()
    endpoint = endpoint_for(seller, receiver.url, secret=new, previous_secret=old,
                            previous_secret_expires_at=T0 + dt.timedelta(hours=24))
    with time_machine.travel(T0, tick=False):
        event = emit(seller, key="rotating")
        assert webhooks.deliver(event.deliveries.get().pk)
        [request] = receiver.received
        assert request.headers["webhook-signature"].count("v1,") == 2
        assert request.verify(new) == event.payload
        assert request.verify(old) == event.payload
        sent_at = dt.datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), dt.UTC)
        assert webhooks.sign(endpoint, event.msg_id, sent_at, request.body.decode()) == \
            request.headers["webhook-signature"]
    with time_machine.travel(T0 + dt.timedelta(hours=24, seconds=1), tick=False):  # the rotation is over
        later = emit(seller, key="rotated")
        assert webhooks.deliver(later.deliveries.get().pk)
        request = receiver.received[-1]
        assert request.verify(new) == later.payload
        with pytest.raises(WebhookVerificationError):
            request.verify(old)


@pytest.mark.django_db
def test_the_answer_excerpt_is_short_and_a_redirect_is_not_followed(receiver):
    seller = SellerFactory()
    endpoint_for(seller, receiver.url)
    receiver.answer(302, b"x" * 5000, Location=receiver.url + "/elsewhere")
    event = emit(seller)
    assert not webhooks.deliver(event.deliveries.get().pk)
    assert len(receiver.received) == 1
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 302 and len(attempt.response_excerpt) == 500
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING


# --- retries ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_failures_are_retried_on_the_schedule_with_jitter_then_fail(receiver):
    seller = SellerFactory()
    endpoint = endpoint_for(seller, receiver.url)
    receiver.answer(503, b"down for maintenance")
    with time_machine.travel(T0, tick=False):
        delivery = emit(seller).deliveries.get()
    moment = T0
    for attempt in range(1, len(SCHEDULE) + 1):
        with time_machine.travel(moment, tick=False):
            assert not webhooks.deliver(delivery.pk)
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
        assert len(receiver.received) == attempt
        if attempt == len(SCHEDULE):
            break
        delay = (delivery.next_attempt_at - moment).total_seconds()
        assert SCHEDULE[attempt] <= delay <= SCHEDULE[attempt] * 1.1 + 0.001, (attempt, delay)
        assert delivery.status == DeliveryStatus.PENDING
        # Not before it is due: a task that comes early sends nothing.
        with time_machine.travel(delivery.next_attempt_at - dt.timedelta(seconds=2), tick=False):
            assert not webhooks.deliver(delivery.pk)
        assert len(receiver.received) == attempt
        moment = delivery.next_attempt_at
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    assert (delivery.last_status_code, delivery.last_error) == (503, "HTTP 503")
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == len(SCHEDULE)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == T0 and endpoint.is_enabled  # 8 attempts take less than 2 days


@pytest.mark.parametrize("draw", ["low", "high"])
def test_the_jitter_stays_within_its_share_of_the_delay(settings, draw):
    settings.WEBHOOK_RETRY_SCHEDULE = SCHEDULE
    settings.WEBHOOK_RETRY_JITTER = 0.1
    pick = (lambda low, high: low) if draw == "low" else (lambda low, high: high)
    with mock.patch("integrations.webhooks.random.uniform", side_effect=pick) as uniform:
        delays = [webhooks.retry_delay(attempts) for attempts in range(len(SCHEDULE) + 1)]
    expected = [s * (1.1 if draw == "high" else 1.0) for s in SCHEDULE]
    assert delays[:-1] == pytest.approx(expected)
    assert delays[-1] is None  # after the last attempt
    assert uniform.call_args_list[2] == mock.call(0, pytest.approx(30.0))


@pytest.mark.django_db
def test_a_retry_seconds_away_is_handed_to_celery_with_a_countdown(receiver):
    seller = SellerFactory()
    endpoint_for(seller, receiver.url)
    receiver.answer(500)
    delivery = emit(seller).deliveries.get()
    with mock.patch.object(deliver_webhook, "apply_async") as apply_async:
        webhooks.deliver(delivery.pk)
        (args,), kwargs = apply_async.call_args
        assert args == (delivery.pk,) and 5 <= kwargs["countdown"] <= 5.5
        apply_async.reset_mock()
        with time_machine.travel(WebhookDelivery.objects.get().next_attempt_at, tick=False):
            webhooks.deliver(delivery.pk)  # the next wait is 5 minutes: the beat's deliver_due sends it
        apply_async.assert_not_called()
    assert len(receiver.received) == 2


@pytest.mark.django_db
def test_a_timeout_and_a_refused_connection_are_failures_with_a_reason(receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    seller = SellerFactory()
    receiver.hold = threading.Event()
    endpoint_for(seller, receiver.url)
    delivery = emit(seller).deliveries.get()
    assert not webhooks.deliver(delivery.pk)
    receiver.hold.set()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None and "0.3 seconds" in delivery.last_error

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    endpoint_for(seller, f"http://127.0.0.1:{port}/hooks", events=["refund.paid"])
    refused = emit(seller, type="refund.paid").deliveries.get()
    assert not webhooks.deliver(refused.pk)
    refused.refresh_from_db()
    assert refused.attempts == 1 and "ConnectError" in refused.last_error


# --- turning an endpoint off --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_410_turns_the_endpoint_off_fails_what_waits_and_tells_the_owners(receiver,
                                                                            django_capture_on_commit_callbacks):
    seller = SellerFactory(language="de")
    owner = owner_of(seller, email="owner@example.com")
    owner_of(seller, email="")  # an owner without an address cannot be written to
    staff = UserFactory(email="staff@example.com")
    SellerMembership.objects.create(user=staff, seller=seller, role=MembershipRole.STAFF)
    create_api_key(name="ERP", seller=seller)  # its user is staff and reads no email
    endpoint = endpoint_for(seller, receiver.url, events=["claim.opened", "offer.made"])
    waiting = emit(seller, type="offer.made").deliveries.get()  # not sent yet (no commit captured)
    receiver.answer(410, b"gone")

    event = emitted(django_capture_on_commit_callbacks, seller)

    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and "410" in endpoint.disabled_reason
    delivery = WebhookDelivery.objects.get(event=event)
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.FAILED, 410)
    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.FAILED and waiting.attempts == 0
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert endpoint.url in mail.outbox[0].subject and endpoint.disabled_reason in mail.outbox[0].body
    # Nothing is sent to an endpoint that is off, not even a delivery handed to a worker earlier.
    assert not webhooks.deliver(waiting.pk)
    assert len(receiver.received) == 1


@pytest.mark.django_db
def test_three_days_of_failures_turn_the_endpoint_off(receiver, django_capture_on_commit_callbacks):
    seller = SellerFactory()
    owner = owner_of(seller)
    endpoint = endpoint_for(seller, receiver.url)
    receiver.answer(500)

    def fail_once_at(moment: dt.datetime, key: str) -> WebhookDelivery:
        with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
            event = emit(seller, key=key)
        return event.deliveries.get()

    fail_once_at(T0, "1")
    endpoint.refresh_from_db()
    assert endpoint.failing_since == T0
    fail_once_at(T0 + dt.timedelta(days=2, hours=23), "2")
    endpoint.refresh_from_db()
    assert endpoint.is_enabled and endpoint.failing_since == T0 and not mail.outbox

    last = fail_once_at(T0 + dt.timedelta(days=3, seconds=1), "3")

    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and "3 days" in endpoint.disabled_reason
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).count() == 0
    last.refresh_from_db()
    assert last.status == DeliveryStatus.FAILED and last.last_error == "HTTP 500"  # its own error, kept
    assert [m.to for m in mail.outbox] == [[owner.email]]


@pytest.mark.django_db
def test_a_success_clears_failing_since(receiver):
    seller = SellerFactory()
    endpoint = endpoint_for(seller, receiver.url)
    receiver.answer(500)
    with time_machine.travel(T0, tick=False):
        webhooks.deliver(emit(seller, key="1").deliveries.get().pk)
    receiver.answer(200)
    with time_machine.travel(T0 + dt.timedelta(days=4), tick=False):
        assert webhooks.deliver(emit(seller, key="2").deliveries.get().pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.is_enabled


@pytest.mark.django_db
def test_a_platform_endpoint_turned_off_tells_the_superusers_and_the_admins(receiver, settings,
                                                                           django_capture_on_commit_callbacks):
    settings.ADMINS = [("Ops", "ops@example.com")]
    UserFactory(username="root", email="root@example.com", is_superuser=True, is_staff=True)
    UserFactory(username="agent", email="agent@example.com", is_staff=True)  # staff, not a superuser
    endpoint_for(None, receiver.url)
    receiver.answer(410)
    emitted(django_capture_on_commit_callbacks, None)
    assert sorted(m.to[0] for m in mail.outbox) == ["ops@example.com", "root@example.com"]


# --- redelivery ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_redelivery_sends_the_same_message_again_and_logs_who_asked(receiver):
    seller = SellerFactory()
    owner = owner_of(seller)
    endpoint = endpoint_for(seller, receiver.url)
    event = emit(seller)
    delivery = event.deliveries.get()
    assert webhooks.deliver(delivery.pk)

    again = webhooks.redeliver(delivery=delivery, by=owner)

    assert again.status == DeliveryStatus.SUCCEEDED and again.attempts == 1  # outside the retry schedule
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.msg_id
    assert second.verify(endpoint.secret) == event.payload
    latest = again.attempt_log.first()
    assert latest.redelivery_by == owner and latest.status_code == 204


@pytest.mark.django_db
def test_a_failed_delivery_redelivered_to_an_endpoint_that_works_again_succeeds(receiver):
    seller = SellerFactory()
    owner = owner_of(seller)
    endpoint_for(seller, receiver.url)
    delivery = emit(seller).deliveries.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=8,
                                                          next_attempt_at=None)
    receiver.answer(500)
    failed_again = webhooks.redeliver(delivery=delivery, by=owner)
    assert failed_again.status == DeliveryStatus.FAILED and failed_again.last_status_code == 500
    receiver.answer(200)
    assert webhooks.redeliver(delivery=delivery, by=owner).status == DeliveryStatus.SUCCEEDED
    assert WebhookAttempt.objects.filter(delivery=delivery, redelivery_by=owner).count() == 2


@pytest.mark.django_db
def test_redelivery_to_an_endpoint_that_is_off_is_refused(receiver):
    seller = SellerFactory()
    owner = owner_of(seller)
    endpoint = endpoint_for(seller, receiver.url)
    delivery = emit(seller).deliveries.get()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_at=T0, disabled_reason="off")
    with pytest.raises(webhooks.WebhookError, match="turned off"):
        webhooks.redeliver(delivery=delivery, by=owner)
    assert not receiver.received


@pytest.mark.django_db
def test_redelivery_of_a_delivery_a_worker_is_sending_is_refused(receiver):
    seller = SellerFactory()
    endpoint_for(seller, receiver.url)
    delivery = emit(seller).deliveries.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_until=dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(webhooks.WebhookError, match="right now"):
        webhooks.redeliver(delivery=delivery, by=UserFactory())


# --- the beat's catch-up ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_broker_that_is_down_loses_nothing_the_beat_sends_it(receiver, django_capture_on_commit_callbacks):
    seller = SellerFactory()
    endpoint_for(seller, receiver.url)
    with mock.patch.object(deliver_webhook, "apply_async", side_effect=OSError("broker down")), \
            django_capture_on_commit_callbacks(execute=True):
        event = emit(seller)
    assert not receiver.received
    delivery = event.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING

    assert deliver_due_webhooks.apply().get() == 1  # the beat's task (eager: the handed tasks run at once)

    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.claimed_until is None


@pytest.mark.django_db
def test_deliver_due_takes_only_what_is_due_and_free(receiver):
    seller = SellerFactory()
    endpoint_for(seller, receiver.url, events=["claim.opened", "offer.made", "refund.paid", "claim.decided"])
    with time_machine.travel(T0, tick=False):
        due = emit(seller, type="claim.opened").deliveries.get()
        later = emit(seller, type="offer.made").deliveries.get()
        claimed = emit(seller, type="refund.paid").deliveries.get()
        done = emit(seller, type="claim.decided").deliveries.get()
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=T0 + dt.timedelta(minutes=10))
    WebhookDelivery.objects.filter(pk=claimed.pk).update(claimed_until=T0 + dt.timedelta(minutes=1))
    WebhookDelivery.objects.filter(pk=done.pk).update(status=DeliveryStatus.SUCCEEDED)
    with time_machine.travel(T0 + dt.timedelta(seconds=30), tick=False), \
            mock.patch.object(deliver_webhook, "apply_async") as apply_async:
        assert webhooks.deliver_due() == 1
    (args,), _kwargs = apply_async.call_args
    assert args[0] == due.pk
    due.refresh_from_db()
    assert due.claimed_until == T0 + dt.timedelta(seconds=30) + webhooks.HANDOFF
    # The handed task finds the row by deliver_due's claim; any other call leaves it to that task.
    with time_machine.travel(T0 + dt.timedelta(seconds=31), tick=False):
        assert not webhooks.deliver(due.pk)
        assert webhooks.deliver(due.pk, handoff=args[1])
    assert len(receiver.received) == 1


# --- where webhooks may go ----------------------------------------------------------------------------------------


def _resolves_to(*addresses: str):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]
    return mock.patch("integrations.webhooks.socket.getaddrinfo", side_effect=getaddrinfo)


@pytest.mark.parametrize(("url", "words"), [
    ("http://127.0.0.1/hooks", "loopback"),
    ("http://127.8.9.10:8080/hooks", "loopback"),
    ("https://[::1]/hooks", "loopback"),
    ("http://10.1.2.3/hooks", "private network"),
    ("http://192.168.0.7/hooks", "private network"),
    ("http://172.16.5.4/hooks", "private network"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[fe80::1]/hooks", "link-local"),
    ("http://[::ffff:10.0.0.1]/hooks", "private network"),
    ("http://[::ffff:127.0.0.1]/hooks", "loopback"),
    ("http://224.0.0.1/hooks", "multicast"),
    ("http://0.0.0.0/hooks", "unspecified"),
    ("http://240.0.0.1/hooks", "reserved"),
    ("http://100.64.0.1/hooks", "reserved"),  # carrier-grade NAT: not private, not public either
])
def test_private_and_special_addresses_are_refused(settings, url, words):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    with pytest.raises(webhooks.WebhookError, match=words):
        webhooks.check_destination(url)


@pytest.mark.parametrize(("addresses", "words"), [
    (["127.0.0.1"], "loopback"),
    (["10.0.0.5"], "private network"),
    (["169.254.169.254"], "link-local"),
    (["::1"], "loopback"),
    (["93.184.216.34", "10.0.0.5"], "private network"),  # any private address of the host refuses it
])
def test_a_host_name_resolving_to_a_private_address_is_refused(settings, addresses, words):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    with _resolves_to(*addresses), pytest.raises(webhooks.WebhookError, match=words) as refused:
        webhooks.check_destination("https://hooks.example.com/in")
    assert "hooks.example.com" in str(refused.value)


def test_public_addresses_pass_and_other_urls_are_refused(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    with _resolves_to("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"):
        webhooks.check_destination("https://hooks.example.com/in")
    with pytest.raises(webhooks.WebhookError, match="https://"):
        webhooks.check_destination("ftp://hooks.example.com/in")
    with pytest.raises(webhooks.WebhookError, match="no host"):
        webhooks.check_destination("https:///in")
    with mock.patch("integrations.webhooks.socket.getaddrinfo", side_effect=socket.gaierror("no such host")), \
            pytest.raises(webhooks.WebhookError, match="could not be resolved"):
        webhooks.check_destination("https://nowhere.invalid/in")


def test_the_setting_allows_private_destinations(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    webhooks.check_destination("http://127.0.0.1:9/hooks")
    with _resolves_to("10.0.0.5"):
        webhooks.check_destination("https://hooks.example.com/in")


@pytest.mark.django_db
def test_every_attempt_checks_the_destination_again(receiver, settings):
    """The host was public when the endpoint was registered; its DNS now points into our network."""
    seller = SellerFactory()
    endpoint_for(seller, f"http://hooks.example.com:{receiver.port}/hooks")
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    delivery = emit(seller).deliveries.get()
    with _resolves_to("127.0.0.1") as resolver:
        assert not webhooks.deliver(delivery.pk)
    resolver.assert_called()
    assert not receiver.received
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert "loopback" in delivery.last_error and delivery.last_status_code is None


@pytest.mark.django_db
def test_the_request_goes_to_the_address_that_was_checked_with_the_hosts_name(receiver):
    seller = SellerFactory()
    endpoint = endpoint_for(seller, f"http://hooks.example.com:{receiver.port}/hooks")
    event = emit(seller)
    with _resolves_to("127.0.0.1"):
        assert webhooks.deliver(event.deliveries.get().pk)
    [request] = receiver.received
    assert request.headers["host"] == f"hooks.example.com:{receiver.port}"
    assert request.path == "/hooks" and request.verify(endpoint.secret) == event.payload


# --- PostgreSQL: no lock while waiting, one effect for two workers ------------------------------------------------

def on_postgresql(test):
    """Real row locks between two connections: PostgreSQL only (SQLite locks the whole file)."""
    marks = [pytest.mark.postgres,
             pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="needs PostgreSQL row locks; run with DATABASE_URL=postgres://..."),
             pytest.mark.django_db(transaction=True)]
    for mark in marks:
        test = mark(test)
    return test


def waiting_delivery(seller, key: str = "1") -> WebhookDelivery:
    """A delivery written and committed but not handed to a worker yet (these tests are the workers)."""
    with mock.patch.object(deliver_webhook, "apply_async"):
        return emit(seller, key=key).deliveries.get()


def _in_thread(function, *args, **kwargs):
    result = {}

    def run():
        try:
            result["value"] = function(*args, **kwargs)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@on_postgresql
def test_no_row_is_locked_while_the_endpoint_takes_its_time(receiver):
    seller = SellerFactory()
    endpoint = endpoint_for(seller, receiver.url)
    delivery = waiting_delivery(seller)
    receiver.hold = threading.Event()
    thread, result = _in_thread(webhooks.deliver, delivery.pk)
    try:
        assert receiver.arrived.wait(10), "the request never arrived"
        with transaction.atomic():  # would raise DatabaseError (could not obtain lock) if a worker held them
            locked = WebhookDelivery.objects.select_for_update(nowait=True).get(pk=delivery.pk)
            WebhookEndpoint.objects.select_for_update(nowait=True).get(pk=endpoint.pk)
            WebhookEvent.objects.select_for_update(nowait=True).get(pk=delivery.event_id)
        assert locked.claimed_until is not None  # claimed, committed, and nothing locked
        assert not webhooks.deliver(delivery.pk)  # a second worker leaves the claimed delivery alone
    finally:
        receiver.hold.set()
        thread.join(15)
    assert result["value"] is True
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(receiver.received) == 1


@on_postgresql
@pytest.mark.parametrize("round_", range(3))
def test_two_workers_delivering_one_row_at_once_send_it_once(receiver, round_):
    seller = SellerFactory()
    endpoint_for(seller, receiver.url)
    delivery = waiting_delivery(seller, key=str(round_))
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait(5)
        return webhooks.deliver(delivery.pk)

    threads = [_in_thread(worker) for _n in range(2)]
    for thread, _result in threads:
        thread.join(15)
    assert sorted(result["value"] for _thread, result in threads) == [False, True]
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.status == DeliveryStatus.SUCCEEDED
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


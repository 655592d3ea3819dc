"""One-click unsubscribe (claims.unsubscribe, RFC 2369 and RFC 8058): the headers on the emails a person may turn off
and on no other, the signed link that turns that kind off for that person without a login or a CSRF token, the page a
person sees when opening it; the sender's name and SITE_URL in every email."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import erasure
from claims import notifications, services, unsubscribe
from claims.choices import EmailKind
from claims.models import EmailPreference, Notification, OutboundEmail
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import OPENED_AT, claim_world
from claims.webhook_events import tell_endpoint_owners
from integrations.endpoints import new_secret
from integrations.models import WebhookEndpoint
from sellers.models import MembershipRole, SellerMembership

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
ONE_CLICK = {"data": "List-Unsubscribe=One-Click", "content_type": "application/x-www-form-urlencoded"}


def sent_to(user, event: str):  # type: ignore[no-untyped-def]
    """The message the outbox sent to `user` for `event` (delivered by the worker, with its headers)."""
    row = OutboundEmail.objects.filter(recipient=user, event=event).latest("pk")
    [message] = [m for m in mail.outbox if m.to == [row.to_email] and m.subject == row.subject]
    return message


def offered(world, at: dt.datetime = OPENED_AT + 2 * H):  # type: ignore[no-untyped-def]
    with time_machine.travel(at, tick=False):
        services.make_offer(claim=world.refresh(), by=world.staff, kind="partial_refund", amount=Decimal("20.00"))


def link_in(message) -> str:  # type: ignore[no-untyped-def]
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<") and header.endswith(">"), header
    return header[1:-1]


def path_of(url: str, settings) -> str:  # type: ignore[no-untyped-def]
    assert url.startswith(settings.SITE_URL.rstrip("/") + "/"), url
    return url[len(settings.SITE_URL.rstrip("/")):]


# --- the headers -----------------------------------------------------------------------------------------------


def test_an_email_that_can_be_turned_off_carries_the_one_click_headers(settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://help.acme.example"
    world = claim_world("in_progress", defect_type="irremovable")
    with django_capture_on_commit_callbacks(execute=True):
        offered(world)
    message = sent_to(world.buyer, "offer")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = link_in(message)
    assert re.fullmatch(r"https://help\.acme\.example/email/unsubscribe/[\w:.-]+/", url), url
    link = unsubscribe.read_token(url.rstrip("/").rsplit("/", 1)[1])
    assert (link.user, link.kind) == (world.buyer, EmailKind.OFFERS)
    # the footer of both parts offers the same: one click, or the preferences page
    for body in (message.body, message.alternatives[0][0]):
        assert "https://help.acme.example/email/unsubscribe/" in body
        assert "https://help.acme.example/account/email/" in body
        assert "Offers and answers to offers" in body


@pytest.mark.parametrize(("event", "kind"), [
    ("message", EmailKind.MESSAGES), ("message_digest", EmailKind.MESSAGES), ("offer", EmailKind.OFFERS),
    ("escalated", EmailKind.PROGRESS), ("satisfaction", EmailKind.SURVEYS),
    ("decided", EmailKind.ALWAYS), ("receipt", EmailKind.ALWAYS), ("resolution", EmailKind.ALWAYS),
    ("info_requested", EmailKind.ALWAYS), ("refund_paid", EmailKind.ALWAYS),
    # outside the claims' events: an erasure refused, a webhook endpoint turned off
    ("erasure_refused", EmailKind.ALWAYS), ("webhook_endpoint_disabled", EmailKind.ALWAYS),
])
def test_the_kind_of_each_email_decides_its_headers(event, kind):
    assert notifications.kind_of(event) == kind
    assert bool(unsubscribe.headers(user_id=1, kind=notifications.kind_of(event))) == (kind != EmailKind.ALWAYS)


def test_mails_that_cannot_be_turned_off_carry_no_header(django_capture_on_commit_callbacks):
    world = claim_world("escalated")
    owner = world.staff
    SellerMembership.objects.filter(user=owner).update(role=MembershipRole.OWNER)
    endpoint = WebhookEndpoint.objects.create(seller=world.claim.seller, url="https://erp.example.com/hooks",
                                              events=["claim.opened"], secret=new_secret(),
                                              disabled_at=OPENED_AT, disabled_reason="410 Gone")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), time_machine.travel(OPENED_AT + 3 * H, tick=False):
        services.decide(claim=world.refresh(), by=world.agent, outcome="refund", funded_by="seller")
        tell_endpoint_owners(endpoint, reason="410 Gone")
        erasure.refuse(erasure.request_erasure(user=world.buyer), by=make_console_agent(), note="Claim open.")
    rows = list(OutboundEmail.objects.filter(created_at__gte=OPENED_AT + 3 * H))
    assert {"decided", "resolution", "webhook_endpoint_disabled", "erasure_refused", "satisfaction"} <= {
        row.event for row in rows}
    assert len(mail.outbox) == len(rows)
    for message in mail.outbox:
        [row] = [r for r in rows if r.subject == message.subject and [r.to_email] == message.to]
        if row.event == "satisfaction":  # surveys may be turned off
            assert "List-Unsubscribe" in message.extra_headers
        else:
            assert "List-Unsubscribe" not in message.extra_headers, row.event
            assert "List-Unsubscribe-Post" not in message.extra_headers, row.event
            assert "/email/unsubscribe/" not in message.body, row.event


def test_a_password_reset_carries_no_header(client):
    world = claim_world("awaiting_seller")
    mail.outbox.clear()
    client.post(reverse("password_reset"), {"email": world.buyer.email})
    [message] = mail.outbox
    assert "List-Unsubscribe" not in message.extra_headers


# --- the link ---------------------------------------------------------------------------------------------------


def test_one_click_turns_that_kind_off_for_that_person_only(settings, django_capture_on_commit_callbacks):
    world = claim_world("in_progress", defect_type="irremovable")
    with django_capture_on_commit_callbacks(execute=True):
        offered(world)
    path = path_of(link_in(sent_to(world.buyer, "offer")), settings)
    # what a mail program does (RFC 8058): a POST, no cookie, no CSRF token, no login
    response = Client(enforce_csrf_checks=True).post(path, **ONE_CLICK)
    assert response.status_code == 200
    assert "You will no longer get emails about: Offers and answers to offers." in response.content.decode()
    assert list(EmailPreference.objects.values_list("user", "kind", "enabled")) == [
        (world.buyer.pk, EmailKind.OFFERS, False)]
    # again: still off, still 200 (a mail program may retry)
    assert Client(enforce_csrf_checks=True).post(path, **ONE_CLICK).status_code == 200
    assert EmailPreference.objects.count() == 1
    # the next offer is listed in the buyer's notifications, not emailed; messages still are
    with time_machine.travel(OPENED_AT + 3 * H, tick=False):
        services.withdraw_offer(offer=world.refresh().offers.get(status="pending"), by=world.staff)
    emailed = OutboundEmail.objects.filter(recipient=world.buyer, event="offer").count()
    offered(world, at=OPENED_AT + 4 * H)
    assert OutboundEmail.objects.filter(recipient=world.buyer, event="offer").count() == emailed
    assert Notification.objects.filter(user=world.buyer, event="offer").count() == emailed + 1
    # the seller's staff turned nothing off
    assert not EmailPreference.objects.filter(user=world.staff).exists()


def test_opening_the_link_asks_first_and_changes_nothing(settings, django_capture_on_commit_callbacks):
    """A mail scanner that follows every link in an email must not unsubscribe anyone: GET only asks."""
    world = claim_world("in_progress")
    url = unsubscribe.unsubscribe_url(user_id=world.buyer.pk, kind=EmailKind.MESSAGES)
    response = Client().get(path_of(url, settings))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Stop the emails about: Messages." in page and '<form method="post">' in page
    assert "Turn these emails off" in page
    assert not EmailPreference.objects.exists()
    # the button posts the same link
    assert Client(enforce_csrf_checks=True).post(path_of(url, settings)).status_code == 200
    assert EmailPreference.objects.get(user=world.buyer, kind=EmailKind.MESSAGES).enabled is False
    assert "already turned off" in Client().get(path_of(url, settings)).content.decode()


def test_a_link_in_time_works_and_an_old_one_is_refused(settings):
    world = claim_world("in_progress")
    with time_machine.travel(OPENED_AT, tick=False):
        url = path_of(unsubscribe.unsubscribe_url(user_id=world.buyer.pk, kind=EmailKind.PROGRESS), settings)
    days = settings.UNSUBSCRIBE_LINK_DAYS
    with time_machine.travel(OPENED_AT + dt.timedelta(days=days + 1), tick=False):
        response = Client().post(url)
    assert response.status_code == 400 and "This unsubscribe link has expired" in response.content.decode()
    assert not EmailPreference.objects.exists()
    with time_machine.travel(OPENED_AT + dt.timedelta(days=days - 1), tick=False):
        assert Client().post(url).status_code == 200
    assert EmailPreference.objects.get(user=world.buyer).kind == EmailKind.PROGRESS


def test_a_person_who_is_gone_gets_404_and_nothing_changes(settings):
    world = claim_world("in_progress")
    url = path_of(unsubscribe.unsubscribe_url(user_id=world.buyer.pk, kind=EmailKind.MESSAGES), settings)
    world.buyer.is_active = False
    world.buyer.save(update_fields=["is_active"])
    response = Client().post(url)
    assert response.status_code == 404 and "Nothing was changed." in response.content.decode()
    assert not EmailPreference.objects.exists()


def test_no_link_for_a_kind_that_cannot_be_turned_off():
    with pytest.raises(ValueError, match="cannot be turned off"):
        unsubscribe.make_token(user_id=1, kind=EmailKind.ALWAYS)
    assert unsubscribe.footer_links(user_id=1, kind=EmailKind.ALWAYS) is None
    assert unsubscribe.headers(user_id=None, kind=EmailKind.MESSAGES) == {}


# --- the sender and SITE_URL ------------------------------------------------------------------------------------


def test_every_email_comes_from_the_marketplace_by_name(settings, django_capture_on_commit_callbacks):
    settings.MARKETPLACE_NAME = "Acme Market"
    settings.DEFAULT_FROM_EMAIL = "help@acme.example"
    with django_capture_on_commit_callbacks(execute=True):
        world = claim_world("awaiting_seller")
    assert mail.outbox and {m.from_email for m in mail.outbox} == {"Acme Market <help@acme.example>"}
    # an address with a name of its own keeps it
    settings.DEFAULT_FROM_EMAIL = "Acme Support <support@acme.example>"
    mail.outbox.clear()
    Client().post(reverse("password_reset"), {"email": world.buyer.email})
    [reset] = mail.outbox
    assert reset.from_email == "Acme Support <support@acme.example>"
    assert reset.subject == "Reset your password at Acme Market"


def test_links_come_from_site_url_never_from_the_requests_host(settings, django_capture_on_commit_callbacks):
    """The password reset is asked for on one host; its link goes where SITE_URL says the site is, like every other
    email's."""
    settings.SITE_URL = "https://help.acme.example/"
    with django_capture_on_commit_callbacks(execute=True):
        world = claim_world("awaiting_seller")
    Client().post(reverse("password_reset"), {"email": world.buyer.email}, HTTP_HOST="testserver")
    assert mail.outbox
    for message in mail.outbox:
        for body in [message.body, *(alternative for alternative, _mime in message.alternatives)]:
            links = re.findall(r"https?://[^\s\"'<>]+", body)
            assert links and all(link.startswith("https://help.acme.example/") for link in links), links
            assert "testserver" not in body and "https://help.acme.example//" not in body

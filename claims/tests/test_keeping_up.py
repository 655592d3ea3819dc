"""Keeping up: every email's news in the recipient's list of notifications (also when the email is turned off), the
unread count in the header, reading them (a claim's when it is opened, or all at once), the email preferences (the
mails that carry a deadline or a decision cannot be turned off), and the buyer's claims in one list."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from claims import keeping_up, notifications, services
from claims.choices import EmailKind
from claims.errors import ClaimError
from claims.models import Claim, EmailPreference, Notification, OutboundEmail
from claims.notifications import EVENTS, Event
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from orders.tests.factories import OrderFactory
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory, make_agent

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
LATER = OPENED_AT + 3 * H


def rows(user, event=None) -> list[Notification]:
    found = Notification.objects.filter(user=user)
    return list(found.filter(event=event) if event else found)


def seller_writes(world, body="We will send a new one.", at=LATER):
    with time_machine.travel(at, tick=False):
        return services.post_message(claim=world.claim, by=world.staff, body=body)


def html_of(response) -> str:
    return response.content.decode()


# --- notifications are written with the emails ---------------------------------------------------------------


def test_every_recipient_of_an_event_gets_a_notification_in_their_language():
    world = claim_world("in_progress")
    world.claim.order.language = "de"
    world.claim.order.save(update_fields=["language"])
    world.claim.refresh_from_db()
    receipt, = rows(world.buyer, "receipt")
    opened, = rows(world.staff, "opened")
    assert receipt.claim == opened.claim == world.claim and receipt.read_at is None
    assert receipt.text == f"We received your claim {world.claim.number}"
    assert opened.text.startswith(f"New claim {world.claim.number}: please reply")
    seller_writes(world)
    message, first_reply = rows(world.buyer, "message")  # newest first
    assert first_reply.text == f"New message on claim {world.claim.number}"  # in English when it came
    # the text is the email's subject, in the buyer's language as it was when the news came
    assert message.text == f"Neue Nachricht zur Reklamation {world.claim.number}"
    assert OutboundEmail.objects.filter(event="message", recipient=world.buyer).last().subject == message.text
    assert rows(world.staff, "message") == []  # the author is not told of their own message
    assert rows(world.other_buyer) == rows(world.other_staff) == []


def test_a_change_rolled_back_lists_nothing():
    world = claim_world("in_progress")
    before = Notification.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        seller_writes(world)
        raise RuntimeError("rolled back")
    assert Notification.objects.count() == before


def test_a_repeated_event_is_listed_once_like_its_email():
    world = claim_world("awaiting_seller")
    with time_machine.travel(OPENED_AT + H, tick=False):
        for _ in range(2):
            notifications.notify(world.claim, "reminder_first_reply", to=["seller"], key="first_reply")
    assert len(rows(world.staff, "reminder_first_reply")) == 1
    assert OutboundEmail.objects.filter(event="reminder_first_reply").count() == 1


def test_a_person_without_an_email_address_still_gets_the_notification():
    world = claim_world("in_progress")
    world.buyer.email = ""
    world.buyer.save(update_fields=["email"])
    world.claim.refresh_from_db()
    listed, emailed = len(rows(world.buyer)), OutboundEmail.objects.filter(recipient=world.buyer).count()
    seller_writes(world)
    assert len(rows(world.buyer)) == listed + 1
    assert OutboundEmail.objects.filter(recipient=world.buyer).count() == emailed


# --- email preferences ----------------------------------------------------------------------------------------


def test_a_kind_turned_off_sends_no_email_but_still_lists_the_news(django_capture_on_commit_callbacks):
    world = claim_world("in_progress")
    services.set_email_preferences(user=world.buyer, enabled={EmailKind.MESSAGES: False})
    emailed = OutboundEmail.objects.filter(event="message", recipient=world.buyer).count()  # the first reply's
    listed = len(rows(world.buyer, "message"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        seller_writes(world)
    assert OutboundEmail.objects.filter(event="message", recipient=world.buyer).count() == emailed
    assert [m for m in mail.outbox if m.to == [world.buyer.email]] == []
    assert len(rows(world.buyer, "message")) == listed + 1
    # the buyer's own message still reaches the seller's staff, who turned nothing off
    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(claim=world.claim, by=world.buyer, body="Thank you")
    assert [m.to for m in mail.outbox] == [[world.staff.email]]
    # on again: emailed again
    services.set_email_preferences(user=world.buyer, enabled={EmailKind.MESSAGES: True})
    seller_writes(world, body="It is on its way.", at=LATER + H)
    assert OutboundEmail.objects.filter(event="message", recipient=world.buyer).count() == emailed + 1


def test_mails_that_carry_a_deadline_or_a_decision_are_always_sent(django_capture_on_commit_callbacks):
    world = claim_world("escalated")
    with pytest.raises(ClaimError, match="always sent"):
        services.set_email_preferences(user=world.buyer, enabled={EmailKind.MESSAGES: False, EmailKind.ALWAYS: False})
    assert not EmailPreference.objects.filter(user=world.buyer).exists()  # nothing changed, not even messages
    # Even a preference row written past the service changes nothing: the always-sent kind is never looked up.
    EmailPreference.objects.create(user=world.buyer, kind=EmailKind.ALWAYS, enabled=False)
    for kind in (EmailKind.MESSAGES, EmailKind.OFFERS, EmailKind.PROGRESS, EmailKind.SURVEYS):
        EmailPreference.objects.update_or_create(user=world.buyer, kind=kind, defaults={"enabled": False})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), time_machine.travel(LATER, tick=False):
        services.request_info(claim=world.claim, by=world.agent, party="buyer", question="When did it start?")
    assert [m.to for m in mail.outbox] == [[world.buyer.email]]
    assert len(rows(world.buyer, "info_requested")) == 1


def test_an_event_names_no_kind_unless_it_may_be_turned_off():
    assert Event("subject", "intro").kind == EmailKind.ALWAYS  # the default: a new event is always sent
    optional = {name for name, event in EVENTS.items() if event.kind != EmailKind.ALWAYS}
    assert {"message", "offer", "offer_accepted", "offer_declined", "satisfaction"} <= optional
    # everything that carries a deadline, a decision, money or a legal notice
    for name in ("receipt", "opened", "info_requested", "info_missed", "reminder_first_reply", "reminder_resolution",
                 "first_reply_breached", "rejected", "takeover", "decided", "reopened", "resolution", "refund_paid",
                 "refund_failed", "forced_refund", "warranty_limit", "warranty_max", "expert_costs", "sale_notice",
                 "storage_notice", "goods_received", "delivered", "decision_reminder"):
        assert EVENTS[name].kind == EmailKind.ALWAYS, name
    assert {event.kind for event in EVENTS.values()} <= {kind.kind for kind in keeping_up.KINDS}


def test_the_survey_is_listed_once_per_claim_with_its_email_turned_off():
    world = claim_world("in_progress")
    services.set_email_preferences(user=world.buyer, enabled={EmailKind.SURVEYS: False})
    with time_machine.travel(LATER, tick=False):
        services.close(claim=world.claim, by=world.buyer)
        services.send_satisfaction_survey(Claim.objects.get(pk=world.claim.pk))  # as a second resolution would
    assert len(rows(world.buyer, "satisfaction")) == 1
    assert not OutboundEmail.objects.filter(event="satisfaction", recipient=world.buyer).exists()
    assert OutboundEmail.objects.filter(event="satisfaction", recipient=world.staff).count() == 1


def test_the_preferences_page_turns_kinds_off_and_keeps_the_always_sent_kind_on(client):
    user = UserFactory()
    client.force_login(user)
    url = reverse("claims:email_preferences")
    html = html_of(client.get(url))
    for kind in keeping_up.KINDS:
        assert f'id="id_{kind.kind}"' in html and escape(str(kind.label)) in html
    always = re.search(r'<input[^>]*id="id_always"[^>]*>', html).group(0)
    assert "disabled" in always and "checked" in always and 'aria-describedby="id_always_helptext"' in always
    assert "cannot be turned off" in html
    # messages and surveys off (unchecked boxes are not sent), the always-sent kind "off" too: it stays on
    response = client.post(url, {"offers": "on", "progress": "on"})
    assert response.status_code == 302
    assert keeping_up.email_settings(user) == {"messages": False, "offers": True, "progress": True, "surveys": False,
                                               "always": True}
    assert not EmailPreference.objects.filter(user=user, kind=EmailKind.ALWAYS).exists()
    html = html_of(client.get(url))
    assert not re.search(r'<input[^>]*id="id_messages"[^>]*checked', html)
    assert re.search(r'<input[^>]*id="id_offers"[^>]*checked', html)
    assert client.post(url, {"always": ""}).status_code == 302
    assert keeping_up.email_settings(user)["always"] is True


# --- the header's unread count ----------------------------------------------------------------------------------


def unread_badge(html: str) -> str:
    found = re.search(r'Notifications <span class="badge count">([^<]*)<span class="visually-hidden"> unread', html)
    return found.group(1) if found else ""


def test_the_header_counts_the_unread_notifications_up_to_99(client):
    world = claim_world("in_progress")
    client.force_login(world.buyer)
    orders = reverse("orders:list")
    assert unread_badge(html_of(client.get(orders))) == "2"  # the receipt, the seller's first reply
    seller_writes(world)
    assert unread_badge(html_of(client.get(orders))) == "3"
    Notification.objects.bulk_create(Notification(user=world.buyer, event="message", text="x") for _ in range(120))
    assert unread_badge(html_of(client.get(orders))) == "99+"
    services.mark_all_read(user=world.buyer)
    html = html_of(client.get(orders))
    assert unread_badge(html) == "" and ">Notifications</a>" in html


def test_the_unread_count_is_one_query():
    user = UserFactory()
    Notification.objects.bulk_create(Notification(user=user, event="message", text="x") for _ in range(5))
    with CaptureQueriesContext(connection) as queries:
        assert keeping_up.unread(user).count == 5
    assert len(queries) == 1


def test_the_count_is_not_asked_on_pages_that_do_not_show_it(client):
    """The console's pages run the same context processor; they show no header count and pay no query for it."""
    agent = make_agent()
    client.force_login(agent)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:index")).status_code == 200
    assert not any("claims_notification" in q["sql"] for q in queries)


# --- reading them -----------------------------------------------------------------------------------------------


def test_opening_a_claim_reads_its_notifications_and_only_its_own(client):
    world = claim_world("in_progress")
    other = open_defective_claim(order=delivered_order(buyer=world.buyer))
    seller_writes(world)
    client.force_login(world.buyer)
    with time_machine.travel(LATER + H, tick=False):
        html = html_of(client.get(reverse("claims:detail", kwargs={"number": world.claim.number})))
    # the page's own header already leaves out the news it shows; the test client closes the response, which reads it
    assert unread_badge(html) == "1"
    assert not Notification.objects.filter(user=world.buyer, claim=world.claim, read_at__isnull=True).exists()
    assert Notification.objects.get(user=world.buyer, claim=other).read_at is None
    assert keeping_up.unread(world.buyer).count == 1


def test_news_that_came_after_the_page_was_made_stays_unread():
    world = claim_world("in_progress")
    seller_writes(world, at=LATER + H)
    services.mark_seen(claim=world.claim, by=world.buyer, at=LATER)
    assert [n.event for n in Notification.objects.filter(user=world.buyer, read_at__isnull=True)] == ["message"]


def test_the_seller_staff_read_theirs_on_the_seller_claim_page(client):
    world = claim_world("in_progress")
    with time_machine.travel(LATER, tick=False):
        services.post_message(claim=world.claim, by=world.buyer, body="Any news?")
    assert keeping_up.unread(world.staff).count == 2  # the new claim, the message
    client.force_login(world.staff)
    with time_machine.travel(LATER + H, tick=False):
        assert client.get(reverse("sellers:claim", kwargs={"number": world.claim.number})).status_code == 200
    assert keeping_up.unread(world.staff).count == 0


def test_mark_all_as_read_is_a_post(client):
    world = claim_world("in_progress")
    seller_writes(world)
    client.force_login(world.buyer)
    url = reverse("claims:notifications_read")
    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)
    assert "3 notifications marked as read." in html_of(response)
    assert keeping_up.unread(world.buyer).count == 0
    assert "There was nothing unread." in html_of(client.post(url, follow=True))


# --- the list ---------------------------------------------------------------------------------------------------


def test_the_list_shows_the_newest_first_with_the_claim_linked_and_unread_in_words(client):
    world = claim_world("in_progress")
    seller_writes(world)
    services.mark_seen(claim=world.claim, by=world.buyer, at=LATER - H)  # the receipt read, the message not
    client.force_login(world.buyer)
    html = html_of(client.get(reverse("claims:notifications")))
    message = html.index(f"New message on claim {world.claim.number}")
    receipt = html.index(f"We received your claim {world.claim.number}")
    assert message < receipt
    assert html.count('<span class="badge new">Unread</span>') == 1
    assert html.rindex("Unread</span>", 0, message) > html.rfind("<li", 0, message)  # the marker is on the message
    assert f'href="/claims/{world.claim.number}/"' in html and "Mark all as read" in html
    assert "1 unread notification" in html


def test_each_person_follows_the_claim_where_they_work_on_it(client):
    world = claim_world("escalated")
    with time_machine.travel(LATER, tick=False):
        services.assign(claim=world.claim, by=world.agent, agent=world.agent)
        services.request_info(claim=world.claim, by=world.agent, party="seller", question="Tracking please")
        services.provide_info(claim=world.claim, by=world.staff, body="Here it is")
    for user, link in ((world.staff, f"/seller/claims/{world.claim.number}/"),
                       (world.agent, reverse("admin:claims_claim_change", args=[world.claim.pk]))):
        client.force_login(user)
        html = html_of(client.get(reverse("claims:notifications")))
        assert f'href="{link}"' in html, user
        assert f'href="/claims/{world.claim.number}/"' not in html


def test_nobody_sees_another_persons_notifications(client):
    world = claim_world("in_progress")
    other = claim_world("in_progress")  # another buyer, another seller
    seller_writes(world)
    seller_writes(other)
    for user, mine, theirs in ((world.buyer, world.claim, other.claim), (world.staff, world.claim, other.claim),
                               (other.staff, other.claim, world.claim), (world.other_staff, None, world.claim)):
        client.force_login(user)
        html = html_of(client.get(reverse("claims:notifications")))
        assert theirs.number not in html, user
        if mine:
            assert mine.number in html
    # the seller's staff are told of the new claim, never of the buyer's own news (the receipt, the seller's message)
    client.force_login(world.staff)
    html = html_of(client.get(reverse("claims:notifications")))
    assert "We received your claim" not in html and "New message on claim" not in html


def test_the_list_is_paginated_by_25(client):
    user = UserFactory()
    Notification.objects.bulk_create(
        Notification(user=user, event="message", text=f"Line {n:02d}",
                     created_at=OPENED_AT + n * dt.timedelta(minutes=1)) for n in range(30))
    client.force_login(user)
    first = html_of(client.get(reverse("claims:notifications")))
    assert "Line 29" in first and "Line 05" in first and "Line 04" not in first and "Page 1 of 2" in first
    second = html_of(client.get(reverse("claims:notifications") + "?page=2"))
    assert "Line 04" in second and "Line 00" in second and "Line 05" not in second


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_for_3_and_30_rows(client):
    world = claim_world("in_progress")
    others = [claim_world("in_progress") for _ in range(2)]
    client.force_login(world.staff)
    url = reverse("claims:notifications")

    def add(count: int) -> None:
        Notification.objects.filter(user=world.staff).delete()
        Notification.objects.bulk_create(
            Notification(user=world.staff, claim=[world.claim, *(o.claim for o in others)][n % 3], event="message",
                         text=f"News {n}") for n in range(count))

    add(3)
    few = count_queries(client, url)
    add(30)
    assert count_queries(client, url) == few


# --- "My requests" ------------------------------------------------------------------------------------------------


def buyer_with_claims() -> tuple[object, list[Claim]]:
    """A buyer with an open claim in progress, one with the platform and one resolved, opened an hour apart."""
    buyer = UserFactory()
    agent = make_agent()
    claims = []
    for n, state in enumerate(("in_progress", "escalated", "resolved")):
        at = OPENED_AT + n * H
        claim = open_defective_claim(order=delivered_order(buyer=buyer), at=at)
        with time_machine.travel(at + 10 * H, tick=False):
            if state == "escalated":
                services.escalate(claim=claim, by=agent, reason="Seller inaction")
            elif state == "resolved":
                services.close(claim=claim, by=buyer)
        claims.append(Claim.objects.get(pk=claim.pk))
    return buyer, claims


def test_my_requests_lists_the_buyers_claims_latest_activity_first(client):
    buyer, (waiting, escalated, resolved) = buyer_with_claims()
    someone_else = claim_world("in_progress")
    client.force_login(buyer)
    url = reverse("claims:my_claims")
    with time_machine.travel(OPENED_AT + 12 * H, tick=False):
        html = html_of(client.get(url))
    numbers = re.findall(r'<a href="/claims/([^/]+)/">', html)
    assert numbers == [resolved.number, escalated.number, waiting.number]
    assert someone_else.claim.number not in html
    assert "3 requests, latest activity first" in html
    for claim in (waiting, escalated, resolved):
        assert claim.order.number in html
    assert "1 × " in html and "Defective (warranty)" in html and "Waiting for the seller" in html
    assert "The seller has until" in html and "We decide by" in html and "Withdrawn by the buyer" in html
    assert re.search(r'<time datetime="[^"]+">\w{3} \d{1,2} \w{3}, \d\d:\d\d CET</time>', html)  # with moment
    assert html.count('<span class="badge new">New activity</span>') == 3  # none opened yet


def test_my_requests_marks_new_activity_since_the_buyer_last_looked(client):
    buyer, (waiting, escalated, resolved) = buyer_with_claims()
    client.force_login(buyer)
    with time_machine.travel(OPENED_AT + 20 * H, tick=False):
        for claim in (waiting, escalated, resolved):
            client.get(reverse("claims:detail", kwargs={"number": claim.number}))
        assert "New activity" not in html_of(client.get(reverse("claims:my_claims")))
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=waiting.seller)
    with time_machine.travel(OPENED_AT + 21 * H, tick=False):
        services.reply(claim=waiting, by=staff, body="On it.")
        html = html_of(client.get(reverse("claims:my_claims")))
    assert html.count("New activity") == 1
    row = html[html.index(f'<a href="/claims/{waiting.number}/">'):]
    assert row.index("New activity") < row.index("</th>")


@pytest.mark.parametrize("show, expected", [("", 3), ("open", 2), ("resolved", 1), ("nonsense", 3)])
def test_my_requests_filters_open_and_resolved(client, show, expected):
    buyer, claims = buyer_with_claims()
    client.force_login(buyer)
    html = html_of(client.get(reverse("claims:my_claims") + (f"?show={show}" if show else "")))
    numbers = re.findall(r'<a href="/claims/([^/]+)/">', html)
    assert len(numbers) == expected
    if show == "resolved":
        assert numbers == [claims[2].number]
    current = re.search(r'<a href="([^"]*)" aria-current="page">([^<]+)</a>', html)
    assert current.group(2) == {"open": "Open", "resolved": "Resolved"}.get(show, "All")


def test_my_requests_is_paginated_and_costs_the_same_queries_for_3_and_30_claims(client):
    buyer, _claims = buyer_with_claims()
    client.force_login(buyer)
    url = reverse("claims:my_claims")
    now = OPENED_AT + 30 * H
    with time_machine.travel(now, tick=False):
        few = count_queries(client, url)
    for n in range(27):
        open_defective_claim(order=delivered_order(buyer=buyer, items=2), at=OPENED_AT + n * dt.timedelta(minutes=5))
    with time_machine.travel(now, tick=False):
        assert count_queries(client, url) == few
        html = html_of(client.get(url))
        assert "30 requests" in html and "Page 1 of 2" in html
        assert len(re.findall(r'<a href="/claims/([^/]+)/">', html)) == 25


def test_an_empty_list_says_how_to_ask_for_help(client):
    client.force_login(UserFactory())
    assert "choose Get help" in html_of(client.get(reverse("claims:my_claims")))


# --- the header's links -------------------------------------------------------------------------------------------


def header(client, user) -> str:
    client.force_login(user)
    html = html_of(client.get(reverse("claims:notifications")))
    return html[html.index("<header"):html.index("</header>")]


def test_buyer_links_are_for_buyers_only(client):
    world = claim_world("in_progress")
    buyer_header = header(client, world.buyer)
    assert "My orders" in buyer_header and "My requests" in buyer_header and "Notifications" in buyer_header
    staff_header = header(client, world.staff)  # works for a seller, bought nothing
    assert "My orders" not in staff_header and "My requests" not in staff_header
    assert "Seller dashboard" in staff_header and "Notifications" in staff_header
    agent_header = header(client, make_agent())
    assert "My requests" not in agent_header and "My orders" not in agent_header and "Notifications" in agent_header
    OrderFactory(buyer=world.staff)  # seller staff who bought something themselves are buyers too
    assert "My requests" in header(client, world.staff)
    new_buyer = UserFactory()  # nothing bought yet, works for nobody: a buyer to be
    assert "My requests" in header(client, new_buyer)


def test_the_unread_count_reads_only_the_persons_own_rows():
    world = claim_world("in_progress")
    seller_writes(world)
    assert keeping_up.unread(world.other_buyer).count == 0 and keeping_up.unread(world.other_staff).count == 0
    assert keeping_up.unread(world.buyer).count == 3
    Notification.objects.filter(user=world.buyer).update(read_at=timezone.now())
    assert keeping_up.unread(world.buyer).count == 0


@pytest.mark.parametrize("name, data", [("claims:notifications_read", {}),
                                        ("claims:email_preferences", {"offers": "on"})])
def test_the_posts_need_the_csrf_token(name, data):
    world = claim_world("in_progress")
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.buyer)
    url = reverse(name)
    refused = client.post(url, data)
    assert refused.status_code == 403 and b"The form could not be sent" in refused.content  # config.errors.csrf_failure
    assert keeping_up.unread(world.buyer).count == 2 and not EmailPreference.objects.exists()
    token = client.get(reverse("claims:notifications")).cookies["csrftoken"].value
    assert client.post(url, {**data, "csrfmiddlewaretoken": token}).status_code == 302
    assert keeping_up.unread(world.buyer).count == 0 or EmailPreference.objects.filter(user=world.buyer).exists()


def test_a_repeat_after_the_email_was_turned_off_is_not_listed_again():
    world = claim_world("in_progress")
    with time_machine.travel(LATER, tick=False):
        notifications.notify(world.claim, "message", to=["buyer"], key="same")
        services.set_email_preferences(user=world.buyer, enabled={EmailKind.MESSAGES: False})
        notifications.notify(world.claim, "message", to=["buyer"], key="same")
    assert Notification.objects.filter(user=world.buyer, event="message", created_at=LATER).count() == 1


def test_a_repeat_while_the_email_is_off_is_listed_once():
    """No outbox row refuses the repeat then: the notification's own key does."""
    world = claim_world("in_progress")
    services.set_email_preferences(user=world.buyer, enabled={EmailKind.MESSAGES: False})
    with time_machine.travel(LATER, tick=False):
        for _ in range(2):
            notifications.notify(world.claim, "message", to=["buyer"], key="muted")
    assert Notification.objects.filter(user=world.buyer, event="message", created_at=LATER).count() == 1
    assert not OutboundEmail.objects.filter(recipient=world.buyer, dedupe_key__contains=":muted:").exists()

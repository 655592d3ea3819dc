"""The seller's tools of issue 16: a performance period whose name is the one the figures were computed over, charts
of the weeks with their numbers, the claims as CSV, the shop's canned replies (kept by the owner, used by everyone,
filled in for the claim), one way of writing dates with their zone, no buyer links for seller staff, and what a
decided claim costs the seller, the same on the page and in the email."""

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import services
from claims.models import OutboundEmail
from claims.seller import selectors
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from claims.tests.test_seller_performance import NOW, scenario  # noqa: F401 - the figures' scenario, as a fixture
from sellers.models import CannedReply, SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
BERLIN_SUMMER = dt.datetime(2026, 7, 14, 8, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 CEST


def text(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def staff_of(seller, role="staff"):
    user = UserFactory()
    SellerMembership.objects.create(user=user, seller=seller, role=role)
    return user


def count_queries(client, path, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
        assert response.status_code == 200
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    return len(queries)


# --- the period: its name is the period the figures were computed over ----------------------------------------------


def performance_page(client, **params):
    return client.get(reverse("sellers:performance"), params).content.decode()


def test_without_a_choice_the_page_says_30_days_and_shows_the_30_day_figures(client, scenario):  # noqa: F811
    seller, staff = scenario
    client.force_login(staff)
    with time_machine.travel(NOW, tick=False):
        html = performance_page(client)
        figures = selectors.performance(seller, now=NOW)
    assert figures.period == "30" and figures.label == "Last 30 days"
    assert '<option value="30" selected>Last 30 days</option>' in html
    assert 'value="7" selected' not in html  # the old page showed "Last 7 days" over 30 days of figures
    # 30 days before 20 March 10:00 CET: the heading names the period and the moment it starts, with its zone.
    assert "<strong>Last 30 days</strong>: the figures below count from Wed 18 Feb, 10:00 CET until now." in html
    assert "3 of 5" in html and "16 h 0 min" in html  # the 30-day figures (claims.tests.test_seller_performance)


PERIODS = [  # asked for, shown as chosen, its name, from when, the first replies in time of the scenario
    ("7", "7", "Last 7 days", "Fri 13 Mar, 10:00 CET", "0 of 0"),
    ("90", "90", "Last 90 days", "Sat 20 Dec 2025, 10:00 CET", "3 of 5"),
    ("1000", "30", "Last 30 days", "Wed 18 Feb, 10:00 CET", "3 of 5"),  # unknown: the default, and it says so
]


def test_each_period_is_named_as_computed(client, scenario):  # noqa: F811
    _seller, staff = scenario
    client.force_login(staff)
    for asked, shown, label, since, first_replies in PERIODS:
        with time_machine.travel(NOW, tick=False):
            html = performance_page(client, period=asked)
        select = html.split('id="id_period"')[1].split("</select>")[0]
        assert re.findall(r'<option value="([^"]+)" selected>([^<]+)</option>', select) == [(shown, label)]
        assert f"<strong>{label}</strong>: the figures below count from {since} until now." in html
        assert first_replies in html
    with time_machine.travel(NOW, tick=False):
        html = performance_page(client, period="all")
    assert "<strong>All time</strong>: the figures below count every claim since the first." in html


def test_in_summer_the_period_starts_in_summer_time(client):
    seller = SellerFactory()
    staff = staff_of(seller)
    client.force_login(staff)
    with time_machine.travel(BERLIN_SUMMER, tick=False):
        html = performance_page(client, period="7")
    assert "<strong>Last 7 days</strong>: the figures below count from Tue 7 Jul, 10:00 CEST until now." in html


# --- the charts ------------------------------------------------------------------------------------------------------


def test_the_charts_and_their_tables_tell_the_same_numbers_as_the_figures(client, scenario):  # noqa: F811
    seller, staff = scenario
    client.force_login(staff)
    with time_machine.travel(NOW, tick=False):
        html = performance_page(client)
    assert html.count('<svg class="chart-svg"') == 2
    assert '<title id="chart-opened-title">Claims opened per week</title>' in html
    assert '<title id="chart-first-reply-title">Average time to the first reply, per week</title>' in html
    # The weeks of the 30 days, Monday to Sunday in Berlin, newest first: the six claims of the week of 9 March.
    opened = html.split('<caption id="chart-opened-caption">')[1].split("</table>")[0]
    rows = re.findall(r'<th scope="row">([^<]+)</th><td class="numeric">([^<]+)</td>', opened)
    assert rows == [("Week of Mon 16 Mar", "0"), ("Week of Mon 9 Mar", "6"), ("Week of Mon 2 Mar", "0"),
                    ("Week of Mon 23 Feb", "0"), ("Week of Mon 16 Feb", "0"), ("Total", "6")]
    # Four first replies that week (1, 2, 30 and 60 hours): 23 h 15 min on average; the others have none to show.
    replies = html.split('<caption id="chart-first-reply-caption">')[1].split("</table>")[0]
    rows = re.findall(r'<th scope="row">([^<]+)</th><td class="numeric">([^<]+)</td><td class="numeric">([^<]+)</td>',
                      replies)
    assert rows[:2] == [("Week of Mon 16 Mar", "0", "—"), ("Week of Mon 9 Mar", "4", "23 h 15 min")]
    # A week without a first reply is a gap in the line, not a zero: one point (and the legend's marker).
    svg = html.split('aria-labelledby="chart-first-reply-title chart-first-reply-desc"')[1].split("</svg>")[0]
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 2


def test_weeks_are_counted_in_the_marketplace_zone():
    """Sunday 23:30 in Berlin is Sunday 22:30 UTC; Monday 00:30 in Berlin is still Sunday in UTC: each claim counts in
    its Berlin week."""
    seller = SellerFactory()
    sunday_late = dt.datetime(2026, 3, 15, 22, 30, tzinfo=dt.UTC)
    monday_early = dt.datetime(2026, 3, 15, 23, 30, tzinfo=dt.UTC)
    for moment in (sunday_late, monday_early):
        open_defective_claim(at=moment, order=delivered_order(seller=seller))
    figures = selectors.performance(seller, period="30", now=dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC))
    weeks = {week.start: week.opened for week in figures.weeks}
    assert weeks[dt.date(2026, 3, 9)] == 1 and weeks[dt.date(2026, 3, 16)] == 1
    assert sum(weeks.values()) == figures.claims_opened == 2


def test_without_claims_the_charts_say_so_instead_of_drawing_zeros(client):
    staff = staff_of(SellerFactory())
    client.force_login(staff)
    html = performance_page(client)
    assert "No claim was opened in this period." in html and "<svg" not in html


def test_the_performance_page_query_count_does_not_grow_with_claims(client):
    seller = SellerFactory()
    staff = staff_of(seller)
    now = OPENED_AT + 20 * D
    claim = open_defective_claim(at=OPENED_AT, order=delivered_order(seller=seller))
    with time_machine.travel(OPENED_AT + H, tick=False):
        services.reply(claim=claim, by=staff, body="Hello")
    client.force_login(staff)
    with time_machine.travel(now, tick=False):
        one = count_queries(client, reverse("sellers:performance"))
    for n in range(12):  # over several weeks
        at = OPENED_AT - n * 2 * D
        claim = open_defective_claim(at=at, order=delivered_order(seller=seller, delivered_at=at - 3 * D))
        with time_machine.travel(OPENED_AT - n * 2 * D + 3 * H, tick=False):
            services.reply(claim=claim, by=staff, body="Hello")
    with time_machine.travel(now, tick=False):
        assert count_queries(client, reverse("sellers:performance")) == one


# --- the claims as CSV --------------------------------------------------------------------------------------------


@pytest.fixture
def shop():
    """A seller with claims on 10 March (winter time), 2 April (summer time) and 1 May, one of them with an order
    number a spreadsheet would run as a formula; another seller's claim on 10 March."""
    seller = SellerFactory()
    staff = staff_of(seller)
    owner = staff_of(seller, role="owner")
    agent_world = claim_world("escalated")  # an agent to decide with
    march = open_defective_claim(at=OPENED_AT, order=delivered_order(seller=seller, number="=HYPERLINK(\"x\")"))
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        services.reply(claim=march, by=staff, body="Looking into it")
    with time_machine.travel(OPENED_AT + 3 * H, tick=False):
        services.escalate(claim=march, by=agent_world.agent, reason="Seller inaction")
        services.decide(claim=march, by=agent_world.agent, outcome="refund", funded_by="platform")
    april_at, may_at = dt.datetime(2026, 4, 2, 8, 0, tzinfo=dt.UTC), dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    april = open_defective_claim(at=april_at, order=delivered_order(seller=seller, delivered_at=april_at - 3 * D))
    may = open_defective_claim(at=may_at, order=delivered_order(seller=seller, delivered_at=may_at - 3 * D))
    other = open_defective_claim(at=OPENED_AT, order=delivered_order())
    return {"seller": seller, "staff": staff, "owner": owner, "march": march, "april": april, "may": may,
            "other": other, "other_staff": staff_of(other.seller)}


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8" and response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_csv_has_one_row_per_claim_of_the_days_asked_for(client, shop):
    client.force_login(shop["staff"])
    response = client.get(reverse("sellers:claims_csv"), {"from": "2026-03-01", "to": "2026-04-30"})
    assert response["Content-Disposition"] == (
        f'attachment; filename="claims-{shop["seller"].slug}-2026-03-01-2026-04-30.csv"')
    rows = csv_rows(response)
    assert [row["claim"] for row in rows] == [shop["march"].number, shop["april"].number]  # not May, not the other's
    march, april = rows
    assert march == {
        "claim": shop["march"].number, "order": "'=HYPERLINK(\"x\")",  # shown as text, never run
        "opened_at": "2026-03-10T10:00:00+01:00", "reason": "defective", "state": "resolved", "outcome": "refund",
        "amount": "199.00", "currency": "EUR", "funded_by": "platform",
        "first_reply_at": "2026-03-10T12:00:00+01:00", "resolved_at": "2026-03-10T13:00:00+01:00",
    }
    assert april["opened_at"] == "2026-04-02T10:00:00+02:00"  # summer time: its own offset
    assert (april["state"], april["outcome"], april["amount"], april["first_reply_at"]) == (
        "awaiting_seller", "", "", "")


def test_the_days_are_the_marketplaces_and_both_are_included(client, shop):
    client.force_login(shop["owner"])
    rows = csv_rows(client.get(reverse("sellers:claims_csv"), {"from": "2026-04-02", "to": "2026-05-01"}))
    assert [row["claim"] for row in rows] == [shop["april"].number, shop["may"].number]
    rows = csv_rows(client.get(reverse("sellers:claims_csv"), {"from": "2026-04-03", "to": "2026-04-30"}))
    assert rows == []


def test_without_days_the_csv_covers_the_last_30_days(client, shop):
    client.force_login(shop["staff"])
    with time_machine.travel(dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC), tick=False):
        response = client.get(reverse("sellers:claims_csv"))
        assert "2026-04-21-2026-05-20" in response["Content-Disposition"]
        assert [row["claim"] for row in csv_rows(response)] == [shop["may"].number]


@pytest.mark.parametrize(("params", "message"), [
    ({"from": "2026-05-01", "to": "2026-04-01"}, "The first day must not be after the last day."),
    ({"from": "1 May"}, "Enter the first day as a date, like 2026-06-01."),
    ({"to": "2026-13-01"}, "Enter the last day as a date, like 2026-06-30."),
])
def test_days_that_make_no_sense_are_refused_with_the_form(client, shop, params, message):
    client.force_login(shop["staff"])
    response = client.get(reverse("sellers:claims_csv"), params)
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert message in text(response)


def test_the_csv_is_the_sellers_own_claims_only(client, shop):
    client.force_login(shop["other_staff"])
    rows = csv_rows(client.get(reverse("sellers:claims_csv"), {"from": "2026-03-01", "to": "2026-05-31"}))
    assert [row["claim"] for row in rows] == [shop["other"].number]
    response = client.get(reverse("sellers:claims_csv"), {"seller": shop["seller"].slug})
    assert response.status_code == 404  # a seller they do not work for
    client.force_login(shop["march"].buyer)
    assert client.get(reverse("sellers:claims_csv")).status_code == 403


def test_the_csv_query_count_does_not_grow_with_claims(client, shop):
    client.force_login(shop["staff"])
    path, days = reverse("sellers:claims_csv"), {"from": "2026-03-01", "to": "2026-05-31"}
    few = count_queries(client, path, **days)
    for n in range(10):
        open_defective_claim(at=OPENED_AT + n * H, order=delivered_order(seller=shop["seller"]))
    assert count_queries(client, path, **days) == few


def test_the_performance_page_offers_the_csv_for_its_period(client, shop):
    client.force_login(shop["staff"])
    with time_machine.travel(dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC), tick=False):
        html = performance_page(client, period="90")
    form = html.split('<section class="card export"')[1].split("</section>")[0]
    assert f'action="{reverse("sellers:claims_csv")}"' in form and 'method="get"' in form
    assert 'name="from" value="2026-02-19"' in form and 'name="to" value="2026-05-20"' in form
    assert '<label for="id_from">From</label>' in form and '<label for="id_to">To</label>' in form


# --- canned replies ------------------------------------------------------------------------------------------------


@pytest.fixture
def replies_world():
    world = claim_world("awaiting_seller")
    world.owner = staff_of(world.claim.seller, role="owner")
    world.other_owner = staff_of(SellerFactory(), role="owner")
    world.reply = CannedReply.objects.create(
        seller=world.claim.seller, title="Ask for a photo",
        body="Hello {buyer_name}, about claim {claim_number} (order {order_number}): could you send a photo?")
    world.foreign = CannedReply.objects.create(seller=world.other_owner.seller_memberships.get().seller,
                                               title="Theirs", body="Not yours")
    return world


def test_the_owner_adds_changes_and_deletes_a_reply(client, replies_world):
    client.force_login(replies_world.owner)
    seller = replies_world.claim.seller
    add = reverse("sellers:canned_reply_add")
    assert client.get(add).status_code == 200
    response = client.post(add, {"title": "Shipped", "body": "Your order {order_number} is on its way."})
    assert response.status_code == 302 and response["Location"] == (
        f'{reverse("sellers:canned_replies")}?seller={seller.slug}')
    reply = CannedReply.objects.get(seller=seller, title="Shipped")
    assert reply.created_by == replies_world.owner
    edit = reverse("sellers:canned_reply_edit", kwargs={"reply_id": reply.pk})
    assert "Your order {order_number} is on its way." in text(client.get(edit))
    response = client.post(edit, {"title": "Shipped today", "body": "Sent today: {order_number}."})
    assert response.status_code == 302
    reply.refresh_from_db()
    assert (reply.title, reply.body) == ("Shipped today", "Sent today: {order_number}.")
    delete = reverse("sellers:canned_reply_delete", kwargs={"reply_id": reply.pk})
    assert "Delete this reply?" in text(client.get(delete))  # asks first, without JavaScript
    assert CannedReply.objects.filter(pk=reply.pk).exists()
    assert client.post(delete).status_code == 302
    assert not CannedReply.objects.filter(pk=reply.pk).exists()


@pytest.mark.parametrize(("data", "message"), [
    ({"title": "ask for a photo", "body": "Again"}, "You already have a reply with this title."),
    ({"title": "New", "body": "Hi {name}"}, "Unknown variables: {name}. The variables are: {buyer_name}, "
                                            "{claim_number}, {order_number}, {seller_name}, {reason}, {refundable}."),
    ({"title": "", "body": "Hi"}, "Please give the reply a title."),
    ({"title": "New", "body": "   "}, "Please write the reply's text."),
])
def test_a_bad_reply_is_refused_with_its_reason_and_nothing_saved(client, replies_world, data, message):
    client.force_login(replies_world.owner)
    before = list(CannedReply.objects.values_list("pk", "title", "body"))
    response = client.post(reverse("sellers:canned_reply_add"), data)
    assert response.status_code == 400 and message in text(response)
    assert list(CannedReply.objects.values_list("pk", "title", "body")) == before


def test_staff_use_the_replies_the_owner_keeps(client, replies_world):
    client.force_login(replies_world.staff)
    page = client.get(reverse("sellers:canned_replies"))
    assert page.status_code == 200
    html = text(page)
    assert "Ask for a photo" in html and "The shop's owner adds and changes these replies" in html
    assert "Add a reply" not in html and "Edit" not in html and "Not yours" not in html
    edit = reverse("sellers:canned_reply_edit", kwargs={"reply_id": replies_world.reply.pk})
    delete = reverse("sellers:canned_reply_delete", kwargs={"reply_id": replies_world.reply.pk})
    assert client.get(reverse("sellers:canned_reply_add")).status_code == 403
    assert client.post(reverse("sellers:canned_reply_add"), {"title": "X", "body": "Y"}).status_code == 403
    assert client.post(edit, {"title": "X", "body": "Y"}).status_code == 403
    assert client.post(delete).status_code == 403
    replies_world.reply.refresh_from_db()
    assert replies_world.reply.title == "Ask for a photo" and CannedReply.objects.count() == 2


def test_another_sellers_reply_is_not_found(client, replies_world):
    client.force_login(replies_world.other_owner)
    for name in ("canned_reply_edit", "canned_reply_delete"):
        path = reverse(f"sellers:{name}", kwargs={"reply_id": replies_world.reply.pk})
        assert client.get(path).status_code == 404
        assert client.post(path, {"title": "Mine now", "body": "x"}).status_code == 404
    assert CannedReply.objects.get(pk=replies_world.reply.pk).title == "Ask for a photo"
    client.force_login(replies_world.buyer)
    assert client.get(reverse("sellers:canned_replies")).status_code == 403


def test_the_replies_list_query_count_does_not_grow_with_replies(client, replies_world):
    client.force_login(replies_world.owner)
    path = reverse("sellers:canned_replies")
    one = count_queries(client, path)
    for n in range(10):
        CannedReply.objects.create(seller=replies_world.claim.seller, title=f"Reply {n}", body="Hello {buyer_name}")
    assert count_queries(client, path) == one


def test_posting_a_reply_needs_the_csrf_token(replies_world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(replies_world.owner)
    add = reverse("sellers:canned_reply_add")
    assert client.post(add, {"title": "No token", "body": "x"}).status_code == 403
    token = client.get(add).cookies["csrftoken"].value
    assert client.post(add, {"title": "With token", "body": "x", "csrfmiddlewaretoken": token}).status_code == 302
    assert list(CannedReply.objects.filter(title__endswith="token").values_list("title", flat=True)) == ["With token"]


# --- a reply filled in on the claim page ------------------------------------------------------------------------------


def test_a_reply_picked_fills_the_reply_box_with_the_claims_values(client, replies_world):
    claim = replies_world.claim
    client.force_login(replies_world.staff)
    path = reverse("sellers:claim", kwargs={"number": claim.number})
    filled = (f"Hello {claim.order.delivery_name}, about claim {claim.number} (order {claim.order.number}): could "
              f"you send a photo?")
    html = client.get(path).content.decode()
    # The picker next to the box, and the texts it inserts with JavaScript, already filled in by the server.
    assert '<label for="reply-picker">Insert a canned reply</label>' in html
    assert f'<option value="{replies_world.reply.pk}">Ask for a photo</option>' in html and "Theirs" not in html
    data = json.loads(unescape(html.split('id="canned-replies" type="application/json">')[1].split("</script>")[0]))
    assert data == {str(replies_world.reply.pk): filled}
    # Without JavaScript: ?reply=<id> opens the reply box with the same text in it.
    html = client.get(path, {"reply": replies_world.reply.pk}).content.decode()
    box = html.split('name="reply-body"')[1].split("</textarea>")[0]
    assert unescape(box.split(">", 1)[1]).strip() == filled
    assert '<details class="card action" id="action-reply" open>' in html
    # Another seller's reply (or nonsense) fills nothing and breaks nothing.
    for other in (replies_world.foreign.pk, "x"):
        html = client.get(path, {"reply": other}).content.decode()
        assert "Not yours" not in html
        assert unescape(html.split('name="reply-body"')[1].split("</textarea>")[0].split(">", 1)[1]).strip() == ""


def test_the_filled_reply_is_sent_as_edited(client, replies_world):
    client.force_login(replies_world.staff)
    claim = replies_world.claim
    response = client.post(reverse("sellers:reply", kwargs={"number": claim.number}),
                           {"reply-body": f"Hello {claim.order.delivery_name}, thanks!"})
    assert response.status_code == 302
    assert claim.messages.filter(body=f"Hello {claim.order.delivery_name}, thanks!").exists()


# --- dates: one way, with the zone -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("opened", "written"), [
    (OPENED_AT, "Tue 10 Mar, 10:00 CET"),
    (BERLIN_SUMMER, "Tue 14 Jul, 10:00 CEST"),
])
def test_seller_pages_write_moments_with_their_zone(client, opened, written):
    order = delivered_order(delivered_at=opened - 3 * D)
    claim = open_defective_claim(at=opened, order=order)
    staff = staff_of(claim.seller)
    client.force_login(staff)
    with time_machine.travel(opened + H, tick=False):
        queue = text(client.get(reverse("sellers:queue")))
        page = client.get(reverse("sellers:claim", kwargs={"number": claim.number}))
    assert written in queue
    html = page.content.decode()
    assert f"<dt>Opened</dt><dd>{written}</dd>" in html
    assert re.search(rf'<time class="when" datetime="[^"]+">{written}</time>', html)  # the timeline
    for old in ("a.m.", "p.m.", "Mar. ", "March 10, 2026", "July 14, 2026"):
        assert old not in text(page) and old not in queue


def test_the_first_reply_deadline_is_written_with_its_zone(client):
    claim = open_defective_claim(at=OPENED_AT)
    client.force_login(staff_of(claim.seller))
    with time_machine.travel(OPENED_AT + H, tick=False):
        page = text(client.get(reverse("sellers:claim", kwargs={"number": claim.number})))
    assert "Please reply by Thu 12 Mar, 10:00 CET, the deadline for your first reply." in page


def test_statements_write_days_and_moments_the_same_way(client, shop):
    client.force_login(shop["staff"])
    with time_machine.travel(dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC), tick=False):
        html = text(client.get(reverse("sellers:statements")))
        sheet = text(client.get(reverse("sellers:statement", kwargs={"month": "2026-03"})))
    assert "Tue 10 Mar, 13:00 CET" in html  # the recovery of the March claim, on the ledger
    assert "From Sun 1 Mar to Tue 31 Mar" in sheet and "Tue 10 Mar, 13:00 CET" in sheet


# --- the buyer's links are for buyers -------------------------------------------------------------------------------


def test_seller_staff_see_no_buyer_links_unless_they_bought_something(client):
    order = delivered_order()
    staff = staff_of(order.seller)
    client.force_login(staff)
    header = client.get(reverse("sellers:queue")).content.decode().split("</header>")[0]
    assert reverse("orders:list") not in header and "My orders" not in header
    assert "Seller dashboard" in header
    delivered_order(buyer=staff)  # staff who shop on the marketplace are buyers too
    header = client.get(reverse("sellers:queue")).content.decode().split("</header>")[0]
    assert "My orders" in header
    client.force_login(order.buyer)
    header = client.get(reverse("orders:list")).content.decode().split("</header>")[0]
    assert "My orders" in header and "Seller dashboard" not in header


# --- what a decided claim costs the seller --------------------------------------------------------------------------


def decided(outcome="refund", **decision):
    world = claim_world("escalated")
    with time_machine.travel(OPENED_AT + 2 * D, tick=False):
        services.decide(claim=world.claim, by=world.agent, outcome=outcome, **decision)
    world.refresh()
    return world


def seller_page(client, world) -> str:
    client.force_login(world.staff)
    with time_machine.travel(OPENED_AT + 3 * D, tick=False):
        return text(client.get(reverse("sellers:claim", kwargs={"number": world.claim.number})))


def decided_email(world) -> str:
    email = OutboundEmail.objects.get(event="decided", claim=world.claim, recipient=world.staff)
    return " ".join(email.body_text.split())


def test_a_refund_the_platform_pays_and_recovers_says_what_is_owed_and_when(client):
    world = decided(funded_by="platform")
    owed = ("You owe €199.00 for this claim: the platform paid the buyer in your place and recovers the amount "
            "from your payouts. It was added to your balance on Thu 12 Mar (your statement for March 2026).")
    page = seller_page(client, world)
    assert "What this claim costs you" in page and owed in page
    assert owed in decided_email(world)  # the same sentence, from the same function
    html = client.get(reverse("sellers:claim", kwargs={"number": world.claim.number})).content.decode()
    statement = reverse("sellers:statement", kwargs={"month": "2026-03"})
    assert f'href="{statement}?seller={world.claim.seller.slug}"' in html
    assert world.claim.seller.ledger_balance() == Decimal("199.00")


def test_a_refund_the_seller_pays_says_so_and_when_it_was_paid_out(client):
    world = decided(funded_by="seller")
    owed = "You owe €199.00 for this claim: the buyer's refund, deducted from your payouts when it is paid out."
    assert owed in seller_page(client, world) and owed in decided_email(world)
    with time_machine.travel(OPENED_AT + 4 * D, tick=False):
        services.mark_refund_paid(refund=world.claim.refunds.get(), reference="PAY-1", by=None)
    with time_machine.travel(OPENED_AT + 5 * D, tick=False):
        client.force_login(world.staff)
        page = text(client.get(reverse("sellers:claim", kwargs={"number": world.claim.number})))
    assert ("You paid €199.00 for this claim: the buyer's refund, paid out on Sat 14 Mar and deducted from your "
            "payouts (your statement for March 2026).") in page


def test_a_refund_the_platform_bears_costs_the_seller_nothing(client):
    world = decided(funded_by="platform", recover_from_seller=False)
    owed = "The platform pays the buyer and bears the cost; you owe nothing for this claim."
    assert owed in seller_page(client, world) and owed in decided_email(world)


def test_a_denial_costs_nothing_and_says_nothing_about_money(client):
    world = decided(outcome="denied", denial_reason="normal_wear")
    page = seller_page(client, world)
    assert "What this claim costs you" not in page and "You owe" not in page


def test_a_refund_waiting_for_the_item_says_what_will_be_owed_once_it_is_back(client):
    world = decided(funded_by="platform", needs_return=True)
    assert world.claim.state == "awaiting_return"
    owed = ("You will owe €199.00 for this claim once the item is back with you: the platform then pays the buyer "
            "in your place and recovers the amount from your payouts.")
    assert owed in seller_page(client, world) and owed in decided_email(world)
    assert world.claim.seller.ledger_balance() == Decimal("0.00")  # nothing booked before the item is back

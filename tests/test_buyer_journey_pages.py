"""Issue 16, the buyer's journey pages, with the clock controlled:
- eligibility up front: the order page and Get help say, per item, which reasons can be used now, from when, or why
  not, in the words open_claim refuses with (one source: claims.eligibility.reason_status); an item with an open claim
  links to it; Get help offers only what is possible now and refuses the rest when posted anyway;
- a bad file is named at its own field; the defect's date is asked for a defect only;
- the claim page leads with what to do now (the question asked, then the answer form), then the facts, then the
  timeline, each moment once; the buyer's escalation reason reaches the seller; the escalation rule is said in the
  words of the button's state.
"""

import datetime as dt
import html as html_lib
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import strip_tags

from claims import services
from claims.models import Claim
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim, photo
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
D = dt.date


def berlin(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN).astimezone(dt.UTC)


def text(fragment: str) -> str:
    return " ".join(html_lib.unescape(strip_tags(fragment)).split())


def reason_line(page: str, reason: str, *, item=None) -> str:
    """The words of one reason's line (claims/_reason_statuses.html), in the item's own part of the page."""
    if item is not None:
        page = page[page.index(f'id="item-{item.pk}"'):]
    match = re.search(rf'<li class="reason [^"]*" data-reason="{reason}">(.*?)</li>', page, re.S)
    assert match, f"no line for {reason}"
    return text(match.group(1))


def offered_reasons(page: str) -> list[str]:
    return re.findall(r'<input type="radio" name="reason" value="([a-z_]+)"', page)


def get(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def order_url(order) -> str:
    return reverse("orders:detail", kwargs={"number": order.number})


def help_url(order) -> str:
    return reverse("claims:get_help", kwargs={"number": order.number})


def claim_url(claim) -> str:
    return reverse("claims:detail", kwargs={"number": claim.number})


def help_post(client, order, **data):
    payload = {"items": [str(order.items.first().pk)], "description": "It is not right.", "desired_outcome": "refund"}
    payload.update(data)
    return client.post(help_url(order), payload)


# --- eligibility up front: the order page and Get help ------------------------------------------------------------


@pytest.fixture
def christmas_order():
    """Expected on Wednesday 23 December 2026, not delivered: the three business days' buffer runs over Christmas
    (Friday 25 and Saturday 26 are public holidays in Germany, then a Sunday): Thursday 24, Monday 28, Tuesday 29."""
    order = OrderFactory(placed_at=dt.datetime(2026, 12, 14, 9, tzinfo=dt.UTC), ship_by=D(2026, 12, 18),
                         estimated_delivery=D(2026, 12, 23))
    OrderItemFactory(order=order, title="Winter jacket")
    ShipmentFactory(order=order, shipped_at=dt.datetime(2026, 12, 18, 10, tzinfo=dt.UTC),
                    confirmed_at=dt.datetime(2026, 12, 18, 10, tzinfo=dt.UTC))
    return order


def test_not_received_can_be_reported_from_the_day_after_the_buffer_over_christmas(client, christmas_order):
    order = christmas_order
    item = order.items.get()
    with time_machine.travel(berlin(D(2026, 12, 29), 23, 59), tick=False):
        client.force_login(order.buyer)
        page = get(client, order_url(order))
        assert reason_line(page, "not_received", item=item).startswith("Item not received: from Wed 30 Dec")
        # no delivery yet: the warranty and the trial have not started, said in open_claim's words
        assert "We have no delivery recorded for this order yet" in reason_line(page, "defective", item=item)
        assert "trial starts when you receive the item" in reason_line(page, "trial_return", item=item)
        help_page = get(client, help_url(order))
        assert offered_reasons(help_page) == ["wrong_item", "not_as_described"]
        assert "id_discovered_on" not in help_page  # no defect can be reported: its date is not asked
        refused = help_post(client, order, reason="not_received")
        assert refused.status_code == 400
        assert "you can report it from Wed 30 Dec" in refused.content.decode()
        assert not Claim.objects.exists()

    with time_machine.travel(berlin(D(2026, 12, 30), 0, 0), tick=False):
        page = get(client, order_url(order))
        # the window's last day: 100 days after the expected delivery
        assert reason_line(page, "not_received", item=item) == ("Item not received: you can report it now, until "
                                                                 "Fri 2 Apr 2027")
        assert "not_received" in offered_reasons(get(client, help_url(order)))
        opened = help_post(client, order, reason="not_received")
    assert opened.status_code == 302
    assert Claim.objects.get().reason == "not_received"


def test_the_trial_return_on_its_last_day_and_the_day_after(client):
    order = delivered_order(delivered_at=dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC))  # received Thu 5 March
    item = order.items.get()
    last_day = D(2026, 3, 5) + dt.timedelta(days=order.seller.trial_days)
    client.force_login(order.buyer)
    with time_machine.travel(berlin(last_day, 23, 59), tick=False):
        page = get(client, order_url(order))
        assert reason_line(page, "trial_return", item=item) == (
            f"Trial return: you can report it now, until {last_day:%a} {last_day.day} {last_day:%b}")
        assert "trial_return" in offered_reasons(get(client, help_url(order)))

    with time_machine.travel(berlin(last_day + dt.timedelta(days=1), 0, 0), tick=False):
        page = get(client, order_url(order))
        line = reason_line(page, "trial_return", item=item)
        assert line.startswith("Trial return: not possible. The trial period of")
        help_page = get(client, help_url(order))
        assert "trial_return" not in offered_reasons(help_page)
        assert offered_reasons(help_page) == ["wrong_item", "not_as_described", "defective"]
        refused = help_post(client, order, reason="trial_return")
        # the refusal is the line the order page showed, at the reason itself, not among the claim's refusals
        assert refused.status_code == 400
        body = refused.content.decode()
        assert line.removeprefix("Trial return: not possible. ") in text(body)
        assert "We can't open this claim yet" not in body
        # open_claim refuses with the same sentence: one source
        with pytest.raises(ValidationError) as refusal:
            services.open_claim(order=order, buyer=order.buyer, reason="trial_return", description="Not for me",
                                desired_outcome="refund")
        assert " ".join(refusal.value.messages) == line.removeprefix("Trial return: not possible. ")
    assert not Claim.objects.exists()


def test_an_item_with_an_open_claim_links_to_it_and_cannot_be_chosen(client):
    order = delivered_order(items=2)
    claimed, other = order.items.all()
    claim = open_defective_claim(order=order, items=[claimed])
    client.force_login(order.buyer)
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=1), tick=False):
        page = get(client, order_url(order))
        claimed_part = page[page.index(f'id="item-{claimed.pk}"'):page.index(f'id="item-{other.pk}"')]
        assert f'<a href="{claim_url(claim)}">Claim {claim.number} is open</a>' in claimed_part
        assert "Get help with" not in claimed_part and 'data-reason="' not in claimed_part
        assert f"{help_url(order)}?item={other.pk}" in page

        help_page = get(client, help_url(order))
        start = help_page.index('id="up-front"')
        up_front = help_page[start:help_page.index("</div>", start)]
        assert f"Claim {claim.number} is open for “{claimed.title}”" in text(up_front)
        assert f'name="items" value="{claimed.pk}"' not in help_page
        assert f'name="items" value="{other.pk}"' in help_page
        # the order page's link for one item chooses it
        assert re.search(rf'name="items" value="{other.pk}"[^>]*checked',
                         get(client, f"{help_url(order)}?item={other.pk}"))

        refused = help_post(client, order, items=[str(claimed.pk)], reason="defective", desired_outcome="repair",
                            discovered_on="2026-03-09", photos=[photo()])
    assert refused.status_code == 400
    assert f"Claim {claim.number} is already open for “{claimed.title}”" in text(refused.content.decode())
    assert Claim.objects.count() == 1


def test_get_help_refuses_a_reason_not_usable_now_at_the_reason(client):
    order = delivered_order()  # delivered to the order's address on 5 March
    client.force_login(order.buyer)
    with time_machine.travel(OPENED_AT, tick=False):
        help_page = get(client, help_url(order))
        assert offered_reasons(help_page) == ["wrong_item", "not_as_described", "defective", "trial_return"]
        # the page's script learns why each offered reason is refused for an item: here nothing is
        assert '<script id="reason-refusals" type="application/json">' in help_page
        refused = help_post(client, order, reason="not_received")
    body = refused.content.decode()
    assert refused.status_code == 400
    reason_part = body[body.index("<legend>What went wrong?</legend>"):]
    assert "tracking shows this order was delivered to your address" in text(reason_part[:reason_part.index(
        "</ul>")])
    assert not Claim.objects.exists()


def test_the_defect_date_is_asked_and_kept_for_a_defect_only(client):
    order = delivered_order()
    client.force_login(order.buyer)
    with time_machine.travel(OPENED_AT, tick=False):
        help_page = get(client, help_url(order))
        assert re.search(r'<div class="field" data-show-for="defective">\s*<label for="id_discovered_on">', help_page)
        response = help_post(client, order, reason="trial_return", discovered_on="2026-03-09")
    assert response.status_code == 302
    assert Claim.objects.get().discovered_on is None


def test_a_bad_file_is_named_at_its_own_field(client):
    order = delivered_order()
    client.force_login(order.buyer)
    bad = SimpleUploadedFile("receipt.jpg", b"<html>not an image</html>", content_type="image/jpeg")
    with time_machine.travel(OPENED_AT, tick=False):
        response = help_post(client, order, reason="defective", desired_outcome="repair", discovered_on="2026-03-09",
                             photos=[photo(), bad])
    body = response.content.decode()
    assert response.status_code == 400
    photos_field = body[body.index('<label for="id_photos">'):body.index('<label for="id_video">')]
    assert "This file cannot be used: “receipt.jpg” is not a file we accept" in text(photos_field)
    assert "We can't open this claim yet" not in body
    assert not Claim.objects.exists()


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_order_page_and_get_help_query_counts_do_not_grow_with_items(client):
    buyer = UserFactory()
    small = delivered_order(buyer=buyer)
    large = delivered_order(buyer=buyer, items=8)
    open_defective_claim(order=large, items=list(large.items.all()[:3]))
    client.force_login(buyer)
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=1), tick=False):
        for url in (order_url, help_url):
            assert count_queries(client, url(large)) == count_queries(client, url(small)), url.__name__


# --- the claim page: what to do now, the timeline, the escalation ---------------------------------------------------


def test_the_claim_page_leads_with_the_question_then_the_facts_then_the_timeline(client):
    world = claim_world("awaiting_info")  # the platform asked the buyer "When did it start?"
    client.force_login(world.buyer)
    page = get(client, claim_url(world.claim))
    order = [page.index('<p class="deadline'), page.index('id="what-now-title"'), page.index("When did it start?"),
             page.index('name="info-body"'), page.index('id="about-title"'), page.index('id="timeline-title"')]
    assert order == sorted(order)
    assert "Nothing is needed from you now" not in page
    timeline = page[page.index('<ol class="timeline">'):page.index("</ol>", page.index('<ol class="timeline">'))]
    assert timeline.count("When did it start?") == 1  # the event carries the question once


def test_with_nothing_to_do_the_page_says_what_happens_next_and_by_when(client):
    world = claim_world("awaiting_seller")
    client.force_login(world.buyer)
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
        page = get(client, claim_url(world.claim))
    what_now = text(page[page.index('id="what-now"'):page.index("</section>", page.index('id="what-now"'))])
    assert ("Nothing is needed from you now. The seller answers your claim by Thu 12 Mar, 10:00 CET." in what_now)


def test_each_timeline_event_once_on_both_pages(client):
    world = claim_world("in_progress")
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=3), tick=False):
        services.reject(claim=world.claim, by=world.staff, code="buyer_damage", body="The damage comes from a drop.",
                        evidence=[photo("drop.jpg")])
    pages = {"buyer": (world.buyer, claim_url(world.claim)),
             "seller": (world.staff, reverse("sellers:claim", kwargs={"number": world.claim.number}))}
    for who, (user, url) in pages.items():
        client.force_login(user)
        page = get(client, url)
        timeline = page[page.index('<ol class="timeline">'):page.index("</ol>", page.index('<ol class="timeline">'))]
        entries = re.findall(r"<li>.*?</li>\s*(?=<li>|$)", timeline + "<li>", re.S)
        rejection = [entry for entry in entries if "The damage comes from a drop." in entry]
        assert len(rejection) == 1, who
        assert "The seller rejected the claim" in rejection[0]  # the event, with the evidence it posted
        evidence = world.claim.evidence.get(original_name="drop.jpg")
        assert reverse("claims:evidence", kwargs={"pk": evidence.pk}) in rejection[0], who


def test_a_decisions_note_is_shown_once_with_the_decision(client):
    world = claim_world("escalated")
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=5), tick=False):
        services.decide(claim=world.claim, by=world.agent, outcome="refund", funded_by="seller",
                        note="Refunded in full: the seller's photos show the same fault.")
    for user, url in ((world.buyer, claim_url(world.claim)),
                      (world.staff, reverse("sellers:claim", kwargs={"number": world.claim.number}))):
        client.force_login(user)
        page = get(client, url)
        timeline = page[page.index('<ol class="timeline">'):page.index("</ol>", page.index('<ol class="timeline">'))]
        assert timeline.count("Refunded in full: the seller&#x27;s photos show the same fault.") == 1


def test_the_buyers_escalation_reason_reaches_the_seller(client, django_capture_on_commit_callbacks):
    world = claim_world("in_progress")
    reason = "The seller stopped answering my messages."
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=49), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        services.escalate(claim=world.claim, by=world.buyer, reason=reason)
    client.force_login(world.buyer)
    buyer_page = text(get(client, claim_url(world.claim)))
    assert f"You asked us to step in: {reason}" in buyer_page
    assert f"Your reason: {reason}" in buyer_page  # the timeline's entry
    client.force_login(world.staff)
    seller_page = text(get(client, reverse("sellers:claim", kwargs={"number": world.claim.number})))
    assert f"The buyer asked the platform to step in: {reason}" in seller_page
    assert f"The buyer's reason: {reason}" in seller_page
    [to_seller] = [m for m in mail.outbox if m.to == [world.staff.email] and "now with the platform" in m.subject]
    assert f"The buyer's reason: {reason}" in to_seller.body
    [to_buyer] = [m for m in mail.outbox if m.to == [world.buyer.email] and "now with the platform" in m.subject]
    assert f"Your reason: {reason}" in to_buyer.body


def test_an_agents_reasons_for_escalating_stay_in_the_console(client):
    world = claim_world("escalated")  # an agent escalated with "Seller inaction"
    client.force_login(world.staff)
    assert "Seller inaction" not in get(client, reverse("sellers:claim", kwargs={"number": world.claim.number}))
    client.force_login(world.buyer)
    assert "Seller inaction" not in get(client, claim_url(world.claim))


def test_the_escalation_rule_is_said_in_the_words_of_the_buttons_state(client):
    world = claim_world("in_progress")
    client.force_login(world.buyer)
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
        page = get(client, claim_url(world.claim))
        words = text(page)
        assert "You can ask us to step in from Thu 12 Mar, 10:00 CET" in words
        assert '<button type="button" disabled aria-describedby="escalate-why">' in page
        # never "you can ask us to step in" without its moment while the button waits
        assert not re.search(r"ask us to step in(?! from)", words, re.I)
        refused = client.post(reverse("claims:escalate", kwargs={"number": world.claim.number}), follow=True)
        assert "You can ask us to step in from Thu 12 Mar, 10:00 CET" in text(refused.content.decode())
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=48), tick=False):
        page = get(client, claim_url(world.claim))
        assert 'action="' + reverse("claims:escalate", kwargs={"number": world.claim.number}) + '"' in page
        assert "You can ask us to step in from" not in text(page)

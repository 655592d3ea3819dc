"""The seller's tools in a real browser, on a desktop and at 390 px: the owner switches the performance period (the
selector, the heading and the figures move together), sees the two charts with their numbers, downloads the claims
as CSV, writes a canned reply and inserts it into the reply to a buyer, filled in for that claim (in place with
JavaScript, by reloading the page without it). axe-core on the performance page, the replies and the claim page."""

import csv
import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from claims import services
from claims.tests.factories import delivered_order, open_defective_claim
from sellers.models import CannedReply, SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory
from tests.browser.conftest import assert_accessible, log_in

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def shop():
    """A seller whose owner answered claims over the last two months, and a claim waiting for its first reply."""
    seller = SellerFactory(display_name="Phone Corner")
    owner = UserFactory(username="corner-owner")
    SellerMembership.objects.create(user=owner, seller=seller, role="owner")
    now = timezone.now()
    for days_ago, hours in ((50, 5), (40, 30), (20, 2), (12, 60), (3, 1)):
        opened = now - dt.timedelta(days=days_ago)
        claim = open_defective_claim(at=opened, order=delivered_order(seller=seller,
                                                                      delivered_at=opened - dt.timedelta(days=3)))
        with time_machine.travel(opened + dt.timedelta(hours=hours), tick=False):
            services.reply(claim=claim, by=owner, body="We are on it.")
    waiting = open_defective_claim(at=now - dt.timedelta(hours=2),
                                   order=delivered_order(seller=seller, delivered_at=now - dt.timedelta(days=4)))
    return seller, owner, waiting


def fits_the_phone(page, name):
    """Accessible at 390 px and nothing wider than the phone's screen; with SCREENSHOTS_DIR set, both widths saved."""
    target = os.environ.get("SCREENSHOTS_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways on a phone ({width}px)"
    assert_accessible(page, f"{name} (390 px)")
    if target:
        page.screenshot(path=str(Path(target) / f"{name}-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_the_seller_switches_the_period_sees_the_charts_and_downloads_the_csv(page, shop):
    seller, owner, _waiting = shop
    log_in(page, owner)
    page.goto("/seller/performance/")
    assert page.locator("#id_period").input_value() == "30"
    assert page.locator("#period-note strong").inner_text() == "Last 30 days"
    assert page.locator("svg.chart-svg").count() == 2
    opened = page.locator("#chart-opened-caption").locator("xpath=..")
    assert opened.locator("tfoot td").inner_text() == "4"  # 20, 12 and 3 days ago, and the one waiting
    assert_accessible(page, "performance (desktop)")
    fits_the_phone(page, "performance")

    page.select_option("#id_period", "90")
    page.click("form.period button[type=submit]")
    page.wait_for_url("**period=90**")
    assert page.locator("#id_period").input_value() == "90"
    assert page.locator("#period-note strong").inner_text() == "Last 90 days"
    assert opened.locator("tfoot td").inner_text() == "6"  # every claim of the shop
    # The form of the CSV shows the period's days; the file has one row per claim of those days.
    today = timezone.localdate()
    assert page.locator("#id_to").input_value() == today.isoformat()
    with page.expect_download() as download:
        page.click("section.export button[type=submit]")
    body = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 6 and {row["reason"] for row in rows} == {"defective"}
    assert download.value.suggested_filename == (
        f"claims-{seller.slug}-{page.locator('#id_from').input_value()}-{today.isoformat()}.csv")
    # Days that make no sense: the page again, saying why.
    page.fill("#id_from", (today + dt.timedelta(days=2)).isoformat())
    page.click("section.export button[type=submit]")
    assert "The first day must not be after the last day." in page.locator("#form-errors").inner_text()


def test_the_owner_writes_a_canned_reply_and_inserts_it_into_a_reply(page, shop):
    seller, owner, waiting = shop
    log_in(page, owner)
    page.goto("/seller/")
    page.click("nav.tabs >> text=Replies")
    page.wait_for_url("**/seller/replies/**")
    assert_accessible(page, "canned replies, none yet (desktop)")
    page.click("text=Add a reply")
    page.fill("#id_title", "Ask for a photo")
    page.fill("#id_body", "Hello {buyer_name}, could you send a photo for claim {claim_number}?")
    assert_accessible(page, "add a canned reply (desktop)")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/seller/replies/**")
    assert "Ask for a photo" in page.locator("main").inner_text()
    assert CannedReply.objects.filter(seller=seller, title="Ask for a photo").exists()
    assert_accessible(page, "canned replies (desktop)")
    fits_the_phone(page, "canned replies")

    filled = f"Hello {waiting.order.delivery_name}, could you send a photo for claim {waiting.number}?"
    page.goto(f"/seller/claims/{waiting.number}/")
    box = page.locator("#id_reply-body")
    box.fill("Thanks for your patience.")
    page.select_option("#reply-picker", label="Ask for a photo")
    page.click("form.reply-picker button[type=submit]")
    # Waits for the script's fetch (the page's CSP allows no string evaluation: no wait_for_function here).
    expect(box).to_have_value(f"Thanks for your patience.\n\n{filled}")  # added after what was typed
    assert "reply=" not in page.url  # in place: nothing reloaded, nothing typed lost
    expect(page.locator("[data-picker-status]")).to_have_text(re.compile(r"\S"))  # announced
    assert_accessible(page, "claim page with the picker (desktop)")
    fits_the_phone(page, "claim page with the picker")
    page.click("#action-reply form[method=post] button[type=submit]")
    page.wait_for_selector("text=Your message was sent to the buyer.")
    sent = waiting.messages.get()
    assert sent.body.replace("\r\n", "\n") == f"Thanks for your patience.\n\n{filled}"  # forms send CRLF


def test_without_javascript_the_picker_reloads_the_page_with_the_reply_filled_in(browser, live_server, shop):
    _seller, owner, waiting = shop
    CannedReply.objects.create(seller=waiting.seller, title="Order number", body="Your order {order_number}.")
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, owner)
        page.goto(f"/seller/claims/{waiting.number}/")
        page.select_option("#reply-picker", label="Order number")
        page.click("form.reply-picker button[type=submit]")
        page.wait_for_url("**reply=**")
        assert page.locator("#id_reply-body").input_value() == f"Your order {waiting.order.number}."
        assert page.locator("#action-reply").get_attribute("open") is not None
    finally:
        context.close()

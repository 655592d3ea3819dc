"""Eligibility up front in a real browser, on a desktop and on a phone (390 px): the order page says per item what can
be reported now (and links the claim already open on an item), Get help offers only those reasons and switches off a
reason the chosen items cannot use, the defect's date shows for a defect only, and the claim page opens with what to
do now. axe-core checks the order page, Get help and the claim page."""

import datetime as dt

import pytest
from django.utils import timezone

from claims import services
from claims.models import Claim
from claims.tests.factories import delivered_order, photo
from orders.tests.factories import OrderItemFactory
from tests.browser.conftest import assert_accessible, log_in

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"desktop": {"width": 1200, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("device", list(WIDTHS))
def test_the_buyer_sees_what_is_possible_before_filling_anything(browser, live_server, device):
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=5), items=2,
                            estimated_delivery=timezone.localdate() - dt.timedelta(days=5))
    claimed, jacket = order.items.all()
    licence = OrderItemFactory(order=order, title="Photo editor licence", is_digital=True)
    open_claim = services.open_claim(order=order, buyer=order.buyer, reason="defective", items=[claimed],
                                     description="It rattles.", desired_outcome="repair",
                                     discovered_on=timezone.localdate(), evidence=[photo()])
    context = browser.new_context(viewport=WIDTHS[device], base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, order.buyer)
        page.goto(f"/orders/{order.number}/")
        # the claimed item links to its claim instead of offering help
        claimed_part = page.locator(f"#item-{claimed.pk}")
        assert f"Claim {open_claim.number} is open" in claimed_part.inner_text()
        assert claimed_part.locator("li.reason").count() == 0
        jacket_part = page.locator(f"#item-{jacket.pk}")
        assert "Item not received: not possible" in jacket_part.inner_text()
        assert "Trial return: you can report it now, until" in jacket_part.inner_text()
        assert "Trial return: not possible" in page.locator(f"#item-{licence.pk}").inner_text()
        assert_no_sideways_scroll(page, device)
        assert_accessible(page, f"order page ({device})")

        jacket_part.get_by_role("link", name=f"Get help with “{jacket.title}”").click()
        page.wait_for_url("**/help/?item=*")
        assert f"Claim {open_claim.number} is open for “{claimed.title}”" in page.locator("#up-front").inner_text()
        assert page.locator(f"input[name=items][value='{claimed.pk}']").count() == 0
        assert page.locator(f"input[name=items][value='{jacket.pk}']").is_checked()
        # offered: what one of the items can use now (the licence, never delivered by parcel, can be "not received")
        offered = page.locator("input[name=reason]").evaluate_all("radios => radios.map(r => r.value)")
        assert offered == ["not_received", "wrong_item", "not_as_described", "defective", "trial_return"]
        # ... but the chosen jacket was delivered: "not received" is off for it, saying why
        not_received = page.locator("input[name=reason][value=not_received]")
        assert not_received.is_disabled()
        why = page.locator(f"#{not_received.get_attribute('id')}-not-now").inner_text()
        assert "tracking shows this order was delivered to your address" in why
        assert_no_sideways_scroll(page, device)
        assert_accessible(page, f"get help ({device})")

        # the digital licence cannot be returned on trial: choosing it switches the trial off, saying why
        trial = page.locator("input[name=reason][value=trial_return]")
        page.check(f"input[name=items][value='{licence.pk}']")
        assert trial.is_disabled()
        assert "physical products only" in page.locator(f"#{trial.get_attribute('id')}-not-now").inner_text()
        page.uncheck(f"input[name=items][value='{licence.pk}']")
        assert trial.is_enabled()

        # the defect's date is asked for a defect only
        assert not page.locator("#id_discovered_on").is_visible()
        page.check("input[name=reason][value=defective]")
        assert page.locator("#id_discovered_on").is_visible()
        trial.check()
        assert not page.locator("#id_discovered_on").is_visible()

        page.fill("#id_description", "It is not for me after all.")
        page.check("input[name=desired_outcome][value=refund]")
        page.click("form[data-get-help] button[type=submit]")
        page.wait_for_selector("#what-now-title")
        claim = Claim.objects.exclude(pk=open_claim.pk).get()
        assert claim.reason == "trial_return" and claim.discovered_on is None
        # the claim page leads with what to do now, right after the status and the deadline
        assert page.locator("main h2").first.inner_text() == "What to do now"
        assert "Nothing is needed from you now." in page.locator("#what-now").inner_text()
        assert_no_sideways_scroll(page, device)
        assert_accessible(page, f"claim page ({device})")
    finally:
        context.close()


def assert_no_sideways_scroll(page, device):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTHS[device]["width"], f"the page scrolls sideways ({width}px)"

"""The console's claim page built for work, and lists that fit (issue 15), in a real browser: at 1280×800 the
conversation and the Decide button are in the first screen and a typical escalated claim is under two screens tall;
a thumbnail opens the full image in a dialog that Escape closes; a phone shows one column without sideways scrolling;
the claim list and the escalated queue fit 1280 px and tell buyers apart by name."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from claims import services
from claims.models import Claim
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import delivered_order, photo
from claims.tests.media import video
from core.console import mask_email
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory
from tests.browser.conftest import assert_accessible, log_in

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def an_escalated_case() -> tuple[Claim, object]:
    """A claim as agents meet it: photos and a video from the buyer, a seller's answer with a photo, the buyer's
    reply, an escalation, an internal note and a question from support; assigned to the agent."""
    start = timezone.now() - dt.timedelta(days=4)
    buyer = UserFactory(first_name="Anna", last_name="Becker")
    order = delivered_order(delivered_at=start - dt.timedelta(days=6), buyer=buyer)
    staff = UserFactory(first_name="Sophie", last_name="Wagner")
    SellerMembership.objects.create(user=staff, seller=order.seller, role="staff")
    agent = make_console_agent(first_name="Julia", last_name="Neumann")
    clip = video("clip.mp4", seconds=2, size=(160, 120))

    def at(hours: float):  # noqa: ANN202
        return time_machine.travel(start + dt.timedelta(hours=hours), tick=False)

    with at(0):
        claim = services.open_claim(
            order=order, buyer=buyer, reason="defective", desired_outcome="repair", discovered_on=start.date(),
            description="The screen flickers and goes black after a few minutes, also on battery.",
            evidence=[photo("front.jpg", size=(640, 480)), photo("back.jpg", size=(640, 480)), clip])
    with at(5):
        services.reply(claim=claim, by=staff, body="The device left us in perfect condition, see the photo from "
                       "the dispatch check. Did it get wet?", attachments=[photo("dispatch.jpg", size=(640, 480))])
    with at(9):
        services.post_message(claim=claim, by=buyer, body="No, never. It started on the second day.")
    with at(30):
        services.escalate(claim=claim, by=agent, reason="The seller has not offered anything in a day.")
        services.assign(claim=claim, by=agent, agent=agent)
    with at(31):
        services.post_message(claim=claim, by=agent, internal=True,
                              body="Third display complaint about this seller this month; compare the photos.")
    with at(32):
        services.post_message(claim=claim, by=agent, body="Thank you both. We are looking at the photos and will "
                              "decide shortly.")
    return Claim.objects.get(pk=claim.pk), agent


def fits_in(page, selector: str, height: int) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_the_claim_page_at_work(page):
    claim, agent = an_escalated_case()
    log_in(page, agent)
    page.set_viewport_size(WIDE)
    page.goto(f"/admin/claims/claim/{claim.pk}/change/")

    # The first screen: the case, who must act by when, the Decide button and the start of the conversation.
    assert page.locator("h1").inner_text() == f"Claim {claim.number}"
    assert "Support (us)" in page.locator(".case-head-facts").inner_text()
    assert page.locator(".case-head time.countdown").count() == 1
    decide = page.locator(".case-actions a.button", has_text="Decide")
    assert decide.count() == 1 and "default" in decide.get_attribute("class")
    assert page.locator(".case-actions li").first.inner_text() == "Decide"
    assert fits_in(page, ".case-actions a:has-text('Decide')", WIDE["height"])
    assert fits_in(page, "#console-thread-heading", WIDE["height"])
    assert fits_in(page, ".case-stream > li", WIDE["height"])
    assert page.evaluate("() => document.documentElement.scrollHeight") <= 2 * WIDE["height"]
    assert no_sideways_scroll(page)

    # The stream: each thing once, in order; the internal note stands apart; no admin field rows for an agent.
    stream = page.locator(".case-stream").inner_text()
    assert stream.index("Claim opened") < stream.index("perfect condition") < stream.index("No, never")
    assert stream.index("No, never") < stream.index("Passed to the platform") < stream.index("Third display")
    assert stream.count("The seller has not offered anything in a day.") == 1
    note = page.locator(".case-note")
    assert note.count() == 1 and "Internal note" in note.text_content()
    assert page.locator(".form-row").count() == 0 and page.locator(".console-all-fields").count() == 0
    assert page.locator(".case-gallery video[controls]").count() == 1
    assert_accessible(page, "console claim page")

    # A thumbnail opens the full image in a dialog; Escape closes it and the focus returns to the thumbnail.
    thumbnail = page.locator(".case-gallery a[data-lightbox]").first
    thumbnail.click()
    dialog = page.locator("#case-lightbox")
    assert dialog.evaluate("d => d.open")
    full = dialog.locator("img.case-lightbox-image")
    assert full.evaluate("i => new URL(i.src).pathname") == thumbnail.get_attribute("href")
    page.wait_for_function("() => document.querySelector('#case-lightbox img').naturalWidth === 640")
    assert_accessible(page, "console claim page with the full image")
    page.keyboard.press("Escape")
    assert not dialog.evaluate("d => d.open")
    assert page.evaluate("() => document.activeElement.matches('.case-gallery a[data-lightbox]')")

    # On a phone: one column, nothing to scroll sideways.
    page.set_viewport_size(PHONE)
    page.reload()
    assert no_sideways_scroll(page)
    main, side = page.locator(".case-main").bounding_box(), page.locator(".case-side").bounding_box()
    assert side["y"] >= main["y"] + main["height"]


def test_the_lists_fit_and_name_the_buyer(page):
    claim, agent = an_escalated_case()
    log_in(page, agent)
    page.set_viewport_size(WIDE)
    for url in ("/admin/claims/claim/", "/admin/claims/claim/queue/"):
        page.goto(url)
        assert no_sideways_scroll(page), url
        # The table fits its box: the last column ("Assigned to") is not cut off behind a scroll bar.
        assert page.evaluate("() => { const r = document.querySelector('#result_list').closest('.results');"
                             " return r.scrollWidth <= r.clientWidth; }"), url
        row = page.locator("#result_list tbody tr", has_text=claim.number)
        assert f"Anna B. · {mask_email(claim.buyer.email)}" in row.inner_text(), url
        assert "Julia Neumann" in row.inner_text(), url
        assert_accessible(page, url)

"""A buyer's journey in a real browser: from the order to a defective claim with two photos and a video."""


import datetime as dt

import pytest
from django.utils import timezone
from PIL import Image

from claims.models import Claim
from claims.tests.factories import delivered_order
from claims.tests.media import video_bytes
from tests.browser.conftest import assert_accessible, log_in, screenshot_for_docs

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media_files(tmp_path):
    photos = []
    for n, colour in enumerate(((200, 40, 40), (40, 160, 90))):
        path = tmp_path / f"photo-{n}.jpg"
        Image.new("RGB", (1200, 900), colour).save(path, quality=85)
        photos.append(str(path))
    video = tmp_path / "clip.mp4"
    video.write_bytes(video_bytes(seconds=2, size=(320, 240)))
    return photos, str(video)


def test_buyer_opens_a_defective_claim_with_photos_and_a_video(page, media_files):
    import datetime as dt

    from django.utils import timezone

    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=20))
    photos, video = media_files
    log_in(page, order.buyer)
    assert page.url.endswith("/orders/")
    assert_accessible(page, "my orders")
    screenshot_for_docs(page, "buyer-orders")

    page.click(f"text={order.number}")
    assert_accessible(page, "order page")
    page.click("text=Get help with this order")
    page.wait_for_url("**/help/")
    assert_accessible(page, "get help form")

    page.check("input[name=reason][value=defective]")
    page.fill("#id_discovered_on", (timezone.localdate() - dt.timedelta(days=2)).isoformat())
    page.fill("#id_description", "The screen flickers and goes black after a few minutes.")
    page.check("input[name=desired_outcome][value=repair]")
    page.set_input_files("#id_photos", photos)
    page.set_input_files("#id_video", video)
    assert page.locator("#photo-previews img").count() == 2
    assert page.locator("#video-previews video").count() == 1
    screenshot_for_docs(page, "buyer-get-help")
    page.click("form[data-progress] button[type=submit]")
    page.wait_for_selector("#receipt-title")

    claim = Claim.objects.get()
    assert claim.number in page.url
    assert sorted(claim.evidence.values_list("kind", flat=True)) == ["photo", "photo", "video"]
    assert page.locator(".receipt").inner_text().count("Repair") == 1
    assert page.locator("time.countdown").inner_text().endswith("left")
    assert page.locator(".thumbs img").count() == 2
    assert_accessible(page, "claim page")
    screenshot_for_docs(page, "buyer-claim")


def test_refusals_appear_as_form_errors_in_the_browser(page):
    # delivered recently: within the window for a wrong item, but a photo is required
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=5),
                            estimated_delivery=timezone.localdate() - dt.timedelta(days=5))
    log_in(page, order.buyer)
    page.goto(f"/orders/{order.number}/help/")
    page.check("input[name=reason][value=wrong_item]")
    page.fill("#id_description", "I ordered blue, got red.")
    page.check("input[name=desired_outcome][value=replacement]")
    page.click("form[data-progress] button[type=submit]")
    error = page.locator("#form-errors")
    assert "add at least one photo" in error.inner_text()
    assert page.evaluate("document.activeElement.id") == "form-errors"
    assert not Claim.objects.exists()


def test_the_phone_layout_keeps_everything_reachable(browser, live_server):
    order = delivered_order()
    context = browser.new_context(viewport={"width": 375, "height": 740}, base_url=live_server.url)
    page = context.new_page()
    try:
        log_in(page, order.buyer)
        page.goto(f"/orders/{order.number}/help/")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"
        assert_accessible(page, "get help on a phone")
    finally:
        context.close()



"""Evidence from a real phone in a real browser (desktop and phone width): an iPhone's HEIC photo on Get help is
named in the preview (browsers cannot draw it) and shown as a photo on the claim page; a file that only looks like a
video is refused with a message at the video field; a phone video sent in a message plays with its poster."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim
from claims.tests.factories import claim_world, delivered_order
from claims.tests.media import PHONE_METADATA, heic_bytes, video_bytes
from tests.browser.conftest import assert_accessible, log_in

pytestmark = pytest.mark.django_db(transaction=True)
SIZES = {"desktop": {"width": 1200, "height": 900}, "phone": {"width": 390, "height": 844}}
FAKE_VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 250  # issue 16's "262 bytes of nothing"


def loaded(image) -> bool:
    """The image was fetched and decoded (a HEIC stored as such would be a broken image in Chromium). Evaluated
    through the DevTools protocol: the page's CSP allows no string evaluation (wait_for_function)."""
    image.scroll_into_view_if_needed()  # the thumbnails load lazily: below the fold on a phone they wait
    return image.evaluate("""img => Promise.race([
        img.decode().then(() => img.naturalWidth > 0, () => false),
        new Promise(done => setTimeout(() => done("not loaded in 10 s"), 10000)),
    ])""") is True


@pytest.mark.parametrize("size", list(SIZES))
def test_a_heic_photo_is_accepted_and_a_fake_video_refused_on_get_help(page, tmp_path, size):
    page.set_viewport_size(SIZES[size])
    photo = tmp_path / "IMG_0001.HEIC"
    photo.write_bytes(heic_bytes(size=(640, 480)))
    fake = tmp_path / "clip.mp4"
    fake.write_bytes(FAKE_VIDEO)
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=20))
    log_in(page, order.buyer)
    page.goto(f"/orders/{order.number}/help/")

    page.check("input[name=reason][value=defective]")
    page.fill("#id_discovered_on", (timezone.localdate() - dt.timedelta(days=2)).isoformat())
    page.fill("#id_description", "The hinge cracked; photo from my iPhone.")
    page.check("input[name=desired_outcome][value=repair]")
    page.set_input_files("#id_photos", str(photo))
    # The browser cannot draw HEIC: the preview names the file instead of showing a broken image.
    assert page.locator("#photo-previews img").count() == 0
    assert page.locator("#photo-previews .file").inner_text() == "IMG_0001.HEIC"
    page.set_input_files("#id_video", str(fake))
    page.click("form[data-progress] button[type=submit]")
    page.wait_for_selector("#form-errors")

    refusal = "“clip.mp4” is not a video we can play: no picture could be read from it."
    video_field = page.locator(".field", has=page.locator("#id_video"))
    assert refusal in video_field.inner_text()  # at the video, not among the reasons a claim cannot be opened
    assert not Claim.objects.exists()
    assert_accessible(page, f"get help with a refused video ({size})")

    page.set_input_files("#id_photos", str(photo))  # a browser never keeps chosen files across a page load
    page.click("form[data-progress] button[type=submit]")
    page.wait_for_selector("#receipt-title")

    claim = Claim.objects.get()
    item = claim.evidence.get()
    assert (item.kind, item.content_type, item.original_name) == ("photo", "image/jpeg", "IMG_0001.HEIC")
    thumbnail = page.locator(".thumbs img").first
    assert thumbnail.get_attribute("alt") == "Photo 1"
    assert loaded(thumbnail)
    assert_accessible(page, f"claim page with a HEIC photo ({size})")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_phone_video_sent_in_a_message_plays_with_its_poster(page, tmp_path, size):
    page.set_viewport_size(SIZES[size])
    world = claim_world("in_progress", at=timezone.now() - dt.timedelta(hours=3))
    clip = tmp_path / "IMG_0005.MOV"
    clip.write_bytes(video_bytes(seconds=2, size=(320, 240), container="mov", metadata=PHONE_METADATA, sound=True))
    log_in(page, world.buyer)
    page.goto(reverse("claims:detail", kwargs={"number": world.claim.number}))
    page.fill("#id_body", "Here is the noise it makes.")
    page.set_input_files("#id_attachments", str(clip))
    page.click("form[data-progress='message-progress'] button[type=submit]")
    page.wait_for_selector(".thumbs video")

    item = world.claim.evidence.get(kind="video")
    file_url = reverse("claims:evidence", kwargs={"pk": item.pk})
    poster_url = reverse("claims:evidence_thumbnail", kwargs={"pk": item.pk})
    video = page.locator(".thumbs video")
    assert video.get_attribute("poster") == poster_url and video.get_attribute("src") == file_url
    assert "Video 1 · 0:02" in page.locator(".thumbs figure.clip").inner_text()
    poster = page.request.get(poster_url)
    assert poster.ok and poster.headers["content-type"] == "image/jpeg"
    served = page.request.get(file_url, headers={"Range": "bytes=0-99"})
    assert served.status == 206 and served.headers["content-type"] == "video/mp4" and len(served.body()) == 100
    if video.evaluate("v => v.canPlayType('video/mp4; codecs=\"avc1.42E01E\"')"):
        # The browser really plays the stored file (in ranges, as Safari needs).
        assert video.evaluate("""v => new Promise(done => {
            v.addEventListener("loadeddata", () => done([v.videoWidth, v.videoHeight]));
            v.addEventListener("error", () => done("error"));
            setTimeout(() => done("not loaded in 10 s"), 10000);
            v.load();
        })""") == [320, 240]
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # nothing sticks out
    assert_accessible(page, f"claim page with a video ({size})")

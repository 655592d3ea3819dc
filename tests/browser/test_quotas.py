"""The claim's quotas in a real browser (claims.quotas, issue 18): the upload fields say how much each side of a claim
may add, and a message past the hourly quota or a file past the room left on the sender's side is refused on the page
where it was sent, with the sentence that says which limit and what to do, on pages that stay accessible."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from claims import quotas, services
from claims.choices import Party
from claims.models import Message
from claims.tests.factories import claim_world, photo
from tests.browser.conftest import assert_accessible, log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    return claim_world("in_progress", at=timezone.now() - dt.timedelta(hours=3))


def test_the_buyer_is_told_of_the_message_quota_and_their_sides_room(page, settings, tmp_path, world):
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 1
    services.post_message(claim=world.claim, by=world.buyer, body="Any news?")
    log_in(page, world.buyer)
    page.goto(reverse("claims:detail", kwargs={"number": world.claim.number}))
    help_text = page.locator("#id_attachments_helptext")
    assert help_text.inner_text() == quotas.files_help()
    assert page.get_attribute("#id_attachments", "aria-describedby") == "id_attachments_helptext"

    page.fill("#id_body", "Hello? Anyone?")
    page.click("form[data-progress='message-progress'] button[type=submit]")
    page.wait_for_selector("#form-errors")
    assert "You can post 1 message an hour on a claim; please wait until" in page.inner_text("#form-errors")
    assert page.input_value("#id_body") == "Hello? Anyone?"  # kept, to send when the hour allows
    assert not Message.objects.filter(body="Hello? Anyone?").exists()
    assert_accessible(page, "claim page with the message quota reached")

    settings.MESSAGES_PER_CLAIM_PER_HOUR = 20
    settings.CLAIM_MAX_FILES = quotas.file_room(world.claim, Party.BUYER).files  # the buyer's side: full (1 photo)
    picture = tmp_path / "crack.jpg"
    picture.write_bytes(photo().read())
    page.fill("#id_body", "One more photo.")
    page.set_input_files("#id_attachments", str(picture))
    page.click("form[data-progress='message-progress'] button[type=submit]")
    page.wait_for_selector("#form-errors:has-text('no more files can be added')")
    assert ("You have added 1 file to this claim, the most each side of a claim may add, so no more files can be "
            "added.") in page.inner_text("#form-errors")
    assert page.input_value("#id_body") == "One more photo."
    assert not Message.objects.filter(body="One more photo.").exists()
    assert_accessible(page, "claim page with the buyer's side of the claim's files full")


def test_the_seller_sees_the_message_quota_at_the_form(page, settings, world):
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 1
    services.post_message(claim=world.claim, by=world.staff, body="We are on it.")
    log_in(page, world.staff)
    page.goto(reverse("sellers:claim", kwargs={"number": world.claim.number}))
    if page.get_attribute("#action-reply", "open") is None:
        page.click("#action-reply summary")
    assert page.inner_text("#id_reply-attachments_helptext").endswith(quotas.files_help())
    page.fill("#id_reply-body", "And one more thing.")
    page.click("#action-reply button[type=submit]")
    page.wait_for_selector("#form-errors")
    assert "You can post 1 message an hour on a claim; please wait until" in page.inner_text("#form-errors")
    assert not Message.objects.filter(body="And one more thing.").exists()
    assert_accessible(page, "seller claim page with the message quota reached")

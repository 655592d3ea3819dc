"""A trial return in a real browser (issue 16): the seller offers a return for refund, the buyer accepts it, downloads
the return slip (a PDF) and enters the return parcel's tracking; the carrier reports the parcel delivered (an agent
records it in the console); the seller sees the return with its deadline and confirms it; the buyer sees the refund.
The buyer's claim page passes axe-core at desktop and phone widths, without sideways scrolling on the phone."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from claims import services
from claims.models import Claim
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import delivered_order
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory
from tests.browser.conftest import assert_accessible, log_in, log_out

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 900}


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_trial_return_from_the_offer_to_the_refund(page, width):
    viewport = PHONE if width == "phone" else DESKTOP
    page.set_viewport_size(viewport)
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=9))
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="owner")
    agent = make_console_agent()
    claim = services.open_claim(order=order, buyer=order.buyer, reason="trial_return", desired_outcome="refund",
                                description="It works, but it is too heavy for me.")
    services.make_offer(claim=claim, by=staff, kind="return_for_refund",
                        note="No problem: send it back and we refund the full price.")
    page.on("dialog", lambda dialog: dialog.accept())  # "Accept this offer?", "Confirm that the returned item..."

    # The buyer accepts the return for refund: the return is authorized.
    log_in(page, order.buyer)
    page.goto(f"/claims/{claim.number}/")
    page.click("text=Accept the offer")
    page.wait_for_load_state()
    panel = page.locator("#return")
    ret = Claim.objects.get(pk=claim.pk).returns.get()
    expect(panel).to_contain_text(ret.rma_number)
    expect(panel).to_contain_text("Returns, 1 Depot St, Berlin")
    expect(panel).to_contain_text("The seller pays the return postage.")
    expect(page.locator(".deadline").first).to_contain_text("Please send the item back by")
    expect(panel.locator("#return-send-by time.countdown")).to_contain_text("left")
    assert_accessible(page, f"buyer claim page with the return to send ({width})")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # The slip downloads as a PDF.
    with page.expect_download() as download:
        page.click("text=Download the return slip (PDF)")
    slip = Path(download.value.path()).read_bytes()
    assert slip.startswith(b"%PDF-") and ret.rma_number.encode() in slip
    assert download.value.suggested_filename == f"return-slip-{ret.rma_number}.pdf"

    # The buyer sends it and enters the tracking.
    page.fill("#id_return-carrier", "DHL")
    page.fill("#id_return-tracking_number", "jjd 0149 7731 2002")
    page.click("#return button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("the item is on its way")
    expect(page.locator("#return")).to_contain_text("DHL JJD014977312002")
    expect(page.locator(".timeline")).to_contain_text("The item was sent back")
    assert page.locator("#return form").count() == 0  # the buyer's part is done
    log_out(page)

    # The carrier has no tracking events: an agent records the delivery in the console.
    log_in(page, agent)
    page.goto(f"/admin/claims/claim/{claim.pk}/change/")
    expect(page.locator("#case-return-heading")).to_contain_text("On its way back to the seller")
    page.goto(f"/admin/claims/claim/{claim.pk}/act/return-delivered/")
    page.click("#console-action-form [type=submit]")
    page.wait_for_load_state()
    assert Claim.objects.get(pk=claim.pk).returns.get().status == "delivered"
    log_out(page)

    # The seller sees the return with the deadline to confirm it, and confirms it.
    log_in(page, staff)
    page.goto(f"/seller/claims/{claim.number}/")
    section = page.locator("#return")
    expect(section).to_contain_text(ret.rma_number)
    expect(section).to_contain_text("DHL JJD014977312002")
    expect(page.locator(".deadline").first).to_contain_text("Please confirm receipt")
    expect(section.locator("#return-confirm-by time.countdown")).to_contain_text("left")
    assert page.locator("#action-return").evaluate("details => details.open")  # the action the claim waits for
    page.check("input[name=return-inspection_result][value=as_expected]")
    page.click("#action-return button[type=submit]")
    page.wait_for_load_state()
    claim = Claim.objects.get(pk=claim.pk)
    assert (claim.state, claim.outcome, claim.funded_by) == ("resolved", "refund", "seller")
    assert claim.returns.get().status == "received"
    log_out(page)

    # The buyer sees the refund.
    log_in(page, order.buyer)
    page.goto(f"/claims/{claim.number}/")
    expect(page.locator(".refunds")).to_contain_text("199.00")
    expect(page.locator(".timeline")).to_contain_text("Returned item received")
    assert_accessible(page, f"buyer claim page with the refund ({width})")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

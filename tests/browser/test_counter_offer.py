"""A counter-offer in a real browser, on a desktop and a phone: the seller offers a partial refund, the buyer counters
with a higher amount, the seller accepts it and the buyer sees the claim resolved. axe-core on every page on the way,
and nothing wider than the phone's screen."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from claims import services
from claims.tests.factories import delivered_order, photo
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory
from tests.browser.conftest import assert_accessible, log_in, log_out

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def fits(page, width, name):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{name} scrolls sideways at {width}px ({scroll}px)"


@pytest.mark.parametrize("screen", list(WIDTHS))
def test_the_buyer_counters_the_sellers_offer_and_the_seller_accepts(page, screen):
    width, height = WIDTHS[screen]
    page.set_viewport_size({"width": width, "height": height})
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmation before accepting
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=30))
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="owner")
    claim = services.open_claim(order=order, buyer=order.buyer, reason="defective", description="The hinge creaks.",
                                desired_outcome="discount", discovered_on=timezone.localdate(), evidence=[photo()])

    # The seller offers a partial refund (an irremovable defect that does not prevent use: a discount is its remedy).
    log_in(page, staff)
    page.goto(f"/seller/claims/{claim.number}/")
    page.click("#action-offer summary")
    page.check("input[name='offer-kind'][value=partial_refund]")
    page.check("input[name='offer-defect_type'][value=irremovable]")
    page.fill("#id_offer-amount", "30.00")
    page.click("#action-offer button[type=submit]")
    page.wait_for_load_state()
    assert claim.offers.get().amount == Decimal("30.00")
    log_out(page)

    # The buyer declines it by countering with a higher amount.
    log_in(page, order.buyer)
    page.goto(f"/claims/{claim.number}/")
    assert "The seller's offer: Partial refund — €30.00" in page.locator("#offer").inner_text()
    assert page.locator("#id_decline-reason").is_hidden()  # declining is a second step
    assert_accessible(page, f"buyer's offer ({screen})")
    fits(page, width, "the buyer's claim page")
    page.click("#counter-offer summary")
    assert_accessible(page, f"counter-offer form ({screen})")
    page.check("input[name='counter-kind'][value=partial_refund]")
    page.fill("#id_counter-amount", "75.00")
    page.fill("#id_counter-reason", "The hinge needs a new part that costs 75 EUR.")
    page.click("#counter-offer button[type=submit]")
    page.wait_for_load_state()
    assert "Your counter-offer was sent to the seller" in page.locator(".messages").inner_text()
    assert "Waiting for the seller's answer" in page.locator("#offer").inner_text()
    assert_accessible(page, f"buyer's counter-offer waiting ({screen})")
    fits(page, width, "the buyer's claim page with the counter-offer")
    log_out(page)

    # The seller accepts the counter-offer.
    log_in(page, staff)
    page.goto(f"/seller/claims/{claim.number}/")
    card = page.locator("#counter-offer")
    assert "The buyer's counter-offer: Partial refund — €75.00" in card.inner_text()
    assert "The hinge needs a new part that costs 75 EUR." in card.inner_text()
    assert page.locator("#action-offer").count() == 0  # no other offer while it waits
    assert_accessible(page, f"seller's counter-offer ({screen})")
    fits(page, width, "the seller's claim page")
    page.click("#counter-offer button:has-text('Accept the counter-offer')")
    page.wait_for_load_state()
    assert "You accepted the buyer's counter-offer." in page.locator(".messages").inner_text()
    claim.refresh_from_db()
    assert (claim.state, claim.outcome, claim.funded_by, claim.refund_amount) == (
        "resolved", "partial_refund", "seller", Decimal("75.00"))
    assert [r.amount for r in claim.refunds.all()] == [Decimal("75.00")]
    log_out(page)

    # The buyer sees it resolved, and the counter-offer on the timeline.
    log_in(page, order.buyer)
    page.goto(f"/claims/{claim.number}/")
    assert "Resolved" in page.locator("h1").inner_text()
    timeline = page.locator(".timeline").inner_text()
    assert "made a counter-offer: Partial refund (€75.00)" in timeline
    assert "The hinge needs a new part that costs 75 EUR." in timeline
    assert_accessible(page, f"buyer's resolved claim ({screen})")
    fits(page, width, "the buyer's resolved claim")

"""Keeping up in a real browser: the buyer sees the unread count after the seller replies, opens the list, follows the
claim's link and the count drops; turns off message emails; "My requests"; all at a desktop and a phone width, with
axe-core on the three pages."""

import pytest
from django.utils import timezone

from claims import services
from claims.models import EmailPreference, Notification, OutboundEmail
from claims.tests.factories import delivered_order, photo
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory
from tests.browser.conftest import assert_accessible, log_in

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def notifications_link(page):
    return page.locator("header.site nav a[href='/notifications/']")


def reload_until(page, check, tries: int = 10) -> None:
    """The claim page reads its notifications once it has been sent (core.after_response): give the live server's
    thread the moment it needs before the next page is asked for."""
    for _ in range(tries):
        if check():
            return
        page.wait_for_timeout(200)
        page.reload()
    assert check()


def at_both_widths(page, name: str) -> None:
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} scrolls sideways at {label} width ({scroll}px)"
        assert_accessible(page, f"{name} ({label})")
    page.set_viewport_size({"width": WIDTHS["desktop"][0], "height": WIDTHS["desktop"][1]})


def test_the_buyer_keeps_up_with_the_sellers_reply(page):
    order = delivered_order(delivered_at=timezone.now() - timezone.timedelta(days=10))
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="staff")
    claim = services.open_claim(order=order, buyer=order.buyer, reason="defective", description="It rattles.",
                                desired_outcome="repair", discovered_on=timezone.localdate(), evidence=[photo()])
    log_in(page, order.buyer)
    assert notifications_link(page).inner_text().split() == ["Notifications", "1", "unread"]  # the receipt

    services.reply(claim=claim, by=staff, body="Sorry about that: we will repair it.")
    page.reload()
    link = notifications_link(page)
    assert link.inner_text().split() == ["Notifications", "2", "unread"]
    assert page.get_by_role("link", name="Notifications 2 unread").count() == 1  # "2" is not a bare number to a reader

    link.click()
    page.wait_for_url("**/notifications/")
    assert page.locator("ol.notifications li").count() == 2
    assert page.locator("ol.notifications li.unread .badge").all_inner_texts() == ["Unread", "Unread"]
    newest = page.locator("ol.notifications li").first
    assert f"New message on claim {claim.number}" in newest.inner_text()
    at_both_widths(page, "notifications")

    newest.get_by_role("link", name=f"Claim {claim.number}").click()
    page.wait_for_url(f"**/claims/{claim.number}/")
    assert "unread" not in notifications_link(page).inner_text()  # the page being read counts as read
    page.goto("/notifications/")
    reload_until(page, lambda: page.locator("ol.notifications li.unread").count() == 0)
    assert notifications_link(page).inner_text().strip() == "Notifications"
    assert "Nothing unread." in page.locator("main").inner_text()

    # Message emails off: the next message is listed, not emailed.
    page.get_by_role("link", name="Email preferences").click()
    page.wait_for_url("**/account/email/")
    always = page.get_by_label("Deadlines, decisions and legal notices")
    assert always.is_disabled() and always.is_checked()
    at_both_widths(page, "email preferences")
    page.get_by_label("Messages", exact=True).uncheck()
    page.get_by_role("button", name="Save preferences").click()
    page.wait_for_selector(".messages li.success")
    assert not page.get_by_label("Messages", exact=True).is_checked()
    assert EmailPreference.objects.get(user=order.buyer, kind="messages").enabled is False

    services.post_message(claim=claim, by=staff, body="The courier collects it tomorrow.")
    assert OutboundEmail.objects.filter(recipient=order.buyer, event="message").count() == 1  # the first reply's
    assert Notification.objects.filter(user=order.buyer, event="message").count() == 2
    page.goto("/orders/")
    assert notifications_link(page).inner_text().split() == ["Notifications", "1", "unread"]

    # "My requests": the claim with its new activity and what happens next.
    page.locator("header.site nav").get_by_role("link", name="My requests").click()
    page.wait_for_url("**/claims/")
    row = page.locator("table.my-claims tbody tr")
    assert row.count() == 1
    assert claim.number in row.inner_text() and "New activity" in row.inner_text()
    assert "The seller has until" in row.inner_text()
    at_both_widths(page, "my requests")
    page.get_by_role("link", name="Resolved").click()
    assert "No requests match this filter." in page.locator("main").inner_text()

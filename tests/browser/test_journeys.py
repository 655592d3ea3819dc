"""Whole cases in a real browser, across the buyer's pages, the seller dashboard and the support console.

The live server runs in this process, so time_machine moves the clock for the pages too: that is how a case
lives through its 48-hour and 5-business-day deadlines in seconds.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import time

import pytest
import time_machine
from django.utils import timezone

from claims import services
from claims.models import Claim
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import delivered_order, photo
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory
from tests.browser.conftest import assert_accessible, log_in, log_out, screenshot_for_docs

pytestmark = pytest.mark.django_db(transaction=True)


def seller_staff(seller):
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=seller, role="owner")
    return staff


def test_defective_claim_from_offer_to_decision(page):
    """Buyer opens, seller offers a partial refund, buyer declines and escalates, agent asks, buyer answers,
    agent decides a refund."""
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=40))
    staff = seller_staff(order.seller)
    claim = services.open_claim(order=order, buyer=order.buyer, reason="defective", description="No sound",
                                desired_outcome="refund", discovered_on=timezone.localdate(), evidence=[photo()])

    log_in(page, staff)
    assert page.url.endswith("/seller/")
    assert claim.number in page.locator("main").inner_text()
    assert_accessible(page, "seller queue")
    screenshot_for_docs(page, "seller-queue")
    page.click(f"text={claim.number}")
    page.wait_for_url(f"**/seller/claims/{claim.number}/")
    assert_accessible(page, "seller claim page")
    page.click("#action-offer summary")
    page.check("input[name='offer-kind'][value=partial_refund]")
    # a discount-like partial refund is what the policy allows for an irremovable defect that does not prevent use
    page.check("input[name='offer-defect_type'][value=irremovable]")
    page.fill("#id_offer-amount", "40.00")
    page.fill("#id_offer-note", "40 EUR back and you keep the headphones.")
    page.click("#action-offer button[type=submit]")
    page.wait_for_load_state()
    screenshot_for_docs(page, "seller-claim")
    claim.refresh_from_db()
    assert claim.state == "in_progress" and claim.offers.get().amount == 40
    log_out(page)

    log_in(page, order.buyer)
    page.goto(f"/claims/{claim.number}/")
    assert "Partial refund — €40.00" in page.locator(".offer").inner_text()
    page.click("#decline-offer summary")  # declining is a second step, with an optional reason
    page.fill("#id_decline-reason", "40 EUR does not make up for headphones without sound.")
    page.click("#decline-offer button[type=submit]")
    page.wait_for_load_state()
    told = page.locator(".messages").inner_text()
    assert "You declined the offer" in told
    # the escalation rule in the words of the button's state: not yet, from the first-reply deadline
    assert page.locator("button:has-text('Ask the platform to step in')").is_disabled()
    assert page.locator("#escalate-why").inner_text() in told and "You can ask us to step in now" not in told

    with time_machine.travel(timezone.now() + dt.timedelta(hours=49), tick=True):
        page.reload()
        page.fill("#id_reason", "The offer does not cover a broken product.")
        page.click("button:has-text('Ask the platform to step in')")
        page.wait_for_load_state()
        assert "Our support team now handles your claim" in page.locator(".messages").inner_text()
    claim.refresh_from_db()
    assert (claim.state, claim.escalation_cause) == ("escalated", "buyer")
    log_out(page)

    # The agent asks the buyer a question in the support console...
    agent = make_console_agent(username="agent-journey")
    log_in(page, agent)
    page.goto("/admin/claims/claim/queue/?who=unassigned")
    assert claim.number in page.locator("#content").inner_text()
    screenshot_for_docs(page, "console-queue")
    page.goto(f"/admin/claims/claim/{claim.pk}/change/")
    assert_accessible(page, "console claim page")
    screenshot_for_docs(page, "console-claim")
    page.goto(f"/admin/claims/claim/{claim.pk}/act/request-info/")
    page.check("input[name=party][value=buyer]")
    page.fill("textarea[name=question]", "Does the problem happen with other headphones too?")
    page.click("#console-action-form input[type=submit]")
    page.wait_for_load_state()
    claim.refresh_from_db()
    assert (claim.state, claim.info_requested_from) == ("awaiting_info", "buyer")
    log_out(page)

    # ...the buyer answers on the claim page...
    log_in(page, order.buyer)
    page.goto(f"/claims/{claim.number}/")
    assert "We need information from you" in page.locator(".deadline").inner_text()
    page.fill("#id_info-body", "No, only with these. Other headphones work on the same phone.")
    page.click("#info button[type=submit]")
    page.wait_for_load_state()
    assert "your answer was passed" in page.locator(".messages").inner_text()
    claim.refresh_from_db()
    assert claim.state == "escalated"
    log_out(page)

    # ...and the agent decides a refund, paid by the seller.
    log_in(page, agent)
    page.goto(f"/admin/claims/claim/{claim.pk}/act/decide/")
    page.select_option("select[name=outcome]", "refund")
    page.check("input[name=funded_by][value=seller]")
    page.fill("textarea[name=note]", "Defect confirmed: a full refund.")
    page.click("#console-action-form input[type=submit]")
    page.wait_for_load_state()
    claim.refresh_from_db()
    assert (claim.state, claim.outcome, claim.funded_by) == ("resolved", "refund", "seller")
    assert claim.refunds.get().amount == claim.claimed_value()
    log_out(page)

    log_in(page, order.buyer)
    page.goto(f"/claims/{claim.number}/")
    assert "Resolved: you are refunded" in page.locator(".deadline").inner_text()
    assert "Defect confirmed: a full refund." in page.locator(".timeline").inner_text()


def test_a_silent_seller_is_taken_over_by_the_deadline_sweep(page):
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=10),
                            estimated_delivery=timezone.localdate() - dt.timedelta(days=10))
    claim = services.open_claim(order=order, buyer=order.buyer, reason="not_as_described",
                                description="Scratched screen, sold as new", desired_outcome="refund",
                                evidence=[photo()])
    log_in(page, order.buyer)
    page.goto(f"/claims/{claim.number}/")
    assert "The seller has until" in page.locator(".deadline").inner_text()

    later = claim.resolution_due_at + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=True):
        counts = services.enforce_deadlines()
        assert counts.get("taken_over") == 1
        page.reload()
        assert "Our support team is handling your claim" in page.locator(".deadline").inner_text()
        assert "The platform took over" in page.locator(".timeline").inner_text()
        assert "The seller missed the 48-hour reply deadline" in page.locator(".timeline").inner_text()
    claim.refresh_from_db()
    assert claim.first_reply_breached and claim.state == "escalated"


def carrier_signature(body: bytes, *, secret: str, event_id: str) -> dict[str, str]:
    """The Standard Webhooks headers a carrier sends (docs/carrier-webhook.md)."""
    timestamp = str(int(time.time()))
    mac = hmac.new(secret.encode(), f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": event_id, "webhook-timestamp": timestamp,
            "webhook-signature": "v1," + base64.b64encode(mac).decode()}


def test_a_not_received_claim_closes_when_the_carrier_reports_delivery(page, live_server, settings):
    settings.CARRIER_WEBHOOK_SECRET = "journey-secret"
    settings.CARRIER_WEBHOOK_SECRETS = []
    order = OrderFactory(estimated_delivery=timezone.localdate() - dt.timedelta(days=10), placed_at=timezone.now())
    OrderItemFactory(order=order)
    ShipmentFactory(order=order, tracking_number="JJD123456789", shipped_at=timezone.now() - dt.timedelta(days=12))
    claim = services.open_claim(order=order, buyer=order.buyer, reason="not_received",
                                description="The parcel never came", desired_outcome="refund")
    log_in(page, order.buyer)
    page.goto(f"/claims/{claim.number}/")
    assert claim.get_state_display() in page.locator("h1").inner_text()

    body = json.dumps({"carrier": "DHL", "tracking_number": "JJD123456789", "status": "delivered",
                       "occurred_at": timezone.now().isoformat(), "delivered_to_order_address": True}).encode()
    response = page.request.post(f"{live_server.url}/webhooks/carrier/", data=body,
                                 headers={"Content-Type": "application/json",
                                          **carrier_signature(body, secret="journey-secret", event_id="evt_journey")})
    assert response.status == 200
    assert services.enforce_deadlines().get("delivered") == 1
    page.reload()
    assert "tracking shows your order was delivered" in page.locator(".deadline").inner_text()
    assert Claim.objects.get(pk=claim.pk).outcome == "delivered"

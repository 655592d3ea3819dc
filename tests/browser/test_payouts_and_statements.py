"""The finance team's pages and the seller's statements in a real browser, on a desktop and a phone width: the payout
queue, marking refunds paid in bulk, the import page, recording a settlement, and the seller's balance and printable
monthly statement (its print button wired by a static script under the strict CSP, the site around it hidden in
print). With SCREENSHOTS_DIR set, every page is also saved there at both widths."""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from claims import services
from claims.models import Refund
from claims.tests.admin_factories import make_console_agent, make_finance
from claims.tests.factories import delivered_order, photo
from core.formatting import money_text
from sellers import services as seller_services
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory, make_agent
from tests.browser.conftest import assert_accessible, log_in, screenshot_for_docs

pytestmark = pytest.mark.django_db(transaction=True)
WIDTHS = {"desktop": (1280, 900), "phone": (375, 812)}


def refund_for(seller, *, funded_by: str, card_last4: str = "4242") -> Refund:
    order = delivered_order(seller=seller, delivered_at=timezone.now() - dt.timedelta(days=20), card_last4=card_last4)
    claim = services.open_claim(order=order, buyer=order.buyer, reason="defective", description="No sound",
                                desired_outcome="refund", discovered_on=timezone.localdate(), evidence=[photo()])
    agent = make_agent()
    services.escalate(claim=claim, by=agent, reason="Seller inaction")
    services.decide(claim=claim, by=agent, outcome="refund", funded_by=funded_by)
    return claim.refunds.get()


def check_at_both_widths(page, name: str) -> None:
    """Accessible at a desktop and a phone width, nothing wider than the phone's screen but scrolling tables."""
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page, f"{name} ({label})")
        target = os.environ.get("SCREENSHOTS_DIR")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(target) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_finance_pays_refunds_from_the_queue_and_records_a_settlement(page):
    seller_refunds = [refund_for(delivered_order().seller, funded_by="seller", card_last4=f"42{n}2") for n in range(2)]
    platform_refund = refund_for(seller_refunds[0].claim.seller, funded_by="platform")  # the seller owes it back
    failed = refund_for(delivered_order().seller, funded_by="seller")
    finance = make_finance(username="finance-journey", first_name="Frieda", last_name="Kasse")
    services.mark_refund_failed(refund=failed, reason="Card expired", by=finance)

    log_in(page, finance)
    assert page.url.endswith("/admin/")
    page.click("text=Payout queue (failed and pending first)")
    page.wait_for_url("**/admin/claims/refund/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 4 and "Card expired" in rows.first.inner_text()  # failed first
    check_at_both_widths(page, "payout-queue")

    for refund in seller_refunds:
        page.check(f"#result_list input.action-select[value='{refund.pk}']")
    page.select_option("select[name=action]", "mark_paid")
    page.click("button[name=index]")
    page.wait_for_url("**/admin/claims/refund/pay/**")
    check_at_both_widths(page, "payout-mark-paid")
    page.fill(f"#id_value-{seller_refunds[0].pk}", "PAYOUT-0001")
    page.fill(f"#id_value-{seller_refunds[1].pk}", "PAYOUT-0002")
    page.click("input[type=submit][value='Mark as paid']")
    page.wait_for_url("**/admin/claims/refund/")
    assert "2 refunds marked as paid." in page.locator(".messagelist").inner_text()
    assert [Refund.objects.get(pk=r.pk).payment_reference for r in seller_refunds] == ["PAYOUT-0001", "PAYOUT-0002"]

    page.click("text=Import confirmations (CSV)")
    page.wait_for_url("**/admin/claims/refund/import/")
    page.set_input_files("input[type=file]", files=[{
        "name": "confirmations.csv", "mimeType": "text/csv",
        "buffer": f"refund_id,status,reference,reason\n{platform_refund.pk},paid,PAYOUT-0003,\n"
                  f"999999,paid,PAYOUT-X,\n".encode()}])
    page.click("input[type=submit][value=Import]")
    page.wait_for_load_state()
    assert "There is no refund 999999." in page.locator("#content-main").inner_text()
    assert Refund.objects.get(pk=platform_refund.pk).status == "paid"
    check_at_both_widths(page, "payout-import")

    seller = platform_refund.claim.seller
    page.goto(f"/admin/sellers/seller/{seller.pk}/act/settle/")
    page.fill("#id_amount", "150.00")
    page.check("input[name=method][value=offset]")
    page.fill("#id_note", "Offset against the payout of week 14")
    check_at_both_widths(page, "seller-settlement-form")
    page.click("#console-action-form input[type=submit]")
    page.wait_for_load_state()
    assert "The settlement was added to the ledger" in page.locator(".messagelist").inner_text()
    assert seller.ledger_balance() == platform_refund.amount - Decimal("150.00")


def test_the_seller_reads_its_balance_and_prints_the_statement(page):
    refund = refund_for(delivered_order().seller, funded_by="platform")
    seller = refund.claim.seller
    funded = refund_for(seller, funded_by="seller")
    finance = make_finance()
    services.mark_refund_paid(refund=funded, reference="PAYOUT-9", by=finance)
    seller_services.add_adjustment(seller=seller, by=make_console_agent(), amount=Decimal("25.00"),
                                   note="Payment-provider dispute lost")
    seller_services.record_settlement(seller=seller, by=finance, amount="100.00", note="SEPA transfer RF18 5390")
    staff = UserFactory(username="seller-statement")
    SellerMembership.objects.create(user=staff, seller=seller, role="owner")

    log_in(page, staff)
    page.click("nav.tabs >> text=Statements")
    page.wait_for_url("**/seller/statements/**")
    owed = refund.amount + Decimal("25.00") - Decimal("100.00")
    assert f"You owe the platform {money_text(owed, 'EUR', language='en')}." in page.locator(".balance").inner_text()
    check_at_both_widths(page, "seller-statements")

    month = timezone.localdate().strftime("%Y-%m")
    page.click(f"a[href^='/seller/statements/{month}/']")
    page.wait_for_url(f"**/seller/statements/{month}/**")
    main = page.locator("main").inner_text()
    assert "Opening balance" in main and "Closing balance" in main and funded.claim.number in main
    assert page.locator("button[data-print]").is_visible()  # static print.js ran under the CSP
    check_at_both_widths(page, "seller-statement")
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible() and not page.locator(".statement-tools").is_visible()
    assert page.locator("h1").is_visible()
    target = os.environ.get("SCREENSHOTS_DIR")
    if target:
        page.screenshot(path=str(Path(target) / "seller-statement-print.png"), full_page=True)
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.click("text=Download CSV")
    assert download.value.suggested_filename == f"statement-{seller.slug}-{month}.csv"


def test_an_agent_decides_a_refund_finance_pays_it_and_the_buyer_is_told(page):
    """The money-back promise end to end: the agent decides a refund in the console, finance marks it paid with the
    provider's reference, and the buyer reads on the claim page and in an email where the money went and when it
    arrives."""
    from django.core import mail

    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=20), card_last4="4242")
    claim = services.open_claim(order=order, buyer=order.buyer, reason="defective", description="No sound",
                                desired_outcome="refund", discovered_on=timezone.localdate(), evidence=[photo()])
    agent = make_console_agent(username="agent-money")
    services.escalate(claim=claim, by=agent, reason="Seller inaction")

    log_in(page, agent)
    page.goto(f"/admin/claims/claim/{claim.pk}/act/decide/")
    page.select_option("select[name=outcome]", "refund")
    page.check("input[name=funded_by][value=platform]")
    page.fill("textarea[name=note]", "Defect confirmed: a full refund.")
    page.click("#console-action-form input[type=submit]")
    page.wait_for_load_state()
    refund = Refund.objects.get(claim=claim)
    assert (refund.amount, refund.status) == (Decimal("199.00"), "pending")
    page.context.clear_cookies()  # logged out

    log_in(page, order.buyer)
    page.goto(f"/claims/{claim.number}/")
    assert "€199.00 is being paid back to card ending 4242" in page.locator(".refunds").inner_text()
    page.context.clear_cookies()

    finance = make_finance(username="finance-money")
    log_in(page, finance)
    page.goto("/admin/claims/refund/")
    page.check(f"#result_list input.action-select[value='{refund.pk}']")
    page.select_option("select[name=action]", "mark_paid")
    page.click("button[name=index]")
    page.wait_for_url("**/admin/claims/refund/pay/**")
    page.fill(f"#id_value-{refund.pk}", "re_3Journey4242")
    mail.outbox.clear()
    page.click("input[type=submit][value='Mark as paid']")
    page.wait_for_url("**/admin/claims/refund/")
    refund.refresh_from_db()
    assert (refund.status, refund.payment_reference) == ("paid", "re_3Journey4242")
    page.context.clear_cookies()

    log_in(page, order.buyer)
    page.goto(f"/claims/{claim.number}/")
    text = page.locator(".refunds").inner_text()
    assert "Paid" in text and "€199.00 sent to your original payment method, card ending 4242" in text
    assert_accessible(page, "claim page with a paid refund")
    page.set_viewport_size({"width": 375, "height": 812})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot_for_docs(page, "buyer-refund-paid")
    [email] = [m for m in mail.outbox if m.to == [order.buyer.email]]
    assert "your refund has been sent" in email.subject
    assert "card ending 4242" in email.body and "5–10 business days" in email.body

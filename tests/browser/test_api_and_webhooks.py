"""The dashboard's "API & webhooks" in a real browser, on a desktop and at 390 px: the owner makes an API key, copies
it with the Copy button and never sees it again after a reload; adds a webhook endpoint with two events and sees its
signing secret once; the delivery log shows what was sent. axe-core on every page; staff have no tab."""

import pytest
from playwright.sync_api import expect

from integrations import keys
from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint, WebhookEvent
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory
from tests.browser.conftest import assert_accessible, log_in
from tests.browser.test_seller_tools import fits_the_phone

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(settings):
    # The endpoint below is on this machine: allowed here, as on a closed network.
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    seller = SellerFactory(display_name="Phone Corner")
    owner = UserFactory(username="corner-owner", first_name="Olga", last_name="Owner")
    SellerMembership.objects.create(user=owner, seller=seller, role="owner")
    staff = UserFactory(username="corner-staff")
    SellerMembership.objects.create(user=staff, seller=seller, role="staff")
    return seller, owner, staff


def test_the_owner_makes_a_key_sees_it_once_and_adds_an_endpoint(browser, live_server, shop):
    seller, owner, _staff = shop
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, owner)
        page.goto("/seller/")
        page.click("nav.tabs >> text=API & webhooks")
        page.wait_for_url("**/seller/api-keys/**")
        assert_accessible(page, "API keys, none yet (desktop)")

        page.click("main a.button:has-text('Make a new key')")
        page.wait_for_url("**/seller/api-keys/add/**")
        page.fill("#id_name", "Warehouse system")
        page.check("#id_scope_1")  # read and write
        assert_accessible(page, "make a key (desktop)")
        page.click("main form button[type=submit]")
        page.wait_for_url("**/seller/api-keys/?seller=**")
        field = page.locator("#new-key")
        key = field.input_value()
        api_key = ApiKey.objects.get(seller=seller)
        assert keys.authenticate(key) == api_key and api_key.scope == "write"
        page.click("button[data-copy='new-key']")
        # Playwright's expect waits for the promise of the clipboard (the page's CSP allows no string evaluation)
        expect(page.locator("[data-copy-status='new-key']")).to_have_text("Copied.")
        assert page.evaluate("navigator.clipboard.readText()") == key
        assert_accessible(page, "the new key (desktop)")
        fits_the_phone(page, "api-key-shown-once")
        page.reload()
        expect(page.locator("#new-key")).to_have_count(0)
        assert key not in page.content() and api_key.prefix in page.content()

        page.click(".subtabs >> text=Webhooks")
        page.wait_for_url("**/seller/webhooks/**")
        page.click("main a.button:has-text('Add an endpoint')")
        page.fill("#id_url", "http://127.0.0.1:9/hooks")
        page.fill("#id_description", "ERP")
        page.check("input[value='claim.opened']")
        page.check("input[value='refund.paid']")
        assert_accessible(page, "add an endpoint (desktop)")
        fits_the_phone(page, "webhook-add")
        page.click("main form button[type=submit]")
        page.wait_for_url("**/seller/webhooks/?seller=**")
        endpoint = WebhookEndpoint.objects.get(seller=seller)
        assert endpoint.events == ["claim.opened", "refund.paid"] and endpoint.url == "http://127.0.0.1:9/hooks"
        expect(page.locator("#new-secret")).to_have_value(endpoint.secret)
        assert_accessible(page, "the new endpoint's secret (desktop)")
        fits_the_phone(page, "webhook-secret-shown-once")
        page.reload()
        expect(page.locator("#new-secret")).to_have_count(0)
        assert endpoint.secret not in page.content()

        event = WebhookEvent.objects.create(msg_id="msg_browser", type="claim.opened", seller=seller,
                                            claim_number="C-26AB-0001", payload={"type": "claim.opened"},
                                            dedupe_key="browser")
        WebhookDelivery.objects.create(event=event, endpoint=endpoint, status="failed", attempts=8,
                                       last_status_code=503)
        page.click("main a:has-text('Delivery log')")
        page.wait_for_url("**/deliveries/**")
        expect(page.locator("table.deliveries tbody tr")).to_have_count(1)
        assert "HTTP 503" in page.locator("table.deliveries").inner_text()
        assert_accessible(page, "the delivery log (desktop)")
        fits_the_phone(page, "webhook-deliveries")
    finally:
        context.close()


def test_staff_have_no_tab(page, shop):
    _seller, _owner, staff = shop
    log_in(page, staff)
    page.goto("/seller/")
    expect(page.locator("nav.tabs >> text=API & webhooks")).to_have_count(0)
    assert page.goto("/seller/api-keys/").status == 403

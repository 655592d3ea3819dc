"""Two factors in a real browser (issue 18): an agent logs in for the first time, is sent to set up an authenticator
app, reads the key off the page (the test computes the app's code in Python), sees the recovery codes once and lands
in the console; at the next login the code is asked for. A seller owner without two factors sees the recommendation
on the dashboard and turns them on. axe-core on every page, each also at 390 px; screenshots to SCREENSHOTS_DIR."""

import os
import re
from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.tests.two_factor_helpers import code_for_secret, code_to_enter
from claims.tests.admin_factories import make_console_agent
from sellers.models import MembershipRole
from sellers.tests.factories import SellerMembershipFactory, UserFactory
from tests.browser.conftest import assert_accessible, log_in, log_out

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 900}


def check(page, name):
    """axe-core at desktop width and at 390 px (nothing wider than the phone); screenshots of both when asked."""
    target = os.environ.get("SCREENSHOTS_DIR")
    assert_accessible(page, name)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"two-factor-{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways on a phone ({width}px)"
    assert_accessible(page, f"{name} (390 px)")
    if target:
        page.screenshot(path=str(Path(target) / f"two-factor-{name}-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_an_agent_sets_up_two_factors_and_reaches_the_console(page):
    agent = make_console_agent(username="julia", first_name="Julia")
    log_in(page, agent, second_factor=False)
    expect(page).to_have_url(re.compile(r"/account/two-factor/setup/\?next=%2Fadmin%2F$"))
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    check(page, "setup")

    secret = page.inner_text("#totp-secret")
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", secret)
    wrong = str((int(code_for_secret(secret)) + 1) % 10**6).zfill(6)
    page.fill("#id_code", wrong)
    page.fill("#id_confirm", "pw-for-tests-only")
    page.click("main form button[type=submit]")
    expect(page.locator("#form-errors")).to_contain_text("That code does not match")
    expect(page.locator("#form-errors")).to_be_focused()  # taken straight to what went wrong
    assert not TOTPDevice.objects.filter(user=agent).exists()
    check(page, "setup-wrong-code")

    page.fill("#id_code", code_for_secret(secret))
    page.fill("#id_confirm", "pw-for-tests-only")
    page.click("main form button[type=submit]")
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4}-[a-z2-7]{4}", code) for code in codes)
    check(page, "recovery-codes")

    page.click("text=I have saved them, continue")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#user-tools")).to_contain_text("Account security")
    if os.environ.get("SCREENSHOTS_DIR"):
        page.screenshot(path=str(Path(os.environ["SCREENSHOTS_DIR"]) / "two-factor-console.png"))
    page.goto("/account/two-factor/recovery-codes/")  # shown once: not on the page again
    assert not any(code in page.content() for code in codes)

    page.click("header >> text=Account security")
    expect(page.get_by_role("heading", name="Account security")).to_be_visible()
    expect(page.locator("main")).to_contain_text("it stays on")
    check(page, "security-agent")

    # the next login asks for the code
    page.goto("/")
    log_out(page)
    log_in(page, agent, second_factor=False)
    expect(page).to_have_url(re.compile(r"/account/two-factor/verify/"))
    check(page, "verify")
    page.fill("#id_code", code_to_enter(TOTPDevice.objects.get(user=agent)))
    page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))


def test_a_seller_owner_is_recommended_two_factors_and_turns_them_on(page):
    owner = UserFactory(username="shop-owner")
    SellerMembershipFactory(user=owner, role=MembershipRole.OWNER)
    log_in(page, owner)
    page.goto("/seller/")
    notice = page.get_by_role("region", name="Two-factor authentication")
    expect(notice).to_be_visible()
    check(page, "seller-queue-notice")
    notice.get_by_role("link", name="Set up two-factor authentication").click()
    expect(page.get_by_role("heading", name="Account security")).to_be_visible()
    check(page, "security-off")
    page.click("main >> text=Set up two-factor authentication")
    page.fill("#id_code", code_for_secret(page.inner_text("#totp-secret")))
    page.fill("#id_confirm", "pw-for-tests-only")
    page.click("main form button[type=submit]")
    page.click("text=I have saved them, continue")
    page.goto("/seller/")
    expect(page.get_by_role("heading", name="Claims")).to_be_visible()
    expect(page.get_by_text("Recommended for owners:")).to_have_count(0)
    page.goto("/account/security/")
    expect(page.locator("main")).to_contain_text("You have 10 unused recovery codes.")
    check(page, "security-on")

"""A login lockout in a real browser (issue 18): a buyer who mistypes their password five times gets the 429 page
saying how long to wait, with the way to reset the password; an agent finds the pair in the console's "Login
lockouts", clears it, and the buyer logs in. axe-core on both pages, at desktop width and at 390 px."""

import re

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from claims.tests.admin_factories import make_console_agent
from core.models import AuditEvent
from sellers.tests.factories import UserFactory
from tests.browser.conftest import assert_accessible, log_in

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 900}


def check(page, name):
    assert_accessible(page, name)
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways on a phone ({width}px)"
    assert_accessible(page, f"{name} (390 px)")
    page.set_viewport_size(DESKTOP)


def agent_who_clears_lockouts():
    agent = make_console_agent(username="julia", first_name="Julia")
    # (a transactional test rebuilds the agents group from the claims migration alone: give it what accounts 0002
    # gives it in every real database)
    agent.groups.get(name="agents").permissions.add(*Permission.objects.filter(
        content_type__app_label="axes", codename__in=["view_accessattempt", "delete_accessattempt"]))
    return agent


def test_a_locked_out_buyer_is_told_how_long_to_wait_and_an_agent_clears_it(page, browser, live_server):
    buyer = UserFactory(username="erika")
    page.goto("/accounts/login/")
    for attempt in range(5):
        page.fill("#id_username", "Erika")
        page.fill("#id_password", "not-my-password")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        if attempt < 4:
            expect(page.locator(".form-errors")).to_be_visible()
    expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Please wait 1 minute")
    expect(page.get_by_role("link", name="Forgot your password?")).to_be_visible()
    check(page, "lockout page")

    console = browser.new_context(viewport=DESKTOP, base_url=live_server.url).new_page()
    log_in(console, agent_who_clears_lockouts())
    console.goto("/admin/axes/accessattempt/?locked=yes")
    row = console.locator("#result_list tbody tr", has_text="erika")
    expect(row).to_contain_text("Yes")
    check(console, "login lockouts")
    row.locator("input[type=checkbox]").check()
    console.select_option("select[name=action]", "clear_lockouts")
    console.click("button[name=index]")
    expect(console.locator(".messagelist")).to_contain_text("1 lockout cleared")
    expect(console.locator("#result_list")).to_have_count(0)
    assert AuditEvent.objects.filter(kind="lockout_cleared", subject_user=buyer).count() == 1

    page.goto("/accounts/login/")
    page.fill("#id_username", "erika")
    page.fill("#id_password", "pw-for-tests-only")
    page.click("main button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))

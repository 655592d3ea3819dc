"""Two agents on one claim in a real browser: each sees the other, and a submit on a page that went stale is held back
with the warning; reloading first keeps the text typed (static/js/console-presence.js)."""

import pytest
from playwright.sync_api import expect

from claims.models import Message
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import claim_world
from tests.browser.conftest import assert_accessible, log_in

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGE_FORM = "form[action$='/act/message/']"


def test_two_agents_see_each_other_and_a_stale_submit_is_held(page, browser, live_server, settings):
    settings.CONSOLE_PRESENCE_POLL_SECONDS = 1  # the page's heartbeat, every second here
    claim = claim_world("escalated").claim
    julia = make_console_agent(username="julia", first_name="Julia", last_name="Neumann")
    tom = make_console_agent(username="tom", first_name="Tom", last_name="Berg")
    url = f"/admin/claims/claim/{claim.pk}/change/"

    log_in(page, julia)
    page.goto(url)
    julias = page.locator("[data-presence-others]")
    expect(julias).to_have_text("Nobody else has this claim open.")
    assert page.locator("#console-presence").get_attribute("data-interval") == "1"

    context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=live_server.url)
    try:
        other = context.new_page()
        other.set_default_timeout(15_000)
        log_in(other, tom)
        other.goto(url)
        # Tom's page says at once who is there; Julia's learns it at her next heartbeat.
        expect(other.locator("[data-presence-others]")).to_have_text("Julia Neumann also has this claim open.")
        expect(julias).to_have_text("Tom Berg also has this claim open.")
        assert julias.get_attribute("aria-live") == "polite"

        # Tom starts a message to both parties; meanwhile Julia saves an internal note (her page is current).
        tom_form = other.locator(MESSAGE_FORM)
        tom_form.locator("input[name=visibility][value=public]").check()
        tom_form.locator("textarea[name=body]").fill("We are checking the tracking with the carrier.")
        page.locator(MESSAGE_FORM).locator("textarea[name=body]").fill("Buyer called: wants a refund.")
        page.locator(MESSAGE_FORM).locator("[type=submit]").click()
        page.wait_for_load_state()
        expect(page.locator(".console-thread, #content")).to_contain_text("Buyer called: wants a refund.")
        assert Message.objects.filter(claim=claim, is_internal=True).count() == 1

        # Tom's submit is held: the claim changed since his page loaded.
        tom_form.locator("[type=submit]").click()
        warning = other.locator("[data-presence-warning]")
        expect(warning).to_contain_text("This claim changed since you opened it: New internal note by Julia Neumann (")
        expect(warning).to_contain_text("Reload to see it; your text is kept.")
        expect(warning).to_be_focused()
        expect(other.get_by_role("button", name="Reload first (keeps your text)")).to_be_visible()
        expect(other.get_by_role("button", name="Submit anyway")).to_be_visible()
        other.wait_for_timeout(2_500)  # heartbeats meanwhile keep the held submit's two choices
        expect(other.get_by_role("button", name="Reload first (keeps your text)")).to_be_visible()
        assert Message.objects.filter(claim=claim, author=tom).count() == 0
        assert_accessible(other, "console claim page with the collision warning")

        # Reloading first keeps his text and his choice of a message to both parties, and shows Julia's note.
        other.get_by_role("button", name="Reload first (keeps your text)").click()
        other.wait_for_load_state()
        expect(other.locator("#content")).to_contain_text("Buyer called: wants a refund.")
        tom_form = other.locator(MESSAGE_FORM)
        expect(tom_form.locator("textarea[name=body]")).to_have_value("We are checking the tracking with the carrier.")
        expect(tom_form.locator("input[name=visibility][value=public]")).to_be_checked()
        expect(other.locator("[data-presence-restored]")).to_have_text("Your unsent text is back in its field.")
        expect(other.locator("[data-presence-banner]")).to_be_hidden()

        # Now current, his submit goes through; Julia's heartbeat tells her, with a plain Reload.
        tom_form.locator("[type=submit]").click()
        other.wait_for_load_state()
        expect(other.locator("#content")).to_contain_text("We are checking the tracking with the carrier.")
        assert Message.objects.filter(claim=claim, author=tom, is_internal=False).count() == 1
        expect(page.locator("[data-presence-warning]")).to_contain_text(
            "This claim changed since you opened it: New message by Tom Berg (")
        expect(page.get_by_role("button", name="Reload", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Submit anyway")).to_be_hidden()
    finally:
        context.close()

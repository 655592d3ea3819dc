"""An appeal in a real browser (issue 16): agent A denies a claim in the support console, the buyer appeals with a
reason, the appeal goes to agent B, who decides it on the same decide page; the buyer reads that the decision is
final. The buyer's pages pass axe-core at desktop and phone widths."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from claims.models import Appeal
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import claim_world
from tests.browser.conftest import assert_accessible, log_in, log_out

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 900}
REASON = "The photos show the hinge was cracked when it arrived: it was not as described."


def test_a_denial_appealed_by_the_buyer_and_decided_by_a_second_agent(page):
    world = claim_world("escalated", reason="not_as_described")
    claim = world.claim
    julia = make_console_agent(username="julia", first_name="Julia", last_name="Neumann")
    omar = make_console_agent(username="omar", first_name="Omar", last_name="Haddad")
    # the two of them are the support team (the scene's own agent escalated it and is away)
    get_user_model().objects.filter(pk=world.agent.pk).update(is_active=False)
    page.on("dialog", lambda dialog: dialog.accept())  # "Send your appeal? ..." (data-confirm)

    # Agent A denies the claim in the console.
    log_in(page, julia)
    page.goto(f"/admin/claims/claim/{claim.pk}/act/decide/")
    page.select_option("select[name=outcome]", "denied")
    page.select_option("select[name=denial_reason]", "as_described")
    page.fill("textarea[name=note]", "The listing shows this condition.")
    page.click("#console-action-form input[type=submit]")
    page.wait_for_load_state()
    claim.refresh_from_db()
    assert (claim.state, claim.outcome) == ("resolved", "denied")
    log_out(page)

    # The buyer appeals with a reason.
    log_in(page, world.buyer)
    page.goto(f"/claims/{claim.number}/")
    panel = page.locator("#appeal")
    expect(panel).to_contain_text("Appeal our decision")
    expect(panel.locator("#appeal-until")).to_contain_text("You can appeal until")
    assert_accessible(page, "buyer claim page with the appeal form")
    page.set_viewport_size(PHONE)
    assert_accessible(page, "buyer claim page with the appeal form on a phone")
    page.set_viewport_size(DESKTOP)
    page.click("#appeal button[type=submit]")  # without a reason: refused, nothing sent
    page.wait_for_load_state()
    expect(page.locator("#appeal")).to_contain_text("Please say why the decision should change.")
    assert not Appeal.objects.exists()
    page.fill("#id_appeal-reason", REASON)
    page.click("#appeal button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("Your appeal was sent.")
    expect(page.locator("#appeal")).to_contain_text("Appeal against our decision")
    expect(page.locator(".timeline")).to_contain_text(REASON)
    claim.refresh_from_db()
    assert (claim.state, claim.escalation_cause, claim.assigned_to) == ("escalated", "appeal", omar)
    log_out(page)

    # Agent A may not decide the appeal: the console does not offer it.
    log_in(page, julia)
    page.goto(f"/admin/claims/claim/{claim.pk}/change/")
    expect(page.locator(".case-appeal")).to_contain_text("Appeal by the buyer")
    expect(page.locator(".case-actions")).not_to_contain_text("Decide")
    log_out(page)

    # Agent B decides it on the decide page: a partial refund the seller pays.
    log_in(page, omar)
    page.goto(f"/admin/claims/claim/{claim.pk}/act/decide/")
    expect(page.locator(".console-appeal")).to_contain_text("This is an appeal")
    expect(page.locator(".console-appeal")).to_contain_text(REASON)
    expect(page.locator(".console-appeal")).to_contain_text("decided by Julia Neumann")
    assert_accessible(page, "decide page of an appeal")
    page.select_option("select[name=outcome]", "partial_refund")
    page.fill("input[name=amount]", "60.00")
    page.check("input[name=funded_by][value=seller]")
    page.fill("textarea[name=note]", "The cracked hinge is visible in the first photo.")
    page.click("#console-action-form input[type=submit]")
    page.wait_for_load_state()
    claim.refresh_from_db()
    assert (claim.state, claim.outcome, str(claim.refund_amount)) == ("resolved", "partial_refund", "60.00")
    assert Appeal.objects.get().status == "changed"
    log_out(page)

    # The buyer reads the outcome: final.
    log_in(page, world.buyer)
    page.goto(f"/claims/{claim.number}/")
    panel = page.locator("#appeal")
    expect(panel).to_contain_text("The appeal was decided")
    expect(panel).to_contain_text("This decision is final")
    expect(page.locator(".timeline")).to_contain_text("Appeal decided: the decision was changed to Partial refund")
    assert page.locator("#appeal form").count() == 0
    assert_accessible(page, "buyer claim page with the appeal decided")
    page.set_viewport_size(PHONE)
    assert_accessible(page, "buyer claim page with the appeal decided on a phone")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

"""The decide page in a real browser: the fields follow the outcome (static/js/console-decide.js), a canned reply is
inserted into the decision note in the chosen language (static/js/console-macros.js) and counted once the decision
is saved; the page passes axe at desktop and phone widths."""

import pytest
from playwright.sync_api import expect

from claims.models import Macro, MacroText
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import claim_world
from sellers.models import LedgerEntry
from tests.browser.conftest import assert_accessible, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_deciding_with_the_fields_that_apply_and_a_canned_note(page):
    world = claim_world("escalated", reason="not_as_described")  # every outcome open (no defect type to classify)
    claim = world.claim
    agent = make_console_agent(username="julia", first_name="Julia", last_name="Neumann")
    macro = Macro.objects.create(name="Refund decided")
    MacroText.objects.bulk_create([
        MacroText(macro=macro, language="en", body="Claim {claim_number} is justified: {refundable} back."),
        MacroText(macro=macro, language="de", body="Die Reklamation {claim_number} ist berechtigt."),
    ])

    log_in(page, agent)
    page.goto(f"/admin/claims/claim/{claim.pk}/act/decide/")
    amount, denial = page.locator(".field-amount"), page.locator(".field-denial_reason")
    payers, needs_return = page.locator(".field-funded_by"), page.locator(".field-needs_return")
    # nothing chosen yet: only the outcome and the note
    for row in (amount, denial, payers, needs_return):
        expect(row).to_be_hidden()
    expect(page.locator("textarea[name=note]")).to_be_visible()
    assert_accessible(page, "decide page")

    page.select_option("select[name=outcome]", "denied")
    expect(denial).to_be_visible()
    for row in (amount, payers, needs_return):
        expect(row).to_be_hidden()

    page.select_option("select[name=outcome]", "refund")
    expect(payers).to_be_visible()
    expect(needs_return).to_be_visible()
    expect(denial).to_be_hidden()
    expect(amount).to_be_hidden()  # a refund is everything still refundable
    expect(page.locator("[data-show-for=refund]")).to_contain_text("€199.00")
    page.select_option("select[name=outcome]", "partial_refund")
    expect(amount).to_be_visible()
    expect(amount).to_contain_text("Maximum refundable: €199.00.")
    page.fill("input[name=amount]", "20.00")  # typed, then the outcome changes: a hidden amount is not sent
    page.select_option("select[name=outcome]", "refund")

    page.check("input[name=funded_by][value=goodwill]")
    picker = page.locator("#macros-id_note")
    expect(picker).to_be_visible()
    assert picker.locator("select[data-macro-language]").input_value() == "en"  # the agent's language
    picker.locator("select[data-macro-select]").select_option(label="Refund decided")
    picker.locator("select[data-macro-language]").select_option("de")
    picker.locator("select[data-macro-language]").select_option("en")
    page.fill("textarea[name=note]", "Checked. ")
    page.locator("textarea[name=note]").evaluate("area => area.setSelectionRange(area.value.length, area.value.length)")
    picker.locator("[data-macro-insert]").click()
    expect(page.locator("textarea[name=note]")).to_have_value(
        f"Checked. Claim {claim.number} is justified: €199.00 back.")
    expect(picker.locator("[data-macro-status]")).to_have_text("Inserted into the text.")

    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page, "decide page on a phone")
    page.click("#console-action-form input[type=submit]")
    page.wait_for_load_state()

    claim.refresh_from_db()
    assert (claim.state, claim.outcome, claim.funded_by) == ("resolved", "refund", "platform")
    assert claim.refunds.get().amount == claim.claimed_value()  # the hidden 20.00 was not sent
    assert not LedgerEntry.objects.filter(claim=claim).exists()  # the platform bears it
    assert claim.decision_note == f"Checked. Claim {claim.number} is justified: €199.00 back."
    macro.refresh_from_db()
    assert macro.usage_count == 1 and macro.last_used_at is not None

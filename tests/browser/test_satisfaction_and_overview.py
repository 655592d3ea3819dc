"""The satisfaction survey from its email link on a phone, and the console overview on a desktop and a phone, in a real
browser with axe-core."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from claims import services
from claims.models import OutboundEmail, SatisfactionResponse
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import claim_world
from tests.browser.conftest import assert_accessible, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def recently() -> dt.datetime:
    """Inside the survey link's days and the overview's window."""
    return timezone.now() - dt.timedelta(days=2)


def test_the_survey_from_the_email_on_a_phone(page):
    world = claim_world("resolved", at=recently())
    email = OutboundEmail.objects.get(claim=world.claim, event="satisfaction", to_email=world.buyer.email)
    link = re.search(r"https?://[^/\s]+(/claims/survey/\S+\?rating=2)", email.body_text).group(1)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(link)  # no login
    assert page.is_checked("input[name=rating][value='2']")
    assert_accessible(page, "survey")
    page.click("label:has-text('5 – excellent')")
    page.fill("textarea[name=comment]", "Quick and fair, thank you.")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h2:has-text('Thank you for your answer')").is_visible()
    assert_accessible(page, "survey answered")
    answer = SatisfactionResponse.objects.get()
    assert (answer.rating, answer.comment, answer.agent_id) == (5, "Quick and fair, thank you.", world.agent.pk)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_console_overview(page, width):
    claim_world("in_progress", at=recently())
    world = claim_world("escalated", at=recently())
    services.decide(claim=world.claim, by=world.agent, outcome="refund", funded_by="platform")
    services.record_satisfaction(claim=world.claim, party="buyer", rating=4)
    agent = make_console_agent()
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, agent)
    page.goto("/admin/")
    overview = page.locator("#console-overview")
    assert overview.is_visible()
    assert page.locator("#console-overview svg[role=img]").count() == 5
    page.click("#chart-days-heading ~ details summary")
    assert page.locator("#chart-days-heading ~ details table").is_visible()
    assert_accessible(page, f"console overview at {width}")

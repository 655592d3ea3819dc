"""The console's decide page: the agent decides with the evidence, the conversation in brief and the maximum
refundable per item (after earlier refunds) in view; the fields follow the outcome; who pays is one choice of three,
handed to claims.services.decide as funded_by and recover_from_seller."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import services
from claims.decision import decision_context
from claims.models import Claim
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim, photo
from sellers.models import LedgerEntry

pytestmark = pytest.mark.django_db
NOW = OPENED_AT + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def agent():
    return make_console_agent(first_name="Julia", last_name="Neumann")


def decide_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_act", kwargs={"object_id": claim.pk, "action": "decide"})


def test_the_page_shows_the_evidence_the_conversation_and_what_is_left_to_refund(client, agent):
    world = claim_world("escalated")
    claim = world.claim
    services.post_message(claim=claim, by=world.buyer, body="It flickers whenever the lid moves.",
                          attachments=[photo("lid.jpg")])
    services.post_message(claim=claim, by=agent, body="Seller had three of these this month.", internal=True)
    services.make_offer(claim=claim, by=agent, kind="replacement", note="A new unit from stock.")
    client.force_login(agent)
    page = client.get(decide_url(claim)).content.decode()

    for evidence in claim.evidence.all():
        assert reverse("claims:evidence_thumbnail", kwargs={"pk": evidence.pk}) in page
        assert reverse("claims:evidence", kwargs={"pk": evidence.pk}) in page
    assert "Buyer: 1" in page and "Internal notes: 1" in page
    assert "Escalated by an agent" in page and "Seller inaction" in page
    assert "Replacement" in page and "Pending" in page
    assert "It flickers whenever the lid moves." in page and "Seller had three of these this month." in page
    item = claim.items.get().order_item
    room = re.search(r'aria-labelledby="decide-room-heading">(.*?)</section>', page, re.S).group(1)
    assert f"1 × {item.title}" in room and "199.00" in room and "amounts in EUR" in room
    assert re.search(r"Total.*?€199\.00", room, re.S)
    assert "Maximum refundable: €199.00." in page  # next to the amount field


def test_the_maximum_refundable_per_item_counts_earlier_refunds(agent):
    order = delivered_order(items=2)
    first, second = order.items.order_by("pk")
    earlier = open_defective_claim(order=order, items=[first])
    services.escalate(claim=earlier, by=agent, reason="Seller inaction")
    services.classify_defect(claim=earlier, by=agent, defect_type="irremovable")
    services.decide(claim=earlier, by=agent, outcome="partial_refund", funded_by="seller", amount="50.00")
    later = open_defective_claim(order=order, at=NOW, description="Now the other one fails too.")
    services.escalate(claim=later, by=agent, reason="Seller inaction")

    context = decision_context(later)
    lines = {line.title: (line.paid, line.refunded, line.left) for line in context.room}
    assert lines[first.title] == (Decimal("199.00"), Decimal("50.00"), Decimal("149.00"))
    assert lines[second.title] == (Decimal("199.00"), Decimal("0.00"), Decimal("199.00"))
    assert context.refundable == sum((left for _paid, _done, left in lines.values()), Decimal("0.00"))
    assert context.currency == "EUR"


def test_the_fields_follow_the_outcome(client, agent):
    world = claim_world("escalated")
    client.force_login(agent)
    page = client.get(decide_url(world.claim)).content.decode()
    assert "js/console-decide.js" in page and 'data-outcome-switch="outcome"' in page
    outcomes = page.split('name="outcome"')[1].split("</select>")[0]
    assert re.search(r'<option value="" selected>Choose the outcome</option>', outcomes)

    def row(field: str) -> str:
        return re.search(rf'<[^>]*class="form-row field-{field}[^"]*"[^>]*>', page).group(0)

    assert 'data-show-for="denied"' in row("denial_reason")
    assert 'data-show-for="partial_refund discount"' in row("amount")
    assert 'data-show-for="refund partial_refund discount"' in row("needs_return")
    assert 'data-show-for="refund partial_refund discount replacement repair"' in row("funded_by")
    assert "data-show-for" not in row("outcome") and "data-show-for" not in row("note")
    # who pays: one radio group, with its legend
    payers = re.search(r"<fieldset[^>]*field-funded_by.*?</fieldset>", page, re.S).group(0)
    assert "<legend>Who pays</legend>" in payers
    assert re.findall(r'name="funded_by" value="(\w+)"', payers) == ["seller", "platform", "goodwill"]
    for label in ("The seller pays (deducted from the seller&#x27;s payouts)",
                  "The platform pays and recovers it from the seller",
                  "The platform pays and bears the cost (goodwill)"):
        assert label in payers
    assert 'name="recover_from_seller"' not in page


@pytest.mark.parametrize(("payer", "funded_by", "recovered", "logged"), [
    ("seller", "seller", False, "paid by the seller"),
    ("platform", "platform", True, "paid by the platform, recovered from the seller"),
    ("goodwill", "platform", False, "paid by the platform, which bears the cost"),
])
def test_who_pays_is_one_choice(client, agent, payer, funded_by, recovered, logged):
    world = claim_world("escalated")
    client.force_login(agent)
    response = client.post(decide_url(world.claim), {"outcome": "refund", "funded_by": payer, "note": ""})
    assert response.status_code == 302
    claim = world.refresh()
    assert (claim.state, claim.funded_by, claim.refunds.get().amount) == ("resolved", funded_by, Decimal("199.00"))
    assert LedgerEntry.objects.filter(claim=claim, kind="refund_recovery").exists() == recovered
    assert logged in LogEntry.objects.get(object_id=str(claim.pk)).change_message


def test_a_denial_ignores_who_pays_and_the_amount_sent_along(client, agent):
    """Without JavaScript every field is sent; the service keeps what applies to the outcome."""
    world = claim_world("escalated")
    client.force_login(agent)
    response = client.post(decide_url(world.claim), {
        "outcome": "denied", "denial_reason": "normal_wear", "funded_by": "goodwill", "amount": "10.00",
        "needs_return": "on"})
    assert response.status_code == 302
    claim = world.refresh()
    assert (claim.outcome, claim.funded_by, claim.refund_amount, claim.state) == ("denied", "", None, "resolved")
    assert not claim.refunds.exists() and not LedgerEntry.objects.filter(claim=claim).exists()


def test_no_outcome_chosen_is_refused_and_nothing_changes(client, agent):
    world = claim_world("escalated")
    client.force_login(agent)
    response = client.post(decide_url(world.claim), {"outcome": "", "funded_by": "seller"})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert world.refresh().state == "escalated"


def test_the_pages_queries_do_not_grow_with_the_conversation(client, agent):
    world = claim_world("escalated")
    client.force_login(agent)
    url = decide_url(world.claim)
    client.get(url)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = queries()
    for n in range(8):
        services.post_message(claim=world.claim, by=world.buyer, body=f"Message {n}", attachments=[photo()])
        services.post_message(claim=world.claim, by=agent, body=f"Note {n}", internal=True)
    services.make_offer(claim=world.claim, by=agent, kind="replacement")
    assert queries() == few

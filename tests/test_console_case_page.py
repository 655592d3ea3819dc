"""The console's claim page built for work and the lists that fit (issue 15), without a browser: buyers named in lists
("Anna B. · a***@e***.com"), yes/no in words everywhere in the console, the conversation as one stream that says each
thing once, the raw field list for superusers only, and a query count that does not grow with the conversation.
tests/browser/test_console_workspace.py looks at the same pages in Chromium."""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import services
from claims.tests.admin_factories import make_console_agent, make_superuser
from claims.tests.factories import OPENED_AT, claim_world, photo
from core.console import buyer_label, yes_no

pytestmark = pytest.mark.django_db
NOW = OPENED_AT + dt.timedelta(days=2)
ICONS = re.compile(r'src="[^"]*/admin/img/icon-(?:yes|no|unknown)\.svg"[^>]*alt="(?:True|False|None)"')


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def agent():
    return make_console_agent(first_name="Julia", last_name="Neumann")


def page_of(client, user, claim) -> str:  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.get(reverse("admin:claims_claim_change", args=[claim.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(("first", "last", "email", "label"), [
    ("Anna", "Becker", "anna.becker@example.com", "Anna B. · a***@e***.com"),
    ("Anna", "", "anna@example.com", "Anna · a***@e***.com"),
    ("", "Becker", "anna@example.com", "a***@e***.com"),  # a last name alone would say too much
    ("  ", "", "anna@example.com", "a***@e***.com"),
    ("Anna", "Becker", "", "Anna B. · —"),
])
def test_a_buyer_in_a_list_is_a_first_name_an_initial_and_a_masked_email(first, last, email, label):
    assert buyer_label(SimpleNamespace(first_name=first, last_name=last, email=email)) == label


def test_yes_and_no_are_words():
    assert (yes_no(True), yes_no(False), yes_no(None)) == ("Yes", "No", "—")


def test_the_lists_tell_buyers_apart_by_name(client, agent):
    world = claim_world("escalated")
    buyer = world.buyer
    buyer.first_name, buyer.last_name = "Anna", "Becker"
    buyer.save()
    services.assign(claim=world.claim, by=agent, agent=agent)
    client.force_login(agent)
    expected = f"Anna B. · {buyer.email[0]}***@e***.com"
    for url in (reverse("admin:claims_claim_changelist"), reverse("admin:claims_claim_queue")):
        page = client.get(url).content.decode()
        assert expected in page and buyer.email not in page, url
        assert "Julia Neumann" in page


def test_the_claim_page_is_built_for_work(client, agent):
    world = claim_world("escalated")
    claim = world.claim
    services.assign(claim=claim, by=agent, agent=agent)
    services.post_message(claim=claim, by=agent, body="Compare the dispatch photo with the buyer's.", internal=True)
    services.request_info(claim=claim, by=agent, party="buyer", question="Which cable did you use?")
    page = page_of(client, agent, claim)

    # The header: who must act and the countdown to the deadline that matters now; the assignee.
    assert f"Claim {claim.number}" in page and "Who must act" in page and "Julia Neumann" in page
    assert 'class="countdown case-countdown' in page
    # One stream: the question is said once, in the agent's message that carries the transition's words.
    assert page.count("Which cable did you use?") == 1
    assert "Information requested" in page and "Internal note" in page
    stream = page.split('class="case-stream"')[1].split("</ol>")[0]
    assert stream.index("Claim opened") < stream.index("Passed to the platform") < stream.index("Which cable")
    # Facts beside it, yes/no in words; the admin's own field rows are not there for an agent.
    assert "First reply missed" in page and "Still refundable" in page
    assert 'class="form-row' not in page and "All fields" not in page
    assert not ICONS.search(page)
    # The macro picker's hidden field is part of the message form.
    assert 'name="macro"' in page


def test_decide_comes_first_and_is_the_primary_action(client, agent):
    claim = claim_world("escalated").claim
    page = page_of(client, agent, claim)
    actions = page.split('class="case-actions"')[1].split("</nav>")[0]
    first = re.search(r'<(?:a|input)[^>]*class="button([^"]*)"[^>]*>', actions)
    assert "default" in first.group(1)
    assert reverse("admin:claims_claim_act", kwargs={"object_id": claim.pk, "action": "decide"}) in first.group(0)


def test_superusers_keep_every_field_collapsed_and_in_words(client):
    claim = claim_world("in_progress").claim
    page = page_of(client, make_superuser(), claim)
    all_fields = page.split('class="console-all-fields"')[1]
    assert "All fields" in all_fields and 'class="form-row' in all_fields
    assert "First reply breached" in all_fields and "Decision target missed" in all_fields
    assert not ICONS.search(page)


def test_other_console_pages_say_yes_and_no_in_words(client, agent):
    world = claim_world("resolved")
    client.force_login(agent)
    for url in (reverse("admin:orders_order_change", args=[world.claim.order_id]),
                reverse("admin:sellers_seller_changelist"),
                reverse("admin:sellers_seller_change", args=[world.claim.seller_id]),
                reverse("admin:claims_expertassessment_changelist")):
        page = client.get(url).content.decode()
        assert not ICONS.search(page), url


def test_the_page_costs_the_same_queries_however_long_the_conversation(client, agent, settings):
    settings.CONSOLE_SELLER_RECORD_CACHE_SECONDS = 0  # both sellers counted (kept: test_history.py)
    short = claim_world("escalated").claim
    long = claim_world("escalated").claim
    for n in range(12):
        services.post_message(claim=long, by=agent, body=f"Note {n}", internal=True,
                              attachments=[photo(f"p{n}.jpg")] if n % 3 == 0 else ())
    for claim in (short, long):
        services.assign(claim=claim, by=agent, agent=agent)
    client.force_login(agent)

    def count(claim) -> int:  # type: ignore[no-untyped-def]
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("admin:claims_claim_change", args=[claim.pk])).status_code == 200
        return len(queries)

    count(short)  # warm caches (content types, permissions) alike for both
    assert count(long) == count(short)


def test_the_page_reads_the_claim_and_its_order_once(client, agent):
    """The admin's own change form gets the claim the page read with everything prefetched (no second read of the
    row), and what is left to refund is shown from the page's rows, not the order read again."""
    world = claim_world("escalated", defect_type="removable")
    client.force_login(agent)
    url = reverse("admin:claims_claim_change", args=[world.claim.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    claim_reads = [q["sql"] for q in queries if re.match(r'SELECT "claims_claim"\."id", "claims_claim"\."number"',
                                                         q["sql"])]
    assert len(claim_reads) == 1, claim_reads
    order_reads = [q["sql"] for q in queries if re.match(r'SELECT "orders_order"\.', q["sql"])]
    assert order_reads == []  # the order comes with the claim (select_related)
    assert world.claim.number in page


def test_the_facts_say_when_the_decision_target_is_paused_or_past(client, agent):
    world = claim_world("escalated")
    page = page_of(client, agent, world.claim)
    assert "Decision due" in page and "Last decision target" not in page
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        services.request_info(claim=world.refresh(), by=world.agent, party="buyer", question="Which colour was it?")
        page = page_of(client, agent, world.refresh())
    assert "Decision due" not in page
    assert "Last decision target" in page and "paused while we wait for the answer" in page

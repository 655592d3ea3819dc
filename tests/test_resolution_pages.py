"""The written resolution's printable pages (the buyer's, the seller dashboard's, the console's: one content,
claims.resolution) and who may open them; the buyer's page of a denied warranty claim with the expert assessment:
the button that says what it costs, the request, and the list of costs with its due date."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from claims import services
from claims.models import ExpertAssessment
from claims.tests.admin_factories import make_console_agent, make_finance, make_plain_staff
from claims.tests.factories import OPENED_AT, claim_world
from core import formatting

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


@pytest.fixture
def denied():
    world = claim_world("escalated")
    with time_machine.travel(OPENED_AT + 2 * D, tick=False):
        services.decide(claim=world.claim, by=world.agent, outcome="denied", denial_reason="cosmetic_wear",
                        note="Scratches within grade B.")
    world.refresh()
    return world


def urls(claim) -> dict[str, str]:
    return {
        "buyer": reverse("claims:resolution", kwargs={"number": claim.number}),
        "seller": reverse("sellers:resolution", kwargs={"number": claim.number}),
        "console": reverse("admin:claims_claim_resolution", args=[claim.pk]),
    }


LOGIN = "login"
ADMIN_LOGIN = "admin-login"
# who -> (buyer page, seller page, console page)
EXPECTED = {
    "anonymous": (LOGIN, LOGIN, ADMIN_LOGIN),
    "buyer": (200, 404, ADMIN_LOGIN),
    "other_buyer": (404, 404, ADMIN_LOGIN),
    "staff": (404, 200, ADMIN_LOGIN),
    "other_staff": (404, 404, ADMIN_LOGIN),
    "agent": (404, 404, 200),
    "finance": (404, 404, 200),  # finance see claims read-only in the console
    "plain_staff": (404, 404, 403),
}


def status(response) -> object:
    if response.status_code == 302:
        return ADMIN_LOGIN if response["Location"].startswith(reverse("admin:login")) else LOGIN
    return response.status_code


@pytest.mark.parametrize("who", list(EXPECTED))
def test_who_may_open_the_printable_resolution(client, denied, who):
    people = {"anonymous": None, "buyer": denied.buyer, "other_buyer": denied.other_buyer, "staff": denied.staff,
              "other_staff": denied.other_staff, "agent": make_console_agent(), "finance": make_finance(),
              "plain_staff": make_plain_staff()}
    if people[who] is not None:
        client.force_login(people[who])
    pages = urls(denied.claim)
    got = tuple(status(client.get(pages[page])) for page in ("buyer", "seller", "console"))
    assert got == EXPECTED[who]
    for page, code in zip(("buyer", "seller", "console"), got, strict=True):
        if code != 200:
            assert denied.claim.number.encode() not in client.get(pages[page]).content


def test_the_three_pages_say_the_same(client, denied):
    agent = make_console_agent()
    pages = urls(denied.claim)
    for person, page in ((denied.buyer, "buyer"), (denied.staff, "seller"), (agent, "console")):
        client.force_login(person)
        text = client.get(pages[page]).content.decode()
        for words in ("Your claim was denied.", "Reasons for the denial", "Scratches within grade B.",
                      "The claim took 2 days", "data-print", "css/resolution.css"):
            assert words in text, (page, words)


def test_the_resolved_claim_pages_link_to_it(client, denied):
    pages, number = urls(denied.claim), denied.claim.number
    for person, claim_page, page in ((denied.buyer, reverse("claims:detail", kwargs={"number": number}), "buyer"),
                                     (denied.staff, reverse("sellers:claim", kwargs={"number": number}), "seller"),
                                     (make_console_agent(), reverse("admin:claims_claim_change",
                                                                    args=[denied.claim.pk]), "console")):
        client.force_login(person)
        assert pages[page] in client.get(claim_page).content.decode()


def test_an_open_claim_has_no_resolution_yet(client):
    world = claim_world("in_progress")
    client.force_login(world.buyer)
    response = client.get(urls(world.claim)["buyer"])
    assert response.status_code == 200 and "is not resolved yet" in response.content.decode()
    detail = client.get(reverse("claims:detail", kwargs={"number": world.claim.number})).content.decode()
    assert urls(world.claim)["buyer"] not in detail


def test_the_buyer_asks_for_an_expert_knowing_what_it_costs(client, denied):
    client.force_login(denied.buyer)
    detail = reverse("claims:detail", kwargs={"number": denied.claim.number})
    page = client.get(detail).content.decode()
    ask = reverse("claims:request_expert", kwargs={"number": denied.claim.number})
    assert ask in page
    assert "If the expert finds it unjustified, you pay all the costs of the assessment, including transport, within " \
           "30 days of receiving the list of costs." in page
    assert client.get(ask).status_code == 405  # a change is a POST
    with time_machine.travel(OPENED_AT + 3 * D, tick=False):
        response = client.post(ask)
    assert response.status_code == 302
    assessment = ExpertAssessment.objects.get(claim=denied.claim)
    page = client.get(detail).content.decode()
    assert "Waiting for the expert&#x27;s result" in page and ask not in page
    with time_machine.travel(OPENED_AT + 4 * D, tick=False):  # a second request is refused, with the reason
        client.post(ask)
    assert "under way" in client.get(detail).content.decode()
    assert ExpertAssessment.objects.filter(claim=denied.claim).count() == 1
    # the expert finds against the buyer: the list of costs and its due date on the page
    with time_machine.travel(OPENED_AT + 10 * D, tick=False):
        services.conclude_expert_assessment(assessment=assessment, by=denied.agent, result="unjustified")
        services.add_expert_cost(assessment=assessment, by=denied.agent, description="Expert's fee", amount="80.00")
        services.send_expert_costs(assessment=assessment, by=denied.agent)
    page = client.get(detail).content.decode()
    assert "Expert&#x27;s fee" in page and "€80.00" in page
    assert f"Please pay €80.00 by {formatting.day(dt.date(2026, 4, 19))}" in page  # sent on 20 March, 30 days


def test_nobody_else_may_ask(client, denied):
    ask = reverse("claims:request_expert", kwargs={"number": denied.claim.number})
    for person in (denied.other_buyer, denied.staff, make_console_agent()):
        client.force_login(person)
        assert client.post(ask).status_code == 404
    assert not ExpertAssessment.objects.exists()


def test_the_seller_starts_and_concludes_one_on_the_dashboard(client):
    world = claim_world("in_progress")
    client.force_login(world.staff)
    claim_url = reverse("sellers:claim", kwargs={"number": world.claim.number})
    page = client.get(claim_url).content.decode()
    start = reverse("sellers:start_expert", kwargs={"number": world.claim.number})
    assert f'action="{start}"' in page
    with time_machine.travel(OPENED_AT + D, tick=False):
        assert client.post(start, {"expert-expert": "Lab Ost"}).status_code == 302
    page = client.get(claim_url).content.decode()
    conclude = reverse("sellers:conclude_expert", kwargs={"number": world.claim.number})
    assert conclude in page and "Lab Ost" in page and f'action="{start}"' not in page
    with time_machine.travel(OPENED_AT + 3 * D, tick=False):
        assert client.post(conclude, {}).status_code == 400  # the result is required
        assert client.post(conclude, {"expert_result-result": "justified"}).status_code == 302
    assert ExpertAssessment.objects.get(claim=world.claim).result == "justified"


def test_a_page_at_phone_width_keeps_its_viewport_and_headings(client, denied):
    client.force_login(denied.buyer)
    page = client.get(urls(denied.claim)["buyer"]).content.decode()
    assert 'name="viewport" content="width=device-width' in page
    assert page.count("<h1") == 1 and 'aria-labelledby="resolution-title"' in page
    assert settings.LANGUAGE_CODE.startswith("en")

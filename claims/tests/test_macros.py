"""Canned replies (claims.macros): filled in for a claim in each language (falling back to the default language's
text), every variable, unknown variables refused in the admin, the picker on the claim page for agents only, and
the use counted when the message, note or decision that used a macro is saved, never when it is not."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import macros
from claims.models import Claim, Macro, MacroText
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import OPENED_AT, claim_world
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
NOW = OPENED_AT + dt.timedelta(days=1)
DUE = dt.datetime(2026, 3, 12, 15, 0, tzinfo=dt.UTC)  # 16:00 in Berlin, the claim's market

EVERY_VARIABLE = " | ".join(f"{{{name}}}" for name in macros.VARIABLES)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def agent():
    return make_console_agent(first_name="Julia", last_name="Neumann")


@pytest.fixture
def world():
    world = claim_world("escalated")
    world.buyer.first_name, world.buyer.last_name = "Anna", "Becker"
    world.buyer.save(update_fields=["first_name", "last_name"])
    Claim.objects.filter(pk=world.claim.pk).update(decision_due_at=DUE)
    world.refresh()
    return world


def make_macro(name: str = "Ask for photos", *, active: bool = True, **texts: str) -> Macro:
    macro = Macro.objects.create(name=name, is_active=active)
    MacroText.objects.bulk_create([MacroText(macro=macro, language=code, body=body) for code, body in texts.items()])
    return macro


def act_url(claim: Claim, action: str) -> str:
    return reverse("admin:claims_claim_act", kwargs={"object_id": claim.pk, "action": action})


def claim_page(claim: Claim) -> str:
    return reverse("admin:claims_claim_change", args=[claim.pk])


def uses(macro: Macro) -> tuple[int, dt.datetime | None]:
    macro.refresh_from_db()
    return macro.usage_count, macro.last_used_at


# --- rendering ---------------------------------------------------------------------------------------------------


def test_a_macro_is_filled_in_in_each_language(world, agent):
    macro = make_macro(en="Hello {buyer_name}, we decide by {decision_due}. Reason: {reason}.",
                       de="Guten Tag {buyer_name}, wir entscheiden bis {decision_due}. Grund: {reason}.")
    english = macros.render(macro, world.claim, "en", agent=agent)
    german = macros.render(macro, world.claim, "de", agent=agent)
    assert english == "Hello Anna Becker, we decide by Thu 12 Mar, 16:00 CET. Reason: Defective (warranty)."
    assert german == ("Guten Tag Anna Becker, wir entscheiden bis Do., 12. März, 16:00 CET. "
                      "Grund: Defekt (Gewährleistung).")


def test_a_language_without_a_text_falls_back_to_the_default_languages(world, agent):
    macro = make_macro(en="Claim {claim_number}: {reason}.")
    # the English text, with the values as German writes them
    assert macros.render(macro, world.claim, "de", agent=agent) == (
        f"Claim {world.claim.number}: Defekt (Gewährleistung).")
    only_german = make_macro("Nur Deutsch", de="Reklamation {claim_number}")
    assert macros.render(only_german, world.claim, "en", agent=agent) == f"Reklamation {world.claim.number}"
    assert macros.render(make_macro("Empty"), world.claim, "en", agent=agent) is None


def test_every_variable(world, agent):
    macro = make_macro(en=EVERY_VARIABLE)
    claim = world.claim
    assert macros.render(macro, claim, "en", agent=agent).split(" | ") == [
        "Anna Becker", claim.seller.display_name, claim.number, claim.order.number, "Thu 12 Mar, 16:00 CET",
        "Julia Neumann", "Defective (warranty)", "€199.00"]
    Claim.objects.filter(pk=claim.pk).update(decision_due_at=None)
    claim.refresh_from_db()
    assert macros.render(macro, claim, "en", agent=agent).split(" | ")[4] == "as soon as possible"
    # A target paused while the platform waits for an answer is no promise to quote.
    Claim.objects.filter(pk=claim.pk).update(decision_due_at=DUE, state="awaiting_info")
    claim.refresh_from_db()
    assert macros.render(macro, claim, "en", agent=agent).split(" | ")[4] == "as soon as possible"


def test_braces_that_are_not_variables_stay_as_written(world, agent):
    assert macros.fill("{claim_number} {not_a_variable} { } {}", {"claim_number": "C-1"}) == (
        "C-1 {not_a_variable} { } {}")
    assert macros.unknown_variables("{buyer} {claim_number} {buyer} {x1}") == ["buyer", "x1"]


# --- the admin --------------------------------------------------------------------------------------------------


def admin_post(name: str, **texts: str) -> dict[str, str]:
    data = {"name": name, "is_active": "on", "texts-TOTAL_FORMS": str(len(texts)), "texts-INITIAL_FORMS": "0",
            "texts-MIN_NUM_FORMS": "0", "texts-MAX_NUM_FORMS": "2"}
    for index, (code, body) in enumerate(texts.items()):
        data[f"texts-{index}-language"] = code
        data[f"texts-{index}-body"] = body
    return data


def test_an_agent_adds_a_macro_with_a_text_per_language(client, agent):
    client.force_login(agent)
    form = client.get(reverse("admin:claims_macro_add")).content.decode()
    # a row for each language, its language chosen, and the variables listed
    assert re.search(r'name="texts-0-language"[^>]*>.*?<option value="en" selected', form, re.S)
    assert re.search(r'name="texts-1-language"[^>]*>.*?<option value="de" selected', form, re.S)
    assert "{decision_due}" in form
    response = client.post(reverse("admin:claims_macro_add"), admin_post(
        "Ask for photos", en="Hello {buyer_name}", de="Guten Tag {buyer_name}"))
    assert response.status_code == 302
    macro = Macro.objects.get(name="Ask for photos")
    assert dict(macro.texts.values_list("language", "body")) == {"en": "Hello {buyer_name}",
                                                                 "de": "Guten Tag {buyer_name}"}
    # agents deactivate macros; they never delete them
    assert client.get(reverse("admin:claims_macro_delete", args=[macro.pk])).status_code == 403
    listing = client.get(reverse("admin:claims_macro_changelist") + "?q=photos").content.decode()
    assert "Ask for photos" in listing and "de, en" in listing


def test_an_unknown_variable_is_refused_with_the_list_of_variables(client, agent):
    client.force_login(agent)
    response = client.post(reverse("admin:claims_macro_add"), admin_post(
        "Typo", en="Hello {buyer}, claim {claim_number}", de="Guten Tag {kaeufer}"))
    assert response.status_code == 200
    page = response.content.decode().replace("&#x27;", "'")
    assert "Unknown variables: {buyer}." in page and "Unknown variables: {kaeufer}." in page
    assert "The variables are: {buyer_name}, {seller_name}, {claim_number}, {order_number}, {decision_due}" in page
    assert not Macro.objects.exists()


# --- the picker -------------------------------------------------------------------------------------------------


def embedded_texts(page: str, target: str = "id_message_body") -> dict[str, dict[str, str]]:
    found = re.search(rf'<script id="macros-{target}-texts" type="application/json">(.*?)</script>', page, re.S)
    assert found, f"no macro texts for {target}"
    return json.loads(found.group(1))


def test_the_claim_page_offers_agents_the_active_macros_filled_in(client, world, agent):
    world.claim.order.language = "de"
    world.claim.order.save(update_fields=["language"])
    photos = make_macro(en="Hello {buyer_name}", de="Guten Tag {buyer_name}")
    make_macro("Retired", active=False, en="Old text")
    client.force_login(agent)
    page = client.get(claim_page(world.claim)).content.decode()
    assert "data-macro-picker" in page and 'data-target="id_message_body"' in page
    assert embedded_texts(page) == {str(photos.pk): {  # Portuguese and Slovak fall back to the English text
        "en": "Hello Anna Becker", "de": "Guten Tag Anna Becker", "pt": "Hello Anna Becker", "sk": "Hello Anna Becker"}}
    assert "Retired" not in page
    # messages go to the buyer in the order's language; notes are in the agent's
    assert 'data-lang-buyer="de"' in page and 'data-lang-agent="en"' in page
    assert "js/console-macros.js" in page


def test_view_only_staff_get_no_picker(client, world):
    make_macro(en="Hello {buyer_name}")
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_claim", content_type__app_label="claims"))
    client.force_login(viewer)
    response = client.get(claim_page(world.claim))
    assert response.status_code == 200
    assert "data-macro-picker" not in response.content.decode()
    assert "Anna Becker" not in "".join(re.findall(r'type="application/json">(.*?)</script>',
                                                  response.content.decode(), re.S))


def test_the_claim_pages_queries_do_not_grow_with_the_macros(client, world, agent):
    client.force_login(agent)
    url = claim_page(world.claim)
    client.get(url)  # warm up: sessions, content types, permissions

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    none = queries()
    for n in range(20):
        make_macro(f"Macro {n}", en=f"Text {n} for {{buyer_name}}", de=f"Text {n} für {{buyer_name}}")
    assert queries() == none


def test_the_decide_page_offers_the_macros_for_the_decision_note(client, world, agent):
    decided = make_macro("Refund decided", en="Claim {claim_number} is justified: {refundable} back.")
    client.force_login(agent)
    page = client.get(act_url(world.claim, "decide")).content.decode()
    assert embedded_texts(page, "id_note")[str(decided.pk)]["en"] == (
        f"Claim {world.claim.number} is justified: €199.00 back.")
    # each language's text gets the amount as that language writes it
    assert embedded_texts(page, "id_note")[str(decided.pk)]["de"] == (
        f"Claim {world.claim.number} is justified: 199,00\xa0€ back.")
    assert page.index("data-macro-picker") < page.index('name="note"')


# --- usage -------------------------------------------------------------------------------------------------------


def test_a_saved_message_counts_its_macro_once_and_a_failed_one_does_not(client, world, agent):
    macro = make_macro(en="Please send photos.")
    other = make_macro("Other", en="Other")
    client.force_login(agent)
    url = act_url(world.claim, "message")
    response = client.post(url, {"visibility": "public", "body": "Please send photos.", "macro": str(macro.pk)})
    assert response.status_code == 302
    assert uses(macro) == (1, NOW)
    # an empty text is not saved: nothing counted
    assert client.post(url, {"visibility": "public", "body": "  ", "macro": str(other.pk)}).status_code == 400
    assert uses(other) == (0, None)
    # an internal note counts too; no macro, an unknown id or an inactive macro counts nothing
    client.post(url, {"visibility": "internal", "body": "Seller known for this.", "macro": str(macro.pk)})
    Macro.objects.filter(pk=other.pk).update(is_active=False)
    for value in ("", "999999", "not-a-number", str(other.pk)):
        assert client.post(url, {"visibility": "internal", "body": "Noted.", "macro": value}).status_code == 302
    assert uses(macro)[0] == 2 and uses(other) == (0, None)
    assert world.claim.messages.filter(body="Noted.").count() == 4


def test_a_decision_counts_its_macro_and_a_refused_one_does_not(client, world, agent):
    macro = make_macro("Refund decided", en="Claim {claim_number} is justified.")
    client.force_login(agent)
    url = act_url(world.claim, "decide")
    refused = client.post(url, {"outcome": "refund", "funded_by": "seller", "amount": "9999", "macro": str(macro.pk),
                                "note": "Justified."})
    assert refused.status_code == 400 and uses(macro) == (0, None)
    done = client.post(url, {"outcome": "refund", "funded_by": "seller", "macro": str(macro.pk), "note": "Justified."})
    assert done.status_code == 302 and world.refresh().state == "resolved"
    assert uses(macro) == (1, NOW)

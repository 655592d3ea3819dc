"""The satisfaction survey (claims.satisfaction): one email per party and person when a claim is resolved (never a
second one after a reopening), signed links that need no login and are refused when changed, expired or not the
claim's, one answer per claim and party (also when two arrive at once), a rating from 1 to 5 and a cleaned comment,
and the results per agent and per reason in the console."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import signing
from django.urls import reverse

from claims import satisfaction, services
from claims.errors import ClaimError
from claims.models import Claim, OutboundEmail, SatisfactionResponse
from claims.satisfaction import make_token, read_token
from claims.services import satisfaction as survey_service
from claims.tests.admin_factories import make_console_agent, make_finance
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from core.signed_links import SignedLinkError
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
NOW = OPENED_AT + 2 * D


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def survey_emails(claim: Claim) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(claim=claim, event="satisfaction").order_by("pk"))


def link_of(email: OutboundEmail) -> str:
    """The survey page's path in the email (the page link, without a rating)."""
    paths = set(re.findall(r"https?://[^/\s]+(/claims/survey/[^/\s]+/)", email.body_text))
    assert len(paths) == 1, email.body_text
    return paths.pop()


def url_for(claim: Claim, party: str, user) -> str:  # type: ignore[no-untyped-def]
    return reverse("claims:satisfaction", kwargs={"token": make_token(claim=claim, party=party, user=user)})


# --- the email ---------------------------------------------------------------------------------------------------


def test_one_survey_email_per_party_on_resolution_and_none_after_a_reopening():
    world = claim_world("resolved")  # decided by an agent
    colleague = UserFactory()
    SellerMembership.objects.create(user=colleague, seller=world.claim.seller, role="staff")
    emails = survey_emails(world.claim)
    # the buyer and the seller's staff member (the colleague joined after the resolution)
    assert {e.to_email for e in emails} == {world.buyer.email, world.staff.email}
    buyer_email = next(e for e in emails if e.to_email == world.buyer.email)
    assert buyer_email.subject == f"Claim {world.claim.number}: how did we do?"
    for rating, word in ((1, "very poor"), (5, "excellent")):
        assert f"{rating} – {word}: http" in buyer_email.body_text
        assert f"?rating={rating}" in buyer_email.body_html
    assert "The link works for 30 days" in buyer_email.body_text

    services.reopen(claim=world.claim, by=world.agent, reason="New evidence")
    services.decide(claim=world.claim, by=world.agent, outcome="denied", denial_reason="normal_wear")
    assert Claim.objects.get(pk=world.claim.pk).state == "resolved"
    assert survey_emails(world.claim) == emails  # the colleague gets none either: once per claim


def test_the_buyer_and_the_seller_get_their_own_link():
    world = claim_world("resolved")
    by_address = {e.to_email: read_token(link_of(e).split("/")[-2]) for e in survey_emails(world.claim)}
    assert by_address[world.buyer.email] == satisfaction.SurveyLink(world.claim.pk, "buyer", world.buyer.pk)
    assert by_address[world.staff.email] == satisfaction.SurveyLink(world.claim.pk, "seller", world.staff.pk)


def _return_received(world) -> None:  # type: ignore[no-untyped-def]
    services.receive_return(claim=world.claim, by=world.staff, inspection_result="as_expected")


def _closed(world) -> None:  # type: ignore[no-untyped-def]
    services.close(claim=world.claim, by=world.buyer)


def _accepted(world) -> None:  # type: ignore[no-untyped-def]
    offer = services.make_offer(claim=world.claim, by=world.staff, kind="full_refund")
    services.accept_offer(offer=offer, by=world.buyer)


def _forced(world) -> None:  # type: ignore[no-untyped-def]
    services.force_refund(claim=world.claim)


@pytest.mark.parametrize(("state", "resolve"), [("awaiting_return", _return_received), ("in_progress", _closed),
                                                ("in_progress", _accepted), ("escalated", _forced)])
def test_every_way_into_resolved_sends_the_survey(state, resolve):
    world = claim_world(state)
    assert survey_emails(world.claim) == []
    resolve(world)
    assert Claim.objects.get(pk=world.claim.pk).state == "resolved"
    assert {e.to_email for e in survey_emails(world.claim)} == {world.buyer.email, world.staff.email}


def test_the_marketplaces_own_shop_is_not_asked():
    order = delivered_order(seller=SellerFactory(is_platform=True))
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="staff")
    claim = open_defective_claim(order=order, at=OPENED_AT)
    services.close(claim=claim, by=order.buyer)
    assert [e.to_email for e in survey_emails(claim)] == [order.buyer.email]


# --- the links ---------------------------------------------------------------------------------------------------


def test_a_token_round_trip():
    world = claim_world("resolved")
    token = make_token(claim=world.claim, party="seller", user=world.staff)
    assert read_token(token) == satisfaction.SurveyLink(world.claim.pk, "seller", world.staff.pk)
    assert satisfaction.survey_claim(read_token(token)) == world.claim
    with pytest.raises(ValueError, match="no survey"):
        make_token(claim=world.claim, party="agent", user=world.agent)


def _changed(token: str, index: int) -> str:
    swap = "A" if token[index] != "A" else "B"
    return token[:index] + swap + token[index + 1:]


def _with_payload(token: str, payload: dict) -> str:  # type: ignore[type-arg]
    """The same signature on another claim, party or person."""
    encoded = signing.b64_encode(signing.JSONSerializer().dumps(payload)).decode()
    return encoded + token[token.index(":"):]


def test_tampered_links_are_refused_and_store_nothing(client):
    world = claim_world("resolved")
    other = claim_world("resolved")
    token = make_token(claim=world.claim, party="buyer", user=world.buyer)
    tampered = [
        _changed(token, len(token) - 5),  # one character of the signature
        _changed(token, 3),  # one character of the payload
        _with_payload(token, {"c": other.claim.pk, "p": "buyer", "u": world.buyer.pk}),  # another claim
        _with_payload(token, {"c": world.claim.pk, "p": "seller", "u": world.buyer.pk}),  # another party
        _with_payload(token, {"c": world.claim.pk, "p": "buyer", "u": other.buyer.pk}),  # another person
        signing.dumps({"c": world.claim.pk, "p": "buyer", "u": world.buyer.pk}),  # signed for something else
        "not-a-token",
    ]
    for bad in tampered:
        with pytest.raises(SignedLinkError) as refused:
            read_token(bad)
        assert refused.value.code == "invalid", bad
        url = reverse("claims:satisfaction", kwargs={"token": bad})
        for response in (client.get(url), client.post(url, {"rating": "5"})):
            assert response.status_code == 400, bad
            page = response.content.decode()
            assert "This survey link does not work" in page and "Nothing was recorded." in page
            assert world.claim.number not in page
    assert not SatisfactionResponse.objects.exists()


def test_an_expired_link_is_refused(client, settings):
    world = claim_world("resolved")
    url = url_for(world.claim, "buyer", world.buyer)
    with time_machine.travel(NOW + settings.SATISFACTION_LINK_DAYS * D - H, tick=False):
        assert client.get(url).status_code == 200
    with time_machine.travel(NOW + settings.SATISFACTION_LINK_DAYS * D + H, tick=False):
        response = client.post(url, {"rating": "4"})
        assert response.status_code == 400
        assert "This survey link has expired" in response.content.decode()
        with pytest.raises(SignedLinkError) as refused:
            read_token(url.split("/")[-2])
        assert refused.value.code == "expired"
    assert not SatisfactionResponse.objects.exists()


def test_a_link_for_someone_who_is_not_that_party_is_not_found(client):
    world = claim_world("resolved")
    for party, person in (("buyer", world.other_buyer), ("seller", world.other_staff), ("seller", world.buyer),
                          ("buyer", world.staff)):
        response = client.post(url_for(world.claim, party, person), {"rating": "1"})
        assert response.status_code == 404, (party, person)
        assert "This survey is not available" in response.content.decode()
    # a member who left the seller: the link stops working
    url = url_for(world.claim, "seller", world.staff)
    SellerMembership.objects.filter(user=world.staff).delete()
    assert client.get(url).status_code == 404
    assert not SatisfactionResponse.objects.exists()


# --- answering ---------------------------------------------------------------------------------------------------


def test_the_page_without_login_and_a_rating_chosen_from_the_email(client):
    world = claim_world("resolved")
    url = link_of(next(e for e in survey_emails(world.claim) if e.to_email == world.buyer.email))
    response = client.get(url + "?rating=4")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"How satisfied are you with how claim {world.claim.number} was handled?" in page
    assert re.search(r'<input type="radio" name="rating" value="4"[^>]*checked', page)
    assert not re.search(r'value="[1235]"[^>]*checked', page)
    assert "csrfmiddlewaretoken" in page and "<fieldset" in page and "<legend>" in page
    assert not SatisfactionResponse.objects.exists()  # opening the page stores nothing
    assert client.get(url + "?rating=9").status_code == 200  # an unknown rating just chooses none


def test_an_answer_is_stored_once_with_the_deciding_agent_and_the_reason(client):
    world = claim_world("resolved")
    url = url_for(world.claim, "buyer", world.buyer)
    response = client.post(url, {"rating": "4", "comment": "  Quick and fair.\n  "})
    assert response.status_code == 302 and response["Location"] == url + "?answered=1"
    answer = SatisfactionResponse.objects.get()
    assert (answer.claim, answer.party, answer.rating, answer.comment) == (world.claim, "buyer", 4, "Quick and fair.")
    assert answer.agent == world.agent and answer.reason == world.claim.reason
    page = client.get(response["Location"]).content.decode()
    assert "Thank you for your answer" in page and "We have recorded your rating: 4 – good." in page
    assert 'name="rating"' not in page
    page = client.get(url).content.decode()  # the link opened again later
    assert "Thank you, you already answered" in page and "4 – good" in page and 'name="rating"' not in page

    again = client.post(url, {"rating": "1", "comment": "Changed my mind"})
    assert again.status_code == 200 and "Thank you, you already answered" in again.content.decode()
    assert SatisfactionResponse.objects.get().rating == 4


def test_the_sellers_staff_share_one_answer(client):
    world = claim_world("resolved")
    colleague = UserFactory()
    SellerMembership.objects.create(user=colleague, seller=world.claim.seller, role="staff")
    assert client.post(url_for(world.claim, "seller", world.staff), {"rating": "2"}).status_code == 302
    response = client.post(url_for(world.claim, "seller", colleague), {"rating": "5"})
    assert "Thank you, you already answered" in response.content.decode()
    assert list(SatisfactionResponse.objects.values_list("party", "rating")) == [("seller", 2)]
    # the buyer's answer is their own
    assert client.post(url_for(world.claim, "buyer", world.buyer), {"rating": "5"}).status_code == 302
    assert SatisfactionResponse.objects.count() == 2


def test_two_answers_at_the_same_moment_the_database_keeps_the_first(client, monkeypatch):
    """Both passed the check before either was written: the unique constraint refuses the second, which is told the
    survey was answered (no error page)."""
    world = claim_world("resolved")
    services.record_satisfaction(claim=world.claim, party="buyer", rating=3)
    monkeypatch.setattr(survey_service, "_answered", lambda claim, party: False)
    with pytest.raises(ClaimError) as refused:
        services.record_satisfaction(claim=world.claim, party="buyer", rating=5)
    assert refused.value.code == "conflict"

    first_look = iter([None])  # the page saw no answer yet when the form was shown
    real = satisfaction.answer_of
    monkeypatch.setattr(satisfaction, "answer_of", lambda claim, party: next(first_look, None) or real(claim, party))
    response = client.post(url_for(world.claim, "buyer", world.buyer), {"rating": "5"})
    assert response.status_code == 200 and "Thank you, you already answered" in response.content.decode()
    assert list(SatisfactionResponse.objects.values_list("rating", flat=True)) == [3]


@pytest.mark.parametrize("rating", ["0", "6", "-1", "4.5", "five", ""])
def test_a_rating_outside_one_to_five_is_refused(client, rating):
    world = claim_world("resolved")
    response = client.post(url_for(world.claim, "buyer", world.buyer), {"rating": rating})
    assert response.status_code == 400
    assert "Please choose a rating from 1 to 5." in response.content.decode()
    with pytest.raises(ClaimError, match="from 1 to 5"):
        services.record_satisfaction(claim=world.claim, party="buyer", rating=rating)
    assert not SatisfactionResponse.objects.exists()


def test_the_comment_is_cleaned_and_limited(client):
    world = claim_world("resolved")
    too_long = "x" * (satisfaction.COMMENT_MAX_LENGTH + 1)
    response = client.post(url_for(world.claim, "buyer", world.buyer), {"rating": "3", "comment": too_long})
    assert response.status_code == 400 and not SatisfactionResponse.objects.exists()
    with pytest.raises(ClaimError, match="under 2000 characters"):
        services.record_satisfaction(claim=world.claim, party="buyer", rating=3, comment=too_long)
    answer = services.record_satisfaction(claim=world.claim, party="buyer", rating=3, comment=" \n ")
    assert answer.comment == ""


def test_a_reopened_claim_waits_for_its_new_resolution(client):
    world = claim_world("resolved")
    url = url_for(world.claim, "buyer", world.buyer)
    services.reopen(claim=world.claim, by=world.agent, reason="New evidence")
    response = client.post(url, {"rating": "2"})
    assert "This claim was reopened" in response.content.decode()
    with pytest.raises(ClaimError, match="reopened"):
        services.record_satisfaction(claim=world.claim, party="buyer", rating=2)
    assert not SatisfactionResponse.objects.exists()
    services.decide(claim=world.claim, by=world.agent, outcome="denied", denial_reason="normal_wear")
    assert client.post(url, {"rating": "2"}).status_code == 302  # the same link, once resolved again


def test_no_agent_when_the_parties_settled_it_themselves():
    world = claim_world("in_progress")
    _accepted(world)
    answer = services.record_satisfaction(claim=world.claim, party="buyer", rating=5)
    assert answer.agent is None


# --- the results in the console ----------------------------------------------------------------------------------


def _answered_claim(agent, reason: str, rating: int, party: str = "buyer") -> Claim:  # type: ignore[no-untyped-def]
    world = claim_world("escalated", reason=reason, **({"discovered_on": None, "desired_outcome": "refund"}
                                                        if reason == "not_as_described" else {}))
    services.decide(claim=world.claim, by=agent, outcome="refund", funded_by="seller")
    services.record_satisfaction(claim=world.claim, party=party, rating=rating, comment=f"Rated {rating}")
    return world.claim


def test_results_per_agent_and_per_reason(client):
    julia = make_console_agent(first_name="Julia", last_name="Neumann")
    tom = make_console_agent(first_name="Tom", last_name="Weber")
    _answered_claim(julia, "defective", 5)
    _answered_claim(julia, "defective", 4)
    _answered_claim(julia, "not_as_described", 2, party="seller")
    _answered_claim(tom, "not_as_described", 1)
    settled = claim_world("in_progress")
    _accepted(settled)
    services.record_satisfaction(claim=settled.claim, party="buyer", rating=3)

    responses = SatisfactionResponse.objects.all()
    by_agent = {r.label: (str(r.average), r.count) for r in satisfaction.results_by_agent(responses)}
    assert by_agent == {"Julia Neumann": ("3.7", 3), "Tom Weber": ("1.0", 1),
                        "No agent (resolved without the platform)": ("3.0", 1)}
    by_reason = {r.label: (str(r.average), r.count) for r in satisfaction.results_by_reason(responses)}
    assert by_reason == {"Defective (warranty)": ("4.0", 3), "Not as described": ("1.5", 2)}

    client.force_login(julia)
    url = reverse("admin:claims_satisfactionresponse_changelist")
    page = client.get(url).content.decode()
    assert "Results of the answers listed" in page
    assert re.search(r"Julia Neumann</th><td class=\"numeric\">3.7</td><td class=\"numeric\">3</td>", page)
    assert re.search(r"Not as described</th><td class=\"numeric\">1.5</td><td class=\"numeric\">2</td>", page)
    assert "Rated 5" in page and "5 – excellent" in page
    # the summary follows the filters: sellers' answers only
    page = client.get(url, {"party": "seller"}).content.decode()
    assert re.search(r"Julia Neumann</th><td class=\"numeric\">2.0</td><td class=\"numeric\">1</td>", page)
    assert "Tom Weber</th>" not in page
    assert client.get(url, {"rating": "1"}).status_code == 200


def test_the_results_are_read_only_and_for_agents(client):
    world = claim_world("resolved")
    answer = services.record_satisfaction(claim=world.claim, party="buyer", rating=4)
    client.force_login(make_console_agent())
    assert client.get(reverse("admin:claims_satisfactionresponse_change", args=[answer.pk])).status_code == 200
    assert client.get(reverse("admin:claims_satisfactionresponse_add")).status_code == 403
    assert client.post(reverse("admin:claims_satisfactionresponse_delete", args=[answer.pk]),
                       {"post": "yes"}).status_code == 403
    client.force_login(make_finance())
    assert client.get(reverse("admin:claims_satisfactionresponse_changelist")).status_code == 403

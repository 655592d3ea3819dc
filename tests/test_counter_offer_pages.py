"""Offers both ways on the pages: the buyer declines with a reason (a second step before anything is sent) or counters,
the seller accepts or declines the counter-offer; refusals come back as form errors with nothing changed, and what the
buyer reads about asking us to step in is the escalate button's own state."""

import datetime as dt
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.urls import reverse

from claims import services
from claims.abilities import ability
from claims.models import Offer
from claims.tests.factories import OPENED_AT, claim_world

pytestmark = pytest.mark.django_db

OFFERED_AT = OPENED_AT + dt.timedelta(hours=1, minutes=30)
AT = OPENED_AT + dt.timedelta(hours=2)  # before the first-reply deadline: asking us to step in waits
LATER = OPENED_AT + dt.timedelta(hours=50)


@pytest.fixture
def world():
    """A claim in progress about an irremovable defect (a discount or partial refund allowed, a repair not), with the
    seller's offer of a 40 EUR partial refund."""
    world = claim_world("in_progress", defect_type="irremovable")
    with time_machine.travel(OFFERED_AT, tick=False):
        world.offer = services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="40.00")
    return world


def buyer_url(name, world, **kwargs):
    return reverse(f"claims:{name}", kwargs={"number": world.claim.number, **kwargs})


def seller_url(name, world, **kwargs):
    return reverse(f"sellers:{name}", kwargs={"number": world.claim.number, **kwargs})


def counter(world, kind="partial_refund", amount="90.00"):
    return services.counter_offer(claim=world.claim, by=world.buyer, kind=kind, amount=amount,
                                  reason="The repair shop quoted 90 EUR.", countered=world.offer)


# --- the buyer ------------------------------------------------------------------------------------------------------


def test_the_offer_section_offers_declining_as_a_second_step_and_the_allowed_counter_offers(client, world):
    client.force_login(world.buyer)
    with time_machine.travel(AT, tick=False):
        page = client.get(buyer_url("detail", world)).content.decode()
        escalate = ability(world.refresh(), world.buyer, "escalate")
    # declining: a disclosure, then the reason and the button; no form posts before it is opened
    decline = page[page.index('id="decline-offer"'):page.index('id="counter-offer"')]
    assert "<summary>Decline the offer…</summary>" in decline
    assert 'name="decline-reason"' in decline and "Decline the offer</button>" in decline
    # what declining means, in the escalate button's words (not yet: from the first-reply deadline)
    assert "If you decline, the seller can make you another offer." in decline
    assert escalate.reason in decline and "You can ask us to step in now" not in page
    # the counter-offer: only what the policy allows for an irremovable defect (no repair)
    kinds = [value for value in ("full_refund", "partial_refund", "replacement", "repair", "return_for_refund",
                                 "discount") if f'name="counter-kind" value="{value}"' in page]
    assert kinds == ["full_refund", "partial_refund", "replacement", "return_for_refund", "discount"]
    assert f'name="counter-countered" value="{world.offer.pk}"' in page
    assert "less than €199.00" in page


def test_the_buyer_declines_with_a_reason_and_is_told_when_we_can_step_in(client, world):
    client.force_login(world.buyer)
    with time_machine.travel(AT, tick=False):
        response = client.post(buyer_url("decline_offer", world, offer_id=world.offer.pk),
                               {"decline-reason": "40 EUR is far too little."}, follow=True)
        escalate = ability(world.refresh(), world.buyer, "escalate")
    page = response.content.decode()
    world.offer.refresh_from_db()
    assert (world.offer.status, world.offer.decline_reason) == ("declined", "40 EUR is far too little.")
    assert "You declined the offer. The seller can make you another offer. You can also propose a solution " \
           "yourself." in page
    assert escalate.reason in page and "You can ask us to step in now" not in page  # the button says "from …" too
    assert "40 EUR is far too little." in page  # on the timeline
    assert "Propose a solution to the seller" in page  # nothing pending: the buyer may counter


def test_past_the_deadline_the_decline_says_we_can_step_in_now(client, world):
    client.force_login(world.buyer)
    with time_machine.travel(LATER, tick=False):
        page = client.post(buyer_url("decline_offer", world, offer_id=world.offer.pk), follow=True).content.decode()
    assert "You can ask us to step in now." in page and "Ask the platform to step in</button>" in page


def test_a_decline_reason_too_long_is_a_form_error_and_nothing_changes(client, world):
    client.force_login(world.buyer)
    response = client.post(buyer_url("decline_offer", world, offer_id=world.offer.pk), {"decline-reason": "x" * 1001})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Ensure this value has at most 1000 characters" in page and 'id="decline-offer" open' in page
    world.offer.refresh_from_db()
    assert world.offer.status == "pending"


def test_the_buyer_counters_and_sees_it_waiting(client, world):
    client.force_login(world.buyer)
    with time_machine.travel(AT, tick=False):
        response = client.post(buyer_url("counter_offer", world), {
            "counter-kind": "partial_refund", "counter-amount": "90.00", "counter-note": "Or repair it for free.",
            "counter-reason": "The repair shop quoted 90 EUR.", "counter-countered": world.offer.pk}, follow=True)
    page = response.content.decode()
    assert "Your counter-offer was sent to the seller" in page
    assert "Your counter-offer: Partial refund — €90.00" in page and "Waiting for the seller's answer" in page
    assert 'name="counter-kind"' not in page and 'name="decline-reason"' not in page  # nothing else to answer now
    mine = world.claim.offers.get(status="pending")
    assert (mine.party, mine.amount, mine.note, mine.counter_to) == ("buyer", Decimal("90.00"),
                                                                     "Or repair it for free.", world.offer)
    world.offer.refresh_from_db()
    assert (world.offer.status, world.offer.decline_reason) == ("declined", "The repair shop quoted 90 EUR.")


@pytest.mark.parametrize(("data", "says"), [
    ({"counter-kind": "partial_refund", "counter-amount": "199.00"},
     "A partial refund or a discount must be less than €199.00"),
    ({"counter-kind": "partial_refund"}, "Please enter the amount of the partial refund or discount."),
    ({"counter-kind": "repair"}, "Select a valid choice."),  # not what the policy allows here
    ({}, "Please choose what you propose."),
])
def test_a_refused_counter_offer_is_a_form_error_and_nothing_changes(client, world, data, says):
    client.force_login(world.buyer)
    response = client.post(buyer_url("counter_offer", world), {**data, "counter-countered": world.offer.pk})
    assert response.status_code == 400
    page = response.content.decode()
    assert says in page and 'id="counter-offer" open' in page
    assert list(world.claim.offers.values_list("status", flat=True)) == ["pending"]


def test_countering_an_offer_the_seller_withdrew_meanwhile_says_so(client, world):
    client.force_login(world.buyer)
    services.withdraw_offer(offer=world.offer, by=world.staff)
    response = client.post(buyer_url("counter_offer", world), {
        "counter-kind": "full_refund", "counter-countered": world.offer.pk}, follow=True)
    assert "This offer is no longer open: it was withdrawn." in response.content.decode()
    assert not world.claim.offers.filter(party="buyer").exists()


def test_nobody_but_the_buyer_counters(client, world):
    for role in ("other_buyer", "staff", "agent"):
        client.force_login(getattr(world, role))
        response = client.post(buyer_url("counter_offer", world), {"counter-kind": "full_refund",
                                                                   "counter-countered": world.offer.pk})
        assert response.status_code == 404, role
    assert not world.claim.offers.filter(party="buyer").exists()


# --- the seller -----------------------------------------------------------------------------------------------------


def test_the_seller_sees_the_counter_offer_and_cannot_offer_until_answering_it(client, world):
    counter(world)
    client.force_login(world.staff)
    page = unescape(client.get(seller_url("claim", world)).content.decode())
    assert "The buyer's counter-offer: Partial refund — €90.00" in page
    assert "The buyer declined your offer (Partial refund, €40.00) and proposes this instead." in page
    assert "The repair shop quoted 90 EUR." in page
    assert "Accept the counter-offer</button>" in page and "<summary>Decline the counter-offer…</summary>" in page
    assert 'id="action-offer"' not in page and "Withdraw the offer" not in page


def test_the_seller_accepts_the_counter_offer_and_the_buyer_sees_it_resolved(client, world):
    countered = counter(world)
    client.force_login(world.staff)
    response = client.post(seller_url("accept_counter_offer", world, offer_id=countered.pk), follow=True)
    assert "You accepted the buyer's counter-offer." in unescape(response.content.decode())
    claim = world.refresh()
    assert (claim.state, claim.outcome, claim.funded_by, claim.refund_amount) == (
        "resolved", "partial_refund", "seller", Decimal("90.00"))
    assert [r.amount for r in claim.refunds.all()] == [Decimal("90.00")]
    client.force_login(world.buyer)
    page = client.get(buyer_url("detail", world)).content.decode()
    assert "Resolved" in page and "made a counter-offer: Partial refund" in page


def test_the_seller_declines_with_a_reason_and_may_offer_again(client, world):
    countered = counter(world)
    client.force_login(world.staff)
    response = client.post(seller_url("decline_counter_offer", world, offer_id=countered.pk),
                           {"decline-counter-reason": "We can repair it instead."}, follow=True)
    page = unescape(response.content.decode())
    assert "You declined the buyer's counter-offer. You can make another offer." in page
    assert 'id="action-offer"' in page
    countered.refresh_from_db()
    assert (countered.status, countered.decline_reason) == ("declined", "We can repair it instead.")
    client.force_login(world.buyer)
    page = client.get(buyer_url("detail", world)).content.decode()
    assert "The seller declined the counter-offer" in page and "We can repair it instead." in page
    assert "Propose a solution to the seller" in page


def test_answering_what_is_no_counter_offer_is_refused_with_the_reason(client, world):
    client.force_login(world.staff)
    for name in ("accept_counter_offer", "decline_counter_offer"):
        response = client.post(seller_url(name, world, offer_id=world.offer.pk))
        assert response.status_code == 409
        assert "There is no counter-offer from the buyer to answer." in response.content.decode()
    assert Offer.objects.get(pk=world.offer.pk).status == "pending"


@pytest.mark.parametrize("role", ["buyer", "other_buyer", "other_staff", "agent"])
def test_nobody_but_the_sellers_staff_answers_a_counter_offer(client, world, role):
    countered = counter(world)
    client.force_login(getattr(world, role))
    for name in ("accept_counter_offer", "decline_counter_offer"):
        assert client.post(seller_url(name, world, offer_id=countered.pk)).status_code == 404
    countered.refresh_from_db()
    assert countered.status == "pending"


def test_the_new_actions_are_post_only(client, world):
    countered = counter(world)
    client.force_login(world.staff)
    for name in ("accept_counter_offer", "decline_counter_offer"):
        assert client.get(seller_url(name, world, offer_id=countered.pk)).status_code == 405
    client.force_login(world.buyer)
    assert client.get(buyer_url("counter_offer", world)).status_code == 405


# --- the console ----------------------------------------------------------------------------------------------------


def test_the_console_shows_who_made_each_offer_and_why_it_was_declined(client, world):
    from claims.tests.admin_factories import make_console_agent

    countered = counter(world)
    services.decline_counter_offer(offer=countered, by=world.staff, reason="We repair it instead.")
    client.force_login(make_console_agent())
    page = client.get(reverse("admin:claims_claim_change", args=[world.claim.pk])).content.decode()
    page = unescape(page)
    assert "Buyer's counter-offer" in page
    assert "Declined because: The repair shop quoted 90 EUR." in page
    assert "Declined because: We repair it instead." in page
    assert "The buyer made a counter-offer" in page  # the conversation's log of it

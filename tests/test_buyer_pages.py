"""The buyer's pages: what each person sees (and may not see), the Get-help flow, the claim page's actions,
and query counts that do not grow with the rows shown."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import services
from claims.models import Claim, Evidence
from claims.tests import media
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, photo
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LATER = OPENED_AT + dt.timedelta(hours=2)


@pytest.fixture
def world():
    world = claim_world("in_progress")
    with time_machine.travel(LATER, tick=False):
        services.post_message(claim=world.claim, by=world.staff, body="Here is a label.", attachments=[photo()])
    return world


def pages(world):
    claim, order = world.claim, world.claim.order
    evidence = claim.evidence.filter(message__isnull=True).first()
    return {
        "orders": reverse("orders:list"),
        "order": reverse("orders:detail", kwargs={"number": order.number}),
        "get_help": reverse("claims:get_help", kwargs={"number": order.number}),
        "claim": reverse("claims:detail", kwargs={"number": claim.number}),
        "evidence": reverse("claims:evidence", kwargs={"pk": evidence.pk}),
        "thumbnail": reverse("claims:evidence_thumbnail", kwargs={"pk": evidence.pk}),
    }


# Who gets what on each GET page: the buyer everything; everybody else none of the buyer's pages (404, so an
# order or claim number reveals nothing); the evidence also to the seller's staff and agents.
EXPECTED = {
    "buyer": {"orders": 200, "order": 200, "get_help": 200, "claim": 200, "evidence": 200, "thumbnail": 200},
    "other_buyer": {"orders": 200, "order": 404, "get_help": 404, "claim": 404, "evidence": 404, "thumbnail": 404},
    "staff": {"orders": 200, "order": 404, "get_help": 404, "claim": 404, "evidence": 200, "thumbnail": 200},
    "other_staff": {"orders": 200, "order": 404, "get_help": 404, "claim": 404, "evidence": 404, "thumbnail": 404},
    "agent": {"orders": 200, "order": 404, "get_help": 404, "claim": 404, "evidence": 200, "thumbnail": 200},
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_every_page_for_every_role(client, world, role):
    client.force_login(getattr(world, role))
    for name, url in pages(world).items():
        assert client.get(url).status_code == EXPECTED[role][name], (role, name)


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    for url in pages(world).values():
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("action", ["message", "escalate", "close", "provide_info"])
@pytest.mark.parametrize("role", ["other_buyer", "staff", "other_staff", "agent"])
def test_nobody_but_the_buyer_acts_on_the_buyer_page(client, world, role, action):
    client.force_login(getattr(world, role))
    url = reverse(f"claims:{action}", kwargs={"number": world.claim.number})
    assert client.post(url, {"body": "hello", "info-body": "hello"}).status_code == 404
    assert world.refresh().state == "in_progress"


def test_state_changes_are_post_only(client, world):
    client.force_login(world.buyer)
    for action in ("message", "escalate", "close", "provide_info"):
        assert client.get(reverse(f"claims:{action}", kwargs={"number": world.claim.number})).status_code == 405


def test_evidence_is_served_privately_with_safe_headers(client, world):
    client.force_login(world.buyer)
    response = client.get(pages(world)["evidence"])
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"].startswith("private")
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"


def test_attachments_of_internal_notes_are_for_agents_only(client, world):
    services.post_message(claim=world.claim, by=world.agent, body="Looks staged", internal=True,
                          attachments=[photo()])
    note_file = Evidence.objects.get(message__is_internal=True)
    url = reverse("claims:evidence", kwargs={"pk": note_file.pk})
    for role, status in (("buyer", 404), ("staff", 404), ("agent", 200)):
        client.force_login(getattr(world, role))
        assert client.get(url).status_code == status, role
    client.force_login(world.buyer)
    assert b"Looks staged" not in client.get(pages(world)["claim"]).content


def get_help_data(order, **overrides):
    data = {"items": [str(order.items.first().pk)], "reason": "defective", "description": "Battery dies at 40%",
            "desired_outcome": "repair", "discovered_on": "2026-03-09", "photos": [photo("a.jpg"), photo("b.png")]}
    data.update(overrides)
    return data


def test_get_help_opens_a_claim_and_shows_the_receipt_once(client, django_capture_on_commit_callbacks):
    order = delivered_order()
    client.force_login(order.buyer)
    video = media.video("clip.mov", container="mov")
    with time_machine.travel(OPENED_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("claims:get_help", kwargs={"number": order.number}),
                               get_help_data(order, video=video))
    claim = Claim.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("claims:detail",
                                                                           kwargs={"number": claim.number})
    assert sorted(claim.evidence.values_list("kind", flat=True)) == ["photo", "photo", "video"]
    with time_machine.travel(OPENED_AT + dt.timedelta(seconds=1), tick=False):
        page = client.get(response["Location"]).content.decode()
        assert "We received your claim" in page and claim.number in page and "Battery dies at 40%" in page
        assert "We received your claim" not in client.get(response["Location"]).content.decode()  # shown once
    assert [m.subject for m in mail.outbox if m.to == [order.buyer.email]] == [
        f"We received your claim {claim.number}"]


@pytest.mark.parametrize("overrides, message", [
    ({"discovered_on": "2026-01-01"}, "The defect was discovered before the item was delivered"),
    ({"photos": []}, "add at least one photo"),
    ({"reason": "not_received", "desired_outcome": "refund"}, "delivered to your address"),
    ({"photos": [SimpleUploadedFile("x.jpg", b"<html>not an image</html>")]}, "not a file we accept"),
])
def test_refusals_are_form_errors_and_change_nothing(client, settings, overrides, message):
    order = delivered_order()
    client.force_login(order.buyer)
    with time_machine.travel(OPENED_AT, tick=False):
        response = client.post(reverse("claims:get_help", kwargs={"number": order.number}),
                               get_help_data(order, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Claim.objects.exists() and not Evidence.objects.exists()


def test_form_errors_for_missing_fields(client):
    order = delivered_order()
    client.force_login(order.buyer)
    response = client.post(reverse("claims:get_help", kwargs={"number": order.number}), {"description": ""})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Please choose what went wrong." in page and "Please choose at least one item." in page


def post(client, world, action, data=None, **kwargs):
    url = reverse(f"claims:{action}", kwargs={"number": world.claim.number, **kwargs})
    return client.post(url, data or {}, follow=True)


def test_offer_accept_from_the_claim_page(client, world):
    services.classify_defect(claim=world.claim, by=world.staff, defect_type="irremovable")  # for a partial refund
    offer = services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="25.00")
    client.force_login(world.buyer)
    page = client.get(pages(world)["claim"]).content.decode()
    assert "Partial refund" in page and "25.00" in page
    response = post(client, world, "accept_offer", offer_id=offer.pk)
    assert "You accepted the offer." in response.content.decode()
    assert world.refresh().state == "resolved"


def test_decline_then_escalate(client, world):
    services.classify_defect(claim=world.claim, by=world.staff, defect_type="irremovable")  # for a partial refund
    offer = services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="5")
    client.force_login(world.buyer)
    post(client, world, "decline_offer", offer_id=offer.pk)
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=1), tick=False):
        page = client.get(pages(world)["claim"]).content.decode()
        assert "You can ask us to step in from" in page and "disabled" in page
        refused = post(client, world, "escalate").content.decode()
        assert "You can ask us to step in from" in refused  # the disabled button's own words
    assert world.refresh().state == "in_progress"
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=48), tick=False):
        done = post(client, world, "escalate", {"reason": "Offer is too low"}).content.decode()
    assert "Our support team now handles your claim" in done
    assert world.refresh().state == "escalated"


def test_answering_an_information_request(client):
    world = claim_world("awaiting_info")
    client.force_login(world.buyer)
    page = client.get(reverse("claims:detail", kwargs={"number": world.claim.number})).content.decode()
    assert "We need information from you" in page and 'name="info-body"' in page
    response = post(client, world, "provide_info", {"info-body": "It started on day 3", "info-attachments": [photo()]})
    assert "your answer was passed" in response.content.decode()
    claim = world.refresh()
    assert claim.state == "escalated" and claim.evidence.filter(party="buyer").count() == 2


def test_message_with_a_bad_attachment_is_refused_whole(client, world):
    client.force_login(world.buyer)
    before = world.claim.messages.count()
    response = post(client, world, "message", {"body": "see file", "attachments": [
        SimpleUploadedFile("evil.jpg", b"<script>alert(1)</script>")]})
    assert "not a file we accept" in response.content.decode()
    assert world.claim.messages.count() == before


def test_empty_message_shows_the_form_error(client, world):
    client.force_login(world.buyer)
    response = client.post(reverse("claims:message", kwargs={"number": world.claim.number}), {"body": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()


def test_closing_the_claim(client, world):
    client.force_login(world.buyer)
    assert "You closed the claim" in post(client, world, "close").content.decode()
    claim = world.refresh()
    assert (claim.state, claim.outcome) == ("resolved", "withdrawn")
    assert "Close the claim" not in client.get(pages(world)["claim"]).content.decode()


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_my_orders_query_count_does_not_grow_with_orders(client):
    buyer = UserFactory()
    delivered_order(buyer=buyer)
    client.force_login(buyer)
    one = count_queries(client, reverse("orders:list"))
    for _ in range(12):
        order = delivered_order(buyer=buyer, items=2)
        with time_machine.travel(OPENED_AT, tick=False):
            services.open_claim(order=order, buyer=buyer, reason="defective", description="x",
                                desired_outcome="repair", discovered_on=OPENED_AT.date(), evidence=[photo()])
    assert count_queries(client, reverse("orders:list")) == one


def test_claim_page_query_count_does_not_grow_with_messages(client, world):
    services.classify_defect(claim=world.claim, by=world.staff, defect_type="irremovable")  # for partial refunds
    # a pending offer from the start: the page answers it (decline, counter-offer) however many came before
    services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="9")
    client.force_login(world.buyer)
    url = pages(world)["claim"]
    count_queries(client, url)  # the first visit also creates the "seen" marker
    before = count_queries(client, url)
    for n in range(8):
        services.post_message(claim=world.claim, by=world.buyer, body=f"message {n}", attachments=[photo()])
        services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount=str(10 + n))
    assert count_queries(client, url) == before


def test_password_reset_sends_a_link(client):
    user = UserFactory(email="erika@example.com")
    response = client.post(reverse("password_reset"), {"email": user.email}, follow=True)
    assert "Check your email" in response.content.decode()
    assert len(mail.outbox) == 1 and "/accounts/reset/" in mail.outbox[0].body


def test_login_and_logout(client):
    user = UserFactory()
    response = client.post(reverse("login"), {"username": user.username, "password": "pw-for-tests-only"},
                           follow=True)
    assert response.redirect_chain[-1][0] == reverse("orders:list")
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("orders:list")).status_code == 302


def test_pages_are_mobile_ready_and_labelled(client):
    order = delivered_order()  # nothing claimed on it yet: the whole form is offered
    client.force_login(order.buyer)
    with time_machine.travel(OPENED_AT, tick=False):
        html = client.get(reverse("claims:get_help", kwargs={"number": order.number})).content.decode()
    assert 'name="viewport"' in html and 'lang="en"' in html
    assert 'data-progress="upload-progress"' in html and "<progress" in html
    for field in ("id_description", "id_discovered_on", "id_photos", "id_video"):
        assert f'for="{field}"' in html
    assert "14 days" in html  # the right of withdrawal is pointed to before submitting

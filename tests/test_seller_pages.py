"""The seller dashboard: who sees what (and who gets a 404), every action by the right and the wrong people,
refusals shown with nothing changed, the queue's order, filters and unread marks, and query counts that do not
grow with the rows shown."""

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import notifications, services
from claims.models import Claim, ClaimView, Evidence, Offer
from claims.tests.corpus import invoice_pdf
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim, photo
from claims.tests.media import video
from orders.models import Shipment
from orders.tests.factories import OrderFactory, OrderItemFactory
from sellers import services as seller_services
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
LATER = OPENED_AT + 2 * H


@pytest.fixture(autouse=True)
def _frozen_time():
    """Pages are looked at two hours after the claim was opened, unless a test travels further."""
    with time_machine.travel(LATER, tick=False):
        yield


def add_owner(world):
    world.owner = UserFactory()
    SellerMembership.objects.create(user=world.owner, seller=world.claim.seller, role="owner")
    return world


@pytest.fixture
def world():
    return add_owner(claim_world("awaiting_seller"))


def url(name, world=None, **kwargs):
    if world is not None:
        kwargs["number"] = world.claim.number
    return reverse(f"sellers:{name}", kwargs=kwargs)


def page(client, path, **params):
    response = client.get(path, params)
    return response, response.content.decode()


# --- who sees what ------------------------------------------------------------------------------------------

# The dashboard pages are for seller staff (403 for anyone else); a claim of another seller is a 404.
EXPECTED = {
    "staff": {"queue": 200, "performance": 200, "claim": 200},
    "owner": {"queue": 200, "performance": 200, "claim": 200},
    "other_staff": {"queue": 200, "performance": 200, "claim": 404},
    "buyer": {"queue": 403, "performance": 403, "claim": 404},
    "other_buyer": {"queue": 403, "performance": 403, "claim": 404},
    "agent": {"queue": 403, "performance": 403, "claim": 404},
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_every_page_for_every_role(client, world, role):
    client.force_login(getattr(world, role))
    pages = {"queue": url("queue"), "performance": url("performance"), "claim": url("claim", world)}
    for name, path in pages.items():
        assert client.get(path).status_code == EXPECTED[role][name], (role, name)


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    for path in (url("queue"), url("performance"), url("claim", world), url("reply", world)):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_queue_shows_only_the_sellers_own_claims(client, world):
    other = claim_world("awaiting_seller")
    client.force_login(world.staff)
    _response, html = page(client, url("queue"))
    assert world.claim.number in html and other.claim.number not in html
    client.force_login(other.staff)
    _response, html = page(client, url("queue"))
    assert other.claim.number in html and world.claim.number not in html


def test_staff_of_several_sellers_pick_the_seller(client, world):
    second = claim_world("awaiting_seller")
    SellerMembership.objects.create(user=world.staff, seller=second.claim.seller, role="staff")
    client.force_login(world.staff)
    first_seller, second_seller = sorted([world.claim.seller, second.claim.seller], key=lambda s: s.display_name)
    first_claim, second_claim = ((world.claim, second.claim) if first_seller == world.claim.seller
                                 else (second.claim, world.claim))
    _response, html = page(client, url("queue"))  # default: the first seller
    assert first_claim.number in html and second_claim.number not in html
    assert 'id="seller-switch"' in html
    _response, html = page(client, url("queue"), seller=second_seller.slug)
    assert second_claim.number in html and first_claim.number not in html
    # Both claims open from the claim page, each under its own seller.
    assert client.get(url("claim", number=second_claim.number)).status_code == 200
    # A seller one does not work for, or that does not exist, is a 404.
    outsider = SellerFactory()
    assert client.get(url("queue"), {"seller": outsider.slug}).status_code == 404
    assert client.get(url("performance"), {"seller": "no-such-seller"}).status_code == 404


def test_home_sends_seller_staff_to_the_dashboard_and_the_nav_links_it(client, world):
    client.force_login(world.staff)
    assert client.get("/")["Location"] == url("queue")
    _response, html = page(client, url("queue"))
    assert f'href="{url("queue")}"' in html and "Seller dashboard" in html
    client.force_login(world.buyer)
    assert client.get("/")["Location"] == reverse("orders:list")
    assert "Seller dashboard" not in client.get(reverse("orders:list")).content.decode()
    client.force_login(world.agent)
    assert client.get("/")["Location"] == reverse("admin:index")


def test_emails_to_seller_staff_link_to_the_dashboards_claim_page(world):
    link = notifications._link(world.claim, "seller")
    assert link.endswith(url("claim", world))


# --- the claim page -----------------------------------------------------------------------------------------


def test_claim_page_shows_order_items_description_evidence_and_messages(client, world):
    services.post_message(claim=world.claim, by=world.buyer, body="Here is a video of it.", attachments=[video()])
    client.force_login(world.staff)
    _response, html = page(client, url("claim", world))
    claim = world.claim
    photo_evidence = claim.evidence.get(kind="photo")
    video_evidence = claim.evidence.get(kind="video")
    assert claim.order.number in html and claim.order.items.get().title in html
    assert "The screen flickers." in html and "Here is a video of it." in html
    assert reverse("claims:evidence_thumbnail", kwargs={"pk": photo_evidence.pk}) in html
    assert f'href="{reverse("claims:evidence", kwargs={"pk": photo_evidence.pk})}"' in html
    video_url = reverse("claims:evidence", kwargs={"pk": video_evidence.pk})
    poster_url = reverse("claims:evidence_thumbnail", kwargs={"pk": video_evidence.pk})
    assert f'preload="none" poster="{poster_url}"' in html and f'src="{video_url}"' in html
    # The deadline that matters to the seller, with a live countdown.
    assert "Please reply by" in html and '<time class="countdown" datetime="2026-03-12T10:00:00+01:00">' in html
    # The actions the state allows; tracking only for claims of items not received.
    for action in ("reply", "offer", "reject"):
        assert f'action="{url(action, world)}"' in html
    assert url("tracking", world) not in html and url("return_received", world) not in html


def test_opening_the_claim_page_marks_it_seen(client, world):
    client.force_login(world.staff)
    assert not ClaimView.objects.filter(user=world.staff).exists()
    client.get(url("claim", world))
    assert ClaimView.objects.get(user=world.staff, claim=world.claim).seen_at == LATER


@pytest.mark.parametrize("page", ["seller", "buyer"])
def test_showing_a_claim_writes_nothing_until_the_page_is_sent(world, page):
    """The "seen" marker is written after the response was sent (core.after_response), not while the GET answers."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.core import signals
    from django.db import close_old_connections
    from django.test import RequestFactory

    from claims import views as buyer_views
    from claims.seller import views as seller_views

    user = world.staff if page == "seller" else world.claim.buyer
    view = seller_views.claim_detail if page == "seller" else buyer_views.claim_detail
    request = RequestFactory().get("/")
    request.user, request.session = user, SessionStore()
    with CaptureQueriesContext(connection) as queries:
        response = view(request, world.claim.number)
    assert response.status_code == 200
    assert [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")] == []
    assert not ClaimView.objects.filter(user=user).exists()
    # What the server does once the page is sent (without closing the test's connection, as the test client does).
    signals.request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        signals.request_finished.connect(close_old_connections)
    assert ClaimView.objects.get(user=user, claim=world.claim).seen_at == LATER


# --- actions: the wrong people ------------------------------------------------------------------------------

ACTIONS = ["reply", "offer", "reject", "tracking", "return_received", "provide_info"]


@pytest.mark.parametrize("action", ACTIONS + ["withdraw_offer"])
@pytest.mark.parametrize("role", ["buyer", "other_buyer", "other_staff", "agent"])
def test_nobody_but_the_sellers_staff_acts_on_the_seller_pages(client, world, role, action):
    services.classify_defect(claim=world.claim, by=world.staff, defect_type="removable")  # a repair needs it
    offer = services.make_offer(claim=world.claim, by=world.staff, kind="repair")
    kwargs = {"offer_id": offer.pk} if action == "withdraw_offer" else {}
    client.force_login(getattr(world, role))
    response = client.post(url(action, world, **kwargs), {"reply-body": "hello", "offer-kind": "full_refund"})
    assert response.status_code == 404
    claim = world.refresh()
    assert claim.state == "in_progress" and claim.messages.count() == 0
    assert list(claim.offers.values_list("status", flat=True)) == ["pending"]


@pytest.mark.parametrize("action", ACTIONS + ["withdraw_offer"])
def test_actions_are_post_only(client, world, action):
    client.force_login(world.staff)
    kwargs = {"offer_id": 1} if action == "withdraw_offer" else {}
    assert client.get(url(action, world, **kwargs)).status_code == 405


def test_an_offer_of_another_claim_is_a_404(client, world):
    other = claim_world("in_progress", defect_type="removable")
    offer = services.make_offer(claim=other.claim, by=other.staff, kind="repair")
    client.force_login(world.staff)
    assert client.post(url("withdraw_offer", world, offer_id=offer.pk)).status_code == 404
    assert Offer.objects.get(pk=offer.pk).status == "pending"


# --- actions: the seller's staff ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "owner"])
def test_the_first_reply_stops_the_clock_and_later_ones_are_messages(client, world, role):
    client.force_login(getattr(world, role))
    report = SimpleUploadedFile("report.pdf", invoice_pdf("Expert report"), content_type="application/pdf")
    response = client.post(url("reply", world), {"reply-body": "Sorry! Please send it in for repair.",
                                                 "reply-attachments": [report],
                                                 "reply-attachment_kind": "inspection_report"}, follow=True)
    assert "Your message was sent to the buyer." in response.content.decode()
    claim = world.refresh()
    assert claim.state == "in_progress" and claim.first_replied_at == LATER
    assert claim.messages.get().party == "seller"
    assert claim.evidence.get(message__isnull=False).kind == "inspection_report"
    client.post(url("reply", world), {"reply-body": "Any news?"})
    assert world.refresh().messages.count() == 2


def test_an_empty_reply_is_a_form_error(client, world):
    client.force_login(world.staff)
    response = client.post(url("reply", world), {"reply-body": "  "})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert world.refresh().state == "awaiting_seller"


def test_a_bad_attachment_refuses_the_whole_reply(client, world):
    client.force_login(world.staff)
    response = client.post(url("reply", world), {"reply-body": "see file", "reply-attachments": [
        SimpleUploadedFile("evil.jpg", b"<script>alert(1)</script>")]})
    assert response.status_code == 400 and "not a file we accept" in response.content.decode()
    claim = world.refresh()
    assert claim.state == "awaiting_seller" and claim.messages.count() == 0


@pytest.mark.parametrize("kind, amount, expected", [
    ("full_refund", "", Decimal("199.00")),
    ("partial_refund", "25.50", Decimal("25.50")),
    ("discount", "10", Decimal("10.00")),
    ("replacement", "", None),
    ("repair", "999", None),  # kinds without an amount ignore one
])
def test_offers(client, world, kind, amount, expected):
    client.force_login(world.staff)
    # classified in the same step where the kind needs the type of defect (claims.remedies)
    defect_type = {"partial_refund": "irremovable", "discount": "irremovable", "repair": "removable"}.get(kind, "")
    response = client.post(url("offer", world), {"offer-kind": kind, "offer-amount": amount,
                                                 "offer-note": "We are sorry.", "offer-defect_type": defect_type},
                           follow=True)
    assert "Your offer was sent." in response.content.decode()
    offer = world.refresh().offers.get()
    assert (offer.kind, offer.amount, offer.status, offer.note) == (kind, expected, "pending", "We are sorry.")
    assert world.claim.state == "in_progress"  # an offer is an answer too


def test_return_for_refund_uses_the_label_given_or_the_policys_return_address(client, world):
    client.force_login(world.staff)
    client.post(url("offer", world), {"offer-kind": "return_for_refund",
                                      "offer-return_instructions": "DHL label RET-42"})
    assert world.claim.offers.get().return_instructions == "DHL label RET-42"
    client.post(url("offer", world), {"offer-kind": "return_for_refund"})
    offers = world.claim.offers.order_by("id")
    assert [o.status for o in offers] == ["withdrawn", "pending"]
    assert offers.last().return_instructions == "Returns, 1 Depot St, Berlin"


@pytest.mark.parametrize("data, message", [
    ({"offer-kind": "partial_refund"}, "Please enter the amount of the partial refund or discount."),
    ({"offer-kind": "partial_refund", "offer-amount": "-5"}, "greater than or equal to 0.01"),
    ({"offer-kind": "partial_refund", "offer-amount": "199.00", "offer-defect_type": "irremovable"},
     "must be less than €199.00"),
    ({"offer-kind": "gift_card"}, "Select a valid choice."),
])
def test_refused_offers_change_nothing(client, world, data, message):
    client.force_login(world.staff)
    response = client.post(url("offer", world), data)
    assert response.status_code == 400 and message in response.content.decode()
    claim = world.refresh()
    assert claim.state == "awaiting_seller" and not claim.offers.exists()


def test_withdrawing_an_offer(client, world):
    services.classify_defect(claim=world.claim, by=world.staff, defect_type="irremovable")
    offer = services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="20")
    client.force_login(world.owner)
    response = client.post(url("withdraw_offer", world, offer_id=offer.pk), follow=True)
    assert "You withdrew your offer." in response.content.decode()
    assert Offer.objects.get(pk=offer.pk).status == "withdrawn"
    again = client.post(url("withdraw_offer", world, offer_id=offer.pk), follow=True).content.decode()
    assert "This offer was already answered." in again


def test_rejecting_with_a_reason_and_evidence(client, world):
    client.force_login(world.staff)
    response = client.post(url("reject", world), {
        "reject-code": "buyer_damage", "reject-body": "The frame shows a drop.",
        "reject-evidence": [photo("before.jpg")], "reject-evidence_kind": ""}, follow=True)
    assert "You rejected the claim." in response.content.decode()
    claim = world.refresh()
    assert (claim.state, claim.rejected, claim.rejection_code) == ("in_progress", True, "buyer_damage")
    assert claim.evidence.get(party="seller").kind == "photo"
    assert claim.buyer_may_escalate()


@pytest.mark.parametrize("data, message", [
    ({"reject-code": "buyer_damage", "reject-body": "No."}, "A rejection needs evidence"),
    ({"reject-body": "No.", "reject-evidence": "x"}, "Please choose the reason for rejecting the claim."),
    ({"reject-code": "buyer_damage", "reject-body": "No.",
      "reject-evidence": [SimpleUploadedFile("x.pdf", b"not a pdf at all")]}, "not a file we accept"),
])
def test_refused_rejections_change_nothing(client, world, data, message):
    if data.get("reject-evidence") == "x":
        data["reject-evidence"] = [photo()]
    client.force_login(world.staff)
    response = client.post(url("reject", world), data)
    assert response.status_code == 400 and message in response.content.decode()
    claim = world.refresh()
    assert (claim.state, claim.rejected) == ("awaiting_seller", False)
    assert not Evidence.objects.filter(party="seller").exists()


def not_received_world():
    order = OrderFactory(estimated_delivery=dt.date(2026, 3, 4))
    OrderItemFactory(order=order)
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller)
    with time_machine.travel(OPENED_AT, tick=False):
        claim = services.open_claim(order=order, buyer=order.buyer, reason="not_received",
                                    description="Nothing arrived", desired_outcome="refund")
    return claim, staff


def test_tracking_number_for_a_not_received_claim(client):
    claim, staff = not_received_world()
    client.force_login(staff)
    html = client.get(url("claim", number=claim.number)).content.decode()
    assert f'action="{url("tracking", number=claim.number)}"' in html
    response = client.post(url("tracking", number=claim.number), {
        "tracking-carrier": "DPD", "tracking-tracking_number": "01234567", "tracking-shipped_on": "2026-03-03",
        "tracking-proof": [SimpleUploadedFile("receipt.pdf", invoice_pdf("Receipt"), content_type="application/pdf")]},
        follow=True)
    assert "The shipment details were added." in response.content.decode()
    claim.refresh_from_db()
    assert claim.state == "in_progress"
    shipment = Shipment.objects.get(order=claim.order, tracking_number="01234567")
    assert shipment.carrier == "DPD" and shipment.shipped_at.date() == dt.date(2026, 3, 3)
    assert claim.evidence.get(party="seller").kind == "proof_of_shipment"


def test_proof_of_shipment_without_a_tracking_number(client):
    claim, staff = not_received_world()
    client.force_login(staff)
    client.post(url("tracking", number=claim.number), {"tracking-proof": [photo("posting-slip.jpg")]})
    claim.refresh_from_db()
    assert claim.state == "in_progress" and claim.messages.get().body == "Proof of shipment attached."
    assert claim.evidence.get(party="seller").kind == "photo"  # a photo of the slip, in the proof's message
    assert not Shipment.objects.filter(order=claim.order).exists()


@pytest.mark.parametrize("data, message", [
    ({}, "Enter a tracking number or attach a proof of shipment."),
    ({"tracking-tracking_number": "123"}, "Please name the carrier of this tracking number."),
    ({"tracking-carrier": "DHL", "tracking-tracking_number": "1", "tracking-shipped_on": "2026-04-01"},
     "The date cannot be in the future."),
])
def test_refused_tracking_changes_nothing(client, data, message):
    claim, staff = not_received_world()
    client.force_login(staff)
    response = client.post(url("tracking", number=claim.number), data)
    assert response.status_code == 400 and message in response.content.decode()
    claim.refresh_from_db()
    assert claim.state == "awaiting_seller" and not Shipment.objects.exists()


def test_tracking_is_only_for_claims_of_items_not_received(client, world):
    client.force_login(world.staff)
    for data in ({"tracking-carrier": "DHL", "tracking-tracking_number": "1"}, {"tracking-proof": [photo()]}):
        response = client.post(url("tracking", world), data)
        assert response.status_code == 409
        assert "Tracking can be added to an open claim for an item not received." in response.content.decode()
    claim = world.refresh()
    assert claim.state == "awaiting_seller" and not claim.messages.exists()
    assert not Shipment.objects.filter(tracking_number="1").exists()


def test_marking_a_returned_item_received_with_the_inspection_result(client):
    world = claim_world("awaiting_return")
    client.force_login(world.staff)
    html = client.get(url("claim", world)).content.decode()
    assert f'action="{url("return_received", world)}"' in html and "Waiting for the return" in html
    assert f'action="{url("offer", world)}"' not in html
    response = client.post(url("return_received", world), {"return-inspection_result": "as_expected",
                                                           "return-note": "Repaired and sent back."}, follow=True)
    assert "You confirmed the returned item arrived." in response.content.decode()
    claim = world.refresh()
    assert (claim.state, claim.inspection_result) == ("resolved", "as_expected")


def test_return_received_needs_an_inspection_result_and_the_right_state(client, world):
    client.force_login(world.staff)
    response = client.post(url("return_received", world), {})
    assert response.status_code == 400 and "Please choose the result of your inspection." in response.content.decode()
    response = client.post(url("return_received", world), {"return-inspection_result": "damaged"})
    assert response.status_code == 409 and "That is not possible now" in response.content.decode()
    assert world.refresh().state == "awaiting_seller"


def test_answering_the_platforms_question(client):
    world = claim_world("escalated")
    services.request_info(claim=world.claim, by=world.agent, party="seller", question="Proof of the test, please?")
    client.force_login(world.staff)
    html = client.get(url("claim", world)).content.decode()
    assert "Answer the platform by" in html or "asked you for information" in html
    assert f'action="{url("provide_info", world)}"' in html
    response = client.post(url("provide_info", world), {"info-body": "Report attached.",
                                                        "info-attachments": [photo()]}, follow=True)
    assert "your answer was passed to our support team" in response.content.decode()
    assert world.refresh().state == "escalated"


def test_answering_when_nobody_asked_the_seller_is_refused(client, world):
    client.force_login(world.staff)
    response = client.post(url("provide_info", world), {"info-body": "Unasked answer"})
    assert response.status_code == 409 and "That is not possible now" in response.content.decode()
    assert not world.refresh().messages.exists()


def test_after_the_resolution_deadline_the_seller_can_no_longer_offer(client, world):
    with time_machine.travel(world.claim.resolution_due_at + H, tick=False):
        services.enforce_deadlines()
        assert world.refresh().state == "escalated"
        client.force_login(world.staff)
        html = client.get(url("claim", world)).content.decode()
        assert f'action="{url("offer", world)}"' not in html and "With the platform" in html
        response = client.post(url("offer", world), {"offer-kind": "full_refund"})
        assert response.status_code == 409 and "That is not possible now" in response.content.decode()
        response = client.post(url("reject", world), {"reject-code": "other", "reject-body": "No",
                                                      "reject-evidence": [photo()]})
        assert response.status_code == 409
    claim = world.refresh()
    assert claim.state == "escalated" and not claim.offers.exists() and not claim.rejected
    assert not Evidence.objects.filter(party="seller").exists()


def test_a_suspended_sellers_staff_read_but_cannot_act(client, world):
    seller_services.suspend(seller=world.claim.seller, by=world.agent, reason="Fraud checks")
    client.force_login(world.staff)
    html = client.get(url("claim", world)).content.decode()
    assert "Your seller account is suspended" in html
    assert 'enctype="multipart/form-data"' not in html and f'action="{url("reply", world)}"' not in html
    response = client.post(url("reply", world), {"reply-body": "Let me help"})
    assert response.status_code == 403 and "not active" in response.content.decode()
    assert not world.refresh().messages.exists()


def _setup(action):
    """A claim where `action` is possible, the data that does it, and how to tell it was done."""
    if action == "tracking":
        claim, staff = not_received_world()
        world = SimpleNamespace(claim=claim, staff=staff, refresh=lambda: Claim.objects.get(pk=claim.pk))
        return (add_owner(world), {"tracking-carrier": "DHL", "tracking-tracking_number": "JJD1"},
                lambda c: c.order.shipments.filter(tracking_number="JJD1").exists())
    if action == "return_received":
        return (add_owner(claim_world("awaiting_return")), {"return-inspection_result": "incomplete"},
                lambda c: c.state == "resolved" and c.inspection_result == "incomplete")
    if action == "provide_info":
        world = add_owner(claim_world("escalated"))
        services.request_info(claim=world.claim, by=world.agent, party="seller", question="Test report?")
        return world, {"info-body": "Attached."}, lambda c: c.state == "escalated"
    world = add_owner(claim_world("in_progress"))
    if action == "withdraw_offer":
        services.classify_defect(claim=world.claim, by=world.staff, defect_type="removable")
        world.offer = services.make_offer(claim=world.claim, by=world.staff, kind="repair")
        return world, {}, lambda c: c.offers.get().status == "withdrawn"
    data, done = {
        "reply": ({"reply-body": "Hello"}, lambda c: c.messages.filter(body="Hello").exists()),
        "offer": ({"offer-kind": "discount", "offer-amount": "9.99", "offer-defect_type": "irremovable"},
                  lambda c: c.offers.get().amount == Decimal("9.99")),
        "reject": ({"reject-code": "other", "reject-body": "No", "reject-evidence": [photo()]},
                   lambda c: c.rejected),
    }[action]
    return world, data, done


@pytest.mark.parametrize("action", ACTIONS + ["withdraw_offer"])
@pytest.mark.parametrize("role", ["staff", "owner"])
def test_each_action_by_the_sellers_owner_and_staff(client, role, action):
    world, data, done = _setup(action)
    kwargs = {"offer_id": world.offer.pk} if action == "withdraw_offer" else {}
    client.force_login(getattr(world, role))
    response = client.post(url(action, world, **kwargs), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"].startswith(url("claim", world))
    assert done(world.refresh())


# --- the queue ----------------------------------------------------------------------------------------------


def staff_world():
    """A seller with staff and claims opened one after another (older first)."""
    seller = SellerFactory()
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=seller)
    return seller, staff


def open_for(seller, *, at, reason="defective"):
    order = delivered_order(seller=seller)
    return open_defective_claim(at=at, order=order, reason=reason)


def queue_numbers(html):
    return re.findall(r'<a href="/seller/claims/([^/]+)/">', html)


def queue_row(html, number):
    return html.split(f">{number}</a>")[1].split("</tr>")[0]


def test_queue_is_sorted_by_the_next_deadline_none_last(client):
    seller, staff = staff_world()
    old = open_for(seller, at=OPENED_AT - 10 * H)
    new = open_for(seller, at=OPENED_AT)
    replied = open_for(seller, at=OPENED_AT - 20 * H)
    escalated = open_for(seller, at=OPENED_AT - 30 * H)
    with time_machine.travel(OPENED_AT + H, tick=False):
        services.reply(claim=replied, by=staff, body="On it")  # next deadline: the resolution reminder
        # next deadline: the platform's decision target, 2 business days (before the replied claim's resolution)
        services.escalate(claim=escalated, by=make_agent(), reason="x")
    client.force_login(staff)
    _response, html = page(client, url("queue"))
    assert queue_numbers(html) == [old.number, new.number, escalated.number, replied.number]


def make_agent():
    from sellers.tests.factories import make_agent as factory

    return factory()


def test_queue_filters_search_and_pagination_keep_the_filters(client):
    seller, staff = staff_world()
    claims = [open_for(seller, at=OPENED_AT - n * dt.timedelta(minutes=1)) for n in range(27)]
    not_received, _staff = not_received_world()
    Claim.objects.filter(pk=not_received.pk).update(seller=seller)  # same seller, another reason
    client.force_login(staff)
    _response, html = page(client, url("queue"), reason="defective")
    assert len(queue_numbers(html)) == 25 and "27 claims" in html
    next_link = re.search(r'href="\?([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "reason=defective" in next_link and "page=2" in next_link
    _response, html = page(client, url("queue") + "?" + next_link)
    assert len(queue_numbers(html)) == 2
    _response, html = page(client, url("queue"), reason="not_received")
    assert queue_numbers(html) == [not_received.number]
    _response, html = page(client, url("queue"), q=claims[3].number[-4:].lower())
    assert queue_numbers(html) == [claims[3].number]
    _response, html = page(client, url("queue"), q=claims[5].order.number)
    assert queue_numbers(html) == [claims[5].number]
    _response, html = page(client, url("queue"), state="resolved")
    assert queue_numbers(html) == [] and "No claims match these filters." in html
    _response, html = page(client, url("queue"), state="nonsense", reason="??")  # ignored, not an error
    assert len(queue_numbers(html)) == 25


def test_queue_state_filters(client):
    seller, staff = staff_world()
    waiting = open_for(seller, at=OPENED_AT)
    replied = open_for(seller, at=OPENED_AT)
    escalated = open_for(seller, at=OPENED_AT)
    closed = open_for(seller, at=OPENED_AT)
    services.reply(claim=replied, by=staff, body="On it")
    services.escalate(claim=escalated, by=make_agent(), reason="x")
    services.close(claim=closed, by=closed.buyer)
    client.force_login(staff)

    def shown(**params):
        return set(queue_numbers(page(client, url("queue"), **params)[1]))

    assert shown() == {waiting.number, replied.number, escalated.number}
    assert shown(state="needs_you") == {waiting.number, replied.number}
    assert shown(state="escalated") == {escalated.number}
    assert shown(state="resolved") == {closed.number}
    assert shown(state="all") == {waiting.number, replied.number, escalated.number, closed.number}


def test_overdue_claims_are_marked_and_filtered(client, world):
    fresh = open_for(world.claim.seller, at=OPENED_AT + 40 * H)
    client.force_login(world.staff)
    with time_machine.travel(OPENED_AT + 49 * H, tick=False):
        _response, html = page(client, url("queue"))
        row = queue_row(html, world.claim.number)
        assert "Reply overdue" in row and 'class="badge overdue"' in row
        # Past the first-reply deadline the countdown runs to the platform's take-over.
        assert 'datetime="2026-03-17T10:00:00+01:00"' in row and "left</time>" in row
        fresh_row = queue_row(html, fresh.number)
        assert "First reply due" in fresh_row and "overdue" not in fresh_row
        _response, html = page(client, url("queue"), state="overdue")
        assert queue_numbers(html) == [world.claim.number]


def test_a_platform_late_with_its_decision_is_not_the_sellers_overdue(client, world):
    """Issue 15: an escalated claim's deadline is the platform's decision target; when the platform misses it, the
    seller's queue does not count or mark the claim as overdue, and its page does not say so."""
    with time_machine.travel(OPENED_AT + 49 * H, tick=False):  # past the first-reply deadline: the buyer may
        services.escalate(claim=world.claim, by=world.buyer)
    due = world.refresh().decision_due_at
    client.force_login(world.staff)
    with time_machine.travel(due + H, tick=False):
        _response, html = page(client, url("queue"))
        assert 'class="badge overdue"' not in queue_row(html, world.claim.number)
        assert queue_numbers(page(client, url("queue"), state="overdue")[1]) == []
        assert 'class="badge overdue"' not in page(client, url("claim", world))[1]


def test_unread_activity(client, world):
    client.force_login(world.staff)

    def row():
        return queue_row(page(client, url("queue"))[1], world.claim.number)

    assert "New activity" in row()  # never opened
    client.get(url("claim", world))
    assert "New activity" not in row()
    assert queue_numbers(page(client, url("queue"), unread="on")[1]) == []
    with time_machine.travel(LATER + H, tick=False):
        services.post_message(claim=world.claim, by=world.buyer, body="Any news?")
    with time_machine.travel(LATER + 2 * H, tick=False):
        assert "New activity" in row()
        assert queue_numbers(page(client, url("queue"), unread="on")[1]) == [world.claim.number]
    # What a colleague has seen does not count for me.
    client.force_login(world.owner)
    assert "New activity" in row()


# --- query counts -------------------------------------------------------------------------------------------


def count_queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_queue_query_count_is_the_same_for_1_and_30_claims(client):
    seller, staff = staff_world()
    open_for(seller, at=OPENED_AT)
    client.force_login(staff)
    one = count_queries(client, url("queue"))
    for n in range(29):
        claim = open_for(seller, at=OPENED_AT - n * dt.timedelta(minutes=1))
        if n % 3 == 0:
            services.reply(claim=claim, by=staff, body="Hello")
        if n % 4 == 0:
            services.mark_seen(claim=claim, by=staff)
    assert Claim.objects.filter(seller=seller).count() == 30
    assert count_queries(client, url("queue")) == one
    assert count_queries(client, url("queue") + "?page=2") == one


def test_claim_page_query_count_does_not_grow_with_messages_offers_and_evidence(client, world):
    # From the first message on: with none at all, Django skips the query for the messages' attachments.
    services.post_message(claim=world.claim, by=world.buyer, body="first", attachments=[photo()])
    services.classify_defect(claim=world.claim, by=world.staff, defect_type="irremovable")  # partial refunds below
    client.force_login(world.staff)
    path = url("claim", world)
    count_queries(client, path)  # the first visit also creates the "seen" marker
    before = count_queries(client, path)
    for n in range(6):
        services.post_message(claim=world.claim, by=world.buyer, body=f"message {n}", attachments=[photo()])
        services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount=str(10 + n))
        services.post_message(claim=world.claim, by=world.staff, body=f"answer {n}", attachments=[photo()])
    assert count_queries(client, path) == before


def test_performance_query_count_does_not_grow_with_claims(client):
    seller, staff = staff_world()
    services.reply(claim=open_for(seller, at=OPENED_AT), by=staff, body="Hello")
    client.force_login(staff)
    one = count_queries(client, url("performance") + "?period=all")
    for n in range(10):
        claim = open_for(seller, at=OPENED_AT - n * H)
        services.reply(claim=claim, by=staff, body="Hello")
    assert count_queries(client, url("performance") + "?period=all") == one


# --- the page itself ----------------------------------------------------------------------------------------


def test_pages_are_labelled_and_mobile_ready(client, world):
    client.force_login(world.staff)
    html = page(client, url("queue"))[1]
    assert 'name="viewport"' in html and 'role="search"' in html
    for field in ("id_state", "id_reason", "id_q", "id_unread"):
        assert f'for="{field}"' in html
    html = page(client, url("claim", world))[1]
    for field in ("id_reply-body", "id_reply-attachments", "id_offer-amount", "id_offer-return_instructions",
                  "id_reject-body", "id_reject-evidence"):
        assert f'for="{field}"' in html
    assert "<legend>What do you offer?</legend>" in html and "<legend>Why do you reject the claim?</legend>" in html
    html = page(client, url("performance"))[1]
    assert 'for="id_period"' in html


def test_the_claim_page_asks_once_whom_the_person_works_for(client, world):
    """Every action the page weighs asks whether the person is the seller's staff (claims.abilities); the answer is
    read once per request (sellers.selectors.seller_ids_of), not once per question."""
    client.force_login(world.staff)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("claim", world)).status_code == 200
    assert sum(q["sql"].count('FROM "sellers_sellermembership"') for q in queries) == 1

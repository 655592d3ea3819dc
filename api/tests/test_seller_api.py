"""The seller API (api.seller) with a seller's key: the claims list (filters, cursor pages, what may be done, the
deadlines, what is refundable), one claim as its dashboard page shows it, every action through the claim services
(and refused as the dashboard refuses it), evidence upload and download. The clock is controlled throughout."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import uuid
from decimal import Decimal
from urllib.parse import quote

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from api.api import api
from claims import services
from claims.models import Claim, Evidence, Message, Offer
from claims.tests.corpus import invoice_pdf
from claims.tests.factories import OPENED_AT, delivered_order, open_defective_claim, photo
from integrations.keys import revoke_api_key
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory, make_agent

from .helpers import auth, get, post, seller_key

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
NOW = OPENED_AT + 3 * H  # the API is asked two hours after the set-up's own actions (OPENED_AT + 1 h)
API = "/api/v1/claims"
PDF = invoice_pdf()  # a real one: PDFs are opened and rewritten (issue 18)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def post_files(client, path: str, key: str, data: dict, *, idempotency_key: str | None = None):
    """A multipart POST (files and form fields) with a fresh Idempotency-Key."""
    headers = auth(key)
    headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key or str(uuid.uuid4())
    return client.post(path, data=data, **headers)


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"/api/problems/{code}", body
    return body


def gps_photo(name: str = "IMG_1.jpg") -> SimpleUploadedFile:
    """A JPEG as a phone writes it: with the camera and where it was taken in its EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif.get_ifd(0x8825)[2] = (52.0, 31.0, 12.0)
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (10, 120, 200)).save(buffer, format="JPEG", exif=exif.tobytes())
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


# --- one seller's claims in every state (through the services, as the factories do) ---------------------------------


class Shop:
    """A seller with its staff, an API key and a support agent; claims are opened on it at will."""

    def __init__(self) -> None:
        self.seller = SellerFactory()
        self.staff = UserFactory()
        SellerMembership.objects.create(user=self.staff, seller=self.seller, role="staff")
        self.agent = make_agent()
        self.api_key, self.key = seller_key(self.seller)

    def claim(self, variant: str = "awaiting_seller", *, at: dt.datetime = OPENED_AT) -> Claim:
        claim = open_defective_claim(at=at, order=delivered_order(seller=self.seller))
        with time_machine.travel(at + H, tick=False):
            self.drive(claim, variant)
        return Claim.objects.get(pk=claim.pk)

    def drive(self, claim: Claim, variant: str) -> None:
        staff, agent = self.staff, self.agent
        if variant in ("in_progress", "classified", "expert", "offered"):
            services.reply(claim=claim, by=staff, body="Sorry about that, let us sort it out.")
        if variant == "classified":
            services.classify_defect(claim=claim, by=staff, defect_type="removable")
        elif variant == "expert":
            services.start_expert_assessment(claim=claim, by=staff, expert="Phone lab")
        elif variant == "offered":
            services.make_offer(claim=claim, by=staff, kind="full_refund")
        elif variant == "rejected":
            services.reject(claim=claim, by=staff, code="normal_wear", body="Wear within the grade sold.",
                            evidence=[photo()])
        elif variant in ("escalated", "resolved", "awaiting_return", "awaiting_info"):
            services.escalate(claim=claim, by=agent, reason="Seller inaction")
            if variant == "resolved":
                services.decide(claim=claim, by=agent, outcome="refund", funded_by="seller")
            elif variant == "awaiting_return":
                services.classify_defect(claim=claim, by=agent, defect_type="removable")
                services.decide(claim=claim, by=agent, outcome="repair", funded_by="seller")
            elif variant == "awaiting_info":
                services.request_info(claim=claim, by=agent, party="seller", question="Serial number?")


PARCELS = itertools.count(1)


def not_received_claim(shop: Shop) -> Claim:
    """A not-received claim: the order's parcel is still in transit."""
    order = OrderFactory(seller=shop.seller, estimated_delivery=dt.date(2026, 3, 4))
    OrderItemFactory(order=order, title="Phone")
    ShipmentFactory(order=order, tracking_number=f"JJD{next(PARCELS):09d}")
    with time_machine.travel(OPENED_AT, tick=False):
        return services.open_claim(order=order, buyer=order.buyer, reason="not_received",
                                   description="Nothing arrived", desired_outcome="refund")


@pytest.fixture
def shop() -> Shop:
    return Shop()


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["number"] for item in response.json()["items"]]


# --- the list -------------------------------------------------------------------------------------------------------


def test_the_list_has_only_the_keys_sellers_claims_with_what_it_may_do_and_by_when(client, shop):
    waiting = shop.claim("awaiting_seller")
    working = shop.claim("in_progress")
    rejected = shop.claim("rejected")
    escalated = shop.claim("escalated")
    others = Shop().claim("awaiting_seller")

    response = get(client, API, shop.key)
    items = {item["number"]: item for item in response.json()["items"]}
    assert set(items) == {waiting.number, working.number, rejected.number, escalated.number}
    assert others.number not in items

    first = items[waiting.number]
    assert first["state"] == "awaiting_seller" and first["reason"] == "defective"
    assert first["order_number"] == waiting.order.number
    assert first["opened_at"] == "2026-03-10T09:00:00Z"
    # 48 hours to the first reply: the dashboard's countdown, and the moment the buyer may escalate
    assert first["respond_by"] == "2026-03-12T09:00:00Z" == iso(waiting.first_reply_due_at)
    assert first["escalation_eligible_at"] == "2026-03-12T09:00:00Z"
    assert first["refundable"] == {"amount": "199.00", "currency": "EUR"}
    assert {"message", "upload_evidence", "make_offer", "reject"} <= set(first["allowed_actions"])
    assert "withdraw_offer" not in first["allowed_actions"] and "receive_return" not in first["allowed_actions"]

    # replied: the resolution deadline (5 business days in Germany) is the seller's now
    assert items[working.number]["respond_by"] == "2026-03-17T09:00:00Z" == iso(working.resolution_due_at)
    assert items[working.number]["escalation_eligible_at"] == "2026-03-12T09:00:00Z"
    # rejected: the buyer may ask the platform at once, from the rejection
    assert items[rejected.number]["rejected"] is True
    assert items[rejected.number]["escalation_eligible_at"] == iso(OPENED_AT + H)
    # with the platform: nothing is the seller's to meet, the buyer has nothing to escalate, no offer from the seller
    assert items[escalated.number]["respond_by"] is None
    assert items[escalated.number]["escalation_eligible_at"] is None
    assert "make_offer" not in items[escalated.number]["allowed_actions"]
    assert "message" in items[escalated.number]["allowed_actions"]


def test_past_the_first_reply_deadline_respond_by_is_the_take_over_the_dashboard_counts_down_to(client, shop):
    claim = shop.claim("awaiting_seller")
    with time_machine.travel(OPENED_AT + 50 * H, tick=False):
        item = get(client, API, shop.key).json()["items"][0]
        page = get(client, f"{API}/{claim.number}", shop.key).json()
    assert item["respond_by"] == "2026-03-17T09:00:00Z" == iso(claim.resolution_due_at)
    assert page["deadline"]["label"] == "Reply overdue" and page["deadline"]["overdue"] is True
    assert page["deadline"]["due_at"] == item["respond_by"]


def test_a_decided_claim_and_a_return_have_no_deadline_of_the_seller_until_the_goods_are_back(client, shop):
    returning = shop.claim("awaiting_return")
    resolved = shop.claim("resolved")
    asked = shop.claim("awaiting_info")
    items = {item["number"]: item for item in get(client, API, shop.key).json()["items"]}
    # the platform asked the seller: 2 calendar days to answer
    assert items[asked.number]["respond_by"] == "2026-03-12T10:00:00Z" == iso(asked.info_due_at)
    assert "provide_info" in items[asked.number]["allowed_actions"]
    assert items[returning.number]["respond_by"] is None  # the buyer sends the item first
    assert "receive_return" in items[returning.number]["allowed_actions"]
    assert items[resolved.number]["outcome"] == "refund" and items[resolved.number]["resolved_at"]
    assert items[resolved.number]["refundable"] == {"amount": "0.00", "currency": "EUR"}
    assert "appeal" in items[resolved.number]["allowed_actions"]  # the platform's decision, within 14 days


def test_the_filters_state_reason_needs_action_and_updated_since(client, shop):
    waiting = shop.claim("awaiting_seller")
    working = shop.claim("in_progress")
    escalated = shop.claim("escalated")
    resolved = shop.claim("resolved")
    asked = shop.claim("awaiting_info")  # the platform asked the seller: the seller's move
    lost = not_received_claim(shop)

    assert set(numbers(get(client, API, shop.key, state="escalated"))) == {escalated.number}
    assert set(numbers(get(client, API, shop.key, state="awaiting_seller,in_progress"))) == {
        waiting.number, working.number, lost.number}
    assert set(numbers(client.get(f"{API}?state=resolved&state=escalated", **auth(shop.key)))) == {
        resolved.number, escalated.number}
    assert set(numbers(get(client, API, shop.key, reason="not_received"))) == {lost.number}
    assert set(numbers(get(client, API, shop.key, reason="not_received", state="resolved"))) == set()
    assert set(numbers(get(client, API, shop.key, needs_action="true"))) == {
        waiting.number, working.number, asked.number, lost.number}
    assert set(numbers(get(client, API, shop.key, needs_action="false"))) == {escalated.number, resolved.number}

    later = NOW + H
    with time_machine.travel(later, tick=False):
        services.post_message(claim=working, by=working.buyer, body="Any news?")
    with time_machine.travel(later + H, tick=False):
        assert numbers(get(client, API, shop.key, updated_since=iso(later))) == [working.number]
        assert numbers(get(client, API, shop.key, updated_since="2026-03-10T14:00:00+02:00")) == [working.number]
        # an offset a database cannot store is still a moment
        assert numbers(get(client, API, shop.key, updated_since="2026-03-11T07:00:00+19:00")) == [working.number]
        assert set(numbers(get(client, API, shop.key, updated_since=iso(OPENED_AT)))) == {
            waiting.number, working.number, escalated.number, resolved.number, asked.number, lost.number}
        # a change of state (a save, no message) counts as well
        services.escalate(claim=waiting, by=shop.agent, reason="Seller inaction")
        assert set(numbers(get(client, API, shop.key, updated_since=iso(later + H)))) == {waiting.number}


@pytest.mark.parametrize(("params", "field"), [
    ({"state": "waiting"}, "state"), ({"state": "escalated,nope"}, "state"), ({"reason": "broken"}, "reason"),
    ({"needs_action": "perhaps"}, "needs_action"), ({"updated_since": "yesterday"}, "updated_since"),
    ({"updated_since": "2026-03-10T09:00:00"}, "updated_since"), ({"updated_since": "9999-12-31T23:00:00-12:00"},
                                                                   "updated_since"), ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"), ({"cursor": "bm9wZQ"}, "cursor"), ({"cursor": "%%%"}, "cursor"),
])
def test_a_filter_that_makes_no_sense_is_a_422_at_its_field(client, shop, params, field):
    body = problem(get(client, API, shop.key, **params), 422, "validation")
    assert {name.split(".")[0] for name in body["errors"]} == {field}, body  # "state.1": the second state given


def test_cursor_pages_walk_every_claim_once_newest_first(client, shop):
    # four opened at the same moment (ordered by id among themselves), three at moments of their own
    claims = [shop.claim(at=OPENED_AT) for _ in range(4)]
    claims += [shop.claim(at=OPENED_AT + minutes * dt.timedelta(minutes=1)) for minutes in (5, 10, 15)]
    expected = [c.number for c in sorted(claims, key=lambda c: (c.opened_at, c.pk), reverse=True)]
    seen, sizes, cursor = [], [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = get(client, API, shop.key, **params)
        page = numbers(response)
        sizes.append(len(page))
        seen += page
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert sizes == [3, 3, 1]
    assert seen == expected  # no gap, no repeat, newest first
    # a claim worked on while the client walks keeps its place
    second = get(client, API, shop.key, limit=3)
    services.post_message(claim=Claim.objects.get(number=expected[0]), by=shop.staff, body="On it.")
    assert numbers(get(client, API, shop.key, limit=3, cursor=second.json()["next_cursor"])) == expected[3:6]


def test_the_default_page_size_is_the_setting(client, shop, settings):
    settings.API_PAGE_SIZE = 2
    for _ in range(3):
        shop.claim()
    response = get(client, API, shop.key)
    assert len(response.json()["items"]) == 2 and response.json()["next_cursor"]


VARIANTS = ["resolved", "classified", "awaiting_seller", "in_progress", "expert", "offered", "rejected", "escalated",
            "awaiting_return", "awaiting_info", "resolved", "classified", "expert", "offered", "rejected"]


def test_the_lists_queries_do_not_grow_with_its_rows(client, shop):
    """What the abilities, the deadlines and the refundable amounts read is read for the whole page at once: a
    decided claim (the decision an appeal is against), a classified defect (its history), a running expert
    assessment, a pending offer cost no query of their own."""
    for variant in VARIANTS[:2]:
        shop.claim(variant)
    get(client, API, shop.key)  # the key's last use is written once a minute: not in what is counted
    with CaptureQueriesContext(connection) as two:
        assert len(get(client, API, shop.key).json()["items"]) == 2
    for variant in VARIANTS[2:]:
        shop.claim(variant)
    with CaptureQueriesContext(connection) as fifteen:
        assert len(get(client, API, shop.key).json()["items"]) == 15
    assert len(fifteen.captured_queries) == len(two.captured_queries), [q["sql"] for q in fifteen.captured_queries]
    assert len(two.captured_queries) <= 16


# --- one claim ------------------------------------------------------------------------------------------------------


def test_a_claim_shows_what_its_dashboard_page_shows_and_no_internal_note(client, shop):
    claim = shop.claim("offered")
    services.post_message(claim=claim, by=claim.buyer, body="Thanks, here is another photo.", attachments=[photo()])
    services.post_message(claim=claim, by=shop.agent, body="Seller looks slow.", internal=True,
                          attachments=[photo("note.jpg")])
    response = get(client, f"{API}/{claim.number}", shop.key)
    assert response.status_code == 200, response.content
    page = response.json()
    assert page["description"] == "The screen flickers." and page["desired_outcome"] == "repair"
    assert page["items"] == [{
        "id": claim.items.get().order_item_id, "title": claim.items.get().order_item.title,
        "sku": claim.items.get().order_item.sku, "condition": "new", "serial_number": "", "quantity": 1,
        "claimed_quantity": 1, "unit_price": {"amount": "199.00", "currency": "EUR"}}]
    assert page["order"]["buyer_name"] == "Erika Mustermann" and "Hauptstraße 1" in page["order"]["delivery_address"]
    assert "payment_reference" not in page["order"] and claim.buyer.email not in response.content.decode()
    # messages and the timeline: the public thread only
    assert [(m["party"], m["body"]) for m in page["messages"]] == [
        ("seller", "Sorry about that, let us sort it out."), ("buyer", "Thanks, here is another photo.")]
    assert page["messages"][0]["author"] == shop.staff.get_username()
    assert page["messages"][1]["author"] is None  # the buyer is not named by their account
    assert "Seller looks slow." not in response.content.decode()
    internal = Evidence.objects.get(message__is_internal=True)
    shown = {e["id"] for e in page["evidence"]}
    assert internal.pk not in shown and len(shown) == 2  # the claim's photo and the buyer's second one
    assert all(e["url"] == f"{API}/{claim.number}/evidence/{e['id']}" for e in page["evidence"])
    assert [e["kind"] for e in page["timeline"]] == ["event", "event", "message", "offer", "message"]
    assert page["timeline"][-1]["evidence_ids"] == [e["id"] for e in page["messages"][1]["evidence"]]
    offer = claim.offers.get()
    assert page["offers"] == [{
        "id": offer.pk, "kind": "full_refund", "status": "pending", "amount": {"amount": "199.00", "currency": "EUR"},
        "note": "", "return_instructions": "", "party": "seller", "counter_to": None, "decline_reason": "",
        "created_at": iso(OPENED_AT + H), "answered_at": None}]
    assert "withdraw_offer" in page["allowed_actions"]
    assert page["claimed"] == {"amount": "199.00", "currency": "EUR"} and page["refunded"]["amount"] == "0.00"
    assert page["return_authorization"] is None


def test_the_timeline_carries_each_messages_files(client, shop):
    claim = shop.claim("in_progress")
    message = services.post_message(claim=claim, by=claim.buyer, body="Look.", attachments=[photo()])
    page = get(client, f"{API}/{claim.number}", shop.key).json()
    entry = next(e for e in page["timeline"] if e["kind"] == "message" and e["message_id"] == message.pk)
    assert entry["evidence_ids"] == [message.attachments.get().pk]
    assert entry["party"] == "buyer" and entry["body"] == "Look."


def test_a_claim_awaiting_the_return_shows_its_authorization(client, shop):
    claim = shop.claim("awaiting_return")
    page = get(client, f"{API}/{claim.number}", shop.key).json()
    ret = claim.returns.get()
    assert page["return_authorization"]["rma_number"] == ret.rma_number
    assert page["return_authorization"]["status"] == "authorized"
    assert page["return_authorization"]["send_by"] == iso(claim.return_due_at)
    assert page["return_authorization"]["postage_paid_by"] == "seller"


def test_another_sellers_claims_are_404_everywhere(client, shop):
    other = Shop()
    theirs = other.claim("offered")
    evidence = theirs.evidence.first()
    offer = theirs.offers.get()
    for response in (
        get(client, f"{API}/{theirs.number}", shop.key),
        get(client, f"{API}/{theirs.number}/evidence/{evidence.pk}", shop.key),
        post(client, f"{API}/{theirs.number}/messages", shop.key, {"body": "Hello"}),
        post(client, f"{API}/{theirs.number}/offers", shop.key, {"kind": "full_refund"}),
        post(client, f"{API}/{theirs.number}/offers/{offer.pk}/withdraw", shop.key),
        post(client, f"{API}/{theirs.number}/offers/{offer.pk}/accept", shop.key),
        post(client, f"{API}/{theirs.number}/offers/{offer.pk}/decline", shop.key, {"reason": "No."}),
        post(client, f"{API}/{theirs.number}/info", shop.key, {"body": "Hello"}),
        post(client, f"{API}/{theirs.number}/reject", shop.key, {"code": "other", "body": "No.",
                                                                 "evidence_ids": [evidence.pk]}),
        post(client, f"{API}/{theirs.number}/return-received", shop.key, {"inspection_result": "as_expected"}),
        post(client, f"{API}/C-NONE-XIST/messages", shop.key, {"body": "Hello"}),
    ):
        problem(response, 404, "not-found")
    assert not Message.objects.filter(body="Hello").exists()
    assert Offer.objects.get(pk=offer.pk).status == "pending"


# --- actions --------------------------------------------------------------------------------------------------------


def test_a_message_is_the_first_reply_and_a_resolved_claim_takes_none(client, shop):
    claim = shop.claim("awaiting_seller")
    response = post(client, f"{API}/{claim.number}/messages", shop.key, {"body": "  We are on it.  "})
    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["id"])
    assert response.json() == {"id": message.pk, "party": "seller", "author": "ERP (API key)",
                                "body": "We are on it.", "created_at": iso(NOW), "evidence": []}
    claim.refresh_from_db()
    assert claim.state == "in_progress" and claim.first_replied_at == NOW  # the 48-hour clock stopped
    assert claim.transitions.filter(name="reply", actor=shop.api_key.user).exists()

    problem(post(client, f"{API}/{claim.number}/messages", shop.key, {"body": "   "}), 422, "validation")
    resolved = shop.claim("resolved")
    problem(post(client, f"{API}/{resolved.number}/messages", shop.key, {"body": "Hello?"}), 409, "state")


def test_the_same_idempotency_key_twice_posts_one_message_and_answers_the_same(client, shop):
    claim = shop.claim("in_progress")
    first = post(client, f"{API}/{claim.number}/messages", shop.key, {"body": "Once."}, idempotency_key="k-1")
    again = post(client, f"{API}/{claim.number}/messages", shop.key, {"body": "Once."}, idempotency_key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert claim.messages.filter(body="Once.").count() == 1
    other = post(client, f"{API}/{claim.number}/messages", shop.key, {"body": "Twice."}, idempotency_key="k-1")
    problem(other, 422, "idempotency-key-reused")


def test_a_read_only_key_and_a_revoked_key_change_nothing(client, shop):
    claim = shop.claim("in_progress")
    _read, read_only = seller_key(shop.seller, scope="read")
    assert get(client, f"{API}/{claim.number}", read_only).status_code == 200
    problem(post(client, f"{API}/{claim.number}/messages", read_only, {"body": "Hi"}), 403, "read-only-key")
    revoke_api_key(api_key=shop.api_key)
    problem(post(client, f"{API}/{claim.number}/messages", shop.key, {"body": "Hi"}), 401, "unauthorized")
    assert not claim.messages.filter(body="Hi").exists()


def test_offers_are_made_and_withdrawn_through_the_service(client, shop):
    claim = not_received_claim(shop)  # no defect whose type decides the kinds of offer (claims.remedies)
    missing = problem(post(client, f"{API}/{claim.number}/offers", shop.key, {"kind": "partial_refund"}), 422,
                      "validation")
    assert "amount" in missing["errors"]
    too_much = problem(post(client, f"{API}/{claim.number}/offers", shop.key,
                            {"kind": "partial_refund", "amount": "199.00"}), 422, "invalid")
    assert "€199.00" in too_much["detail"]
    problem(post(client, f"{API}/{claim.number}/offers", shop.key, {"kind": "store_credit"}), 422, "validation")

    response = post(client, f"{API}/{claim.number}/offers", shop.key,
                    {"kind": "partial_refund", "amount": "40.5", "note": "For the trouble."})
    assert response.status_code == 201, response.content
    offer = Offer.objects.get(pk=response.json()["id"])
    assert (offer.kind, offer.amount, offer.made_by) == ("partial_refund", Decimal("40.50"), shop.api_key.user)
    assert response.json()["amount"] == {"amount": "40.50", "currency": "EUR"}
    assert response.json()["status"] == "pending" and response.json()["party"] == "seller"
    claim.refresh_from_db()
    assert claim.state == "in_progress"  # a first offer is a first reply
    # a full refund is what is left, whatever amount comes with it
    full = post(client, f"{API}/{claim.number}/offers", shop.key, {"kind": "full_refund", "amount": "1.00"})
    assert full.json()["amount"] == {"amount": "199.00", "currency": "EUR"}
    assert Offer.objects.get(pk=offer.pk).status == "withdrawn"  # replaced by the new one

    withdrawn = post(client, f"{API}/{claim.number}/offers/{full.json()['id']}/withdraw", shop.key)
    assert withdrawn.status_code == 200, withdrawn.content
    assert withdrawn.json()["status"] == "withdrawn" and withdrawn.json()["answered_at"] == iso(NOW)
    problem(post(client, f"{API}/{claim.number}/offers/{full.json()['id']}/withdraw", shop.key), 409, "state")
    problem(post(client, f"{API}/{claim.number}/offers/{10**30}/withdraw", shop.key), 422, "validation")
    another = shop.claim("offered")
    problem(post(client, f"{API}/{claim.number}/offers/{another.offers.get().pk}/withdraw", shop.key), 404,
            "not-found")


def test_an_offer_the_dashboard_refuses_is_refused_the_same(client, shop):
    """With the platform, the seller makes no offer: the dashboard answers 409 with the service's reason, and so
    does the API; nothing is made."""
    claim = shop.claim("escalated")
    refused = problem(post(client, f"{API}/{claim.number}/offers", shop.key, {"kind": "full_refund"}), 409, "state")
    client.force_login(shop.staff)
    page = client.post(reverse("sellers:offer", kwargs={"number": claim.number}), {"offer-kind": "full_refund"},
                       HTTP_HOST="127.0.0.1")
    assert page.status_code == 409
    assert refused["detail"].split(" ")[:4] == ["That", "is", "not", "possible"]
    assert not claim.offers.exists()


def test_the_platforms_offer_and_the_buyers_counter_offer_are_not_the_sellers_to_withdraw(client, shop):
    claim = shop.claim("escalated")
    platform = services.make_offer(claim=claim, by=shop.agent, kind="full_refund")
    problem(post(client, f"{API}/{claim.number}/offers/{platform.pk}/withdraw", shop.key), 403, "forbidden")
    assert get(client, f"{API}/{claim.number}", shop.key).json()["offers"][0]["party"] == "agent"

    countered = not_received_claim(shop)
    services.make_offer(claim=countered, by=shop.staff, kind="partial_refund", amount="20.00")
    counter = services.counter_offer(claim=countered, by=countered.buyer, kind="partial_refund", amount="150.00",
                                     note="", reason="", countered=countered.offers.get())
    problem(post(client, f"{API}/{countered.number}/offers/{counter.pk}/withdraw", shop.key), 409, "state")
    shown = get(client, f"{API}/{countered.number}", shop.key).json()
    assert shown["offers"][-1]["party"] == "buyer" and shown["offers"][-1]["counter_to"] == countered.offers.first().pk
    assert "accept_counter_offer" in shown["allowed_actions"] and "make_offer" not in shown["allowed_actions"]


def test_a_rejection_with_files_sent_along(client, shop):
    claim = shop.claim("in_progress")
    response = post_files(client, f"{API}/{claim.number}/reject", shop.key, {
        "code": "normal_wear", "body": "Wear within the grade sold.", "files": [photo("before.jpg")]})
    assert response.status_code == 200, response.content
    page = response.json()
    assert page["rejected"] is True and page["state"] == "in_progress"
    assert page["escalation_eligible_at"] == iso(NOW)  # the buyer may ask the platform at once
    claim.refresh_from_db()
    assert claim.rejection_code == "normal_wear"
    rejection = next(e for e in page["timeline"] if e["name"] == "reject")
    assert rejection["body"] == "Wear within the grade sold." and len(rejection["evidence_ids"]) == 1


def test_a_rejection_with_files_uploaded_before(client, shop):
    claim = shop.claim("awaiting_seller")
    uploaded = post_files(client, f"{API}/{claim.number}/evidence", shop.key, {
        "files": [photo("test-report.jpg")], "note": "Our test report."}).json()["evidence"][0]
    response = post(client, f"{API}/{claim.number}/reject", shop.key, {
        "code": "as_described", "body": "It matches the listing.", "evidence_ids": [uploaded["id"]]})
    assert response.status_code == 200, response.content
    copy = Evidence.objects.filter(message__body="It matches the listing.").get()
    original = Evidence.objects.get(pk=uploaded["id"])
    assert copy.pk != original.pk and copy.sha256 == original.sha256 and copy.party == "seller"
    assert copy.file.name != original.file.name and copy.file.read() == original.file.read()


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"code": "other", "body": "No."}, "evidence_ids", "validation"),  # no evidence at all
    ({"code": "because", "body": "No.", "evidence_ids": []}, "code", "validation"),
    ({"code": "other", "body": " ", "evidence_ids": []}, "body", "validation"),
    ({"code": "other", "body": "No.", "evidence_ids": ["buyer"]}, "evidence_ids", "invalid"),
])
def test_a_rejection_without_evidence_or_with_the_buyers_files_is_refused_at_its_field(client, shop, body, field,
                                                                                       code):
    claim = shop.claim("in_progress")
    if body.get("evidence_ids") == ["buyer"]:
        body = {**body, "evidence_ids": [claim.evidence.get().pk]}  # the buyer's photo is not the seller's evidence
        code = "validation"
    refused = problem(post(client, f"{API}/{claim.number}/reject", shop.key, body), 422, code)
    assert field in refused["errors"], refused
    claim.refresh_from_db()
    assert claim.rejected is False


def test_a_rejection_in_form_data_without_files_is_refused_at_the_files(client, shop):
    claim = shop.claim("in_progress")
    refused = problem(post_files(client, f"{API}/{claim.number}/reject", shop.key, {
        "code": "other", "body": "No.", "evidence_kind": "", "evidence_ids": ""}), 422, "validation")
    assert list(refused["errors"]) == ["files"]


def test_a_rejection_on_a_claim_with_the_platform_is_refused_by_the_service(client, shop):
    claim = shop.claim("escalated")
    problem(post_files(client, f"{API}/{claim.number}/reject", shop.key, {
        "code": "other", "body": "No.", "files": [photo()]}), 409, "state")


def test_tracking_on_a_not_received_claim_and_its_refusals_at_their_fields(client, shop):
    claim = not_received_claim(shop)
    taken = ShipmentFactory(order=OrderFactory(), tracking_number="JJD777777777", seller_reported=True)
    refused = problem(post(client, f"{API}/{claim.number}/tracking", shop.key, {
        "carrier": "DHL", "tracking_number": taken.tracking_number}), 422, "invalid")
    assert "another order" in refused["errors"]["tracking_number"][0]
    early = problem(post(client, f"{API}/{claim.number}/tracking", shop.key, {
        "carrier": "DHL", "tracking_number": "JJD123123123", "shipped_at": "2026-03-01T09:00:00Z"}), 422, "invalid")
    assert "shipped_at" in early["errors"]
    problem(post(client, f"{API}/{claim.number}/tracking", shop.key, {
        "carrier": "DHL", "tracking_number": "JJD123123123", "shipped_at": "2026-03-03T09:00:00"}), 422, "validation")
    assert "carrier" in problem(post(client, f"{API}/{claim.number}/tracking", shop.key, {
        "tracking_number": "JJD123123123"}), 422, "validation")["errors"]
    assert "tracking_number" in problem(post(client, f"{API}/{claim.number}/tracking", shop.key, {}), 422,
                                        "validation")["errors"]

    response = post(client, f"{API}/{claim.number}/tracking", shop.key, {
        "carrier": "DHL", "tracking_number": "JJD123123123", "shipped_at": "2026-03-03T10:00:00+01:00"})
    assert response.status_code == 200, response.content
    page = response.json()
    assert page["state"] == "in_progress"  # the seller's answer is its first reply
    shipment = next(s for s in page["order"]["shipments"] if s["tracking_number"] == "JJD123123123")
    assert shipment["shipped_at"] == "2026-03-03T09:00:00Z" and shipment["delivered_at"] is None
    assert page["messages"][-1]["body"] == "Shipment tracking: DHL JJD123123123"

    receipt = SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf")
    proof = post_files(client, f"{API}/{claim.number}/tracking", shop.key, {"files": [receipt, photo("slip.jpg")]})
    assert proof.status_code == 200, proof.content
    # a PDF is the proof of shipment it is sent as; a photo is a photo (claims.evidence.kind_for)
    assert [e["kind"] for e in proof.json()["messages"][-1]["evidence"]] == ["proof_of_shipment", "photo"]


def test_tracking_on_a_claim_about_a_defect_is_refused_by_the_service(client, shop):
    claim = shop.claim("in_progress")
    problem(post(client, f"{API}/{claim.number}/tracking", shop.key, {"carrier": "DHL",
                                                                      "tracking_number": "JJD5"}), 409, "state")


def test_the_returned_item_is_confirmed_with_the_inspection(client, shop):
    claim = shop.claim("awaiting_return")
    problem(post(client, f"{API}/{claim.number}/return-received", shop.key, {"inspection_result": "fine"}), 422,
            "validation")
    response = post(client, f"{API}/{claim.number}/return-received", shop.key,
                    {"inspection_result": "as_expected", "note": "Repaired and sent back."})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "resolved" and response.json()["return_authorization"] is None
    claim.refresh_from_db()
    assert claim.inspection_result == "as_expected" and claim.return_received_at == NOW
    again = post(client, f"{API}/{claim.number}/return-received", shop.key, {"inspection_result": "as_expected"})
    problem(again, 409, "state")
    waiting = shop.claim("awaiting_seller")
    problem(post(client, f"{API}/{waiting.number}/return-received", shop.key, {"inspection_result": "damaged"}), 409,
            "state")


# --- evidence -------------------------------------------------------------------------------------------------------


def test_a_good_photo_is_stored_re_encoded_and_a_bad_file_refused_at_its_field(client, shop):
    claim = shop.claim("in_progress")
    fake = SimpleUploadedFile("receipt.jpg", b"%!PS-Adobe not an image", content_type="image/jpeg")
    refused = problem(post_files(client, f"{API}/{claim.number}/evidence", shop.key, {"files": [photo(), fake]}),
                      422, "invalid")
    assert "receipt.jpg" in refused["errors"]["files"][0]
    assert claim.evidence.count() == 1  # nothing of the two stored
    six = problem(post_files(client, f"{API}/{claim.number}/evidence", shop.key,
                             {"files": [photo(f"{n}.jpg") for n in range(6)]}), 422, "validation")
    assert "files" in six["errors"]
    problem(post_files(client, f"{API}/{claim.number}/evidence", shop.key, {"note": "nothing"}), 422, "validation")

    upload = gps_photo()
    sent = upload.read()
    upload.seek(0)
    response = post_files(client, f"{API}/{claim.number}/evidence", shop.key, {"files": [upload]})
    assert response.status_code == 201, response.content
    [row] = response.json()["evidence"]
    stored = Evidence.objects.get(pk=row["id"])
    assert row["kind"] == "photo" and row["content_type"] == "image/jpeg" and row["uploaded_by"] == "seller"
    assert row["size"] == stored.size and row["message_id"] == response.json()["message_id"]
    content = stored.file.read()
    assert content != sent and b"Apple" not in content
    assert not Image.open(io.BytesIO(content)).getexif()  # no camera, no position
    assert Message.objects.get(pk=row["message_id"]).body == "Files attached."

    download = client.get(row["url"], **auth(shop.key))
    assert download.status_code == 200
    assert b"".join(download.streaming_content if download.streaming else [download.content]) == content
    assert download["Content-Type"] == "image/jpeg" and download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]
    assert download["Content-Disposition"] == f'inline; filename="evidence-{stored.pk}.jpg"'
    thumbnail = client.get(row["url"] + "?variant=thumbnail", **auth(shop.key))
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"

    resolved = shop.claim("resolved")
    problem(post_files(client, f"{API}/{resolved.number}/evidence", shop.key, {"files": [photo()]}), 409, "state")
    assert resolved.evidence.count() == 1


def test_a_pdf_is_what_the_seller_says_it_is(client, shop):
    claim = shop.claim("in_progress")
    pdf = SimpleUploadedFile("invoice.pdf", PDF, content_type="application/pdf")
    blank = SimpleUploadedFile("other.pdf", PDF, content_type="application/pdf")
    unsaid = post_files(client, f"{API}/{claim.number}/evidence", shop.key, {"files": [blank], "kind": ""})
    assert unsaid.status_code == 201, unsaid.content  # an empty choice, as the dashboard's form sends it
    assert unsaid.json()["evidence"][0]["kind"] == "document"
    problem(post_files(client, f"{API}/{claim.number}/evidence", shop.key, {"files": [blank], "kind": "receipt"}),
            422, "validation")
    response = post_files(client, f"{API}/{claim.number}/evidence", shop.key,
                          {"files": [pdf], "kind": "invoice", "note": "The invoice."})
    assert response.status_code == 201, response.content
    assert response.json()["evidence"][0]["kind"] == "invoice"
    assert Message.objects.get(pk=response.json()["message_id"]).body == "The invoice."


def test_evidence_is_served_to_the_claims_seller_only_and_never_from_an_internal_note(client, shop):
    claim = shop.claim("in_progress")
    buyers = claim.evidence.get()
    note = services.post_message(claim=claim, by=shop.agent, body="Internal.", internal=True,
                                 attachments=[photo()])
    internal = note.attachments.get()
    elsewhere = shop.claim("in_progress").evidence.get()
    url = f"{API}/{claim.number}/evidence"
    assert client.get(f"{url}/{buyers.pk}", **auth(shop.key)).status_code == 200
    problem(client.get(f"{url}/{internal.pk}", **auth(shop.key)), 404, "not-found")
    problem(client.get(f"{url}/{elsewhere.pk}", **auth(shop.key)), 404, "not-found")  # another claim's file
    problem(client.get(f"{url}/999999", **auth(shop.key)), 404, "not-found")
    _other, other_key = seller_key(SellerFactory())
    problem(client.get(f"{url}/{buyers.pk}", **auth(other_key)), 404, "not-found")
    problem(client.get(f"{url}/{buyers.pk}"), 401, "unauthorized")


# --- the buyer's counter-offer ---------------------------------------------------------------------------------------


def countered(shop: Shop) -> tuple[Claim, Offer, Offer]:
    """A not-received claim where the buyer declined the seller's 20.00 by countering with 150.00."""
    claim = not_received_claim(shop)
    offer = services.make_offer(claim=claim, by=shop.staff, kind="partial_refund", amount="20.00")
    counter = services.counter_offer(claim=claim, by=claim.buyer, kind="partial_refund", amount="150.00",
                                     note="The screen is gone.", reason="Too little.", countered=offer)
    return claim, offer, counter


def test_the_buyers_counter_offer_is_accepted_as_the_dashboard_accepts_it(client, shop):
    claim, offer, counter = countered(shop)
    # the seller's own (declined) offer is no counter-offer to accept
    problem(post(client, f"{API}/{claim.number}/offers/{offer.pk}/accept", shop.key), 409, "state")
    response = post(client, f"{API}/{claim.number}/offers/{counter.pk}/accept", shop.key)
    assert response.status_code == 200, response.content
    page = response.json()
    assert page["state"] == "resolved" and page["outcome"] == "partial_refund"
    assert page["refunded"] == {"amount": "150.00", "currency": "EUR"}
    assert next(o for o in page["offers"] if o["id"] == counter.pk)["status"] == "accepted"
    claim.refresh_from_db()
    assert claim.transitions.filter(name="accept_counter_offer", actor=shop.api_key.user).exists()
    assert claim.refunds.get().amount == Decimal("150.00")
    # accepted once: a second time is refused as the dashboard refuses it, and nothing more is paid
    problem(post(client, f"{API}/{claim.number}/offers/{counter.pk}/accept", shop.key), 409, "state")
    assert claim.refunds.count() == 1


def test_a_counter_offer_of_another_claim_or_none_is_a_404_and_one_with_the_platform_a_409(client, shop):
    claim, _offer, _counter = countered(shop)
    _other_claim, _other_offer, elsewhere = countered(shop)
    for action in ("accept", "decline"):
        problem(post(client, f"{API}/{claim.number}/offers/{elsewhere.pk}/{action}", shop.key), 404, "not-found")
        problem(post(client, f"{API}/{claim.number}/offers/987654321/{action}", shop.key), 404, "not-found")
        problem(post(client, f"{API}/{claim.number}/offers/{10**30}/{action}", shop.key), 422, "validation")
    services.escalate(claim=claim, by=shop.agent, reason="Seller inaction")
    counter = claim.offers.get(party="buyer")
    problem(post(client, f"{API}/{claim.number}/offers/{counter.pk}/accept", shop.key), 409, "state")
    problem(post(client, f"{API}/{claim.number}/offers/{counter.pk}/decline", shop.key), 409, "state")
    assert Offer.objects.get(pk=counter.pk).status == "pending" and not claim.refunds.exists()


def test_the_buyers_counter_offer_is_declined_with_a_reason_and_the_seller_may_offer_again(client, shop):
    claim, offer, counter = countered(shop)
    problem(post(client, f"{API}/{claim.number}/offers/{offer.pk}/decline", shop.key), 409, "state")
    too_long = problem(post(client, f"{API}/{claim.number}/offers/{counter.pk}/decline", shop.key,
                            {"reason": "x" * 1001}), 422, "validation")
    assert list(too_long["errors"]) == ["reason"]
    response = post(client, f"{API}/{claim.number}/offers/{counter.pk}/decline", shop.key,
                    {"reason": "  We cannot go that high.\nBut we can talk.  "})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == counter.pk and response.json()["party"] == "buyer"
    assert response.json()["status"] == "declined" and response.json()["answered_at"] == iso(NOW)
    assert response.json()["decline_reason"] == "We cannot go that high.\nBut we can talk."
    claim.refresh_from_db()
    assert claim.transitions.filter(name="decline_counter_offer", actor=shop.api_key.user).exists()
    page = get(client, f"{API}/{claim.number}", shop.key).json()
    assert "make_offer" in page["allowed_actions"] and "accept_counter_offer" not in page["allowed_actions"]
    problem(post(client, f"{API}/{claim.number}/offers/{counter.pk}/decline", shop.key), 409, "state")
    # no body at all is no reason, as the dashboard's empty field
    _claim2, _offer2, other = countered(shop)
    headers = {**auth(shop.key), "HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    bare = client.post(f"{API}/{other.claim.number}/offers/{other.pk}/decline", content_type="application/json",
                       **headers)
    assert bare.status_code == 200, bare.content
    assert bare.json()["status"] == "declined" and bare.json()["decline_reason"] == ""


def test_form_data_to_an_endpoint_that_takes_json_is_a_bad_request(client, shop):
    """The idempotency middleware reads a multipart body as a form, after which Django cannot give it as JSON."""
    claim, _offer, counter = countered(shop)
    for path in (f"{API}/{claim.number}/offers/{counter.pk}/decline", f"{API}/{claim.number}/messages"):
        refused = problem(post_files(client, path, shop.key, {"reason": "No.", "body": "Hello"}), 400, "bad-request")
        assert "JSON" in refused["detail"]
    assert Offer.objects.get(pk=counter.pk).status == "pending" and not claim.messages.filter(body="Hello").exists()


# --- answering the platform's question ------------------------------------------------------------------------------


def test_the_seller_answers_the_platforms_question_with_files(client, shop):
    claim = shop.claim("awaiting_info")
    blank = problem(post(client, f"{API}/{claim.number}/info", shop.key, {"body": "  "}), 422, "validation")
    assert list(blank["errors"]) == ["body"]
    pdf = SimpleUploadedFile("serial.pdf", PDF, content_type="application/pdf")
    response = post_files(client, f"{API}/{claim.number}/info", shop.key, {
        "body": "Serial 9K2B-ZW, see the invoice.", "files": [pdf, photo("label.jpg")], "evidence_kind": "invoice"})
    assert response.status_code == 200, response.content
    page = response.json()
    assert page["state"] == "escalated" and "provide_info" not in page["allowed_actions"]
    answer = page["messages"][-1]
    assert answer["party"] == "seller" and answer["body"] == "Serial 9K2B-ZW, see the invoice."
    assert [e["kind"] for e in answer["evidence"]] == ["invoice", "photo"]
    claim.refresh_from_db()
    assert claim.info_due_at is None
    assert claim.transitions.filter(name="provide_info", actor=shop.api_key.user).exists()
    # answered: the platform has the claim again, and a second answer is refused
    problem(post(client, f"{API}/{claim.number}/info", shop.key, {"body": "Again."}), 409, "state")


def test_an_answer_with_files_uploaded_before_and_in_json(client, shop):
    claim = shop.claim("awaiting_info")
    uploaded = post_files(client, f"{API}/{claim.number}/evidence", shop.key, {
        "files": [photo("serial.jpg")], "note": "The label."}).json()["evidence"][0]
    problem(post(client, f"{API}/{claim.number}/info", shop.key, {
        "body": "Here.", "evidence_ids": [claim.evidence.filter(party="buyer").first().pk]}), 422, "validation")
    response = post(client, f"{API}/{claim.number}/info", shop.key, {
        "body": "The serial is on the label.", "evidence_ids": [uploaded["id"]]})
    assert response.status_code == 200, response.content
    [copy] = response.json()["messages"][-1]["evidence"]
    assert copy["id"] != uploaded["id"] and Evidence.objects.get(pk=copy["id"]).sha256 == Evidence.objects.get(
        pk=uploaded["id"]).sha256
    claim.refresh_from_db()
    assert claim.state == "escalated"


def test_an_answer_is_refused_when_the_platform_asked_nobody_or_the_buyer(client, shop):
    working = shop.claim("in_progress")
    problem(post(client, f"{API}/{working.number}/info", shop.key, {"body": "Unasked."}), 409, "state")
    asked_buyer = shop.claim("escalated")
    services.request_info(claim=asked_buyer, by=shop.agent, party="buyer", question="A photo of the box?")
    problem(post(client, f"{API}/{asked_buyer.number}/info", shop.key, {"body": "Not asked."}), 403, "forbidden")
    assert not Message.objects.filter(body__in=["Unasked.", "Not asked."]).exists()


def test_another_sellers_counter_offer_and_question_are_a_404(client, shop):
    """What the other seller could do on its claims now is nothing this key can see."""
    other = Shop()
    claim, _offer, counter = countered(other)
    asked = other.claim("awaiting_info")
    for response in (post(client, f"{API}/{claim.number}/offers/{counter.pk}/accept", shop.key),
                     post(client, f"{API}/{claim.number}/offers/{counter.pk}/decline", shop.key, {"reason": "No."}),
                     post(client, f"{API}/{asked.number}/info", shop.key, {"body": "Serial 1."}),
                     post_files(client, f"{API}/{asked.number}/info", shop.key, {"body": "Serial 1.",
                                                                                 "files": [photo()]})):
        assert problem(response, 404, "not-found") == problem(
            post(client, f"{API}/C-NONE-XIST/info", shop.key, {"body": "Serial 1."}), 404, "not-found")
    assert Offer.objects.get(pk=counter.pk).status == "pending" and not claim.refunds.exists()
    asked.refresh_from_db()
    assert asked.state == "awaiting_info" and not asked.messages.filter(body="Serial 1.").exists()


# --- input no database should see: control characters, deep nesting, numbers no claim has ------------------------

# Every claim route with a body it accepts, so that what answers is the route itself (not the body's validation).
CLAIM_ROUTES = {
    ("GET", "/api/v1/claims/{number}"): None,
    ("GET", "/api/v1/claims/{number}/evidence/{evidence_id}"): None,
    ("POST", "/api/v1/claims/{number}/messages"): {"body": "Hello"},
    ("POST", "/api/v1/claims/{number}/offers"): {"kind": "full_refund"},
    ("POST", "/api/v1/claims/{number}/offers/{offer_id}/withdraw"): {},
    ("POST", "/api/v1/claims/{number}/offers/{offer_id}/accept"): {},
    ("POST", "/api/v1/claims/{number}/offers/{offer_id}/decline"): {"reason": "No."},
    ("POST", "/api/v1/claims/{number}/reject"): {"code": "other", "body": "No.", "evidence_ids": [1]},
    ("POST", "/api/v1/claims/{number}/tracking"): {"carrier": "DHL", "tracking_number": "JJD1"},
    ("POST", "/api/v1/claims/{number}/return-received"): {"inspection_result": "as_expected"},
    ("POST", "/api/v1/claims/{number}/info"): {"body": "Serial 1."},
    ("POST", "/api/v1/claims/{number}/evidence"): "files",
}


def call_route(client, key: str, method: str, template: str, number: str):
    path = template.replace("{number}", quote(number, safe="")).replace("{evidence_id}", "1").replace(
        "{offer_id}", "1")
    body = CLAIM_ROUTES[(method, template)]
    if method == "GET":
        return client.get(path, **auth(key))
    if body == "files":
        return post_files(client, path, key, {"files": [photo()]})
    return post(client, path, key, body)


def test_the_table_of_claim_routes_has_every_claim_route_of_the_schema():
    routes = {(method.upper(), path) for path, methods in api.get_openapi_schema()["paths"].items()
              for method in methods if path.startswith("/api/v1/claims/{number}")}
    assert routes == set(CLAIM_ROUTES)


@pytest.mark.parametrize(("method", "template"), list(CLAIM_ROUTES))
def test_a_claim_number_with_a_control_character_is_an_unknown_claim_and_never_queried(client, shop, method,
                                                                                        template):
    """A NUL in the path (%00) is refused by PostgreSQL in a query: the number is checked before, and answered as a
    claim that does not exist, whatever else it holds (another control character, more than a number's length)."""
    unknown = call_route(client, shop.key, method, template, "C-NONE-XIST")
    problem(unknown, 404, "not-found")
    for number in ("a\x00b", "C-7KQ2\x00MX4P", "C-7KQ2\x1fMX4P", "C-7KQ2\nMX4P", "C-" + "X" * 20):
        with CaptureQueriesContext(connection) as queries:
            response = call_route(client, shop.key, method, template, number)
        assert (response.status_code, response.content) == (unknown.status_code, unknown.content), number
        assert not [q["sql"] for q in queries.captured_queries if "claims_claim" in q["sql"]], number


@pytest.mark.parametrize(("route", "body", "field"), [
    ("messages", {"body": "Hello\x00"}, "body"),
    ("messages", {"body": "Ring \x07 ring"}, "body"),
    ("messages", {"body": "A lone \ud800 surrogate"}, "body"),
    ("messages", {"body": "Delete \x7f"}, "body"),
    ("offers", {"kind": "full_refund", "note": "Sorry\x00"}, "note"),
    ("offers", {"kind": "repair", "return_instructions": "Shop\x00street 1"}, "return_instructions"),
    ("reject", {"code": "other", "body": "No\x00", "evidence_ids": [1]}, "body"),
    ("reject", {"code": "other", "body": "No\x1b[31m", "files": "photo"}, "body"),
    ("tracking", {"carrier": "DH\x00L", "tracking_number": "JJD1"}, "carrier"),
    ("tracking", {"carrier": "DHL", "tracking_number": "JJD\x001"}, "tracking_number"),
    ("return-received", {"inspection_result": "as_expected", "note": "Fine\x00"}, "note"),
    ("evidence", {"note": "Look\x00", "files": "photo"}, "note"),
    ("offers/{offer}/decline", {"reason": "No\x00"}, "reason"),
    ("info", {"body": "Serial\x00"}, "body"),
    ("info", {"body": "Serial\x00", "files": "photo"}, "body"),
])
def test_a_control_character_in_text_is_a_422_at_its_field(client, shop, route, body, field):
    claim = shop.claim("in_progress")
    path = f"{API}/{claim.number}/{route}".replace("{offer}", "1")
    if body.get("files") == "photo":
        response = post_files(client, path, shop.key, {**body, "files": [photo()]})
    else:
        response = post(client, path, shop.key, body)
    refused = problem(response, 422, "validation")
    assert list(refused["errors"]) == [field], refused
    if "\ud800" not in body.get("body", ""):  # a lone surrogate is no string to pydantic already
        assert refused["errors"][field] == ["Control characters are not allowed here."]
    assert claim.messages.count() == 1 and not claim.offers.exists()  # the set-up's reply, and nothing more


def test_line_breaks_and_tabs_are_text(client, shop):
    claim = shop.claim("in_progress")
    body = "Dear buyer,\r\n\n\tthe repair is booked.\nRegards"
    response = post(client, f"{API}/{claim.number}/messages", shop.key, {"body": body})
    assert response.status_code == 201, response.content
    assert response.json()["body"] == body and Message.objects.get(pk=response.json()["id"]).body == body


@pytest.mark.parametrize("route", ["reject", "tracking", "info", "messages", "offers"])
def test_json_nested_deeper_than_any_body_is_a_bad_request(client, shop, route):
    claim = shop.claim("in_progress")
    headers = {**auth(shop.key), "HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    response = client.post(f"{API}/{claim.number}/{route}", data="[" * 200_000 + "]" * 200_000,
                           content_type="application/json", **headers)
    problem(response, 400, "bad-request")

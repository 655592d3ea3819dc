"""The warranty-claim clock and collection on the pages (issue 14): the seller confirms the goods arrived, the buyer's,
the seller's and the console's claim pages show the clock, the buyer chooses past the maximum, the Get help form
offers collecting in person, and the goods waiting for collection show their fee."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from claims.models import Claim
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import OPENED_AT, delivered_order, photo
from claims.tests.test_collection import FREE_UNTIL, collecting_seller, ready_case
from claims.tests.test_warranty_clock import GOODS, SK_DUE, SK_MAX, Case, sweep
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def text(client, user, path: str) -> str:
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode()


def buyer_page(claim: Claim) -> str:
    return reverse("claims:detail", kwargs={"number": claim.number})


def seller_page(claim: Claim) -> str:
    return reverse("sellers:claim", kwargs={"number": claim.number})


def console_page(claim: Claim) -> str:
    return reverse("admin:claims_claim_change", args=[claim.pk])


def test_the_seller_confirms_the_goods_and_every_claim_page_shows_the_clock(client, settings):
    settings.CLAIM_RESOLUTION_BUSINESS_DAYS = 60  # still with the seller at the legal limit
    case = Case("SK")
    with time_machine.travel(GOODS, tick=False):
        assert "Confirm the goods arrived" in text(client, case.staff, seller_page(case.claim))
        response = client.post(reverse("sellers:goods_received", kwargs={"number": case.claim.number}))
        assert response.status_code == 302
        assert case.fresh().goods_received_at == GOODS
        # Twice: refused with the reason, on the page, and nothing changes.
        again = client.post(reverse("sellers:goods_received", kwargs={"number": case.claim.number}))
        assert again.status_code == 409 and "already confirmed as received" in again.content.decode()
    agent = make_console_agent()
    with time_machine.travel(GOODS + DAY, tick=False):
        pages = {"buyer": text(client, case.buyer, buyer_page(case.claim)),
                 "seller": text(client, case.staff, seller_page(case.claim)),
                 "console": text(client, agent, console_page(case.claim))}
    for who, html in pages.items():
        assert "Legal time limit for the warranty claim" in html, who
        assert "Started on Wed 11 Mar, when the claim and the goods had reached the seller." in html, who
        assert "To be resolved within 30 days, by Fri 10 Apr, 10:00 CEST" in html, who
        assert "In any case within 60 days, by Sun 10 May, 10:00 CEST" in html, who
        assert f'datetime="{SK_DUE.isoformat()}"' in html or "2026-04-10T10:00:00+02:00" in html, who
    assert "Confirm the goods arrived" not in pages["seller"]
    assert "The law&#x27;s time limit for this warranty claim: resolve it by Fri 10 Apr, 10:00 CEST" in pages["seller"]
    assert "The seller must resolve your warranty claim by Fri 10 Apr, 10:00 CEST" in pages["buyer"]


def test_paused_for_an_expert_the_page_says_so_and_counts_down_to_the_maximum(client):
    case = Case("SK")
    claim = case.goods_arrive()
    claim.expert_paused_at = GOODS + 3 * DAY
    claim.refresh_next_deadline()
    claim.save()
    with time_machine.travel(GOODS + 4 * DAY, tick=False):
        html = text(client, case.buyer, buyer_page(claim))
    assert "Paused since Sat 14 Mar, 10:00 CET while an expert assesses the defect" in html
    assert "2026-05-10T10:00:00+02:00" in html  # the countdown runs to the maximum


def test_an_agent_confirms_the_goods_in_the_console(client):
    case = Case("PT")
    agent = make_console_agent()
    client.force_login(agent)
    url = reverse("admin:claims_claim_act", kwargs={"object_id": case.claim.pk, "action": "goods-received"})
    with time_machine.travel(GOODS, tick=False):
        assert "Goods reached the seller" in client.get(console_page(case.claim)).content.decode()
        assert client.post(url).status_code == 302
    claim = case.fresh()
    assert (claim.goods_received_at, claim.warranty_max_at) == (GOODS, None)
    assert claim.warranty_due_at == GOODS + 30 * DAY - H  # 09:00 in Lisbon, summer time by then


def test_past_the_maximum_the_buyer_chooses_on_the_claim_page(client, settings):
    settings.CLAIM_RESOLUTION_BUSINESS_DAYS = 60
    case = Case("SK")
    case.goods_arrive()
    with time_machine.travel(SK_MAX - DAY, tick=False):
        assert "Choose how your warranty claim is resolved" not in text(client, case.buyer, buyer_page(case.claim))
    sweep(SK_MAX)
    with time_machine.travel(SK_MAX + H, tick=False):
        html = text(client, case.buyer, buyer_page(case.claim))
        assert "Choose how your warranty claim is resolved" in html
        assert "Your warranty claim was not resolved in time. You may now choose a replacement" in html
        url = reverse("claims:warranty_rights", kwargs={"number": case.claim.number})
        assert client.post(url, {"rights-choice": "keep it"}).status_code == 400
        client.force_login(UserFactory())
        assert client.post(url, {"rights-choice": "refund"}).status_code == 404
        client.force_login(case.buyer)
        response = client.post(url, {"rights-choice": "refund"})
    assert response.status_code == 302
    claim = case.fresh()
    assert (claim.state, claim.outcome, claim.refund_amount) == ("resolved", "refund", Decimal("199.00"))


def test_get_help_offers_collecting_in_person_where_the_seller_does(client):
    order = delivered_order(seller=collecting_seller(), delivery_country="SK")
    url = reverse("claims:get_help", kwargs={"number": order.number})
    with time_machine.travel(OPENED_AT, tick=False):
        html = text(client, order.buyer, url)
        assert "I will bring the item to the seller and collect it there" in html
        assert "the seller may charge €0.50 a day" in html
        response = client.post(url, {
            "items": [str(order.items.get().pk)], "reason": "defective", "description": "The screen flickers.",
            "desired_outcome": "repair", "discovered_on": "2026-03-09", "photos": [photo()],
            "collect_in_person": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    claim = Claim.objects.get(order=order)
    assert (claim.collect_in_person, claim.storage_fee_per_day) == (True, Decimal("0.50"))


def test_get_help_does_not_offer_it_otherwise(client):
    order = delivered_order(delivery_country="SK")
    with time_machine.travel(OPENED_AT, tick=False):
        html = text(client, order.buyer, reverse("claims:get_help", kwargs={"number": order.number}))
    assert "collect it there" not in html


def test_the_goods_waiting_for_collection_on_both_pages_and_the_seller_records_it(client):
    case = ready_case()
    with time_machine.travel(FREE_UNTIL + 5 * DAY, tick=False):
        pages = {"buyer": text(client, case.buyer, buyer_page(case.claim)),
                 "seller": text(client, case.staff, seller_page(case.claim))}
        for who, html in pages.items():
            assert "Waiting for collection at the seller" in html, who
            assert "Ready for collection at the seller since Mon 16 Mar." in html, who
            assert "Storage is free until Sun 10 May. From Mon 11 May" in html, who
            assert "Storage fee so far: €2.50 for 5 days." in html, who
            assert "the seller announces its sale and may sell it from" in html, who
        assert "Record the collection" in pages["seller"]
        response = client.post(reverse("sellers:collected", kwargs={"number": case.claim.number}))
        assert response.status_code == 302
        html = text(client, case.staff, seller_page(case.claim))
    assert "Collected on Fri 15 May." in html and "Record the collection" not in html
    assert case.fresh().collected_at == FREE_UNTIL + 5 * DAY


def test_the_seller_queue_puts_the_legal_limit_first(client, settings):
    settings.CLAIM_RESOLUTION_BUSINESS_DAYS = 60  # the seller's own deadline ends in June
    seller = collecting_seller()
    waiting = Case("SK", seller=seller)  # the goods not yet arrived: the 60 business days are what is due
    clocked = Case("SK", seller=seller)
    clocked.goods_arrive()
    assert clocked.fresh().action_due_at == SK_DUE < waiting.fresh().action_due_at
    with time_machine.travel(GOODS + DAY, tick=False):
        html = text(client, clocked.staff, reverse("sellers:queue") + f"?seller={seller.slug}")
    assert html.index(clocked.claim.number) < html.index(waiting.claim.number)

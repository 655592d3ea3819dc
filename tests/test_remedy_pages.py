"""The defect of a defective claim on every page: the seller classifies it (alone or with an offer) and offers only
what the warranty claim policy allows; the buyer reads what they are entitled to and, on Get help, may say it is an
earlier defect; the console shows the history, classifies and decides within the same rule (claims.remedies)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from claims import services
from claims.models import Claim, Defect, DefectRemedy
from claims.tests.admin_factories import make_console_agent, page_queries
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim, photo
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        yield


@pytest.fixture
def world():
    return claim_world("awaiting_seller", desired_outcome="replacement")


def seller_url(name: str, claim: Claim) -> str:
    return reverse(f"sellers:{name}", kwargs={"number": claim.number})


def offered_kinds(html: str) -> list[str]:
    return re.findall(r'name="offer-kind" value="([a-z_]+)"', html)


def test_the_seller_classifies_and_the_page_says_what_is_allowed(client, world):
    client.force_login(world.staff)
    html = client.get(seller_url("claim", world.claim)).content.decode()
    assert "The defect and the buyer's rights" in html and "Not classified yet" in html
    assert 'id="action-classify"' in html
    assert set(offered_kinds(html)) == {"full_refund", "partial_refund", "replacement", "repair",
                                        "return_for_refund", "discount"}  # classified in the same step

    response = client.post(seller_url("classify_defect", world.claim), {
        "defect-defect_type": "irremovable", "defect-defect_summary": "Dead pixel row"})
    assert response.status_code == 302
    claim = world.refresh()
    assert (claim.defect_type, claim.defect.summary, claim.state) == ("irremovable", "Dead pixel row", "in_progress")

    html = client.get(seller_url("claim", claim)).content.decode()
    assert "An irremovable defect that does not prevent use" in html
    assert "Irremovable, does not prevent use" in html  # the type, and in the history
    assert "Dead pixel row" in html
    assert offered_kinds(html) == ["full_refund", "partial_refund", "replacement", "return_for_refund", "discount"]
    assert 'name="offer-defect_type"' not in html  # re-classifying is the classify form's


def test_the_offer_form_classifies_in_the_same_step(client, world):
    client.force_login(world.staff)
    response = client.post(seller_url("offer", world.claim), {
        "offer-kind": "repair", "offer-defect_type": "removable", "offer-defect_summary": "Loose charging port"})
    assert response.status_code == 302
    claim = world.refresh()
    assert claim.defect_type == "removable" and claim.offers.get().kind == "repair"


def test_an_offer_the_classification_does_not_allow_changes_nothing(client, world):
    client.force_login(world.staff)
    response = client.post(seller_url("offer", world.claim), {
        "offer-kind": "repair", "offer-defect_type": "irremovable_prevents_use"})
    assert response.status_code == 400
    assert "is not possible on claim" in response.content.decode()
    claim = world.refresh()
    assert (claim.defect_type, claim.state, claim.offers.count(), Defect.objects.count()) == ("", "awaiting_seller",
                                                                                            0, 0)
    response = client.post(seller_url("offer", world.claim), {"offer-kind": "discount", "offer-amount": "10"})
    assert response.status_code == 400 and "needs the type of defect first" in response.content.decode()


def test_a_compensated_defect_lets_the_seller_reject(client):
    order = delivered_order()
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="staff")
    first = open_defective_claim(order=order, desired_outcome="discount")
    with time_machine.travel(OPENED_AT + 3 * H, tick=False):
        services.classify_defect(claim=first, by=staff, defect_type="irremovable", summary="Scratched lens")
        offer = services.make_offer(claim=first, by=staff, kind="discount", amount="30.00")
        services.accept_offer(offer=offer, by=order.buyer)
    first.refresh_from_db()
    second = open_defective_claim(at=OPENED_AT + 5 * DAY, order=order)
    client.force_login(staff)
    with time_machine.travel(OPENED_AT + 6 * DAY, tick=False):
        html = client.get(seller_url("claim", second)).content.decode()
        assert "Is it the same defect as an earlier one of this item?" in html and "Scratched lens" in html
        response = client.post(seller_url("classify_defect", second), {
            "defect-defect_type": "irremovable", "defect-same_as": str(first.defect_id)})
        assert response.status_code == 302, re.findall(r"errorlist.{0,300}", response.content.decode())
        html = client.get(seller_url("claim", second)).content.decode()
    assert "You may reject this claim" in html and first.number in html
    assert offered_kinds(html) == []
    assert "Price discount" in html  # the history: the earlier claim's discount


def test_the_buyer_reads_the_defect_type_and_what_it_means(client, world):
    client.force_login(world.buyer)
    html = client.get(reverse("claims:detail", kwargs={"number": world.claim.number})).content.decode()
    assert "The seller has not yet said what kind of defect it is." in html
    services.classify_defect(claim=world.claim, by=world.staff, defect_type="removable_prevents_use")
    html = client.get(reverse("claims:detail", kwargs={"number": world.claim.number})).content.decode()
    assert "Removable, but prevents proper use" in html
    assert "you are entitled to a replacement or to withdraw from the purchase" in html
    assert "The defect was classified" in html  # on the timeline


def test_get_help_lists_earlier_defects_and_refuses_a_compensated_one(client):
    order = delivered_order()
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="staff")
    first = open_defective_claim(order=order, desired_outcome="discount")
    with time_machine.travel(OPENED_AT + 3 * H, tick=False):
        services.classify_defect(claim=first, by=staff, defect_type="irremovable", summary="Scratched lens")
        services.accept_offer(offer=services.make_offer(claim=first, by=staff, kind="discount", amount="30.00"),
                              by=order.buyer)
    first.refresh_from_db()
    client.force_login(order.buyer)
    get_help = reverse("claims:get_help", kwargs={"number": order.number})
    later = OPENED_AT + 5 * DAY
    with time_machine.travel(later, tick=False):
        html = client.get(get_help).content.decode()
        assert "Is it one of these earlier problems? (optional)" in html and "Scratched lens" in html
        data = {"items": [str(order.items.get().pk)], "reason": "defective", "description": "The lens again.",
                "desired_outcome": "discount", "discovered_on": later.date().isoformat(), "photos": [photo()],
                "same_defect": str(first.defect_id)}
        response = client.post(get_help, data)
        assert response.status_code == 400
        assert "cannot be claimed again" in response.content.decode() and first.number in response.content.decode()
        assert Claim.objects.count() == 1
        data.update(same_defect="", photos=[photo()])
        response = client.post(get_help, data)
    assert response.status_code == 302
    assert Claim.objects.count() == 2 and Claim.objects.latest("opened_at").defect_id is None


def test_the_console_shows_classifies_and_decides_within_the_rule(client):
    world = claim_world("escalated", desired_outcome="replacement")
    agent = make_console_agent()
    client.force_login(agent)
    change = reverse("admin:claims_claim_change", args=[world.claim.pk])
    html = client.get(change).content.decode()
    assert "Defect and remedies" in html and "Not classified yet" in html
    act = reverse("admin:claims_claim_act", kwargs={"object_id": world.claim.pk, "action": "classify-defect"})
    assert client.get(act).status_code == 200
    response = client.post(act, {"defect_type": "removable", "summary": "Hinge creaks"})
    assert response.status_code == 302
    assert world.refresh().defect_type == "removable"

    decide = reverse("admin:claims_claim_act", kwargs={"object_id": world.claim.pk, "action": "decide"})
    html = client.get(decide).content.decode()
    outcomes = re.findall(r'<option value="([a-z_]+)"', html.split('name="outcome"')[1].split("</select>")[0])
    assert outcomes == ["refund", "replacement", "repair", "denied"]
    client.post(decide, {"outcome": "discount", "funded_by": "seller", "amount": "10"})
    assert world.refresh().state == "escalated"  # not a choice of this form: nothing decided
    client.post(decide, {"outcome": "repair", "funded_by": "seller"})
    assert world.refresh().state == "awaiting_return"
    html = client.get(change).content.decode()
    assert "Hinge creaks" in html


def test_the_console_list_does_not_query_per_defect(client):
    agent = make_console_agent()
    client.force_login(agent)
    url = reverse("admin:claims_claim_changelist")

    def count() -> int:
        return page_queries(client, url)

    claim_world("in_progress", defect_type="removable")
    one = count()
    for _ in range(5):
        claim_world("in_progress", defect_type="irremovable")
    assert count() == one
    assert not DefectRemedy.objects.exists()

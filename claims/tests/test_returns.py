"""The return of the claimed goods (claims.returns, claims.services.returns), with the clock controlled: the
authorization when a claim enters awaiting_return, who pays the postage, the ship deadline with its reminder and the
withdrawal, the buyer's return tracking, the carrier's delivery, the seller's confirmation deadline in business days
and what the platform does when it passes, the 180-day refund, the slip, the pages and the console."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from reportlab.graphics.barcode import code128

from claims import deadlines, return_slip, returns, services
from claims.errors import ClaimError
from claims.models import Claim, OutboundEmail, ReturnAuthorization
from claims.notifications import EVENTS
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import ClaimWorld, delivered_order, open_defective_claim
from orders.models import CarrierEvent
from orders.services import TrackingError
from sellers.models import LedgerEntry, SellerMembership
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
SECRET = "carrier-shared-secret"
# Thursday 26 March 2026, 10:00 in Berlin (CET): the clocks go forward on Sunday 29 March.
ACCEPTED = dt.datetime(2026, 3, 26, 9, 0, tzinfo=dt.UTC)
# Ten calendar days later, at the same local clock time: Easter Sunday 5 April, 10:00 CEST (08:00 UTC).
SEND_BY = dt.datetime(2026, 4, 5, 8, 0, tzinfo=dt.UTC)
REMINDED = dt.datetime(2026, 4, 2, 8, 0, tzinfo=dt.UTC)  # three days before, Thursday 2 April 10:00 CEST
# Delivered on Maundy Thursday at 14:00 CEST: Good Friday, the weekend and Easter Monday are no business days, so the
# seller's two business days end on Wednesday 8 April at 14:00.
DELIVERED_AT = dt.datetime(2026, 4, 2, 12, 0, tzinfo=dt.UTC)
CONFIRM_BY = dt.datetime(2026, 4, 8, 12, 0, tzinfo=dt.UTC)
PRICE = Decimal("199.00")


@pytest.fixture(autouse=True)
def carrier_secret(settings):
    settings.CARRIER_WEBHOOK_SECRET = SECRET
    settings.CARRIER_WEBHOOK_SECRETS = []


def fresh(claim: Claim) -> Claim:
    return Claim.objects.get(pk=claim.pk)


def sweep(moment: dt.datetime) -> dict[str, int]:
    with time_machine.travel(moment, tick=False):
        return services.enforce_deadlines()


def people(order, claim: Claim) -> ClaimWorld:  # type: ignore[no-untyped-def]
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="staff")
    return ClaimWorld(claim, staff, make_console_agent())


def trial_return(*, accepted_at: dt.datetime = ACCEPTED, instructions: str = "") -> ClaimWorld:
    """A trial return: the seller offers a return for refund, the buyer accepts it at `accepted_at`."""
    order = delivered_order(delivered_at=accepted_at - 10 * DAY)
    with time_machine.travel(accepted_at - 2 * H, tick=False):
        claim = services.open_claim(order=order, buyer=order.buyer, reason="trial_return", desired_outcome="refund",
                                    description="Too small for my hands.")
    world = people(order, claim)
    with time_machine.travel(accepted_at - H, tick=False):
        offer = services.make_offer(claim=claim, by=world.staff, kind="return_for_refund",
                                    return_instructions=instructions)
    with time_machine.travel(accepted_at, tick=False):
        services.accept_offer(offer=offer, by=world.buyer)
    world.refresh()
    return world


def repair_decided(*, decided_at: dt.datetime = ACCEPTED) -> ClaimWorld:
    """A warranty claim the platform decides with a repair (paid by the seller) at `decided_at`."""
    order = delivered_order(delivered_at=decided_at - 20 * DAY)
    claim = open_defective_claim(at=decided_at - 3 * H, order=order)
    world = people(order, claim)
    with time_machine.travel(decided_at - H, tick=False):
        services.escalate(claim=claim, by=world.agent, reason="Seller inaction")
        services.classify_defect(claim=claim, by=world.agent, defect_type="removable")
    with time_machine.travel(decided_at, tick=False):
        services.decide(claim=claim, by=world.agent, outcome="repair", funded_by="seller")
    world.refresh()
    return world


def ship(world: ClaimWorld, at: dt.datetime, number: str = "JJD000390007", carrier: str = "DHL") -> None:
    with time_machine.travel(at, tick=False):
        services.add_return_tracking(claim=world.claim, by=world.buyer, carrier=carrier, tracking_number=number)


def the_return(world: ClaimWorld) -> ReturnAuthorization:
    return world.claim.returns.get()


def emails(event: str) -> list[str]:
    return list(OutboundEmail.objects.filter(event=event).order_by("pk").values_list("to_email", flat=True))


# --- the authorization -----------------------------------------------------------------------------------------


def test_accepting_a_return_for_refund_authorizes_the_return_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        world = trial_return(instructions="Prepaid DHL label sent by e-mail, reference RET-7.")
    claim, ret = world.claim, the_return(world)
    assert (claim.state, claim.outcome, claim.refund_amount) == ("awaiting_return", "refund", PRICE)
    assert (ret.status, ret.address, ret.postage_paid_by) == (
        "authorized", "Prepaid DHL label sent by e-mail, reference RET-7.", "seller")
    assert ret.rma_number.startswith("R-") and len(ret.rma_number) == 11
    assert (claim.return_due_at, claim.return_reminded_at, claim.return_confirm_due_at) == (SEND_BY, None, None)
    assert claim.action_due_at == SEND_BY and claim.next_deadline_at == REMINDED
    assert emails("return_authorized") == [world.buyer.email]
    mail = OutboundEmail.objects.get(event="return_authorized")
    assert ret.rma_number in mail.body_text and "Sun 5 Apr, 10:00 CEST" in mail.body_text
    assert "within 10 days" in mail.body_text


def test_a_decision_that_needs_the_item_back_authorizes_the_return_at_the_sellers_address():
    world = repair_decided()
    ret = the_return(world)
    assert (world.claim.state, ret.address, ret.postage_paid_by) == (
        "awaiting_return", "Returns, 1 Depot St, Berlin", "seller")
    assert world.claim.return_due_at == SEND_BY
    # Nothing more is authorized by what happens on the claim afterwards (a message, the sweep's reminder).
    services.post_message(claim=world.claim, by=world.buyer, body="Where do I send it?")
    sweep(REMINDED)
    assert world.claim.returns.count() == 1


def test_the_seller_accepting_the_buyers_counter_offer_authorizes_the_return():
    order = delivered_order(delivered_at=ACCEPTED - 10 * DAY)
    with time_machine.travel(ACCEPTED - 3 * H, tick=False):
        claim = services.open_claim(order=order, buyer=order.buyer, reason="trial_return", desired_outcome="refund",
                                    description="Not for me.")
    world = people(order, claim)
    with time_machine.travel(ACCEPTED - 2 * H, tick=False):
        offer = services.make_offer(claim=claim, by=world.staff, kind="full_refund")
        counter = services.counter_offer(claim=claim, by=world.buyer, kind="return_for_refund", countered=offer)
    with time_machine.travel(ACCEPTED, tick=False):
        services.accept_counter_offer(offer=counter, by=world.staff)
    claim = world.refresh()
    assert claim.state == "awaiting_return" and claim.return_due_at == SEND_BY
    assert the_return(world).address == "Returns, 1 Depot St, Berlin"


@pytest.mark.parametrize(("reason", "payer"), [("trial_return", "seller"), ("defective", "seller"),
                                               ("wrong_item", "seller"), ("not_as_described", "seller"),
                                               ("not_received", "buyer")])
def test_who_pays_the_return_postage(reason, payer):
    assert returns.postage_payer(Claim(reason=reason)) == payer


def test_a_trial_return_is_sent_at_the_sellers_cost_and_the_pages_say_so(client):
    world = trial_return()
    client.force_login(world.buyer)
    with time_machine.travel(ACCEPTED + H, tick=False):
        page = client.get(reverse("claims:detail", kwargs={"number": world.claim.number})).content.decode()
    ret = the_return(world)
    assert ret.rma_number in page and "Returns, 1 Depot St, Berlin" in page
    assert "The seller pays the return postage." in page
    assert "Please send the item back by Sun 5 Apr, 10:00 CEST" in page
    assert reverse("claims:return_slip", kwargs={"number": world.claim.number}) in page
    assert 'name="return-tracking_number"' in page
    client.force_login(world.staff)
    with time_machine.travel(ACCEPTED + H, tick=False):
        page = client.get(reverse("sellers:claim", kwargs={"number": world.claim.number})).content.decode()
    assert ret.rma_number in page and "You pay the return postage." in page and "Not sent yet" in page


# --- the ship deadline -----------------------------------------------------------------------------------------


def test_reminded_once_then_withdrawn_at_the_ship_deadline_across_the_clock_change(
        django_capture_on_commit_callbacks):
    world = trial_return()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(REMINDED - dt.timedelta(microseconds=1)) == {}
        assert sweep(REMINDED) == {"return_reminder": 1}
        assert sweep(REMINDED + H) == {}
        claim = fresh(world.claim)
        assert (claim.return_reminded_at, claim.next_deadline_at) == (REMINDED, SEND_BY)
        assert emails("return_reminder") == [world.buyer.email, world.staff.email]
        # The deadline is on a Sunday, in summer time: ten calendar days at the clock time of the authorization.
        assert sweep(SEND_BY - dt.timedelta(microseconds=1)) == {}
        assert sweep(SEND_BY) == {"return_not_sent": 1}
        assert sweep(SEND_BY + H) == {}
    claim = fresh(world.claim)
    assert (claim.state, claim.outcome, claim.funded_by, claim.refund_amount) == ("resolved", "withdrawn", "", None)
    assert the_return(world).status == "expired"
    assert not claim.refunds.exists() and not LedgerEntry.objects.filter(claim=claim).exists()
    assert sorted(emails("return_expired")) == sorted([world.buyer.email, world.staff.email])
    assert claim.transitions.filter(name="return_not_sent", actor=None).count() == 1
    assert emails("return_reminder") == [world.buyer.email, world.staff.email]  # reminded once


def test_a_sweep_that_comes_only_at_the_deadline_withdraws_without_a_late_reminder():
    world = trial_return()
    assert sweep(SEND_BY + DAY) == {"return_not_sent": 1}
    assert not OutboundEmail.objects.filter(event="return_reminder").exists()
    assert fresh(world.claim).outcome == "withdrawn"


def test_the_buyer_closing_the_claim_cancels_the_return():
    world = trial_return()
    with time_machine.travel(ACCEPTED + DAY, tick=False):
        services.close(claim=world.claim, by=world.buyer)
    assert the_return(world).status == "cancelled"
    assert sweep(SEND_BY) == {}


# --- the return tracking ----------------------------------------------------------------------------------------


def test_tracking_is_normalised_and_stops_the_ship_deadline(django_capture_on_commit_callbacks):
    world = trial_return()
    with django_capture_on_commit_callbacks(execute=True):
        ship(world, ACCEPTED + DAY, number="jjd 0003 9000 7", carrier="  dhl ")
    ret, claim = the_return(world), fresh(world.claim)
    assert (ret.status, ret.carrier, ret.tracking_number, ret.shipped_at) == (
        "shipped", "dhl", "JJD000390007", ACCEPTED + DAY)
    assert (claim.return_due_at, claim.return_reminded_at) == (None, ACCEPTED + DAY)
    assert returns.stage(claim) == returns.IN_TRANSIT
    assert claim.action_due_at == claim.hard_deadline_at  # sent: the 180 days run again, nothing else is due
    assert sweep(SEND_BY + DAY) == {}
    assert emails("return_shipped") == [world.staff.email]
    assert "dhl JJD000390007" in claim.transitions.get(name="return_shipped").reason


def test_a_tracking_number_of_a_shipment_or_of_another_return_is_refused():
    world, other = trial_return(), trial_return()
    shipment = world.claim.order.shipments.get()
    with pytest.raises(ClaimError, match="already registered for another parcel"):
        ship(world, ACCEPTED + H, number=shipment.tracking_number.lower(), carrier="DHL")
    ship(other, ACCEPTED + H, number="JJD777")
    with pytest.raises(ClaimError, match="already registered for another parcel"):
        ship(world, ACCEPTED + 2 * H, number="jjd777", carrier="dhl")
    assert the_return(world).status == "authorized"
    # The same number with another carrier is another parcel.
    ship(world, ACCEPTED + 3 * H, number="JJD777", carrier="Hermes")
    # And a seller cannot enter an outbound shipment with a return parcel's number either.
    from claims.services.tracking import record_shipment

    with time_machine.travel(ACCEPTED + 4 * H, tick=False), pytest.raises(TrackingError):
        record_shipment(order=world.claim.order, carrier="hermes", tracking_number="jjd777",
                        shipped_at=ACCEPTED - 9 * DAY)


def test_only_the_buyer_enters_the_tracking_and_only_in_time():
    world = trial_return()
    for person, code in ((world.staff, "forbidden"), (world.agent, "forbidden"), (world.other_buyer, "forbidden")):
        with time_machine.travel(ACCEPTED + H, tick=False), pytest.raises(ClaimError) as refusal:
            services.add_return_tracking(claim=world.claim, by=person, carrier="DHL", tracking_number="JJD1")
        assert refusal.value.code == code
    with pytest.raises(ClaimError) as refusal:
        ship(world, SEND_BY)
    assert refusal.value.code == "state" and "has passed" in str(refusal.value)
    with pytest.raises(ClaimError, match="both the carrier and the tracking number"):
        ship(world, ACCEPTED + H, number="  ")
    assert the_return(world).status == "authorized"


def test_the_tracking_is_entered_once():
    world = trial_return()
    ship(world, ACCEPTED + H, number="JJD1")
    with pytest.raises(ClaimError, match="already entered: DHL JJD1") as refusal:
        ship(world, ACCEPTED + 2 * H, number="JJD000390007")
    assert refusal.value.code == "state"
    assert (the_return(world).tracking_number, the_return(world).shipped_at) == ("JJD1", ACCEPTED + H)


# --- the carrier's delivery and the seller's confirmation ---------------------------------------------------------


def deliver_by_webhook(client, *, at: dt.datetime, status: str = "delivered", event_id: str = "evt_r1",  # type: ignore[no-untyped-def]
                       number: str = "JJD000390007", received: dt.datetime | None = None):
    body = json.dumps({"carrier": "DHL", "tracking_number": number, "status": status,
                       "occurred_at": at.isoformat(), "delivered_to_order_address": False}).encode()
    with time_machine.travel(received or at + H, tick=False):
        timestamp = int(dt.datetime.now(dt.UTC).timestamp())
        signed = f"{event_id}.{timestamp}.".encode() + body
        signature = "v1," + base64.b64encode(hmac.new(SECRET.encode(), signed, hashlib.sha256).digest()).decode()
        return client.post(reverse("carrier_webhook"), body, content_type="application/json", headers={
            "webhook-id": event_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature})


def test_the_carrier_delivers_the_return_and_the_seller_has_two_business_days_over_easter(
        client, django_capture_on_commit_callbacks):
    world = trial_return()
    ship(world, ACCEPTED + DAY)
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver_by_webhook(client, at=DELIVERED_AT)
    assert response.status_code == 200 and response.json()["result"] == "applied"
    ret, claim = the_return(world), fresh(world.claim)
    assert (ret.status, ret.delivered_at, ret.last_event_at) == ("delivered", DELIVERED_AT, DELIVERED_AT)
    assert claim.return_confirm_due_at == CONFIRM_BY  # Wednesday after Easter, 14:00 CEST
    assert claim.action_due_at == CONFIRM_BY
    assert CarrierEvent.objects.get(event_id="evt_r1").result == "applied"
    assert emails("return_delivered") == [world.staff.email]
    assert "Wed 8 Apr, 14:00 CEST" in OutboundEmail.objects.get(event="return_delivered").body_text
    # The same event again is a repeat; an older one is ignored; a later "in transit" withdraws the delivery.
    assert deliver_by_webhook(client, at=DELIVERED_AT).json()["result"] == "duplicate"
    assert deliver_by_webhook(client, at=DELIVERED_AT - H, event_id="evt_r0",
                              received=DELIVERED_AT + 2 * H).json()["result"] == "ignored_out_of_order"
    assert deliver_by_webhook(client, at=DELIVERED_AT + H, status="in_transit", event_id="evt_r2").status_code == 200
    assert (the_return(world).status, fresh(world.claim).return_confirm_due_at) == ("shipped", None)
    assert deliver_by_webhook(client, at=DELIVERED_AT + 3 * H, event_id="evt_r3").status_code == 200
    assert fresh(world.claim).return_confirm_due_at == CONFIRM_BY + 3 * H


def test_a_parcel_nobody_knows_is_still_a_404_for_the_carrier(client):
    trial_return()
    response = deliver_by_webhook(client, at=DELIVERED_AT, number="UNKNOWN1")
    assert response.status_code == 404


def test_an_agent_marks_a_return_delivered_for_a_carrier_without_events(client):
    world = trial_return()
    url = reverse("admin:claims_claim_act", kwargs={"object_id": world.claim.pk, "action": "return-delivered"})
    client.force_login(world.agent)
    with time_machine.travel(ACCEPTED + H, tick=False):  # nothing sent yet: nothing to deliver
        assert "Return delivered" not in client.get(
            reverse("admin:claims_claim_change", args=[world.claim.pk])).content.decode()
    ship(world, ACCEPTED + DAY)
    with time_machine.travel(DELIVERED_AT, tick=False):
        page = client.get(reverse("admin:claims_claim_change", args=[world.claim.pk])).content.decode()
        assert "Return delivered" in page and the_return(world).rma_number in page
        assert client.post(url).status_code == 302
    assert (the_return(world).status, fresh(world.claim).return_confirm_due_at) == ("delivered", CONFIRM_BY)
    with pytest.raises(ClaimError) as refusal:
        services.mark_return_delivered(claim=world.claim, by=world.staff)
    assert refusal.value.code == "forbidden"


def test_the_seller_confirms_in_time_and_the_refund_is_theirs(client):
    world = trial_return()
    ship(world, ACCEPTED + DAY)
    deliver_by_webhook(client, at=DELIVERED_AT)
    with time_machine.travel(CONFIRM_BY - H, tick=False):
        services.receive_return(claim=world.claim, by=world.staff, inspection_result="as_expected")
    claim, ret = fresh(world.claim), the_return(world)
    assert (claim.state, claim.outcome, claim.funded_by, claim.inspection_result) == (
        "resolved", "refund", "seller", "as_expected")
    assert (ret.status, ret.received_at) == ("received", CONFIRM_BY - H)
    assert [(r.amount, r.funded_by) for r in claim.refunds.all()] == [(PRICE, "seller")]
    assert not LedgerEntry.objects.filter(claim=claim).exists()
    assert sweep(CONFIRM_BY + H) == {}


def test_the_seller_late_the_platform_refunds_and_recovers_exactly_once(client, django_capture_on_commit_callbacks):
    world = trial_return()
    ship(world, ACCEPTED + DAY)
    deliver_by_webhook(client, at=DELIVERED_AT)
    assert sweep(CONFIRM_BY - dt.timedelta(microseconds=1)) == {}
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(CONFIRM_BY) == {"return_not_confirmed": 1}
    assert sweep(CONFIRM_BY) == {} and sweep(CONFIRM_BY + DAY) == {}
    claim = fresh(world.claim)
    assert (claim.state, claim.outcome, claim.funded_by, claim.refund_amount) == ("resolved", "refund", "platform",
                                                                                   PRICE)
    assert (claim.inspection_result, claim.return_received_at) == ("", CONFIRM_BY)
    assert [(r.amount, r.funded_by) for r in claim.refunds.all()] == [(PRICE, "platform")]
    assert list(LedgerEntry.objects.filter(claim=claim).values_list("kind", "amount")) == [("refund_recovery", PRICE)]
    assert the_return(world).status == "delivered"
    assert sorted(emails("return_refunded")) == sorted([world.buyer.email, world.staff.email])
    with pytest.raises(ClaimError):  # too late: the claim is resolved
        services.receive_return(claim=claim, by=world.staff, inspection_result="as_expected")


def test_an_unconfirmed_repair_goes_to_the_platform_which_decides_without_a_new_return(client):
    world = repair_decided()
    ship(world, ACCEPTED + DAY)
    deliver_by_webhook(client, at=DELIVERED_AT)
    assert sweep(CONFIRM_BY) == {"return_not_confirmed": 1}
    claim = fresh(world.claim)
    assert (claim.state, claim.escalation_cause, claim.escalated_at) == ("escalated", "takeover", CONFIRM_BY)
    assert claim.decision_due_at is not None and not claim.refunds.exists()
    # The agent keeps the repair: the goods are at the seller already, so the seller's confirmation is due again,
    # from the decision on, and no new return is authorized.
    decided = CONFIRM_BY + H
    with time_machine.travel(decided, tick=False):
        services.decide(claim=claim, by=world.agent, outcome="repair", funded_by="seller")
    claim = fresh(world.claim)
    assert claim.state == "awaiting_return" and claim.returns.count() == 1
    assert (claim.return_due_at, claim.return_confirm_due_at) == (None, dt.datetime(2026, 4, 10, 13, 0, tzinfo=dt.UTC))
    with time_machine.travel(decided + H, tick=False):
        services.receive_return(claim=claim, by=world.staff, inspection_result="as_expected")
    assert (fresh(claim).state, the_return(world).status) == ("resolved", "received")


# --- the 180-day refund -----------------------------------------------------------------------------------------


def test_the_final_deadline_waits_while_the_buyer_holds_the_return_and_not_once_it_is_sent():
    world = trial_return()
    Claim.objects.filter(pk=world.claim.pk).update(hard_deadline_at=ACCEPTED + DAY)  # a claim near its 180 days
    claim = fresh(world.claim)
    claim.refresh_next_deadline()
    assert deadlines.buyer_must_act(claim)
    assert deadlines.event(deadlines.due_events(claim), deadlines.FORCED_REFUND) is None
    ship(world, ACCEPTED + 2 * DAY)
    claim = fresh(world.claim)
    assert not deadlines.buyer_must_act(claim) and claim.next_deadline_at == ACCEPTED + DAY
    assert sweep(ACCEPTED + 2 * DAY + H) == {"forced_refund": 1}
    assert (fresh(claim).state, the_return(world).status) == ("resolved", "shipped")  # still on its way


# --- the slip -----------------------------------------------------------------------------------------------------


def test_the_slip_is_a_pdf_with_the_rma_as_code_128_and_both_numbers_in_the_qr_code():
    world = trial_return()
    ret = the_return(world)
    pdf = return_slip.render(ret)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/Type /Page" in pdf and f"Return slip {ret.rma_number}".encode() in pdf  # the document's title
    assert return_slip.barcode_value(ret) == ret.rma_number
    drawn, expected = return_slip.barcode(ret), code128.Code128(ret.rma_number)
    drawn.validate(), expected.validate()
    assert drawn.encode() == expected.encode() and drawn.decompose() == expected.decompose()
    assert return_slip.qr_payload(ret) == f"RMA:{ret.rma_number}\nCLAIM:{world.claim.number}"


def test_the_slip_is_for_the_buyer_the_sellers_staff_and_agents(client):
    world = trial_return()
    url = reverse("claims:return_slip", kwargs={"number": world.claim.number})
    rma = the_return(world).rma_number
    for person in (world.buyer, world.staff, world.agent):
        client.force_login(person)
        response = client.get(url)
        assert response.status_code == 200, person
        assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
        assert response["Content-Disposition"] == f'attachment; filename="return-slip-{rma}.pdf"'
    for person in (world.other_buyer, world.other_staff):
        client.force_login(person)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
    # No slip for a claim without a return, nor for one that expired.
    client.force_login(world.buyer)
    sweep(SEND_BY)
    assert client.get(url).status_code == 404


# --- the buyer's tracking form ------------------------------------------------------------------------------------


def test_the_tracking_form_on_the_buyers_page(client):
    world = trial_return()
    url = reverse("claims:return_tracking", kwargs={"number": world.claim.number})
    client.force_login(world.buyer)
    with time_machine.travel(ACCEPTED + H, tick=False):
        response = client.post(url, {"return-carrier": "DHL", "return-tracking_number": ""})
        assert response.status_code == 400 and "This field is required" in response.content.decode()
        response = client.post(url, {"return-carrier": "DHL", "return-tracking_number": "JJD 1234"})
        assert response.status_code == 302 and response["Location"].endswith("#return")
        assert the_return(world).tracking_number == "JJD1234"
        page = client.get(reverse("claims:detail", kwargs={"number": world.claim.number})).content.decode()
        assert "DHL JJD1234" in page and "Your return is on its way to the seller." in page
    for person in (world.other_buyer, world.staff):
        client.force_login(person)
        assert client.post(url, {"return-carrier": "DHL", "return-tracking_number": "X1"}).status_code == 404


def test_a_refused_tracking_number_comes_back_with_the_reason(client):
    world, other = trial_return(), trial_return()
    ship(other, ACCEPTED + H, number="JJD55")
    client.force_login(world.buyer)
    with time_machine.travel(ACCEPTED + 2 * H, tick=False):
        response = client.post(reverse("claims:return_tracking", kwargs={"number": world.claim.number}),
                               {"return-carrier": "DHL", "return-tracking_number": "JJD55"})
    assert response.status_code == 400
    assert "already registered for another parcel" in response.content.decode()
    assert the_return(world).status == "authorized"


# --- the console ------------------------------------------------------------------------------------------------


def test_the_console_finds_a_claim_by_its_rma_and_its_return_tracking(client):
    world, other = trial_return(), trial_return()
    ship(world, ACCEPTED + H, number="JJD4242")
    client.force_login(world.agent)
    changelist = reverse("admin:claims_claim_changelist")
    for term in (the_return(world).rma_number, the_return(world).rma_number.lower(), "JJD4242"):
        page = client.get(changelist, {"q": term}).content.decode()
        assert world.claim.number in page and other.claim.number not in page, term
    page = client.get(reverse("admin:claims_claim_change", args=[world.claim.pk])).content.decode()
    assert "DHL JJD4242" in page and "Returns, 1 Depot St, Berlin" in page


def test_every_return_event_has_words_for_both_parties():
    for event in ("return_authorized", "return_reminder", "return_expired", "return_shipped", "return_delivered",
                  "return_refunded", "return_not_confirmed"):
        assert event in EVENTS

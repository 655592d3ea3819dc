"""The demo's resolved claims and their money, one story each: refunds paid out, pending, failed and forced, a
partial refund, a repair, a withdrawal, a denial, a delivery the carrier confirmed, and a payment-provider dispute
lost by the seller with its fine. Take-overs, missed answers and the 180-day refund are the deadline sweep's. Some
buyers and sellers answer the satisfaction survey, so the console's overview has results to show."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django.utils import timezone

from claims import services as s
from claims.choices import DefectType, DenialReason, EvidenceKind, InspectionResult, OfferKind, Party, RejectionCode
from claims.models import Claim
from claims.services import tracking

from .files import photo
from .timeline import Demo, Story


def _resolution_due(claim: Claim) -> dt.datetime:
    """An open claim's resolution deadline: set when it is opened."""
    return cast(dt.datetime, claim.resolution_due_at)


def stories(d: Demo) -> list[Story]:
    return [trial_return(d), scratched_display(d), found_parcel(d), dropped_phone(d), late_delivery(d),
            packstation(d), silent_seller(d), paypal_dispute(d), swollen_battery(d)]


def trial_return(d: Demo) -> Story:
    """DEMO-1009, refund: trial return, sent back and checked by the seller; the refund waits for finance."""
    yield d.ago(6, at="17:20")
    claim = d.open("DEMO-1009", reason="trial_return", desired="refund", description=(
        "The phone works fine but it is too small for me. I would like to return it within the trial period."))
    yield d.ago(5, at="09:10")
    offer = s.make_offer(claim=claim, by=d.u("seller2"), kind=OfferKind.RETURN_FOR_REFUND,
                         note="No problem: send it back with the free label and we refund the full price.")
    yield d.ago(5, at="12:40")
    s.accept_offer(offer=offer, by=d.u("buyer"))
    yield d.ago(2, at="11:00")
    s.receive_return(claim=claim, by=d.u("seller2_staff"), inspection_result=InspectionResult.AS_EXPECTED,
                     note="Arrived complete and in the condition sold. Full refund released.")
    yield d.ago(1, at="19:30")  # both answer the satisfaction survey (claims.satisfaction)
    s.record_satisfaction(claim=claim, party=Party.BUYER, rating=5, comment="Easy return with the free label.")
    yield dt.timedelta(hours=13)
    s.record_satisfaction(claim=claim, party=Party.SELLER, rating=4)


def scratched_display(d: Demo) -> Story:
    """DEMO-1010, partial refund: a business buyer keeps a laptop with a scratch."""
    yield d.ago(5, at="10:30")
    claim = d.open("DEMO-1010", reason="not_as_described", desired="discount", description=(
        "Listed as “like new”, but there is a 3 cm scratch across the display, visible when it is off."),
        photos=[photo("xps-scratch.jpg", "3 cm scratch on the display", device="laptop")])
    yield dt.timedelta(hours=4)
    offer = s.make_offer(claim=claim, by=d.u("seller"), kind=OfferKind.PARTIAL_REFUND, amount="120.00",
                         note="We are sorry the grading missed it. 120 EUR back, and you keep the laptop.")
    yield d.ago(4, at="09:15")
    s.accept_offer(offer=offer, by=d.u("business"))
    yield d.ago(3, at="12:05")
    s.record_satisfaction(claim=claim, party=Party.BUYER, rating=4,
                          comment="Fair offer, but the grading should have caught the scratch.")


def found_parcel(d: Demo) -> Story:
    """DEMO-1011, withdrawn: the parcel turned up at a neighbour's."""
    yield d.ago(3, at="08:20")
    claim = d.open("DEMO-1011", reason="not_received", desired="refund", description=(
        "Tracking stopped at “out for delivery” more than two weeks ago and nothing arrived."))
    yield dt.timedelta(hours=2, minutes=30)
    s.reply(claim=claim, by=d.u("shop"), body="We have opened an investigation with DHL and will get back to you.")
    yield d.ago(1, at="19:05")
    s.post_message(claim=claim, by=d.u("buyer2"), body="Found it: a neighbour had taken it in. Sorry, all good!")
    yield dt.timedelta(minutes=1)
    s.close(claim=claim, by=d.u("buyer2"))


def dropped_phone(d: Demo) -> Story:
    """DEMO-1012, denied: drop damage, established after asking the buyer for a photo."""
    yield d.ago(6, at="20:30")
    claim = d.open("DEMO-1012", reason="defective", desired="repair", discovered=6, description=(
        "Green vertical lines appeared on the screen and it no longer responds to touch on the left side."),
        photos=[photo("green-lines.jpg", "Green lines on the display", flaw="lines")])
    yield d.ago(5, at="10:00")
    s.reject(claim=claim, by=d.u("seller"), code=RejectionCode.BUYER_DAMAGE, body=(
        "The frame in the photo is dented at the lower left corner: a display failure after a drop is not "
        "covered by the warranty."),
        evidence=[(photo("frame-detail.jpg", "Frame dent, lower left (from buyer's photo)", flaw="dent"),
                   EvidenceKind.PHOTO)])
    yield d.ago(5, at="12:30")
    s.escalate(claim=claim, by=d.u("buyer"), reason="The lines appeared by themselves.")
    yield d.ago(4, at="09:00")
    s.request_info(claim=claim, by=d.u("agent"), party=Party.BUYER,
                   question="Please send a photo of the lower left corner of the frame.")
    yield d.ago(3, at="18:00")
    s.provide_info(claim=claim, by=d.u("buyer"), body="Here it is. It slipped off the sofa once, but onto carpet.",
                   attachments=[(photo("corner.jpg", "Lower left corner", flaw="dent"), EvidenceKind.PHOTO)])
    yield d.ago(2, at="11:45")
    s.decide(claim=claim, by=d.u("agent"), outcome="denied", denial_reason=DenialReason.DAMAGE_AFTER_RECEIPT, note=(
        "The frame shows impact damage at the point where the display fault starts. Damage after receipt is "
        "not covered; the seller can offer a paid repair."))
    yield d.ago(2, at="18:20")
    s.record_satisfaction(claim=claim, party=Party.BUYER, rating=2,
                          comment="I still think the lines appeared by themselves.")
    yield d.ago(1, at="08:40")
    s.record_satisfaction(claim=claim, party=Party.SELLER, rating=5)


def late_delivery(d: Demo) -> Story:
    """DEMO-1013, delivered: the carrier scanned the delivery after the claim was opened, and the sweep closed
    the claim. The seller had only entered the tracking number; the carrier's depot scan is what the buyer saw."""
    yield d.ago(14, at="07:45")
    shipment = d.orders["DEMO-1013"].shipments.get()
    tracking.apply_carrier_update(carrier=shipment.carrier, tracking_number=shipment.tracking_number,
                                  status="in_transit", occurred_at=timezone.now())
    yield d.ago(hours=20)
    claim = d.open("DEMO-1013", reason="not_received", desired="replacement", description=(
        "Tracking shows the parcel at the depot since last week; no delivery attempt."))
    yield d.ago(hours=3)
    s.reply(claim=claim, by=d.u("seller2"), body="DHL confirms a new delivery attempt for today.")
    yield d.ago(minutes=50)
    tracking.apply_carrier_update(carrier=shipment.carrier, tracking_number=shipment.tracking_number,
                                  status="delivered", occurred_at=timezone.now(), delivered_to_order_address=True)


def packstation(d: Demo) -> Story:
    """DEMO-1014, refund forced at 180 days: the parcel went to a Packstation not on the order; the seller never
    answered, the platform took over at the resolution deadline, the seller let the agent's question lapse, and
    the final deadline passed."""
    yield d.ago(days=180, hours=3)
    claim = d.open("DEMO-1014", reason="not_received", desired="refund", description=(
        "Tracking says delivered to Packstation 118 in Düsseldorf. We are in Cologne and never chose a "
        "Packstation; the laptop never reached our office."))
    yield max(claim.opened_at + dt.timedelta(days=8), _resolution_due(claim) + dt.timedelta(hours=1))
    s.request_info(claim=claim, by=d.u("agent"), party=Party.SELLER, question=(
        "Please send the proof of delivery from DHL and explain why the parcel went to a Packstation address "
        "that is not on the order."))


def silent_seller(d: Demo) -> Story:
    """DEMO-1015, refund paid by the platform after the take-over and recovered from the silent seller; finance
    paid it out the next day, so the buyer reads where the money went and when it arrives."""
    yield d.ago(days=12, hours=5)
    claim = d.open("DEMO-1015", reason="not_as_described", desired="refund", description=(
        "Sold as “like new” with at least 90 % battery health; it shows 78 % and the back glass is scratched."),
        photos=[photo("iphone14-battery.jpg", "Battery health 78 %", tint=(90, 120, 170)),
                photo("iphone14-back.jpg", "Scratches on the back glass", tint=(90, 120, 170))])
    yield max(d.ago(days=2, hours=4), _resolution_due(claim) + dt.timedelta(hours=1))
    s.decide(claim=claim, by=d.u("agent"), outcome="refund", funded_by="platform", note=(
        "The seller did not answer within 5 business days. The platform refunds the buyer and recovers the "
        "amount from the seller."))
    yield dt.timedelta(days=1)
    s.mark_refund_paid(refund=claim.refunds.get(), reference="re_3Demo1015PaidOut", by=d.u("finance"))
    yield dt.timedelta(hours=2)
    s.record_satisfaction(claim=claim, party=Party.BUYER, rating=5,
                          comment="The platform stepped in when the seller went silent. Thank you!")


def paypal_dispute(d: Demo) -> Story:
    """DEMO-1016, a PayPal dispute lost by the seller: refund and the fixed fine on the ledger. The payout to the
    buyer's PayPal account bounced: it waits in the finance team's queue for a retry."""
    yield d.ago(10, at="14:00")
    claim = s.record_provider_dispute(
        order=d.orders["DEMO-1016"], by=d.u("agent"), reference="PP-D-7XK29341",
        description="Buyer told PayPal the headphones are counterfeit (serial not found at Apple).")
    d.claims["DEMO-1016"] = claim
    yield d.ago(7, at="10:30")
    s.post_message(claim=claim, by=d.u("agent"), internal=True,
                   body="PayPal case opened; seller's evidence forwarded to PayPal on day 3.")
    yield d.ago(3, at="16:00")
    s.record_provider_verdict(claim=claim, by=d.u("agent"), buyer_won=True)
    yield d.ago(2, at="09:30")
    s.mark_refund_failed(refund=claim.refunds.get(), by=d.u("finance"), reason="PayPal account closed")


def swollen_battery(d: Demo) -> Story:
    """DEMO-1017, repair: a first-party (marketplace) sale, repaired and sent back."""
    yield d.ago(4, at="08:10")
    claim = d.open("DEMO-1017", reason="defective", desired="repair", discovered=4, description=(
        "The trackpad has lifted at the front edge and no longer clicks; I think the battery is swelling."),
        photos=[photo("trackpad.jpg", "Trackpad lifted at the front edge", device="laptop", tint=(190, 190, 196))])
    yield dt.timedelta(hours=2)
    # A repair needs the type of defect (claims.remedies): a swollen battery is replaced, the trackpad re-seated.
    s.classify_defect(claim=claim, by=d.u("shop"), defect_type=DefectType.REMOVABLE, summary="Swollen battery")
    offer = s.make_offer(claim=claim, by=d.u("shop"), kind=OfferKind.REPAIR,
                         note="Please stop using it. We repair it free of charge; a courier collects it.",
                         return_instructions="UPS pickup booked, reference MD-RMA-1017.")
    yield dt.timedelta(hours=1)
    s.accept_offer(offer=offer, by=d.u("buyer"))
    yield d.ago(1, at="15:00")
    s.receive_return(claim=claim, by=d.u("shop"), inspection_result=InspectionResult.AS_EXPECTED,
                     note="Battery replaced, trackpad re-seated, 48-hour burn-in passed. On its way back to you.")
    yield dt.timedelta(hours=3)
    s.record_satisfaction(claim=claim, party=Party.BUYER, rating=3, comment="Good repair, but it took a while.")

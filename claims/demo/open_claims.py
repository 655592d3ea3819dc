"""The demo's open claims, one story each: awaiting the seller, in progress, awaiting a return, escalated, awaiting
information. Everything is done through claims.services by the person who would do it, at the moment it is done;
missed deadlines are the deadline sweep's (see timeline)."""

from __future__ import annotations

import datetime as dt

from claims import services as s
from claims.choices import EvidenceKind, OfferKind, Party, RejectionCode

from .files import pdf, photo
from .timeline import Demo, Story


def stories(d: Demo) -> list[Story]:
    return [face_id(d), battery_health(d), keyboard_layout(d), crackling_earbud(d), pixel_replacement(d),
            suspended_seller(d), dented_lid(d), silent_ear_cup(d), licence_key(d), slovak_tablet(d)]


def face_id(d: Demo) -> Story:
    """DEMO-1001, awaiting_seller: a defect reported this morning."""
    yield d.ago(0, at="08:40")
    d.open("DEMO-1001", reason="defective", desired="repair", discovered=2, description=(
        "Face ID stopped working two days ago: the phone says “Face ID is not available. Try setting up Face ID "
        "later.” I have restarted it and updated to the latest iOS; it still fails. No drops, no water."),
        photos=[photo("face-id-error.jpg", "Face ID is not available", flaw="lines")])


def battery_health(d: Demo) -> Story:
    """DEMO-1002, awaiting_seller past its first-reply deadline: the sweep reminded the seller and recorded the
    breach."""
    yield d.ago(days=3, hours=2)
    d.open("DEMO-1002", reason="not_as_described", desired="discount", description=(
        "The listing promised at least 85 % battery health; Settings → Battery shows 71 %. The phone lasts "
        "half a day. I would keep it for a partial refund, otherwise I want to return it."),
        photos=[photo("battery-health.jpg", "Battery health 71 % (listing: min. 85 %)", tint=(30, 30, 36))])


def keyboard_layout(d: Demo) -> Story:
    """DEMO-1003, in_progress with a pending offer: business buyer, one of two laptops has the wrong keyboard."""
    yield d.ago(2, at="11:05")
    t14 = d.orders["DEMO-1003"].items.get()
    claim = d.open("DEMO-1003", reason="wrong_item", desired="replacement", items=[(t14, 1)], description=(
        "We ordered two ThinkPads with German (QWERTZ) keyboards. Serial PF3K7QXD came with a US keyboard, "
        "which our staff cannot use. Please exchange the keyboard or the device."),
        photos=[photo("us-keyboard.jpg", "PF3K7QXD: US layout instead of German", device="laptop")])
    yield dt.timedelta(hours=3)
    s.reply(claim=claim, by=d.u("seller2_staff"), body=(
        "Sorry for the mix-up. We can replace the keyboard (about 5 working days in our workshop) or, if you can "
        "use it as it is, give you a discount."))
    yield dt.timedelta(minutes=10)
    first = s.make_offer(claim=claim, by=d.u("seller2"), kind=OfferKind.DISCOUNT, amount="40.00",
                         note="Discount if you keep the laptop with the US keyboard.")
    yield d.ago(1, at="08:50")
    # The buyer counters; the seller declines the counter-offer with its reason, then offers again.
    counter = s.counter_offer(claim=claim, by=d.u("business"), kind=OfferKind.DISCOUNT, amount="90.00",
                              countered=first, reason="40 EUR is too little: a German keyboard costs about 90 EUR.")
    yield d.ago(1, at="14:25")
    s.decline_counter_offer(offer=counter, by=d.u("seller2"),
                            reason="A genuine German keyboard costs 85 EUR; we offer exactly that.")
    yield dt.timedelta(minutes=5)
    s.make_offer(claim=claim, by=d.u("seller2"), kind=OfferKind.DISCOUNT, amount="85.00",
                 note="85 EUR: the price of a genuine German keyboard, which you can have fitted locally.")


def crackling_earbud(d: Demo) -> Story:
    """DEMO-1004, in_progress, rejected by the seller: the buyer may escalate at once."""
    yield d.ago(2, at="19:30")
    claim = d.open("DEMO-1004", reason="defective", desired="replacement", discovered=3, description=(
        "The left earbud crackles at medium volume and during calls, with noise cancellation on or off."),
        photos=[photo("airpods-left.jpg", "Left earbud, crackling", device="headphones", tint=(240, 240, 240))])
    yield d.ago(1, at="10:15")
    s.reject(claim=claim, by=d.u("seller2"), code=RejectionCode.NORMAL_WEAR, body=(
        "Both earbuds passed our audio test before dispatch (report attached). Slight crackling at high volume "
        "is normal wear for a used AirPods Pro in grade B, as the listing says."),
        evidence=[(pdf("pre-dispatch-test.pdf", "PhoneCycle Hamburg - audio test before dispatch",
                       ["Device: AirPods Pro (2nd gen), serial H6KXQ2LM1059", "Left bud: pass (88 dB sweep)",
                        "Right bud: pass (88 dB sweep)", "Grade: B (used, visible wear)", "Tester: F. Koch"]),
                   EvidenceKind.INSPECTION_REPORT)])


def pixel_replacement(d: Demo) -> Story:
    """DEMO-1005, awaiting_return: replacement accepted, the faulty phone is on its way back with its return number
    and tracking (only the phone, not the case, is claimed)."""
    yield d.ago(3, at="07:55")
    pixel = d.orders["DEMO-1005"].items.get(sku="GOO-PX7-128-OBS")
    claim = d.open("DEMO-1005", reason="defective", desired="replacement", items=[pixel], discovered=4,
                   description="The phone stopped charging: neither the original cable nor a second one works. "
                               "Wireless charging still works.",
                   photos=[photo("usb-c-port.jpg", "No charging over USB-C", flaw="none")])
    yield dt.timedelta(hours=2)
    s.reply(claim=claim, by=d.u("seller_staff"), body="Thanks for the clear description. We will replace the phone.")
    yield dt.timedelta(minutes=5)
    offer = s.make_offer(claim=claim, by=d.u("seller_staff"), kind=OfferKind.REPLACEMENT,
                         note="A new Pixel 7 is reserved for you and leaves the day your return arrives.",
                         return_instructions="Prepaid DHL label sent by e-mail, reference RET-1005-TH.")
    yield d.ago(2, at="18:20")
    s.accept_offer(offer=offer, by=d.u("buyer"))  # the return is authorized: RMA, address, slip (claims.returns)
    yield d.ago(1, at="09:35")
    s.add_return_tracking(claim=claim, by=d.u("buyer"), carrier="DHL", tracking_number="JJD0149 7731 1005")


def suspended_seller(d: Demo) -> Story:
    """DEMO-1006, escalated at once: the seller was suspended (see people), the platform answers (parcel stuck in
    transit)."""
    yield d.ago(2, at="21:10")
    d.open("DEMO-1006", reason="not_received", desired="refund", description=(
        "Tracking has said “in transit” for almost three weeks and the seller does not answer e-mails."))


def dented_lid(d: Demo) -> Story:
    """DEMO-1007, escalated by the buyer after a rejection, assigned to the agent, with an internal note."""
    yield d.ago(4, at="12:00")
    claim = d.open("DEMO-1007", reason="not_as_described", desired="refund", description=(
        "Sold as grade “very good”, but the lid has a deep dent at the top right corner and the hinge is loose."),
        photos=[photo("lid-dent.jpg", "Dent on the lid, top right corner", device="laptop", flaw="dent"),
                photo("hinge.jpg", "Hinge gap when open", device="laptop", flaw="none")])
    yield dt.timedelta(hours=5)
    s.reject(claim=claim, by=d.u("seller2"), code=RejectionCode.AS_DESCRIBED, body=(
        "The device was photographed before dispatch without a dent (photo attached); it must have happened in "
        "transport or afterwards."),
        evidence=[(photo("before-dispatch.jpg", "PhoneCycle: lid before dispatch", device="laptop", flaw="none"),
                   EvidenceKind.PHOTO)])
    yield d.ago(3, at="09:30")
    s.escalate(claim=claim, by=d.u("buyer"), reason="The dent is clearly visible on arrival; the box was undamaged.")
    yield d.ago(2, at="10:05")
    s.assign(claim=claim, by=d.u("agent"), agent=d.u("agent"))
    yield dt.timedelta(minutes=20)
    s.post_message(claim=claim, by=d.u("agent"), internal=True, body=(
        "Second grade complaint against PhoneCycle this month. Compare the seller's dispatch photo angle with "
        "the buyer's: the dent is not visible from the seller's angle."))


def silent_ear_cup(d: Demo) -> Story:
    """DEMO-1008, awaiting_info: after a rejection and escalation the agent asks the buyer a question."""
    yield d.ago(4, at="18:45")
    claim = d.open("DEMO-1008", reason="defective", desired="repair", discovered=5, description=(
        "No sound from the right ear cup any more, even with the cable connected."),
        photos=[photo("qc45-right.jpg", "Right ear cup silent", device="headphones", tint=(225, 225, 215))])
    yield d.ago(3, at="11:00")
    s.reject(claim=claim, by=d.u("seller"), code=RejectionCode.BUYER_DAMAGE, body=(
        "The buyer's photo shows corrosion at the charging port: liquid damage is not covered."),
        evidence=[(photo("corrosion.jpg", "Detail from the buyer's photo", device="headphones", flaw="liquid"),
                   EvidenceKind.PHOTO)])
    yield d.ago(3, at="20:15")
    s.escalate(claim=claim, by=d.u("buyer2"), reason="I never got them wet. The green marks were there on delivery.")
    yield d.ago(1, at="09:40")
    s.assign(claim=claim, by=d.u("agent"), agent=d.u("agent"))
    yield d.ago(hours=3)
    s.request_info(claim=claim, by=d.u("agent"), party=Party.BUYER, question=(
        "Please send a close-up photo of the USB-C port of the right ear cup in daylight, and tell us whether "
        "the headphones were used during sport or in the rain."))


def licence_key(d: Demo) -> Story:
    """DEMO-1018, escalated again: a refunded digital order reopened by the agent."""
    yield d.ago(2, at="20:05")
    claim = d.open("DEMO-1018", reason="not_received", desired="refund", description=(
        "I never received the licence key, neither by e-mail nor in my account."))
    yield dt.timedelta(hours=1)
    offer = s.make_offer(claim=claim, by=d.u("seller"), kind=OfferKind.FULL_REFUND,
                         note="Our key supplier had an outage. We refund you in full.")
    yield dt.timedelta(hours=2)
    s.accept_offer(offer=offer, by=d.u("buyer2"))
    yield d.ago(1, at="11:30")
    s.reopen(claim=claim, by=d.u("agent"), reason=(
        "The buyer says the seller's shop activated the licence key anyway and the refund has not arrived; "
        "checking with payments."))


def slovak_tablet(d: Demo) -> Story:
    """DEMO-1022, in_progress: a defect on an order delivered to Slovakia, whose law limits how long the seller has
    to resolve a warranty claim (the claim's policy snapshot carries the Slovak market's values)."""
    yield d.ago(3, at="10:20")
    claim = d.open("DEMO-1022", reason="defective", desired="repair", discovered=4, description=(
        "The touchscreen does not react in a strip along the left edge, so I cannot open the apps there. It started "
        "two days ago; the tablet was never dropped."),
        photos=[photo("ipad-left-edge.jpg", "No touch response along the left edge", flaw="lines")])
    yield dt.timedelta(hours=2, minutes=30)
    s.reply(claim=claim, by=d.u("seller_staff"), body=(
        "Thank you. Please send the iPad to our returns address with the prepaid label we e-mailed you; we repair "
        "the digitizer in our workshop and send it back."))
    yield d.ago(1, at="09:40")
    # The written claim and the goods have both reached the seller: the Slovak 30-day limit (60 at most) runs.
    s.confirm_goods_received(claim=claim, by=d.u("seller_staff"))

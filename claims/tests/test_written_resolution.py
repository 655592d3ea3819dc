"""The written resolution (claims.resolution): at every move into `resolved` the buyer gets one email with the
outcome, the amount and who pays, the resolution date, the days the claim took (counted in the market's time zone
from the day after submission to the day of resolution, across a change of clocks), the reasons of a denial and the
new warranty end of each claimed item. The same content builds the printable pages (tests/test_resolution_pages.py).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation

from claims import services
from claims.choices import Outcome
from claims.models import Claim, OutboundEmail
from claims.resolution import written_resolution
from claims.tests.factories import OPENED_AT, delivered_order, open_defective_claim
from core import formatting
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory, make_agent

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
# Delivered on 5 March 2026 everywhere: the 24 months of the item's warranty end on 5 March 2028, before extensions.
WARRANTY_END = dt.date(2028, 3, 5)


class World:
    def __init__(self, *, country: str = "DE", at: dt.datetime = OPENED_AT, reason: str = "defective",
                 language: str = "en") -> None:
        if reason == "not_received":
            self.order = OrderFactory(delivery_country=country, language=language)
            OrderItemFactory(order=self.order)
        else:
            self.order = delivered_order(delivery_country=country, language=language)
        self.buyer = self.order.buyer
        self.buyer.first_name, self.buyer.last_name = "Eva", "Novak"
        self.buyer.save(update_fields=["first_name", "last_name"])
        self.staff = UserFactory()
        SellerMembership.objects.create(user=self.staff, seller=self.order.seller, role="staff")
        self.agent = make_agent()
        self.claim = open_defective_claim(at=at, order=self.order, reason=reason, **(
            {"discovered_on": None, "desired_outcome": "refund"} if reason == "not_received" else {}))

    def fresh(self) -> Claim:
        return Claim.objects.get(pk=self.claim.pk)


def resolution_emails(claim: Claim) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(claim=claim, event="resolution").order_by("pk"))


def the_email(claim: Claim) -> OutboundEmail:
    [email] = resolution_emails(claim)
    assert email.to_email == claim.buyer.email
    return email


# --- every kind of resolution --------------------------------------------------------------------------------------


def _accept_refund_offer(w: World) -> None:
    offer = services.make_offer(claim=w.claim, by=w.staff, kind="full_refund")
    services.accept_offer(offer=offer, by=w.buyer)


def _decide_refund(w: World) -> None:
    services.escalate(claim=w.claim, by=w.agent, reason="Seller silent")
    services.decide(claim=w.claim, by=w.agent, outcome="refund", funded_by="platform")


def _decide_denied(w: World) -> None:
    services.escalate(claim=w.claim, by=w.agent, reason="Seller silent")
    services.decide(claim=w.claim, by=w.agent, outcome="denied", denial_reason="fragile_parts",
                    note="The display glass is cracked from a fall.")


def _replacement_returned(w: World) -> None:
    offer = services.make_offer(claim=w.claim, by=w.staff, kind="replacement", return_instructions="Send it to us")
    services.accept_offer(offer=offer, by=w.buyer)
    services.receive_return(claim=w.claim, by=w.staff, inspection_result="as_expected")


def _close(w: World) -> None:
    services.close(claim=w.claim, by=w.buyer)


def _forced_refund(w: World) -> None:
    services.force_refund(claim=w.claim)


def _provider_verdict(w: World) -> None:
    services.close(claim=w.claim, by=w.buyer)  # the buyer's own claim first, so the dispute has the item
    claim = services.record_provider_dispute(order=w.order, by=w.agent, reference="PP-1", description="Chargeback")
    w.claim = claim
    services.record_provider_verdict(claim=claim, by=w.agent, buyer_won=True)


KINDS = {
    # name: (how, outcome, words the email must say)
    "accepted offer": (_accept_refund_offer, "refund", ["Your claim was accepted: you get a refund of €199.00, "
                                                        "paid by the seller."]),
    "decided refund": (_decide_refund, "refund", ["Your claim was accepted: you get a refund of €199.00, paid by "
                                                  "the platform."]),
    "denied": (_decide_denied, "denied", ["Your claim was denied.", "Reasons for the denial",
                                          "Damage to fragile parts such as glass, displays and lenses.",
                                          "The display glass is cracked from a fall.",
                                          "The warranty is not extended", "independent expert"]),
    "return received": (_replacement_returned, "replacement", ["the item is replaced, free of charge for you",
                                                               "Returned item: Received as expected"]),
    "closed by the buyer": (_close, "withdrawn", ["You closed the claim yourself."]),
    "forced refund": (_forced_refund, "refund", ["a refund of €199.00, paid by the platform"]),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_resolution_emails_the_buyer_once(kind):
    how, outcome, words = KINDS[kind]
    w = World()
    with time_machine.travel(OPENED_AT + 2 * D + 3 * H, tick=False):
        how(w)
    claim = w.fresh()
    assert claim.state == "resolved" and claim.outcome == outcome
    email = the_email(claim)
    assert email.subject == f"Claim {claim.number}: written confirmation of the resolution"
    text = " ".join(email.body_text.split())
    for sentence in words:
        assert sentence in text, (sentence, email.body_text)
    assert "Resolved on: Thu 12 Mar" in text
    assert "The claim took 2 days: counted from the day after you submitted it (Tue 10 Mar) to the day it was " \
           "resolved (Thu 12 Mar)." in text
    extended = WARRANTY_END + dt.timedelta(days=0 if outcome in ("denied", "withdrawn") else 2)
    assert f"warranty until {formatting.day(extended)}" in text  # "Tue 7 Mar 2028": another year, so with it
    assert f"/claims/{claim.number}/resolution/" in email.body_text and claim.number in email.body_html


def test_a_provider_verdict_emails_the_written_resolution():
    w = World()
    with time_machine.travel(OPENED_AT + 2 * D, tick=False):
        _provider_verdict(w)
    claim = w.fresh()
    text = " ".join(the_email(claim).body_text.split())
    assert "Your claim was accepted: you get a refund of" in text and "paid by the platform" in text


def test_a_delivery_scan_emails_the_written_resolution():
    at = dt.datetime(2026, 3, 12, 9, 0, tzinfo=dt.UTC)
    w = World(reason="not_received", at=at)
    ShipmentFactory(order=w.order, delivered_at=at + D, delivered_to_order_address=True)
    with time_machine.travel(at + 2 * D, tick=False):
        services.mark_delivered(claim=w.claim)
    text = " ".join(the_email(w.fresh()).body_text.split())
    assert "The claim was closed: tracking shows your order was delivered to your address." in text
    assert "The claim took 2 days" in text


def test_an_accepted_return_offer_writes_no_resolution_until_the_item_is_back():
    w = World()
    with time_machine.travel(OPENED_AT + 3 * H, tick=False):
        offer = services.make_offer(claim=w.claim, by=w.staff, kind="replacement", return_instructions="Send it")
        services.accept_offer(offer=offer, by=w.buyer)
    assert w.fresh().state == "awaiting_return" and resolution_emails(w.claim) == []
    with time_machine.travel(OPENED_AT + 5 * D, tick=False):
        services.receive_return(claim=w.claim, by=w.staff, inspection_result="as_expected")
    assert "the item is replaced" in the_email(w.fresh()).body_text


def test_a_reopened_claim_resolved_again_gets_a_second_written_resolution():
    w = World()
    with time_machine.travel(OPENED_AT + D, tick=False):
        _decide_denied(w)
    with time_machine.travel(OPENED_AT + 3 * D, tick=False):
        services.reopen(claim=w.claim, by=w.agent, reason="New evidence")
        services.decide(claim=w.claim, by=w.agent, outcome="refund", funded_by="seller")
    first, second = resolution_emails(w.claim)
    assert "Your claim was denied." in first.body_text and "The claim took 1 day:" in first.body_text
    assert "you get a refund" in second.body_text and "The claim took 3 days:" in second.body_text


# --- the days across a change of clocks, per market --------------------------------------------------------------

# Submitted on Friday 27 March 2026 at 22:00 UTC, resolved on Sunday night 29 March at 22:30 UTC, after the clocks
# went forward. In Berlin and Bratislava that is 23:00 on the 27th to 00:30 on the 30th (the 28th, 29th and 30th:
# 3 days); in Lisbon 22:00 on the 27th to 23:30 on the 29th (2 days). Counting UTC hours would say 2 everywhere.
DST_OPENED = dt.datetime(2026, 3, 27, 22, 0, tzinfo=dt.UTC)
DST_RESOLVED = dt.datetime(2026, 3, 29, 22, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(("country", "days", "resolved"), [
    ("DE", 3, "Mon 30 Mar"), ("SK", 3, "Mon 30 Mar"), ("PT", 2, "Sun 29 Mar")])
def test_the_days_and_the_warranty_end_across_the_change_of_clocks(country, days, resolved):
    w = World(country=country, at=DST_OPENED)
    with time_machine.travel(DST_RESOLVED, tick=False):
        _accept_refund_offer(w)
    claim = w.fresh()
    resolution = written_resolution(claim)
    assert (resolution.days, resolution.submitted_on) == (days, dt.date(2026, 3, 27))
    text = " ".join(the_email(claim).body_text.split())
    assert f"The claim took {days} days: counted from the day after you submitted it (Fri 27 Mar) to the day " \
           f"it was resolved ({resolved})." in text
    new_end = WARRANTY_END + dt.timedelta(days=days)
    assert [item.warranty_until for item in resolution.items] == [new_end]
    assert f"warranty until {formatting.day(new_end)}" in text
    assert f"Your warranty is extended by the {days} days the claim took." in text
    assert claim.warranty_days_credited == days  # the email says what the extension did


# --- the text, in English and in the buyer's language --------------------------------------------------------------

EXPECTED_TEXT = """Hello Eva Novak,

This is the written confirmation of how your claim was resolved. Please keep it: it also states how long your \
warranty now runs.

Claim number: {number}
Order: {order}
Submitted on: Tue 10 Mar
Resolved on: Fri 13 Mar
Outcome: Denied
Your claim was denied.

Reasons for the denial:
- Damage to fragile parts such as glass, displays and lenses.
- The display glass is cracked from a fall.

The claim took 3 days: counted from the day after you submitted it (Tue 10 Mar) to the day it was resolved \
(Fri 13 Mar).

The warranty is not extended: it is extended only when a claim is justified.
- 1 × {title}: warranty until Sun 5 Mar 2028

You think the denial is wrong? You can ask for an independent expert to assess the item. You send the item at your \
own expense. If the expert finds the claim justified, we reopen it and decide again. If the expert finds it \
unjustified, you pay all the costs of the assessment, including transport, within 30 days of receiving the list of \
costs.

Printable copy: http://testserver/claims/{number}/resolution/
Open the claim: http://testserver/claims/{number}/

You receive this email because you take part in claim {number}.
Marketplace Help Center: http://testserver/

"""


def test_the_english_text(settings):
    settings.SITE_URL = "http://testserver"
    w = World()
    with time_machine.travel(OPENED_AT + 3 * D, tick=False):
        _decide_denied(w)
    claim = w.fresh()
    expected = EXPECTED_TEXT.format(number=claim.number, order=claim.order.number,
                                    title=claim.items.get().order_item.title)
    assert the_email(claim).body_text == expected


def test_the_german_rendering_is_in_german():
    w = World(language="de")
    with time_machine.travel(OPENED_AT + 3 * D, tick=False):
        _decide_denied(w)
    email = the_email(w.fresh())
    assert email.language == "de"
    with translation.override("de"):
        denied = str(Outcome.DENIED.label)
    assert denied == "Abgelehnt" and f": {denied}\n" in email.body_text  # the outcome label, in German
    assert "Fr., 13. März" in email.body_text  # German dates
    assert "Denied" not in email.body_text


def test_no_written_resolution_for_an_open_claim():
    w = World()
    assert written_resolution(w.fresh()) is None and resolution_emails(w.claim) == []


def test_the_amount_is_the_claims_refund():
    w = World()
    with time_machine.travel(OPENED_AT + D, tick=False):
        _decide_refund(w)
    assert written_resolution(w.fresh()).amount == Decimal("199.00")
    assert re.search(r"Amount: €199\.00, paid by the platform", the_email(w.claim).body_text)

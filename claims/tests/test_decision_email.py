"""The decision's email ("decided", claims.decision.decision_news): the buyer and the seller each read the outcome in
words, the amount, who pays (the seller: what it owes), the reasons of a denial and what happens next, the same in
the text and the HTML."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine

from claims import appeals, services
from claims.models import OutboundEmail
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import OPENED_AT, claim_world, delivered_order
from sellers.models import LedgerEntry

pytestmark = pytest.mark.django_db
NOW = OPENED_AT + dt.timedelta(days=1)


def decided(defect_type: str = "", **decision):  # type: ignore[no-untyped-def]
    world = claim_world("escalated", defect_type=defect_type)
    with time_machine.travel(NOW, tick=False):
        services.decide(claim=world.claim, by=world.agent, **decision)
    world.refresh()
    return world


def email_to(world, who: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(text, HTML as plain words) of the decision's email to the buyer or the seller's staff."""
    user = world.buyer if who == "buyer" else world.staff
    row = OutboundEmail.objects.get(event="decided", recipient=user)
    words = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.body_html)))
    return row.body_text, words


def says(world, who: str, *sentences: str) -> None:  # type: ignore[no-untyped-def]
    text, words = email_to(world, who)
    flat = re.sub(r"\s+", " ", text)
    for sentence in sentences:
        assert sentence in flat, (who, sentence, text)
        assert sentence in words, (who, sentence, words)


def shows(world, who: str, label: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """A labelled line: "Amount: €50.00" in the text, a table row in the HTML."""
    text, words = email_to(world, who)
    assert f"{label}: {value}" in text, (who, label, text)
    assert f"{label} {value}" in words, (who, label, words)


def never(world, who: str, *sentences: str) -> None:  # type: ignore[no-untyped-def]
    text, words = email_to(world, who)
    for sentence in sentences:
        assert sentence not in text and sentence not in words, (who, sentence)


def test_a_refund_paid_by_the_seller():
    world = decided(outcome="refund", funded_by="seller")
    says(world, "buyer", "Your claim was accepted: you get a refund of €199.00, paid by the seller.",
         "€199.00 is being paid back to",
         "We will email you as soon as it has been sent.",
         "You will also receive the written confirmation of the resolution by email.")
    says(world, "seller", "The buyer gets a refund of €199.00.",
         "You owe €199.00 for this claim: the buyer's refund, deducted from your payouts when it is paid out.",
         "You don't need to do anything.")
    shows(world, "buyer", "Outcome", "Refund")
    shows(world, "buyer", "Amount", "€199.00, paid by the seller")
    shows(world, "seller", "Amount", "€199.00")
    shows(world, "seller", "Who pays", "You owe €199.00")
    never(world, "buyer", "payouts", "recover")
    assert OutboundEmail.objects.get(event="decided", recipient=world.buyer).subject == (
        f"Claim {world.claim.number} has been decided")


def test_a_refund_the_platform_pays_and_recovers():
    world = decided(outcome="refund", funded_by="platform")
    says(world, "buyer", "you get a refund of €199.00, paid by the platform.")
    says(world, "seller", "You owe €199.00 for this claim: the platform paid the buyer in your place and recovers "
                          "the amount from your payouts. It was added to your balance on Wed 11 Mar (your statement "
                          "for March 2026).")
    never(world, "seller", "bears the cost", "deducted from your payouts")
    assert LedgerEntry.objects.filter(claim=world.claim, kind="refund_recovery").exists()


def test_a_refund_the_platform_pays_and_bears():
    world = decided(outcome="refund", funded_by="platform", recover_from_seller=False)
    says(world, "buyer", "you get a refund of €199.00, paid by the platform.")
    says(world, "seller", "The platform pays the buyer and bears the cost; you owe nothing for this claim.")
    never(world, "seller", "recovers the amount", "deducted from your payouts")
    never(world, "buyer", "bears the cost")
    assert not LedgerEntry.objects.filter(claim=world.claim).exists()


def test_a_partial_refund():
    world = decided("irremovable", outcome="partial_refund", funded_by="seller", amount="50.00",
                    note="The scratch is real but small.")
    says(world, "buyer", "Your claim was accepted: you get a partial refund of €50.00, paid by the seller.",
         "€50.00 is being paid back to")
    says(world, "seller", "The buyer gets a partial refund of €50.00.",
         "You owe €50.00 for this claim: the buyer's refund, deducted from your payouts when it is paid out.")
    shows(world, "seller", "Amount", "€50.00")
    for who in ("buyer", "seller"):
        shows(world, who, "Our explanation", "The scratch is real but small.")
        shows(world, who, "Outcome", "Partial refund")


def test_a_denial_names_its_reason_and_what_the_buyer_may_do_next():
    world = decided(outcome="denied", denial_reason="normal_wear", note="The wear matches grade C.")
    says(world, "buyer", "Your claim was denied.", "Reasons for the denial",
         "Normal wear within the grade you bought.", "The wear matches grade C.",
         "You think the denial is wrong? You can ask for an independent expert")
    says(world, "seller", "The claim was denied.", "Reasons for the denial", "Normal wear within the grade sold",
         "You don't need to do anything.")
    shows(world, "seller", "Our explanation", "The wear matches grade C.")
    for who in ("buyer", "seller"):
        never(world, who, "Amount:", "Who pays", "paid by", "payouts", "being paid back")


def test_a_replacement_with_the_return_says_where_to_send_the_item():
    world = decided("removable", outcome="replacement", funded_by="seller")
    assert world.claim.state == "awaiting_return"
    says(world, "buyer", "Your claim was accepted: the item is replaced, free of charge for you.",
         "Please send the item back by Sat 21 Mar, 10:00 CET. If it has not been sent by then, the claim closes as "
         "withdrawn.")
    says(world, "buyer", "Return to: Returns, 1 Depot St, Berlin")
    says(world, "seller", "The buyer gets a replacement.",
         "The buyer sends the item back to you. When it arrives, record it as received on the claim page",
         "Then send the buyer a replacement, free of charge for them.")
    never(world, "seller", "Return to", "You don't need to do anything.")
    never(world, "buyer", "written confirmation", "being paid back")


def test_a_refund_after_the_return_is_paid_when_the_item_is_back():
    world = decided(outcome="refund", funded_by="seller", needs_return=True)
    assert world.claim.state == "awaiting_return" and not world.claim.refunds.exists()
    says(world, "buyer", "you get a refund of €199.00, paid by the seller.",
         "The refund is paid once the item is back with the seller.", "Returns, 1 Depot St, Berlin")
    says(world, "seller", "The refund is paid to the buyer when you record the item as received.")
    never(world, "buyer", "being paid back")


def test_the_payment_providers_verdict_for_the_buyer_is_recovered():
    world = claim_world("escalated")
    order = delivered_order(seller=world.claim.seller)
    with time_machine.travel(NOW, tick=False):
        claim = services.record_provider_dispute(order=order, by=world.agent, reference="PP-7",
                                                 description="Chargeback: item not as described")
        services.record_provider_verdict(claim=claim, by=world.agent, buyer_won=True)
    row = OutboundEmail.objects.get(event="decided", claim=claim, recipient=world.staff)
    assert "The buyer gets a refund of €199.00." in row.body_text
    assert ("You owe €199.00 for this claim: the platform paid the buyer in your place and recovers the amount "
            "from your payouts. It was added to your balance on Wed 11 Mar (your statement for March 2026).") in (
        " ".join(row.body_text.split()))


APPEAL = ("If you think our decision is wrong, you can appeal it once. Another member of our support team than the "
          "one who decided looks at the claim again; their decision is final.")


def test_both_parties_are_told_until_when_they_may_appeal():
    """The platform's decision may be appealed once, within the policy's days (claims.appeals): the last step says
    how, and until when, in the claim's market zone."""
    world = decided(outcome="denied", denial_reason="normal_wear")
    last = appeals.when(world.claim, appeals.closes_at(world.claim))
    for who in ("buyer", "seller"):
        says(world, who, f"{APPEAL} You can appeal until {last}.")
    assert last == "Wed 25 Mar, 10:00 CET"


def test_no_appeal_step_when_the_decision_cannot_be_appealed():
    """The appeal's own decision is final: its email names no appeal (claims.abilities.appeal_refusal)."""
    world = decided(outcome="denied", denial_reason="normal_wear")
    make_console_agent()  # another agent than the one who decided, for the appeal
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        services.appeal(claim=world.refresh(), by=world.buyer, reason="The wear is not normal.")
    claim = world.refresh()
    assert claim.assigned_to not in (None, world.agent)
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        services.decide(claim=claim, by=claim.assigned_to, outcome="refund", funded_by="seller")
    for user in (world.buyer, world.staff):
        row = OutboundEmail.objects.get(event="appeal_decided", recipient=user)
        assert "appeal it once" not in row.body_text and "appeal it once" not in row.body_html


def test_the_refund_says_where_it_goes_and_when_it_usually_arrives(settings):
    settings.REFUND_ARRIVAL_BUSINESS_DAYS = [3, 7]
    world = decided(outcome="refund", funded_by="seller")
    says(world, "buyer", "The refund goes back to the payment method you paid with; once sent, it usually arrives "
                         "within 3–7 business days.")
    never(world, "seller", "usually arrives")

"""Expert assessments (claims.services.experts), with time controlled and per market.

During a claim: "The time needed for expert assessment of the defect is not included in this period" — the seller's
staff or an agent start one, the claim's warranty-claim limit moves on by the pause when the result is recorded (the
60-day maximum never moves). After a denial: the buyer asks, an agent records the result; justified reopens the claim
for a new decision, unjustified sends the buyer the list of costs, due 30 days later in the market's calendar.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from claims import services
from claims.abilities import ability, assessment_abilities
from claims.errors import ClaimError
from claims.models import Claim, ClaimItem, Evidence, ExpertAssessment, OutboundEmail
from claims.tests.corpus import invoice_pdf
from claims.tests.factories import OPENED_AT, delivered_order, open_defective_claim
from core import formatting
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory, make_agent

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def pdf(name: str = "report.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, invoice_pdf("Expert report"), content_type="application/pdf")


class World:
    def __init__(self, *, country: str = "SK", reason: str = "defective") -> None:
        self.order = delivered_order(delivery_country=country)
        self.buyer = self.order.buyer
        self.staff = UserFactory()
        SellerMembership.objects.create(user=self.staff, seller=self.order.seller, role="staff")
        self.other_staff = UserFactory()
        SellerMembership.objects.create(user=self.other_staff, seller=SellerFactory(), role="staff")
        self.agent = make_agent()
        extra = {"desired_outcome": "refund"} if reason != "defective" else {}
        self.claim = open_defective_claim(order=self.order, reason=reason, **extra)

    def fresh(self) -> Claim:
        return Claim.objects.get(pk=self.claim.pk)

    def clock(self, *, received: dt.datetime, days: int | None, max_days: int | None) -> None:
        """The warranty-claim clock as the seller's confirmation of the goods sets it (claims.warranty_clock)."""
        Claim.objects.filter(pk=self.claim.pk).update(
            goods_received_at=received, warranty_due_at=received + days * D if days else None,
            warranty_max_at=received + max_days * D if max_days else None)

    def denied(self) -> Claim:
        with time_machine.travel(OPENED_AT + 2 * H, tick=False):
            services.escalate(claim=self.claim, by=self.agent, reason="Seller silent")
            services.decide(claim=self.claim, by=self.agent, outcome="denied", denial_reason="damage_after_receipt")
        return self.fresh()


def emails(claim: Claim, event: str) -> list[str]:
    return sorted(OutboundEmail.objects.filter(claim=claim, event=event).values_list("to_email", flat=True))


# --- during the claim: the pause ------------------------------------------------------------------------------------

RECEIVED = OPENED_AT + 3 * H


def test_the_pause_moves_the_warranty_limit_by_the_time_the_expert_took():
    w = World(country="SK")
    w.clock(received=RECEIVED, days=30, max_days=60)
    started = OPENED_AT + 12 * D + 2 * H  # Sunday 22 March
    with time_machine.travel(started, tick=False):
        assessment = services.start_expert_assessment(claim=w.claim, by=w.staff, expert="TÜV Süd")
    claim = w.fresh()
    assert claim.expert_paused_at == started and assessment.stage == "during_claim"
    assert assessment.requested_by_party == "seller" and assessment.expert == "TÜV Süd"
    # 12 days and 5 hours later, across the change of clocks on 29 March: the limit moves by exactly that long.
    concluded = started + 12 * D + 5 * H
    with time_machine.travel(concluded, tick=False):
        services.conclude_expert_assessment(assessment=assessment, by=w.staff, result="justified",
                                            note="Faulty charging board.")
    claim = w.fresh()
    assert claim.warranty_due_at == RECEIVED + 30 * D + 12 * D + 5 * H
    assert claim.warranty_max_at == RECEIVED + 60 * D  # "must not take longer than 60 days": never moved
    assert claim.expert_paused_at is None
    assessment.refresh_from_db()
    assert (assessment.result, assessment.concluded_at, assessment.note) == ("justified", concluded,
                                                                              "Faulty charging board.")
    names = list(claim.transitions.values_list("name", flat=True))
    assert names[-2:] == ["start_expert_assessment", "conclude_expert_assessment"]
    parties = sorted([w.buyer.email, w.staff.email])
    assert emails(claim, "expert_started") == parties and emails(claim, "expert_concluded") == parties


def test_the_limit_never_passes_the_maximum():
    w = World(country="SK")
    w.clock(received=RECEIVED, days=30, max_days=60)
    with time_machine.travel(RECEIVED + D, tick=False):
        assessment = services.start_expert_assessment(claim=w.claim, by=w.staff)
    with time_machine.travel(RECEIVED + 41 * D, tick=False):
        services.conclude_expert_assessment(assessment=assessment, by=w.staff, result="unjustified")
    claim = w.fresh()
    assert claim.warranty_due_at == claim.warranty_max_at == RECEIVED + 60 * D


@pytest.mark.parametrize(("country", "days", "max_days"), [("PT", 30, None), ("DE", None, None)])
def test_the_pause_in_the_other_markets(country, days, max_days):
    """Portugal: 30 days and no maximum, so the limit moves by the whole pause; Germany: no limit to move."""
    w = World(country=country)
    w.clock(received=RECEIVED, days=days, max_days=max_days)
    with time_machine.travel(RECEIVED + D, tick=False):
        assessment = services.start_expert_assessment(claim=w.claim, by=w.agent)
    assert w.fresh().expert_paused_at == RECEIVED + D
    with time_machine.travel(RECEIVED + 41 * D, tick=False):
        services.conclude_expert_assessment(assessment=assessment, by=w.agent, result="justified")
    claim = w.fresh()
    assert claim.warranty_due_at == (RECEIVED + 70 * D if days else None)
    assert claim.expert_paused_at is None


def test_who_may_start_one_and_when():
    w = World()
    assert ability(w.claim, w.staff, "start_expert_assessment").allowed
    for outsider in (w.buyer, w.other_staff):
        refused = ability(w.claim, outsider, "start_expert_assessment")
        assert not refused.allowed and refused.code == "forbidden"
    with time_machine.travel(OPENED_AT + H, tick=False):
        services.start_expert_assessment(claim=w.claim, by=w.staff)
        with pytest.raises(ClaimError, match="already assessing"):
            services.start_expert_assessment(claim=w.claim, by=w.agent)
    assert ExpertAssessment.objects.filter(claim=w.claim).count() == 1


def test_the_seller_only_while_the_claim_is_with_them_an_agent_while_it_is_open():
    w = World()
    with time_machine.travel(OPENED_AT + H, tick=False):
        services.escalate(claim=w.claim, by=w.agent, reason="Seller silent")
        with pytest.raises(ClaimError) as refused:
            services.start_expert_assessment(claim=w.claim, by=w.staff)
        assert refused.value.code == "state"
        services.start_expert_assessment(claim=w.claim, by=w.agent, expert="Lab")
    assert w.fresh().expert_paused_at is not None


def test_only_for_a_defect_under_warranty():
    w = World(reason="not_as_described")
    refused = ability(w.claim, w.staff, "start_expert_assessment")
    assert not refused.allowed and "defect claimed under the warranty" in refused.reason


def test_the_report_goes_through_the_evidence_checks():
    w = World()
    with time_machine.travel(OPENED_AT + H, tick=False):
        assessment = services.start_expert_assessment(claim=w.claim, by=w.staff)
    before = Evidence.objects.count()
    not_a_report = SimpleUploadedFile("report.pdf", b"#!/bin/sh\necho hi\n", content_type="application/pdf")
    with time_machine.travel(OPENED_AT + 2 * D, tick=False):
        with pytest.raises(ClaimError, match="not a file we accept"):
            services.conclude_expert_assessment(assessment=assessment, by=w.staff, result="justified",
                                                report=not_a_report)
        assert Evidence.objects.count() == before and w.fresh().expert_paused_at is not None
        services.conclude_expert_assessment(assessment=assessment, by=w.staff, result="justified", report=pdf())
    assessment.refresh_from_db()
    report = assessment.report
    assert (report.kind, report.content_type, report.party) == ("inspection_report", "application/pdf", "seller")
    assert report.message is not None and not report.message.is_internal  # on the thread, for both parties


def test_the_seller_cannot_conclude_what_is_not_running():
    w = World()
    refused = ability(w.claim, w.staff, "conclude_expert_assessment")
    assert not refused.allowed and "No expert assessment is running" in refused.reason


# --- after a denial ------------------------------------------------------------------------------------------------


def request(w: World, at: dt.datetime = OPENED_AT + D) -> ExpertAssessment:
    with time_machine.travel(at, tick=False):
        return services.request_expert_assessment(claim=w.claim, by=w.buyer)


def test_the_buyer_asks_after_a_denial_and_only_once_while_it_runs():
    w = World()
    assert not ability(w.claim, w.buyer, "request_expert_assessment").allowed  # not denied yet
    w.denied()
    assert ability(w.fresh(), w.buyer, "request_expert_assessment").allowed
    for other in (w.staff, w.agent):
        assert ability(w.fresh(), other, "request_expert_assessment").code == "forbidden"
    assessment = request(w)
    assert (assessment.stage, assessment.requested_by_party, assessment.concluded_at) == ("after_denial", "buyer",
                                                                                          None)
    assert emails(w.claim, "expert_requested") == sorted([w.buyer.email, w.staff.email])
    with pytest.raises(ClaimError, match="under way"):
        request(w)
    assert ExpertAssessment.objects.filter(claim=w.claim).count() == 1
    # the seller does not record the result of the buyer's expert; an agent does
    assert assessment_abilities(assessment, w.staff)["conclude"].code == "forbidden"
    assert assessment_abilities(assessment, w.agent)["conclude"].allowed


def test_not_for_a_claim_that_was_not_denied():
    w = World()
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        offer = services.make_offer(claim=w.claim, by=w.staff, kind="full_refund")
        services.accept_offer(offer=offer, by=w.buyer)
    refused = ability(w.fresh(), w.buyer, "request_expert_assessment")
    assert not refused.allowed and "when a warranty claim was denied" in refused.reason


def test_justified_reopens_the_claim_for_a_new_decision():
    w = World()
    w.denied()
    assessment = request(w)
    with time_machine.travel(OPENED_AT + 20 * D, tick=False):
        services.conclude_expert_assessment(assessment=assessment, by=w.agent, result="justified",
                                            note="Manufacturing fault.", expert="Lab Nord", report=pdf())
    claim = w.fresh()
    assert (claim.state, claim.escalation_cause, claim.outcome) == ("escalated", "expert", "")
    assert ClaimItem.objects.filter(claim=claim, is_open=True).count() == 1
    reopened = claim.transitions.filter(name="reopen").get()
    assert "An expert found the claim justified." in reopened.reason and "Manufacturing fault." in reopened.reason
    assert emails(claim, "reopened") == sorted([w.buyer.email, w.staff.email])
    # and the platform decides again
    with time_machine.travel(OPENED_AT + 21 * D, tick=False):
        services.decide(claim=claim, by=w.agent, outcome="refund", funded_by="seller")
    assert w.fresh().outcome == "refund"


# 1 May 00:30 in Berlin and Bratislava, 23:30 on 30 April in Lisbon: the 30 days count from different days.
SENT = dt.datetime(2026, 4, 30, 22, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(("country", "due"), [("DE", dt.date(2026, 5, 31)), ("SK", dt.date(2026, 5, 31)),
                                              ("PT", dt.date(2026, 5, 30))])
def test_unjustified_the_buyer_gets_the_list_of_costs_due_in_30_days(country, due):
    w = World(country=country)
    w.denied()
    assessment = request(w)
    with time_machine.travel(SENT - 2 * D, tick=False):
        services.conclude_expert_assessment(assessment=assessment, by=w.agent, result="unjustified",
                                            expert="Lab Nord")
        assert w.fresh().state == "resolved"  # the denial stands
        with pytest.raises(ClaimError, match="at least one cost"):
            services.send_expert_costs(assessment=assessment, by=w.agent)
        with pytest.raises(ClaimError) as refused:
            services.add_expert_cost(assessment=assessment, by=w.staff, description="Expert", amount="80")
        assert refused.value.code == "forbidden"
        services.add_expert_cost(assessment=assessment, by=w.agent, description="Expert's fee", amount="80.00")
        services.add_expert_cost(assessment=assessment, by=w.agent, description="Transport", amount="12.50")
    with time_machine.travel(SENT, tick=False):
        sent = services.send_expert_costs(assessment=assessment, by=w.agent)
    assert (sent.costs_sent_at, sent.costs_due_on) == (SENT, due)
    [email] = OutboundEmail.objects.filter(claim=w.claim, event="expert_costs")
    assert email.to_email == w.buyer.email
    text = email.body_text
    # the list's amounts and day as the buyer's language writes them (core.formatting: "€80.00", "Sun 31 May")
    for line in ("Expert's fee: €80.00", "Transport: €12.50", "Total: €92.50",
                 f"Due by: {formatting.day(due, now=SENT)}"):
        assert line in text, (line, text)
    assert f"Please pay €92.50 by {formatting.day(due, now=SENT)}" in text
    with pytest.raises(ClaimError, match="already sent"):
        services.add_expert_cost(assessment=assessment, by=w.agent, description="More", amount="1")
    with time_machine.travel(SENT + 10 * D, tick=False):
        paid = services.mark_expert_costs_paid(assessment=assessment, by=w.agent)
        with pytest.raises(ClaimError, match="already marked as paid"):
            services.mark_expert_costs_paid(assessment=assessment, by=w.agent)
    assert paid.costs_paid_at == SENT + 10 * D
    assert list(w.claim.transitions.values_list("name", flat=True))[-3:] == [
        "conclude_expert_assessment", "send_expert_costs", "expert_costs_paid"]


def test_a_second_request_after_the_expert_concluded_is_refused():
    w = World()
    w.denied()
    assessment = request(w)
    with time_machine.travel(OPENED_AT + 5 * D, tick=False):
        services.conclude_expert_assessment(assessment=assessment, by=w.agent, result="unjustified")
    with pytest.raises(ClaimError, match="already assessed this denial"):
        request(w, OPENED_AT + 6 * D)


def test_costs_only_for_an_unjustified_result_after_a_denial():
    w = World()
    with time_machine.travel(OPENED_AT + H, tick=False):
        assessment = services.start_expert_assessment(claim=w.claim, by=w.agent)
        services.conclude_expert_assessment(assessment=assessment, by=w.agent, result="unjustified")
    can = assessment_abilities(ExpertAssessment.objects.get(pk=assessment.pk), w.agent)
    assert not can["add_cost"].allowed and "Costs are charged only" in can["add_cost"].reason
    assert not can["mark_costs_paid"].allowed


def test_a_cost_entered_by_mistake_can_be_removed_before_the_list_is_sent():
    w = World()
    w.denied()
    assessment = request(w)
    with time_machine.travel(OPENED_AT + 5 * D, tick=False):
        services.conclude_expert_assessment(assessment=assessment, by=w.agent, result="unjustified")
        cost = services.add_expert_cost(assessment=assessment, by=w.agent, description="Typo", amount="999")
        services.remove_expert_cost(cost=cost, by=w.agent)
    assert not assessment.costs.exists()
    with pytest.raises(ClaimError):
        services.add_expert_cost(assessment=assessment, by=w.agent, description="Nothing", amount="0")
    assert Decimal("0") == sum((c.amount for c in assessment.costs.all()), Decimal("0"))

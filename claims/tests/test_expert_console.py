"""Expert assessments in the support console: the list with its status filters (running, costs due, costs overdue,
costs paid) at a flat number of queries, the claim linked, and every change through an action page or the list's
action that calls claims.services.experts."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import services
from claims.models import Claim, ExpertAssessment
from claims.tests.admin_factories import make_console_agent, make_finance, make_plain_staff
from claims.tests.corpus import invoice_pdf
from claims.tests.factories import OPENED_AT, claim_world

pytestmark = pytest.mark.django_db
D = dt.timedelta(days=1)
NOW = OPENED_AT + 40 * D


def denied_world():
    world = claim_world("escalated")
    with time_machine.travel(OPENED_AT + 2 * dt.timedelta(hours=1), tick=False):
        services.decide(claim=world.claim, by=world.agent, outcome="denied", denial_reason="normal_wear")
    return world


def requested(world=None) -> ExpertAssessment:
    world = world or denied_world()
    with time_machine.travel(OPENED_AT + D, tick=False):
        return services.request_expert_assessment(claim=world.claim, by=world.buyer)


def unjustified(*, sent_at: dt.datetime | None = None, paid: bool = False) -> ExpertAssessment:
    world = denied_world()
    assessment = requested(world)
    with time_machine.travel(OPENED_AT + 2 * D, tick=False):
        services.conclude_expert_assessment(assessment=assessment, by=world.agent, result="unjustified")
        services.add_expert_cost(assessment=assessment, by=world.agent, description="Expert's fee", amount="80.00")
    if sent_at:
        with time_machine.travel(sent_at, tick=False):
            services.send_expert_costs(assessment=assessment, by=world.agent)
    if paid:
        with time_machine.travel(sent_at + D, tick=False):
            services.mark_expert_costs_paid(assessment=assessment, by=world.agent)
    return ExpertAssessment.objects.get(pk=assessment.pk)


@pytest.fixture
def agent():
    return make_console_agent()


def changelist(client, query: str = "") -> str:
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("admin:claims_expertassessment_changelist") + query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_status_filters(client, agent):
    running = requested()
    due = unjustified(sent_at=NOW - 10 * D)  # due 20 days from now
    overdue = unjustified(sent_at=NOW - 31 * D)  # due yesterday
    paid = unjustified(sent_at=NOW - 40 * D, paid=True)
    client.force_login(agent)
    numbers = {a: a.claim.number for a in (running, due, overdue, paid)}
    for status, expected in (("running", running), ("costs_due", due), ("overdue", overdue), ("paid", paid)):
        page = changelist(client, f"?status={status}")
        shown = {a for a, number in numbers.items() if number in page}
        assert shown == {expected}, status
    page = changelist(client)
    assert all(number in page for number in numbers.values())
    assert reverse("admin:claims_claim_change", args=[due.claim_id]) in page  # the claim linked
    assert "€80.00" in page


def test_the_list_costs_the_same_queries_for_one_row_and_many(client, agent):
    client.force_login(agent)
    unjustified(sent_at=NOW - 5 * D)
    changelist(client)  # warm up (sessions, content types)
    with CaptureQueriesContext(connection) as one:
        changelist(client)
    for _ in range(4):
        unjustified(sent_at=NOW - 5 * D)
    requested()
    with CaptureQueriesContext(connection) as many:
        page = changelist(client)
    assert page.count("Expert's fee") == 0  # lines are not listed, only the total
    assert len(many.captured_queries) == len(one.captured_queries)


def test_finance_and_plain_staff_do_not_see_it(client):
    for person in (make_finance(), make_plain_staff()):
        client.force_login(person)
        assert client.get(reverse("admin:claims_expertassessment_changelist")).status_code == 403


def act(client, assessment: ExpertAssessment, action: str, data: dict | None = None, *, at: dt.datetime = NOW):
    url = reverse("admin:claims_expertassessment_act", kwargs={"object_id": assessment.pk, "action": action})
    with time_machine.travel(at, tick=False):
        return client.post(url, data or {})


def test_an_agent_records_the_result_with_the_report_lists_the_costs_and_sends_them(client, agent):
    assessment = requested()
    client.force_login(agent)
    change = reverse("admin:claims_expertassessment_change", args=[assessment.pk])
    page = client.get(change).content.decode()
    assert reverse("admin:claims_expertassessment_act", kwargs={"object_id": assessment.pk, "action": "conclude"}) \
        in page
    form = client.get(reverse("admin:claims_expertassessment_act",
                              kwargs={"object_id": assessment.pk, "action": "conclude"})).content.decode()
    assert 'enctype="multipart/form-data"' in form
    report = SimpleUploadedFile("report.pdf", invoice_pdf("Expert report"), content_type="application/pdf")
    response = act(client, assessment, "conclude", {"result": "unjustified", "note": "Liquid damage inside.",
                                                    "expert": "Lab Nord", "report": report}, at=NOW - 3 * D)
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert (assessment.result, assessment.expert, assessment.report.kind) == ("unjustified", "Lab Nord",
                                                                              "inspection_report")
    assert act(client, assessment, "add-cost", {"description": "Expert's fee", "amount": "80.00"}).status_code == 302
    assert act(client, assessment, "add-cost", {"description": "Transport", "amount": "-5"}).status_code == 400
    assert act(client, assessment, "send-costs").status_code == 302
    assessment.refresh_from_db()
    assert assessment.costs_due_on == (NOW + 30 * D).date()
    assert list(assessment.costs.values_list("description", flat=True)) == ["Expert's fee"]


def test_the_list_action_marks_the_costs_paid(client, agent):
    sent = unjustified(sent_at=NOW - 2 * D)
    not_sent = unjustified()
    client.force_login(agent)
    with time_machine.travel(NOW, tick=False):
        response = client.post(reverse("admin:claims_expertassessment_changelist"),
                               {"action": "mark_costs_paid", "_selected_action": [sent.pk, not_sent.pk]},
                               follow=True)
    page = response.content.decode()
    assert "The costs of 1 assessment are marked as paid." in page
    assert "The list of costs has not been sent to the buyer yet." in page
    sent.refresh_from_db()
    not_sent.refresh_from_db()
    assert sent.costs_paid_at == NOW and not_sent.costs_paid_at is None


def test_the_claim_page_starts_one_and_lists_them(client, agent):
    world = claim_world("escalated")
    client.force_login(agent)
    url = reverse("admin:claims_claim_act", kwargs={"object_id": world.claim.pk, "action": "start-expert"})
    page = client.get(reverse("admin:claims_claim_change", args=[world.claim.pk])).content.decode()
    assert url in page
    with time_machine.travel(OPENED_AT + D, tick=False):
        assert client.post(url, {"expert": "Lab Süd"}).status_code == 302
    assert Claim.objects.get(pk=world.claim.pk).expert_paused_at == OPENED_AT + D
    assessment = ExpertAssessment.objects.get(claim=world.claim)
    page = client.get(reverse("admin:claims_claim_change", args=[world.claim.pk])).content.decode()
    assert reverse("admin:claims_expertassessment_change", args=[assessment.pk]) in page and "Lab Süd" in page
    assert url not in page  # one at a time

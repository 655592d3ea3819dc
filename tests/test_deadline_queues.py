"""Every place that says what is due asks claims.deadlines, so they agree: the stored columns, "overdue" on the seller
dashboard, in the console and on the buyer's page, and the order of the seller queue, the console's claim list and
its escalated queue (overdue first, then the least time left)."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import deadlines, selectors, services
from claims.admin.claim import deadline_html
from claims.models import Claim
from claims.seller import selectors as seller_selectors
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory, make_agent

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
TICK = dt.timedelta(microseconds=1)
NOW = dt.datetime(2026, 3, 11, 9, 0, tzinfo=dt.UTC)  # a Wednesday, 10:00 in Berlin


def numbers(html: str) -> list[str]:
    """Claim numbers in the order a console page lists them."""
    return list(dict.fromkeys(re.findall(r"C-[0-9A-Z]{4}-[0-9A-Z]{4}", html)))


def seller_queue(client, **params: str) -> list[str]:
    html = client.get(reverse("sellers:queue"), params).content.decode()
    return re.findall(r'<a href="/seller/claims/([^/]+)/">', html)


def seller_with_staff():
    seller, staff = SellerFactory(), UserFactory()
    SellerMembership.objects.create(user=staff, seller=seller, role="staff")
    return seller, staff


def open_for(seller, at: dt.datetime) -> Claim:
    return open_defective_claim(at=at, order=delivered_order(seller=seller))


def sweep(moment: dt.datetime) -> dict[str, int]:
    with time_machine.travel(moment, tick=False):
        return services.enforce_deadlines()


@pytest.fixture
def urgent_queue():
    """A claim whose first reply is overdue with the breach recorded, and two claims with two days left."""
    seller, staff = seller_with_staff()
    late = open_for(seller, NOW - 49 * H)  # first reply due an hour ago
    assert sweep(NOW - H) == {"first_reply_breached": 1}
    two_days = open_for(seller, NOW - H)  # first reply due in 47 hours
    resolving = open_for(seller, dt.datetime(2026, 3, 6, 9, 0, tzinfo=dt.UTC))  # 5 business days: Friday 13th
    services.reply(claim=resolving, by=staff, body="On it")
    return seller, staff, [Claim.objects.get(pk=c.pk) for c in (late, two_days, resolving)]


def test_a_recorded_first_reply_breach_sorts_above_claims_with_two_days_left(client, urgent_queue):
    seller, staff, (late, two_days, resolving) = urgent_queue
    assert late.first_reply_breached and late.next_deadline_at > resolving.resolution_due_at  # the old sort key
    assert resolving.action_due_at == NOW + 48 * H
    client.force_login(staff)
    with time_machine.travel(NOW, tick=False):
        assert seller_queue(client) == [late.number, two_days.number, resolving.number]
        assert seller_queue(client, state="overdue") == [late.number]
        assert seller_selectors.queue_summary(seller, staff, now=NOW)["overdue"] == 1
        client.force_login(make_console_agent())
        html = client.get(reverse("admin:claims_claim_changelist")).content.decode()
        assert numbers(html) == [late.number, two_days.number, resolving.number]


def test_overdue_from_exactly_the_deadline_instant_everywhere(client):
    seller, staff = seller_with_staff()
    claim = open_for(seller, OPENED_AT)
    due = OPENED_AT + 48 * H
    assert claim.action_due_at == due
    agent = make_console_agent()
    for moment, overdue in ((due - TICK, False), (due, True)):
        with time_machine.travel(moment, tick=False):
            assert deadlines.is_overdue(claim.action_due_at, moment) is overdue
            assert Claim.objects.filter(deadlines.overdue_q(moment)).exists() is overdue
            assert seller_selectors.seller_deadline(claim, moment).overdue is overdue
            assert seller_selectors.queue_summary(seller, staff, now=moment)["overdue"] == int(overdue)
            assert selectors.buyer_deadline(claim, moment).urgent is overdue
            assert ("console-overdue" in deadline_html(claim.action_due_at, moment)) is overdue
            client.force_login(staff)
            assert seller_queue(client, state="overdue") == ([claim.number] if overdue else [])
            client.force_login(agent)
            url = reverse("admin:claims_claim_changelist")
            assert numbers(client.get(url, {"overdue": "yes"}).content.decode()) == ([claim.number] if overdue else [])
            assert numbers(client.get(url, {"overdue": "no"}).content.decode()) == ([] if overdue else [claim.number])
            # The claim's own pages say it in words from the claim's dates, never the policy's numbers.
            assert "48" not in seller_selectors.seller_deadline(claim, moment).text
            assert "48" not in selectors.buyer_deadline(claim, moment).text


def test_stored_columns_overdue_and_queue_order_agree_with_the_function():
    seller, staff = seller_with_staff()
    agent = make_agent()
    claims = [open_for(seller, OPENED_AT + n * 7 * H) for n in range(6)]
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        services.reply(claim=claims[1], by=staff, body="On it")
        services.escalate(claim=claims[2], by=agent, reason="x")
        services.escalate(claim=claims[3], by=agent, reason="x")
        services.request_info(claim=claims[3], by=agent, party="seller", question="Invoice?")
        services.escalate(claim=claims[4], by=agent, reason="x")
        services.classify_defect(claim=claims[4], by=agent, defect_type="removable")  # a repair needs it
        services.decide(claim=claims[4], by=agent, outcome="repair", funded_by="seller")
    # (the repair waits for the buyer's return: no one else's deadline, so none of its own)
    moments = sorted({c.action_due_at for c in Claim.objects.all() if c.action_due_at} | {OPENED_AT + 60 * H})
    for moment in [m + offset for m in moments for offset in (-TICK, dt.timedelta(0))]:
        sweep(moment)
        fresh = list(Claim.objects.filter(seller=seller))
        for claim in fresh:
            events = deadlines.due_events(claim)
            action = deadlines.action_due(events)
            assert claim.next_deadline_at == deadlines.next_deadline(events)
            assert claim.action_due_at == (action.at if action else None)
        # A claim with the platform is never the seller's overdue: its deadline is the platform's decision target.
        overdue = {c.number for c in fresh if deadlines.is_overdue(c.action_due_at, moment) and c.state != "escalated"}
        assert overdue == {c.number for c in fresh if seller_selectors.seller_deadline(c, moment).overdue}
        queue = seller_selectors.queue(seller, staff, now=moment)
        assert {c.number for c in seller_selectors.queue(seller, staff, state="overdue", now=moment)} == overdue
        expected = sorted((c for c in fresh if c.is_open),
                          key=lambda c: (c.action_due_at is None, c.action_due_at or moment, c.opened_at, c.pk))
        assert [c.number for c in queue] == [c.number for c in expected]
        # Overdue first, then the least time left.
        flags = [deadlines.is_overdue(c.action_due_at, moment) for c in queue]
        assert flags == sorted(flags, reverse=True)


def test_the_escalated_queue_sorts_overdue_first_and_costs_the_same_for_1_and_12_claims(client):
    agent = make_console_agent()
    url = reverse("admin:claims_claim_queue")
    client.force_login(agent)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"who": "all"}).status_code == 200
        return len(queries)

    later = claim_world("escalated").claim
    one = count()
    # Asked an hour earlier than the others were escalated: its answer is due an hour before their decision targets.
    sooner = claim_world("awaiting_info", at=OPENED_AT - H).claim
    for _ in range(10):
        claim_world("escalated")
    with time_machine.travel(sooner.info_due_at, tick=False):  # the answer is due now: overdue, not yet swept
        assert count() == one
        listed = numbers(client.get(url, {"who": "all"}).content.decode())
    assert listed[0] == sooner.number and later.number in listed and len(listed) == 12

"""The platform's decision target (issue 15, claims.decision_target): 2 business days of the claim's market from every
hand-over to the platform, at the same local clock time, paused while the platform waits for information; reminded
once, its breach recorded once and counted; what the buyer, the seller and the escalated queue read."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from claims import deadlines, decision_target, notifications, selectors, services
from claims.choices import Party
from claims.models import Claim, ClaimTransition, OutboundEmail
from claims.policy import Policy, current_policy
from claims.seller import selectors as seller_selectors
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import claim_world, delivered_order, open_defective_claim
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
TICK = dt.timedelta(microseconds=1)
BERLIN = ZoneInfo("Europe/Berlin")


def local(zone: str, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo(zone))


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


FRIDAY = berlin(2026, 6, 5, 10, 0)  # Friday 5 June 2026, 10:00 in Berlin
TUESDAY = berlin(2026, 6, 9, 10, 0)  # two business days later


def sweep(moment: dt.datetime) -> dict[str, int]:
    with time_machine.travel(moment, tick=False):
        return services.enforce_deadlines()


def fresh(claim: Claim) -> Claim:
    return Claim.objects.get(pk=claim.pk)


class World:
    """A claim opened an hour before `at` on an order delivered to `country`, escalated by an agent at `at`, with its
    people: the buyer, the seller's staff and the agent (assigned unless told otherwise)."""

    def __init__(self, at: dt.datetime, *, country: str = "DE", assign: bool = True) -> None:
        order = delivered_order(delivery_country=country)
        self.staff = UserFactory()
        SellerMembership.objects.create(user=self.staff, seller=order.seller, role="staff")
        self.agent = make_console_agent()
        self.claim = open_defective_claim(at=at - H, order=order)
        self.buyer = self.claim.buyer
        with time_machine.travel(at, tick=False):
            services.escalate(claim=self.claim, by=self.agent, reason="Seller inaction")
            if assign:
                services.assign(claim=self.claim, by=self.agent, agent=self.agent)
        self.refresh()

    def refresh(self) -> Claim:
        self.claim = fresh(self.claim)
        return self.claim

    def ask(self, at: dt.datetime, party: str = Party.BUYER) -> Claim:
        with time_machine.travel(at, tick=False):
            services.request_info(claim=self.claim, by=self.agent, party=party, question="When did it start?")
        return self.refresh()

    def answer(self, at: dt.datetime) -> Claim:
        with time_machine.travel(at, tick=False):
            services.provide_info(claim=self.claim, by=self.buyer, body="Two days after delivery.")
        return self.refresh()


def events(claim: Claim) -> dict[str, dt.datetime]:
    return {event.what: event.at for event in deadlines.due_events(claim)}


# --- the target: business days of the claim's market, the same clock time -----------------------------------------

CALENDAR = [
    # A Friday: the weekend is skipped.
    ("DE", berlin(2026, 6, 5, 10, 0), berlin(2026, 6, 9, 10, 0)),
    # Christmas Eve, a Thursday: Christmas Day and Boxing Day (Friday, Saturday) and the Sunday are skipped.
    ("DE", berlin(2026, 12, 24, 10, 0), berlin(2026, 12, 29, 10, 0)),
    # Across the change to summer time (Sunday 29 March): the same local clock time, an hour less in between.
    ("DE", berlin(2026, 3, 27, 10, 0), berlin(2026, 3, 31, 10, 0)),
    # Slovakia keeps Christmas Eve too; Germany does not (the claim's market decides, not the marketplace's home).
    ("SK", local("Europe/Bratislava", 2026, 12, 23, 10, 0), local("Europe/Bratislava", 2026, 12, 29, 10, 0)),
    ("DE", berlin(2026, 12, 23, 10, 0), berlin(2026, 12, 28, 10, 0)),
    # Portugal Day, Wednesday 10 June, in Lisbon's zone.
    ("PT", local("Europe/Lisbon", 2026, 6, 9, 10, 0), local("Europe/Lisbon", 2026, 6, 12, 10, 0)),
    ("DE", berlin(2026, 6, 9, 10, 0), berlin(2026, 6, 11, 10, 0)),
]


@pytest.mark.parametrize(("country", "escalated", "due"), CALENDAR)
def test_the_target_is_two_business_days_of_the_claims_market_at_the_same_clock_time(country, escalated, due):
    claim = World(escalated, country=country).claim
    assert claim.policy["country"] == country
    assert claim.decision_due_at == due
    assert due.astimezone(ZoneInfo(claim.policy["time_zone"])).time() == dt.time(10, 0)
    # It is the platform's deadline now, long before the 180-day refund: the queues sort by it.
    assert claim.action_due_at == due < claim.hard_deadline_at
    assert decision_target.current(claim) == due


def test_across_the_change_to_summer_time_the_target_is_an_hour_less_away():
    claim = World(berlin(2026, 3, 27, 10, 0)).claim
    assert claim.decision_due_at - claim.escalated_at == 4 * 24 * H - H


def test_the_take_over_at_the_resolution_deadline_sets_the_target():
    world = claim_world("in_progress", at=berlin(2026, 6, 1, 10, 0))
    resolution = world.claim.resolution_due_at  # Monday 8 June, 10:00
    assert sweep(resolution) == {"taken_over": 1}
    claim = world.refresh()
    assert claim.escalation_cause == "takeover" and claim.decision_due_at == berlin(2026, 6, 10, 10, 0)


def test_the_snapshot_wins_over_a_changed_setting(settings):
    opened_before = open_defective_claim(at=FRIDAY - 2 * H, order=delivered_order())
    settings.CLAIM_DECISION_BUSINESS_DAYS = 3
    opened_after = open_defective_claim(at=FRIDAY - H, order=delivered_order())
    agent = make_console_agent()
    with time_machine.travel(FRIDAY, tick=False):
        for claim in (opened_before, opened_after):
            services.escalate(claim=claim, by=agent, reason="x")
    assert fresh(opened_before).decision_due_at == TUESDAY
    assert fresh(opened_after).decision_due_at == TUESDAY + 24 * H
    # A claim opened before the setting existed has none in its snapshot: the current setting applies.
    legacy = {k: v for k, v in opened_before.policy.items() if k != "decision_business_days"}
    assert decision_target.target_from(FRIDAY, Policy.from_snapshot(legacy)) == TUESDAY + 24 * H


# --- paused while the platform waits for information; fresh after ---------------------------------------------------


def test_waiting_for_information_pauses_the_target_and_the_answer_starts_a_fresh_one():
    world = World(FRIDAY)
    claim = world.ask(berlin(2026, 6, 8, 9, 0))
    # Not due, not shown: the asked party's deadline is the one that matters now.
    assert decision_target.current(claim) is None
    assert deadlines.DECISION not in events(claim) and deadlines.DECISION_REMINDER not in events(claim)
    assert claim.action_due_at == claim.info_due_at == berlin(2026, 6, 10, 9, 0)
    assert sweep(TUESDAY) == {}  # the old target passes while the platform waits: no breach
    assert "answer by" in selectors.buyer_deadline(fresh(claim), TUESDAY).text
    claim = world.answer(berlin(2026, 6, 9, 15, 30))
    assert claim.decision_due_at == claim.action_due_at == berlin(2026, 6, 11, 15, 30)
    assert claim.decision_reminded_at is None and not claim.decision_breached


def test_information_not_given_in_time_gives_the_platform_a_fresh_target():
    world = World(FRIDAY)
    claim = world.ask(berlin(2026, 6, 8, 10, 0), party=Party.SELLER)
    assert sweep(TUESDAY) == {}
    assert sweep(claim.info_due_at) == {"info_timeout": 1}  # Wednesday 10 June, 10:00
    claim = world.refresh()
    assert claim.state == "escalated" and claim.decision_due_at == berlin(2026, 6, 12, 10, 0)
    assert claim.action_due_at == claim.decision_due_at


def test_a_reopened_claim_gets_a_target_and_a_decided_one_none_that_is_due():
    world = claim_world("resolved", at=berlin(2026, 6, 1, 10, 0))
    claim = world.claim
    assert claim.decision_due_at == berlin(2026, 6, 3, 11, 0)  # kept as the last target it had
    assert decision_target.current(claim) is None and deadlines.DECISION not in events(claim)
    assert sweep(berlin(2026, 6, 4, 0, 0)) == {}
    with time_machine.travel(FRIDAY, tick=False):
        services.reopen(claim=claim, by=world.agent, reason="The refund never arrived.")
    claim = world.refresh()
    assert claim.decision_due_at == claim.action_due_at == TUESDAY


def test_a_payment_provider_dispute_has_no_target():
    agent = make_console_agent()
    with time_machine.travel(FRIDAY, tick=False):
        claim = services.record_provider_dispute(order=delivered_order(), by=agent, reference="pp-1",
                                                 description="Chargeback: not as described")
    claim = fresh(claim)
    assert claim.state == "escalated" and claim.decision_due_at is None
    assert decision_target.current(claim) is None
    assert deadlines.DECISION not in events(claim) and deadlines.DECISION_REMINDER not in events(claim)
    assert selectors.decision_words(claim) is None


# --- the sweep: the reminder once, the breach once --------------------------------------------------------------------


def test_the_assignee_is_reminded_once_a_day_before():
    world = World(FRIDAY)
    reminder = berlin(2026, 6, 8, 10, 0)
    assert world.claim.next_deadline_at == reminder
    assert sweep(reminder - TICK) == {}
    assert sweep(reminder) == {"decision_reminder": 1}
    assert sweep(reminder) == {}
    claim = world.refresh()
    assert claim.decision_reminded_at == reminder and claim.next_deadline_at == TUESDAY
    emails = OutboundEmail.objects.filter(claim=claim, event="decision_reminder")
    assert [(e.to_email, e.subject) for e in emails] == [
        (world.agent.email, f"Reminder: claim {claim.number} is due for a decision")]
    row = emails.get()
    assert row.body_text == ""  # written by the sweep's batch: the worker renders it when it sends it (issue 20)
    assert notifications.deliver(row.pk) is True
    row.refresh_from_db()
    assert "Decision due by: Tue 9 Jun, 10:00 CEST." in row.body_text


def test_an_unassigned_claim_is_marked_reminded_without_an_email():
    world = World(FRIDAY, assign=False)
    assert sweep(berlin(2026, 6, 8, 10, 0)) == {"decision_reminder": 1}
    assert world.refresh().decision_reminded_at is not None
    assert not OutboundEmail.objects.filter(claim=world.claim).filter(event__startswith="decision").exists()
    assert sweep(TUESDAY) == {"decision": 1}  # the breach is recorded all the same
    assert world.refresh().decision_breached


def test_the_reminder_lead_is_never_more_than_half_the_time_the_platform_has():
    policy = current_policy()
    assert decision_target.reminder_lead(policy) == 24 * H
    one_day = Policy.from_snapshot({**policy.as_snapshot(), "decision_business_days": 1})
    assert decision_target.reminder_lead(one_day) == 12 * H
    assert decision_target.reminder_lead(Policy.from_snapshot({**policy.as_snapshot(),
                                                               "decision_business_days": 0})) is None


def test_the_breach_is_recorded_once_and_not_again_in_a_second_cycle():
    world = World(FRIDAY)
    assert sweep(TUESDAY - TICK) == {"decision_reminder": 1}
    assert sweep(TUESDAY) == {"decision": 1}
    assert sweep(TUESDAY) == {}
    assert sweep(TUESDAY + 24 * H) == {}
    claim = world.refresh()
    assert claim.decision_breached and claim.next_deadline_at == claim.hard_deadline_at
    # Still the platform's missed deadline: the queue keeps it first, as overdue.
    assert claim.action_due_at == TUESDAY and deadlines.is_overdue(claim.action_due_at, TUESDAY)
    breach = ClaimTransition.objects.get(claim=claim, name="decision_breach")
    assert (breach.created_at, breach.party, breach.from_state, breach.to_state) == (
        TUESDAY, Party.SYSTEM, "escalated", "escalated")
    assert list(OutboundEmail.objects.filter(claim=claim, event="decision_breached").values_list(
        "to_email", flat=True)) == [world.agent.email]

    # A second cycle: asked and answered, a fresh target, reminded again; its passing is not recorded again.
    world.ask(berlin(2026, 6, 10, 9, 0))
    claim = world.answer(berlin(2026, 6, 10, 12, 0))
    assert claim.decision_due_at == berlin(2026, 6, 12, 12, 0) and claim.decision_reminded_at is None
    assert sweep(berlin(2026, 6, 11, 12, 0)) == {"decision_reminder": 1}
    assert sweep(berlin(2026, 6, 12, 12, 0)) == {}
    assert ClaimTransition.objects.filter(claim=claim, name="decision_breach").count() == 1
    assert OutboundEmail.objects.filter(claim=claim, event="decision_breached").count() == 1
    assert OutboundEmail.objects.filter(claim=claim, event="decision_reminder").count() == 2  # one per target


def test_a_sweep_that_comes_only_after_the_target_sends_no_stale_reminder():
    world = World(FRIDAY)
    assert sweep(TUESDAY + H) == {"decision": 1}  # the breach says it; the reminder is moot
    assert world.refresh().decision_reminded_at == TUESDAY + H
    world.ask(berlin(2026, 6, 10, 9, 0))
    world.answer(berlin(2026, 6, 10, 12, 0))
    # The second target passes while the sweep is down: marked reminded, no email, no second breach.
    assert sweep(berlin(2026, 6, 12, 13, 0)) == {"decision_reminder": 1}
    assert not OutboundEmail.objects.filter(claim=world.claim, event="decision_reminder").exists()
    assert OutboundEmail.objects.filter(claim=world.claim, event="decision_breached").count() == 1


def test_the_breaches_are_counted_over_the_claims_decided_or_escalated_since():
    late, on_time = World(FRIDAY), World(FRIDAY)
    with time_machine.travel(TUESDAY - H, tick=False):
        services.decide(claim=on_time.claim, by=on_time.agent, outcome="refund", funded_by="seller")
    with time_machine.travel(FRIDAY, tick=False):
        services.record_provider_dispute(order=delivered_order(), by=late.agent, reference="pp-2",
                                         description="Chargeback")  # no target: not counted
    World(FRIDAY - dt.timedelta(days=40))  # escalated long before and never decided: not counted
    sweep(TUESDAY)
    assert selectors.decision_breaches(FRIDAY - H) == (1, 2)
    assert selectors.decision_breaches(TUESDAY) == (0, 0)


# --- what people read -----------------------------------------------------------------------------------------------


def test_the_escalated_queue_sorts_by_the_decision_target(client):
    # Opened in one order (their 180-day dates in that order), escalated in another.
    wednesday = World(berlin(2026, 6, 8, 9, 0))  # target Wednesday 10 June, 09:00
    wednesday_opened = wednesday.claim.opened_at
    tuesday = World(FRIDAY)  # Tuesday 9 June, 10:00
    monday = World(berlin(2026, 6, 4, 12, 0))  # Thursday: Monday 8 June, 12:00
    assert wednesday_opened > monday.claim.opened_at  # the 180-day order would be the other way round
    agent = make_console_agent()
    with time_machine.travel(berlin(2026, 6, 8, 9, 30), tick=False):
        queued = [c.number for c in selectors.platform_queue_page(selectors.platform_queues(agent)["all"])]
        expected = [monday.claim.number, tuesday.claim.number, wednesday.claim.number]
        assert queued == expected
        client.force_login(agent)
        html = client.get(reverse("admin:claims_claim_queue"), {"who": "all"}).content.decode()
    assert list(dict.fromkeys(re.findall(r"C-[0-9A-Z]{4}-[0-9A-Z]{4}", html))) == expected


def page_text(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_buyer_and_the_seller_read_when_we_will_decide_and_when_we_are_late(client):
    world = World(FRIDAY)
    claim = world.claim
    buyer_url = reverse("claims:detail", kwargs={"number": claim.number})
    seller_url = reverse("sellers:claim", kwargs={"number": claim.number})
    final = claim.hard_deadline_at.astimezone(BERLIN)
    with time_machine.travel(berlin(2026, 6, 6, 12, 0), tick=False):
        for user, url in ((world.buyer, buyer_url), (world.staff, seller_url)):
            text = page_text(client, user, url)
            assert "We will decide by Tue 9 Jun, 10:00 CEST." in text
            assert ("Our support team is handling your claim." if user == world.buyer
                    else "Our support team handles this claim.") in text
            assert "We are late" not in text
            assert f"{final:%B} {final.day}, {final.year}" not in text  # not the 180-day date as the promise
    assert selectors.buyer_deadline(claim, TUESDAY - TICK).due_at == TUESDAY
    assert seller_selectors.seller_deadline(claim, TUESDAY - TICK).due_at == TUESDAY

    # Waiting for the buyer's answer: they read the answer's deadline, not the paused target.
    world.ask(berlin(2026, 6, 8, 9, 0))
    with time_machine.travel(berlin(2026, 6, 8, 10, 0), tick=False):
        text = page_text(client, world.buyer, buyer_url)
        assert "We need information from you" in text and "We will decide by" not in text
    world.answer(berlin(2026, 6, 8, 10, 0))  # a fresh target: Wednesday 10 June, 10:00

    sweep(berlin(2026, 6, 10, 10, 0))
    with time_machine.travel(berlin(2026, 6, 10, 11, 0), tick=False):
        for user, url in ((world.buyer, buyer_url), (world.staff, seller_url)):
            text = page_text(client, user, url)
            assert ("We are late with our decision, sorry: it was due on Wed 10 Jun, 10:00 CEST. We will decide as "
                    "soon as we can.") in text
            assert "We will decide by" not in text
    late = world.refresh()
    assert selectors.buyer_deadline(late, berlin(2026, 6, 10, 11, 0)).due_at is None  # no countdown into the past
    assert seller_selectors.seller_deadline(late, berlin(2026, 6, 10, 11, 0)).due_at is None


def test_the_target_is_said_in_the_claims_market_zone(client):
    world = World(local("Europe/Lisbon", 2026, 6, 9, 10, 0), country="PT")  # 11:00 in Berlin
    with time_machine.travel(local("Europe/Lisbon", 2026, 6, 10, 10, 0), tick=False):
        text = page_text(client, world.buyer, reverse("claims:detail", kwargs={"number": world.claim.number}))
    assert "We will decide by Fri 12 Jun, 10:00 WEST." in text

"""Real races between two database connections on one claim, on PostgreSQL (row locks that really wait, and the
sweep's SKIP LOCKED). They complement claims/tests/test_concurrency.py, which races pairs of services already
(two agents refund/deny, agent decides vs buyer closes, forced refund vs close, takeover vs agent escalation,
accept vs withdraw, agent escalates vs close); the pairs here are:

- the seller's reply against the takeover sweep at the resolution deadline (legal in either order),
- the buyer's escalation against an agent's decision (legal only as escalate → decide),
- the buyer's escalation against an agent's escalation, and against the takeover sweep (exactly one wins),
- an agent's decision against another agent's request for information (exactly one wins),
- two agents pressing "Decide" in the support console at once, through the real admin view,
- the seller confirming a delivered return against the sweep at the confirmation deadline (exactly one wins).

Each race runs in three orders: the first contender gets the row and holds it while the second starts, the
reverse, and both released at once by a barrier. Whatever the order, what is legal in sequence may both
succeed, anything else has exactly one winner, the loser gets a ClaimError that says what happened, and the
transition log is one unbroken chain without a duplicate step.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import reverse

from claims import services
from claims.errors import ClaimError
from claims.models import Claim, ClaimTransition, Message, OutboundEmail, Refund
from claims.services import agents, deadlines, parties
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import ClaimWorld, claim_world
from sellers.models import LedgerEntry

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL: two connections waiting on one row lock (SQLite locks the whole "
                              "database file, so nothing here would race); run with DATABASE_URL=postgres://..."),
    pytest.mark.django_db(transaction=True),
]

HOLD_SECONDS = 1.0  # how long the contender that got the row keeps it
FOLLOW_DELAY_SECONDS = 0.05  # the other one starts this long after the row is taken, well inside the hold
ORDERS = ["first wins the row", "second wins the row", "at once"]


# --- the race machinery -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


_held = threading.local()


def _hold_after(function: Callable[..., Any], holders: set[str], holding: threading.Event) -> Callable[..., Any]:
    """Call `function` (which takes the claim's row lock) and, in a holding thread, say so and keep the lock a
    while: the first time only, so a service that locks twice in one transaction does not wait twice."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        if threading.current_thread().name in holders and not getattr(_held, "done", False):
            _held.done = True
            holding.set()
            time.sleep(HOLD_SECONDS)
        return result

    return wrapper


def race(monkeypatch: pytest.MonkeyPatch, contenders: dict[str, Callable[[], Any]], order: str) -> dict[str, Outcome]:
    """Run two callables in two threads (two connections). With `order` "first wins the row" the first one starts
    at once and holds the row it locks; the second starts once the first holds it and must wait for it (or, for
    the sweep, skip it). "second wins the row" is the reverse; "at once" releases both together, each holding
    whatever it gets."""
    names = list(contenders)
    assert len(names) == 2
    leader = {"first wins the row": names[0], "second wins the row": names[1], "at once": None}[order]
    holders = set(names) if leader is None else {leader}
    holding = threading.Event()
    for module in (agents, deadlines, parties):  # each service module locks through its own import
        monkeypatch.setattr(module, "_lock", _hold_after(module._lock, holders, holding))
    # The sweep locks each due claim itself (SKIP LOCKED), then works out what is due: hold it there.
    monkeypatch.setattr(deadlines, "_due_actions", _hold_after(deadlines._due_actions, holders, holding))

    barrier = threading.Barrier(len(names))
    outcomes = {name: Outcome() for name in names}

    def run(name: str) -> None:
        _held.done = False
        try:
            barrier.wait(timeout=10)
            if leader is not None and name != leader:
                assert holding.wait(timeout=10), "the leader never took the row"
                time.sleep(FOLLOW_DELAY_SECONDS)
            outcomes[name].value = contenders[name]()
        except BaseException as exc:  # noqa: BLE001 - judged by the test
            outcomes[name].error = exc
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(name,), name=name) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a contender hung"
    return outcomes


def log_since(claim: Claim, before: set[int]) -> list[tuple[str, str, str]]:
    return list(ClaimTransition.objects.filter(claim=claim).exclude(pk__in=before).order_by("pk")
                .values_list("name", "from_state", "to_state"))


def assert_one_chain(claim: Claim, log: list[tuple[str, str, str]], start: str) -> None:
    """Every step starts where the previous one ended, from the state before the race to the claim's state
    now, and no step is written twice."""
    claim.refresh_from_db()
    chain = [start] + [to_state for _name, _from, to_state in log]
    assert [from_state for _name, from_state, _to in log] == chain[:-1], log
    assert claim.state == chain[-1], (claim.state, log)
    doubled = [name for name, count in collections.Counter(n for n, _f, _t in log).items() if count > 1]
    assert not doubled, f"written twice: {doubled} in {log}"


def assert_clear_refusal(outcome: Outcome, claim: Claim) -> None:
    assert isinstance(outcome.error, ClaimError), repr(outcome.error)
    assert outcome.error.code in ("state", "conflict"), outcome.error.code
    text = str(outcome.error)
    assert claim.number in text
    assert "not possible now" in text or "Someone else changed" in text, text


def snapshot() -> set[int]:
    return set(ClaimTransition.objects.values_list("pk", flat=True))


# --- the seller's reply against the takeover sweep -----------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
def test_the_sellers_reply_racing_the_takeover_sweep(monkeypatch, order):
    """Both are legal in sequence: a reply does not resolve the claim, so the platform still takes over at the
    resolution deadline. Reply first: the sweep skips the locked claim (SKIP LOCKED) and the next sweep takes
    over, so the log reads reply → take_over. Sweep first: the claim is with the platform, and the seller's
    answer is kept as a message on the thread (no transition)."""
    world = claim_world("awaiting_seller")
    claim = world.claim
    with time_machine.travel(claim.first_reply_due_at + dt.timedelta(minutes=1), tick=False):
        assert "first_reply_breached" in services.enforce_deadlines()  # recorded before the race
    before = snapshot()
    takeover_at = claim.resolution_due_at + dt.timedelta(minutes=1)
    body = "We are sorry: a replacement leaves today."

    with time_machine.travel(takeover_at, tick=False):
        outcomes = race(monkeypatch, {
            "seller replies": lambda: services.reply(claim=Claim.objects.get(pk=claim.pk), by=world.staff,
                                                     body=body),
            "sweep": services.enforce_deadlines,
        }, order)
        catch_up = services.enforce_deadlines()  # the next tick of beat

    assert all(o.ok for o in outcomes.values()), {k: repr(o.error) for k, o in outcomes.items()}
    log = log_since(claim, before)
    assert_one_chain(claim, log, "awaiting_seller")
    names = [name for name, _f, _t in log]
    assert names in (["reply", "take_over"], ["take_over"]), log
    assert claim.state == "escalated" and claim.escalation_cause == "takeover"
    assert Message.objects.filter(claim=claim, body=body, party="seller").count() == 1
    swept = outcomes["sweep"].value
    if order == "first wins the row":  # the reply held the row: the racing sweep left it to the next one
        assert names == ["reply", "take_over"]
        assert swept == {} and catch_up == {"taken_over": 1}
    elif order == "second wins the row":
        assert names == ["take_over"]
        assert swept == {"taken_over": 1} and catch_up == {}
    else:
        assert (swept.get("taken_over", 0) + catch_up.get("taken_over", 0)) == 1, (swept, catch_up)
    # The takeover was announced once to each party, whoever ran it.
    recipients = {world.buyer.email, world.staff.email}
    assert sorted(OutboundEmail.objects.filter(claim=claim, event="takeover").values_list("to_email", flat=True)) \
        == sorted(recipients)


# --- the buyer's escalation against an agent ---------------------------------------------------------------


def in_progress_past_first_reply() -> tuple[ClaimWorld, dt.datetime]:
    """A claim the seller answered but did not resolve, 48 hours on: the buyer may now escalate."""
    world = claim_world("in_progress")
    return world, world.claim.first_reply_due_at + dt.timedelta(hours=1)


@pytest.mark.parametrize("order", ORDERS)
def test_the_buyers_escalation_racing_an_agents_decision(monkeypatch, order):
    """Legal only as escalate → decide. If the agent's decision reaches the row first it is refused (the claim
    is still with the seller) and the escalation goes through; otherwise both succeed, in that order."""
    world, at = in_progress_past_first_reply()
    claim, agent = world.claim, make_console_agent()
    before = snapshot()
    with time_machine.travel(at, tick=False):
        outcomes = race(monkeypatch, {
            "buyer escalates": lambda: services.escalate(claim=Claim.objects.get(pk=claim.pk), by=world.buyer,
                                                         reason="Nothing happens"),
            "agent decides": lambda: services.decide(claim=Claim.objects.get(pk=claim.pk), by=agent,
                                                     outcome="refund", funded_by="seller"),
        }, order)

    assert outcomes["buyer escalates"].ok, repr(outcomes["buyer escalates"].error)
    log = log_since(claim, before)
    assert_one_chain(claim, log, "in_progress")
    if outcomes["agent decides"].ok:
        assert [n for n, _f, _t in log] == ["escalate", "decide"]
        assert (claim.state, claim.outcome, claim.escalation_cause) == ("resolved", "refund", "buyer")
        assert Refund.objects.filter(claim=claim).count() == 1
    else:
        assert_clear_refusal(outcomes["agent decides"], claim)
        assert [n for n, _f, _t in log] == ["escalate"]
        assert claim.state == "escalated" and not Refund.objects.filter(claim=claim).exists()
    if order == "first wins the row":
        assert outcomes["agent decides"].ok
    elif order == "second wins the row":
        assert not outcomes["agent decides"].ok


@pytest.mark.parametrize("order", ORDERS)
def test_the_buyer_and_an_agent_escalating_at_once(monkeypatch, order):
    world, at = in_progress_past_first_reply()
    claim, agent = world.claim, make_console_agent()
    before = snapshot()
    with time_machine.travel(at, tick=False):
        outcomes = race(monkeypatch, {
            "buyer escalates": lambda: services.escalate(claim=Claim.objects.get(pk=claim.pk), by=world.buyer),
            "agent escalates": lambda: services.escalate(claim=Claim.objects.get(pk=claim.pk), by=agent,
                                                         reason="Seller inaction"),
        }, order)

    winners = [name for name, o in outcomes.items() if o.ok]
    assert len(winners) == 1, {k: repr(o.error) for k, o in outcomes.items()}
    loser = next(name for name in outcomes if name not in winners)
    assert_clear_refusal(outcomes[loser], claim)
    log = log_since(claim, before)
    assert_one_chain(claim, log, "in_progress")
    assert [n for n, _f, _t in log] == ["escalate"]
    assert claim.escalation_cause == ("buyer" if winners == ["buyer escalates"] else "agent")
    if order != "at once":
        assert winners == [list(outcomes)[0 if order == "first wins the row" else 1]]
    assert OutboundEmail.objects.filter(claim=claim, event="escalated").count() == 2  # buyer and seller, once


@pytest.mark.parametrize("order", ORDERS)
def test_the_buyers_escalation_racing_the_takeover_sweep(monkeypatch, order):
    """Both move the claim to the platform: exactly one does. A sweep that finds the claim locked skips it, and
    the next sweep finds nothing left to do."""
    world, _at = in_progress_past_first_reply()
    claim = world.claim
    before = snapshot()
    with time_machine.travel(claim.resolution_due_at + dt.timedelta(minutes=1), tick=False):
        outcomes = race(monkeypatch, {
            "buyer escalates": lambda: services.escalate(claim=Claim.objects.get(pk=claim.pk), by=world.buyer),
            "sweep": services.enforce_deadlines,
        }, order)
        catch_up = services.enforce_deadlines()

    assert outcomes["sweep"].ok, repr(outcomes["sweep"].error)  # the sweep never fails over one claim
    log = log_since(claim, before)
    assert_one_chain(claim, log, "in_progress")
    names = [n for n, _f, _t in log]
    assert claim.state == "escalated" and len(names) == 1 and names[0] in ("escalate", "take_over"), log
    if names == ["escalate"]:
        assert outcomes["buyer escalates"].ok and claim.escalation_cause == "buyer"
        assert outcomes["sweep"].value.get("taken_over", 0) == 0 and catch_up.get("taken_over", 0) == 0
    else:
        assert_clear_refusal(outcomes["buyer escalates"], claim)
        assert claim.escalation_cause == "takeover"
    if order == "first wins the row":
        assert names == ["escalate"]
    elif order == "second wins the row":
        assert names == ["take_over"]


# --- two agents -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
def test_an_agents_decision_racing_another_agents_request_for_information(monkeypatch, order):
    world = claim_world("escalated")
    claim, first, second = world.claim, make_console_agent(), make_console_agent()
    before = snapshot()
    outcomes = race(monkeypatch, {
        "agent decides": lambda: services.decide(claim=Claim.objects.get(pk=claim.pk), by=first, outcome="denied",
                                                 denial_reason="as_described"),
        "agent asks": lambda: services.request_info(claim=Claim.objects.get(pk=claim.pk), by=second, party="buyer",
                                                    question="Can you send a photo of the serial number?"),
    }, order)

    winners = [name for name, o in outcomes.items() if o.ok]
    assert len(winners) == 1, {k: repr(o.error) for k, o in outcomes.items()}
    loser = next(name for name in outcomes if name not in winners)
    assert_clear_refusal(outcomes[loser], claim)
    log = log_since(claim, before)
    assert_one_chain(claim, log, "escalated")
    if winners == ["agent decides"]:
        assert [n for n, _f, _t in log] == ["decide"] and claim.outcome == "denied"
        assert not Message.objects.filter(claim=claim, body__startswith="Can you send").exists()
    else:
        assert [n for n, _f, _t in log] == ["request_info"] and claim.info_requested_from == "buyer"
        assert claim.outcome == ""
    if order != "at once":
        assert winners == [list(outcomes)[0 if order == "first wins the row" else 1]]


def test_two_agents_pressing_decide_in_the_console_at_once(monkeypatch):
    """Through the real admin view: both POST the same platform-funded refund. One decision, one refund, one
    ledger entry recovering it; the other agent is sent back to the claim page with an error message."""
    world = claim_world("escalated")
    claim = world.claim
    agents_by_name = {"Ada": make_console_agent(first_name="Ada"), "Bo": make_console_agent(first_name="Bo")}
    clients = {}
    for name, agent in agents_by_name.items():
        clients[name] = Client()
        clients[name].force_login(agent)
    url = reverse("admin:claims_claim_act", kwargs={"object_id": claim.pk, "action": "decide"})
    data = {"outcome": "refund", "funded_by": "platform", "amount": "", "recover_from_seller": "on", "note": ""}
    before = snapshot()

    def press(name: str) -> tuple[int, str, list[tuple[str, str]]]:
        response = clients[name].post(url, data)
        return response.status_code, response.get("Location", ""), [
            (m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]

    outcomes = race(monkeypatch, {name: (lambda name=name: press(name)) for name in agents_by_name}, "at once")

    assert all(o.ok for o in outcomes.values()), {k: repr(o.error) for k, o in outcomes.items()}
    change_url = reverse("admin:claims_claim_change", args=[claim.pk])
    for status, location, _messages in (o.value for o in outcomes.values()):
        assert (status, location) == (302, change_url)
    log = log_since(claim, before)
    assert_one_chain(claim, log, "escalated")
    assert [n for n, _f, _t in log] == ["decide"]
    winner = ClaimTransition.objects.get(claim=claim, name="decide").actor.first_name
    said = {name: o.value[2] for name, o in outcomes.items()}
    assert [level for level, _text in said[winner]] == ["success"], said
    loser = next(name for name in said if name != winner)
    assert [level for level, _text in said[loser]] == ["error"], said  # told, and nothing written for them
    assert claim.state == "resolved" and claim.funded_by == "platform"
    refunds = list(Refund.objects.filter(claim=claim))
    assert len(refunds) == 1 and refunds[0].amount == claim.claimed_value() > Decimal("0")
    assert list(LedgerEntry.objects.filter(claim=claim).values_list("kind", "amount")) == [
        ("refund_recovery", refunds[0].amount)]


def test_the_agent_who_loses_a_refund_race_is_told_the_claim_was_decided(monkeypatch):
    world = claim_world("escalated")
    claim, first, second = world.claim, make_console_agent(), make_console_agent()
    outcomes = race(monkeypatch, {
        "first refunds": lambda: services.decide(claim=Claim.objects.get(pk=claim.pk), by=first, outcome="refund",
                                                 funded_by="platform"),
        "second refunds": lambda: services.decide(claim=Claim.objects.get(pk=claim.pk), by=second, outcome="refund",
                                                  funded_by="platform"),
    }, "first wins the row")
    assert outcomes["first refunds"].ok
    assert Refund.objects.filter(claim=claim).count() == 1  # the money is right either way
    assert_clear_refusal(outcomes["second refunds"], claim)


# --- the seller confirming a delivered return against the sweep at its deadline (claims.returns) -------------------


@pytest.mark.parametrize("order", ORDERS)
def test_the_seller_confirming_a_return_racing_the_sweep_at_the_confirmation_deadline(monkeypatch, order):
    """Exactly one resolves the claim: the seller's confirmation (the refund is the seller's, nothing on the ledger)
    or the sweep (the platform refunds and recovers it from the seller). The refund is paid once either way, and the
    loser is told or left nothing to do."""
    from claims.tests.test_transitions import CONFIRM_DUE, SCENES

    scene = SCENES["return for refund delivered"]()
    claim, staff = scene.claim, scene.world.staff
    before = snapshot()
    with time_machine.travel(claim.opened_at + CONFIRM_DUE, tick=False):
        assert claim.return_confirm_due_at == claim.opened_at + CONFIRM_DUE
        outcomes = race(monkeypatch, {
            "seller confirms": lambda: services.receive_return(claim=Claim.objects.get(pk=claim.pk), by=staff,
                                                               inspection_result="as_expected"),
            "sweep": services.enforce_deadlines,
        }, order)
        catch_up = services.enforce_deadlines()

    log = log_since(claim, before)
    assert_one_chain(claim, log, "awaiting_return")
    names = [name for name, _f, _t in log]
    assert names in (["receive_return"], ["refund_unconfirmed_return"]), log
    refunds = list(Refund.objects.filter(claim=claim).values_list("funded_by", flat=True))
    ledger = list(LedgerEntry.objects.filter(claim=claim).values_list("kind", flat=True))
    if names == ["receive_return"]:
        assert outcomes["seller confirms"].ok and refunds == ["seller"] and ledger == []
        assert outcomes["sweep"].value == {} and catch_up == {}
    else:
        assert_clear_refusal(outcomes["seller confirms"], claim)
        assert refunds == ["platform"] and ledger == ["refund_recovery"]
    if order == "first wins the row":
        assert names == ["receive_return"]
    elif order == "second wins the row":
        assert names == ["refund_unconfirmed_return"]

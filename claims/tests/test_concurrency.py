"""Two transitions on one claim at the same time: exactly one wins, the other gets a clear error, and
nothing is written twice (SPEC section 3: "safe against a concurrent transition on the same claim").

The first tests run on every database: a stale model instance, and a service that read the claim before
the winner committed. The threaded tests need PostgreSQL, where two connections really wait on one row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.db import connection, transaction
from django_fsm import ConcurrentTransition

from claims import services
from claims.errors import ClaimError
from claims.models import Claim, ClaimTransition, Offer, Refund
from claims.tests.factories import OPENED_AT, ClaimWorld, claim_world
from sellers.tests.factories import make_agent

AT = OPENED_AT + dt.timedelta(hours=2)


@dataclasses.dataclass
class Scene:
    world: ClaimWorld
    second_agent: Any
    offer: Offer | None = None

    @property
    def claim(self) -> Claim:
        return self.world.claim


def build_scene(state: str, offer_kind: str = "") -> Scene:
    s = Scene(claim_world(state), second_agent=make_agent())
    if offer_kind:
        with time_machine.travel(OPENED_AT + dt.timedelta(hours=1, minutes=30), tick=False):
            s.offer = services.make_offer(claim=s.claim, by=s.world.staff, kind=offer_kind)
    s.world.refresh()
    return s


def everything() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every claims, orders and sellers table."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values_list(
            "pk", *[f.attname for f in model._meta.concrete_fields]))
        for app in ("claims", "orders", "sellers")
        for model in apps.get_app_config(app).get_models()
    }


# --- (a) a stale instance never overwrites a transition --------------------------------------------------


MODEL_RACES = [
    pytest.param("awaiting_seller", lambda c: c.escalate(cause="agent", at=AT), lambda c: c.close(at=AT),
                 id="an escalation saved first beats a stale close"),
    pytest.param("awaiting_seller", lambda c: c.take_over(cause="takeover", at=AT),
                 lambda c: c.escalate(cause="agent", at=AT),
                 id="a takeover saved first beats a stale escalation to the same state"),
    pytest.param("escalated",
                 lambda c: c.decide(outcome="refund", funded_by="seller", amount=Decimal("199.00"), denial_reason="",
                                    note="", needs_return=False, at=AT),
                 lambda c: c.decide(outcome="denied", funded_by="", amount=None, denial_reason="as_described",
                                    note="", needs_return=False, at=AT),
                 id="the first decision saved beats a stale second decision"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("state", "first", "second"), MODEL_RACES)
def test_a_stale_instance_cannot_save_over_a_transition(state: str, first: Callable, second: Callable) -> None:
    pk = claim_world(state).claim.pk
    theirs = Claim.objects.get(pk=pk)
    mine = Claim.objects.get(pk=pk)

    first(theirs)
    theirs.save()
    second(mine)  # fires: this instance still believes the claim is in `state`
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        mine.save()

    stored = Claim.objects.get(pk=pk)
    assert (stored.state, stored.outcome, stored.escalation_cause) == (
        theirs.state, theirs.outcome, theirs.escalation_cause)


# --- services racing, on every database -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Contender:
    label: str
    call: Callable[[Scene], object]
    log: str  # the transition it logs when it wins ("" when it moves no state)
    state: str  # the claim's state when it wins
    refunds: int = 0  # Refund rows it writes when it wins

    def __str__(self) -> str:
        return self.label


AGENT_ESCALATES = Contender("the agent escalates", lambda s: services.escalate(claim=s.claim, by=s.world.agent),
                            "escalate", "escalated")
BUYER_CLOSES = Contender("the buyer closes", lambda s: services.close(claim=s.claim, by=s.world.buyer),
                         "close", "resolved")
SYSTEM_TAKES_OVER = Contender("the system takes over", lambda s: services.take_over(claim=s.claim),
                              "take_over", "escalated")
AGENT_REFUNDS = Contender(
    "an agent decides a refund",
    lambda s: services.decide(claim=s.claim, by=s.world.agent, outcome="refund", funded_by="seller"),
    "decide", "resolved", refunds=1)
SECOND_AGENT_DENIES = Contender(
    "another agent denies",
    lambda s: services.decide(claim=s.claim, by=s.second_agent, outcome="denied", denial_reason="as_described"),
    "decide", "resolved")
SYSTEM_FORCES_REFUND = Contender("the final deadline forces a refund", lambda s: services.force_refund(claim=s.claim),
                                 "force_refund", "resolved", refunds=1)
BUYER_ACCEPTS = Contender("the buyer accepts the offer",
                          lambda s: services.accept_offer(offer=s.offer, by=s.world.buyer),
                          "accept_offer", "resolved", refunds=1)
STAFF_WITHDRAWS = Contender("the seller withdraws the offer",
                            lambda s: services.withdraw_offer(offer=s.offer, by=s.world.staff), "", "in_progress")

# Pairs where each move makes the other impossible, so exactly one may ever succeed.
SERVICE_RACES = [
    pytest.param("awaiting_seller", BUYER_CLOSES, AGENT_ESCALATES, id="buyer closes, then agent escalates"),
    pytest.param("awaiting_seller", SYSTEM_TAKES_OVER, AGENT_ESCALATES, id="takeover, then agent escalates"),
    pytest.param("escalated", AGENT_REFUNDS, SECOND_AGENT_DENIES, id="one agent refunds, then another denies"),
    pytest.param("escalated", AGENT_REFUNDS, BUYER_CLOSES, id="an agent refunds, then the buyer closes"),
    pytest.param("escalated", SYSTEM_FORCES_REFUND, SECOND_AGENT_DENIES, id="forced refund, then an agent denies"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("loser_read", "code"), [
    pytest.param("before", "conflict", id="the loser read the claim before the winner committed"),
    pytest.param("after", "state", id="the loser read the claim after the winner committed"),
])
@pytest.mark.parametrize(("state", "winner", "loser"), SERVICE_RACES)
def test_two_services_racing_give_one_winner(state: str, winner: Contender, loser: Contender, loser_read: str,
                                             code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    s = build_scene(state)
    log_before = set(ClaimTransition.objects.values_list("pk", flat=True))
    stale = Claim.objects.select_related("seller", "order").get(pk=s.claim.pk)

    with time_machine.travel(AT, tick=False):
        winner.call(s)
        after_winner = everything()
        if loser_read == "before":
            # What a database without row locks would hand the loser: the claim as it was before the winner.
            from claims.services import agents, deadlines, parties

            for module in (agents, deadlines, parties):  # each service module locks through its own import
                monkeypatch.setattr(module, "_lock", lambda claim: stale)
        with pytest.raises(ClaimError) as refusal:
            loser.call(s)

    assert refusal.value.code == code, str(refusal.value)
    assert everything() == after_winner  # the loser left no trace: no log row, refund, ledger entry or email
    claim = s.world.refresh()
    assert claim.state == winner.state
    assert list(ClaimTransition.objects.exclude(pk__in=log_before).values_list("claim", "name")) == [
        (claim.pk, winner.log)]
    assert claim.refunds.count() == winner.refunds


# --- (b) a real race between two connections, on PostgreSQL ---------------------------------------------


@dataclasses.dataclass(frozen=True)
class Race:
    state: str
    first: Contender
    second: Contender
    # Exclusive: each move makes the other impossible, so exactly one succeeds. Otherwise the later one may
    # still be allowed after the earlier (the buyer may close an escalated claim), and both succeed in turn.
    exclusive: bool = True
    offer_kind: str = ""


THREAD_RACES = [
    pytest.param(Race("escalated", AGENT_REFUNDS, SECOND_AGENT_DENIES), id="two agents decide at once"),
    pytest.param(Race("escalated", AGENT_REFUNDS, BUYER_CLOSES), id="an agent decides while the buyer closes"),
    pytest.param(Race("awaiting_seller", SYSTEM_FORCES_REFUND, BUYER_CLOSES),
                 id="the final deadline fires while the buyer closes"),
    pytest.param(Race("awaiting_seller", SYSTEM_TAKES_OVER, AGENT_ESCALATES), id="takeover while an agent escalates"),
    pytest.param(Race("in_progress", BUYER_ACCEPTS, STAFF_WITHDRAWS, offer_kind="full_refund"),
                 id="the buyer accepts while the seller withdraws the offer"),
    pytest.param(Race("awaiting_seller", AGENT_ESCALATES, BUYER_CLOSES, exclusive=False),
                 id="an agent escalates while the buyer closes"),
]
HOLD_LOCK_SECONDS = 0.3


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: two connections waiting on one row")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("race", THREAD_RACES)
def test_two_threads_racing_on_postgresql_never_overwrite(race: Race, monkeypatch: pytest.MonkeyPatch) -> None:
    s = build_scene(race.state, race.offer_kind)
    log_before = set(ClaimTransition.objects.values_list("pk", flat=True))

    take_lock = services._lock

    def lock_and_hold(claim: Claim | int) -> Claim:
        # Whoever gets the row first keeps it a moment, so the other one is surely waiting on it.
        locked = take_lock(claim)
        time.sleep(HOLD_LOCK_SECONDS)
        return locked

    from claims.services import agents, deadlines, parties

    for module in (agents, deadlines, parties):  # each service module locks through its own import
        monkeypatch.setattr(module, "_lock", lock_and_hold)
    barrier = threading.Barrier(2)
    results: dict[str, Exception | None] = {}

    def contend(contender: Contender) -> None:
        try:
            barrier.wait(timeout=10)
            contender.call(s)
            results[contender.label] = None
        except Exception as exc:  # judged by the main thread below
            results[contender.label] = exc
        finally:
            connection.close()  # this thread's own connection

    contenders = (race.first, race.second)
    threads = [threading.Thread(target=contend, args=(c,)) for c in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)

    winners = [c for c in contenders if results[c.label] is None]
    losers = [c for c in contenders if c not in winners]
    assert len(winners) == 1 if race.exclusive else len(winners) >= 1, results
    for loser in losers:
        error = results[loser.label]
        assert isinstance(error, ClaimError), repr(error)
        assert error.code in ("state", "conflict"), str(error)

    # The log is one unbroken chain from the starting state to the final one: no step lost, none doubled.
    claim = s.world.refresh()
    log = list(ClaimTransition.objects.exclude(pk__in=log_before).order_by("pk")
               .values_list("claim", "name", "from_state", "to_state"))
    assert sorted(name for _claim, name, _from, _to in log) == sorted(w.log for w in winners if w.log)
    assert {claim_id for claim_id, *_rest in log} <= {claim.pk}
    chain = [race.state] + [to_state for *_rest, to_state in log]
    assert [from_state for _c, _n, from_state, _t in log] == chain[:-1]
    assert claim.state == chain[-1]
    if race.exclusive:
        assert claim.state == winners[0].state
    assert claim.refunds.count() == sum(w.refunds for w in winners) == Refund.objects.count()
    if s.offer is not None:
        s.offer.refresh_from_db()
        assert s.offer.status == ("accepted" if BUYER_ACCEPTS in winners else "withdrawn")

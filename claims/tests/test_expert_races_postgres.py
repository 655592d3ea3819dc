"""Expert assessments raced on PostgreSQL (two connections waiting on the claim's row lock): the buyer asking twice
at once gets one assessment, and two agents recording a result at once record one; the loser is told why."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.db import connection

from claims import services
from claims.errors import ClaimError
from claims.models import ClaimTransition, ExpertAssessment
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import OPENED_AT, claim_world

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL: two connections waiting on one row lock"),
    pytest.mark.django_db(transaction=True),
]
NOW = OPENED_AT + dt.timedelta(days=3)


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at once; each result is the value or the exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            with time_machine.travel(NOW, tick=False):
                barrier.wait()
                results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - the race's loser is part of the result
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def denied_world():
    world = claim_world("escalated")
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
        services.decide(claim=world.claim, by=world.agent, outcome="denied", denial_reason="normal_wear")
    return world


def test_the_buyer_asking_twice_at_once_gets_one_assessment():
    world = denied_world()
    results = race(*[lambda: services.request_expert_assessment(claim=world.claim, by=world.buyer)] * 2)
    won = [r for r in results if isinstance(r, ExpertAssessment)]
    lost = [r for r in results if isinstance(r, ClaimError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "under way" in str(lost[0])
    assert ExpertAssessment.objects.filter(claim=world.claim).count() == 1
    assert ClaimTransition.objects.filter(claim=world.claim, name="request_expert_assessment").count() == 1


def test_two_agents_recording_a_result_at_once_record_one():
    world = denied_world()
    with time_machine.travel(NOW, tick=False):
        assessment = services.request_expert_assessment(claim=world.claim, by=world.buyer)
    other = make_console_agent()
    results = race(
        lambda: services.conclude_expert_assessment(assessment=assessment, by=world.agent, result="justified"),
        lambda: services.conclude_expert_assessment(assessment=assessment, by=other, result="unjustified"),
    )
    lost = [r for r in results if isinstance(r, ClaimError)]
    assert len(lost) == 1 and "already concluded" in str(lost[0]), results
    assessment.refresh_from_db()
    assert ClaimTransition.objects.filter(claim=world.claim, name="conclude_expert_assessment").count() == 1
    reopened = ClaimTransition.objects.filter(claim=world.claim, name="reopen").count()
    assert reopened == (1 if assessment.result == "justified" else 0)

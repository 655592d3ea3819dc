"""claims.abilities as one table: for each scene (a claim driven through the services), what each kind of person may
do. Then, for every person and every action, the service agrees: it accepts what the ability allows and refuses
what it does not, with the same code; and every transition's answer is django-fsm-2's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from claims import services
from claims.abilities import ACTIONS, TRANSITIONS, abilities
from claims.errors import ClaimError
from claims.models import Claim, Offer
from claims.tests.admin_factories import make_finance
from claims.tests.factories import OPENED_AT, photo
from claims.tests.test_transitions import SCENES, Scene

pytestmark = pytest.mark.django_db

THREAD = {"message", "upload_evidence"}
# The seller's staff and agents confirm the claimed goods reached the seller on an open claim opened on the platform
# (the warranty-claim clock), never about an item that did not arrive.
GOODS = {"confirm_goods_received"}
# The seller's staff while the claim is with them, an agent once the platform has it: a defective claim's defect.
CLASSIFY = {"classify_defect"}
WITH_SELLER = (THREAD | {"close"}, THREAD | {"make_offer", "reject"} | GOODS | CLASSIFY,
               THREAD | {"escalate", "assign"} | GOODS)
WITH_PLATFORM = (THREAD | {"close"}, THREAD | GOODS,
                 THREAD | {"make_offer", "request_info", "decide", "assign"} | GOODS | CLASSIFY)
# The buyer sends the item back and enters its tracking (claims.returns); an agent records a delivery once it is sent.
RETURNING = (THREAD | {"close", "add_return_tracking"}, THREAD | {"receive_return"} | GOODS,
             THREAD | {"receive_return", "assign"} | GOODS)
# An expert assesses a warranty claim's defect: the seller's staff while the claim is with them, an agent while it is
# open (nothing runs to conclude, and no scene is a denied warranty claim the buyer could ask an expert about).
EXPERT = {"start_expert_assessment"}
WITH_SELLER = (WITH_SELLER[0], WITH_SELLER[1] | EXPERT, WITH_SELLER[2] | EXPERT)
WITH_PLATFORM = (WITH_PLATFORM[0], WITH_PLATFORM[1], WITH_PLATFORM[2] | EXPERT)
RETURNING = (RETURNING[0], RETURNING[1], RETURNING[2] | EXPERT)
OFFER_ANSWERS = {"accept_offer", "decline_offer"}
COUNTER_ANSWERS = {"accept_counter_offer", "decline_counter_offer"}
H = dt.timedelta(hours=1)

# scene, hours after opening, then what the buyer, the seller's staff and the agent may do. Anyone else (another
# buyer, another seller's staff, finance, an anonymous visitor) may do nothing anywhere.
TABLE: list[tuple[str, int, set[str], set[str], set[str]]] = [
    ("awaiting_seller", 2, *WITH_SELLER),
    ("awaiting_seller", 48, WITH_SELLER[0] | {"escalate"}, *WITH_SELLER[1:]),
    ("in_progress", 2, *WITH_SELLER),
    ("in_progress", 72, WITH_SELLER[0] | {"escalate"}, *WITH_SELLER[1:]),
    ("rejected", 2, WITH_SELLER[0] | {"escalate"}, *WITH_SELLER[1:]),
    ("offer partial_refund", 2, WITH_SELLER[0] | OFFER_ANSWERS | {"counter_offer"}, WITH_SELLER[1] | {"withdraw_offer"},
     WITH_SELLER[2] | {"withdraw_offer"}),
    # once the seller has made an offer, the buyer may counter it, or make a counter-offer after declining it
    ("declined offer", 2, WITH_SELLER[0] | {"counter_offer"}, *WITH_SELLER[1:]),
    # the seller answers the buyer's counter-offer before offering again (agents may withdraw any offer)
    ("counter-offer", 2, WITH_SELLER[0], WITH_SELLER[1] - {"make_offer"} | COUNTER_ANSWERS,
     WITH_SELLER[2] | {"withdraw_offer"}),
    ("not_received, delivered", 2, WITH_SELLER[0], WITH_SELLER[1] - GOODS - CLASSIFY - EXPERT | {"add_tracking"},
     WITH_SELLER[2] - GOODS - EXPERT),
    ("escalated", 2, *WITH_PLATFORM),
    ("platform offer", 2, WITH_PLATFORM[0] | OFFER_ANSWERS, WITH_PLATFORM[1], WITH_PLATFORM[2] | {"withdraw_offer"}),
    ("awaiting_info from buyer", 2, THREAD | {"close", "provide_info"}, THREAD | GOODS,
     THREAD | {"make_offer", "provide_info", "assign"} | GOODS | CLASSIFY | EXPERT),
    ("awaiting_info from seller", 2, THREAD | {"close"}, THREAD | {"provide_info"} | GOODS,
     THREAD | {"make_offer", "provide_info", "assign"} | GOODS | CLASSIFY | EXPERT),
    # an agent decided: the buyer and the seller's staff may appeal it (claims.appeals)
    ("awaiting_return", 2, RETURNING[0] | {"appeal"}, RETURNING[1] | {"appeal"}, RETURNING[2]),
    ("return_for_refund accepted", 2, *RETURNING),
    ("resolved", 2, {"appeal"}, {"appeal"}, THREAD | {"reopen", "assign"}),
    ("seller suspended", 2, WITH_PLATFORM[0], set(), WITH_PLATFORM[2]),
    ("provider dispute", 2, WITH_PLATFORM[0], THREAD,
     THREAD | {"make_offer", "request_info", "record_provider_verdict", "assign"}),
]
OUTSIDERS = ("other_buyer", "other_staff", "finance", "anonymous")


def people(s: Scene) -> dict[str, Any]:
    w = s.world
    return {"buyer": w.buyer, "staff": w.staff, "agent": w.agent, "other_buyer": w.other_buyer,
            "other_staff": w.other_staff, "finance": make_finance(), "anonymous": AnonymousUser()}


# Each action done through its service with input that is fine, so only the ability's questions can refuse it.
Do = Callable[[Claim, Any, Offer | None], object]
DO: dict[str, Do] = {
    "message": lambda c, by, o: services.post_message(claim=c, by=by, body="Any news?"),
    "upload_evidence": lambda c, by, o: services.post_message(claim=c, by=by, body="See the photo.",
                                                             attachments=[photo()]),
    "accept_offer": lambda c, by, o: services.accept_offer(offer=o, by=by),
    "decline_offer": lambda c, by, o: services.decline_offer(offer=o, by=by),
    "make_offer": lambda c, by, o: services.make_offer(claim=c, by=by, kind="replacement"),
    "withdraw_offer": lambda c, by, o: services.withdraw_offer(offer=o, by=by),
    # the buyer counters the pending offer they see (none after declining one)
    "counter_offer": lambda c, by, o: services.counter_offer(claim=c, by=by, kind="replacement",
                                                             countered=c.offers.filter(status="pending").first()),
    "accept_counter_offer": lambda c, by, o: services.accept_counter_offer(offer=o, by=by),
    "decline_counter_offer": lambda c, by, o: services.decline_counter_offer(offer=o, by=by),
    "add_tracking": lambda c, by, o: services.add_tracking(claim=c, by=by, evidence=[photo()]),
    "assign": lambda c, by, o: services.assign(claim=c, by=by, agent=None),
    "escalate": lambda c, by, o: services.escalate(claim=c, by=by),
    "close": lambda c, by, o: services.close(claim=c, by=by),
    "reject": lambda c, by, o: services.reject(claim=c, by=by, code="as_described", body="As listed.",
                                               evidence=[photo()]),
    "provide_info": lambda c, by, o: services.provide_info(claim=c, by=by, body="It began on day two."),
    "receive_return": lambda c, by, o: services.receive_return(claim=c, by=by, inspection_result="as_expected"),
    "request_info": lambda c, by, o: services.request_info(claim=c, by=by, party="buyer", question="When?"),
    "decide": lambda c, by, o: services.decide(claim=c, by=by, outcome="denied", denial_reason="as_described"),
    "record_provider_verdict": lambda c, by, o: services.record_provider_verdict(claim=c, by=by, buyer_won=False),
    "reopen": lambda c, by, o: services.reopen(claim=c, by=by, reason="New evidence."),
    "confirm_goods_received": lambda c, by, o: services.confirm_goods_received(claim=c, by=by),
    "record_collection": lambda c, by, o: services.record_collection(claim=c, by=by),
    "exercise_warranty_rights": lambda c, by, o: services.exercise_warranty_rights(claim=c, by=by, choice="refund"),
    "classify_defect": lambda c, by, o: services.classify_defect(claim=c, by=by, defect_type="removable"),
    "start_expert_assessment": lambda c, by, o: services.start_expert_assessment(claim=c, by=by),
    "conclude_expert_assessment": lambda c, by, o: services.conclude_running_expert_assessment(
        claim=c, by=by, result="justified"),
    "request_expert_assessment": lambda c, by, o: services.request_expert_assessment(claim=c, by=by),
    "appeal": lambda c, by, o: services.appeal(claim=c, by=by, reason="The decision missed the photos."),
    "add_return_tracking": lambda c, by, o: services.add_return_tracking(claim=c, by=by, carrier="DHL",
                                                                         tracking_number="JJD42"),
    "mark_return_delivered": lambda c, by, o: services.mark_return_delivered(claim=c, by=by),
}
NEEDS_AN_OFFER = {"accept_offer", "decline_offer", "withdraw_offer", "accept_counter_offer", "decline_counter_offer"}


class _Undo(Exception):
    pass


def attempt(do: Callable[[], object]) -> ClaimError | None:
    """The service's answer, with whatever it did undone."""
    try:
        with transaction.atomic():
            do()
            raise _Undo
    except _Undo:
        return None
    except ClaimError as error:
        return error


def test_the_table_names_every_action() -> None:
    assert set(DO) == set(ACTIONS)


@pytest.mark.parametrize("scene, hours, buyer, staff, agent", TABLE, ids=[f"{r[0]} +{r[1]}h" for r in TABLE])
def test_who_may_do_what(scene: str, hours: int, buyer: set[str], staff: set[str], agent: set[str]) -> None:
    s = SCENES[scene]()
    claim, who = s.claim, people(s)
    expected = {"buyer": buyer, "staff": staff, "agent": agent, **{role: set() for role in OUTSIDERS}}
    offer = s.offer or claim.offers.last()
    with time_machine.travel(OPENED_AT + hours * H, tick=False):
        for role, user in who.items():
            can = abilities(claim, user)
            assert {action for action, answer in can.items() if answer.allowed} == expected[role], role
            fsm = {t.name for t in claim.get_available_user_state_transitions(user)}
            assert {v for v in TRANSITIONS if can[v].allowed} == fsm & set(TRANSITIONS), role
            for action, answer in can.items():
                assert answer.allowed or (answer.reason and answer.code in ("forbidden", "state")), (role, action)
                if action in NEEDS_AN_OFFER and offer is None:
                    continue  # nothing to call the service with
                refusal = attempt(lambda a=action, u=user: DO[a](claim, u, offer))
                assert (refusal is None) == answer.allowed, (role, action, str(refusal))
                assert refusal is None or refusal.code == answer.code, (role, action, str(refusal))


def test_the_buyer_is_told_from_when_they_may_ask_us_to_step_in() -> None:
    s = SCENES["awaiting_seller"]()
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        answer = abilities(s.claim, s.world.buyer)["escalate"]
    assert (answer.allowed, answer.opens_at) == (False, s.claim.first_reply_due_at)
    assert answer.reason.startswith("You can ask us to step in from Thu 12 Mar, 10:00 CET")  # one date format
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        assert abilities(s.claim, s.world.buyer)["close"].opens_at is None  # allowed: nothing to wait for
    escalated = SCENES["escalated"]()
    answer = abilities(escalated.claim, escalated.world.buyer)["escalate"]
    assert (answer.allowed, answer.opens_at, answer.code) == (False, None, "state")  # not a matter of time

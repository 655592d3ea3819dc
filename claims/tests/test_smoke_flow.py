import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from claims import services
from claims.models import ClaimTransition
from claims.tests.factories import OPENED_AT, claim_world

pytestmark = pytest.mark.django_db


def test_defective_claim_full_flow_through_partial_refund():
    world = claim_world("awaiting_seller")
    claim = world.claim
    assert claim.first_reply_due_at == OPENED_AT + dt.timedelta(hours=48)
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
        # a partial refund of a defect needs its type (claims.remedies); classifying is the seller's first answer
        services.classify_defect(claim=claim, by=world.staff, defect_type="irremovable")
        offer = services.make_offer(claim=claim, by=world.staff, kind="partial_refund", amount="40.00")
    claim = world.refresh()
    assert claim.state == "in_progress"
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=3), tick=False):
        services.accept_offer(offer=offer, by=world.buyer)
    claim = world.refresh()
    assert claim.state == "resolved"
    assert claim.outcome == "partial_refund"
    assert claim.refund_amount == Decimal("40.00")
    assert claim.refunds.get().funded_by == "seller"
    assert list(ClaimTransition.objects.filter(claim=claim).values_list("name", flat=True)) == [
        "open", "reply", "classify_defect", "accept_offer"]

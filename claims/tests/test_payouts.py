"""Every refund ends paid or failed, the buyer is told how and when (issue 12, part 2): the services."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail

from claims import services
from claims.choices import RefundStatus
from claims.errors import ClaimError
from claims.models import RefundEvent
from claims.selectors import refund_sentence
from claims.tests.factories import OPENED_AT, claim_world
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PAID_AT = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)


def finance_user():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="finance"))
    return user


@pytest.fixture
def refund(django_capture_on_commit_callbacks):
    world = claim_world("escalated", defect_type="irremovable")  # a partial refund needs the type of defect
    order = world.claim.order
    order.card_last4 = "4242"
    order.save(update_fields=["card_last4"])
    with time_machine.travel(OPENED_AT + dt.timedelta(days=1), tick=False):
        services.decide(claim=world.claim, by=world.agent, outcome="partial_refund", funded_by="seller",
                        amount="120.00")
    refund = world.refresh().refunds.get()
    mail.outbox.clear()
    return refund


def test_a_new_refund_is_pending_with_its_first_event(refund):
    assert (refund.status, refund.provider) == ("pending", "manual")
    assert list(refund.events.values_list("from_status", "to_status")) == [("", "pending")]
    assert "being paid back to card ending 4242" in refund_sentence(refund)


def test_finance_marks_a_refund_paid_and_the_buyer_is_told_how_and_when(refund, django_capture_on_commit_callbacks):
    person = finance_user()
    with time_machine.travel(PAID_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.mark_refund_paid(refund=refund, reference="re_3PXyz", by=person)
    refund.refresh_from_db()
    assert (refund.status, refund.payment_reference, refund.paid_at) == ("paid", "re_3PXyz", PAID_AT)
    assert refund.events.last().actor == person
    [email] = mail.outbox
    assert email.to == [refund.claim.buyer.email]
    assert "€120.00 sent to your original payment method, card ending 4242, on Thu 3 Dec" in email.body
    assert "5–10 business days" in email.body
    # The same confirmation again (a second click, a re-imported file) changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_refund_paid(refund=refund, reference="re_3PXyz", by=person)
    assert refund.events.count() == 2 and len(mail.outbox) == 1
    with pytest.raises(ClaimError, match="already paid with reference re_3PXyz"):
        services.mark_refund_paid(refund=refund, reference="re_other", by=person)
    with pytest.raises(ClaimError, match="cannot fail"):
        services.mark_refund_failed(refund=refund, reason="Card expired", by=person)


def test_a_failed_payout_tells_the_buyer_what_happens_next_and_can_be_retried(refund,
                                                                                django_capture_on_commit_callbacks):
    person = finance_user()
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_refund_failed(refund=refund, reason="Card expired", by=person)
    refund.refresh_from_db()
    assert (refund.status, refund.failure_reason) == ("failed", "Card expired")
    [email] = mail.outbox
    assert "We could not send €120.00 to card ending 4242 (Card expired)" in email.body
    assert "you don't need to do anything" in email.body
    services.retry_refund(refund=refund, by=person)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    with time_machine.travel(PAID_AT, tick=False):
        services.mark_refund_paid(refund=refund, reference="re_2nd", by=person)
    assert list(RefundEvent.objects.filter(refund=refund).values_list("to_status", flat=True)) == [
        "pending", "failed", "pending", "paid"]


@pytest.mark.parametrize("who", ["agent", "staff", "buyer", "plain staff"])
def test_only_finance_changes_a_refund_status(refund, who):
    world_people = {
        "agent": lambda: __import__("sellers.tests.factories", fromlist=["make_agent"]).make_agent(),
        "staff": lambda: refund.claim.seller.memberships.first().user if refund.claim.seller.memberships.exists()
        else UserFactory(),
        "buyer": lambda: refund.claim.buyer,
        "plain staff": lambda: UserFactory(is_staff=True),
    }
    person = world_people[who]()
    with pytest.raises(ClaimError, match="Only the finance team"):
        services.mark_refund_paid(refund=refund, reference="x", by=person)
    with pytest.raises(ClaimError, match="Only the finance team"):
        services.mark_refund_failed(refund=refund, reason="x", by=person)
    refund.refresh_from_db()
    assert refund.status == "pending"


def test_a_reference_is_required_and_only_failed_payouts_are_retried(refund):
    person = finance_user()
    with pytest.raises(ClaimError, match="reference"):
        services.mark_refund_paid(refund=refund, reference="  ", by=person)
    with pytest.raises(ClaimError, match="Only a failed payout"):
        services.retry_refund(refund=refund, by=person)


def test_the_claim_page_tells_the_buyer_where_the_money_is(refund, client):
    client.force_login(refund.claim.buyer)
    page = client.get(f"/claims/{refund.claim.number}/").content.decode()
    assert "€120.00 is being paid back to card ending 4242" in page
    with time_machine.travel(PAID_AT, tick=False):
        services.mark_refund_paid(refund=refund, reference="re_1", by=finance_user())
    page = client.get(f"/claims/{refund.claim.number}/").content.decode()
    assert "€120.00 sent to your original payment method, card ending 4242" in page


def test_submit_moves_a_pending_refund_once(refund):
    submitted = services.submit_refund(refund=refund)
    assert submitted.status == "submitted" and submitted.attempts == 1
    assert services.submit_refund(refund=refund) is None
    assert Decimal(submitted.amount) == Decimal("120.00")


@pytest.mark.parametrize("overrides, error", [
    ({"REFUND_PROVIDER": "paypal"}, "claims.E001"),
    ({"REFUND_PROVIDER": "webhook", "REFUND_WEBHOOK_URL": "", "REFUND_WEBHOOK_SECRET": "whsec_x"}, "claims.E002"),
    ({"REFUND_PROVIDER": "webhook", "REFUND_WEBHOOK_URL": "https://shop.example/refunds",
      "REFUND_WEBHOOK_SECRET": ""}, "claims.E002"),
    ({"REFUND_PROVIDER": "webhook", "REFUND_WEBHOOK_URL": "https://shop.example/refunds",
      "REFUND_WEBHOOK_SECRET": "whsec_x"}, None),
    ({"REFUND_PROVIDER": "manual"}, None),
])
def test_a_payout_provider_that_cannot_work_stops_the_start(settings, overrides, error):
    from claims.checks import payout_provider_check

    for name, value in overrides.items():
        setattr(settings, name, value)
    assert [e.id for e in payout_provider_check()] == ([error] if error else [])

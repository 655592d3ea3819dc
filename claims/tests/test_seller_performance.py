"""The seller's performance figures, on claims driven through the services at known moments: first replies
within 48 hours, the median first-reply time, the escalation rate, disputes lost, fines and the ledger."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from claims import services
from claims.seller import selectors
from claims.seller.views import duration_text
from claims.tests.factories import OPENED_AT, delivered_order, open_defective_claim
from sellers import services as seller_services
from sellers.models import Seller, SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory, make_agent

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
NOW = OPENED_AT + 10 * D


def at(moment, action, *args, **kwargs):
    with time_machine.travel(moment, tick=False):
        return action(*args, **kwargs)


def accept(claim, by, kind="full_refund", **kwargs):
    offer = services.make_offer(claim=claim, by=by, kind=kind, **kwargs)
    return services.accept_offer(offer=offer, by=claim.buyer)


@pytest.fixture
def scenario():
    """One seller, claims with known reply times and fates, a lost payment-provider dispute, an adjustment, and
    another seller whose claims must never count."""
    seller = SellerFactory()
    staff, agent = UserFactory(), make_agent()
    SellerMembership.objects.create(user=staff, seller=seller)

    def claim(opened_at=OPENED_AT):
        order = delivered_order(seller=seller, delivered_at=opened_at - 5 * D)
        return open_defective_claim(at=opened_at, order=order)

    old = claim(OPENED_AT - 100 * D)                       # outside the 30- and 90-day periods
    at(OPENED_AT - 100 * D + 5 * H, services.reply, claim=old, by=staff, body="Hello")      # 5 h, in time
    at(OPENED_AT - 100 * D + 6 * H, services.close, claim=old, by=old.buyer)

    c1, c2, c3, c4, c5, c6 = (claim() for _ in range(6))
    at(OPENED_AT + 1 * H, services.reply, claim=c6, by=staff, body="Looking into it")       # 1 h, in time
    at(OPENED_AT + 2 * H, services.reply, claim=c1, by=staff, body="Sorry")                 # 2 h, in time
    at(OPENED_AT + 3 * H, services.reject, claim=c6, by=staff, code="buyer_damage", body="Dropped",
       evidence=[_photo()])
    at(OPENED_AT + 4 * H, services.escalate, claim=c6, by=c6.buyer, reason="I did not drop it")
    at(OPENED_AT + 10 * H, services.close, claim=c4, by=c4.buyer)                           # never replied: not counted
    at(OPENED_AT + 30 * H, services.reply, claim=c2, by=staff, body="On it")                # 30 h, in time
    at(OPENED_AT + 49 * H, services.enforce_deadlines)                                       # c3 and c5 breached
    at(OPENED_AT + 60 * H, services.reply, claim=c3, by=staff, body="Late, sorry")          # 60 h, late
    at(OPENED_AT + 60 * H, services.classify_defect, claim=c3, by=staff, defect_type="irremovable")  # partial refund
    at(OPENED_AT + 61 * H, accept, c1, staff)
    at(OPENED_AT + 62 * H, services.close, claim=c2, by=c2.buyer)
    at(OPENED_AT + 63 * H, accept, c3, staff, kind="partial_refund", amount="20")
    at(OPENED_AT + 2 * D, services.decide, claim=c6, by=agent, outcome="refund", funded_by="seller")
    at(c5.resolution_due_at + H, services.enforce_deadlines)                                 # c5 taken over

    dispute_order = delivered_order(seller=seller)
    dispute = at(OPENED_AT + 1 * D, services.record_provider_dispute, order=dispute_order, by=agent,
                 reference="PP-1", description="Chargeback: counterfeit")
    at(OPENED_AT + 2 * D, services.record_provider_verdict, claim=dispute, by=agent, buyer_won=True)
    at(OPENED_AT + 9 * D, seller_services.add_adjustment, seller=seller, by=agent, amount=Decimal("-10.00"),
       note="Goodwill credit")

    # Another seller: a late reply, an escalation and a fine that must not leak into the figures above.
    other_seller = SellerFactory()
    other_staff = UserFactory()
    SellerMembership.objects.create(user=other_staff, seller=other_seller)
    other = open_defective_claim(at=OPENED_AT, order=delivered_order(seller=other_seller))
    at(OPENED_AT + 70 * H, services.reply, claim=other, by=other_staff, body="Late")
    at(OPENED_AT + 71 * H, services.escalate, claim=other, by=agent, reason="Harassment")
    other_dispute = at(OPENED_AT + D, services.record_provider_dispute, order=delivered_order(seller=other_seller),
                       by=agent, reference="PP-2", description="Chargeback")
    at(OPENED_AT + 2 * D, services.record_provider_verdict, claim=other_dispute, by=agent, buyer_won=True)

    assert [c.refresh_from_db() or c.state for c in (c1, c2, c3, c4, c5, c6)] == [
        "resolved", "resolved", "resolved", "resolved", "escalated", "resolved"]
    return seller, staff


def _photo():
    from claims.tests.factories import photo

    return photo()


def test_all_time_figures(scenario):
    seller, _staff = scenario
    figures = selectors.performance(seller, period="all", now=NOW)
    assert figures.claims_opened == 7  # the dispute is not a claim opened on the platform
    assert (figures.first_replies_in_time, figures.first_replies_counted) == (4, 6)  # old, c1, c2, c6 | c3, c5
    assert figures.first_reply_percent == 67
    assert figures.median_first_reply == 5 * H  # 1, 2, 5, 30, 60 hours
    assert (figures.escalated, figures.escalated_by_buyer, figures.taken_over, figures.escalated_by_agent) == (
        2, 1, 1, 0)
    assert figures.escalation_percent == 29  # 2 of 7
    assert (figures.provider_disputes, figures.provider_disputes_lost, figures.decided_for_buyer) == (1, 1, 1)
    [eur] = figures.ledger
    assert (eur.currency, eur.fines, eur.recovered, eur.adjustments) == ("EUR", Decimal("25.00"),
                                                                          Decimal("199.00"), Decimal("-10.00"))
    assert eur.balance == Decimal("214.00") == seller.ledger_balance()
    assert figures.fines == [("EUR", Decimal("25.00"))]
    assert [entry.kind for entry in figures.recent_entries] == ["adjustment", "dispute_fine", "refund_recovery"]


def test_the_last_30_days_leave_the_old_claim_out_and_take_the_even_median(scenario):
    seller, _staff = scenario
    figures = selectors.performance(seller, period="30", now=NOW)
    assert figures.since == NOW - 30 * D
    assert figures.claims_opened == 6
    assert (figures.first_replies_in_time, figures.first_replies_counted) == (3, 5)
    assert figures.median_first_reply == 16 * H  # 1, 2, 30, 60 hours: the mean of 2 and 30
    assert figures.escalated == 2 and figures.escalation_percent == 33


def test_the_last_7_days_count_only_what_happened_in_them(scenario):
    seller, _staff = scenario
    figures = selectors.performance(seller, period="7", now=NOW)
    assert figures.claims_opened == 0 and figures.first_reply_share is None and figures.median_first_reply is None
    assert figures.escalation_rate is None
    assert (figures.provider_disputes, figures.provider_disputes_lost, figures.decided_for_buyer) == (0, 0, 0)
    [eur] = figures.ledger
    assert (eur.fines, eur.recovered, eur.adjustments, eur.balance) == (
        Decimal("0.00"), Decimal("0.00"), Decimal("-10.00"), Decimal("214.00"))  # the balance is all-time
    assert figures.fines == []


def test_a_seller_without_claims():
    figures = selectors.performance(SellerFactory(), period="90", now=NOW)
    assert figures.claims_opened == 0 and figures.first_replies_counted == 0 and figures.ledger == []


def test_an_unanswered_claim_past_its_deadline_counts_as_missed_before_the_sweep_runs():
    seller = SellerFactory()
    open_defective_claim(at=OPENED_AT, order=delivered_order(seller=seller))
    assert selectors.performance(seller, period="all", now=OPENED_AT + 47 * H).first_replies_counted == 0
    figures = selectors.performance(seller, period="all", now=OPENED_AT + 49 * H)
    assert (figures.first_replies_in_time, figures.first_replies_counted) == (0, 1)


def test_the_page_shows_the_figures_for_the_period_chosen(client, scenario):
    seller, staff = scenario
    client.force_login(staff)
    with time_machine.travel(NOW, tick=False):
        html = client.get(reverse("sellers:performance"), {"period": "all"}).content.decode()
        assert "67 %" in html and "4 of 6" in html and "5 h 0 min" in html and "29 %" in html
        assert "214.00" in html and "25.00" in html and "Goodwill credit" in html
        assert '<option value="all" selected>' in html
        html = client.get(reverse("sellers:performance"), {"period": "30"}).content.decode()
        assert "16 h 0 min" in html and "3 of 5" in html
        # An unknown period falls back to the default one, never an error.
        assert client.get(reverse("sellers:performance"), {"period": "1000"}).status_code == 200


def test_duration_words():
    assert duration_text(None) == ""
    assert duration_text(dt.timedelta(minutes=12, seconds=40)) == "12 min"
    assert duration_text(dt.timedelta(hours=5, minutes=20)) == "5 h 20 min"
    assert duration_text(dt.timedelta(days=2, hours=4, minutes=59)) == "2 d 4 h"


def test_on_the_demo_data_the_lost_paypal_dispute_and_its_fine_show():
    call_command("seed_demo", stdout=io.StringIO())
    phonecycle = Seller.objects.get(slug="phonecycle-hamburg")
    figures = selectors.performance(phonecycle, period="all")
    assert figures.provider_disputes == figures.provider_disputes_lost == 1
    assert figures.fines == [("EUR", Decimal("25.00"))]
    assert sum(row.balance for row in figures.ledger) == phonecycle.ledger_balance()
    techhaven = Seller.objects.get(slug="techhaven-berlin")
    figures = selectors.performance(techhaven, period="all")
    # DEMO-1002 waits past its 48 hours and DEMO-1015 was never answered: both missed.
    assert figures.first_replies_counted - figures.first_replies_in_time >= 2
    assert figures.taken_over >= 1

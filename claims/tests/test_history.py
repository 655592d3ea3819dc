"""The console claim page's history panel (claims.history, claims/admin/history.py): the buyer's claims and refunds in
the last 12 months and the seller's record, with the time windows' edges, in a fixed number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from claims import services
from claims.admin.history import history_context
from claims.history import buyer_history, seller_record
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import delivered_order, open_defective_claim
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory, make_agent

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 6, 1, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def claim_at(at, *, buyer=None, seller=None, refund=False, **order_kwargs):
    """A defective claim opened at `at` (the goods delivered five days before); with `refund` the platform decides a
    full refund an hour later."""
    order = delivered_order(delivered_at=at - 5 * D, buyer=buyer, seller=seller, placed_at=at - 8 * D,
                            **order_kwargs)
    claim = open_defective_claim(at=at, order=order)
    if refund:
        agent = make_agent()
        with time_machine.travel(at + H, tick=False):
            services.escalate(claim=claim, by=agent, reason="Seller inaction")
            services.decide(claim=claim, by=agent, outcome="refund", funded_by="seller")
    return claim


def sweep(moment):
    with time_machine.travel(moment, tick=False):
        return services.enforce_deadlines()


# --- the buyer ----------------------------------------------------------------------------------------------------


def test_the_buyers_claims_of_the_last_12_months_newest_first_with_refunds_per_currency():
    buyer = UserFactory()
    too_old = claim_at(NOW - dt.timedelta(days=365) - dt.timedelta(seconds=1), buyer=buyer, refund=True)
    on_the_edge = claim_at(NOW - dt.timedelta(days=365), buyer=buyer)  # 12 months before NOW to the second
    refunded = claim_at(NOW - dt.timedelta(days=200), buyer=buyer, refund=True)
    in_zloty = claim_at(NOW - dt.timedelta(days=100), buyer=buyer, refund=True, currency="PLN")
    claim_at(NOW - dt.timedelta(days=50), refund=True)  # another buyer's
    this = claim_at(NOW - 2 * D, buyer=buyer)

    with time_machine.travel(NOW, tick=False):
        history = buyer_history(this)

    assert history.since == NOW - dt.timedelta(days=365)  # 2026-06-01 09:00: twelve months, not a leap year
    assert [c.number for c in history.claims] == [in_zloty.number, refunded.number, on_the_edge.number]
    assert too_old.number not in {c.number for c in history.claims} and history.count == 3 and history.more == 0
    listed = {c.number: c for c in history.claims}
    assert (listed[refunded.number].refunded, listed[refunded.number].currency) == (Decimal("199.00"), "EUR")
    assert (listed[in_zloty.number].refunded, listed[in_zloty.number].currency) == (Decimal("199.00"), "PLN")
    assert listed[on_the_edge.number].refunded == Decimal("0.00")
    assert (listed[refunded.number].status_label, listed[on_the_edge.number].status_label) == (
        "Refund", "Waiting for the seller")
    assert listed[refunded.number].reason_label == "Defective (warranty)"
    assert history.refunded == [("EUR", Decimal("199.00")), ("PLN", Decimal("199.00"))]


def test_at_most_ten_are_listed_and_the_count_covers_all():
    buyer = UserFactory()
    for index in range(12):
        claim_at(NOW - dt.timedelta(days=30 + index), buyer=buyer, refund=index < 3)
    this = claim_at(NOW - D, buyer=buyer)
    with time_machine.travel(NOW, tick=False):
        history = buyer_history(this)
    assert (len(history.claims), history.count, history.more) == (10, 12, 2)
    assert history.refunded == [("EUR", Decimal("597.00"))]


def test_the_queries_do_not_grow_with_the_buyers_claims():
    def queries_for(earlier: int) -> tuple[int, int]:
        buyer = UserFactory()
        for index in range(earlier):
            claim_at(NOW - dt.timedelta(days=10 + index), buyer=buyer, refund=index % 3 == 0)
        this = claim_at(NOW - D, buyer=buyer)
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
            history = history_context(this)["history"]
        assert history["buyer"].count == earlier
        return len(queries.captured_queries), history["buyer"].count

    two, _count = queries_for(2)
    thirty, _count = queries_for(30)
    assert two == thirty == 5  # the buyer's list and totals; the seller's open claims, first replies, disputes


# --- the seller ---------------------------------------------------------------------------------------------------


def test_the_sellers_open_claims_first_reply_breaches_and_lost_disputes():
    seller = SellerFactory()
    agent = make_agent()
    # First replies: claims opened in the last 90 days whose 48-hour deadline has passed.
    long_ago = claim_at(NOW - 100 * D, seller=seller)
    sweep(NOW - 100 * D + 48 * H)  # breached, but opened before the window
    answered = claim_at(NOW - 20 * D, seller=seller)
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=seller, role="staff")
    with time_machine.travel(NOW - 20 * D + H, tick=False):
        services.reply(claim=answered, by=staff, body="We will look at it.")
    breached = claim_at(NOW - 10 * D, seller=seller)
    sweep(NOW - 10 * D + 48 * H)
    claim_at(NOW - 3 * D, seller=seller, refund=True)  # decided for the buyer before its deadline: not breached
    claim_at(NOW - H, seller=seller)  # its deadline has not passed yet
    elsewhere = claim_at(NOW - 5 * D)  # another seller's breach
    sweep(NOW - 5 * D + 48 * H)
    for claim in (long_ago, breached, elsewhere):
        claim.refresh_from_db()
        assert claim.first_reply_breached

    # Payment-provider disputes the buyer won in the last 12 months.
    def dispute(opened, *, buyer_won, of=seller):
        order = delivered_order(seller=of, delivered_at=opened - 5 * D, placed_at=opened - 8 * D)
        with time_machine.travel(opened, tick=False):
            claim = services.record_provider_dispute(order=order, by=agent, reference=f"PP-{order.number}",
                                                     description="Chargeback")
        with time_machine.travel(opened + 2 * D, tick=False):
            services.record_provider_verdict(claim=claim, by=agent, buyer_won=buyer_won)
        return claim

    dispute(NOW - 30 * D, buyer_won=True)
    dispute(NOW - 60 * D, buyer_won=False)
    dispute(NOW - 400 * D, buyer_won=True)  # resolved more than 12 months ago
    dispute(NOW - 30 * D, buyer_won=True, of=SellerFactory())

    with time_machine.travel(NOW, tick=False):
        record = seller_record(seller)
    open_now = seller.claims.filter(resolved_at__isnull=True).count()
    assert record.open_claims == open_now == 4  # long ago, answered, breached (escalated or not), the newest
    assert (record.first_reply_due, record.first_reply_breached, record.breach_percent) == (3, 1, 33)
    assert record.first_reply_since == NOW - 90 * D
    # counted by the fines of the ledger; the claims say the same
    assert record.disputes_lost == 1 == seller.claims.filter(channel="payment_provider", outcome="refund",
                                                              resolved_at__gte=NOW - dt.timedelta(days=365)).count()
    assert record.disputes_since == NOW - dt.timedelta(days=365)


def test_a_seller_without_deadlines_passed_has_no_rate():
    seller = SellerFactory()
    claim_at(NOW - H, seller=seller)
    with time_machine.travel(NOW, tick=False):
        record = seller_record(seller)
    assert (record.open_claims, record.first_reply_due, record.breach_percent, record.disputes_lost) == (1, 0, None, 0)


def test_the_platforms_own_shop_is_fined_nothing_so_its_lost_disputes_are_not_counted():
    shop = SellerFactory(is_platform=True)
    this = claim_at(NOW - H, seller=shop)
    with time_machine.travel(NOW, tick=False):
        assert seller_record(shop).disputes_lost is None
        html = render_to_string("admin/claims/claim/_history.html", history_context(this))
    assert "not fined (the platform's own shop)" in html


# --- the panel ----------------------------------------------------------------------------------------------------


def test_the_panel_links_the_buyers_claims():
    buyer = UserFactory()
    earlier = claim_at(NOW - 40 * D, buyer=buyer, refund=True)
    this = claim_at(NOW - D, buyer=buyer)
    with time_machine.travel(NOW, tick=False), timezone.override("UTC"):
        html = render_to_string("admin/claims/claim/_history.html", history_context(this))
    assert 'aria-labelledby="console-history-heading"' in html
    assert f'<a href="{reverse("admin:claims_claim_change", args=[earlier.pk])}">{earlier.number}</a>' in html
    assert '<time datetime="2027-04-22T09:00:00+00:00">Thu 22 Apr</time>' in html
    assert "1 other claim in the last 12 months; refunded: €199.00." in html
    assert "Defective (warranty) · Refund" in html and "€199.00 refunded" in html
    assert "<dt>Open claims</dt>" in html
    assert "First reply missed (claims opened in the last 90 days)" in html
    assert "Payment-provider disputes lost in the last 12 months" in html


def test_the_claim_page_shows_the_panel(client):
    this = claim_at(NOW - D)
    with time_machine.travel(NOW, tick=False):
        client.force_login(make_console_agent())
        response = client.get(reverse("admin:claims_claim_change", args=[this.pk]))
    assert response.status_code == 200
    assert response.context["history"]["buyer"].count == 0
    assert 'id="console-history-heading"' in response.content.decode()


def test_the_panel_renders_nothing_without_its_context():
    assert render_to_string("admin/claims/claim/_history.html", {}).strip() == ""


def test_the_claim_page_keeps_the_sellers_record_for_a_minute(settings):
    """The seller's counts are read once per CONSOLE_SELLER_RECORD_CACHE_SECONDS for all of its claims' pages; the
    buyer's history is read every time."""
    settings.CONSOLE_SELLER_RECORD_CACHE_SECONDS = 60
    seller = SellerFactory()
    first = claim_at(NOW - D, seller=seller)
    second = claim_at(NOW - D, seller=seller)

    def read(claim):  # type: ignore[no-untyped-def]
        with CaptureQueriesContext(connection) as queries:
            history = history_context(claim)["history"]
        return history, len(queries.captured_queries)

    with time_machine.travel(NOW, tick=False):
        history, counted = read(first)
        assert history["seller"].open_claims == 2 and counted == 5
        claim_at(NOW - D, seller=seller)  # a third claim: not in the kept record yet
        history, kept = read(second)
        assert history["seller"].open_claims == 2 and kept == 2  # the buyer's list and totals only
    with time_machine.travel(NOW + dt.timedelta(seconds=61), tick=False):
        history, counted_again = read(second)
    assert history["seller"].open_claims == 3 and counted_again == 5
    settings.CONSOLE_SELLER_RECORD_CACHE_SECONDS = 0
    with time_machine.travel(NOW + dt.timedelta(seconds=62), tick=False):
        assert read(second)[1] == 5

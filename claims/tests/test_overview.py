"""The console overview (claims.overview, drawn by claims.templatetags.charts on the admin's home page): the numbers of
the last 30 days on a small world with the clock controlled (days end at midnight in Berlin, across the change of
clocks), a fixed number of queries whatever the number of claims, the brief cache, an SVG with a table of the same
numbers for each chart, and only for agents."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import overview, selectors, services
from claims.tests.admin_factories import make_console_agent, make_finance, make_superuser
from claims.tests.factories import claim_world, delivered_order, open_defective_claim

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 3, 30, 10, 0, tzinfo=UTC)  # Monday; Berlin went to summer time on Sunday the 29th
D = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _no_cache(settings):
    settings.CONSOLE_OVERVIEW_CACHE_SECONDS = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world():
    """Seven claims around the window's edges (times in UTC; Berlin is UTC+1, from the 29th 01:00 UTC+2)."""
    w = {}
    early = dt.datetime(2026, 2, 20, 12, 0, tzinfo=UTC)
    # 23:30 on 28 February in Berlin: the day before the window
    w["outside"] = open_defective_claim(at=dt.datetime(2026, 2, 28, 22, 30, tzinfo=UTC),
                                        order=delivered_order(delivered_at=early))
    # 00:30 on 1 March in Berlin: the window's first day; never answered, its first reply was due on 2 March
    w["first_day"] = open_defective_claim(at=dt.datetime(2026, 2, 28, 23, 30, tzinfo=UTC),
                                          order=delivered_order(delivered_at=early))
    # 23:30 on 9 March in Berlin, answered within the hour
    w["replied"] = claim_world("in_progress", at=dt.datetime(2026, 3, 9, 22, 30, tzinfo=UTC))
    # opened 23:30 on 9 March, decided (seller pays) at 00:30 on 10 March in Berlin
    w["resolved"] = claim_world("resolved", at=dt.datetime(2026, 3, 9, 22, 30, tzinfo=UTC))
    # opened 00:30 on 29 March (still winter time), refunded by the platform and recovered at 00:30 on 30 March
    w["platform"] = claim_world("escalated", at=dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    with time_machine.travel(dt.datetime(2026, 3, 29, 22, 30, tzinfo=UTC), tick=False):
        services.decide(claim=w["platform"].claim, by=w["platform"].agent, outcome="refund", funded_by="platform")
    # opened 00:30 on 30 March (summer time), refunded by the platform, which bears it
    w["kept"] = claim_world("escalated", at=dt.datetime(2026, 3, 29, 22, 30, tzinfo=UTC))
    with time_machine.travel(dt.datetime(2026, 3, 30, 8, 0, tzinfo=UTC), tick=False):
        services.decide(claim=w["kept"].claim, by=w["kept"].agent, outcome="refund", funded_by="platform",
                        recover_from_seller=False)
    w["asked"] = claim_world("awaiting_info", at=dt.datetime(2026, 3, 30, 6, 0, tzinfo=UTC))
    with time_machine.travel(NOW - dt.timedelta(hours=1), tick=False):
        services.record_satisfaction(claim=w["resolved"].claim, party="buyer", rating=4)
        services.record_satisfaction(claim=w["platform"].claim, party="buyer", rating=5)
        services.record_satisfaction(claim=w["platform"].claim, party="seller", rating=2)
    return w


def test_the_numbers_of_the_last_30_days(world):
    data = overview.compute(NOW)
    assert (data.first_day, data.last_day) == (dt.date(2026, 3, 1), dt.date(2026, 3, 30))
    assert len(data.days) == 30
    opened = {day.day.day: day.opened for day in data.days if day.opened}
    resolved = {day.day.day: day.resolved for day in data.days if day.resolved}
    assert opened == {1: 1, 9: 2, 29: 1, 30: 2}
    assert resolved == {10: 1, 30: 2}
    assert (data.opened, data.resolved) == (6, 3)
    assert data.open_by_state == [("awaiting_seller", 2), ("in_progress", 1), ("awaiting_return", 0),
                                  ("escalated", 0), ("awaiting_info", 1)]
    # first replies of the claims opened in the window: one answered in time, one past its deadline unanswered;
    # the claims an agent took before their deadline count neither way
    assert (data.first_reply.missed, data.first_reply.total, data.first_reply.percent) == (1, 2, Decimal("50.0"))
    [eur] = data.money
    assert (eur.currency, eur.platform_funded, eur.recovered, eur.platform_cost) == (
        "EUR", Decimal("398.00"), Decimal("199.00"), Decimal("199.00"))
    buyers, sellers = data.satisfaction
    assert (buyers.party, buyers.count, buyers.average, buyers.by_rating[4], buyers.by_rating[5]) == (
        "buyer", 2, Decimal("4.5"), 1, 1)
    assert (sellers.party, sellers.count, sellers.average, sellers.by_rating[2]) == ("seller", 1, Decimal("2.0"), 1)


def test_the_window_moves_with_the_day_in_berlin(world):
    # 22:30 UTC on the 30th is 00:30 on the 31st in Berlin: the 1st of March has left the window
    data = overview.compute(dt.datetime(2026, 3, 30, 22, 30, tzinfo=UTC))
    assert (data.first_day, data.last_day) == (dt.date(2026, 3, 2), dt.date(2026, 3, 31))
    assert data.opened == 5 and data.first_reply.total == 1


def test_the_decision_target_is_counted_where_its_rule_lives(world, monkeypatch):
    seen = []

    def decision_breaches(since):  # type: ignore[no-untyped-def]
        seen.append(since)
        return 1, 4

    monkeypatch.setattr(selectors, "decision_breaches", decision_breaches)
    data = overview.compute(NOW)
    assert seen == [dt.datetime(2026, 2, 28, 23, 0, tzinfo=UTC)]  # midnight on 1 March in Berlin
    assert (data.decision.missed, data.decision.total, data.decision.percent) == (1, 4, Decimal("25.0"))


def test_the_queries_do_not_grow_with_the_claims():
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            overview.compute(NOW)
        return len(queries)

    def add(claims: int) -> None:
        """Claims over 40 days, every fifth one closed by its buyer and rated."""
        for index in range(claims):
            at = NOW - dt.timedelta(days=index % 40, hours=1)
            claim = open_defective_claim(at=at, order=delivered_order(delivered_at=dt.datetime(2026, 2, 1,
                                                                                                tzinfo=UTC)))
            if index % 5 == 0:
                with time_machine.travel(at + dt.timedelta(minutes=30), tick=False):
                    services.close(claim=claim, by=claim.buyer)
                    services.record_satisfaction(claim=claim, party="buyer", rating=1 + (index // 5) % 5)

    add(10)
    with_ten = count()
    add(90)
    with_a_hundred = count()
    assert with_ten == with_a_hundred <= 7


def test_the_figures_are_cached_briefly(settings, world):
    settings.CONSOLE_OVERVIEW_CACHE_SECONDS = 120
    with time_machine.travel(NOW, tick=False):
        first = overview.overview()
        with CaptureQueriesContext(connection) as queries:
            again = overview.overview()
        assert len(queries) == 0 and again == first
    with time_machine.travel(NOW + D, tick=False):  # a new day: a new window at once, whatever the cache holds
        assert overview.overview().last_day == dt.date(2026, 3, 31)


# --- the page ------------------------------------------------------------------------------------------------------


def chart(page: str, chart_id: str) -> str:
    match = re.search(rf'<section class="overview-chart" aria-labelledby="{chart_id}-heading">(.*?)</section>', page,
                      re.S)
    assert match, chart_id
    return match.group(1)


def test_the_console_home_shows_each_chart_with_its_numbers(client, world):
    client.force_login(make_console_agent())
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="console-overview"' in page and 'id="console-start"' in page
    assert "css/overview.css" in page and "<script" not in page.split('id="console-overview"')[1].split("</section>")[0]
    for chart_id in ("chart-days", "chart-states", "chart-targets", "chart-money", "chart-satisfaction"):
        part = chart(page, chart_id)
        svg = re.search(r"<svg[^>]*>", part).group(0)
        assert 'role="img"' in svg and f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in svg
        assert f'<title id="{chart_id}-title">' in part and f'<desc id="{chart_id}-desc">' in part
        assert "<table>" in part and f'<caption id="{chart_id}-caption">' in part and '<th scope="col"' in part

    states = chart(page, "chart-states")
    drawn = re.findall(r'font-weight="bold">([^<]+)</text>', states)
    listed = re.findall(r'<th scope="row"><a href="[^"]+">[^<]+</a></th><td class="numeric">([^<]+)</td>', states)
    assert drawn == listed == ["2", "1", "0", "0", "1"]
    assert "4 open claims: Waiting for the seller 2" in states

    days = chart(page, "chart-days")
    assert "<details" in days and "Show the numbers" in days
    assert re.search(r"Mon 30 Mar</th><td class=\"numeric\">2</td><td class=\"numeric\">2</td>", days)
    assert re.search(r"Sun 1 Mar</th><td class=\"numeric\">1</td><td class=\"numeric\">0</td>", days)
    assert "6 claims opened and 3 resolved" in days
    assert 'stroke-dasharray="7 4"' in days  # the second line is dashed, not only another colour

    targets = chart(page, "chart-targets")
    assert "First reply by the seller: 1 of 2 missed (50.0 %)." in targets
    assert re.search(r"First reply by the seller</th><td class=\"numeric\">1</td><td class=\"numeric\">2</td>"
                     r"<td class=\"numeric\">50.0 %</td>", targets)

    money = chart(page, "chart-money")
    assert drawn_texts(money) == ["€398.00", "€199.00"]
    assert re.search(r"EUR</th><td class=\"numeric\">€398.00</td><td class=\"numeric\">€199.00</td>"
                     r"<td class=\"numeric\">€199.00</td>", money)
    assert 'fill="url(#chart-money-fill-1)"' in money  # recovered: hatched

    satisfaction = chart(page, "chart-satisfaction")
    assert "Buyers: 2 answers, average 4.5 of 5. Sellers: 1 answer, average 2.0 of 5." in satisfaction
    assert reverse("admin:claims_satisfactionresponse_changelist") in satisfaction


def drawn_texts(part: str) -> list[str]:
    return re.findall(r'font-weight="bold">([^<]+)</text>', part)


def test_an_empty_console_draws_no_empty_charts(client):
    client.force_login(make_superuser())
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("admin:index")).content.decode()
    assert "The platform funded no refund in the last 30 days." in page
    assert "No answers to the satisfaction survey in the last 30 days." in page
    assert "0 open claims" in page


def test_the_overview_is_for_agents_not_for_the_finance_team(client, world):
    client.force_login(make_finance())
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("admin:index")).content.decode()
    assert 'id="console-payouts"' in page
    assert 'id="console-overview"' not in page and "chart-svg" not in page and "overview.css" not in page

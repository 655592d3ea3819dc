"""The console's claim list stays cheap at a million claims: no DISTINCT over the table for the date drill-down,
no COUNT(*) of the whole table for the page numbers."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims.admin import paginator as paginator_module
from claims.admin.paginator import EstimatedCountPaginator
from claims.models import Claim
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import delivered_order, open_defective_claim

pytestmark = pytest.mark.django_db


@pytest.fixture
def claims_over_two_years():
    first = open_defective_claim(at=dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC))
    second = open_defective_claim(order=delivered_order(delivered_at=dt.datetime(2027, 1, 20, tzinfo=dt.UTC)),
                                  at=dt.datetime(2027, 2, 1, 9, tzinfo=dt.UTC), discovered_on=dt.date(2027, 1, 30))
    return first, second


def changelist(client, query=""):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:claims_claim_changelist") + query)
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in queries]


def test_the_date_drill_down_reads_first_and_last_dates_only(client, claims_over_two_years):
    client.force_login(make_console_agent())
    html, sql = changelist(client)
    assert "opened_at__year=2026" in html and "opened_at__year=2027" in html
    assert not any("DISTINCT" in statement and "opened_at" in statement for statement in sql)
    html, _sql = changelist(client, "?opened_at__year=2026")
    assert "opened_at__month=3" in html and "opened_at__month=12" not in html  # from its first to its last month
    html, _sql = changelist(client, "?opened_at__year=2026&opened_at__month=3")
    assert "opened_at__day=31" in html


def test_unfiltered_counts_are_estimated_on_large_postgresql_tables(claims_over_two_years, monkeypatch):
    queryset = Claim.objects.all()
    if connection.vendor != "postgresql":
        assert EstimatedCountPaginator(queryset, 50).count == 2  # exact elsewhere
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE claims_claim")
    monkeypatch.setattr(paginator_module, "ESTIMATE_ABOVE", -1)
    with CaptureQueriesContext(connection) as queries:
        estimate = EstimatedCountPaginator(queryset, 50).count
    assert estimate >= 0 and not any("COUNT(" in q["sql"] for q in queries)
    assert EstimatedCountPaginator(queryset.filter(state="awaiting_seller"), 50).count == 2  # filtered: exact

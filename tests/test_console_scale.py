"""The console's claim list stays cheap at a million claims: no DISTINCT over the table for the date drill-down,
no COUNT(*) of the whole table for the page numbers, no query per row or per seller, and rows and filters written
in one pass that are still exactly what Django's admin writes (claims/admin/rows.py, claims/admin/filters.py)."""

import datetime as dt

import pytest
import time_machine
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import services
from claims.admin import paginator as paginator_module
from claims.admin import rows
from claims.admin.filters import SellerFilter
from claims.admin.paginator import EstimatedCountPaginator
from claims.models import Claim
from claims.tests.admin_factories import make_console_agent, page_queries
from claims.tests.factories import claim_world, delivered_order, open_defective_claim
from sellers.tests.factories import UserFactory

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


def test_the_date_drill_down_of_a_filtered_list_reads_the_dates_of_all_claims(client, claims_over_two_years):
    """MIN/MAX under a filter walk the date index until a row passes it (seconds for a state whose claims are all
    recent, at a million claims): the span comes from the chosen period alone, its empty periods show empty lists."""
    first, second = claims_over_two_years
    client.force_login(make_console_agent())
    html, sql = changelist(client, f"?seller__id__exact={first.seller_id}")
    spans = [statement for statement in sql if "MIN(" in statement and "opened_at" in statement]
    assert spans and all("seller_id" not in statement for statement in spans), spans
    assert "opened_at__year=2026" in html and "opened_at__year=2027" in html
    html, sql = changelist(client, f"?seller__id__exact={first.seller_id}&opened_at__year=2027")
    spans = [statement for statement in sql if "MIN(" in statement and "opened_at" in statement]
    assert all("seller_id" not in statement for statement in spans), spans
    assert "opened_at__month=2" in html and "opened_at__month=3" not in html  # 2027's claims: February only


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


# --- the list's cost per row (claims/admin/rows.py, claims/admin/filters.py) ------------------------------------


@pytest.fixture
def varied_claims():
    """Claims whose rows differ in every column: assigned or not, overdue or not, with the platform, resolved (no
    deadline), of other reasons and sellers, with a buyer whose name asks for escaping."""
    agent = make_console_agent(first_name="Julia", last_name="<Neumann>")
    claims = [open_defective_claim(at=dt.datetime(2026, 3, 10, 9, minute, tzinfo=dt.UTC)) for minute in range(3)]
    services.assign(claim=claims[0], by=agent, agent=agent)
    claims.append(open_defective_claim(order=delivered_order(buyer=UserFactory(first_name="Ana & Co", last_name="")),
                                       reason="not_as_described", desired_outcome="refund"))
    claims += [claim_world("escalated").claim, claim_world("resolved").claim]
    return agent, claims


def djangos_rows(cl) -> list[str]:  # type: ignore[no-untyped-def]
    return ["".join(items_for_result(cl, result, None)) for result in cl.result_list]


@pytest.mark.parametrize("query", ["", "?o=-7.2", "?reason__exact=defective&assigned=nobody", "?q={number}"])
def test_the_rows_are_the_cells_django_writes(client, varied_claims, query):
    agent, claims = varied_claims
    client.force_login(agent)
    with time_machine.travel(dt.datetime(2026, 3, 14, 12, tzinfo=dt.UTC), tick=False):  # some deadlines passed
        response = client.get(reverse("admin:claims_claim_changelist") + query.format(number=claims[0].number))
    cl = response.context["cl"]
    assert list(cl.result_list), query
    assert rows.rows(cl) == djangos_rows(cl)
    html = response.content.decode()
    for row in rows.rows(cl):
        assert f"<tr>{row}</tr>" in html


def test_the_rows_say_overdue_and_mask_the_buyer(client, varied_claims):
    agent, claims = varied_claims
    client.force_login(agent)
    with time_machine.travel(dt.datetime(2026, 3, 14, 12, tzinfo=dt.UTC), tick=False):
        html = client.get(reverse("admin:claims_claim_changelist")).content.decode()
    assert "console-overdue" in html
    assert "Julia &lt;." in html or "Julia &lt;Neumann&gt;" in html  # the assignee, escaped
    assert "Ana &amp; Co" in html and claims[3].buyer.email not in html


@pytest.mark.parametrize("query", ["", "?state__exact=awaiting_seller", "?seller__id__exact={seller}&assigned=me"])
def test_the_seller_filter_offers_the_links_django_offers(client, varied_claims, query):
    agent, claims = varied_claims
    client.force_login(agent)
    response = client.get(reverse("admin:claims_claim_changelist") + query.format(seller=claims[1].seller_id))
    cl = response.context["cl"]
    ours = next(spec for spec in cl.filter_specs if isinstance(spec, SellerFilter))
    request = response.wsgi_request
    theirs = admin.RelatedFieldListFilter(ours.field, request, {k: list(v) for k, v in request.GET.lists()},
                                          Claim, cl.model_admin, ours.field_path)
    assert [(c["selected"], c["query_string"], str(c["display"])) for c in ours.choices(cl)] == [
        (c["selected"], c["query_string"], str(c["display"])) for c in theirs.choices(cl)]
    written = render_to_string("admin/filter.html", {"title": theirs.title, "choices": list(theirs.choices(cl)),
                                                     "spec": theirs})
    html = response.content.decode()
    assert " ".join(written.split()).replace("> <", "><") in " ".join(html.split()).replace("> <", "><")


def test_the_list_costs_the_same_queries_for_5_and_50_claims_of_as_many_sellers(client):
    agent = make_console_agent()
    client.force_login(agent)
    url = reverse("admin:claims_claim_changelist")

    def count() -> int:
        return page_queries(client, url)

    for minute in range(5):
        claim = open_defective_claim(at=dt.datetime(2026, 3, 10, 9, minute, tzinfo=dt.UTC))
        if minute % 2:
            services.assign(claim=claim, by=agent, agent=agent)
    count()  # warm what is read once per process
    with_five = count()
    for minute in range(45):
        claim = open_defective_claim(at=dt.datetime(2026, 3, 11, 9, minute, tzinfo=dt.UTC))
        if minute % 3 == 0:
            services.assign(claim=claim, by=agent, agent=agent)
    assert Claim.objects.count() == 50 and Claim.objects.values("seller").distinct().count() == 50
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    assert len(queries) == with_five
    assert html.count('class="action-select"') == 50

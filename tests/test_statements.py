"""The seller's balance and monthly statements on the dashboard: who sees them, the balance in words, months cut on
the marketplace's calendar (Europe/Berlin, across the change to summer time), opening + entries = closing, the
refunds the seller funded itself listed beside the ledger, the CSV, and query counts that do not grow with the
entries."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import services
from claims.seller import statements
from claims.tests.admin_factories import make_console_agent, make_finance
from claims.tests.factories import claim_world, delivered_order, open_defective_claim
from core.formatting import csv_text
from sellers import services as seller_services
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory, make_agent

pytestmark = pytest.mark.django_db
UTC = dt.UTC
MARCH, APRIL = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
VIEWED_AT = dt.datetime(2026, 4, 15, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(VIEWED_AT, tick=False):
        yield


def at(moment: dt.datetime):  # type: ignore[no-untyped-def]
    return time_machine.travel(moment, tick=False)


def url(name: str, month: dt.date | None = None, **query: str) -> str:
    path = reverse(f"sellers:{name}", kwargs={"month": month} if month else {})
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def staff_of(seller):  # type: ignore[no-untyped-def]
    user = UserFactory()
    SellerMembership.objects.create(user=user, seller=seller, role="staff")
    return user


def decided_refund(seller, *, funded_by: str, decided_at: dt.datetime):  # type: ignore[no-untyped-def]
    order = delivered_order(seller=seller)
    claim = open_defective_claim(at=decided_at - dt.timedelta(hours=2), order=order)
    agent = make_agent()
    with at(decided_at):
        services.escalate(claim=claim, by=agent, reason="Seller inaction")
        services.decide(claim=claim, by=agent, outcome="refund", funded_by=funded_by)
    return claim.refunds.get()


class Book:
    """A seller's ledger around March 2026, with entries on both sides of each month's edge in Berlin time."""

    def __init__(self) -> None:
        self.seller = SellerFactory()
        self.staff = staff_of(self.seller)
        agent, finance = make_console_agent(), make_finance()
        adjust = seller_services.add_adjustment
        with at(dt.datetime(2026, 2, 28, 22, 30, tzinfo=UTC)):  # 23:30 on 28 Feb in Berlin: February
            adjust(seller=self.seller, by=agent, amount=Decimal("30.00"), note="February fine")
        with at(dt.datetime(2026, 2, 28, 23, 30, tzinfo=UTC)):  # 00:30 on 1 March in Berlin: March
            self.first = adjust(seller=self.seller, by=agent, amount=Decimal("50.00"), note="Early March")
        # The platform paid a refund in the seller's place on 10 March and recovers it: +199.00.
        self.recovered = decided_refund(self.seller, funded_by="platform",
                                        decided_at=dt.datetime(2026, 3, 10, 10, 0, tzinfo=UTC))
        with at(dt.datetime(2026, 3, 31, 21, 30, tzinfo=UTC)):  # 23:30 on 31 March (summer time): March
            self.settlement = seller_services.record_settlement(seller=self.seller, by=finance, amount="20.00",
                                                                note="SEPA RF18", method="payment_received")
        with at(dt.datetime(2026, 3, 31, 22, 30, tzinfo=UTC)):  # 00:30 on 1 April in Berlin: April
            adjust(seller=self.seller, by=agent, amount=Decimal("7.00"), note="Early April")
        # Refunds the seller funded itself: paid out on 20 March and (Berlin) 1 April; one never paid.
        self.funded_march = decided_refund(self.seller, funded_by="seller",
                                           decided_at=dt.datetime(2026, 3, 18, 9, 0, tzinfo=UTC))
        self.funded_april = decided_refund(self.seller, funded_by="seller",
                                           decided_at=dt.datetime(2026, 3, 19, 9, 0, tzinfo=UTC))
        self.funded_unpaid = decided_refund(self.seller, funded_by="seller",
                                            decided_at=dt.datetime(2026, 3, 19, 10, 0, tzinfo=UTC))
        with at(dt.datetime(2026, 3, 20, 12, 0, tzinfo=UTC)):
            services.mark_refund_paid(refund=self.funded_march, reference="PAY-M", by=finance)
        with at(dt.datetime(2026, 3, 31, 22, 15, tzinfo=UTC)):
            services.mark_refund_paid(refund=self.funded_april, reference="PAY-A", by=finance)


@pytest.fixture
def book():
    return Book()


# --- the arithmetic ---------------------------------------------------------------------------------------


def test_march_in_berlin_opening_plus_entries_is_closing(book):
    march = statements.monthly_statement(book.seller, MARCH)
    assert (march.start.isoformat(), march.end.isoformat()) == ("2026-03-01T00:00:00+01:00",
                                                                "2026-04-01T00:00:00+02:00")
    assert march.last_day == dt.date(2026, 3, 31)
    [eur] = march.currencies
    assert eur.currency == "EUR" and eur.opening == Decimal("30.00")
    assert [(line.entry.kind, line.entry.amount, line.balance_after) for line in eur.lines] == [
        ("adjustment", Decimal("50.00"), Decimal("80.00")),
        ("refund_recovery", Decimal("199.00"), Decimal("279.00")),
        ("settlement", Decimal("-20.00"), Decimal("259.00")),
    ]
    assert eur.closing == eur.opening + sum(line.entry.amount for line in eur.lines) == Decimal("259.00")
    assert [r.pk for r in march.funded_refunds] == [book.funded_march.pk]
    assert [(t.currency, t.total) for t in march.funded_totals] == [("EUR", Decimal("199.00"))]
    april = statements.monthly_statement(book.seller, APRIL)
    [eur_april] = april.currencies
    assert eur_april.opening == eur.closing and eur_april.closing == Decimal("266.00")
    assert [line.entry.note for line in eur_april.lines] == ["Early April"]
    assert [r.pk for r in april.funded_refunds] == [book.funded_april.pk]
    assert eur_april.closing == book.seller.ledger_balance()
    february = statements.monthly_statement(book.seller, dt.date(2026, 2, 14))
    assert (february.currencies[0].opening, february.currencies[0].closing) == (Decimal("0.00"), Decimal("30.00"))


def test_months_with_activity_are_local_months(book):
    assert statements.activity_months(book.seller) == [APRIL, MARCH, dt.date(2026, 2, 1)]
    assert statements.activity_months(SellerFactory()) == []


def test_each_currency_has_its_own_statement(book):
    with at(dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC)):
        seller_services.add_adjustment(seller=book.seller, by=make_console_agent(), amount=Decimal("11.00"),
                                       note="Polish order", currency="PLN")
    march = statements.monthly_statement(book.seller, MARCH)
    assert [(c.currency, c.opening, c.closing) for c in march.currencies] == [
        ("EUR", Decimal("30.00"), Decimal("259.00")), ("PLN", Decimal("0.00"), Decimal("11.00"))]
    assert statements.monthly_statement(book.seller, APRIL).currencies[1].lines == []  # carried, no entries


# --- the pages --------------------------------------------------------------------------------------------


def test_the_statements_page_shows_the_balance_entries_and_months(client, book):
    client.force_login(book.staff)
    response = client.get(url("statements"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "You owe the platform €266.00." in page
    for month in ("2026-04", "2026-03", "2026-02"):
        assert f"/seller/statements/{month}/" in page and f"/seller/statements/{month}.csv" in page
    assert reverse("sellers:claim", kwargs={"number": book.recovered.claim.number}) in page
    assert "Payment received: SEPA RF18" in page and "-€20.00" in page
    assert 'aria-current="page"' in page and url("statements") in page


@pytest.mark.parametrize(("adjustments", "sentence"), [
    ([], "Nothing is owed"),
    (["10.00", "-10.00"], "Nothing is owed"),
    (["-12.50"], "The platform owes you €12.50."),
    (["12.50"], "You owe the platform €12.50."),
])
def test_the_balance_in_words(client, adjustments, sentence):
    seller = SellerFactory()
    staff = staff_of(seller)
    for amount in adjustments:
        seller_services.add_adjustment(seller=seller, by=make_console_agent(), amount=Decimal(amount), note="x")
    client.force_login(staff)
    assert sentence in client.get(url("statements")).content.decode()


def test_the_monthly_statement_page(client, book):
    client.force_login(book.staff)
    response = client.get(url("statement", MARCH))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Statement for March 2026" in page and book.seller.legal_name in page
    for text in ("€30.00", "€80.00", "€279.00", "€259.00", "Opening balance", "Closing balance",
                 "At the end of the month you owed the platform €259.00.", "Early March"):
        assert text in page, text
    assert "Early April" not in page and "February fine" not in page
    assert book.funded_march.claim.number in page and book.funded_april.claim.number not in page
    assert book.funded_unpaid.claim.number not in page
    assert url("statement_csv", MARCH) in page and "css/statement.css" in page and "js/print.js" in page
    assert url("statement", dt.date(2026, 2, 1)) in page and url("statement", APRIL) in page
    assert "<script>" not in page  # the print button is wired by a static file (strict CSP)


def test_no_statement_for_a_month_that_has_not_begun(client, book):
    client.force_login(book.staff)
    assert client.get(url("statement", APRIL)).status_code == 200
    assert client.get(url("statement", dt.date(2026, 5, 1))).status_code == 404
    assert client.get(url("statement_csv", dt.date(2026, 5, 1))).status_code == 404
    assert client.get("/seller/statements/2026-13/").status_code == 404


def test_the_statement_csv(client, book):
    client.force_login(book.staff)
    response = client.get(url("statement_csv", MARCH))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="statement-{book.seller.slug}-2026-03.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    claim, funded = book.recovered.claim, book.funded_march.claim
    assert rows == [
        ["date", "type", "description", "claim", "order", "amount", "currency", "balance"],
        ["2026-03-01", "opening_balance", "Opening balance", "", "", "", "EUR", "30.00"],
        ["2026-03-01 00:30", "adjustment", "Adjustment – Early March", "", "", "50.00", "EUR", "80.00"],
        ["2026-03-10 11:00", "refund_recovery",
         f"Refund recovered from the seller – Refund for claim {claim.number} paid by the platform",
         claim.number, claim.order.number, "199.00", "EUR", "279.00"],
        ["2026-03-31 23:30", "settlement", "Settlement – Payment received: SEPA RF18", "", "", "-20.00", "EUR",
         "259.00"],
        ["2026-03-31", "closing_balance", "Closing balance", "", "", "", "EUR", "259.00"],
        ["2026-03-20 13:00", "seller_funded_refund", "Refund you funded, paid out to the buyer", funded.number,
         funded.order.number, "199.00", "EUR", ""],
    ]


def test_a_note_that_looks_like_a_formula_stays_text_in_the_csv(client):
    seller = SellerFactory()
    staff = staff_of(seller)
    with at(dt.datetime(2026, 4, 2, 12, 0, tzinfo=UTC)):
        seller_services.add_adjustment(seller=seller, by=make_console_agent(), amount=Decimal("1.00"),
                                       note="=HYPERLINK(\"http://evil\")")
    client.force_login(staff)
    body = client.get(url("statement_csv", APRIL)).content.decode()
    assert '"Adjustment – =HYPERLINK' in body.replace('""', '"')  # the cell starts with a letter, not with "="
    assert csv_text("=1+1") == "'=1+1" and csv_text("-3") == "'-3"


# --- who sees what ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["statements", "statement", "statement_csv"])
def test_only_the_sellers_staff_see_its_statements(client, book, name):
    month = MARCH if name != "statements" else None
    path = url(name, month)
    other_seller = SellerFactory()
    other_staff = staff_of(other_seller)
    world = claim_world("in_progress")
    expected = {"staff": 200, "other_staff": 200, "buyer": 403, "agent": 403, "finance": 403}
    people = {"staff": book.staff, "other_staff": other_staff, "buyer": world.buyer, "agent": make_console_agent(),
              "finance": make_finance()}
    for role, person in people.items():
        client.force_login(person)
        response = client.get(path)
        assert response.status_code == expected[role], role
        if role == "other_staff":  # their own seller's statement, none of this seller's entries
            body = response.content.decode()
            assert book.recovered.claim.number not in body and "SEPA RF18" not in body
    client.force_login(other_staff)
    assert client.get(url(name, month, seller=book.seller.slug)).status_code == 404
    client.logout()
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_staff_of_two_sellers_choose_whose_statement(client, book):
    second = SellerFactory()
    SellerMembership.objects.create(user=book.staff, seller=second, role="owner")
    client.force_login(book.staff)
    page = client.get(url("statement", MARCH, seller=book.seller.slug)).content.decode()
    assert "SEPA RF18" in page
    page = client.get(url("statement", MARCH, seller=second.slug)).content.decode()
    assert "SEPA RF18" not in page and second.legal_name in page


def test_the_dashboard_links_the_statements(client, book):
    client.force_login(book.staff)
    for name in ("queue", "performance"):
        page = client.get(reverse(f"sellers:{name}")).content.decode()
        assert f'href="{url("statements")}?seller={book.seller.slug}"' in page, name
    page = client.get(reverse("sellers:performance"), {"period": "all"}).content.decode()
    assert "Settlements" in page and "-€20.00" in page


# --- cost -------------------------------------------------------------------------------------------------


def count_queries(client, path: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_the_entries(client):
    seller = SellerFactory()
    staff = staff_of(seller)
    agent, finance = make_console_agent(), make_finance()
    decided_refund(seller, funded_by="platform", decided_at=dt.datetime(2026, 4, 1, 10, 0, tzinfo=UTC))
    funded = decided_refund(seller, funded_by="seller", decided_at=dt.datetime(2026, 4, 1, 11, 0, tzinfo=UTC))
    services.mark_refund_paid(refund=funded, reference="PAY-0", by=finance)
    client.force_login(staff)
    pages = [url("statements"), url("statement", APRIL), url("statement_csv", APRIL)]
    before = [count_queries(client, path) for path in pages]
    for n in range(30):
        with at(dt.datetime(2026, 4, 2, 8, 0, tzinfo=UTC) + dt.timedelta(hours=n)):
            seller_services.add_adjustment(seller=seller, by=agent, amount=Decimal("1.00"), note=f"Fine {n}")
            if n % 10 == 0:
                refund = decided_refund(seller, funded_by=["seller", "platform"][n % 20 // 10],
                                        decided_at=dt.datetime(2026, 4, 2, 9, 0, tzinfo=UTC) + dt.timedelta(hours=n))
                if refund.funded_by == "seller":
                    services.mark_refund_paid(refund=refund, reference=f"PAY-{n}", by=finance)
    assert seller.ledger_entries.count() > 30
    assert [count_queries(client, path) for path in pages] == before

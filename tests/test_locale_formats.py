"""Money and dates in the reader's language on the pages (issue 19): a buyer's pages, the seller dashboard and the
console's claim page, read with the language cookie in English, German, Portuguese and Slovak, say "199,00 €" (or
"€199.00") and dates in the language's form with their zone, in sentences as in tables; a moment in summer time says
CEST, one in winter time CET; a day of another year says its year. Machine formats (CSV, the API) keep their plain
decimals."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from claims import services
from claims.models import Offer
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import claim_world
from integrations.keys import create_api_key

pytestmark = pytest.mark.django_db

# The claim is opened in summer time (CEST) on Tuesday 9 June 2026, 10:00 in Berlin; the order was placed in winter
# time (CET) on Monday 2 March 2026, 10:00 (orders.tests.factories). The pages are read in January 2027, when both
# belong to another year, and once in 2026 too.
OPENED_AT = dt.datetime(2026, 6, 9, 8, 0, tzinfo=dt.UTC)
NEXT_YEAR = dt.datetime(2027, 1, 12, 9, 0, tzinfo=dt.UTC)
SAME_YEAR = dt.datetime(2026, 6, 20, 9, 0, tzinfo=dt.UTC)
NBSP = "\xa0"

WRITTEN = {  # language: (199.00 EUR, 20.00 EUR, the claim opened, the order placed) in January 2027
    "en": ("€199.00", "€20.00", "Tue 9 Jun 2026, 10:00 CEST", "Mon 2 Mar 2026, 10:00 CET"),
    "de": ("199,00 €", "20,00 €", "Di., 9. Juni 2026, 10:00 CEST", "Mo., 2. März 2026, 10:00 CET"),
    "pt": ("199,00 €", "20,00 €", "terça, 9/06/2026, 10:00 CEST", "segunda, 2/03/2026, 10:00 CET"),
    "sk": ("199,00 €", "20,00 €", "ut 9. 6. 2026, 10:00 CEST", "po 2. 3. 2026, 10:00 CET"),
}
OLD_FORMS = ["199.00 EUR", "20.00 EUR", "199,00 EUR", "20,00 EUR"]


@pytest.fixture
def world():
    """A claim resolved by the seller's partial refund of 20.00 EUR, which the buyer accepted."""
    world = claim_world("in_progress", at=OPENED_AT, defect_type="irremovable")
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
        services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="20.00",
                            note="Sorry for the trouble.")
        services.accept_offer(offer=Offer.objects.get(claim=world.claim), by=world.buyer)
    world.refresh()
    assert world.claim.state == "resolved"
    return world


def read(client, user, url, language, *, at=NEXT_YEAR):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    with time_machine.travel(at, tick=False):
        client.force_login(user)  # a session of the day the page is read
        response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    assert f'<html lang="{language}"' in html
    return html.replace(NBSP, " ")


def assert_written(html, *present):
    for text in present:
        assert text.replace(NBSP, " ") in html, text
    for old in OLD_FORMS:
        assert old not in html, old


def test_the_buyers_pages(client, world):
    order, claim = world.claim.order, world.claim
    for language, (total, refund, opened, placed) in WRITTEN.items():
        order_page = read(client, world.buyer, reverse("orders:detail", kwargs={"number": order.number}), language)
        assert_written(order_page, total, placed, refund)  # the price, "20,00 € refunded", the day it was placed
        claim_page = read(client, world.buyer, reverse("claims:detail", kwargs={"number": claim.number}), language)
        assert_written(claim_page, refund, opened)


def test_the_resolution_sentence_is_the_languages(client, world):
    """The issue's own example: "Resolved: you are refunded …" said "593.99 EUR" in German."""
    page = read(client, world.buyer, reverse("claims:detail", kwargs={"number": world.claim.number}), "de")
    assert "Erledigt: Sie erhalten 20,00 € erstattet." in page
    english = read(client, world.buyer, reverse("claims:detail", kwargs={"number": world.claim.number}), "en")
    assert "Resolved: you are refunded €20.00." in english


def test_a_moment_of_this_year_has_no_year(client, world):
    for language, opened in [("en", "Tue 9 Jun, 10:00 CEST"), ("de", "Di., 9. Juni, 10:00 CEST"),
                             ("pt", "terça, 9/06, 10:00 CEST"), ("sk", "ut 9. 6., 10:00 CEST")]:
        page = read(client, world.buyer, reverse("claims:detail", kwargs={"number": world.claim.number}), language,
                    at=SAME_YEAR)
        assert opened in page
        assert "2026," not in page.split("<main", 1)[-1].split("</main>", 1)[0]  # no moment of 2026 says its year


def test_the_seller_dashboards_claim_page(client, world):
    for language, (total, refund, opened, _placed) in WRITTEN.items():
        page = read(client, world.staff, reverse("sellers:claim", kwargs={"number": world.claim.number}), language)
        assert_written(page, total, refund, opened)


def test_the_consoles_claim_page(client, world):
    agent = make_console_agent()
    for language, (total, refund, opened, _placed) in WRITTEN.items():
        page = read(client, agent, reverse("admin:claims_claim_change", args=[world.claim.pk]), language)
        assert_written(page, total, refund, opened)


def test_the_claims_csv_keeps_plain_decimals_and_iso_moments(client, world):
    """A spreadsheet or a script reads the export: "20.00" and ISO 8601, whatever the reader's language."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    with time_machine.travel(NEXT_YEAR, tick=False):
        client.force_login(world.staff)
        response = client.get(reverse("sellers:claims_csv"), {"from": "2026-06-01", "to": "2026-06-30"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["amount"], row["currency"], row["opened_at"]) for row in rows] == [
        ("20.00", "EUR", "2026-06-09T10:00:00+02:00")]


def test_the_api_keeps_plain_decimals(client, world):
    _key, secret = create_api_key(name="ERP", seller=world.claim.seller, scope="read")
    with time_machine.travel(NEXT_YEAR, tick=False):
        response = client.get(f"/api/v1/claims/{world.claim.number}", HTTP_AUTHORIZATION=f"Bearer {secret}",
                              HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200, response.content
    assert '"20.00"' in response.content.decode()
    assert "20,00" not in response.content.decode()

"""core.formatting writes money and dates as each market's language does (Babel, CLDR): "€199.00" and "199,00 €",
"Tue 9 Jun, 10:00 CEST" and "Di., 9. Juni, 10:00 CEST", with the year when it is not this one and the zone as it
is on that day (summer or winter time)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.template import Context, Template
from django.utils import translation

from core import formatting

BERLIN = ZoneInfo("Europe/Berlin")
LISBON = ZoneInfo("Europe/Lisbon")
NOW = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
SUMMER = dt.datetime(2026, 6, 9, 8, 0, tzinfo=dt.UTC)  # Tuesday 9 June 2026, 10:00 in Berlin (CEST)
WINTER = dt.datetime(2025, 12, 9, 8, 0, tzinfo=dt.UTC)  # Tuesday 9 December 2025, 09:00 in Berlin (CET): last year
# The night clocks went forward in 2026 (Sunday 29 March): 01:59 CET is followed by 03:00 CEST.
BEFORE_SHIFT = dt.datetime(2026, 3, 29, 0, 59, tzinfo=dt.UTC)
AFTER_SHIFT = dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("language", "written"), [
    ("en", "€199.00"), ("de", "199,00 €"), ("pt", "199,00 €"), ("sk", "199,00 €")])
def test_an_amount_in_euros_as_each_language_writes_it(language, written):
    assert formatting.money_text(Decimal("199"), "EUR", language=language) == written.replace(" ", "\xa0")


@pytest.mark.parametrize(("language", "written"), [
    ("en", "CZK1,593.99"), ("de", "1.593,99 CZK"), ("pt", "1 593,99 CZK"), ("sk", "1 593,99 CZK")])
def test_thousands_and_another_currency(language, written):
    text = formatting.money_text(Decimal("1593.99"), "CZK", language=language)
    assert text.replace("\xa0", " ").replace("\u202f", " ") == written


def test_money_follows_the_active_language_and_keeps_two_decimals():
    with translation.override("de"):
        assert formatting.money_text("12.5", "EUR") == "12,50\xa0€"
        assert formatting.money_text(Decimal("-30"), "EUR") == "-30,00\xa0€"
    with translation.override("en"):
        assert formatting.money_text(0, "EUR") == "€0.00"
    assert formatting.money_text(None, "EUR") == ""


@pytest.mark.parametrize(("language", "summer", "winter"), [
    ("en", "Tue 9 Jun, 10:00 CEST", "Tue 9 Dec 2025, 09:00 CET"),
    ("de", "Di., 9. Juni, 10:00 CEST", "Di., 9. Dez. 2025, 09:00 CET"),
    ("pt", "terça, 9/06, 10:00 CEST", "terça, 9/12/2025, 09:00 CET"),
    ("sk", "ut 9. 6., 10:00 CEST", "ut 9. 12. 2025, 09:00 CET"),
])
def test_a_moment_in_each_language_with_its_zone_and_the_year_when_not_this_one(language, summer, winter):
    with translation.override(language), time_machine.travel(NOW, tick=False):
        assert formatting.moment(SUMMER) == summer
        assert formatting.moment(WINTER) == winter
        assert formatting.moment(SUMMER, language="en") == "Tue 9 Jun, 10:00 CEST"  # a language given wins


@pytest.mark.parametrize(("language", "summer", "winter"), [
    ("en", "Tue 9 Jun", "Tue 9 Dec 2025"),
    ("de", "Di., 9. Juni", "Di., 9. Dez. 2025"),
    ("pt", "terça, 9/06", "terça, 9/12/2025"),
    ("sk", "ut 9. 6.", "ut 9. 12. 2025"),
])
def test_a_day_in_each_language(language, summer, winter):
    with translation.override(language), time_machine.travel(NOW, tick=False):
        assert formatting.day(SUMMER) == summer
        assert formatting.day(WINTER.date()) == winter


def test_the_zone_abbreviation_changes_with_daylight_saving_time():
    with translation.override("de"), time_machine.travel(NOW, tick=False):
        assert formatting.moment(BEFORE_SHIFT) == "So., 29. März, 01:59 CET"
        assert formatting.moment(AFTER_SHIFT) == "So., 29. März, 03:00 CEST"


def test_a_markets_zone_is_used_when_given():
    with translation.override("pt"), time_machine.travel(NOW, tick=False):
        assert formatting.moment(SUMMER, zone=LISBON) == "terça, 9/06, 09:00 WEST"
        assert formatting.day(dt.datetime(2026, 6, 9, 23, 30, tzinfo=dt.UTC), zone=LISBON) == "quarta, 10/06"
        assert formatting.day(dt.datetime(2026, 6, 9, 23, 30, tzinfo=dt.UTC), zone=BERLIN) == "quarta, 10/06"
        assert formatting.day(dt.datetime(2026, 6, 9, 21, 30, tzinfo=dt.UTC), zone=LISBON) == "terça, 9/06"


def test_this_year_is_the_year_of_now_in_the_zone():
    """On New Year's Eve in UTC it is already the new year in Berlin: a day of the new year has no year."""
    new_year = dt.datetime(2027, 1, 1, 9, 0, tzinfo=dt.UTC)
    with translation.override("en"):
        assert formatting.day(new_year, now=dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)) == "Fri 1 Jan"
        assert formatting.day(new_year, now=dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC)) == "Fri 1 Jan 2027"


@pytest.mark.parametrize(("language", "short", "long", "month"), [
    ("en", "9 Sep", "Wednesday, September 9, 2026", "September 2026"),
    ("de", "9. Sept.", "Mittwoch, 9. September 2026", "September 2026"),
    ("pt", "9 de set.", "quarta-feira, 9 de setembro de 2026", "setembro de 2026"),
    ("sk", "9. 9.", "streda 9. septembra 2026", "september 2026"),
])
def test_a_short_day_a_last_day_in_full_and_a_month(language, short, long, month):
    september = dt.date(2026, 9, 9)
    with translation.override(language):
        assert formatting.short_day(september) == short
        assert formatting.long_day(september) == long
        assert formatting.month(september) == month


def test_english_keeps_the_sites_own_short_forms():
    """Not CLDR's Irish or British "Tue, 9 Jun" and "Sept": the English every page and test has written so far."""
    with translation.override("en"), time_machine.travel(NOW, tick=False):
        assert formatting.day(dt.date(2026, 9, 8)) == "Tue 8 Sep"
        assert formatting.day(dt.date(2027, 9, 8)) == "Wed 8 Sep 2027"


def test_nothing_to_write_is_an_empty_text():
    for function in (formatting.moment, formatting.day, formatting.short_day, formatting.long_day, formatting.month):
        assert function(None) == ""


def test_a_region_of_a_language_writes_as_its_language():
    with time_machine.travel(NOW, tick=False):
        assert formatting.day(SUMMER, language="pt-pt") == "terça, 9/06"
        assert formatting.day(SUMMER, language="de-at") == "Di., 9. Juni"
        assert formatting.day(SUMMER, language="fr") == "Tue 9 Jun"  # not a language of the site: English


@pytest.mark.parametrize(("language", "written"), [
    ("en", "€199.00 · Tue 9 Jun, 10:00 CEST · Tue 9 Jun · June 2026"),
    ("de", "199,00 € · Di., 9. Juni, 10:00 CEST · Di., 9. Juni · Juni 2026"),
    ("sk", "199,00 € · ut 9. 6., 10:00 CEST · ut 9. 6. · jún 2026"),
])
def test_the_template_filters_are_built_in(language, written):
    template = Template("{{ amount|money:currency }} · {{ at|moment }} · {{ at|day }} · {{ at|month }}")
    with translation.override(language), time_machine.travel(NOW, tick=False):
        text = template.render(Context({"amount": Decimal("199.00"), "currency": "EUR", "at": SUMMER}))
    assert text.replace("\xa0", " ") == written

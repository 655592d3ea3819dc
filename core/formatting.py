"""How amounts and text cells are written, the same way in every app."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format
from babel.numbers import format_currency
from django.utils import timezone, translation

CENT = Decimal("0.01")
# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def money(value: Decimal | None) -> Decimal:
    """SQLite sums decimals without their scale; every backend shows cents."""
    return Decimal(value or 0).quantize(CENT)


# The market each of the site's languages is written for (issue 19: "pt-PT, Portugal's market"): CLDR's locale.
BABEL_LOCALES = {"en": "en_IE", "de": "de_DE", "pt": "pt_PT", "sk": "sk_SK"}


def babel_locale(language: str | None = None) -> str:
    """The CLDR locale for a language code of the site (the active language unless one is given)."""
    return BABEL_LOCALES[_site_language(language)]


def _site_language(language: str | None) -> str:
    """The site's language an amount or a date is written in ("pt-pt" → "pt", anything else → "en"): the active one
    unless one is given."""
    code = (language or translation.get_language() or "en").lower()
    for candidate in (code, code.split("-")[0]):
        if candidate in BABEL_LOCALES:
            return candidate
    return "en"


def money_text(amount: Decimal | str | int | None, currency: str, *, language: str | None = None) -> str:
    """An amount with its currency as the reader's language writes it, in tables and in sentences alike:
    "€593.99" (English), "593,99 €" (German, Portuguese, Slovak), "1 593,99 CZK". Always two decimals; '' for None.
    The one way money is written on pages, in emails and in the console (`{{ amount|money:currency }}`)."""
    if amount is None or amount == "":
        return ""
    return format_currency(money(Decimal(amount)), currency, locale=babel_locale(language))


def csv_text(value: object) -> str:
    """A text cell a spreadsheet shows as text, never runs: a leading formula character gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


# Dates are CLDR's forms of each market (Babel): the date from a skeleton ("MMMEd": weekday, day, abbreviated month;
# "yMMMEd" with the year), the time "HH:mm", joined by the locale's date-time pattern, then the zone's abbreviation
# ("CEST", understood in every market). English keeps the site's own form, "Tue 9 Jun" with "Sep" (CLDR's Irish and
# British English write "Tue, 9 Jun" and "Sept"): its short patterns are pinned, with CLDR's English names.
DATE_LOCALES = {**BABEL_LOCALES, "en": "en"}
PINNED_DATE_PATTERNS = {"en": {"MMMEd": "EEE d MMM", "yMMMEd": "EEE d MMM y", "MMMd": "d MMM"}}




@functools.cache
def _date_locale(code: str) -> Locale:
    """The Babel locale of a site language's dates, parsed once per process (Babel parses a locale given by name on
    every call)."""
    return Locale.parse(DATE_LOCALES[code])


@functools.cache
def _date_pattern(code: str, skeleton: str) -> str:
    return PINNED_DATE_PATTERNS.get(code, {}).get(skeleton) or _date_locale(code).datetime_skeletons[skeleton].pattern


# A date's or a time's text depends on nothing but the value, the form and the language (CLDR's data, not the
# translations): a list of fifty claims writes a hundred and fifty moments over a few dozen days.
@functools.lru_cache(maxsize=4096)
def _date_in(value: dt.date, skeleton: str, code: str) -> str:
    return format_date(value, _date_pattern(code, skeleton), locale=_date_locale(code))


@functools.lru_cache(maxsize=4096)
def _time_in(hour: int, minute: int, code: str) -> str:
    return format_time(dt.time(hour, minute), "HH:mm", locale=_date_locale(code))


def _date_text(value: dt.date, skeleton: str, language: str | None) -> str:
    """A date by a CLDR skeleton in the reader's language ("MMMEd": "Tue 9 Jun", "Di., 9. Juni", "ut 9. 6.")."""
    return _date_in(value, skeleton, _site_language(language))


def _this_year(value_year: int, zone: dt.tzinfo | None, now: dt.datetime | None) -> bool:
    return value_year == timezone.localtime(now or timezone.now(), zone).year


def moment(value: dt.datetime | None, *, zone: dt.tzinfo | None = None, now: dt.datetime | None = None,
           language: str | None = None) -> str:
    """A moment as every page writes it, with its zone: "Tue 9 Jun, 10:00 CEST", "Di., 9. Juni, 10:00 CEST",
    "terça, 9/06, 10:00 WEST", "ut 9. 6., 10:00 CEST"; the year when it is not this one.

    In the marketplace's time zone unless a market's `zone` is given; in the active language unless one is given.
    """
    if not value:  # None, or a template's empty string for a missing value
        return ""
    local = timezone.localtime(value, zone)
    code = _site_language(language)
    date_text = _date_text(local.date(), "MMMEd" if _this_year(local.year, zone, now) else "yMMMEd", code)
    time_text = _time_in(local.hour, local.minute, code)
    # "{1}, {0}": date, then time. Babel annotates it as a DateTimePattern; the locale data holds a plain str.
    pattern = str(get_datetime_format("medium", locale=_date_locale(code)))
    joined = pattern.replace("{1}", date_text).replace("{0}", time_text)
    return f"{joined} {local.tzname()}"


def day(value: dt.date | dt.datetime | None, *, zone: dt.tzinfo | None = None, now: dt.datetime | None = None,
        language: str | None = None) -> str:
    """A day as every page writes it: "Tue 9 Jun", "Di., 9. Juni"; the year when it is not this one."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value, zone).date()
    return _date_text(value, "MMMEd" if _this_year(value.year, zone, now) else "yMMMEd", language)


def short_day(value: dt.date | dt.datetime | None, *, zone: dt.tzinfo | None = None,
              language: str | None = None) -> str:
    """A day without weekday or year, where the period around it says them (a chart's axis): "9 Jun", "9. Juni",
    "9 de jun.", "9. 6."."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value, zone).date()
    return _date_text(value, "MMMd", language)


def long_day(value: dt.date | dt.datetime | None, *, zone: dt.tzinfo | None = None,
             language: str | None = None) -> str:
    """A last day as people say it, in full with its weekday and year: "Friday, March 6, 2026", "Freitag, 6. März
    2026", "sexta-feira, 6 de março de 2026", "piatok 6. marca 2026"."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value, zone).date()
    code = _site_language(language)
    return format_date(value, "full", locale=DATE_LOCALES[code])


def month(value: dt.date | dt.datetime | None, *, language: str | None = None) -> str:
    """A month with its year (a statement's): "June 2026", "Juni 2026", "junho de 2026", "jún 2026"."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return _date_text(value, "yMMMM", language)

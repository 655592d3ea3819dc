"""Which market an order belongs to: the market of its delivery country, else the marketplace's home market."""

from __future__ import annotations

from django.conf import settings

from .models import Market


def home_market() -> Market:
    """The marketplace's own market (`MARKETPLACE_COUNTRY`). When it is not kept in the console, one is built from
    the settings (never saved): the marketplace's time zone and calendar, the 12-month floor, no warranty-claim
    limit and the default opening window."""
    market = Market.objects.filter(country=settings.MARKETPLACE_COUNTRY).first()
    return market or from_settings()


def from_settings() -> Market:
    floor = settings.WARRANTY_MONTHS_MINIMUM
    return Market(
        country=settings.MARKETPLACE_COUNTRY, name=settings.MARKETPLACE_COUNTRY,
        currency=settings.MARKETPLACE_CURRENCY, time_zone=settings.TIME_ZONE,
        holiday_subdivision=settings.MARKETPLACE_SUBDIVISION or "", languages=settings.LANGUAGE_CODE,
        warranty_months_new=floor, warranty_months_like_new=floor, warranty_months_used=floor,
        warranty_claim_days=None, warranty_claim_max_days=None,
        dispute_window_days=settings.CLAIM_DISPUTE_WINDOW_DAYS,
    )


def market_for(country: str | None) -> Market:
    """The market of a delivery country; a country the marketplace keeps no market for belongs to the home market.
    One query."""
    code = (country or "").upper()
    found = {m.country: m for m in Market.objects.filter(country__in={code, settings.MARKETPLACE_COUNTRY})}
    return found.get(code) or found.get(settings.MARKETPLACE_COUNTRY) or from_settings()

"""The markets the marketplace sells in, each with the consumer law that sets its floors (SPEC section 10).

A market is data kept in the console: its country, currency, time zone and public-holiday calendar, its languages,
the statutory warranty months by condition, the limits for resolving a warranty claim, and how long after the
estimated delivery a dispute may be opened. An order belongs to the market of its delivery country
(`markets.selectors.market_for`), and every claim's policy snapshot carries its market's values, so editing a market
never moves the deadlines of claims already open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from django.conf import global_settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

CONDITIONS = ("new", "like_new", "used")
LANGUAGE_CODES = {code for code, _name in global_settings.LANGUAGES}


class Market(models.Model):
    country = models.CharField(_("country"), max_length=2, unique=True,
                               help_text=_("ISO 3166 code of the delivery country, e.g. SK."))
    name = models.CharField(_("name"), max_length=100)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Berlin")
    holiday_subdivision = models.CharField(
        _("holiday subdivision"), max_length=10, blank=True,
        help_text=_("A region whose own public holidays count as well (e.g. BY for Bavaria); empty for the country's."))
    languages = models.CharField(_("languages"), max_length=60, default="en",
                                 help_text=_("Language codes, the market's own first, separated by commas."))
    warranty_months_new = models.PositiveSmallIntegerField(_("statutory warranty, new goods (months)"),
                                                           validators=[MinValueValidator(12)])
    warranty_months_like_new = models.PositiveSmallIntegerField(_("statutory warranty, like-new goods (months)"),
                                                                validators=[MinValueValidator(12)])
    warranty_months_used = models.PositiveSmallIntegerField(_("statutory warranty, used goods (months)"),
                                                            validators=[MinValueValidator(12)])
    warranty_claim_days = models.PositiveSmallIntegerField(
        _("days to resolve a warranty claim"), null=True, blank=True, validators=[MinValueValidator(1)],
        help_text=_("Counted from the day the claim and the goods reached the seller, expert assessment excluded. "
                    "Empty: the law sets no fixed number of days."))
    warranty_claim_max_days = models.PositiveSmallIntegerField(
        _("maximum days for a warranty claim"), null=True, blank=True, validators=[MinValueValidator(1)],
        help_text=_("Past it the buyer may choose a replacement or withdrawal with a full refund. Empty: no maximum."))
    dispute_window_days = models.PositiveSmallIntegerField(
        _("dispute opening window (days)"), default=100, validators=[MinValueValidator(1)],
        help_text=_("Not-received, wrong-item and not-as-described claims can be opened until this many days after "
                    "the estimated delivery."))
    law = models.TextField(_("legal sources"), blank=True,
                           help_text=_("The texts these values come from, for agents and auditors."))

    class Meta:
        ordering = ["country"]
        verbose_name = _("market")
        verbose_name_plural = _("markets")
        constraints = [
            models.CheckConstraint(
                condition=Q(warranty_months_new__gte=12) & Q(warranty_months_like_new__gte=12)
                & Q(warranty_months_used__gte=12),
                name="market_warranty_at_least_12_months"),
            models.CheckConstraint(
                condition=Q(warranty_claim_max_days__isnull=True) | Q(warranty_claim_days__isnull=True)
                | Q(warranty_claim_max_days__gte=F("warranty_claim_days")),
                name="market_warranty_claim_max_not_below_limit"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.country})"

    def clean(self) -> None:
        errors: dict[str, str | StrPromise] = {}
        self.country = (self.country or "").upper()
        if self.country not in holidays.list_supported_countries():
            errors["country"] = _("There is no public-holiday calendar for %(code)s.") % {"code": self.country}
        else:
            subdivisions = holidays.list_supported_countries()[self.country]
            if self.holiday_subdivision and self.holiday_subdivision not in subdivisions:
                errors["holiday_subdivision"] = _("%(country)s has no region %(code)s; choose one of %(known)s.") % {
                    "country": self.country, "code": self.holiday_subdivision, "known": ", ".join(subdivisions)}
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = _("“%(zone)s” is not a time zone; write it like Europe/Bratislava.") % {
                "zone": self.time_zone}
        unknown = [code for code in self.language_codes if code not in LANGUAGE_CODES]
        if unknown or not self.language_codes:
            errors["languages"] = _("Write language codes such as sk, en, separated by commas.")
        if (self.warranty_claim_days and self.warranty_claim_max_days
                and self.warranty_claim_max_days < self.warranty_claim_days):
            errors["warranty_claim_max_days"] = _("The maximum cannot be shorter than the days to resolve a claim.")
        if errors:
            raise ValidationError(errors)

    @property
    def language_codes(self) -> list[str]:
        return [code.strip() for code in (self.languages or "").split(",") if code.strip()]

    @property
    def subdivision(self) -> str | None:
        return self.holiday_subdivision or None

    def statutory_months(self, condition: str) -> int:
        """The warranty the law gives a consumer for goods in this condition: a seller may give more, never less."""
        return {"new": self.warranty_months_new, "like_new": self.warranty_months_like_new,
                "used": self.warranty_months_used}[condition]

    def warranty_months(self) -> dict[str, int]:
        return {condition: self.statutory_months(condition) for condition in CONDITIONS}

"""The marketplace policy values a claim is opened under.

They are read from settings at call time and stored on the claim as a snapshot, so changing a
setting later never moves the deadlines of claims that are already open.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from django.conf import settings


@dataclasses.dataclass(frozen=True)
class Policy:
    time_zone: str
    country: str
    subdivision: str | None
    first_reply_hours: int
    resolution_business_days: int
    info_days: int
    hard_deadline_days: int
    reminder_hours: int
    non_delivery_buffer_business_days: int
    defect_report_months: int
    dispute_fine: Decimal
    trial_days_after_repair: int
    warranty_months_after_repair: int

    def as_snapshot(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["dispute_fine"] = str(self.dispute_fine)
        return data

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Policy:
        fields = {f.name for f in dataclasses.fields(cls)}
        # Values added to the policy after a claim was opened fall back to the current setting.
        merged = {**current_policy().as_snapshot(), **{k: v for k, v in data.items() if k in fields}}
        merged["dispute_fine"] = Decimal(merged["dispute_fine"])
        return cls(**merged)


def current_policy() -> Policy:
    return Policy(
        time_zone=settings.TIME_ZONE,
        country=settings.MARKETPLACE_COUNTRY,
        subdivision=settings.MARKETPLACE_SUBDIVISION,
        first_reply_hours=settings.CLAIM_FIRST_REPLY_HOURS,
        resolution_business_days=settings.CLAIM_RESOLUTION_BUSINESS_DAYS,
        info_days=settings.CLAIM_INFO_DAYS,
        hard_deadline_days=settings.CLAIM_HARD_DEADLINE_DAYS,
        reminder_hours=settings.CLAIM_REMINDER_HOURS,
        non_delivery_buffer_business_days=settings.CLAIM_NON_DELIVERY_BUFFER_BUSINESS_DAYS,
        defect_report_months=settings.CLAIM_DEFECT_REPORT_MONTHS,
        dispute_fine=Decimal(settings.CLAIM_DISPUTE_FINE),
        trial_days_after_repair=settings.TRIAL_DAYS_AFTER_REPAIR,
        warranty_months_after_repair=settings.WARRANTY_MONTHS_AFTER_REPAIR,
    )

"""The marketplace policy values a claim is opened under.

They are read from settings and from the order's market (markets.Market: its time zone, holiday calendar and consumer
law) at call time and stored on the claim as a snapshot, so changing a setting or a market later never moves the
deadlines of claims that are already open.
"""

from __future__ import annotations

import dataclasses
import functools
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings

from markets.selectors import market_for

if TYPE_CHECKING:
    from markets.models import Market
    from orders.models import Order


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
    # The market's (markets.Market) consumer law; the time zone, country and subdivision above are the market's too.
    market: str = ""
    warranty_claim_days: int | None = None
    warranty_claim_max_days: int | None = None
    dispute_window_days: int = 100
    statutory_warranty_months: dict[str, int] = dataclasses.field(default_factory=dict)
    reopen_days: int = 30
    expert_costs_days: int = 30
    collection_free_months: int = 1
    collection_sale_months: int = 6
    collection_sale_notice_days: int = 30
    # The seller (or the platform) is reminded this many calendar days before a warranty claim's legal limit.
    warranty_reminder_days: int = 5
    # The platform decides an escalated claim within this many business days (claims.decision_target).
    decision_business_days: int = 2
    # A party may appeal the platform's decision within this many calendar days of it (claims.appeals).
    appeal_days: int = 14
    # The return of the claimed goods (claims.returns): the buyer sends them within `return_ship_days` calendar days
    # (reminded `return_reminder_days` before), and the seller confirms a delivered return within
    # `return_confirm_business_days` business days.
    return_ship_days: int = 10
    return_reminder_days: int = 3
    return_confirm_business_days: int = 2

    def as_snapshot(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["dispute_fine"] = str(self.dispute_fine)
        return data

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Policy:
        fields = _field_names(cls)  # type: ignore[arg-type]  # mypy: a class is hashable (by its metaclass)
        merged = {k: v for k, v in data.items() if k in fields}
        if len(merged) < len(fields):
            # Values added to the policy after a claim was opened fall back to the current setting.
            # Settings only, never a query: the sweep and the lists read snapshots by the thousand.
            current = current_policy().as_snapshot()
            merged = {**{k: current[k] for k in fields if k not in merged}, **merged}
        merged["dispute_fine"] = Decimal(merged["dispute_fine"])
        return cls(**merged)


def policy_of(claim: Any) -> Policy:
    """The policy a claim was opened under, read from its snapshot once per snapshot: the deadlines, the sweep and the
    emails ask for it several times for one claim. The claim keeps it beside the snapshot it was read from, so a
    snapshot replaced is read again."""
    kept = claim.__dict__.get("_policy_read")
    if kept is not None and kept[0] is claim.policy:
        return kept[1]
    policy = Policy.from_snapshot(claim.policy)
    claim.__dict__["_policy_read"] = (claim.policy, policy)
    return policy


@functools.cache
def _field_names(cls: type[Policy]) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


def current_policy(market: Market | None = None) -> Policy:
    """The values in force now: the settings, and the market's (`markets.selectors.market_for(country)`). Without a
    market, the marketplace's home values from the settings alone (no query): the footer and forms use those."""
    policy = Policy(
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
        market=settings.MARKETPLACE_COUNTRY,
        dispute_window_days=settings.CLAIM_DISPUTE_WINDOW_DAYS,
        statutory_warranty_months={c: settings.WARRANTY_MONTHS_MINIMUM for c in ("new", "like_new", "used")},
        reopen_days=settings.CLAIM_REOPEN_DAYS,
        expert_costs_days=settings.EXPERT_COSTS_DAYS,
        collection_free_months=settings.COLLECTION_FREE_MONTHS,
        collection_sale_months=settings.COLLECTION_SALE_MONTHS,
        collection_sale_notice_days=settings.COLLECTION_SALE_NOTICE_DAYS,
        warranty_reminder_days=settings.WARRANTY_CLAIM_REMINDER_DAYS,
        decision_business_days=settings.CLAIM_DECISION_BUSINESS_DAYS,
        appeal_days=settings.APPEAL_DAYS,
        return_ship_days=settings.RETURN_SHIP_DAYS,
        return_reminder_days=settings.RETURN_REMINDER_DAYS,
        return_confirm_business_days=settings.RETURN_CONFIRM_BUSINESS_DAYS,
    )
    if market is None:
        return policy
    return dataclasses.replace(
        policy, time_zone=market.time_zone, country=market.country, subdivision=market.subdivision,
        market=market.country, warranty_claim_days=market.warranty_claim_days,
        warranty_claim_max_days=market.warranty_claim_max_days, dispute_window_days=market.dispute_window_days,
        statutory_warranty_months=market.warranty_months(),
    )


def policy_for_order(order: Order) -> Policy:
    """The values a claim on this order is opened under: its delivery country's market. One query."""
    return current_policy(market_for(order.delivery_country))

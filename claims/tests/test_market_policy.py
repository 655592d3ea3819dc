"""Each claim's policy snapshot carries its order's market (SPEC section 10): the delivery country's time zone,
holiday calendar and consumer law, frozen at opening."""

import datetime as dt

import pytest

from claims.policy import Policy, policy_for_order
from claims.tests.factories import delivered_order, open_defective_claim
from markets.models import Market

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
EXPECTED = {
    "DE": {"market": "DE", "country": "DE", "time_zone": "Europe/Berlin", "subdivision": None,
           "warranty_claim_days": None, "warranty_claim_max_days": None, "dispute_window_days": 100,
           "statutory_warranty_months": {"new": 24, "like_new": 12, "used": 12}},
    "PT": {"market": "PT", "country": "PT", "time_zone": "Europe/Lisbon", "subdivision": None,
           "warranty_claim_days": 30, "warranty_claim_max_days": None, "dispute_window_days": 100,
           "statutory_warranty_months": {"new": 36, "like_new": 36, "used": 18}},
    "SK": {"market": "SK", "country": "SK", "time_zone": "Europe/Bratislava", "subdivision": None,
           "warranty_claim_days": 30, "warranty_claim_max_days": 60, "dispute_window_days": 100,
           "statutory_warranty_months": {"new": 24, "like_new": 12, "used": 12}},
}


@pytest.mark.parametrize("country", sorted(EXPECTED))
def test_the_snapshot_carries_the_markets_values(country):
    claim = open_defective_claim(at=AT, order=delivered_order(delivery_country=country))
    snapshot = {name: claim.policy[name] for name in EXPECTED[country]}
    assert snapshot == EXPECTED[country]
    policy = Policy.from_snapshot(claim.policy)
    assert policy.market == country and policy.time_zone == EXPECTED[country]["time_zone"]


def test_a_market_changed_later_leaves_open_claims_alone():
    claim = open_defective_claim(at=AT, order=delivered_order(delivery_country="SK"))
    Market.objects.filter(country="SK").update(warranty_claim_days=15, warranty_claim_max_days=45,
                                               dispute_window_days=50, time_zone="Europe/Vienna")
    policy = Policy.from_snapshot(claim.policy)
    assert (policy.warranty_claim_days, policy.warranty_claim_max_days, policy.dispute_window_days,
            policy.time_zone) == (30, 60, 100, "Europe/Bratislava")
    # a claim opened now gets the new values
    fresh = policy_for_order(delivered_order(delivery_country="SK"))
    assert (fresh.warranty_claim_days, fresh.warranty_claim_max_days, fresh.dispute_window_days,
            fresh.time_zone) == (15, 45, 50, "Europe/Vienna")


def test_an_order_to_a_country_without_a_market_gets_the_home_markets_values():
    claim = open_defective_claim(at=AT, order=delivered_order(delivery_country="FR"))
    assert claim.policy["market"] == "DE"
    assert claim.policy["time_zone"] == "Europe/Berlin"


def test_the_holiday_region_of_a_market_reaches_the_snapshot():
    Market.objects.filter(country="DE").update(holiday_subdivision="BY")
    claim = open_defective_claim(at=AT, order=delivered_order(delivery_country="DE"))
    assert claim.policy["subdivision"] == "BY"

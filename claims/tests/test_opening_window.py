"""The dispute policy's opening window: "The order must be within the allowable timeframe for opening a dispute,
based on the estimated delivery date of the order". Not-received, wrong-item and not-as-described claims may be
opened until the estimated delivery (else the dispatch date, else the order date) plus the market's
`dispute_window_days` (100 by default): that day is the last day in, the next day is out, each in the market's own
time zone."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from claims import services
from claims.eligibility import dispute_window_ends_on
from claims.models import Claim
from claims.policy import policy_for_order
from claims.tests.factories import photo
from markets.models import Market
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory

pytestmark = pytest.mark.django_db

D = dt.date
UTC = dt.UTC
ZONES = {"DE": ZoneInfo("Europe/Berlin"), "PT": ZoneInfo("Europe/Lisbon"), "SK": ZoneInfo("Europe/Bratislava")}
ESTIMATED = D(2026, 3, 5)  # a Thursday; + 100 days is Saturday 13 June 2026 (summer time everywhere)
LAST_DAY = D(2026, 6, 13)
OUTCOMES = {"not_received": "refund", "wrong_item": "replacement", "not_as_described": "refund",
            "defective": "repair"}
WINDOW_REASONS = ["not_received", "wrong_item", "not_as_described"]


def local(country: str, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONES[country]).astimezone(UTC)


def market_order(country: str, reason: str, **order_fields):
    """An order delivered to `country`: for a not-received claim the parcel never arrived."""
    order_fields.setdefault("estimated_delivery", ESTIMATED)
    order = OrderFactory(delivery_country=country, **order_fields)
    OrderItemFactory(order=order)
    if reason == "not_received":
        ShipmentFactory(order=order)
    else:
        ShipmentFactory(order=order, delivered_at=dt.datetime(2026, 3, 5, 12, tzinfo=UTC),
                        delivered_to_order_address=True)
    return order


def open_(order, reason: str, when: dt.datetime) -> Claim:
    with time_machine.travel(when, tick=False):
        return services.open_claim(
            order=order, buyer=order.buyer, reason=reason, description="Not what I ordered, or nothing at all.",
            desired_outcome=OUTCOMES[reason], discovered_on=when.date() if reason == "defective" else None,
            evidence=[] if reason == "not_received" else [photo()])


def refusal(order, reason: str, when: dt.datetime) -> str:
    with pytest.raises(ValidationError) as info:
        open_(order, reason, when)
    assert not Claim.objects.filter(order=order).exists()
    return " ".join(info.value.messages)


@pytest.mark.parametrize("country", ["DE", "PT", "SK"])
@pytest.mark.parametrize("reason", WINDOW_REASONS)
def test_the_last_day_is_in_and_the_next_day_out_in_each_market(country, reason):
    order = market_order(country, reason)
    assert dispute_window_ends_on(order, policy=policy_for_order(order)) == LAST_DAY
    claim = open_(order, reason, local(country, LAST_DAY, 23, 59))
    assert claim.state == "awaiting_seller" and claim.policy["market"] == country
    message = refusal(market_order(country, reason), reason, local(country, LAST_DAY + dt.timedelta(days=1), 0, 0))
    assert "Saturday, June 13, 2026" in message
    assert "100 days" in message


def test_one_moment_is_in_for_lisbon_and_out_for_berlin_and_bratislava():
    moment = dt.datetime(2026, 6, 13, 22, 30, tzinfo=UTC)  # 23:30 in Lisbon, 00:30 on the 14th in Berlin
    assert open_(market_order("PT", "wrong_item"), "wrong_item", moment).state == "awaiting_seller"
    for country in ("DE", "SK"):
        assert "Saturday, June 13, 2026" in refusal(market_order(country, "wrong_item"), "wrong_item", moment)


def test_the_window_is_the_markets_value():
    Market.objects.filter(country="SK").update(dispute_window_days=30)
    last = ESTIMATED + dt.timedelta(days=30)  # Saturday 4 April 2026
    assert open_(market_order("SK", "not_as_described"), "not_as_described",
                 local("SK", last, 23, 59)).policy["dispute_window_days"] == 30
    message = refusal(market_order("SK", "not_as_described"), "not_as_described", local("SK", D(2026, 4, 5), 0, 0))
    assert "30 days" in message and "Saturday, April 4, 2026" in message
    # the other markets keep theirs
    assert open_(market_order("DE", "not_as_described"), "not_as_described",
                 local("DE", D(2026, 4, 5), 9)).state == "awaiting_seller"


def test_without_an_estimated_delivery_the_dispatch_date_then_the_order_date_counts():
    by_dispatch = market_order("DE", "wrong_item", estimated_delivery=None, ship_by=D(2026, 3, 3))
    assert dispute_window_ends_on(by_dispatch, policy=policy_for_order(by_dispatch)) == D(2026, 6, 11)
    # placed at 23:30 UTC on 1 March: already 2 March in Berlin, still 1 March in Lisbon
    placed = dt.datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    berlin = market_order("DE", "wrong_item", estimated_delivery=None, ship_by=None, placed_at=placed)
    lisbon = market_order("PT", "wrong_item", estimated_delivery=None, ship_by=None, placed_at=placed)
    assert dispute_window_ends_on(berlin, policy=policy_for_order(berlin)) == D(2026, 6, 10)
    assert dispute_window_ends_on(lisbon, policy=policy_for_order(lisbon)) == D(2026, 6, 9)
    assert "Tuesday, June 9, 2026" in refusal(lisbon, "wrong_item", local("PT", D(2026, 6, 10), 0, 0))


def test_a_defect_is_not_bound_by_the_window():
    order = market_order("DE", "defective")
    # a defect discovered long after the window is a warranty matter
    assert open_(order, "defective", local("DE", D(2026, 9, 1), 10)).state == "awaiting_seller"


def test_the_window_comes_before_the_photos():
    order = market_order("DE", "wrong_item")
    with time_machine.travel(local("DE", D(2026, 7, 1), 10), tick=False), pytest.raises(ValidationError) as info:
        services.open_claim(order=order, buyer=order.buyer, reason="wrong_item", description="Wrong colour.",
                            desired_outcome="replacement", evidence=[])
    assert "June 13, 2026" in " ".join(info.value.messages)


def test_the_order_page_shows_the_last_day(client):
    order = market_order("PT", "wrong_item")
    client.force_login(order.buyer)
    page = client.get(reverse("orders:detail", kwargs={"number": order.number})).content.decode()
    assert "Missing, wrong or not as described: report by" in page
    assert "Saturday, June 13, 2026" in page

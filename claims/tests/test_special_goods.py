"""Perishable and expiry-dated goods and consumables (warranty claim policy, sections II and III), through
`services.open_claim` with the clock controlled, per market: the day is the market's own.

- "For perishable goods, defect liability claims must be raised no later than the day following the buyer's receipt
  of the order": the day after receipt is the last day in, the day after that is out (weekends do not extend it).
- "... has an expiration date or a minimum shelf-life date marked on its packaging, the buyer must assert their rights
  ... no later than the expiration or minimum shelf-life date": that date is in, the next day out.
- Consumables: "the warranty period is shortened to the date marked on the product packaging".
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from claims import services
from claims.eligibility import (
    perishable_claims_until,
    receipt_date,
    special_claims_until,
    warranty_ends_on,
)
from claims.models import Claim
from claims.policy import policy_for_order
from claims.presenters import long_date
from claims.tests.factories import photo
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory

pytestmark = pytest.mark.django_db

D = dt.date
UTC = dt.UTC
ZONES = {"DE": ZoneInfo("Europe/Berlin"), "PT": ZoneInfo("Europe/Lisbon"), "SK": ZoneInfo("Europe/Bratislava")}
DELIVERED_AT = dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 5 March, midday everywhere
OUTCOMES = {"defective": "repair", "wrong_item": "replacement", "not_as_described": "refund",
            "trial_return": "refund", "not_received": "refund"}


def local(country: str, day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONES[country]).astimezone(UTC)


def special_order(*, country: str = "DE", delivered_at: dt.datetime | None = DELIVERED_AT, **item):
    order = OrderFactory(delivery_country=country)
    OrderItemFactory(order=order, title=item.pop("title", "Fresh strawberries, 500 g"), **item)
    if delivered_at is not None:
        ShipmentFactory(order=order, delivered_at=delivered_at, delivered_to_order_address=True)
    return order


def open_(order, *, when: dt.datetime, reason: str = "defective", discovered_on: dt.date | None = None) -> Claim:
    with time_machine.travel(when, tick=False):
        return services.open_claim(
            order=order, buyer=order.buyer, reason=reason, description="Mouldy on arrival.",
            desired_outcome=OUTCOMES[reason],
            discovered_on=discovered_on or (when.date() if reason == "defective" else None),
            evidence=[photo()] if reason not in ("trial_return", "not_received") else [])


def refused(order, **kwargs) -> str:
    with pytest.raises(ValidationError) as info:
        open_(order, **kwargs)
    assert not Claim.objects.filter(order=order).exists()
    return " ".join(info.value.messages)


# --- perishable goods ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["defective", "wrong_item", "not_as_described"])
def test_a_perishable_claim_on_the_day_after_receipt_is_accepted_and_on_day_two_refused(reason):
    accepted = special_order(is_perishable=True)
    # day 1 (Friday 6 March), the last minute in Berlin
    claim = open_(accepted, when=local("DE", D(2026, 3, 6), 23, 59), reason=reason, discovered_on=D(2026, 3, 5))
    assert claim.state == "awaiting_seller"

    late = special_order(is_perishable=True)
    message = refused(late, when=local("DE", D(2026, 3, 7), 0, 0), reason=reason, discovered_on=D(2026, 3, 5))
    assert "perishable" in message
    assert "Thursday, March 5, 2026" in message  # the day it was received
    assert "Friday, March 6, 2026" in message  # the last day, in words and date


def test_a_weekend_does_not_extend_the_perishable_day():
    # received on Friday 6 March: Saturday is the last day, Sunday is out (calendar days, not business days)
    friday = dt.datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    order = special_order(is_perishable=True, delivered_at=friday)
    assert open_(order, when=local("DE", D(2026, 3, 7), 18), discovered_on=D(2026, 3, 6)).state == "awaiting_seller"
    sunday = special_order(is_perishable=True, delivered_at=friday)
    assert "Saturday, March 7, 2026" in refused(sunday, when=local("DE", D(2026, 3, 8), 9), discovered_on=D(2026, 3, 6))


def test_the_perishable_day_is_the_markets_day():
    # 23:30 UTC on Thursday 5 March is still Thursday in Lisbon but already Friday in Bratislava and Berlin
    late_evening = dt.datetime(2026, 3, 5, 23, 30, tzinfo=UTC)
    moment = dt.datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # Saturday everywhere
    portugal = special_order(country="PT", is_perishable=True, delivered_at=late_evening)
    slovakia = special_order(country="SK", is_perishable=True, delivered_at=late_evening)
    germany = special_order(country="DE", is_perishable=True, delivered_at=late_evening)
    assert "Friday, March 6, 2026" in refused(portugal, when=moment, discovered_on=D(2026, 3, 5))
    assert open_(slovakia, when=moment, discovered_on=D(2026, 3, 6)).policy["market"] == "SK"
    assert open_(germany, when=moment, discovered_on=D(2026, 3, 6)).policy["market"] == "DE"


def test_the_perishable_rule_leaves_a_trial_return_and_a_missing_order_alone():
    order = special_order(is_perishable=True)
    assert open_(order, when=local("DE", D(2026, 3, 12)), reason="trial_return").state == "awaiting_seller"
    missing = special_order(is_perishable=True, delivered_at=None)
    assert open_(missing, when=local("DE", D(2026, 3, 12)), reason="not_received").state == "awaiting_seller"


def test_a_perishable_item_not_delivered_yet_has_no_day_to_miss():
    order = special_order(is_perishable=True, delivered_at=None)
    item = order.items.get()
    assert perishable_claims_until(item, None) is None
    assert special_claims_until(item, None) is None


# --- an expiry or best-before date ---------------------------------------------------------------------------


@pytest.mark.parametrize("country", ["DE", "PT", "SK"])
def test_the_expiry_date_is_the_last_day_in_and_the_next_day_out(country):
    expires = D(2026, 3, 20)  # a Friday
    in_time = special_order(country=country, title="Olive oil, 1 l", expires_on=expires)
    claim = open_(in_time, when=local(country, expires, 23, 59), reason="not_as_described")
    assert claim.state == "awaiting_seller"
    late = special_order(country=country, title="Olive oil, 1 l", expires_on=expires)
    message = refused(late, when=local(country, expires + dt.timedelta(days=1), 0, 0), reason="not_as_described")
    assert "best-before" in message and "Friday, March 20, 2026" in message


def test_of_a_perishable_item_with_an_expiry_date_the_earlier_day_counts():
    order = special_order(is_perishable=True, expires_on=D(2026, 3, 5))  # expired on the day it arrived
    item = order.items.get()
    assert special_claims_until(item, D(2026, 3, 5)) == D(2026, 3, 5)
    assert "best-before" in refused(order, when=local("DE", D(2026, 3, 6), 9), discovered_on=D(2026, 3, 5))
    later = special_order(is_perishable=True, expires_on=D(2026, 4, 30))
    assert special_claims_until(later.items.get(), D(2026, 3, 5)) == D(2026, 3, 6)


# --- consumables ----------------------------------------------------------------------------------------------


def test_a_consumables_warranty_ends_at_its_expiry_date_when_that_is_earlier():
    received = D(2026, 3, 5)
    ink = OrderItemFactory(is_consumable=True, expires_on=D(2027, 1, 31), warranty_months=24)
    assert warranty_ends_on(ink, received) == D(2027, 1, 31)
    long_life = OrderItemFactory(is_consumable=True, expires_on=D(2030, 1, 1), warranty_months=24)
    assert warranty_ends_on(long_life, received) == D(2028, 3, 5)
    undated = OrderItemFactory(is_consumable=True, expires_on=None, warranty_months=24)
    assert warranty_ends_on(undated, received) == D(2028, 3, 5)
    # a date on the packaging shortens a consumable's warranty only: a phone keeps its 24 months
    phone = OrderItemFactory(is_consumable=False, expires_on=D(2027, 1, 31), warranty_months=24)
    assert warranty_ends_on(phone, received) == D(2028, 3, 5)


def test_a_defect_on_a_consumable_after_its_date_is_refused_with_the_last_day():
    order = special_order(country="SK", title="Printer ink cartridge", is_consumable=True, expires_on=D(2026, 9, 30))
    assert warranty_ends_on(order.items.get(), D(2026, 3, 5)) == D(2026, 9, 30)
    claim = open_(order, when=local("SK", D(2026, 9, 30), 23, 59), discovered_on=D(2026, 9, 29))
    assert claim.state == "awaiting_seller"
    late = special_order(country="SK", title="Printer ink cartridge", is_consumable=True, expires_on=D(2026, 9, 30))
    message = refused(late, when=local("SK", D(2026, 10, 1), 0, 0), discovered_on=D(2026, 9, 29))
    assert long_date(D(2026, 9, 30)) in message  # "Wednesday, September 30, 2026"


# --- the order page -------------------------------------------------------------------------------------------


def test_the_order_page_shows_each_special_items_last_day(client):
    order = special_order(country="PT", is_perishable=True)
    OrderItemFactory(order=order, title="Coffee beans, 1 kg", expires_on=D(2026, 8, 31))
    OrderItemFactory(order=order, title="Cleaning spray", is_consumable=True, expires_on=D(2027, 2, 28))
    OrderItemFactory(order=order, title="Phone")
    client.force_login(order.buyer)
    with time_machine.travel(local("PT", D(2026, 3, 6)), tick=False):
        page = client.get(reverse("orders:detail", kwargs={"number": order.number})).content.decode()
    assert "Perishable: claims by Friday, March 6, 2026" in page
    assert f"Expiry or best-before date: claims by {long_date(D(2026, 8, 31))}" in page
    # the consumable's warranty column shows the date on its packaging
    assert "Sun 28 Feb 2027" in page
    assert f"Expiry or best-before date: claims by {long_date(D(2027, 2, 28))}" in page
    assert page.count("claims by") == 3  # the phone has no special day


def test_the_order_page_tells_a_perishable_items_rule_before_delivery(client):
    order = special_order(is_perishable=True, delivered_at=None)
    client.force_login(order.buyer)
    page = client.get(reverse("orders:detail", kwargs={"number": order.number})).content.decode()
    assert "Perishable: claims by the day after delivery" in page


def test_the_refusals_and_the_page_use_one_date_in_words():
    order = special_order(is_perishable=True)
    policy = policy_for_order(order)
    received = receipt_date(order, policy=policy)
    assert long_date(special_claims_until(order.items.get(), received)) == "Friday, March 6, 2026"

"""SPEC section 4 through `services.open_claim` (the section 9 contract), with the clock controlled.

Every refusal is a `django.core.exceptions.ValidationError` saying why in the buyer's words, and leaves
nothing behind: no claim, no claim item, no evidence row, no stored file.
"""

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from claims import services
from claims.models import Claim, ClaimItem, ClaimTransition, Evidence
from claims.services.tracking import record_shipment
from claims.tests.factories import delivered_order, photo
from core import formatting
from orders.services import create_order
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers.models import SellerMembership, WarrantyPolicy
from sellers.tests.factories import SellerFactory, UserFactory, make_agent

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
D = dt.date
DELIVERED_AT = dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 5 March 2026, 13:00 in Berlin
SHIPPED_AT = dt.datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
SHIP_BY = dt.date(2026, 3, 3)
ESTIMATED = dt.date(2026, 3, 5)  # Thursday
PHOTO_REASONS = ("wrong_item", "not_as_described", "defective")
DEFAULT_OUTCOME = {"not_received": "refund", "wrong_item": "replacement", "not_as_described": "refund",
                   "defective": "repair", "trial_return": "refund"}
_BUYER = object()
_SHOP_NUMBERS = itertools.count(1)


def berlin(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A Berlin wall-clock moment on `day`, in UTC."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def first_moment(day: dt.date) -> dt.datetime:
    return berlin(day, 0, 0)


def last_moment(day: dt.date) -> dt.datetime:
    return berlin(day, 23, 59)


def fmt(day: dt.date) -> str:
    """A day as a refusal writes it when refused in the same year: "Thu 5 Mar" (core.formatting.day)."""
    return formatting.day(day, now=berlin(day))


def open_(order, *, when: dt.datetime, reason: str, buyer=_BUYER, description: str = "It is not what I ordered.",
          desired_outcome: str | None = None, items=None, discovered_on: dt.date | None = None, evidence=None):
    if evidence is None:
        evidence = [photo()] if reason in PHOTO_REASONS else []
    with time_machine.travel(when, tick=False):
        return services.open_claim(
            order=order, buyer=order.buyer if buyer is _BUYER else buyer, reason=reason, description=description,
            desired_outcome=desired_outcome or DEFAULT_OUTCOME.get(reason, "refund"), items=items,
            discovered_on=discovered_on, evidence=evidence,
        )


def _stored_files() -> int:
    root = Path(django_settings.MEDIA_ROOT)
    return sum(1 for path in root.rglob("*") if path.is_file()) if root.exists() else 0


def _counts() -> tuple[int, ...]:
    return (Claim.objects.count(), ClaimItem.objects.count(), Evidence.objects.count(),
            ClaimTransition.objects.count(), _stored_files())


def refused(phrase: str | tuple[str, ...], order, **kwargs) -> str:
    """Open the claim, expect a refusal containing `phrase` (or every phrase), and that nothing was stored."""
    before = _counts()
    with pytest.raises(ValidationError) as info:
        open_(order, **kwargs)
    message = " ".join(info.value.messages)
    for part in (phrase,) if isinstance(phrase, str) else phrase:
        assert part in message, message
    assert _counts() == before
    return message


def opened(order, **kwargs) -> Claim:
    claim = open_(order, **kwargs)
    claim = Claim.objects.get(pk=claim.pk)
    assert claim.state == "awaiting_seller"
    return claim


def undelivered_order(*, estimated_delivery: dt.date | None = ESTIMATED, ship_by: dt.date | None = SHIP_BY,
                      items: int = 1, digital: bool = False, shipped: bool = True, **kwargs):
    """An order that has not arrived (shipped, but no delivery in the tracking)."""
    order = OrderFactory(estimated_delivery=estimated_delivery, ship_by=ship_by, **kwargs)
    for _ in range(items):
        OrderItemFactory(order=order, is_digital=digital)
    if shipped and not digital:
        ShipmentFactory(order=order)
    return order


def shop_order(*, condition: str = "new", buyer_kind: str = "consumer", seller=None, delivered_at=DELIVERED_AT,
               shipped_at=SHIPPED_AT, placed_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)):
    """An order written the way the shop writes it: the warranty months are copied from the seller's policy."""
    order = create_order(
        number=f"S-{next(_SHOP_NUMBERS)}", buyer=UserFactory(), seller=seller or SellerFactory(),
        placed_at=placed_at, buyer_kind=buyer_kind,
        items=[{"title": f"Phone ({condition})", "unit_price": Decimal("300.00"), "condition": condition}],
        delivery_name="Erika Mustermann", delivery_line1="Hauptstraße 1", delivery_postal_code="10115",
        delivery_city="Berlin", ship_by=D(2026, 3, 3), estimated_delivery=D(2026, 3, 5),
    )
    record_shipment(order=order, carrier="DHL", tracking_number=f"JJD{order.pk}", shipped_at=shipped_at,
                    delivered_at=delivered_at, delivered_to_order_address=delivered_at is not None, source="shop")
    return order


# --- who may open a claim -----------------------------------------------------------------------------------


def test_the_buyer_opens_a_claim_and_gets_it_awaiting_the_seller():
    order = delivered_order()
    claim = opened(order, when=berlin(D(2026, 3, 10)), reason="wrong_item", description="  Blue, not black.  ")
    assert claim.buyer == order.buyer
    assert claim.seller == order.seller
    assert claim.reason == "wrong_item"
    assert claim.desired_outcome == "replacement"
    assert claim.description == "Blue, not black."
    assert claim.channel == "platform"
    assert claim.opened_at == berlin(D(2026, 3, 10))
    assert claim.evidence.filter(kind="photo").count() == 1
    assert list(claim.transitions.values_list("name", flat=True)) == ["open"]


def test_only_the_buyer_of_the_order_may_open_a_claim():
    order = delivered_order()
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="owner")
    when = berlin(D(2026, 3, 10))
    for someone in (UserFactory(), staff, AnonymousUser(), None):
        message = refused("Only the buyer of order", order, when=when, reason="wrong_item", buyer=someone)
        assert order.number in message


def test_a_buyer_cannot_claim_on_another_buyers_order_even_with_own_items():
    mine = delivered_order()
    theirs = delivered_order()
    refused("Only the buyer", theirs, when=berlin(D(2026, 3, 10)), reason="wrong_item", buyer=mine.buyer,
            items=list(theirs.items.all()))


@pytest.mark.parametrize(
    ("field", "value", "phrase"),
    [("reason", "changed_my_mind", "choose what went wrong"), ("desired_outcome", "free_gift", "how you would like")],
)
def test_reason_and_desired_outcome_must_be_known_values(field, value, phrase):
    kwargs = {"reason": "wrong_item", "desired_outcome": "replacement", field: value}
    refused(phrase, delivered_order(), when=berlin(D(2026, 3, 10)), **kwargs)


# --- description ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("description", ["", "   \n\t "])
def test_description_is_required(description):
    refused("describe the problem", delivered_order(), when=berlin(D(2026, 3, 10)), reason="wrong_item",
            description=description)


def test_description_is_capped_at_5000_characters():
    when = berlin(D(2026, 3, 10))
    refused(("keep the description to", "5000"), delivered_order(), when=when, reason="wrong_item",
            description="x" * 5001)
    claim = opened(delivered_order(), when=when, reason="wrong_item", description="x" * 5000)
    assert len(claim.description) == 5000


# --- items ----------------------------------------------------------------------------------------------------


def test_items_none_means_every_item_with_its_whole_quantity():
    order = delivered_order(items=2)
    OrderItemFactory(order=order, quantity=3)
    claim = opened(order, when=berlin(D(2026, 3, 10)), reason="wrong_item")
    assert sorted(claim.items.values_list("order_item_id", "quantity")) == sorted(
        (item.pk, item.quantity) for item in order.items.all())
    assert claim.items.count() == 3


def test_a_selection_of_items_and_quantities():
    order = delivered_order(items=2)
    first, second = order.items.all()
    third = OrderItemFactory(order=order, quantity=3)
    claim = opened(order, when=berlin(D(2026, 3, 10)), reason="wrong_item", items=[first])
    assert list(claim.items.values_list("order_item_id", "quantity")) == [(first.pk, 1)]
    claim = opened(order, when=berlin(D(2026, 3, 10)), reason="wrong_item", items={third: 2})
    assert list(claim.items.values_list("order_item_id", "quantity")) == [(third.pk, 2)]
    claim = opened(order, when=berlin(D(2026, 3, 10)), reason="wrong_item", items=[(second.pk, 1)])
    assert list(claim.items.values_list("order_item_id", "quantity")) == [(second.pk, 1)]


@pytest.mark.parametrize("quantity", [4, 0, -1])
def test_quantity_must_be_between_one_and_the_quantity_ordered(quantity):
    order = delivered_order(items=0)
    item = OrderItemFactory(order=order, quantity=3, title="USB cable")
    message = refused("You ordered 3 of “USB cable”", order, when=berlin(D(2026, 3, 10)), reason="wrong_item",
                      items={item: quantity})
    assert "between 1 and 3" in message
    claim = opened(order, when=berlin(D(2026, 3, 10)), reason="wrong_item", items={item: 3})
    assert claim.items.get().quantity == 3


def test_items_of_another_order_are_refused():
    order = delivered_order()
    other = delivered_order(buyer=order.buyer)
    foreign = other.items.get()
    when = berlin(D(2026, 3, 10))
    for items in ([foreign], [foreign.pk], {foreign: 1}, [order.items.get(), foreign]):
        message = refused("not part of order", order, when=when, reason="wrong_item", items=items)
        assert order.number in message


def test_at_least_one_item_and_each_item_once():
    order = delivered_order()
    item = order.items.get()
    when = berlin(D(2026, 3, 10))
    refused("at least one item", order, when=when, reason="wrong_item", items=[])
    refused("each item only once", order, when=when, reason="wrong_item", items=[item, item.pk])


# --- one open claim per order item ----------------------------------------------------------------------------


def test_a_second_open_claim_on_the_same_item_is_refused_until_the_first_is_resolved():
    order = delivered_order()
    first = opened(order, when=berlin(D(2026, 3, 10)), reason="wrong_item")
    message = refused(("already open", first.number), order, when=berlin(D(2026, 3, 11)), reason="not_as_described")
    assert order.items.get().title in message

    with time_machine.travel(berlin(D(2026, 3, 12)), tick=False):
        services.close(claim=first, by=order.buyer)
    assert Claim.objects.get(pk=first.pk).state == "resolved"

    second = opened(order, when=berlin(D(2026, 3, 13)), reason="not_as_described")
    assert second.number != first.number
    refused(second.number, order, when=berlin(D(2026, 3, 14)), reason="wrong_item")


def test_one_open_claim_per_item_with_a_partial_selection():
    order = delivered_order(items=2)
    first_item, second_item = order.items.all()
    when = berlin(D(2026, 3, 10))
    first = opened(order, when=when, reason="wrong_item", items=[first_item])
    refused(first.number, order, when=when, reason="wrong_item", items=[first_item])
    refused(first.number, order, when=when, reason="wrong_item")  # items=None includes the claimed item
    refused(first.number, order, when=when, reason="wrong_item", items=[second_item, first_item])
    second = opened(order, when=when, reason="wrong_item", items=[second_item])
    refused(second.number, order, when=when, reason="not_as_described", items=[second_item])


def test_an_escalated_claim_still_blocks_a_second_claim():
    order = delivered_order(seller=SellerFactory(status="suspended"))
    first = open_(order, when=berlin(D(2026, 3, 10)), reason="wrong_item")
    assert Claim.objects.get(pk=first.pk).state == "escalated"
    refused(first.number, order, when=berlin(D(2026, 3, 11)), reason="wrong_item")


def test_the_database_refuses_a_second_open_claim_item_on_the_same_order_item():
    order = delivered_order(items=2)
    first_item, second_item = order.items.all()
    when = berlin(D(2026, 3, 10))
    opened(order, when=when, reason="wrong_item", items=[first_item])
    second = opened(order, when=when, reason="wrong_item", items=[second_item])
    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimItem.objects.create(claim=second, order_item=first_item, quantity=1, is_open=True)
    # A closed claim item does not count.
    ClaimItem.objects.create(claim=second, order_item=first_item, quantity=1, is_open=False)


# --- not_received ---------------------------------------------------------------------------------------------


def test_not_received_waits_for_the_buffer_of_three_business_days_over_a_weekend():
    # Estimated Thursday 5 March; buffer Fri 6, Mon 9, Tue 10; first allowed day Wednesday 11 March.
    order = undelivered_order(estimated_delivery=D(2026, 3, 5))
    for when in (berlin(D(2026, 3, 4)), berlin(D(2026, 3, 5)), berlin(D(2026, 3, 7)), last_moment(D(2026, 3, 10))):
        message = refused(("can still arrive", fmt(D(2026, 3, 11))), order, when=when, reason="not_received")
        assert fmt(D(2026, 3, 5)) in message
        assert "3 business days" in message
    claim = opened(order, when=first_moment(D(2026, 3, 11)), reason="not_received")
    assert claim.opened_at == dt.datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # still the 10th in UTC


def test_not_received_buffer_skips_the_easter_holidays():
    # Estimated Wednesday 1 April; buffer Thu 2, (Good Friday, weekend, Easter Monday), Tue 7, Wed 8.
    order = undelivered_order(estimated_delivery=D(2026, 4, 1), ship_by=D(2026, 3, 30))
    refused(("can still arrive", fmt(D(2026, 4, 9))), order, when=berlin(D(2026, 4, 6)), reason="not_received")
    refused(fmt(D(2026, 4, 9)), order, when=last_moment(D(2026, 4, 8)), reason="not_received")
    opened(order, when=first_moment(D(2026, 4, 9)), reason="not_received")


def test_not_received_buffer_skips_1_may():
    # Estimated Tuesday 28 April; buffer Wed 29, Thu 30, (1 May, weekend) Mon 4 May; allowed from Tue 5 May.
    order = undelivered_order(estimated_delivery=D(2026, 4, 28), ship_by=D(2026, 4, 27))
    refused(fmt(D(2026, 5, 5)), order, when=last_moment(D(2026, 5, 4)), reason="not_received")
    opened(order, when=first_moment(D(2026, 5, 5)), reason="not_received")


def test_not_received_falls_back_to_the_ship_by_date():
    # Placed Monday 2 March, no estimated delivery: ship by Wednesday 4 March + Thu 5, Fri 6, Mon 9
    # -> allowed from Tuesday 10 March.
    order = undelivered_order(estimated_delivery=None, ship_by=D(2026, 3, 4))
    message = refused(("can still arrive", fmt(D(2026, 3, 10))), order, when=last_moment(D(2026, 3, 9)),
                      reason="not_received")
    assert fmt(D(2026, 3, 4)) in message
    opened(order, when=first_moment(D(2026, 3, 10)), reason="not_received")


def test_not_received_buffer_follows_the_setting(settings):
    settings.CLAIM_NON_DELIVERY_BUFFER_BUSINESS_DAYS = 5
    order = undelivered_order(estimated_delivery=D(2026, 3, 5))  # Fri 6, Mon 9 .. Thu 12 -> Friday 13
    refused(("5 business days", fmt(D(2026, 3, 13))), order, when=berlin(D(2026, 3, 12)), reason="not_received")
    opened(order, when=first_moment(D(2026, 3, 13)), reason="not_received")


def test_not_received_for_digital_items_is_allowed_at_once():
    order = undelivered_order(digital=True, items=2)
    claim = opened(order, when=berlin(D(2026, 3, 2), 14), reason="not_received")  # the day it was placed
    assert claim.items.count() == 2


def test_not_received_for_the_digital_item_of_a_mixed_order():
    order = undelivered_order(estimated_delivery=D(2026, 3, 5))
    download = OrderItemFactory(order=order, is_digital=True, title="Licence key")
    when = berlin(D(2026, 3, 3))
    refused("can still arrive", order, when=when, reason="not_received")  # the physical item can still come
    claim = opened(order, when=when, reason="not_received", items=[download])
    assert list(claim.items.values_list("order_item_id", flat=True)) == [download.pk]


def test_not_received_is_refused_when_tracking_shows_delivery_to_the_order_address():
    order = undelivered_order(shipped=False)
    ShipmentFactory(order=order, delivered_at=DELIVERED_AT, delivered_to_order_address=True)
    refused("delivered to your address", order, when=berlin(D(2026, 3, 20)), reason="not_received")


def test_not_received_for_a_digital_item_when_the_parcel_of_the_order_was_delivered():
    # SPEC 4 covers "digital product cannot be downloaded"; the tracking of the parcel that carried the
    # physical items says nothing about the licence key, so it must not refuse a claim on the key alone.
    order = delivered_order()
    download = OrderItemFactory(order=order, is_digital=True, title="Licence key")
    when = berlin(D(2026, 3, 10))
    refused("delivered to your address", order, when=when, reason="not_received")  # the physical item arrived
    claim = opened(order, when=when, reason="not_received", items=[download])
    assert list(claim.items.values_list("order_item_id", flat=True)) == [download.pk]


def test_not_received_is_allowed_when_delivered_to_another_address():
    order = undelivered_order(shipped=False)
    ShipmentFactory(order=order, delivered_at=DELIVERED_AT, delivered_to_order_address=False)
    opened(order, when=first_moment(D(2026, 3, 11)), reason="not_received")


@pytest.mark.parametrize("outcome", ["repair", "discount"])
def test_not_received_asks_only_for_refund_or_replacement(outcome):
    order = undelivered_order()
    refused("refund or for the item to be sent again", order, when=berlin(D(2026, 3, 20)), reason="not_received",
            desired_outcome=outcome)


@pytest.mark.parametrize("outcome", ["refund", "replacement"])
def test_not_received_with_refund_or_replacement(outcome):
    claim = opened(undelivered_order(), when=berlin(D(2026, 3, 20)), reason="not_received", desired_outcome=outcome)
    assert claim.desired_outcome == outcome


def test_not_received_needs_no_photo():
    claim = opened(undelivered_order(), when=berlin(D(2026, 3, 20)), reason="not_received", evidence=[])
    assert claim.evidence.count() == 0


# --- photos ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", PHOTO_REASONS)
def test_photo_is_required_for_wrong_not_as_described_and_defective(reason):
    order = delivered_order()
    when = berlin(D(2026, 3, 10))
    refused("at least one photo", order, when=when, reason=reason, discovered_on=D(2026, 3, 9), evidence=[])
    claim = opened(order, when=when, reason=reason, discovered_on=D(2026, 3, 9), evidence=[photo()])
    assert claim.evidence.filter(kind="photo").count() == 1


# --- defective ------------------------------------------------------------------------------------------------


def test_defective_needs_the_discovery_date():
    refused("date you discovered the defect", delivered_order(), when=berlin(D(2026, 3, 10)), reason="defective",
            discovered_on=None)


def test_defective_discovery_date_not_in_the_future_in_berlin():
    order = delivered_order()
    # 23:30 on 10 March in Berlin: the 11th is still the future.
    refused("cannot be in the future", order, when=berlin(D(2026, 3, 10), 23, 30), reason="defective",
            discovered_on=D(2026, 3, 11))
    # 00:30 on 11 March in Berlin (still the 10th in UTC): the 11th is today.
    claim = opened(order, when=berlin(D(2026, 3, 11), 0, 30), reason="defective", discovered_on=D(2026, 3, 11))
    assert claim.discovered_on == D(2026, 3, 11)


def test_defective_discovery_date_not_before_delivery():
    order = delivered_order()  # delivered 5 March
    refused(("before the item was delivered", fmt(D(2026, 3, 5))), order, when=berlin(D(2026, 3, 10)),
            reason="defective", discovered_on=D(2026, 3, 4))
    opened(order, when=berlin(D(2026, 3, 10)), reason="defective", discovered_on=D(2026, 3, 5))


def test_defective_reported_within_one_month_of_discovery():
    order = delivered_order()
    refused(("within one month", fmt(D(2026, 3, 10)), fmt(D(2026, 4, 10))), order,
            when=first_moment(D(2026, 4, 11)), reason="defective", discovered_on=D(2026, 3, 10))
    claim = opened(order, when=last_moment(D(2026, 4, 10)), reason="defective", discovered_on=D(2026, 3, 10))
    assert claim.discovered_on == D(2026, 3, 10)


def test_defective_one_month_from_the_end_of_a_month():
    order = delivered_order()
    refused("within one month", order, when=berlin(D(2026, 5, 1)), reason="defective", discovered_on=D(2026, 3, 31))
    opened(order, when=berlin(D(2026, 4, 30)), reason="defective", discovered_on=D(2026, 3, 31))


@pytest.mark.parametrize(
    ("condition", "months", "last_day"),
    [("new", 24, D(2028, 3, 5)), ("like_new", 21, D(2027, 12, 5)), ("used", 12, D(2027, 3, 5))],
)
def test_defective_within_the_warranty_by_condition(condition, months, last_day):
    order = shop_order(condition=condition)  # delivered 5 March 2026
    item = order.items.get()
    assert item.warranty_months == months
    day_after = last_day + dt.timedelta(days=1)
    refused(("The warranty of", item.title, fmt(last_day)), order, when=berlin(day_after), reason="defective",
            discovered_on=day_after)
    opened(order, when=last_moment(last_day), reason="defective", discovered_on=last_day)


def test_defective_warranty_follows_the_sellers_policy():
    seller = SellerFactory()
    WarrantyPolicy.objects.filter(seller=seller).update(months_used=18)
    order = shop_order(condition="used", seller=seller)
    refused("warranty", order, when=berlin(D(2027, 9, 6)), reason="defective", discovered_on=D(2027, 9, 6))
    opened(order, when=berlin(D(2027, 9, 5)), reason="defective", discovered_on=D(2027, 9, 5))


def test_defective_warranty_counts_from_the_delivery_day_in_berlin():
    # Delivered at 00:30 on 1 March 2026 in Berlin (still 28 February in UTC).
    order = shop_order(condition="used", delivered_at=dt.datetime(2026, 2, 28, 23, 30, tzinfo=UTC),
                       placed_at=dt.datetime(2026, 2, 25, 9, 0, tzinfo=UTC),
                       shipped_at=dt.datetime(2026, 2, 26, 10, 0, tzinfo=UTC))
    refused("before the item was delivered", order, when=berlin(D(2026, 3, 10)), reason="defective",
            discovered_on=D(2026, 2, 28))
    opened(order, when=berlin(D(2027, 3, 1)), reason="defective", discovered_on=D(2027, 3, 1))


def test_defective_each_claimed_item_must_be_in_warranty():
    order = delivered_order(items=0)
    new = OrderItemFactory(order=order, condition="new", warranty_months=24, title="New phone")
    OrderItemFactory(order=order, condition="used", warranty_months=12, title="Used tablet")
    ShipmentFactory(order=order, delivered_at=DELIVERED_AT, delivered_to_order_address=True)
    when = berlin(D(2027, 6, 1))
    refused(("Used tablet", fmt(D(2027, 3, 5))), order, when=when, reason="defective", discovered_on=D(2027, 6, 1))
    opened(order, when=when, reason="defective", discovered_on=D(2027, 6, 1), items=[new])


def test_defective_business_buyer_gets_no_warranty_period():
    order = delivered_order(buyer_kind="business", items=0)
    OrderItemFactory(order=order, warranty_months=0, title="Office laptop")
    refused(("business purchase", "Office laptop"), order, when=berlin(D(2026, 3, 10)), reason="defective",
            discovered_on=D(2026, 3, 9))


def test_defective_business_buyer_through_the_shop_order():
    order = shop_order(buyer_kind="business")
    assert order.items.get().warranty_months == 0
    refused("business purchase", order, when=berlin(D(2026, 3, 10)), reason="defective", discovered_on=D(2026, 3, 9))


def test_defective_business_buyer_when_the_seller_grants_a_warranty():
    seller = SellerFactory()
    WarrantyPolicy.objects.filter(seller=seller).update(business_months=12)
    order = shop_order(buyer_kind="business", seller=seller)
    assert order.items.get().warranty_months == 12
    opened(order, when=berlin(D(2026, 12, 1)), reason="defective", discovered_on=D(2026, 12, 1))
    assert Claim.objects.count() == 1
    refused("warranty", shop_order(buyer_kind="business", seller=seller), when=berlin(D(2027, 6, 1)),
            reason="defective", discovered_on=D(2027, 6, 1))


def test_defective_business_buyer_still_covered_by_a_minimum_left_after_repair():
    order = delivered_order(buyer_kind="business", items=0)
    OrderItemFactory(order=order, warranty_months=0, warranty_minimum_until=D(2026, 9, 30))
    opened(order, when=berlin(D(2026, 9, 30)), reason="defective", discovered_on=D(2026, 9, 30))


def test_defective_warranty_extended_by_days_spent_in_claims():
    order = delivered_order(items=0)
    item = OrderItemFactory(order=order, warranty_months=24, warranty_extension_days=10)
    ShipmentFactory(order=order, delivered_at=DELIVERED_AT, delivered_to_order_address=True)
    # 5 March 2028 + 10 days = 15 March 2028.
    refused(("warranty of", fmt(D(2028, 3, 15))), order, when=berlin(D(2028, 3, 16)), reason="defective",
            discovered_on=D(2028, 3, 16))
    opened(order, when=berlin(D(2028, 3, 15)), reason="defective", discovered_on=D(2028, 3, 15), items=[item])


def test_defective_warranty_minimum_after_a_repair():
    order = delivered_order(items=0)
    OrderItemFactory(order=order, condition="used", warranty_months=12, warranty_minimum_until=D(2027, 9, 1))
    ShipmentFactory(order=order, delivered_at=DELIVERED_AT, delivered_to_order_address=True)
    refused(("warranty of", fmt(D(2027, 9, 1))), order, when=berlin(D(2027, 9, 2)), reason="defective",
            discovered_on=D(2027, 9, 2))
    opened(order, when=berlin(D(2027, 9, 1)), reason="defective", discovered_on=D(2027, 9, 1))


def test_defective_an_earlier_minimum_never_shortens_the_warranty():
    order = delivered_order(items=0)
    OrderItemFactory(order=order, condition="used", warranty_months=12, warranty_minimum_until=D(2026, 6, 1))
    ShipmentFactory(order=order, delivered_at=DELIVERED_AT, delivered_to_order_address=True)
    opened(order, when=berlin(D(2027, 3, 5)), reason="defective", discovered_on=D(2027, 3, 5))


def _repaired(order, *, opened_on: dt.date, returned_on: dt.date) -> Claim:
    """A defective claim the platform decides as a repair; the item comes back on `returned_on`."""
    claim = opened(order, when=berlin(opened_on), reason="defective", discovered_on=opened_on)
    agent = make_agent()
    with time_machine.travel(berlin(opened_on, 13), tick=False):
        services.escalate(claim=claim, by=agent, reason="Seller inaction")
        services.classify_defect(claim=claim, by=agent, defect_type="removable")  # a repair needs it
        services.decide(claim=claim, by=agent, outcome="repair", funded_by="seller")
    with time_machine.travel(berlin(returned_on), tick=False):
        services.receive_return(claim=claim, by=agent, inspection_result="as_expected")
    claim = Claim.objects.get(pk=claim.pk)
    assert claim.state == "resolved"
    assert claim.outcome == "repair"
    return claim


def test_defective_after_a_repair_at_least_six_months_of_warranty_remain():
    order = shop_order(condition="used")  # warranty until 5 March 2027
    _repaired(order, opened_on=D(2027, 2, 1), returned_on=D(2027, 2, 20))
    later = D(2027, 8, 20)  # six months after the repaired item was resolved
    opened(order, when=berlin(later), reason="defective", discovered_on=later)


def test_defective_after_a_repair_the_days_in_the_claim_extend_the_warranty():
    order = shop_order(condition="new")  # warranty until 5 March 2028
    _repaired(order, opened_on=D(2026, 6, 1), returned_on=D(2026, 6, 21))  # 20 days in the claim
    assert order.items.get().warranty_extension_days >= 20
    opened(order, when=berlin(D(2028, 3, 25)), reason="defective", discovered_on=D(2028, 3, 25))


def test_trial_after_a_repair_inside_the_trial_runs_at_least_14_more_days():
    order = delivered_order()  # delivered 5 March: trial until 4 April
    _repaired(order, opened_on=D(2026, 3, 20), returned_on=D(2026, 4, 1))
    opened(order, when=berlin(D(2026, 4, 15)), reason="trial_return")


def test_defective_without_a_recorded_delivery():
    order = undelivered_order()
    refused(("no delivery recorded", "Item not received"), order, when=berlin(D(2026, 3, 20)), reason="defective",
            discovered_on=D(2026, 3, 19))


# --- trial_return ---------------------------------------------------------------------------------------------


def test_trial_return_within_30_days_of_delivery():
    order = delivered_order()  # delivered 5 March -> last trial day 4 April
    message = refused(("trial period", fmt(D(2026, 4, 4)), "14-day right of withdrawal"), order,
                      when=first_moment(D(2026, 4, 5)), reason="trial_return")
    assert "Defective" in message
    claim = opened(order, when=last_moment(D(2026, 4, 4)), reason="trial_return", evidence=[])
    assert claim.reason == "trial_return"


def test_trial_return_counts_from_the_delivery_day_in_berlin():
    order = delivered_order(delivered_at=dt.datetime(2026, 3, 5, 23, 30, tzinfo=UTC))  # 6 March in Berlin
    opened(order, when=last_moment(D(2026, 4, 5)), reason="trial_return")


def test_trial_return_uses_the_sellers_trial_days():
    seller = SellerFactory()
    WarrantyPolicy.objects.filter(seller=seller).update(trial_days=45)
    order = delivered_order(seller=seller)  # 5 March + 45 days = 19 April
    refused(fmt(D(2026, 4, 19)), order, when=berlin(D(2026, 4, 20)), reason="trial_return")
    opened(order, when=berlin(D(2026, 4, 19)), reason="trial_return")


def test_trial_return_default_when_the_seller_has_no_policy(settings):
    seller = SellerFactory()
    WarrantyPolicy.objects.filter(seller=seller).delete()
    order = delivered_order(seller=seller)
    refused(fmt(D(2026, 4, 4)), order, when=berlin(D(2026, 4, 5)), reason="trial_return")
    opened(order, when=berlin(D(2026, 4, 4)), reason="trial_return")


def test_trial_return_extended_by_trial_minimum_after_a_repair():
    order = delivered_order(items=0)
    OrderItemFactory(order=order, trial_minimum_until=D(2026, 4, 20))
    ShipmentFactory(order=order, delivered_at=DELIVERED_AT, delivered_to_order_address=True)
    refused(("trial period", fmt(D(2026, 4, 20))), order, when=berlin(D(2026, 4, 21)), reason="trial_return")
    opened(order, when=berlin(D(2026, 4, 20)), reason="trial_return")


def test_trial_return_is_for_physical_products_only():
    order = delivered_order(items=0)
    OrderItemFactory(order=order, is_digital=True, title="E-book")
    refused(("physical products only", "E-book"), order, when=berlin(D(2026, 3, 10)), reason="trial_return")


def test_trial_return_needs_a_recorded_delivery():
    refused(("no delivery recorded", "30-day trial"), undelivered_order(), when=berlin(D(2026, 3, 10)),
            reason="trial_return")


def test_trial_return_delivery_to_another_address_is_not_receipt():
    order = undelivered_order(shipped=False)
    ShipmentFactory(order=order, delivered_at=DELIVERED_AT, delivered_to_order_address=False)
    refused("no delivery recorded", order, when=berlin(D(2026, 3, 10)), reason="trial_return")


# --- suspended seller -----------------------------------------------------------------------------------------


def test_a_claim_against_a_suspended_seller_goes_straight_to_the_platform():
    order = delivered_order(seller=SellerFactory(status="suspended"))
    when = berlin(D(2026, 3, 10))
    claim = Claim.objects.get(pk=open_(order, when=when, reason="wrong_item").pk)
    assert claim.state == "escalated"
    assert claim.escalation_cause == "seller_suspended"
    assert claim.escalated_at == when
    assert list(claim.transitions.order_by("id").values_list("name", "from_state", "to_state")) == [
        ("open", "", "awaiting_seller"), ("take_over", "awaiting_seller", "escalated")]


def test_a_suspended_seller_does_not_lift_the_eligibility_rules():
    order = delivered_order(seller=SellerFactory(status="suspended"))
    refused("trial period", order, when=berlin(D(2026, 5, 1)), reason="trial_return")
    refused("at least one photo", order, when=berlin(D(2026, 3, 10)), reason="wrong_item", evidence=[])

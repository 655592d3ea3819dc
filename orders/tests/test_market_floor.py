"""The market's floor on every order (SPEC section 10: "Consumer law sets floors that a seller's policy may only
exceed"): a consumer's item gets max(the seller's months for its condition, the statutory months of the delivery
country's market); a business buyer gets the seller's business warranty as before."""

import datetime as dt

import pytest

from markets.models import Market
from orders.models import OrderItem
from orders.services import create_order
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

PLACED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ADDRESS = {"delivery_name": "Ana", "delivery_line1": "Rua 1", "delivery_postal_code": "1000-001",
           "delivery_city": "Lisboa"}
_numbers = iter(range(1, 1000))


def months(country: str | None, condition: str, *, buyer_kind: str = "consumer", seller=None) -> int:
    fields = dict(ADDRESS)
    if country is not None:
        fields["delivery_country"] = country
    order = create_order(number=f"M-{next(_numbers)}", buyer=UserFactory(), seller=seller or SellerFactory(),
                         placed_at=PLACED, buyer_kind=buyer_kind,
                         items=[{"title": "Phone", "unit_price": "300.00", "condition": condition}], **fields)
    return order.items.get().warranty_months


def test_a_new_item_delivered_to_portugal_gets_three_years():
    # the seller gives 24 months; Decreto-Lei 84/2021 art. 12.º gives 36
    assert months("PT", "new") == 36


def test_a_like_new_item_in_slovakia_keeps_the_sellers_more_generous_21_months():
    assert Market.objects.get(country="SK").statutory_months("like_new") == 12
    assert months("SK", "like_new") == 21


def test_a_like_new_item_in_portugal_gets_36_and_a_used_one_18():
    # reconditioned goods keep the three years; for used goods the parties may agree on no less than 18 months
    assert months("PT", "like_new") == 36
    assert months("PT", "used") == 18


def test_in_germany_the_sellers_months_stand():
    assert [months("DE", condition) for condition in ("new", "like_new", "used")] == [24, 21, 12]


def test_a_seller_more_generous_than_the_market_keeps_its_months():
    generous = SellerFactory(warranty_policy__months_new=48)
    assert months("PT", "new", seller=generous) == 48


def test_the_delivery_country_decides_and_an_unknown_country_falls_back_to_the_home_market():
    assert months("pt", "new") == 36  # written in lower case by the shop
    assert months("FR", "new") == 24  # no French market: the home market (Germany)
    assert months(None, "new") == 24  # the model's default delivery country


def test_business_buyers_get_the_sellers_business_warranty_whatever_the_market():
    assert months("PT", "new", buyer_kind="business") == 0
    granting = SellerFactory(warranty_policy__business_months=12)
    assert months("PT", "new", buyer_kind="business", seller=granting) == 12


def test_a_market_changed_later_does_not_touch_items_already_sold():
    assert months("SK", "new") == 24
    sold = OrderItem.objects.get()
    Market.objects.filter(country="SK").update(warranty_months_new=30)
    assert months("SK", "new") == 30
    sold.refresh_from_db()
    assert sold.warranty_months == 24


def test_months_the_shop_gives_are_raised_to_the_floor_for_a_consumer_only():
    def given(country: str, given_months: int, *, buyer_kind: str = "consumer") -> int:
        order = create_order(number=f"M-{next(_numbers)}", buyer=UserFactory(), seller=SellerFactory(),
                             placed_at=PLACED, buyer_kind=buyer_kind, delivery_country=country,
                             items=[{"title": "Phone", "unit_price": "300.00", "condition": "new",
                                     "warranty_months": given_months}], **ADDRESS)
        return order.items.get().warranty_months

    assert given("PT", 24) == 36  # less than the law allows: the law's
    assert given("PT", 40) == 40  # more generous: the shop's
    assert given("PT", 6, buyer_kind="business") == 6  # business buyers have no statutory warranty

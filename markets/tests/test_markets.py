"""Markets as data (SPEC section 10): what `Market.clean` refuses, which market an order's delivery country finds,
and who may change a market in the support console. (The claim's policy snapshot per market is tested with the
claims: claims/tests/test_market_policy.py.)"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse

from markets.models import Market
from markets.selectors import from_settings, home_market, market_for

pytestmark = pytest.mark.django_db


def a_market(**fields) -> Market:
    values = dict(country="AT", name="Austria", currency="EUR", time_zone="Europe/Vienna", holiday_subdivision="",
                  languages="de,en", warranty_months_new=24, warranty_months_like_new=12, warranty_months_used=12,
                  warranty_claim_days=None, warranty_claim_max_days=None, dispute_window_days=100)
    values.update(fields)
    return Market(**values)


def errors_of(market: Market) -> dict[str, list[str]]:
    try:
        market.full_clean()
    except ValidationError as error:
        return error.message_dict
    return {}


# --- Market.clean -----------------------------------------------------------------------------------------------


def test_a_well_formed_market_passes_and_its_country_is_upper_cased():
    market = a_market(country="at", holiday_subdivision="9")
    assert errors_of(market) == {}
    assert market.country == "AT"


def test_the_seeded_markets_pass_their_own_checks():
    for market in Market.objects.all():
        assert errors_of(market) == {}, market.country


@pytest.mark.parametrize(("fields", "field", "phrase"), [
    ({"time_zone": "Europe/Atlantis"}, "time_zone", "is not a time zone"),
    ({"time_zone": "../../etc/passwd"}, "time_zone", "is not a time zone"),
    ({"country": "XX"}, "country", "no public-holiday calendar for XX"),
    ({"holiday_subdivision": "BY"}, "holiday_subdivision", "AT has no region BY"),
    ({"warranty_claim_days": 30, "warranty_claim_max_days": 20}, "warranty_claim_max_days", "cannot be shorter"),
    ({"languages": "de,xx"}, "languages", "language codes"),
    ({"languages": " , "}, "languages", "language codes"),
    ({"warranty_months_used": 6}, "warranty_months_used", "12"),
])
def test_clean_refuses(fields, field, phrase):
    errors = errors_of(a_market(**fields))
    assert field in errors, errors
    assert phrase in " ".join(errors[field])


def test_a_region_of_the_country_is_accepted():
    germany = Market.objects.get(country="DE")
    germany.holiday_subdivision = "BY"
    assert errors_of(germany) == {}


def test_a_maximum_equal_to_the_days_and_no_maximum_are_both_fine():
    assert errors_of(a_market(warranty_claim_days=30, warranty_claim_max_days=30)) == {}
    assert errors_of(a_market(warranty_claim_days=30, warranty_claim_max_days=None)) == {}


def test_the_statutory_months_by_condition():
    portugal = Market.objects.get(country="PT")
    assert portugal.warranty_months() == {"new": 36, "like_new": 36, "used": 18}
    assert portugal.language_codes == ["pt", "en"]


# --- market_for -------------------------------------------------------------------------------------------------


def test_each_delivery_country_finds_its_market_in_one_query(django_assert_num_queries):
    for country in ("DE", "PT", "SK", "sk"):
        with django_assert_num_queries(1):
            assert market_for(country).country == country.upper()


@override_settings(MARKETPLACE_COUNTRY="DE")
def test_a_country_without_a_market_belongs_to_the_home_market():
    assert market_for("FR").country == "DE"
    assert market_for(None).country == "DE"
    assert market_for("").pk == Market.objects.get(country="DE").pk
    assert home_market().country == "DE"


@override_settings(MARKETPLACE_COUNTRY="SK")
def test_the_home_market_follows_the_setting():
    assert market_for("FR").country == "SK"
    assert market_for("FR").warranty_claim_max_days == 60


@override_settings(MARKETPLACE_COUNTRY="DE", TIME_ZONE="Europe/Berlin", CLAIM_DISPUTE_WINDOW_DAYS=90,
                   WARRANTY_MONTHS_MINIMUM=12, MARKETPLACE_SUBDIVISION="BE")
def test_with_no_market_rows_at_all_the_settings_are_the_market():
    Market.objects.all().delete()
    market = market_for("SK")
    assert market.pk is None  # built, never saved
    assert (market.country, market.time_zone, market.subdivision) == ("DE", "Europe/Berlin", "BE")
    assert market.warranty_months() == {"new": 12, "like_new": 12, "used": 12}
    assert (market.warranty_claim_days, market.warranty_claim_max_days) == (None, None)
    assert market.dispute_window_days == 90
    assert home_market().pk is None
    assert from_settings().country == "DE"


# --- the console ------------------------------------------------------------------------------------------------


def _change_data(market: Market, **changes) -> dict[str, str]:
    fields = ["country", "name", "currency", "languages", "time_zone", "holiday_subdivision", "warranty_months_new",
              "warranty_months_like_new", "warranty_months_used", "warranty_claim_days", "warranty_claim_max_days",
              "dispute_window_days", "law"]
    data = {name: "" if getattr(market, name) is None else str(getattr(market, name)) for name in fields}
    data.update({name: str(value) for name, value in changes.items()})
    return data


def test_a_superuser_edits_a_market(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only"))
    slovakia = Market.objects.get(country="SK")
    url = reverse("admin:markets_market_change", args=[slovakia.pk])
    response = client.post(url, _change_data(slovakia, dispute_window_days=120))
    assert response.status_code == 302
    slovakia.refresh_from_db()
    assert slovakia.dispute_window_days == 120


def test_the_console_shows_clean_errors(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only"))
    slovakia = Market.objects.get(country="SK")
    url = reverse("admin:markets_market_change", args=[slovakia.pk])
    response = client.post(url, _change_data(slovakia, time_zone="Europe/Nowhere", warranty_claim_max_days=10))
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"time_zone", "warranty_claim_max_days"}
    slovakia.refresh_from_db()
    assert (slovakia.time_zone, slovakia.warranty_claim_max_days) == ("Europe/Bratislava", 60)


def test_an_agent_reads_a_market_and_cannot_change_it(client):
    agent = get_user_model().objects.create_user("agent", "agent@example.com", "pw-for-tests-only", is_staff=True)
    agent.groups.add(Group.objects.get(name="agents"))
    client.force_login(agent)
    slovakia = Market.objects.get(country="SK")
    url = reverse("admin:markets_market_change", args=[slovakia.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Bratislava" in page.content.decode()
    response = client.post(url, _change_data(slovakia, dispute_window_days=5))
    assert response.status_code == 403
    slovakia.refresh_from_db()
    assert slovakia.dispute_window_days == 100
    assert client.post(reverse("admin:markets_market_add"), _change_data(a_market())).status_code == 403
    assert not Market.objects.filter(country="AT").exists()


def test_nobody_deletes_a_market(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only"))
    slovakia = Market.objects.get(country="SK")
    response = client.post(reverse("admin:markets_market_delete", args=[slovakia.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Market.objects.filter(country="SK").exists()

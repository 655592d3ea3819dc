"""A seller's warranty policy may only be more generous than its market (SPEC section 10): `WarrantyPolicy.clean`
refuses months below the statutory months of the seller's own country's market, in the model and so in the support
console's seller page."""

from typing import Any

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from claims.tests.admin_factories import make_superuser
from sellers.models import WarrantyPolicy
from sellers.tests.factories import SellerFactory

pytestmark = pytest.mark.django_db

FLOOR_ERROR = "A seller's policy may only be more generous than its market"


def clean(country: str, **months: int) -> dict[str, list[str]]:
    seller = SellerFactory(country=country)
    policy = seller.warranty_policy
    for field, value in months.items():
        setattr(policy, field, value)
    try:
        policy.full_clean()
    except ValidationError as error:
        return error.message_dict
    return {}


def test_the_defaults_suit_germany_and_slovakia_but_not_portugal():
    assert clean("DE") == {}
    assert clean("SK") == {}
    errors = clean("PT")  # 24 / 21 / 12 against 36 / 36 / 18
    assert set(errors) == {"months_new", "months_like_new", "months_used"}
    assert FLOOR_ERROR in errors["months_new"][0]
    assert "Portugal" in errors["months_new"][0] and "36 months" in errors["months_new"][0]
    assert "18 months" in errors["months_used"][0]


def test_slovakia_refuses_less_than_24_months_on_new_goods_and_accepts_more():
    assert "24 months" in clean("SK", months_new=18)["months_new"][0]
    assert clean("SK", months_new=30, months_like_new=12, months_used=12) == {}


def test_a_portuguese_seller_at_the_floor_passes():
    assert clean("PT", months_new=36, months_like_new=36, months_used=18) == {}


def test_a_seller_from_a_country_without_a_market_answers_to_the_home_market():
    assert clean("FR", months_new=24, months_like_new=12, months_used=12) == {}
    assert "Germany" in clean("FR", months_new=20)["months_new"][0]


# --- the console -----------------------------------------------------------------------------------------------


def _post_data(response) -> dict[str, Any]:
    """What the browser would send back: the seller form and its inlines as rendered."""
    data: dict[str, Any] = {}

    def add(form) -> None:  # type: ignore[no-untyped-def]
        for name, field in form.fields.items():
            value = form[name].value()
            key = form.add_prefix(name)
            if isinstance(field, forms.BooleanField):
                if value:
                    data[key] = "on"
            elif value is not None:
                data[key] = value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    return data


def test_the_console_refuses_a_policy_below_the_market_and_saves_one_above(client):
    seller = SellerFactory(country="SK", display_name="Portelino")
    client.force_login(make_superuser())
    url = reverse("admin:sellers_seller_change", args=[seller.pk])
    data = _post_data(client.get(url))
    data["warranty_policy-0-months_new"] = "18"
    response = client.post(url, data)
    assert response.status_code == 200  # the page again, with the error
    errors = [error for inline in response.context["inline_admin_formsets"] for error in inline.formset.errors]
    assert any(FLOOR_ERROR in message for found in errors for message in found.get("months_new", [])), errors
    assert "A seller&#x27;s policy may only be more generous than its market" in response.content.decode()
    assert WarrantyPolicy.objects.get(seller=seller).months_new == 24

    data["warranty_policy-0-months_new"] = "30"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert WarrantyPolicy.objects.get(seller=seller).months_new == 30

"""Seller settlements: the finance team records a payment received from a seller (or what it owed offset against
its payouts) as a new, negative ledger entry, through sellers.services.record_settlement and the seller's page in
the console; amounts, currencies and people are checked, and the ledger stays append-only."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from claims.tests.admin_factories import make_console_agent, make_finance, make_plain_staff, make_superuser
from sellers import services
from sellers.models import LedgerEntry
from sellers.tests.factories import SellerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance():
    return make_finance(first_name="Frieda", last_name="Kasse")


@pytest.fixture
def seller():
    """A seller that owes the platform €120.00."""
    seller = SellerFactory()
    services.add_adjustment(seller=seller, by=make_console_agent(), amount=Decimal("120.00"), note="Fines")
    return seller


def test_a_payment_received_is_a_negative_settlement_entry(finance, seller):
    entry = services.record_settlement(seller=seller, by=finance, amount=Decimal("100.00"),
                                       note="SEPA transfer RF18 5390", method="payment_received")
    assert (entry.kind, entry.amount, entry.currency, entry.created_by) == ("settlement", Decimal("-100.00"), "EUR",
                                                                            finance)
    assert entry.note == "Payment received: SEPA transfer RF18 5390"
    assert seller.ledger_balance() == Decimal("20.00")
    entry = services.record_settlement(seller=seller, by=finance, amount="20", note="Payout 2026-04",
                                       method="offset")
    assert entry.note == "Offset against payouts: Payout 2026-04" and entry.amount == Decimal("-20.00")
    assert seller.ledger_balance() == Decimal("0.00")


@pytest.mark.parametrize(("amount", "message"), [
    ("0", "positive"),
    ("-5.00", "positive"),
    ("12.345", "two decimal places"),
    ("ten", "like 120.00"),
    ("NaN", "positive"),
    ("Infinity", "positive"),
    ("12345678901.00", "too large"),
    ("120.01", "owes €120.00"),
])
def test_the_amount_received_is_positive_in_cents_and_within_what_is_owed(finance, seller, amount, message):
    with pytest.raises(ValidationError, match=message):
        services.record_settlement(seller=seller, by=finance, amount=amount, note="Transfer")
    assert seller.ledger_entries.count() == 1


def test_currency_is_eur_or_one_of_the_sellers_ledger(finance, seller):
    with pytest.raises(ValidationError, match="no entries in USD"):
        services.record_settlement(seller=seller, by=finance, amount="10.00", note="Transfer", currency="USD")
    with pytest.raises(ValidationError, match="three-letter"):
        services.record_settlement(seller=seller, by=finance, amount="10.00", note="Transfer", currency="euro")
    services.add_adjustment(seller=seller, by=make_console_agent(), amount=Decimal("30.00"), note="Fine",
                            currency="PLN")
    entry = services.record_settlement(seller=seller, by=finance, amount="30.00", note="Transfer", currency="pln")
    assert (entry.currency, entry.amount) == ("PLN", Decimal("-30.00"))
    assert seller.ledger_balance() == Decimal("120.00")  # the EUR part: nothing settled there


def test_nothing_owed_nothing_to_settle(finance):
    seller = SellerFactory()
    with pytest.raises(ValidationError, match="owes nothing"):
        services.record_settlement(seller=seller, by=finance, amount="1.00", note="Transfer")


def test_a_note_and_a_known_method_are_needed(finance, seller):
    with pytest.raises(ValidationError, match="note"):
        services.record_settlement(seller=seller, by=finance, amount="1.00", note="   ")
    with pytest.raises(ValidationError, match="under 400"):
        services.record_settlement(seller=seller, by=finance, amount="1.00", note="x" * 401)
    with pytest.raises(ValidationError, match="how the amount was settled"):
        services.record_settlement(seller=seller, by=finance, amount="1.00", note="Cash", method="cash")


def test_only_the_finance_team_records_settlements(seller):
    agent = make_console_agent()  # may add ledger entries (adjustments), but does not manage payouts
    payouts_only = make_plain_staff()
    payouts_only.user_permissions.add(Permission.objects.get(codename="manage_payouts"))
    for who in (agent, payouts_only, make_plain_staff(), None):
        with pytest.raises(ValidationError, match="finance team") as refused:
            services.record_settlement(seller=seller, by=who, amount="10.00", note="Transfer")
        assert refused.value.code == "forbidden"
    assert services.record_settlement(seller=seller, by=make_superuser(), amount="10.00", note="Transfer")
    assert seller.ledger_entries.count() == 2


def test_settlements_are_append_only(finance, seller):
    entry = services.record_settlement(seller=seller, by=finance, amount="10.00", note="Transfer")
    entry.amount = Decimal("-1.00")
    with pytest.raises(TypeError, match="append-only"):
        entry.save()
    with pytest.raises(TypeError, match="append-only"):
        entry.delete()
    with pytest.raises(TypeError, match="append-only"):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=0)
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("-10.00")


# --- in the console -------------------------------------------------------------------------------------


def settle_url(seller) -> str:  # type: ignore[no-untyped-def]
    return reverse("admin:sellers_seller_act", kwargs={"object_id": seller.pk, "action": "settle"})


def test_finance_records_a_settlement_on_the_sellers_page(client, finance, seller):
    client.force_login(finance)
    page_url = reverse("admin:sellers_seller_change", args=[seller.pk])
    page = client.get(page_url).content.decode()
    assert settle_url(seller) in page
    assert reverse("admin:sellers_seller_act", kwargs={"object_id": seller.pk, "action": "suspend"}) not in page
    form = client.get(settle_url(seller)).content.decode()
    assert 'name="amount"' in form and 'value="offset"' in form and 'for="id_note"' in form
    response = client.post(settle_url(seller), {"amount": "100.00", "currency": "EUR", "method": "payment_received",
                                                "note": "SEPA RF18"})
    assert response.status_code == 302 and response["Location"] == page_url
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "The settlement was added to the ledger; the seller sees it on its statement."]
    entry = seller.ledger_entries.get(kind="settlement")
    assert entry.amount == Decimal("-100.00") and entry.created_by == finance
    assert LogEntry.objects.get(user=finance).change_message == "Settlement of €100.00: Payment received: SEPA RF18"
    page = client.get(page_url).content.decode()
    assert "Settlement" in page and "-€100.00" in page and "€20.00" in page  # the ledger and its balance


def test_a_refused_settlement_keeps_the_form(client, finance, seller):
    client.force_login(finance)
    response = client.post(settle_url(seller), {"amount": "500.00", "currency": "EUR", "method": "offset",
                                                "note": "Payout"})
    assert response.status_code == 400
    assert "a settlement cannot be more" in response.content.decode()
    response = client.post(settle_url(seller), {"amount": "-5", "currency": "EUR", "method": "offset", "note": "x"})
    assert response.status_code == 400
    assert seller.ledger_entries.count() == 1


def test_agents_do_not_record_settlements(client, seller):
    client.force_login(make_console_agent())
    page = client.get(reverse("admin:sellers_seller_change", args=[seller.pk])).content.decode()
    assert settle_url(seller) not in page
    assert client.get(settle_url(seller)).status_code == 403
    response = client.post(settle_url(seller), {"amount": "10.00", "currency": "EUR", "method": "offset",
                                                "note": "Payout"})
    assert response.status_code == 403 and seller.ledger_entries.count() == 1

"""The German translation: the buyer's pages and the login page in German, the language switcher and emails written
in the order's language. The catalogues of every language are checked in tests/test_translations.py."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse

from claims import services
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim, photo
from orders.tests.factories import OrderItemFactory
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LATER = OPENED_AT + dt.timedelta(hours=2)


def german(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    return client


def page(client, url, **extra):
    response = client.get(url, **extra)
    assert response.status_code == 200, url
    return response.content.decode()


def assert_german(html, present, absent):
    assert '<html lang="de">' in html
    for phrase in present:
        assert phrase in html, phrase
    for phrase in absent:
        assert phrase not in html, phrase


# --- pages ------------------------------------------------------------------------------------------------


@pytest.fixture
def world():
    world = claim_world("in_progress", defect_type="irremovable")  # a partial refund needs the type of defect
    with time_machine.travel(LATER, tick=False):
        services.make_offer(claim=world.claim, by=world.staff, kind="partial_refund", amount="20.00",
                            note="Sorry for the trouble.")
    return world


def test_the_buyers_pages_are_german_with_the_language_cookie(client, world):
    claim, order = world.claim, world.claim.order
    OrderItemFactory(order=order, title="Charger")  # unclaimed: Get help is offered for it (the other has a claim)
    german(client).force_login(world.buyer)
    with time_machine.travel(LATER + dt.timedelta(minutes=5), tick=False):
        orders = page(client, reverse("orders:list"))
        order_page = page(client, reverse("orders:detail", kwargs={"number": order.number}))
        get_help = page(client, reverse("claims:get_help", kwargs={"number": order.number}))
        claim_page = page(client, reverse("claims:detail", kwargs={"number": claim.number}))

    assert_german(orders, ["Meine Bestellungen", "1 Bestellung", "Verkauft von", "Abmelden",
                           "In Klärung mit dem Verkäufer", "Käuferschutz: Wenn der Verkäufer nicht innerhalb von "
                           "5 Werktagen reagiert"],
                  ["My orders", "Sold by", "Log out", "Buyer protection", "In progress with the seller"])
    assert_german(order_page, [f"Bestellung {order.number}", "Lieferadresse", "Gewährleistung bis",
                               "Rückgabe im Testzeitraum bis", "Probleme mit dieser Bestellung",
                               "Hilfe zu dieser Bestellung erhalten", f"Reklamation {claim.number}"],
                  ["Delivery address", "Warranty until", "Get help with this order", "Problems with this order"])
    assert_german(get_help, ["Hilfe zu Ihrer Bestellung", "Welche Artikel?", "Was ist schiefgelaufen?",
                             "Artikel nicht erhalten", "Defekt (Gewährleistung)", "Rückgabe im Testzeitraum",
                             "Was der Käuferschutz nicht abdeckt", "gesetzliches Widerrufsrecht",
                             "Welche Lösung wünschen Sie sich?", "Preisnachlass",
                             "Reklamation absenden"],
                  ["What went wrong?", "Item not received", "Send my claim", "right of withdrawal"])
    assert_german(claim_page, [f"Reklamation {claim.number}", "In Klärung mit dem Verkäufer",
                               "Sie klären die Sache gerade mit dem Verkäufer",
                               "Angebot des Verkäufers: Teilerstattung", "Angebot annehmen", "Angebot ablehnen",
                               "Bisheriger Verlauf", "Nachricht senden",
                               "Plattform einschalten", "Reklamation schließen: Mein Problem ist gelöst"],
                  ["Partial refund", "Accept the offer", "Decline the offer", "What happened so far", "Send a message",
                   "Ask the platform to step in", "You are working it out with the seller"])


def test_refusals_and_form_errors_of_get_help_are_german(client):
    order = delivered_order()
    german(client).force_login(order.buyer)
    url = reverse("claims:get_help", kwargs={"number": order.number})
    missing = client.post(url, {"description": ""}).content.decode()
    assert "Bitte wählen Sie aus, was schiefgelaufen ist." in missing
    assert "Bitte wählen Sie mindestens einen Artikel aus." in missing
    assert "Please choose what went wrong." not in missing
    with time_machine.travel(OPENED_AT, tick=False):  # a service refusal, translated when it is raised
        refused = client.post(url, {"items": [str(order.items.first().pk)], "reason": "not_received",
                                    "description": "Nothing came.", "desired_outcome": "refund"})
    assert refused.status_code == 400
    assert "Laut Sendungsverfolgung des Versanddienstleisters wurde diese Bestellung an Ihre Adresse zugestellt" \
        in refused.content.decode()


def test_the_claim_timeline_is_german(client, world):
    german(client).force_login(world.buyer)
    claim_page = page(client, reverse("claims:detail", kwargs={"number": world.claim.number}))
    assert "Reklamation eröffnet" in claim_page and "Claim opened" not in claim_page


def test_the_login_page_follows_accept_language(client):
    login = page(client, reverse("login"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    assert_german(login, ["Anmelden", "Benutzername", "Passwort", "Passwort vergessen?", "Zum Inhalt springen"],
                  ["Log in", "Username", "Forgot your password?"])
    english = page(client, reverse("login"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Forgot your password?" in english and "Passwort vergessen?" not in english


def test_a_failed_login_is_explained_in_german(client):
    response = german(client).post(reverse("login"), {"username": "nobody", "password": "wrong"})
    assert "Benutzername und Passwort passen nicht zusammen." in response.content.decode()


def test_the_language_switcher_sets_german_and_back(client):
    login_url = reverse("login")
    response = client.post(reverse("set_language"), {"language": "de", "next": login_url})
    assert response.status_code == 302 and response["Location"] == login_url
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert_german(page(client, login_url), ["Passwort vergessen?"], ["Forgot your password?"])
    assert 'value="de" selected' in page(client, login_url)

    client.post(reverse("set_language"), {"language": "en", "next": login_url})
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    english = page(client, login_url)
    assert '<html lang="en">' in english and "Forgot your password?" in english


# --- emails -----------------------------------------------------------------------------------------------


def receipts(order):
    return [m for m in mail.outbox if m.to == [order.buyer.email]]


def test_the_receipt_to_a_german_buyer_is_german(django_capture_on_commit_callbacks):
    order = delivered_order(language="de")
    with django_capture_on_commit_callbacks(execute=True):
        claim = open_defective_claim(order=order, description="Der Bildschirm flackert.", evidence=[photo()])
    [receipt] = receipts(order)
    assert receipt.subject == f"Wir haben Ihre Reklamation {claim.number} erhalten"
    text, html = receipt.body, receipt.alternatives[0][0]
    for body in (text, html):
        for phrase in ("Hallo ", "Dies ist die schriftliche Bestätigung Ihrer Reklamation", "Reklamationsnummer",
                       "Eingegangen am", "Defekt (Gewährleistung)", "Gewünschte Lösung", "Reparatur",
                       "Antwort des Verkäufers fällig bis", "Ihre Reklamation verfolgen", "Der Bildschirm flackert."):
            assert phrase in body, phrase
        for phrase in ("Hello", "written confirmation", "Claim number", "Requested resolution", "Follow your claim"):
            assert phrase not in body, phrase
    assert "Sie erhalten diese E-Mail, weil Sie an der Reklamation" in html
    assert "Di., 10. März" in text  # dates in German too

    # The seller's staff get theirs in the seller's language (English by default), from the same transaction.
    seller_mails = [m for m in mail.outbox if m not in receipts(order)]
    assert all(m.subject.startswith(f"New claim {claim.number}") for m in seller_mails)


def test_the_receipt_to_an_english_buyer_stays_english(django_capture_on_commit_callbacks):
    order = delivered_order(language="en")
    with django_capture_on_commit_callbacks(execute=True):
        claim = open_defective_claim(order=order)
    [receipt] = receipts(order)
    assert receipt.subject == f"We received your claim {claim.number}"
    assert "Reklamation" not in receipt.body


def test_later_emails_to_a_german_buyer_are_german(django_capture_on_commit_callbacks):
    order = delivered_order(language="de")
    claim = open_defective_claim(order=order)
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=claim.seller, role="staff")
    mail.outbox.clear()
    with time_machine.travel(LATER, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.make_offer(claim=claim, by=staff, kind="full_refund", note="Wir erstatten alles.")
    [offer_mail] = receipts(order)
    assert offer_mail.subject == f"Der Verkäufer hat Ihnen zur Reklamation {claim.number} ein Angebot gemacht"
    assert "Sie können das Angebot auf der Seite der Reklamation annehmen oder ablehnen." in offer_mail.body

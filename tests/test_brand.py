"""The marketplace's name (settings.MARKETPLACE_NAME) is the brand people see (issue 19: "The login page's brand shows
the host name"): the header of every page, the end of every page's <title> ("<page> · <name>"), the console's header
and titles, and every email's header, footer and sender (tests/test_email_snapshots.py, test_unsubscribe.py).
"""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from claims import unsubscribe
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import claim_world

pytestmark = pytest.mark.django_db
NAME = "Acme Märkte & Co"


@pytest.fixture
def brand(settings):
    settings.MARKETPLACE_NAME = NAME
    return NAME


def title_of(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, (response.request["PATH_INFO"], response.status_code)
    found = re.search(r"<title>(.*?)</title>", response.content.decode(), re.S)
    assert found, response.request["PATH_INFO"]
    return html.unescape(re.sub(r"\s+", " ", found.group(1)).strip())


def brand_link(response) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r'<a class="brand" href="/">(.*?)</a>', response.content.decode())
    assert found, response.request["PATH_INFO"]
    return html.unescape(found.group(1))


def test_the_login_page_shows_the_marketplace_not_the_host(brand):
    """Django's login view puts the request's host into `site_name`; the brand never reads it."""
    for host in ("testserver", "localhost"):
        response = Client(HTTP_HOST=host).get(reverse("login"))
        assert brand_link(response) == NAME
        assert title_of(response) == f"Log in · {NAME}"
        assert f">{host}<" not in response.content.decode()


def test_every_page_of_buyers_and_sellers_is_titled_page_then_marketplace(brand, settings):
    world = claim_world("in_progress")
    number = world.claim.number
    pages = {
        None: [reverse("login"), reverse("password_reset"), reverse("password_reset_done"), reverse("privacy"),
               unsubscribe.unsubscribe_url(user_id=world.buyer.pk, kind="messages")[len(settings.SITE_URL):]],
        world.buyer: [reverse("orders:list"), reverse("orders:detail", kwargs={"number": world.claim.order.number}),
                      reverse("claims:detail", kwargs={"number": number}), reverse("claims:my_claims"),
                      reverse("claims:notifications"), reverse("claims:email_preferences"),
                      reverse("accounts:security"), reverse("accounts:privacy")],
        world.staff: [reverse("sellers:queue"), reverse("sellers:claim", kwargs={"number": number}),
                      reverse("sellers:performance"), reverse("sellers:statements")],
    }
    for person, urls in pages.items():
        client = Client()
        if person is not None:
            client.force_login(person)
        for url in urls:
            response = client.get(url)
            title = title_of(response)
            page, _sep, name = title.rpartition(" · ")
            assert name == NAME and page and NAME not in page, (url, title)
            assert brand_link(response) == NAME, url


def test_the_console_is_branded_too(brand):
    world = claim_world("escalated")
    client = Client()
    client.force_login(make_console_agent())  # past the second factor (conftest.py)
    anonymous = title_of(Client().get(reverse("admin:login")))
    assert anonymous.endswith(f" · Support console · {NAME}"), anonymous
    for url in (reverse("admin:index"), reverse("admin:claims_claim_changelist"),
                reverse("admin:claims_claim_change", args=[world.claim.pk])):
        response = client.get(url)
        title = title_of(response)
        assert title.endswith(f" · Support console · {NAME}") and len(title) > len(NAME) + 20, (url, title)
        assert f"Support console · {html.escape(NAME)}</a>" in response.content.decode(), url  # the header

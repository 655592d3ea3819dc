"""The error pages (config.errors) with DEBUG off, as the test settings have it: 400, 403 (CSRF failures too), 404,
429 and 500 in the site's design and the reader's language, with a way back and the request's reference, which is
the X-Request-ID header and is in the log line of the error; the console's own design for its staff; the API's
problem details untouched. This module is also the URLconf of the tests that need a view that fails."""

import io
import logging
import re

import pytest
from django.db import OperationalError, connection, connections
from django.test import Client
from django.urls import path, reverse

from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import delivered_order
from config import urls as site_urls
from core import request_id
from sellers.models import MembershipRole, SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

LANGUAGES = ["de", "pt", "sk"]
REFERENCE = re.compile(r'<code class="request-id">([^<]+)</code>')


# --- a URLconf with views that fail ------------------------------------------------------------------------------


def broken(request):
    raise ZeroDivisionError("a bug")


def _refuse(*args, **kwargs):
    raise OperationalError("could not connect to server: Connection refused")


def database_gone(request):
    """The database goes away while the request runs: every query from here on fails, as in an outage."""
    connection.ensure_connection = _refuse
    raise OperationalError("server closed the connection unexpectedly")


urlpatterns = [
    path("broken/", broken),
    path("admin/broken/", database_gone),
    path("api/v1/broken/", broken),
    *site_urls.urlpatterns,
]
handler400, handler403 = site_urls.handler400, site_urls.handler403
handler404, handler500 = site_urls.handler404, site_urls.handler500
failing_views = pytest.mark.urls(__name__)


@pytest.fixture
def outage():
    yield
    connections["default"].__dict__.pop("ensure_connection", None)


@pytest.fixture
def log_output():
    """What the configured console handler (settings.LOGGING) writes: the lines an operator reads."""
    [handler] = [h for h in logging.getLogger().handlers
                 if any(isinstance(f, request_id.RequestIdFilter) for f in h.filters)]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def in_language(client, language):
    client.cookies["django_language"] = language
    return client


def reference_of(response):
    [reference] = REFERENCE.findall(response.content.decode())
    assert reference == response["X-Request-ID"]
    return reference


def templates(response):
    return [t.name for t in response.templates]


def links(response):
    return re.findall(r'<ul class="actions ways-back">(.*?)</ul>', response.content.decode(), re.S)[0]


# --- 404 -----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_page_that_does_not_exist_is_answered_in_the_readers_language(client, language):
    response = in_language(client, language).get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert "error_page.html" in templates(response) and "base.html" in templates(response)
    assert re.fullmatch(r"[0-9a-f]{16}", reference_of(response))
    assert f'href="{reverse("login")}"' in links(response)  # not logged in: the way in


@pytest.mark.django_db
def test_the_404_is_german_where_the_words_are_translated(client):
    html = in_language(client, "de").get("/no-such-page/").content.decode()
    assert "Seite nicht gefunden" in html and "Zum Inhalt springen" in html and "Page not found" not in html


@pytest.mark.django_db
def test_the_way_back_is_each_persons_start_page(client):
    buyer = delivered_order().buyer
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=SellerFactory(), role=MembershipRole.STAFF)
    agent = make_console_agent()
    for user, start in ((buyer, "orders:list"), (staff, "sellers:queue"), (agent, "admin:index")):
        client.force_login(user)
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert f'href="{reverse(start)}"' in links(response), user
        # the home page sends them to the same place
        assert client.get(reverse("home"))["Location"] == reverse(start)


@pytest.mark.django_db
def test_the_previous_page_is_offered_when_it_is_one_of_ours(client):
    came_from = "http://testserver" + reverse("privacy")
    ours = client.get("/no-such-page/", HTTP_REFERER=came_from)
    assert f'href="{came_from}"' in links(ours)
    elsewhere = client.get("/no-such-page/", HTTP_REFERER="https://evil.example/phish")
    assert "evil.example" not in elsewhere.content.decode()
    itself = client.get("/no-such-page/", HTTP_REFERER="http://testserver/no-such-page/")
    assert links(itself).count("<li>") == 1


# --- 403, 400, 429 -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_refused_page_says_why_with_the_reference(client, language):
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=SellerFactory(), role=MembershipRole.STAFF)
    in_language(client, language).force_login(staff)
    response = client.get(reverse("sellers:api_keys"))
    assert response.status_code == 403
    assert f'<html lang="{language}">' in response.content.decode()
    assert "error_page.html" in templates(response)
    reference_of(response)
    assert f'href="{reverse("sellers:queue")}"' in links(response)


@pytest.mark.django_db
def test_the_refusals_own_sentence_is_shown(client):
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=SellerFactory(), role=MembershipRole.STAFF)
    client.force_login(staff)
    html = client.get(reverse("sellers:api_keys")).content.decode()
    assert "Only the shop&#x27;s owner manages its API keys and webhooks." in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_form_refused_for_its_csrf_token_gets_the_403_page(language):
    client = in_language(Client(enforce_csrf_checks=True), language)
    response = client.post(reverse("login"), {"username": "someone", "password": "secret"})
    assert response.status_code == 403
    html = response.content.decode()
    assert f'<html lang="{language}">' in html and "error_page.html" in templates(response)
    reference_of(response)
    assert 'href="/accounts/login/"' in links(response)


@pytest.mark.django_db
def test_the_csrf_page_explains_the_form_not_the_account(client):
    refused = Client(enforce_csrf_checks=True).post(reverse("login"), {"username": "someone"})
    html = refused.content.decode()
    assert "The form could not be sent" in html and "Your account does not give you access" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_request_for_a_host_we_do_not_serve_gets_the_400_page(client, language):
    response = in_language(client, language).get("/", HTTP_HOST="not-ours.example")
    assert response.status_code == 400
    assert f'<html lang="{language}">' in response.content.decode()
    assert "error_page.html" in templates(response)
    reference_of(response)
    assert f'href="{reverse("login")}"' in links(response)


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_too_many_attempts_in_the_same_design_with_the_reference(client, settings, language):
    settings.PASSWORD_RESET_ADDRESS_LIMIT = 1
    in_language(client, language)
    client.post(reverse("password_reset"), {"email": "a@example.com"})
    response = client.post(reverse("password_reset"), {"email": "a@example.com"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert f'<html lang="{language}">' in response.content.decode()
    assert {"429.html", "error_page.html"} <= set(templates(response))
    reference_of(response)
    assert f'href="{reverse("login")}"' in links(response)


# --- 500 -----------------------------------------------------------------------------------------------------------


@failing_views
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_500_page_needs_no_database(client, language, log_output):
    """No django_db mark: a query anywhere while the page is drawn (a context processor, the session, the user) fails
    the test."""
    client.raise_request_exception = False
    response = in_language(client, language).get("/broken/", HTTP_REFERER="http://testserver/privacy/")
    assert response.status_code == 500
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert templates(response)[0] == "500.html" and "base.html" not in templates(response)
    reference = reference_of(response)
    assert f'href="{reverse("home")}"' in links(response)
    assert 'href="http://testserver/privacy/"' in links(response)
    # The operator finds it by the reference: the line of the error, with its traceback.
    logged = log_output.getvalue()
    line = next(line for line in logged.splitlines() if "Internal Server Error: /broken/" in line)
    assert f"[{reference}]" in line and "ZeroDivisionError: a bug" in logged


@failing_views
def test_the_500_page_is_german_where_the_words_are_translated(client):
    client.raise_request_exception = False
    html = in_language(client, "de").get("/broken/").content.decode()
    assert "Zum Inhalt springen" in html and "Skip to content" not in html


@failing_views
@pytest.mark.django_db
def test_the_consoles_500_page_when_the_database_is_gone(client, outage, log_output):
    agent = make_console_agent()
    client.force_login(agent)
    client.raise_request_exception = False
    response = in_language(client, "sk").get("/admin/broken/")
    assert response.status_code == 500
    assert '<html lang="sk"' in response.content.decode()
    assert templates(response)[:2] == ["admin/error_page.html", "admin/base_site.html"]
    reference = reference_of(response)
    assert f'href="{reverse("admin:index")}"' in links(response)
    assert f"[{reference}]" in log_output.getvalue()


@failing_views
def test_the_apis_500_stays_problem_details(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/broken/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "server-error"
    assert re.fullmatch(r"[0-9a-f]{16}", response["X-Request-ID"])


@pytest.mark.django_db
def test_the_apis_404_stays_problem_details(client):
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json" and response.json()["code"] == "not-found"
    assert response["X-Request-ID"]


# --- the console ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_consoles_404_in_the_consoles_design(client, language):
    in_language(client, language).force_login(make_console_agent())
    response = client.get("/admin/claims/no-such-table/")
    assert response.status_code == 404
    html = response.content.decode()
    assert f'<html lang="{language}"' in html
    assert "admin/error_page.html" in templates(response) and "base.html" not in templates(response)
    assert 'id="user-tools"' in html  # the console's header, with the agent's links
    reference_of(response)
    assert f'href="{reverse("admin:index")}"' in links(response)


@pytest.mark.django_db
def test_the_consoles_403_in_the_consoles_design(client):
    client.force_login(make_console_agent())
    response = client.get(reverse("admin:core_auditevent_changelist"))  # superusers only
    assert response.status_code == 403
    assert "admin/error_page.html" in templates(response)
    reference_of(response)


@pytest.mark.django_db
def test_the_consoles_400_in_the_consoles_design(client):
    client.force_login(make_console_agent())
    # A lookup the list does not offer (Django's DisallowedModelAdminLookup, a SuspiciousOperation).
    response = client.get(reverse("admin:claims_claim_changelist") + "?buyer__password__startswith=md5")
    assert response.status_code == 400
    assert "admin/error_page.html" in templates(response)
    reference_of(response)


# --- the reference -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sane_incoming_request_id_is_kept(client):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="lb-7f3e2a91.c4_d")
    assert response["X-Request-ID"] == "lb-7f3e2a91.c4_d" == reference_of(response)


@pytest.mark.django_db
@pytest.mark.parametrize("incoming", ["short", "x" * 129, "has space-0123", "<script>alert(1)</script>",
                                      "line\r\nX-Evil: 1"])
def test_an_insane_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID=incoming)
    assert re.fullmatch(r"[0-9a-f]{16}", response["X-Request-ID"]) and reference_of(response)


@pytest.mark.django_db
def test_every_answer_carries_its_own_reference(client):
    first, second = client.get(reverse("login")), client.get(reverse("login"))
    assert first.status_code == second.status_code == 200
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_log_lines_outside_a_request_say_so():
    record = logging.LogRecord("claims.tasks", logging.INFO, __file__, 1, "swept", None, None)
    request_id.RequestIdFilter().filter(record)
    assert record.request_id == "-"

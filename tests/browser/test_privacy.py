"""Privacy in a real browser (issue 18): the buyer follows the footer to the privacy notice and on to their own
privacy page, downloads their data (a ZIP), asks for erasure; an agent erases it in the console, and the buyer can no
longer log in; a superuser reads and filters the audit log. axe-core on every page, the buyer's pages at a phone's
width too (screenshots in /tmp/i18/shots/ when that folder exists)."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import ErasureRequest, ErasureState
from claims import services
from claims.tests.admin_factories import make_console_agent, make_superuser
from claims.tests.factories import delivered_order, photo
from core import audit
from core.models import AuditKind
from sellers.tests.factories import UserFactory
from tests.browser.conftest import assert_accessible, log_in

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/i18/shots")  # noqa: S108 - only written to when that folder exists (the issue's review)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 900}


def shot(page, name: str) -> None:
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def at_phone_width(page, name: str) -> None:
    page.set_viewport_size(PHONE)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= PHONE["width"], f"{name} scrolls sideways on a phone ({scroll}px)"
    assert_accessible(page, f"{name} (phone)")
    shot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_the_buyer_downloads_and_asks_for_erasure_and_an_agent_erases(page):
    buyer = UserFactory(first_name="Zelphine", last_name="Quarrington", email="zelphine@example.net")
    order = delivered_order(buyer=buyer, delivered_at=timezone.now() - timezone.timedelta(days=10))
    claim = services.open_claim(order=order, buyer=buyer, reason="defective", description="The hinge is cracked.",
                                desired_outcome="repair", discovered_on=timezone.localdate(), evidence=[photo()])
    services.close(claim=claim, by=buyer)

    log_in(page, buyer)
    page.click("footer.site a:has-text('Privacy')")
    page.wait_for_url("**/privacy/")
    assert page.locator("h1").inner_text() == "Privacy: what we keep, why and for how long"
    assert "Until 24 months after the claim was closed" in page.inner_text("#evidence")
    assert_accessible(page, "privacy notice")
    shot(page, "privacy-notice")
    at_phone_width(page, "privacy-notice")

    page.click("#rights a:has-text('Go to your privacy page')")
    page.wait_for_url("**/account/privacy/")
    assert_accessible(page, "privacy page")
    shot(page, "privacy-page")
    at_phone_width(page, "privacy-page")

    with page.expect_download() as waiting:
        page.click("button:has-text('Download my data (ZIP)')")
    download = waiting.value
    assert download.suggested_filename.startswith("my-data-") and download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    assert json.loads(archive.read("account.json"))["email"] == "zelphine@example.net"
    [claimed] = json.loads(archive.read("claims.json"))
    assert claimed["number"] == claim.number and claimed["description"] == "The hinge is cracked."
    assert any(name.startswith(f"evidence/{claim.number}/") for name in archive.namelist())

    page.once("dialog", lambda dialog: dialog.accept())  # "Ask us to erase your data? …"
    page.click("button:has-text('Ask to erase my data')")
    page.wait_for_load_state()
    assert "We received your request." in page.inner_text("main .messages")
    assert "You asked us to erase your data on" in page.inner_text("#erasure")
    assert page.locator("button:has-text('Ask to erase my data')").count() == 0
    assert_accessible(page, "privacy page, request waiting")
    at_phone_width(page, "privacy-page-requested")
    request = ErasureRequest.objects.get(user=buyer, state=ErasureState.PENDING)

    agent_page = page.context.browser.new_context(viewport=DESKTOP, base_url=page.url.split("/account/")[0]).new_page()
    agent = make_console_agent()
    log_in(agent_page, agent)
    agent_page.goto("/admin/accounts/erasurerequest/")
    assert_accessible(agent_page, "erasure requests")
    agent_page.click(f"a[href='/admin/accounts/erasurerequest/{request.pk}/change/']")
    assert "Nothing: no claim is open" in agent_page.inner_text("#content")
    assert_accessible(agent_page, "erasure request")
    shot(agent_page, "console-erasure-request")
    agent_page.click("a.button:has-text('Erase now')")
    agent_page.check("#id_confirm")
    assert_accessible(agent_page, "erase now")
    agent_page.click("#console-action-form input[type=submit]")
    agent_page.wait_for_load_state()
    assert "personal data was erased" in agent_page.inner_text(".messagelist")
    shot(agent_page, "console-erased")
    agent_page.context.close()

    request.refresh_from_db()
    assert request.state == ErasureState.DONE
    page.goto("/orders/")  # the buyer's session ended with the erasure
    page.wait_for_url("**/accounts/login/**")


def test_a_superuser_reads_and_filters_the_audit_log(page):
    buyer = UserFactory()
    request = ErasureRequest.objects.create(user=buyer)
    audit.record(AuditKind.ERASURE_REQUESTED, actor=buyer, obj=request)
    audit.record(AuditKind.LOGIN_FAILED, subject=buyer, summary="wrong password")
    superuser = make_superuser()
    log_in(page, superuser)
    page.goto("/admin/core/auditevent/")
    assert_accessible(page, "audit log")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() >= 3  # the two above and the superuser's own login
    page.click("#changelist-filter a:has-text('Login failed')")
    page.wait_for_load_state()
    assert rows.count() == 1 and "wrong password" in rows.first.inner_text()
    page.fill("#searchbar", str(buyer.pk))
    page.click("#changelist-search input[type=submit]")
    page.wait_for_load_state()
    assert rows.count() == 1
    shot(page, "console-audit-log")
    assert_accessible(page, "audit log, filtered")

"""What changes on a page by itself, and what a form says after it is sent (WCAG 2.2.2 and 4.1.3), in a real browser.

Countdowns (static/js/countdown.js) change at most once a minute, in days, hours and minutes (never seconds), and are
no live region: nothing is announced while the clock runs. The browser's clock is Playwright's (page.clock), so ten
minutes pass in an instant; the server's is the real one.

Upload progress (static/js/upload.js) is said in the form's status region at each quarter and when everything is
sent, never at every percent; an interrupted upload is an alert. A form's result after it is sent is a live region:
done and saved in role="status", what went wrong in role="alert" (the site's messages, the form's errors, the
console's messages).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image

from claims import services
from claims.models import Claim, Message
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import delivered_order, photo
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory
from tests.browser.conftest import MISSING_REFERENCES, log_in

pytestmark = pytest.mark.django_db(transaction=True)

LIVE = ("[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log], [role=timer], [role=marquee]")
WATCH_COUNTDOWNS = """() => {
  window.__changes = [];
  document.querySelectorAll("time.countdown").forEach((el, n) => {
    window.__changes[n] = 0;
    new MutationObserver((records) => { window.__changes[n] += records.length; })
      .observe(el, { childList: true, characterData: true, subtree: true });
  });
  return document.querySelectorAll("time.countdown").length;
}"""
SECONDS = re.compile(r"\d+\s*(s|sec|second|seconds|Sek\.?|seg\.?|s\.)(\W|$)")


def opened_claim() -> Claim:
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=10),
                            estimated_delivery=timezone.localdate() - dt.timedelta(days=10))
    SellerMembership.objects.create(user=UserFactory(), seller=order.seller, role="owner")
    return services.open_claim(order=order, buyer=order.buyer, reason="not_as_described",
                               description="Scratched screen, sold as new", desired_outcome="refund",
                               evidence=[photo()])


def countdown_texts(page: Any) -> list[str]:
    return page.locator("time.countdown").all_inner_texts()


def check_countdowns(page: Any, url: str) -> list[str]:
    """Open the page with the browser's clock 3 h 30 min 20 s before its first countdown's moment, let 11 minutes
    pass, and check what the countdowns did."""
    page.goto(url)
    due = dt.datetime.fromisoformat(page.locator("time.countdown").first.get_attribute("datetime"))
    page.clock.install(time=due - dt.timedelta(hours=3, minutes=30, seconds=20))
    page.reload()
    count = page.evaluate(WATCH_COUNTDOWNS)
    assert count >= 1, f"no countdown on {url}"
    announced = page.evaluate("(live) => [...document.querySelectorAll('time.countdown')]"
                              ".filter(el => el.closest(live)).length", LIVE)
    assert announced == 0, "a countdown is (inside) a live region: screen readers would announce it on every change"
    first = countdown_texts(page)
    assert all(not SECONDS.search(text) for text in first), first
    page.clock.run_for(59_000)
    assert page.evaluate("window.__changes").count(0) == count, "a countdown changed within its first minute"
    assert countdown_texts(page) == first
    page.clock.run_for(2_000)  # its first minute is over: the minutes go down by one
    changed = countdown_texts(page)
    assert changed != first and all(not SECONDS.search(text) for text in changed), (first, changed)
    page.clock.run_for(10 * 60_000)
    changes = page.evaluate("window.__changes")
    assert changes[0] >= 11 and all(n <= 11 for n in changes), f"changes in 11 minutes: {changes}"  # once a minute
    return first


def test_countdowns_change_once_a_minute_and_are_not_announced(page, live_server):
    claim = opened_claim()
    log_in(page, claim.buyer)
    first = check_countdowns(page, f"/claims/{claim.number}/")
    assert first[0].endswith("left") and "3" in first[0] and "30" in first[0], first

    # in German, the sentence around the time is the catalogue's ("noch …"), the units the browser's
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "de", "url": live_server.url}])
    page.goto(f"/claims/{claim.number}/")
    assert countdown_texts(page)[0].startswith("noch "), countdown_texts(page)

    staff = SellerMembership.objects.get(seller=claim.seller).user
    seller_page = page.context.browser.new_context(base_url=live_server.url).new_page()
    log_in(seller_page, staff)
    check_countdowns(seller_page, f"/seller/claims/{claim.number}/")
    seller_page.context.close()

    console = page.context.browser.new_context(base_url=live_server.url).new_page()
    log_in(console, make_console_agent())
    check_countdowns(console, f"/admin/claims/claim/{claim.pk}/change/")
    console.context.close()


RECORD_STATUS = """(id) => {
  // what the status region says, kept across the page being replaced by the response (sessionStorage)
  sessionStorage.setItem("said", "[]");
  const region = document.getElementById(id);
  new MutationObserver(() => {
    const said = JSON.parse(sessionStorage.getItem("said"));
    if (region.textContent && said[said.length - 1] !== region.textContent) { said.push(region.textContent); }
    sessionStorage.setItem("said", JSON.stringify(said));
  }).observe(region, { childList: true, characterData: true, subtree: true });
  return region.getAttribute("role");
}"""


def big_photo(path: str) -> str:
    """A photo of about 2 MB (noise compresses badly): uploading it at 1 MB/s takes a few seconds."""
    image = Image.frombytes("RGB", (1000, 800), os.urandom(1000 * 800 * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    with open(path, "wb") as file:
        file.write(buffer.getvalue())
    return path


def slow_upload(page: Any) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": 1_000_000})


def fill_get_help(page: Any) -> None:
    page.check("input[name=reason][value=not_as_described]")
    page.fill("#id_description", "The screen has a deep scratch; the listing said like new.")
    page.check("input[name=desired_outcome][value=refund]")


def test_upload_progress_and_the_result_are_announced(page, tmp_path):
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=5),
                            estimated_delivery=timezone.localdate() - dt.timedelta(days=5))
    log_in(page, order.buyer)
    page.goto(f"/orders/{order.number}/help/")
    fill_get_help(page)
    page.set_input_files("#id_photos", big_photo(str(tmp_path / "scratch.jpg")))
    assert page.evaluate(RECORD_STATUS, "upload-progress-status") == "status"
    slow_upload(page)
    page.click("form[data-progress] button[type=submit]")
    page.wait_for_selector("#receipt-title", timeout=60_000)
    said = page.evaluate("JSON.parse(sessionStorage.getItem('said'))")
    # each quarter at most once, then "sent": never a sentence per percent
    assert said[-1] == "All files are sent. Please wait while they are checked.", said
    assert 2 <= len(said) <= 5, said
    assert all(re.fullmatch(r"Uploading your files: (0|25|50|75) % sent\.", words) for words in said[:-1]), said
    # the result: the receipt of the claim is a polite status
    assert page.locator("[role=status]:has(#receipt-title)").count() == 1
    assert Claim.objects.filter(order=order).exists()


def test_an_interrupted_upload_is_an_alert(page, tmp_path):
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=5),
                            estimated_delivery=timezone.localdate() - dt.timedelta(days=5))
    log_in(page, order.buyer)
    page.goto(f"/orders/{order.number}/help/")
    fill_get_help(page)
    page.set_input_files("#id_photos", big_photo(str(tmp_path / "scratch.jpg")))
    page.route("**/help/", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
    page.click("form[data-progress] button[type=submit]")
    alert = page.locator("#upload-progress-status-alert")
    alert.wait_for()
    assert alert.get_attribute("role") == "alert"
    assert "The upload was interrupted" in alert.inner_text()
    assert page.locator("form[data-progress] button[type=submit]").is_enabled()
    assert page.locator("#upload-progress").is_hidden()
    assert not Claim.objects.filter(order=order).exists()


def test_form_errors_are_an_alert_and_every_field_is_described(page):
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=5),
                            estimated_delivery=timezone.localdate() - dt.timedelta(days=5))
    log_in(page, order.buyer)
    page.goto(f"/orders/{order.number}/help/")
    page.click("form[data-progress] button[type=submit]")  # no reason, no description, no outcome: refused
    page.wait_for_load_state()
    errors = page.locator("#form-errors")
    assert errors.get_attribute("role") == "alert"
    assert page.evaluate("document.activeElement.id") == "form-errors"
    assert page.locator(".errorlist").count() >= 1
    assert page.evaluate(MISSING_REFERENCES) == []
    # each field's description points at its help and, with an error, at the error itself
    described = page.evaluate("""() => [...document.querySelectorAll('[aria-describedby]')]
        .map(el => el.getAttribute('aria-describedby'))""")
    assert any("_helptext" in ids for ids in described) and any("_error" in ids for ids in described), described

    # the same on the claim page's message form and the seller's reply form, sent empty
    claim = opened_claim()
    log_in(page, claim.buyer)
    page.goto(f"/claims/{claim.number}/")
    # (the browser's own check of the required field set aside: the server's answer is what is looked at)
    page.evaluate("() => { document.querySelector(\"form[action$='/message/']\").noValidate = true; }")
    page.click("form[action$='/message/'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#id_body[aria-invalid=true]").count() == 1
    assert page.evaluate(MISSING_REFERENCES) == []
    log_in(page, SellerMembership.objects.get(seller=claim.seller).user)
    page.goto(f"/seller/claims/{claim.number}/")
    page.click("#action-reply button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#id_reply-body[aria-invalid=true]").count() == 1
    assert page.locator("#form-errors[role=alert]").count() == 1
    assert page.evaluate(MISSING_REFERENCES) == []


def submit_without_clicking(page: Any, action: str) -> None:
    """POST to `action` with the page's CSRF token, as a form the page does not offer now would."""
    with page.expect_navigation():
        page.evaluate("""(action) => {
            const form = document.createElement("form");
            form.method = "post"; form.action = action;
            form.appendChild(document.querySelector("input[name=csrfmiddlewaretoken]").cloneNode());
            document.body.appendChild(form); form.submit();
        }""", action)


def test_what_a_form_did_is_a_status_and_what_went_wrong_an_alert(page, browser, live_server):
    claim = opened_claim()
    log_in(page, claim.buyer)
    page.goto(f"/claims/{claim.number}/")
    page.fill("#id_body", "Could you send me a return label?")
    page.click("form[action$='/message/'] button[type=submit]")
    page.wait_for_load_state()
    assert Message.objects.filter(claim=claim, body="Could you send me a return label?").exists()
    status = page.locator("[role=status] .messages li.success")
    assert status.count() == 1 and status.inner_text()
    assert page.locator("[role=alert] .messages").count() == 0

    # asking the platform to step in before the seller's time is up is refused: an alert
    submit_without_clicking(page, f"/claims/{claim.number}/escalate/")
    alert = page.locator("[role=alert] .messages li.error")
    assert alert.count() == 1 and "You can ask us to step in from" in alert.inner_text()
    assert page.locator("[role=status] .messages li.error").count() == 0

    # the console says what an action did in a status too
    context = browser.new_context(base_url=live_server.url)
    console = context.new_page()
    log_in(console, make_console_agent())
    console.goto(f"/admin/claims/claim/{claim.pk}/act/escalate/")
    console.fill("textarea[name=reason]", "The buyer called: urgent.")
    console.click("#console-action-form input[type=submit]")
    console.wait_for_load_state()
    assert console.locator("[role=status] .messagelist li.success").count() == 1
    context.close()

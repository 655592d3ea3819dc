"""Real-browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Chromium comes from the system (`make test` installs it when missing and it can); Playwright never downloads
a browser. Outside CI a machine without Chromium skips these tests; in CI (CI=true) that is a failure.
"""

import functools
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# Playwright's sync API runs an event loop in this thread; the test code around it uses the ORM on purpose.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    missing = [what for what, ok in (("Chromium", Path(CHROMIUM).exists()), ("axe-core", AXE.exists())) if not ok]
    if not missing:
        return
    if os.environ.get("CI") == "true":
        return  # in CI they run regardless, and fail loudly if the browser is missing
    reason = f"{' and '.join(missing)} not installed (make test installs them)"
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


class InFlight:
    """The requests the live server is answering: its WSGI application, wrapped.

    A page closed by a test does not stop what the server is doing for it: the console's presence heartbeat, sent
    while Playwright's clock ran ten minutes, was still writing when pytest-django emptied the database after the test,
    and the flush failed on a foreign key. The page fixture waits here for the server to be done first."""

    def __init__(self, app) -> None:
        self.app = app
        self.count = 0
        self.changed = threading.Condition()

    def __call__(self, environ, start_response):
        self._add(1)
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._add(-1)
            raise
        return _Answer(result, functools.partial(self._add, -1))

    def _add(self, n: int) -> None:
        with self.changed:
            self.count += n
            self.changed.notify_all()

    def wait_until_idle(self, timeout: float = 15.0) -> None:
        """Until no request is being answered, and none started a moment later (one the server had accepted)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                if not self.changed.wait_for(lambda: self.count <= 0, timeout=max(0.0, deadline - time.monotonic())):
                    raise AssertionError(f"the live server still answers {self.count} request(s) after {timeout} s")
                self.changed.wait(timeout=0.05)
                if self.count <= 0:
                    return


class _Answer:
    """A response's body as the server sends it; the request is over when the server closes it (PEP 3333)."""

    def __init__(self, result, done) -> None:
        self.result, self.done = result, done

    def __iter__(self):
        return iter(self.result)

    def close(self) -> None:
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            self.done()


@pytest.fixture(scope="session")
def in_flight(live_server):
    server = live_server.thread.httpd
    requests = InFlight(server.get_app())
    server.set_app(requests)
    yield requests
    server.set_app(requests.app)


@pytest.fixture
def page(browser, request, live_server, in_flight):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        (ARTIFACTS / f"{request.node.name}.html").write_text(page.content())
    for other in browser.contexts:  # the test's own contexts too (a seller's, the console's) when it left them open
        other.close()
    in_flight.wait_until_idle()


def log_in(page, user, password="pw-for-tests-only", *, second_factor=True):
    """The login page, then (issue 18) the second factor: agents, the finance team and superusers get a confirmed
    authenticator app first when they have none, and the code it shows now is typed on the verification page (on a
    set-up page, the secret is read off the page). `second_factor=False` stops after the password."""
    from accounts.tests.two_factor_helpers import give_app, needs_verified_session

    if second_factor and needs_verified_session(user):
        give_app(user)
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    if second_factor:
        pass_second_factor(page, user, password)


def pass_second_factor(page, user, password="pw-for-tests-only"):
    """On the verification page: the code of the person's app. On the set-up page: the code of the secret it shows
    (and the password), then past the recovery codes. Anywhere else: nothing to do."""
    from accounts.tests.two_factor_helpers import code_for_secret, code_to_enter
    from accounts.two_factor import app_device

    if "/account/two-factor/verify/" in page.url:
        page.fill("#id_code", code_to_enter(app_device(user)))
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
    elif "/account/two-factor/setup/" in page.url:
        page.fill("#id_code", code_for_secret(page.inner_text("#totp-secret")))
        page.fill("#id_confirm", password)
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        page.click("text=I have saved them, continue")
        page.wait_for_load_state()


def log_out(page):
    page.click("header button:has-text('Log out')")
    page.wait_for_url("**/accounts/login/**")


# Rules axe-core leaves off by default that the site holds itself to: WCAG 2.2 AA's target size (2.5.8) and unique
# ids (what every aria-describedby/-labelledby/-controls reference relies on). The other rules off by default are
# AAA (enhanced contrast, identical links, meta refresh) or deprecated by axe itself.
AXE_OPTIONS = {"resultTypes": ["violations"],
               "rules": {rule: {"enabled": True} for rule in ("target-size", "duplicate-id", "duplicate-id-active")}}


def axe_violations(page) -> list[dict]:
    """axe-core on the page as rendered, with every rule it runs by default (WCAG 2.0/2.1/2.2 A and AA and its
    best practices) and those of AXE_OPTIONS, whatever their impact (minor and moderate too). No rule is
    disabled. Evaluated through the DevTools protocol, so the page's strict CSP (no inline script) stays on."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result = page.evaluate("async (options) => await axe.run(document, options)", AXE_OPTIONS)
    return result["violations"]


def violation_lines(violations: list[dict]) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}" for v in violations]


def assert_accessible(page, name):
    """axe-core on the page as rendered: no violation of any rule, whatever its impact."""
    bad = axe_violations(page)
    assert not bad, f"{name}: " + "; ".join(violation_lines(bad))


# Every id an ARIA attribute refers to must be on the page (an aria-describedby pointing at nothing describes nothing).
MISSING_REFERENCES = """() => {
  const missing = [];
  for (const attribute of ["aria-describedby", "aria-labelledby", "aria-controls", "aria-owns",
                           "aria-activedescendant", "aria-errormessage", "aria-details"]) {
    for (const el of document.querySelectorAll("[" + attribute + "]")) {
      for (const id of el.getAttribute(attribute).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) {
          missing.push(attribute + '="' + id + '" on <' + el.tagName.toLowerCase() +
                       (el.id ? " id=" + el.id : el.name ? " name=" + el.name : "") + ">");
        }
      }
    }
  }
  return missing;
}"""


@functools.cache
def axe_source() -> str:
    return AXE.read_text()


def screenshot_for_docs(page, name):
    """With DOCS_SCREENSHOTS=1 the suite refreshes the README's screenshots in docs/screenshots/."""
    if os.environ.get("DOCS_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"{name}.png"), full_page=True)

"""Targets of at least 24 × 24 CSS px (WCAG 2.5.8) and focus never hidden (WCAG 2.4.11) on the main pages of the buyer,
the seller dashboard and the console, on a phone (390 px wide) and on a desktop (1280 px).

Targets: every link, button, form field, summary and focusable element that is shown is measured; only a link inside
a sentence (inline, with other words in the same block) is exempt, as WCAG exempts it. Stricter than WCAG's spacing
exception on purpose: a small target is small, however much room is around it.

Focus: the keyboard goes through each page with Tab; each element focused must be in view (some part of it, as WCAG
2.4.11 asks: the part inside the window and inside every scrolling box around it), and the point at the centre of
that part must be the element itself (nothing drawn over it: `document.elementFromPoint`). A bar that stays on screen
(position sticky or fixed, across most of the width, at the top or the bottom) must be matched by the page's
scroll-padding, so that the browser scrolls what gets focus clear of it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from tests.browser.site_map import LANGUAGES, Page, all_pages, build_cast, log_in_as

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
# The main pages: (route, the page's `what` when one in particular, else the route's first page).
MAIN_PAGES = [
    ("login", ""), ("orders:list", ""), ("orders:detail", "DEMO-1021"), ("claims:get_help", "DEMO-1021"),
    ("claims:detail", "in_progress"), ("claims:detail", "awaiting_return"), ("claims:my_claims", ""),
    ("claims:notifications", ""), ("claims:email_preferences", ""), ("accounts:security", ""),
    ("sellers:queue", ""), ("sellers:claim", "awaiting_seller"), ("sellers:claim", "in_progress"),
    ("sellers:statements", ""), ("sellers:canned_replies", ""), ("sellers:webhooks", ""),
    ("admin:index", ""), ("admin:claims_claim_changelist", ""), ("admin:claims_claim_queue", ""),
    ("admin:claims_claim_change", "escalated"), ("admin:claims_claim_act", "decide"),
    ("admin:claims_refund_changelist", ""),
]

TARGETS = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], ' +
                   '[role=link], [tabindex]:not([tabindex="-1"])';
  function block(el) {
    let node = el.parentElement;
    while (node && getComputedStyle(node).display.startsWith("inline")) { node = node.parentElement; }
    return node || document.body;
  }
  function inSentence(el) {
    // a link in running text: inline, and its block has words besides the link's own
    if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") { return false; }
    const rest = block(el).textContent.replace(el.textContent, "");
    return /\\p{L}{2,}/u.test(rest);
  }
  function describe(el, r) {
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || el.name || "").trim().slice(0, 40);
    return "<" + el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
           (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
           "> " + JSON.stringify(text) + " " + Math.round(r.width * 10) / 10 + "×" + Math.round(r.height * 10) / 10 +
           " in " + where(el);
  }
  function where(el) {
    const box = el.parentElement.closest("[id], [class]");
    return box ? box.tagName.toLowerCase() + (box.id ? "#" + box.id : "." + box.classList[0]) : "body";
  }
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) { continue; }
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) { continue; }  // visually hidden: read by screen readers, not a target
    if (r.right + window.scrollX <= 0 || r.bottom + window.scrollY <= 0) { continue; }  // off-screen until focused
    if (inSentence(el)) { continue; }
    if (r.width < 23.95 || r.height < 23.95) { small.push(describe(el, r)); }
  }
  return small;
}"""

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) { return null; }
  // The part of the element one can see: each of its boxes (a link wrapped over two lines has two), cut to the window
  // and to every scrolling or clipping box around it. Not hidden (WCAG 2.4.11) means: some part of it is in view, and
  // at the centre of that part there is the element itself, nothing drawn over it.
  function visible(rect) {
    let box = { left: Math.max(rect.left, 0), top: Math.max(rect.top, 0),
                right: Math.min(rect.right, window.innerWidth), bottom: Math.min(rect.bottom, window.innerHeight) };
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.overflowX === "visible" && style.overflowY === "visible") { continue; }
      const clip = node.getBoundingClientRect();
      box = { left: Math.max(box.left, clip.left), top: Math.max(box.top, clip.top),
              right: Math.min(box.right, clip.right), bottom: Math.min(box.bottom, clip.bottom) };
    }
    return box.right - box.left >= 2 && box.bottom - box.top >= 2 ? box : null;
  }
  const name = "<" + el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "> " +
               JSON.stringify((el.innerText || el.value || el.getAttribute("aria-label") || el.name || "")
                 .trim().slice(0, 40));
  let shown = false, over = "";
  for (const rect of el.getClientRects()) {
    const box = visible(rect);
    if (!box) { continue; }
    shown = true;
    const hit = document.elementFromPoint((box.left + box.right) / 2, (box.top + box.bottom) / 2);
    if (hit && (hit === el || el.contains(hit))) {
      return { name: name, shown: true, clear: true, over: "", outline: getComputedStyle(el).outlineStyle };
    }
    over = hit ? "<" + hit.tagName.toLowerCase() + (hit.id ? "#" + hit.id : "") +
                 (typeof hit.className === "string" && hit.className ? "." + hit.className.split(" ")[0] : "") + ">"
               : "nothing";
  }
  return { name: name, shown: shown, clear: false, over: over, outline: getComputedStyle(el).outlineStyle };
}"""

BARS = """() => {
  // bars that stay on screen across most of the width, at the top or the bottom, and the scroll-padding for them
  const html = getComputedStyle(document.documentElement);
  const padding = { top: parseFloat(html.scrollPaddingTop) || 0, bottom: parseFloat(html.scrollPaddingBottom) || 0 };
  const bars = [];
  for (const el of document.querySelectorAll("body *")) {
    const position = getComputedStyle(el).position;
    if (position !== "sticky" && position !== "fixed") { continue; }
    if (!el.checkVisibility()) { continue; }
    const r = el.getBoundingClientRect();
    if (r.width < window.innerWidth / 2 || r.height === 0) { continue; }
    const edge = r.top <= 1 ? "top" : r.bottom >= window.innerHeight - 1 ? "bottom" : null;
    if (edge && r.height > padding[edge]) {
      bars.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + position + " at the " + edge + ", " +
                Math.round(r.height) + " px high, scroll-padding-" + edge + " " + padding[edge] + " px");
    }
  }
  return bars;
}"""


def main_pages(pages: list[Page]) -> list[Page]:
    chosen = []
    for route, what in MAIN_PAGES:
        found = next((page for page in pages if page.route == route and what in page.what), None)
        assert found is not None, f"no page {route} {what!r} in the site map"
        chosen.append(found)
    return chosen


@pytest.fixture
def chosen_pages():
    cast = build_cast()
    pages, _nobody = all_pages(cast)
    return cast, main_pages(pages)


def by_role(pages: list[Page]) -> dict[str, list[Page]]:
    grouped: dict[str, list[Page]] = {}
    for page in pages:
        grouped.setdefault(page.role, []).append(page)
    return grouped


def test_targets_are_at_least_24_px(browser, live_server, chosen_pages):
    """On a phone in every language (German, Portuguese and Slovak words are longer: the console's search label once
    squeezed its field to a few pixels in Portuguese), on a desktop in English."""
    cast, pages = chosen_pages
    small: list[str] = []
    for role, role_pages in by_role(pages).items():
        context = log_in_as(browser, live_server.url, cast, role)
        tab = context.pages[0]
        for device, size in WIDTHS.items():
            tab.set_viewport_size(size)
            for language in LANGUAGES if device == "phone" else ["en"]:
                context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language,
                                      "url": live_server.url}])
                for page in role_pages:
                    tab.goto(page.url)
                    small += [f"{page.label} on a {device} in {language}: {target}"
                              for target in tab.evaluate(TARGETS)]
        context.close()
    assert not small, "targets smaller than 24 × 24 px:\n" + "\n".join(small)


def tab_through(tab: Any, limit: int = 250) -> list[dict[str, Any]]:
    """What each press of Tab focuses, from the top of the page to the last focusable element."""
    tab.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        tab.keyboard.press("Tab")
        focused = tab.evaluate(FOCUSED)
        if focused is None:  # past the last element: the browser's own controls
            break
        seen.append(focused)
    return seen


def test_focus_is_never_hidden(browser, live_server, chosen_pages):
    cast, pages = chosen_pages
    hidden: list[str] = []
    bars: list[str] = []
    focused = 0
    for role, role_pages in by_role(pages).items():
        context = log_in_as(browser, live_server.url, cast, role)
        tab = context.pages[0]
        for device, size in WIDTHS.items():
            tab.set_viewport_size(size)
            for page in role_pages:
                tab.goto(page.url)
                bars += [f"{page.label} on a {device}: {bar}" for bar in tab.evaluate(BARS)]
                for step in tab_through(tab):
                    focused += 1
                    if not (step["shown"] and step["clear"]):
                        where = "outside the window" if not step["shown"] else f"under {step['over']}"
                        hidden.append(f"{page.label} on a {device}: {step['name']} is {where}")
                    if step["outline"] == "none":
                        hidden.append(f"{page.label} on a {device}: {step['name']} has no focus outline")
        context.close()
    assert focused > 500, focused  # the keyboard went through the pages
    assert not bars, "bars that would hide a focused element (no scroll-padding for them):\n" + "\n".join(bars)
    assert not hidden, "focus hidden:\n" + "\n".join(hidden)

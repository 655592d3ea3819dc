"""Every page of the site, in every language, checked by axe-core with all its rules (issue 19, WCAG 2.2 AA).

Which pages: the URLconf says (tests/browser/site_map.py). Each named route of the site is either a page of the site
map, opened as the person it is for, or a route of NOT_PAGES with the reason it is no page to read (it only takes a
POST, it is a file, JSON, a redirect); the console's pages come from the admin site's registry: every model's list,
add, change, history and delete page that one of the console's people may open (the others are listed as no one's),
every action page (`act/<action>/`) an object offers, and the console's own pages. `test_every_route_is_visited_or_
excluded` fails on a route that is in neither, so a new page cannot escape; `test_what_is_no_page_is_no_page` checks
the "POST only" reasons.

The data is the demo's (`claims.demo`: claims in every state, written through the services) and what the demo leaves
out. Each person logs in once, in a browser context of their own; the language is the `django_language` cookie. Each
route's page is checked in every language (en, de, pt, sk); its other pages (the claim pages of every other demo
claim, every other order, every other action) in one language each, taking turns; on PostgreSQL every page once, in
one language each (`visits`). On every page: axe-core with every rule (tests/browser/conftest.py, AXE_OPTIONS),
whatever the impact, and every id an aria-describedby, aria-labelledby or aria-controls names must be on the page.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import resolve, reverse

from accounts.tests.two_factor_helpers import give_app, mark_verified
from tests.browser.conftest import MISSING_REFERENCES, axe_source, axe_violations
from tests.browser.site_map import (
    API_PREFIX,
    API_REASON,
    LANGUAGES,
    NOT_PAGES,
    POST_ONLY,
    Page,
    all_pages,
    build_cast,
    log_in_as,
    named_routes,
)

pytestmark = pytest.mark.django_db(transaction=True)

# --- what a page is checked for --------------------------------------------------------------------------------

def check(tab: Any) -> list[tuple[str, str]]:
    """(rule, where) for every problem on the page: axe-core's violations and ARIA references to missing ids."""
    problems = [(f"{v['id']} ({v['impact']}): {v['help']}", str([n["target"] for n in v["nodes"]][:4]))
                for v in axe_violations(tab)]
    problems += [("aria reference to a missing id", where) for where in tab.evaluate(MISSING_REFERENCES)]
    return problems


# --- the tests -------------------------------------------------------------------------------------------------


def visited_and_excluded(pages: list[Page], nobody: dict[str, str]) -> tuple[set[str], dict[str, str]]:
    excluded = {**NOT_PAGES, **nobody}
    excluded.update({name: API_REASON for name in named_routes()
                     if name.startswith(API_PREFIX) and name not in excluded})
    return {page.route for page in pages}, excluded


def test_every_route_is_visited_or_excluded():
    cast = build_cast()
    pages, nobody = all_pages(cast)
    visited, excluded = visited_and_excluded(pages, nobody)
    routes = set(named_routes())
    missing = sorted(routes - visited - set(excluded))
    assert not missing, ("named routes neither visited by test_every_page_in_every_language nor excluded with a "
                         f"reason (NOT_PAGES): {missing}")
    both = sorted(visited & set(excluded))
    assert not both, f"routes visited and excluded at once: {both}"
    stale = sorted(set(NOT_PAGES) - routes)
    assert not stale, f"NOT_PAGES names routes that no longer exist: {stale}"
    # the pages' addresses are what they claim to be
    wrong = [f"{page.url} is {resolve(urlsplit(page.url).path).view_name}, not {page.route}"
             for page in pages if resolve(urlsplit(page.url).path).view_name != page.route]
    assert not wrong, wrong


def test_what_is_no_page_is_no_page():
    """A route excluded as taking only a POST refuses a GET (405) to a person logged in who may use it."""
    cast = build_cast()
    x = cast.extras
    claim = next(c for c in cast.claims if c.buyer.username == "buyer")
    offer_claim = next(c for c in cast.claims if c.offers.exists())
    values = {"number": claim.number, "offer_id": offer_claim.offers.first().pk, "endpoint_id": x["endpoint"].pk,
              "delivery_id": x["delivery"].pk}
    routes = named_routes()
    for name, reason in NOT_PAGES.items():
        if reason != POST_ONLY:
            continue
        parameters = re.findall(r"<(?:\w+:)?(\w+)>", routes[name])
        url = reverse(name, kwargs={p: values[p] for p in parameters})
        client = Client()
        user = cast.user("agent" if name.startswith("admin:") else "seller" if name.startswith("sellers:")
                         else "buyer")
        client.force_login(user)
        if name.startswith("admin:"):
            mark_verified(client, give_app(user))
        assert client.get(url).status_code == 405, f"{name} ({url}) answers a GET"


def visits(pages: list[Page], *, everywhere: bool = True) -> list[tuple[Page, str]]:
    """(page, language): a route's first page in every language; its other pages (the same page of other claims
    and orders, other actions) each in one language, taking turns, so every state is seen and in every language.

    Not everywhere (on PostgreSQL): every page once, in one language, taking turns. What a page says and how it is
    marked up does not depend on the database, and the SQLite run checks all of it in every language; the PostgreSQL
    run still opens every page, in every state, against the real database, for a fraction of the cost
    (245 pages where SQLite checks each route's in four languages)."""
    seen: dict[str, int] = defaultdict(int)
    planned = []
    for page in pages:
        n = seen[page.route]
        seen[page.route] += 1
        if everywhere:
            planned += [(page, language) for language in (LANGUAGES if n == 0 else [LANGUAGES[n % len(LANGUAGES)]])]
        else:
            planned.append((page, LANGUAGES[len(planned) % len(LANGUAGES)]))
    return planned


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_in_every_language(browser, live_server, language):
    """One language a test, so that the test processes share the work (all of it was seven minutes of one process)."""
    started = time.monotonic()
    cast = build_cast()
    pages, _nobody = all_pages(cast)
    planned = [page for page, lang in visits(pages, everywhere=connection.vendor != "postgresql") if lang == language]
    problems: dict[str, dict[tuple[str, str], list[str]]] = defaultdict(lambda: defaultdict(list))
    broken: list[str] = []
    checked = 0
    for role in dict.fromkeys(page.role for page in planned):
        context = log_in_as(browser, live_server.url, cast, role)
        # axe-core comes with every page (through the DevTools protocol, as evaluate does: the CSP stays on), which
        # spares evaluating its half megabyte afresh on each page
        context.add_init_script(script=axe_source())
        tab = context.pages[0]
        tab.set_default_navigation_timeout(60_000)  # a slow machine is slow, not broken
        context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
        for page in (p for p in planned if p.role == role):
            where = f"{page.label} as {role} in {language}"
            response = tab.goto(page.url)
            if response is None or response.status != page.status:
                broken.append(f"{where}: {response.status if response else 'no response'} at {tab.url}")
            elif resolve(urlsplit(tab.url).path).view_name != page.route:
                broken.append(f"{where}: ended at {tab.url}")
            elif tab.evaluate("document.documentElement.lang") != language:
                broken.append(f"{where}: the page is not in {language}")
            else:
                checked += 1
                for rule, nodes in check(tab):
                    problems[rule][(f"{page.label} as {role}", nodes)].append(language)
        context.close()
    elapsed = time.monotonic() - started
    print(f"\n{checked} pages checked in {language} ({len(pages)} pages, {len(planned)} in {language}) in "
          f"{elapsed:.0f} s")
    assert not broken and not problems, "\n".join(["Pages that did not open:", *broken, "", "Problems:",
                                                   *report(problems)])


def report(problems: dict[str, dict[tuple[str, str], list[str]]]) -> list[str]:
    """Each rule broken, with every page that breaks it (the languages it was seen in) and where on the page."""
    lines = []
    for rule, seen in problems.items():
        lines.append(f"{rule} — {len({page for page, _nodes in seen})} pages:")
        lines += [f"    {page} in {', '.join(languages)}: {nodes}" for (page, nodes), languages in seen.items()]
    return lines

"""Page latency under load: gunicorn on loopback against the bench database, driven by the load tool.

Per page: the SQL query count of one request (in-process test client, CaptureQueriesContext, after one
warm-up request), then for the page under load a warm-up run and a timed run of the load tool with a fixed
number of connections and a fixed duration. Pages whose URL does not exist (yet) are reported as "not
available" instead of failing the run.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from . import load, servers
from .common import Log
from .dataset import Dataset, People

ROOT = Path(__file__).resolve().parent.parent
SLOW_QUERY_MS = 20.0  # a page's slowest query is explained when it takes at least this long


@dataclasses.dataclass(frozen=True)
class Page:
    key: str
    title: str
    path: str | None  # None: not available in this build
    user: Any
    note: str = ""
    # A page that keeps what it computes in the cache for a while (the console overview): its query count and "one
    # request, no load" are measured with the cache cleared, so they show the full cost; the load run then sees what
    # production sees, a brief cache.
    cold: bool = False


def seller_queue_path() -> str | None:
    """The seller queue: `sellers:queue` if it exists, else whatever serves /seller/; None if nothing does."""
    try:
        return reverse("sellers:queue")
    except NoReverseMatch:
        pass
    try:
        resolve("/seller/")
    except Resolver404:
        return None
    return "/seller/"


def pages(people: People) -> list[Page]:
    def url(name: str, **kwargs: Any) -> str | None:
        try:
            return reverse(name, **kwargs)
        except NoReverseMatch:
            return None

    return [
        Page("seller_queue", "Seller queue (seller staff, 1 % of all claims)", seller_queue_path(),
             people.seller_staff),
        Page("buyer_claim", "Buyer claim page", url("claims:detail", kwargs={"number": people.claim_number}),
             people.buyer),
        Page("admin_changelist", "Admin claim changelist (agent)", url("admin:claims_claim_changelist"), people.agent),
        Page("admin_change", "Admin claim change page (agent)",
             url("admin:claims_claim_change", args=[people.claim_pk]), people.agent),
        Page("admin_overview", "Admin console home with the overview (agent)", url("admin:index"), people.agent,
             note="The overview's figures are cached for CONSOLE_OVERVIEW_CACHE_SECONDS (120 s) per process: "
                  "'queries' and 'one request, no load' are a request with the cache cleared, p50/p95 under load "
                  "mostly cached requests.", cold=True),
    ]


def session_cookie(client: Client) -> str:
    from django.conf import settings

    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def logged_in(user: Any) -> Client:
    """A client logged in as `user`, past the second factor when the user's role needs one (agents: issue 18), as
    `django_otp.login` leaves a session after a correct code. Without it the console answers every page with the
    redirect to the code page."""
    from accounts import two_factor
    from django.conf import settings
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    if two_factor.must_use_two_factors(user) or two_factor.has_two_factors(user):
        device = two_factor.app_device(user) or TOTPDevice.objects.create(
            user=user, name=two_factor.APP_DEVICE_NAME, confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


def query_count(page: Page) -> dict[str, Any]:
    client = logged_in(page.user)
    client.get(page.path)  # warm: imports, template compilation, the session row
    if page.cold:
        from django.core.cache import cache

        cache.clear()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get(page.path)
        elapsed = time.perf_counter() - started
    slowest = sorted(({"ms": float(q["time"]) * 1000, "sql": q["sql"]} for q in captured), key=lambda q: -q["ms"])[:3]
    for query in slowest[:1]:
        if query["ms"] >= SLOW_QUERY_MS and query["sql"].lstrip().upper().startswith("SELECT"):
            query["explain"] = explain(query["sql"])
    return {"status": response.status_code, "queries": len(captured), "bytes": len(response.content),
            "single_request_ms": elapsed * 1000, "cookie": session_cookie(client), "slowest_queries": slowest}


def explain(sql: str) -> str:
    """The plan of a slow read the page made (as captured, parameters inlined), to see what it misses."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)  # no parameters: nothing is substituted
        return "\n".join(row[0] for row in cursor.fetchall())


def measure(base: str, path: str, cookie: str, *, warmup: float, seconds: float, connections: int) -> dict[str, Any]:
    url = base + path
    status, size = servers.fetch(url, cookie)
    if status != 200:
        return {"status": status, "error": f"HTTP {status} before the load run"}
    load.run(url, cookie=cookie, seconds=warmup, connections=connections)
    result = load.run(url, cookie=cookie, seconds=seconds, connections=connections)
    return {"status": status, "bytes": size, **result}


def app_server(results_dir: Path, workers: int, database_url: str):  # type: ignore[no-untyped-def]
    return servers.gunicorn(
        executable=Path(sys.executable).parent / "gunicorn", app="config.wsgi:application", cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "bench.settings", "BENCH_DATABASE_URL": database_url},
        workers=workers, log_file=results_dir / "gunicorn-ours.log", ready_path="/accounts/login/")


def run(dataset: Dataset, *, size: int, results_dir: Path, workers: int, connections: int, warmup: float,
        seconds: float, goal_p50_ms: float, log: Log) -> dict[str, Any]:
    dataset.grow_to(size)
    people = dataset.create_people()
    rows = []
    cookies: dict[str, str] = {}
    for page in pages(people):
        row: dict[str, Any] = {"key": page.key, "title": page.title, "path": page.path, "note": page.note}
        if page.path is None:
            row["available"] = False
            row["note"] = "not available: no such URL in this build"
            log(f"pages: {page.title}: not available")
        else:
            row["available"] = True
            counted = query_count(page)
            cookies[page.key] = counted.pop("cookie")
            row.update(counted)
        rows.append(row)
    with app_server(results_dir, workers, dataset.url) as base:
        for row in rows:
            if not row["available"] or row["status"] != 200:
                continue
            row["load"] = measure(base, row["path"], cookies[row["key"]], warmup=warmup, seconds=seconds,
                                  connections=connections)
            measured = row["load"]
            if "p50_ms" in measured:
                row["met"] = measured["p50_ms"] <= goal_p50_ms and not measured["non_2xx"]
                log(f"pages: {row['title']}: p50 {measured['p50_ms']:.1f} ms, p95 {measured['p95_ms']:.1f} ms, "
                    f"{measured['rps']:.1f} req/s, {row['queries']} queries")
            else:
                row["met"] = False
                log(f"pages: {row['title']}: {measured.get('error')}")
    return {"open_claims": sum(n for s, n in dataset.counts().items() if s != "resolved"), "workers": workers,
            "connections": connections, "warmup_s": warmup, "seconds": seconds, "tool": load.tool(),
            "goal_p50_ms": goal_p50_ms, "pages": rows, "cookies": cookies}

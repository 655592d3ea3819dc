"""`make bench`: deadline sweep scaling, page latency under load, the upload path and django-helpdesk side by
side, on PostgreSQL, written to bench/results/ as Markdown and JSON. See bench/README.md.

    .venv/bin/python bench/run.py                  full size (1,000,000 claims), under 30 minutes
    .venv/bin/python bench/run.py --quick          small size (20,000 claims), a couple of minutes
    .venv/bin/python bench/run.py --only sweep     one phase (repeat --only for several)
    .venv/bin/python bench/run.py --keep           keep the bench databases afterwards for inspection
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.util
import os
import platform
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PHASES = ("sweep", "pages", "upload", "peer", "catchup")
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_claims"
DEFAULT_HELPDESK_URL = "postgres://postgres@127.0.0.1:5432/bench_helpdesk"


@dataclasses.dataclass(frozen=True)
class Size:
    name: str
    small: int  # open claims of the sweep's small case
    large: int  # open claims everywhere else: the sweep's large case, pages, the peer
    due: int
    warmup: float  # seconds of load before each measured page run
    seconds: float  # seconds of measured load per page
    upload_repeats: int
    catchup_due: int  # claims due after an outage, worked off by 1 and then 2 Celery workers


FULL = Size("full", small=10_000, large=1_000_000, due=1_000, warmup=5, seconds=20, upload_repeats=9,
            catchup_due=100_000)
QUICK = Size("quick", small=2_000, large=20_000, due=200, warmup=2, seconds=5, upload_repeats=5, catchup_due=2_000)
GOALS = {"sweep_ratio": 1.5, "page_p50_ms": 150.0, "upload_ratio": 1.5, "sweep_queries_per_claim": 3.0,
         "console_p50_ms": 100.0, "peer_due_work_ratio": 5.0, "catchup_seconds": 180.0}
WORKERS = 4  # gunicorn sync workers: two per core
CONNECTIONS = 4  # closed-loop connections of the load tool: every worker busy all the time

_started = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _started:7.1f} s] {message}", flush=True)


def ensure_tools() -> None:
    """gunicorn comes from bench/requirements.txt and wrk from Debian: `make bench` installs both."""
    if importlib.util.find_spec("gunicorn") is None:
        sys.exit("gunicorn is missing: run `make bench`, or `.venv/bin/pip install -r bench/requirements.txt`")
    if shutil.which("wrk") is None:
        log("wrk is not installed (`make bench` installs it as root): using the built-in Python load client")


def setup_django(url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["BENCH_DATABASE_URL"] = url
    # Run as `python bench/run.py`: import this folder as the package `bench`, not its modules as top-level ones.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def meta(size: Size, phases: list[str], workers: int, connections: int) -> dict[str, Any]:
    import django
    import psycopg

    from bench import load

    try:
        with psycopg.connect(os.environ["BENCH_DATABASE_URL"].rsplit("/", 1)[0] + "/postgres") as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.OperationalError:
        version = "unavailable"
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"size": size.name, "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "phases": phases, "cpus": os.cpu_count(), "memory_gb": memory, "postgres": f"PostgreSQL {version}",
            "python": platform.python_version(), "django": django.get_version(), "load_tool": load.tool(),
            "sizes": dataclasses.asdict(size), "goals": GOALS, "workers": workers, "connections": connections}


def main(argv: list[str] | None = None) -> int:  # noqa: C901 - the run's plan, in order
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (200 due among 2,000 vs 20,000)")
    parser.add_argument("--keep", action="store_true", help="keep bench_claims and bench_helpdesk afterwards")
    parser.add_argument("--only", action="append", choices=PHASES, help="run only this phase (repeatable)")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"gunicorn workers (default {WORKERS})")
    parser.add_argument("--connections", type=int, default=CONNECTIONS,
                        help=f"load tool connections (default {CONNECTIONS})")
    parser.add_argument("--duration", type=float, help="measured seconds per page (default 20, --quick 5)")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    if args.duration:
        size = dataclasses.replace(size, seconds=args.duration)
    phases = [p for p in PHASES if not args.only or p in args.only]
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    helpdesk_url = os.environ.get("BENCH_HELPDESK_DATABASE_URL", DEFAULT_HELPDESK_URL)

    ensure_tools()
    setup_django(url)
    from django.db import connection

    from bench import catchup, db, pages, peer, report, sweep, upload
    from bench.dataset import Dataset

    results: dict[str, Any] = {"meta": meta(size, phases, args.workers, args.connections), "errors": {}}
    log(f"{size.name} run: {', '.join(phases)}")
    dataset = Dataset(url, final_size=size.large, log=log)
    databases: list[str] = []  # the ones this run created, and drops at the end
    try:
        if {"sweep", "pages", "peer", "catchup"} & set(phases):
            databases.append(url)
            dataset.create()
        for phase in phases:
            log(f"--- {phase}")
            try:
                if phase == "sweep":
                    small = Dataset(url + "_small", final_size=size.large, log=log)
                    databases.append(small.url)
                    results["sweep"] = sweep.run(small, dataset, small_size=size.small, large_size=size.large,
                                                 due=size.due, goal=GOALS["sweep_ratio"], log=log)
                    dataset.check()
                elif phase == "pages":
                    results["pages"] = pages.run(dataset, size=size.large, results_dir=RESULTS, workers=args.workers,
                                                 connections=args.connections, warmup=size.warmup, seconds=size.seconds,
                                                 goal_p50_ms=GOALS["page_p50_ms"], log=log)
                    results["pages"].pop("cookies", None)
                elif phase == "upload":
                    results["upload"] = upload.run(repeats=size.upload_repeats, goal=GOALS["upload_ratio"], log=log)
                elif phase == "peer":
                    databases.append(helpdesk_url)
                    results["peer"] = peer.run(dataset, size=size.large, due=size.due, helpdesk_url=helpdesk_url,
                                               results_dir=RESULTS, workers=args.workers, connections=args.connections,
                                               warmup=size.warmup, seconds=size.seconds, log=log)
                elif phase == "catchup":
                    results["catchup"] = catchup.run(dataset, size=size.large, due=size.catchup_due,
                                                     goal_seconds=GOALS["catchup_seconds"], log_dir=RESULTS, log=log)
            except Exception as error:  # noqa: BLE001 - a failed phase is reported, the others still run
                results["errors"][phase] = f"{type(error).__name__}: {error}"
                log(f"{phase} failed:\n{traceback.format_exc()}")
        if dataset.loaded:
            results["load"] = {"open_claims": dataset.loaded, "claims_seconds": dataset.load_seconds,
                               "helpdesk_seconds": results.get("peer", {}).get("helpdesk_load", {}).get("seconds")}
    finally:
        connection.close()
        if args.keep and databases:
            log(f"kept: {', '.join(db.db_name(u) for u in databases)} (drop them with DROP DATABASE when done)")
        else:
            for database in databases:
                db.drop_database(database)
            for media in (BENCH / ".media", BENCH / ".media-helpdesk"):
                shutil.rmtree(media, ignore_errors=True)
            log("dropped the bench databases and their media")
    results["meta"]["total_seconds"] = time.perf_counter() - _started
    json_path, md_path = report.write(results, RESULTS)
    print()
    print(md_path.read_text())
    log(f"results: {md_path.relative_to(ROOT)} and {json_path.relative_to(ROOT)} (also latest.md / latest.json)")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

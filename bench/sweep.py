"""Deadline sweep scaling: the same number of due claims among a small and a huge backlog.

`claims.services.enforce_deadlines` is called in-process, exactly the code path beat and `manage.py
enforce_deadlines` run, against two bench databases: bench_claims_small (the small backlog) and bench_claims
(the large one). Sweeps alternate between the two so that the machine's background load hits both alike.
An untimed sweep of a small cohort warms the process first (imports, email templates), and the sweep's own
due query is captured (the sweep is stopped at its first query) and run under EXPLAIN (ANALYZE, BUFFERS) to
show which index answers it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from django.db import connection

from . import db
from .common import Log
from .dataset import Dataset

WARMUP_DUE = 20


class _Probe(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, sql: str, params: Any) -> None:
        super().__init__(sql)
        self.sql = sql
        self.params = params


def due_query() -> tuple[str, Any]:
    """The SQL and parameters of the sweep's first batch query, taken from the sweep itself (its EXPLAIN ANALYZE locks
    the rows for the moment it runs, in a transaction of its own)."""
    from claims.services import enforce_deadlines

    def stop_at_due_query(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if "next_deadline_at" in sql and "ORDER BY" in sql:  # the batch's locked read (FOR UPDATE SKIP LOCKED)
            raise _Probe(sql, params)
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(stop_at_due_query):
            enforce_deadlines()
    except _Probe as probe:
        return probe.sql, probe.params
    raise RuntimeError("the sweep ran no due-claims query: has enforce_deadlines changed?")


def explain(sql: str, params: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def timed_sweep() -> dict[str, Any]:
    from claims.services import enforce_deadlines

    queries = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        actions = enforce_deadlines()
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "actions": actions, "queries": queries}


@contextlib.contextmanager
def database(dataset: Dataset) -> Iterator[None]:
    """Point Django's connection at this dataset's database for the duration (same server, other name)."""
    settings_dict = connection.settings_dict
    previous = settings_dict["NAME"]
    connection.close()
    settings_dict["NAME"] = db.db_name(dataset.url)
    try:
        yield
    finally:
        connection.close()
        settings_dict["NAME"] = previous


def _warm_connection() -> None:
    """Connect before timing: a fresh connection's set-up is no part of a sweep (beat's worker keeps one)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM claims_claim WHERE next_deadline_at <= now()")


def _one(dataset: Dataset, due: int, first: bool) -> dict[str, Any]:
    with database(dataset):
        _warm_connection()
        shapes = dataset.make_due(due)
        if first:
            sql, params = due_query()
            plan = explain(sql, params)
        result = timed_sweep()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM claims_claim WHERE next_deadline_at <= now()")
            result["left_due"] = cursor.fetchone()[0]
        result["shapes"] = shapes
        if first:
            result["due_query"], result["explain"] = sql, plan
        return result


def _summary(dataset: Dataset, due: int, runs: list[dict[str, Any]], log: Log) -> dict[str, Any]:
    with database(dataset):
        _warm_connection()
        idle = timed_sweep()
        open_now = sum(n for state, n in dataset.counts().items() if state != "resolved")
    middle = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    times = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    log(f"sweep: {due:,} due among {open_now:,} open: {times} s (median {middle['seconds']:.2f} s), "
        f"{middle['queries']:,} queries, actions {middle['actions']}; idle sweep {idle['seconds'] * 1000:.1f} ms")
    plan = runs[0]["explain"]
    return {
        "open_claims": open_now, "due": due, "due_shapes": runs[0]["shapes"], "seconds": middle["seconds"],
        "runs_seconds": [r["seconds"] for r in runs], "min_seconds": min(r["seconds"] for r in runs),
        "per_claim_ms": middle["seconds"] * 1000 / max(due, 1), "queries": middle["queries"],
        "actions": middle["actions"], "acted_on": sum(middle["actions"].values()),
        "left_due": max(r["left_due"] for r in runs),
        "idle_sweep_ms": idle["seconds"] * 1000, "idle_queries": idle["queries"],
        "due_query": runs[0]["due_query"], "explain": plan,
        "index_scan_on_deadline_index": "claim_next_deadline_idx" in plan and "Seq Scan on claims_claim" not in plan,
    }


def run(small: Dataset, large: Dataset, *, small_size: int, large_size: int, due: int, goal: float, log: Log,
        repeats: int = 3) -> dict[str, Any]:
    """Two databases, one small and one large; sweeps alternate between them (small, large, large, small,
    ...), each on a fresh cohort of `due` claims, so a change in the machine's background load hits both
    alike."""
    from claims.services import enforce_deadlines

    for dataset, size in ((small, small_size), (large, large_size)):
        with database(dataset):
            if not dataset.created:
                dataset.create()
            dataset.grow_to(size)
            dataset.make_due(WARMUP_DUE)
            enforce_deadlines()  # warm: imports, email templates, the connection
    runs: dict[str, list[dict[str, Any]]] = {"small": [], "large": []}
    for index in range(repeats):
        order = ("small", "large") if index % 2 == 0 else ("large", "small")  # neither always goes first
        for key in order:
            runs[key].append(_one(small if key == "small" else large, due, index == 0))
    first = _summary(small, due, runs["small"], log)
    second = _summary(large, due, runs["large"], log)
    ratio = second["seconds"] / first["seconds"]
    return {
        "small": first, "large": second, "ratio": ratio,
        "ratio_of_fastest": second["min_seconds"] / first["min_seconds"],
        "goal_ratio": goal, "repeats": repeats,
        "met": ratio <= goal and first["index_scan_on_deadline_index"] and second["index_scan_on_deadline_index"],
    }

"""Catching up after an outage: a large cohort of due claims among the whole backlog, worked off by real Celery workers.

Beat was down; `due` claims became due meanwhile (the bench's due mix). One beat tick is sent, as beat sends it
(`celery call claims.tasks.enforce_deadlines`), to 1 and then to 2 worker processes (`--pool=solo`, one task at a time
each) on a Redis broker of its own (database 13 on 127.0.0.1). With 2 workers and DEADLINE_SWEEP_WORKERS=2 the tick
asks the other worker to sweep the same moment; each takes batches with SKIP LOCKED. The clock runs from the tick to
the moment no claim of the cohort is due any more, polled every 0.2 s. Each run has a fresh cohort.

The emails the sweep queues go to a queue of their own that these workers do not consume: the phase measures the
deadlines being acted on (claims, log, notifications, outbox rows written and committed), not the SMTP conversation
that follows. The queue is emptied at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import redis

from .common import Log
from .dataset import Dataset

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BROKER_URL = "redis://127.0.0.1:6379/13"
EMAIL_QUEUE = "bench_emails"


def _env(dataset: Dataset, workers: int) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "BENCH_DATABASE_URL": dataset.url,
            "BENCH_BROKER_URL": BROKER_URL, "BENCH_EMAIL_QUEUE": EMAIL_QUEUE,
            "DEADLINE_SWEEP_WORKERS": str(workers), "PYTHONPATH": str(ROOT)}


def _start_workers(count: int, env: dict[str, str], log_dir: Path) -> list[tuple[subprocess.Popen[bytes], Path]]:
    started = []
    for index in range(count):
        log_file = log_dir / f"catchup-worker-{count}-{index}.log"
        process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
             "-n", f"bench{index}@%h", "-Q", "celery", "--without-heartbeat", "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=log_file.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        started.append((process, log_file))
    deadline = time.monotonic() + 60
    for process, log_file in started:
        while b"ready." not in log_file.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"a bench worker did not start; see {log_file}")
            time.sleep(0.2)
    return started


def _stop(workers: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    for process, _log in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process, _log in workers:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _due(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM claims_claim WHERE next_deadline_at <= now()").fetchone()[0]


def _unsent(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM claims_outboundemail WHERE sent_at IS NULL").fetchone()[0]


def _one(dataset: Dataset, *, due: int, workers: int, log_dir: Path, timeout: float, log: Log) -> dict[str, Any]:
    shapes = dataset.make_due(due)
    env = _env(dataset, workers)
    started = _start_workers(workers, env, log_dir)
    try:
        with psycopg.connect(dataset.url, autocommit=True) as conn:
            unsent_before = _unsent(conn)  # what an earlier run queued and nobody sent: not this run's
            tick = time.perf_counter()
            subprocess.run([sys.executable, "-m", "celery", "-A", "config", "call",  # noqa: S603
                            "claims.tasks.enforce_deadlines"], cwd=ROOT, env=env, check=True, capture_output=True)
            left = due
            while left and time.perf_counter() - tick < timeout:
                time.sleep(0.2)
                left = _due(conn)
            seconds = time.perf_counter() - tick
            emails = _unsent(conn) - unsent_before
    finally:
        _stop(started)
    result = {"workers": workers, "due": due, "shapes": shapes, "seconds": seconds, "left_due": left,
              "per_second": (due - left) / seconds, "queued_emails": emails}
    log(f"catch-up: {due:,} due, {workers} worker(s): {seconds:.1f} s, {result['per_second']:.0f} claims/s"
        + (f", {left:,} still due at the time limit" if left else ""))
    return result


def run(dataset: Dataset, *, size: int, due: int, goal_seconds: float, log_dir: Path, log: Log,
        timeout: float = 900.0) -> dict[str, Any]:
    dataset.grow_to(size)
    client = redis.Redis.from_url(BROKER_URL)
    client.flushdb()
    try:
        runs = [_one(dataset, due=due, workers=workers, log_dir=log_dir, timeout=timeout, log=log)
                for workers in (1, 2)]
    finally:
        client.flushdb()
    one, two = runs
    return {"open_claims": size, "due": due, "runs": runs, "speedup": one["seconds"] / two["seconds"],
            "goal_seconds": goal_seconds, "met": two["left_due"] == 0 and two["seconds"] <= goal_seconds}

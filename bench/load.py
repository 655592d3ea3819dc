"""The load tool: wrk (Debian's package) when it is there, else a small closed-loop Python client.

Both run a fixed number of connections against one URL for a fixed time (closed loop: each connection sends
its next request when the previous answer arrived) and report p50/p95/p99 latency and requests per second.
Only loopback URLs are accepted.
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LUA = Path(__file__).resolve().parent / "wrk_report.lua"


def tool() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise ValueError(f"load is only ever sent to loopback, not to {host}")


def run(url: str, *, cookie: str, seconds: float, connections: int, threads: int = 2) -> dict[str, Any]:
    _check_loopback(url)
    if tool() == "wrk":
        return _wrk(url, cookie, seconds, connections, threads)
    return _python(url, cookie, seconds, connections)


def _wrk(url: str, cookie: str, seconds: float, connections: int, threads: int) -> dict[str, Any]:
    command = [shutil.which("wrk") or "wrk", f"-t{min(threads, connections)}", f"-c{connections}",
               f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(LUA), "-H", f"Cookie: {cookie}", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120,  # noqa: S603
                          check=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    duration = raw["duration_us"] / 1e6
    return {
        "tool": "wrk", "requests": raw["requests"], "seconds": duration,
        "rps": raw["requests"] / duration if duration else 0.0,
        "p50_ms": raw["p50_us"] / 1000, "p95_ms": raw["p95_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000, "mean_ms": raw["mean_us"] / 1000,
        "errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"],
        "non_2xx": raw["status_errors"],
    }


def _python(url: str, cookie: str, seconds: float, connections: int) -> dict[str, Any]:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = non_2xx = 0
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal errors, non_2xx
        mine: list[float] = []
        bad = failed = 0
        while time.perf_counter() < stop_at:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
                mine.append(time.perf_counter() - started)
                bad += not 200 <= response.status < 400
            except (OSError, http.client.HTTPException):
                failed += 1
            finally:
                conn.close()
        with lock:
            latencies.extend(mine)
            errors += failed
            non_2xx += bad

    started = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    duration = time.perf_counter() - started
    if len(latencies) < 2:
        raise RuntimeError(f"the load run against {url} completed {len(latencies)} requests")
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "tool": "python", "requests": len(latencies), "seconds": duration, "rps": len(latencies) / duration,
        "p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000, "p99_ms": cuts[98] * 1000,
        "max_ms": max(latencies) * 1000, "mean_ms": statistics.fmean(latencies) * 1000,
        "errors": errors, "non_2xx": non_2xx,
    }

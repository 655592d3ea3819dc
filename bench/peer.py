"""The peer side by side: django-helpdesk, installed into its own virtualenv, with the same data volume.

django-helpdesk is installed into bench/.helpdesk-venv (pinned in helpdesk_project/requirements.txt), never
into the main .venv, and none of its code is in this repository. Its project (bench/helpdesk_project) uses
the database bench_helpdesk. Compared in one run, on the same machine, same sizes:

- deadline enforcement: `manage.py escalate_tickets` vs our `manage.py enforce_deadlines`, each as a fresh
  process (so both include Django's start-up), with the same number due among the same number open, plus
  each command once more with nothing due;
- the list a staff member works from: helpdesk's ticket list (/tickets/, whose table is then filled by a
  second request to its data URL) vs our seller queue, under the same load tool, workers and connections.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import db, load, pages, servers
from .common import Log
from .dataset import Dataset

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = BENCH / ".helpdesk-venv"
PYTHON = VENV / "bin" / "python"
PROJECT = BENCH / "helpdesk_project"
REQUIREMENTS = PROJECT / "requirements.txt"
STAMP = VENV / ".installed-requirements"


def ensure_venv(log: Log) -> float:
    """Create bench/.helpdesk-venv and install the pinned requirements, unless they are installed already."""
    started = time.perf_counter()
    wanted = REQUIREMENTS.read_text()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return 0.0
    if not PYTHON.exists():
        log("peer: creating bench/.helpdesk-venv")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)  # noqa: S603
    log("peer: installing django-helpdesk into bench/.helpdesk-venv")
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",  # noqa: S603
                    "-r", str(REQUIREMENTS)], check=True)
    STAMP.write_text(wanted)
    return time.perf_counter() - started


def _hd_env(url: str) -> dict[str, str]:
    return {**os.environ, "BENCH_HELPDESK_DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "helpdesk_project.settings",
            "BENCH_HELPDESK_MEDIA_ROOT": str(BENCH / ".media-helpdesk")}


def _hd(url: str, *args: str) -> dict[str, Any]:
    done = subprocess.run([str(PYTHON), str(PROJECT / "hd.py"), *args], env=_hd_env(url),  # noqa: S603
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"hd.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return {"seconds": seconds, "output": done.stdout.strip()[-500:]}


def run(dataset: Dataset, *, size: int, due: int, helpdesk_url: str, results_dir: Path, workers: int,
        connections: int, warmup: float, seconds: float, log: Log) -> dict[str, Any]:
    out: dict[str, Any] = {"install_seconds": ensure_venv(log)}
    version = subprocess.run([str(PYTHON), "-m", "pip", "show", "django-helpdesk"], capture_output=True,  # noqa: S603
                             text=True, check=True).stdout
    out["helpdesk_version"] = next((line.split(":", 1)[1].strip() for line in version.splitlines()
                                    if line.startswith("Version:")), "?")

    db.recreate_database(helpdesk_url)
    started = time.perf_counter()
    subprocess.run([str(PYTHON), str(PROJECT / "manage.py"), "migrate", "-v0"], env=_hd_env(helpdesk_url),  # noqa: S603
                   check=True)
    out["helpdesk_migrate_seconds"] = time.perf_counter() - started
    loaded = _hd(helpdesk_url, "load", "--tickets", str(size), "--due", str(due), "--queues", str(dataset.sellers))
    out["helpdesk_load"] = loaded
    log(f"peer: loaded {size:,} helpdesk tickets ({due:,} due) in {loaded['seconds']:.1f} s")

    # Deadline enforcement, each as a fresh process on the same due count.
    dataset.grow_to(size)
    people = dataset.create_people()
    dataset.make_due(due)
    ours_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "BENCH_DATABASE_URL": dataset.url}
    ours = _timed([sys.executable, "manage.py", "enforce_deadlines"], ours_env, ROOT)
    ours_idle = _timed([sys.executable, "manage.py", "enforce_deadlines"], ours_env, ROOT)
    since = dt.datetime.now(dt.UTC).isoformat()
    theirs = _timed([str(PYTHON), str(PROJECT / "manage.py"), "escalate_tickets"], _hd_env(helpdesk_url), BENCH)
    escalated = _hd(helpdesk_url, "escalated", "--since", since)
    theirs_idle = _timed([str(PYTHON), str(PROJECT / "manage.py"), "escalate_tickets"], _hd_env(helpdesk_url), BENCH)
    out["deadlines"] = {
        "open": size, "due": due,
        "ours": {"command": "manage.py enforce_deadlines", **ours, "idle_seconds": ours_idle["seconds"]},
        "theirs": {"command": "manage.py escalate_tickets", **theirs, "idle_seconds": theirs_idle["seconds"],
                   "escalated": escalated["escalated"]},
        "ratio_theirs_to_ours": theirs["seconds"] / ours["seconds"],
    }
    log(f"peer: {due:,} due among {size:,}: enforce_deadlines {ours['seconds']:.2f} s, escalate_tickets "
        f"{theirs['seconds']:.2f} s ({escalated['escalated']:,} escalated); idle {ours_idle['seconds']:.2f} s vs "
        f"{theirs_idle['seconds']:.2f} s")

    # The lists, same load tool and settings, one after the other.
    probe = _hd(helpdesk_url, "probe")
    queue_path = pages.seller_queue_path()
    lists: dict[str, Any] = {"theirs_list": probe["list"], "theirs_data": probe["data"], "tool": load.tool()}
    if queue_path is None:
        lists["ours"] = {"available": False, "note": "not available: no seller queue URL in this build"}
    else:
        counted = pages.query_count(pages.Page("seller_queue", "Seller queue", queue_path, people.seller_staff))
        cookie = counted.pop("cookie")
        lists["ours"] = {"available": True, "path": queue_path, **counted}
        with pages.app_server(results_dir, workers, dataset.url) as base:
            if counted["status"] == 200:
                lists["ours"]["load"] = pages.measure(base, queue_path, cookie, warmup=warmup, seconds=seconds,
                                                      connections=connections)
    with servers.gunicorn(executable=VENV / "bin" / "gunicorn", app="helpdesk_project.wsgi:application", cwd=BENCH,
                          env=_hd_env(helpdesk_url), workers=workers, log_file=results_dir / "gunicorn-helpdesk.log",
                          ready_path="/login/") as base:
        for key in ("theirs_list", "theirs_data"):
            target = lists[key]
            if target.get("status") == 200:
                target["load"] = pages.measure(base, target["path"], probe["cookie"], warmup=warmup, seconds=seconds,
                                               connections=connections)
    ours_p50 = lists["ours"].get("load", {}).get("p50_ms")
    theirs_p50 = [lists[k].get("load", {}).get("p50_ms") for k in ("theirs_list", "theirs_data")]
    if ours_p50 and all(theirs_p50):
        lists["theirs_shown_p50_ms"] = sum(theirs_p50)  # the list is on screen after both requests
        lists["ratio_theirs_to_ours_p50"] = lists["theirs_shown_p50_ms"] / ours_p50
        log(f"peer: list p50: our seller queue {ours_p50:.1f} ms, helpdesk list + data "
            f"{theirs_p50[0]:.1f} + {theirs_p50[1]:.1f} ms")
    out["lists"] = lists
    return out

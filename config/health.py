"""The probes of load balancers and orchestrators (docs/operations.md, "Health and metrics").

- /healthz: the process is alive and answers. It touches nothing outside the process, so a database outage never
  has every web process restarted at once.
- /readyz: this process can serve: the database answers, the cache keeps a value, the broker accepts a connection,
  the file storage answers, and every migration of this code is applied (a new release started before `migrate`
  is not sent traffic). 200 with each check, or 503 naming the checks that failed.

Both answer GET and HEAD, are never cached, and get no session, login or CSRF work (core.probes.ProbeMiddleware
answers them before that middleware). Why a check failed (the exception's text: host names, ports) is shown only to
the callers allowed to read /metrics (core.metrics.metrics_allowed); anyone else sees the kind of error, and the
full reason goes to the log."""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from core.metrics import metrics_allowed

from .celery_app import app as celery_app

logger = logging.getLogger(__name__)

PROBE_FILE = "readyz-probe"  # asked about, never written


class NotReady(Exception):
    pass


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    # A key of its own per probe: two processes probing at once never read each other's value.
    key, value = f"readyz:{secrets.token_hex(8)}", secrets.token_hex(8)
    cache.set(key, value, timeout=30)
    try:
        if cache.get(key) != value:
            raise NotReady("the cache did not keep a value")
    finally:
        cache.delete(key)


def check_broker() -> None:
    timeout = settings.READYZ_BROKER_TIMEOUT_SECONDS
    with celery_app.connection_for_write(connect_timeout=timeout) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=1, interval_max=1,
                                 timeout=timeout)


def check_storage() -> None:
    """A HEAD request to the bucket (S3); on the local disk, the folder is there (made if missing, as the first upload
    would) and this process may write into it: `exists()` alone never fails there."""
    if isinstance(default_storage, FileSystemStorage):
        folder = Path(default_storage.location)
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(f"the evidence folder {folder} is not writable by this process")
        return
    default_storage.exists(PROBE_FILE)


class _Migrations:
    """Applied once is applied for good (a release never un-applies them), so a process that saw them all applied
    stops asking; until then each probe asks (one query, once the migration files are loaded)."""

    applied = False

    def check(self) -> None:
        if self.applied:
            return
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _backwards in plan[:5])
            raise NotReady(f"{len(plan)} migration(s) not applied: {names}{' …' if len(plan) > 5 else ''}")
        self.applied = True


migrations = _Migrations()

CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "storage": check_storage,
    "migrations": lambda: migrations.check(),
}


def _reason(error: Exception, detailed: bool) -> str:
    kind = type(error).__name__
    return f"{kind}: {error}"[:500] if detailed else kind


@never_cache
@csrf_exempt
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@csrf_exempt
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    detailed = metrics_allowed(request)
    checks: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as error:  # noqa: BLE001 - whatever a dependency raises, the answer is "not ready"
            logger.warning("readyz: %s failed: %s: %s", name, type(error).__name__, error)
            checks[name] = {"ok": False, "error": _reason(error, detailed)}
        else:
            checks[name] = {"ok": True}
        checks[name]["seconds"] = round(time.perf_counter() - started, 3)
    failed = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "unavailable" if failed else "ok", "failed": failed, "checks": checks}
    response = JsonResponse(body, status=503 if failed else 200)
    # Each failed check is logged above (a warning). Django's own "Service Unavailable" error line for every probe of
    # an outage, and a Sentry event for each, would add nothing.
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's own mark: no second log line
    return response

"""Settings for the benchmark: the local settings, pointed at the bench database and tuned like production.

Only what changes timing differs from `config.settings.local`: DEBUG off (no query log kept in memory),
persistent database connections as in production (`CONN_MAX_AGE`), an in-memory Celery broker (the emails
the sweep queues are written to the outbox exactly as in production, then handed to a broker that is not
on disk), and quiet logging. The database must be named `bench_*`, so a benchmark never touches another.
"""

import os
from pathlib import Path

import environ
from config.settings.local import *  # noqa: F403

DEFAULT_BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_claims"

_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_BENCH_DATABASE_URL)
DATABASES = {"default": environ.Env.db_url_config(_url)}
if not DATABASES["default"]["NAME"].startswith("bench_"):
    raise RuntimeError(f"BENCH_DATABASE_URL must name a database called bench_*, not {DATABASES['default']['NAME']}")
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = 60  # as config.settings.production

DEBUG = False
SECRET_KEY = "bench-only-not-secret"  # noqa: S105 - a throwaway database on loopback
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
MEDIA_ROOT = Path(os.environ.get("BENCH_MEDIA_ROOT", str(Path(__file__).resolve().parent / ".media")))

# The catch-up phase (bench/catchup.py) runs real workers on a Redis database of its own, and sends the emails the
# sweep queues to a queue those workers do not consume.
CELERY_BROKER_URL = os.environ.get("BENCH_BROKER_URL", "memory://localhost/")
CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_TRANSPORT_OPTIONS if CELERY_BROKER_URL.startswith("redis") else {}  # noqa: F405
if os.environ.get("BENCH_EMAIL_QUEUE"):
    CELERY_TASK_ROUTES = {"claims.tasks.deliver_emails": {"queue": os.environ["BENCH_EMAIL_QUEUE"]},
                          "claims.tasks.deliver_email": {"queue": os.environ["BENCH_EMAIL_QUEUE"]}}
DEADLINE_SWEEP_WORKERS = int(os.environ.get("DEADLINE_SWEEP_WORKERS", "4"))
CELERY_TASK_ALWAYS_EAGER = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

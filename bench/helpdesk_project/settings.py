"""Minimal Django project hosting django-helpdesk for the side-by-side benchmark.

Runs only inside bench/.helpdesk-venv (helpdesk is installed there, never into the main .venv). Its database
is BENCH_HELPDESK_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_helpdesk).
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
_url = urlsplit(os.environ.get("BENCH_HELPDESK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_helpdesk"))

SECRET_KEY = "bench-helpdesk-only-not-secret"  # noqa: S105 - a throwaway benchmark database on loopback
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "helpdesk_project.urls"
WSGI_APPLICATION = "helpdesk_project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": _url.username or "postgres",
        "PASSWORD": _url.password or "",
        "HOST": _url.hostname or "127.0.0.1",
        "PORT": str(_url.port or 5432),
        "CONN_MAX_AGE": 60,  # persistent connections, as on our side (bench/settings.py)
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "Europe/Berlin"
LANGUAGE_CODE = "en"
STATIC_URL = "static/"
MEDIA_ROOT = os.environ.get("BENCH_HELPDESK_MEDIA_ROOT", str(HERE / ".media"))
# Emails are rendered and handed to the in-memory backend: nothing leaves the machine.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "helpdesk@localhost"
LOGIN_URL = "/login/"
HELPDESK_TEAMS_MODE_ENABLED = False
# Staff see the queues they are given, as a seller's staff see their own claims.
HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION = True
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "root": {"handlers": ["console"], "level": "WARNING"}}

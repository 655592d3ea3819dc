from config.sentry import init_sentry

from .base import *  # noqa: F403
from .base import (
    SENTRY_DSN,
    SENTRY_ENVIRONMENT,
    SENTRY_RELEASE,
    SENTRY_TRACES_SAMPLE_RATE,
    STATIC_ROOT,
    STORAGES,
    celery_broker,
    env,
    logging_settings,
)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # a connection the database dropped is replaced, not an error
# Redis or RabbitMQ: CELERY_BROKER_URL, else REDIS_URL (one of them must be set).
vars().update(celery_broker(env.str("CELERY_BROKER_URL", default="") or env.str("REDIS_URL")))
# Rate-limit counters must be shared by every web process.
CACHES = {"default": env.cache("CACHE_URL", default=env.str("REDIS_URL"))}

# Static files: `collectstatic` (the release step) writes them with a hash of their content in the name, plus gzip
# copies; WhiteNoise (base MIDDLEWARE) serves them from the web process with a year's caching, since a
# changed file gets a new name. DJANGO_STATIC_ROOT: where collectstatic writes and the web process reads.
STATIC_ROOT = env.str("DJANGO_STATIC_ROOT", default=str(STATIC_ROOT))
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp://localhost:25")
vars().update(EMAIL_CONFIG)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Observability (docs/operations.md, "Logs", "Health and metrics") ----------------------------------------------
# JSON log lines unless LOG_FORMAT says text; errors to Sentry when SENTRY_DSN is set (nothing happens without it).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logging_settings(LOG_FORMAT)
init_sentry(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=SENTRY_RELEASE,
            traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)

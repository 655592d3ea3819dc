"""Settings shared by every environment. Values come from the environment (django-environ)."""

from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():
    env.read_env(str(env_file))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_fsm",
    "ninja",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "core",
    "markets",
    "sellers",
    "orders",
    "integrations",
    "claims",
    "accounts",
    "api",
]

MIDDLEWARE = [
    # Outermost: a HEAD request's answer leaves without its body (core.middleware.HeadMiddleware).
    "core.middleware.HeadMiddleware",
    # First: every answer, redirects and errors of the middleware below included, carries the request's reference.
    "core.middleware.RequestIdMiddleware",
    # Observability (docs/operations.md, "Health and metrics"): every answer's time by route (core.metrics); the probes
    # /healthz, /readyz and /metrics answered here, before host checks, HTTPS redirects, sessions and CSRF
    # (core.probes); the claim a request is about named in its log lines (config.observability).
    "core.metrics.RequestMetricsMiddleware",
    "core.probes.ProbeMiddleware",
    "config.observability.ClaimLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the web process itself (compressed, hashed names cached for a year in production): before
    # everything else that would only add work to a CSS or JS answer.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): this session passed its second factor
    # Whoever must use two factors, or has turned them on, passes them before any other page (issue 18).
    "accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "api.idempotency.IdempotencyMiddleware",
    "api.problems.ProblemMiddleware",  # inside the idempotency middleware: what it stores is the problem
    # Last: turns a login refused by the lockout (accounts.lockout) into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# The address's failure ceiling first, then axes' check (both refuse before any password is checked: an address
# guessing across many accounts, a locked (username, address) pair; accounts.lockout), then the password against the
# username in its one spelling (core.usernames).
AUTHENTICATION_BACKENDS = [
    "accounts.lockout.AddressCeilingBackend",
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.NormalizedUsernameBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "claims.context_processors.site",
            ],
            # `{{ when|moment }}` and `{{ day|day }}`: one way to write dates, with the zone, on every page.
            "builtins": ["core.templatetags.moments"],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False


def sqlite_options(database: dict[str, object]) -> None:
    """SQLite (development) shared by the web server and the worker's processes: write-ahead logging (readers never
    wait for the writer), a writer that waits up to 20 s for another instead of failing with "database is locked",
    and transactions that take the write lock when they begin (IMMEDIATE), so two transactions never both read and
    then fail to write: the deadlock SQLite settles with that same error."""
    if database["ENGINE"] == "django.db.backends.sqlite3":
        options = database.setdefault("OPTIONS", {})
        assert isinstance(options, dict)  # noqa: S101 - settings are ours
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", 20)
        options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")


sqlite_options(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("pt", "Português"), ("sk", "Slovenčina")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# Stored in UTC; computed and shown in the marketplace's zone.
TIME_ZONE = env.str("MARKETPLACE_TIME_ZONE", default="Europe/Berlin")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"  # never served: evidence goes through claims.views.evidence_file

# Evidence storage: the local disk by default; any S3-compatible store with DJANGO_STORAGE_BACKEND=s3
# (credentials from the usual AWS_* variables). Files are private either way: the app streams them.
STORAGE_BACKEND = env.str("DJANGO_STORAGE_BACKEND", default="local")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if STORAGE_BACKEND == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "location": env.str("AWS_S3_LOCATION", default=""),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# The brand people see: the login page and every page's header and <title> ("<page> · <name>"), the console's
# header, every email's header, footer and sender name. SITE_NAME is its older name, still read when it is not set.
MARKETPLACE_NAME = env.str("MARKETPLACE_NAME", default="") or env.str("SITE_NAME", default="Marketplace Help Center")

# The address emails come from; without a display name of its own, MARKETPLACE_NAME is shown (core.emails.sender).
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="support@localhost")

# Where the site is reached from outside: every link in an email starts with it. `make run` sets it from HOST and PORT.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# How long the one-click unsubscribe link of an email stays valid (claims.unsubscribe).
UNSUBSCRIBE_LINK_DAYS = env.int("UNSUBSCRIBE_LINK_DAYS", default=90)
# Shared with the carrier (docs/carrier-webhook.md); without one the tracking webhook refuses every call.
# CARRIER_WEBHOOK_SECRETS: comma-separated, every one accepted (two while a secret is rotated); it wins over the
# single CARRIER_WEBHOOK_SECRET, kept for existing installations. "whsec_<base64>" is the Standard Webhooks form.
CARRIER_WEBHOOK_SECRET = env.str("CARRIER_WEBHOOK_SECRET", default="")
CARRIER_WEBHOOK_SECRETS = env.list("CARRIER_WEBHOOK_SECRETS", default=[])

# --- Refund payouts (README, "Payouts") -----------------------------------------------------------
# manual: the finance group works the payout queue in the console (CSV out, confirmations in).
# webhook: the worker POSTs each refund to the shop's payment system, signed the Standard Webhooks way, and the
# shop confirms it through POST /webhooks/payments/.
REFUND_PROVIDER = env.str("REFUND_PROVIDER", default="manual")
REFUND_WEBHOOK_URL = env.str("REFUND_WEBHOOK_URL", default="")
# Standard Webhooks secrets ("whsec_" + base64): ours to sign refunds, the shop's to sign its confirmations.
REFUND_WEBHOOK_SECRET = env.str("REFUND_WEBHOOK_SECRET", default="")
PAYMENTS_WEBHOOK_SECRETS = env.list("PAYMENTS_WEBHOOK_SECRETS", default=[])
REFUND_WEBHOOK_TIMEOUT_SECONDS = env.float("REFUND_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
REFUND_WEBHOOK_MAX_ATTEMPTS = env.int("REFUND_WEBHOOK_MAX_ATTEMPTS", default=8)
# What the buyer is told about when a paid refund reaches them (business days, from–to).
REFUND_ARRIVAL_BUSINESS_DAYS = env.list("REFUND_ARRIVAL_BUSINESS_DAYS", cast=int, default=[5, 10])

# No inline script anywhere (templates load static JS only); inline style attributes are allowed.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# A form refused for its CSRF token gets the site's 403 page saying why, with the request's reference.
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=["127.0.0.1", "::1"])
# The window of the per-address ceiling on failed logins (LOGIN_ADDRESS_FAILURE_LIMIT below).
LOGIN_RATE_WINDOW_SECONDS = env.int("LOGIN_RATE_WINDOW_SECONDS", default=15 * 60)

# --- Logins (accounts.lockout, django-axes) ---------------------------------------------------------------------
# Failed logins count per (normalized username, client address): after LOGIN_FAILURE_LIMIT failures that pair waits
# LOGIN_LOCKOUT_BASE_SECONDS, doubled with every further failure up to LOGIN_LOCKOUT_MAX_SECONDS. The same username
# from another address is never held up, and a successful login clears its pair. Failures are forgotten after
# LOGIN_FAILURE_MEMORY_HOURS without one. An address with LOGIN_ADDRESS_FAILURE_LIMIT failures (any usernames) within
# LOGIN_RATE_WINDOW_SECONDS is refused for the rest of that window: guessing across many accounts.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_BASE_SECONDS = env.int("LOGIN_LOCKOUT_BASE_SECONDS", default=60)
LOGIN_LOCKOUT_MAX_SECONDS = env.int("LOGIN_LOCKOUT_MAX_SECONDS", default=60 * 60)
LOGIN_FAILURE_MEMORY_HOURS = env.int("LOGIN_FAILURE_MEMORY_HOURS", default=24)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=50)
# An IPv6 client is counted by its network of this many bits (core.ratelimit.limited_address): one subscriber holds a
# whole /64 and may send from any address in it.
LIMIT_IPV6_PREFIX = env.int("LIMIT_IPV6_PREFIX", default=64)
# Password reset emails: per client address, and per email address asked for, in PASSWORD_RESET_WINDOW_SECONDS.
PASSWORD_RESET_ADDRESS_LIMIT = env.int("PASSWORD_RESET_ADDRESS_LIMIT", default=10)
PASSWORD_RESET_EMAIL_LIMIT = env.int("PASSWORD_RESET_EMAIL_LIMIT", default=3)
PASSWORD_RESET_WINDOW_SECONDS = env.int("PASSWORD_RESET_WINDOW_SECONDS", default=60 * 60)

AXES_ENABLED = True
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The growing delay: a callable that reads LOGIN_FAILURE_LIMIT and LOGIN_LOCKOUT_* at each login.
AXES_FAILURE_LIMIT = "accounts.lockout.failure_limit"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"  # the 429 page saying how long to wait
AXES_COOLOFF_TIME = LOGIN_FAILURE_MEMORY_HOURS
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "accounts.lockout.username_of"
AXES_CLIENT_IP_CALLABLE = "core.ratelimit.limited_address"  # an IPv6 client by its /64 (LIMIT_IPV6_PREFIX)
# The audit log (core.AuditEvent) keeps logins; axes' own logs would keep usernames forever.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False

# --- Two factors (accounts.two_factor, django-otp) ----------------------------------------------------------------
# Agents, the finance team and superusers use TOTP (any authenticator app) or one of their recovery codes; seller
# staff may turn it on.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="") or None  # the site's name when empty (accounts.two_factor)
MFA_RECOVERY_CODES = env.int("MFA_RECOVERY_CODES", default=10)

# --- Quotas (claims.quotas) ---------------------------------------------------------------------------------------
# Messages one person may post on one claim per hour, and files and bytes one claim may hold in all.
MESSAGES_PER_CLAIM_PER_HOUR = env.int("MESSAGES_PER_CLAIM_PER_HOUR", default=20)
CLAIM_MAX_FILES = env.int("CLAIM_MAX_FILES", default=40)
CLAIM_MAX_BYTES = env.int("CLAIM_MAX_BYTES", default=250 * 1024 * 1024)
# Messages to one person on one claim within this many minutes of the last email about one go out as one digest.
MESSAGE_DIGEST_MINUTES = env.int("MESSAGE_DIGEST_MINUTES", default=15)

# --- Privacy (accounts.privacy, accounts.erasure) -----------------------------------------------------------------
# Evidence files of claims closed more than this many months ago are deleted (claims.retention, by beat).
EVIDENCE_RETENTION_MONTHS = env.int("EVIDENCE_RETENTION_MONTHS", default=24)
OPEN_CLAIM_RATE_LIMIT = env.int("OPEN_CLAIM_RATE_LIMIT", default=10)
OPEN_CLAIM_RATE_WINDOW_SECONDS = env.int("OPEN_CLAIM_RATE_WINDOW_SECONDS", default=60 * 60)

# --- Celery -------------------------------------------------------------------------------------
# The broker: CELERY_BROKER_URL, else REDIS_URL; Redis (redis://, rediss://) or RabbitMQ (amqp://, amqps://: quorum
# queues). Without either, an embedded broker on the local disk, so `make run` needs no server: web, worker and beat
# share the folder below.
BROKER_DIR = Path(env.str("CELERY_BROKER_DIR", default=str(BASE_DIR / ".broker")))
# A web request must not hang on a broker that is down: publishing gives up quickly and the email waits in
# the outbox for the re-send task.
# A task taken by a worker that then dies is handed out again after visibility_timeout (acks_late); it must
# exceed the hard time limit of the longest task (CELERY_TASK_TIME_LIMIT), and an email is re-sent sooner anyway by
# the outbox task.
REDIS_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5, "max_retries": 1,
                           "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5,
                           "visibility_timeout": 600}


def filesystem_broker_options(folder: Path) -> dict[str, object]:
    """The embedded broker keeps everything under `folder`: its queue, what it processed, and its exchange tables
    (kombu's `control_folder`, which is otherwise a `control/` folder in whatever directory the process runs in)."""
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


def celery_broker(url: str) -> dict[str, object]:
    """The CELERY_* settings that follow from the broker's URL. RabbitMQ gets quorum queues (replicated, and what
    RabbitMQ recommends for durable work), publisher confirms, and a topic exchange: a task with an eta (a digest's end
    of window) then waits in RabbitMQ's own delay queues (Celery's native delayed delivery), since a quorum queue
    cannot hold it unacknowledged in the worker. Publishing gives up as quickly as with Redis."""
    scheme = url.partition("://")[0]
    if scheme == "filesystem":
        return {"CELERY_BROKER_URL": url, "CELERY_BROKER_TRANSPORT_OPTIONS": filesystem_broker_options(BROKER_DIR)}
    if scheme in ("amqp", "amqps", "pyamqp"):
        return {"CELERY_BROKER_URL": url,
                "CELERY_BROKER_TRANSPORT_OPTIONS": {"confirm_publish": True, "max_retries": 1, "interval_start": 0,
                                                    "interval_step": 0.2, "interval_max": 0.5},
                "CELERY_BROKER_CONNECTION_TIMEOUT": 2,
                "CELERY_TASK_DEFAULT_QUEUE_TYPE": "quorum",
                "CELERY_TASK_DEFAULT_EXCHANGE_TYPE": "topic",
                "CELERY_WORKER_DETECT_QUORUM_QUEUES": True}
    return {"CELERY_BROKER_URL": url, "CELERY_BROKER_TRANSPORT_OPTIONS": REDIS_TRANSPORT_OPTIONS}


vars().update(celery_broker(env.str("CELERY_BROKER_URL", default="") or env.str("REDIS_URL", default="filesystem://")))
# The queue's name (and its exchange's): one RabbitMQ or Redis may serve several installations.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# No task runs unbounded: past the soft limit it is interrupted (SoftTimeLimitExceeded: its transaction rolls back),
# past the hard limit its process is killed and replaced. Both stay under Redis' visibility_timeout (600 s). The
# deadline sweep stops taking batches after DEADLINE_SWEEP_TASK_SECONDS, well before, and the next tick goes on.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
DEADLINE_SWEEP_TASK_SECONDS = env.int("DEADLINE_SWEEP_TASK_SECONDS", default=240)
# Exactly one beat ticks (config.beat.GuardedScheduler): a second one waits, and takes over when the first dies.
CELERY_BEAT_SCHEDULER = "config.beat:GuardedScheduler"

# --- Email delivery (claims.notifications) ------------------------------------------------------------------------
# Every wait on the SMTP server (connect, each command) gives up after this many seconds.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# A worker sending an outbox row holds it this long (claimed_until): longer than a whole SMTP conversation can take
# (several EMAIL_TIMEOUT waits), so no other worker sends it meanwhile; a worker killed mid-way leaves the row to be
# sent again after it.
EMAIL_CLAIM_SECONDS = env.int("EMAIL_CLAIM_SECONDS", default=300)
CELERY_TIMEZONE = TIME_ZONE
# Exactly one beat process runs these (see README, Production).
# The API (api/, django-ninja): requests per key per window, answered with 429 and Retry-After past it; the stored
# answers of POSTs with an Idempotency-Key are kept this long (SPEC: 24 h) and returned again.
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=600)
API_RATE_WINDOW_SECONDS = env.int("API_RATE_WINDOW_SECONDS", default=60)
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=50)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=200)
# Outbound webhooks (integrations/): retried after these seconds (now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h), each
# with up to WEBHOOK_RETRY_JITTER of itself added at random; an endpoint failing for WEBHOOK_DISABLE_AFTER_DAYS (or
# answering 410 Gone) is disabled and its owner told. Destinations resolving to private, loopback or link-local
# addresses are refused unless WEBHOOK_ALLOW_PRIVATE_DESTINATIONS (tests and a closed network).
WEBHOOK_RETRY_SCHEDULE = [0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 24 * 3600]
WEBHOOK_RETRY_JITTER = env.float("WEBHOOK_RETRY_JITTER", default=0.1)
WEBHOOK_DISABLE_AFTER_DAYS = env.int("WEBHOOK_DISABLE_AFTER_DAYS", default=3)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = env.bool("WEBHOOK_ALLOW_PRIVATE_DESTINATIONS", default=False)
# How long the old secret keeps signing too after a rotation.
WEBHOOK_SECRET_ROTATION_HOURS = env.int("WEBHOOK_SECRET_ROTATION_HOURS", default=24)

# A beat tick that finds more than one batch of claims due (a catch-up) has this many workers sweep at once, itself
# included (claims.services.sweep_helpers); PostgreSQL only: SQLite cannot skip the rows another sweep holds.
DEADLINE_SWEEP_WORKERS = env.int("DEADLINE_SWEEP_WORKERS", default=4)

CELERY_BEAT_SCHEDULE = {
    "enforce-deadlines": {"task": "claims.tasks.enforce_deadlines", "schedule": 60.0},
    "deliver-pending-emails": {"task": "claims.tasks.deliver_pending_emails", "schedule": 60.0},
    # REFUND_PROVIDER=webhook: refunds still pending a minute after they were made (broker down) are sent.
    "submit-pending-refunds": {"task": "claims.tasks.submit_pending_refunds", "schedule": 300.0},
    # Outbound webhooks that are due and that no worker has (broker down, worker lost, retries minutes or hours away).
    # A run that waited longer than its interval in the queue is dropped: the next one does the same work.
    "deliver-due-webhooks": {"task": "integrations.tasks.deliver_due_webhooks", "schedule": 30.0,
                             "options": {"expires": 25.0}},
    # The stored answers of idempotent API POSTs, past API_IDEMPOTENCY_HOURS.
    "purge-idempotency-records": {"task": "api.tasks.purge_idempotency_records", "schedule": 3600.0},
    # Evidence of claims closed longer ago than EVIDENCE_RETENTION_MONTHS (claims.retention).
    "purge-expired-evidence": {"task": "claims.tasks.purge_expired_evidence", "schedule": 6 * 3600.0},
    "forget-old-presence": {"task": "claims.tasks.forget_old_presence", "schedule": 3600.0},
}

# --- Marketplace policy ---------------------------------------------------------------------------
# Read at call time (claims.policy.current_policy) and snapshotted on each claim when it is opened,
# so a later change never moves the deadlines of claims already open.
MARKETPLACE_COUNTRY = env.str("MARKETPLACE_COUNTRY", default="DE")
MARKETPLACE_SUBDIVISION = env.str("MARKETPLACE_SUBDIVISION", default="") or None
MARKETPLACE_CURRENCY = env.str("MARKETPLACE_CURRENCY", default="EUR")
CLAIM_FIRST_REPLY_HOURS = env.int("CLAIM_FIRST_REPLY_HOURS", default=48)
CLAIM_RESOLUTION_BUSINESS_DAYS = env.int("CLAIM_RESOLUTION_BUSINESS_DAYS", default=5)
CLAIM_INFO_DAYS = env.int("CLAIM_INFO_DAYS", default=2)
# Issue 15: the platform decides an escalated claim within this many business days of the escalation (or of the
# answer to its question), at the same clock time, the market's holidays skipped.
CLAIM_DECISION_BUSINESS_DAYS = env.int("CLAIM_DECISION_BUSINESS_DAYS", default=2)
# A colleague counts as having a claim's console page open while its heartbeat is younger than this.
CONSOLE_PRESENCE_SECONDS = env.int("CONSOLE_PRESENCE_SECONDS", default=90)
# How often an open claim page tells the server it is still open, and asks whether the claim changed.
CONSOLE_PRESENCE_POLL_SECONDS = env.int("CONSOLE_PRESENCE_POLL_SECONDS", default=30)
# How long a satisfaction-survey link stays valid.
SATISFACTION_LINK_DAYS = env.int("SATISFACTION_LINK_DAYS", default=30)
# The console overview's figures (claims.overview) are kept this long in the cache; 0 computes them on every visit.
CONSOLE_OVERVIEW_CACHE_SECONDS = env.int("CONSOLE_OVERVIEW_CACHE_SECONDS", default=120)
# The seller's record on the console's claim page (open claims, first replies missed, disputes lost) is kept this long
# per seller (claims/admin/history.py); 0 counts it on every page.
CONSOLE_SELLER_RECORD_CACHE_SECONDS = env.int("CONSOLE_SELLER_RECORD_CACHE_SECONDS", default=60)
CLAIM_HARD_DEADLINE_DAYS = env.int("CLAIM_HARD_DEADLINE_DAYS", default=180)
CLAIM_REMINDER_HOURS = env.int("CLAIM_REMINDER_HOURS", default=24)
CLAIM_NON_DELIVERY_BUFFER_BUSINESS_DAYS = env.int("CLAIM_NON_DELIVERY_BUFFER_BUSINESS_DAYS", default=3)
CLAIM_DEFECT_REPORT_MONTHS = env.int("CLAIM_DEFECT_REPORT_MONTHS", default=1)
CLAIM_DISPUTE_FINE = env.str("CLAIM_DISPUTE_FINE", default="25.00")
TRIAL_DAYS_DEFAULT = env.int("TRIAL_DAYS_DEFAULT", default=30)
TRIAL_DAYS_AFTER_REPAIR = env.int("TRIAL_DAYS_AFTER_REPAIR", default=14)
WARRANTY_MONTHS_DEFAULT = {"new": 24, "like_new": 21, "used": 12}
WARRANTY_MONTHS_MINIMUM = 12
WARRANTY_MONTHS_AFTER_REPAIR = env.int("WARRANTY_MONTHS_AFTER_REPAIR", default=6)
# Dispute policy: "the order must be within the allowable timeframe for opening a dispute, based on the estimated
# delivery date". Each market keeps its own window; this is the default for a market not kept in the console
# (Etsy allows 100 days).
CLAIM_DISPUTE_WINDOW_DAYS = env.int("CLAIM_DISPUTE_WINDOW_DAYS", default=100)
# A claim reopened by an agent gets at least this many days before the final deadline's forced refund.
CLAIM_REOPEN_DAYS = env.int("CLAIM_REOPEN_DAYS", default=30)
# Warranty policy: "The buyer must settle these costs within 30 days from the receipt of the list of costs".
EXPERT_COSTS_DAYS = env.int("EXPERT_COSTS_DAYS", default=30)
# Warranty policy, goods collected in person: a storage fee after one month, the right to sell after six months,
# with notice and "a reasonable additional period" (these days) before a sale.
COLLECTION_FREE_MONTHS = env.int("COLLECTION_FREE_MONTHS", default=1)
COLLECTION_SALE_MONTHS = env.int("COLLECTION_SALE_MONTHS", default=6)
COLLECTION_SALE_NOTICE_DAYS = env.int("COLLECTION_SALE_NOTICE_DAYS", default=30)
# The seller is reminded this many calendar days before a warranty claim's legal limit (the market's 30 days).
WARRANTY_CLAIM_REMINDER_DAYS = env.int("WARRANTY_CLAIM_REMINDER_DAYS", default=5)

# Appeals: a party may appeal a platform decision once, within this many days of it.
APPEAL_DAYS = env.int("APPEAL_DAYS", default=14)
# Returns: the buyer sends the goods within these days (reminded this many days before), and once the return is
# delivered the seller confirms receipt within these business days, or the platform refunds and recovers.
RETURN_SHIP_DAYS = env.int("RETURN_SHIP_DAYS", default=10)
RETURN_REMINDER_DAYS = env.int("RETURN_REMINDER_DAYS", default=3)
RETURN_CONFIRM_BUSINESS_DAYS = env.int("RETURN_CONFIRM_BUSINESS_DAYS", default=2)

# Evidence uploads
EVIDENCE_MAX_IMAGE_BYTES = env.int("EVIDENCE_MAX_IMAGE_BYTES", default=15 * 1024 * 1024)
EVIDENCE_MAX_VIDEO_BYTES = env.int("EVIDENCE_MAX_VIDEO_BYTES", default=50 * 1024 * 1024)
EVIDENCE_MAX_DOCUMENT_BYTES = env.int("EVIDENCE_MAX_DOCUMENT_BYTES", default=10 * 1024 * 1024)
EVIDENCE_MAX_IMAGE_PIXELS = env.int("EVIDENCE_MAX_IMAGE_PIXELS", default=40_000_000)
EVIDENCE_MAX_VIDEO_SECONDS = env.int("EVIDENCE_MAX_VIDEO_SECONDS", default=60)

# --- Observability: probes, metrics, logs, Sentry (docs/operations.md, "Health and metrics", "Logs") ---------------
# /metrics (config.metrics) answers a request with `Authorization: Bearer <METRICS_TOKEN>`, or one from an address in
# METRICS_ALLOWED_NETWORKS (CIDRs; the client's address as core.ratelimit.client_ip sees it, X-Forwarded-For only from
# TRUSTED_PROXIES); anyone else gets 404. The same callers see why a /readyz check failed.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
# The probes, answered before the rest of the middleware (core.probes.ProbeMiddleware), by URL name; load balancers
# probe over plain HTTP, so they are never redirected to HTTPS either.
PROBE_URL_NAMES = ["healthz", "readyz", "metrics"]
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# How long /readyz waits for the broker to accept a connection.
READYZ_BROKER_TIMEOUT_SECONDS = env.float("READYZ_BROKER_TIMEOUT_SECONDS", default=2.0)
# Errors to Sentry when SENTRY_DSN is set (config.sentry, called by the production settings), without personal data;
# SENTRY_TRACES_SAMPLE_RATE (0 to 1) of the requests and tasks traced too.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
# Log lines as text, or as JSON objects, one per line (core.logs.JsonFormatter; production's default).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")


def logging_settings(log_format: str) -> dict[str, object]:
    """Every line carries the reference of the request it was written in (core.request_id; "-" outside one; a task's
    id in a worker), the one the error pages show: an operator finds the 500 a person reports by it. In JSON, the claim
    being handled and the task too (core.logs). Workers and beat log with these settings (config/celery_app.py)."""
    if log_format not in ("json", "text"):
        raise ValueError(f'LOG_FORMAT must be "json" or "text", not {log_format!r}')
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "core.request_id.RequestIdFilter"}},
        "formatters": {"text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
                       "json": {"()": "core.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                                 "formatter": log_format}},
        "root": {"handlers": ["console"], "level": "INFO"},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }


LOGGING = logging_settings(LOG_FORMAT)

import contextlib
import fcntl
import os
import tempfile
import uuid
from pathlib import Path

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _no_language_left_over():
    """A request with a language cookie activates that language in the test's thread, and Django never deactivates
    it: a test that read a Slovak page would leave the next test writing Slovak. Each test starts in the default."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded evidence goes to a per-test folder, never into the repository."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache; every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _two_factor_sessions(monkeypatch):
    """Issue 18 makes agents, the finance team and superusers (and anyone who turned two factors on) pass a second
    factor before any page (accounts.middleware). Tests log them in with `client.force_login(user)`; that also gives
    them a confirmed authenticator app when they have none and marks the session verified as django_otp.login does,
    so every test still goes through the real middleware, with a session that passed. `force_login(user,
    verified=False)` leaves the session at the password step (accounts/tests/test_two_factor*.py)."""
    from django.test.client import ClientMixin

    original = ClientMixin.force_login

    def force_login(self, user, backend=None, verified=True):  # type: ignore[no-untyped-def]
        original(self, user, backend)
        if verified:
            from accounts.tests.two_factor_helpers import give_app, mark_verified, needs_verified_session

            if needs_verified_session(user):
                mark_verified(self, give_app(user))

    monkeypatch.setattr(ClientMixin, "force_login", force_login)


def worker_environment(broker: str, mail_dir: os.PathLike[str] | str, **environment: str) -> dict[str, str]:
    """The environment of a real Celery worker started by a test: this test's PostgreSQL database, `broker`, tasks
    not run eagerly, emails written as files into `mail_dir` (TEST_EMAIL_BACKEND may say how), and `environment`."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_TEST_BROKER_URL": broker,
        "CELERY_TEST_EAGER": "false",
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "TEST_EMAIL_FILE_PATH": str(mail_dir),
        **environment,
    }


@contextlib.contextmanager
def celery_worker(tmp_path, broker: str, **environment: str):  # type: ignore[no-untyped-def]  # pytest's tmp_path
    """A real Celery worker in another process, on `broker` and this test's PostgreSQL database, writing emails as files
    into the folder it yields; stopped (warm shutdown) and its log printed at the end."""
    import subprocess
    import sys
    from pathlib import Path

    env = worker_environment(broker, tmp_path / "mail", **environment)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    # A name of its own: on RabbitMQ a worker's remote-control queue is exclusive to its name, and a second
    # "celery@host" (another test process's) was refused it and stopped (RESOURCE_LOCKED).
    name = f"test-{uuid.uuid4().hex[:12]}@%h"
    process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "-n", name],
        cwd=Path(__file__).resolve().parent, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        yield tmp_path / "mail"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        print((tmp_path / "worker.log").read_text()[-4000:])


@pytest.fixture
def alone_on_redis():
    """The test holds a lock that every process of `make test` shares while it runs Celery workers on, and empties, a
    Redis database. Two processes at once would take each other's tasks and empty each other's queue.

    pytest-xdist's `xdist_group` (loadgroup) was to keep these tests in one process, but with pytest 9.2 it no longer
    groups anything (xdist 3.8 renames `item._nodeid`, which pytest 9.2 no longer reads), so a lock does it."""
    with open(Path(tempfile.gettempdir()) / "marketplace-support-tests-celery-workers-on-redis.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def celery_broker(url: str, *, queue: str = "celery"):
    """Send tasks to a real broker (not inline) for the duration, with the settings that broker gets in production
    (config.settings.base.celery_broker: quorum queues on RabbitMQ) and the queue `queue`, then go back to eager
    tasks."""
    from config.celery_app import app
    from config.settings.base import celery_broker as broker_settings

    def conf_of(url: str) -> dict[str, object]:
        return {name.removeprefix("CELERY_").lower(): value for name, value in broker_settings(url).items()}

    def apply(eager: bool, values: dict[str, object]) -> None:
        app.conf.task_always_eager = eager
        app.conf.update(values)
        app._pool = None  # connection pools are bound to the broker URL they were made for
        app.__dict__.pop("amqp", None)  # its queues and producers were made for the broker before

    changed = {**conf_of(url), "task_default_queue": queue}
    before = {name: app.conf.get(name) for name in {*changed, *conf_of("memory://")}}
    apply(False, changed)
    try:
        yield app
    finally:
        apply(True, before)


@pytest.fixture
def requires_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks and a database other processes can reach; CI runs it")

"""SQLite for development (`make run`) is shared by the web server and the worker's processes (issue 21: the worker hit
"database is locked" three times in ten minutes, each time sending an email twice). The database runs in WAL mode,
waits for a lock instead of failing, and begins transactions IMMEDIATE; the outbox claims a row before sending it."""

import datetime as dt
import threading

from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper

from config.settings.base import sqlite_options


def development_database(path) -> DatabaseWrapper:  # type: ignore[no-untyped-def]  # a test helper
    settings = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
    sqlite_options(settings)
    template = connections["default"].settings_dict
    return DatabaseWrapper({**template, **settings, "TEST": {}}, alias="development")


def test_the_development_database_is_shared_safely(tmp_path, django_db_blocker):
    django_db_blocker.unblock()
    database = development_database(tmp_path / "db.sqlite3")
    try:
        with database.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == 20_000
        assert database.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    finally:
        database.close()
        django_db_blocker.restore()


def test_a_writer_waits_for_another_instead_of_failing(tmp_path, django_db_blocker):
    """Two connections (the web server and a worker): the second transaction waits for the first one's write lock, and
    both commit; with Django's default (DEFERRED, no timeout to speak of) the second would fail "database is locked"."""
    django_db_blocker.unblock()
    path = tmp_path / "db.sqlite3"
    first = development_database(path)
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, sent_at TEXT, token TEXT)")
        cursor.execute("INSERT INTO outbox (id) VALUES (1)")
    claimed: list[int] = []

    def claim(database: DatabaseWrapper | None, token: str) -> None:
        database = database or development_database(path)  # a connection of the thread's own
        with database.cursor() as cursor:
            cursor.execute("UPDATE outbox SET token = %s WHERE id = 1 AND token IS NULL", [token])
            claimed.append(cursor.rowcount)

    first.set_autocommit(False)
    first.cursor().execute("BEGIN IMMEDIATE")  # the worker's transaction holds the write lock for a moment
    first.cursor().execute("UPDATE outbox SET sent_at = %s WHERE id = 1", [dt.datetime.now(dt.UTC).isoformat()])
    waiting = threading.Thread(target=claim, args=(None, "web"))
    waiting.start()
    waiting.join(timeout=0.5)
    assert waiting.is_alive()  # waiting for the lock, not failing
    first.commit()
    waiting.join(timeout=10)
    first.set_autocommit(True)
    claim(first, "worker")
    assert claimed == [1, 0]  # the row was claimed once: the second claim finds it taken
    first.close()
    django_db_blocker.restore()

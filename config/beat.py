"""Exactly one beat ticks, however many are started (CELERY_BEAT_SCHEDULER).

A beat started while another one ticks waits on standby, asking every STANDBY_SECONDS, and takes over when the first
one stops or dies. Which beat ticks is decided by a lock that its holder's death releases by itself:

- on PostgreSQL, a session-level advisory lock on a connection of the beat's own: shared by every host that shares the
  database, and released by PostgreSQL when that connection ends (a beat killed, a host lost);
- on any other database (SQLite in development: one machine), an exclusive `flock` on a file in the embedded broker's
  folder, released by the kernel when the process ends.

The lock is checked before every tick, so a beat that lost its connection (and so, perhaps, its lock) stops sending
until it has the lock again. A second beat would break nothing (the sweep skips claims another sweep holds, an email
row is claimed before it is sent), but it would double every periodic task for nothing.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

STANDBY_SECONDS = 5.0
# pg_try_advisory_lock(int, int): "MS" (marketplace support) and the beat's number in that space.
ADVISORY_LOCK = (0x4D53, 1)


class Lock(Protocol):
    def acquire(self) -> bool: ...

    def held(self) -> bool: ...

    def release(self) -> None: ...


class PostgresLock:
    """A session-level advisory lock held on a database connection of its own (never a request's or a task's)."""

    def __init__(self, alias: str = "default", key: tuple[int, int] = ADVISORY_LOCK) -> None:
        self.alias = alias
        self.key = key
        self._connection: Any = None

    def _cursor(self) -> Any:
        if self._connection is None:
            self._connection = connections.create_connection(self.alias)
        return self._connection.cursor()

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except DatabaseError:
                pass
            self._connection = None

    def acquire(self) -> bool:
        try:
            with self._cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", self.key)
                got = bool(cursor.fetchone()[0])
        except DatabaseError:
            logger.warning("beat: the database is unreachable; not ticking", exc_info=True)
            self._drop()
            return False
        if not got:
            self._drop()  # no connection kept open while on standby
        return got

    def held(self) -> bool:
        """Whether this connection still holds the lock (False once the connection is gone)."""
        if self._connection is None:
            return False
        try:
            with self._cursor() as cursor:
                cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                               "AND pid = pg_backend_pid() AND classid = %s AND objid = %s AND objsubid = 2)",
                               self.key)
                return bool(cursor.fetchone()[0])
        except DatabaseError:
            logger.warning("beat: lost the database connection that held the lock", exc_info=True)
            self._drop()
            return False

    def release(self) -> None:
        self._drop()  # the session's end releases the lock


class FileLock:
    """An exclusive `flock` on a file: one holder among the processes of one machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def beat_lock() -> Lock:
    """The lock for this installation's database (see the module's docstring). The file of the development lock lies
    in the embedded broker's folder (CELERY_BROKER_DIR), which every process of the machine shares."""
    if connections["default"].vendor == "postgresql":
        return PostgresLock()
    return FileLock(Path(settings.BROKER_DIR) / "beat.lock")


class GuardedScheduler(PersistentScheduler):
    """Celery's scheduler (its schedule file included), ticking only while it holds the beat lock."""

    def __init__(self, *args: Any, lock: Lock | None = None, **kwargs: Any) -> None:
        self.lock = lock or beat_lock()
        self._ticking = False
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.lock.held():
            if self._ticking:
                logger.warning("beat: lost the beat lock; standing by")
                self._ticking = False
            if not self.lock.acquire():
                return STANDBY_SECONDS
            logger.info("beat: holds the beat lock; ticking")
            self._ticking = True
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.lock.release()

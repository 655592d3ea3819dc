"""Exactly one beat ticks (config.beat, issue 21): a second beat stands by, and takes over when the first one dies,
whether it is killed (its lock goes with its process or its database session) or stops."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from celery.beat import PersistentScheduler
from django.db import connection

from config import beat
from config.celery_app import app

ROOT = Path(__file__).resolve().parent.parent


def test_a_file_lock_has_one_holder_and_is_free_again_once_released(tmp_path):
    first, second = beat.FileLock(tmp_path / "beat.lock"), beat.FileLock(tmp_path / "beat.lock")
    assert first.acquire() and first.held()
    assert not second.acquire() and not second.held()
    first.release()
    assert second.acquire() and second.held()
    second.release()


@pytest.mark.django_db(transaction=True)
def test_a_postgres_lock_has_one_holder_across_connections(requires_postgresql):
    first, second = beat.PostgresLock(), beat.PostgresLock()
    try:
        assert first.acquire() and first.held()
        assert not second.acquire() and not second.held()
        first.release()
        assert not first.held()
        assert second.acquire() and second.held()
    finally:
        first.release()
        second.release()


HOLDER = (
    "import django, time\n"
    "django.setup()\n"
    "from config.beat import beat_lock\n"
    "lock = beat_lock()\n"
    "print('held' if lock.acquire() else 'refused', flush=True)\n"
    "time.sleep(120)\n"
)


def holder(env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=ROOT, env=env,  # noqa: S603 - fixed snippet
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_killed_beat_process_leaves_the_file_lock_free(tmp_path):
    # On SQLite: the file lock.
    process = holder({**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
                      "CELERY_BROKER_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    try:
        lock = beat.FileLock(tmp_path / "beat.lock")
        assert not lock.acquire()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        assert lock.acquire()
        lock.release()
    finally:
        process.kill()


@pytest.mark.django_db(transaction=True)
def test_a_killed_beat_process_leaves_the_database_lock_free(requires_postgresql):
    db = connection.settings_dict
    process = holder({**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
                      "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"})
    lock = beat.PostgresLock()
    try:
        assert not lock.acquire()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not lock.acquire():  # PostgreSQL notices the session's end within moments
            assert time.monotonic() < deadline, "the killed holder's lock was not released"
            time.sleep(0.2)
    finally:
        lock.release()
        process.kill()


class FakeLock:
    def __init__(self, free: bool) -> None:
        self.free, self.holding, self.released = free, False, False

    def acquire(self) -> bool:
        self.holding = self.free
        return self.holding

    def held(self) -> bool:
        return self.holding

    def release(self) -> None:
        self.holding, self.released = False, True


def scheduler(tmp_path: Path, lock: FakeLock) -> beat.GuardedScheduler:
    return beat.GuardedScheduler(app=app, schedule_filename=str(tmp_path / "schedule"), lock=lock, lazy=False)


def test_a_beat_without_the_lock_stands_by_and_sends_nothing(tmp_path):
    standby = scheduler(tmp_path, FakeLock(free=False))
    with mock.patch.object(beat.GuardedScheduler, "apply_entry") as apply:
        for _ in range(3):
            assert standby.tick() == beat.STANDBY_SECONDS
    apply.assert_not_called()
    standby.close()


def test_the_beat_with_the_lock_ticks_and_lets_it_go_when_it_stops(tmp_path):
    lock = FakeLock(free=True)
    ticking = scheduler(tmp_path, lock)
    with mock.patch.object(PersistentScheduler, "tick", return_value=1.5) as celerys_tick:
        assert ticking.tick() == 1.5 and ticking.tick() == 1.5
    assert celerys_tick.call_count == 2 and lock.held()
    ticking.close()
    assert lock.released


def test_a_beat_that_loses_its_lock_stops_ticking(tmp_path):
    lock = FakeLock(free=True)
    ticking = scheduler(tmp_path, lock)
    ticking.tick()
    lock.free = lock.holding = False  # its database connection went away, and another beat took the lock
    with mock.patch.object(beat.GuardedScheduler, "apply_entry") as apply:
        assert ticking.tick() == beat.STANDBY_SECONDS
    apply.assert_not_called()
    ticking.close()


def test_beat_uses_the_guarded_scheduler(settings):
    assert app.conf.beat_scheduler == "config.beat:GuardedScheduler" == settings.CELERY_BEAT_SCHEDULER

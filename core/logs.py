"""What a log line says about where it was written: the claim being handled and, in a worker, the task, beside the
request's reference (core.request_id). And the JSON form of a line (LOG_FORMAT=json): one object per line, which a log
collector indexes without a parsing rule of its own.

The claim is a context variable. The web binds it for the rest of a request once the request is known to be about
one claim (config.observability.ClaimLogMiddleware, from the URL; the console's claim pages when they read their
claim); a worker binds it around the work on one claim (`claim`: the deadline sweep's actions on each claim, a task
about one claim's email or refund). A task binds its name and id (`task_started` / `task_finished`, connected to
Celery's task_prerun and task_postrun in config/celery_app.py), and its id becomes the lines' request id."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from . import request_id

_claim: ContextVar[str | None] = ContextVar("log_claim", default=None)
_task: ContextVar[tuple[str, str] | None] = ContextVar("log_task", default=None)  # (name, id)

# A claim number comes from a URL in the web: whatever a client typed, cut to a length no claim number reaches.
_MAX_CLAIM = 32


def current_claim() -> str | None:
    return _claim.get()


def current_task() -> tuple[str, str] | None:
    return _task.get()


@contextmanager
def claim(number: str | None) -> Iterator[None]:
    """Log lines written inside the block name this claim (None: no claim)."""
    token = _claim.set(number[:_MAX_CLAIM] if number else None)
    try:
        yield
    finally:
        _claim.reset(token)


@contextmanager
def claim_scope() -> Iterator[None]:
    """A block (a request) inside which `note_claim` names a claim until the block ends; outside it nothing is left
    over, whatever was noted."""
    token = _claim.set(None)
    try:
        yield
    finally:
        _claim.reset(token)


def note_claim(number: str | None) -> None:
    """From here to the end of the enclosing `claim_scope` (the request), log lines name this claim."""
    if number:
        _claim.set(number[:_MAX_CLAIM])


# --- Celery tasks ------------------------------------------------------------------------------------------------
# task_prerun and task_postrun come in pairs in the process (and thread) that runs the task; the tokens to undo what
# prerun bound wait here, by task id, for postrun.
_bound: dict[str, tuple[Token[tuple[str, str] | None], Token[str] | None, Token[str | None] | None]] = {}


def task_started(task_id: str, name: str, *, eager: bool = False) -> None:
    """Celery's task_prerun: the task's lines carry its name and id, and the id as their request id, so one search
    finds everything one run of a task wrote. A task run inline (eager: tests, a web process without a broker) inside
    a request keeps that request's id and claim."""
    task_token = _task.set((name, task_id))
    if eager and request_id.current() != request_id.NONE:
        _bound[task_id] = (task_token, None, None)
    else:
        _bound[task_id] = (task_token, request_id.bind(task_id), _claim.set(None))


def task_finished(task_id: str) -> None:
    """Celery's task_postrun: back to what was bound before the task."""
    tokens = _bound.pop(task_id, None)
    if tokens is None:
        return
    task_token, request_token, claim_token = tokens
    try:
        if claim_token is not None:
            _claim.reset(claim_token)
        if request_token is not None:
            request_id.unbind(request_token)
        _task.reset(task_token)
    except ValueError:  # bound in another context (a pool that ran prerun elsewhere): nothing of ours to undo here
        pass


# --- the JSON form of a line ---------------------------------------------------------------------------------------


def _utc(created: float) -> str:
    return dt.datetime.fromtimestamp(created, tz=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time` (ISO 8601, UTC, milliseconds), `level`, `logger`, `message`, `request_id`
    ("-" outside a request and a task), then when known `claim`, `task` and `task_id`, `status` (Django's request
    errors) and `exception` (the traceback). A message's line breaks stay inside its string: a traceback is one line.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            # RequestIdFilter's (the request the record carries, if any), else the one bound now.
            "request_id": getattr(record, "request_id", None) or request_id.current(),
        }
        if number := current_claim():
            entry["claim"] = number
        if task := current_task():
            entry["task"], entry["task_id"] = task
        status = getattr(record, "status_code", None)
        if isinstance(status, int):
            entry["status"] = status
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)

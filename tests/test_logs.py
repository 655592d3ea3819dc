"""Log lines (core.logs, LOGGING in config/settings): JSON objects one per line with the request's reference and the
claim being handled, on the web (buyer, seller, console and API claim pages) and in the workers (a task about one
claim, the deadline sweep's actions); Celery logging through Django's LOGGING; Sentry only with SENTRY_DSN."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import os
import subprocess
import sys
from logging.config import dictConfig
from pathlib import Path

import pytest
import time_machine
from celery.signals import setup_logging
from django.db import connection
from django.test import Client
from django.urls import reverse

from api.tests.helpers import auth, seller_key
from claims import notifications, services
from claims.models import OutboundEmail
from claims.services import deadlines as sweep
from claims.tasks import deliver_email
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import OPENED_AT, claim_world
from config import sentry
from config.settings.base import logging_settings
from core import logs, request_id

pytestmark = pytest.mark.django_db

logger = logging.getLogger("tests.logs")


@pytest.fixture
def json_lines():
    """The configured console handler (settings.LOGGING) writing JSON into a buffer; a function that parses what it
    wrote so far, one object per line."""
    [handler] = [h for h in logging.getLogger().handlers
                 if any(isinstance(f, request_id.RequestIdFilter) for f in h.filters)]
    stream, formatter = io.StringIO(), handler.formatter
    previous = handler.setStream(stream)
    handler.setFormatter(logs.JsonFormatter())

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    handler.setFormatter(formatter)
    handler.setStream(previous)


@contextlib.contextmanager
def queries_logged():
    """Every query is a log line meanwhile (django.db.backends at DEBUG): lines written inside the views."""
    db_logger = logging.getLogger("django.db.backends")
    level, debug_cursor = db_logger.level, connection.force_debug_cursor
    db_logger.setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    try:
        yield
    finally:
        connection.force_debug_cursor = debug_cursor
        db_logger.setLevel(level)


def get_logged(client, url: str, json_lines, **extra):
    """The response to a GET, and the lines written while it was answered (its queries among them)."""
    before = len(json_lines())
    with queries_logged():
        response = client.get(url, **extra)
    lines = json_lines()[before:]
    assert lines and all(line["request_id"] == response["X-Request-ID"] for line in lines), (
        "every line of the request carries its reference")
    return response, lines


# --- the JSON form -----------------------------------------------------------------------------------------------


def test_a_json_line_is_one_object_with_the_fields_an_operator_searches(json_lines):
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logger.exception("Something failed\non two lines for %s", "claim X")
    [line] = json_lines()
    assert line["level"] == "ERROR" and line["logger"] == "tests.logs"
    assert line["message"] == "Something failed\non two lines for claim X"
    assert line["request_id"] == "-"  # outside a request and a task
    assert "ZeroDivisionError" in line["exception"] and "Traceback" in line["exception"]
    assert line["time"].endswith("Z")
    assert dt.datetime.fromisoformat(line["time"]).utcoffset() == dt.timedelta(0)
    assert "claim" not in line and "task" not in line


def test_log_format_is_a_setting(settings):
    assert settings.LOG_FORMAT == "text"  # base, local and test settings
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "text"
    assert logging_settings("json")["handlers"]["console"]["formatter"] == "json"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_settings("xml")


# --- the web: the claim a request is about --------------------------------------------------------------------------


def test_a_claim_page_logs_with_the_request_id_and_the_claim_number(json_lines):
    world = claim_world()
    client = Client()
    client.force_login(world.buyer)
    response, lines = get_logged(client, reverse("claims:detail", args=[world.claim.number]), json_lines)
    assert response.status_code == 200
    # from the URL's resolution on (process_view), before the session is read: every line
    assert {line.get("claim") for line in lines} == {world.claim.number}
    assert logs.current_claim() is None  # nothing left over after the request


@pytest.mark.parametrize("page", ["seller", "console", "api"])
def test_the_seller_console_and_api_claim_pages_name_the_claim_too(page, json_lines):
    world = claim_world()
    client, extra = Client(), {}
    if page == "seller":
        client.force_login(world.staff)
        url = reverse("sellers:claim", args=[world.claim.number])
    elif page == "console":
        client.force_login(make_console_agent())
        url = reverse("admin:claims_claim_change", args=[world.claim.pk])  # the console addresses claims by id
    else:
        extra = auth(seller_key(world.claim.seller, scope="read")[1])
        url = f"/api/v1/claims/{world.claim.number}"
    response, lines = get_logged(client, url, json_lines, **extra)
    assert response.status_code == 200
    named = [line for line in lines if line.get("claim") == world.claim.number]
    assert named, "the page's own queries name the claim"


def test_an_order_number_is_not_a_claim_number(json_lines):
    world = claim_world()
    client = Client()
    client.force_login(world.buyer)
    response, lines = get_logged(client, reverse("claims:get_help", args=[world.claim.order.number]), json_lines)
    assert response.status_code == 200
    assert not [line for line in lines if "claim" in line]


# --- workers ------------------------------------------------------------------------------------------------------


def test_a_task_about_one_claim_logs_its_name_id_and_claim(json_lines, monkeypatch):
    world = claim_world()
    email = OutboundEmail.objects.create(claim=world.claim, to_email="b@example.org", event="opened",
                                         dedupe_key="logs-test", language="en", subject="Your claim")

    def deliver(pk: int) -> bool:
        logger.warning("SMTP refused email %s", pk)
        return False

    monkeypatch.setattr(notifications, "deliver", deliver)
    result = deliver_email.apply(args=[email.pk])
    [line] = [line for line in json_lines() if line["logger"] == "tests.logs"]
    assert line["claim"] == world.claim.number
    assert line["task"] == "claims.tasks.deliver_email"
    assert line["task_id"] == result.id
    assert line["request_id"] == result.id  # outside a request, the task's id is its lines' reference
    assert logs.current_task() is None and logs.current_claim() is None
    assert request_id.current() == request_id.NONE


def test_a_task_run_inline_in_a_request_keeps_the_request_id():
    token = request_id.bind("web-request-0001")
    try:
        with logs.claim("C-1"):
            logs.task_started("task-1", "claims.tasks.deliver_email", eager=True)
            assert (request_id.current(), logs.current_claim()) == ("web-request-0001", "C-1")
            assert logs.current_task() == ("claims.tasks.deliver_email", "task-1")
            logs.task_finished("task-1")
            assert logs.current_task() is None
        logs.task_started("task-2", "claims.tasks.deliver_email")  # in a worker: the task's own id
        assert request_id.current() == "task-2" and logs.current_claim() is None
        logs.task_finished("task-2")
        assert request_id.current() == "web-request-0001"
    finally:
        request_id.unbind(token)


def test_the_sweep_names_each_claim_it_acts_on(json_lines, monkeypatch):
    worlds = [claim_world(), claim_world()]
    for what, act in list(sweep._ACT.items()):
        def logged(claim, now, act=act, what=what):
            logger.info("acting: %s", what)
            return act(claim, now)
        monkeypatch.setitem(sweep._ACT, what, logged)
    at = OPENED_AT + dt.timedelta(days=3)
    with time_machine.travel(at, tick=False):
        services.enforce_deadlines(at)
    acted = [line for line in json_lines() if line["logger"] == "tests.logs"]
    assert {line["claim"] for line in acted} == {world.claim.number for world in worlds}
    assert logs.current_claim() is None


def test_celery_logs_through_djangos_logging(settings):
    """Connected to setup_logging, our receiver configures logging from settings.LOGGING, so Celery leaves its own
    set-up out (it configures only when nobody answers the signal)."""
    settings.LOGGING = logging_settings("json")
    try:
        answers = setup_logging.send(sender=None, loglevel=logging.INFO, logfile=None, format="", colorize=False)
        assert answers, "a receiver answers: Celery does not configure logging itself"
        [handler] = logging.getLogger().handlers
        assert isinstance(handler.formatter, logs.JsonFormatter)
        assert any(isinstance(f, request_id.RequestIdFilter) for f in handler.filters)
    finally:
        dictConfig(logging_settings("text"))


# --- Sentry ---------------------------------------------------------------------------------------------------------


def test_sentry_is_set_up_only_with_a_dsn(monkeypatch):
    calls = []
    monkeypatch.setattr("sentry_sdk.init", lambda **kwargs: calls.append(kwargs))
    assert sentry.init_sentry(dsn="") is False
    assert calls == []
    assert sentry.init_sentry(dsn="https://key@sentry.example.com/1", environment="staging", release="1.2.3",
                              traces_sample_rate=0.25) is True
    [options] = calls
    assert options["dsn"] == "https://key@sentry.example.com/1"
    assert options["send_default_pii"] is False
    assert (options["environment"], options["release"], options["traces_sample_rate"]) == ("staging", "1.2.3", 0.25)
    assert {type(i).__name__ for i in options["integrations"]} == {"DjangoIntegration", "CeleryIntegration"}


PRODUCTION_ENV = {"DJANGO_SETTINGS_MODULE": "config.settings.production",
                  "DJANGO_SECRET_KEY": "x" * 20 + "-production-check-only-" + "y" * 30,
                  "DJANGO_ALLOWED_HOSTS": "support.example.com", "DATABASE_URL": "postgres://u@127.0.0.1:5432/db",
                  "REDIS_URL": "redis://127.0.0.1:6379/0"}
PROBE = ("import json, sentry_sdk, config.settings.production as s; client = sentry_sdk.get_client(); "
         "print(json.dumps({'active': client.is_active(), 'environment': client.options.get('environment'), "
         "'pii': client.options.get('send_default_pii'), 'format': s.LOGGING['handlers']['console']['formatter']}))")


def _production_settings(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SENTRY_", "LOG_FORMAT", "DJANGO_ALLOW_ASYNC_UNSAFE"))}
    result = subprocess.run([sys.executable, "-c", PROBE],  # noqa: S603 - our own settings, fixed arguments
                            cwd=Path(__file__).resolve().parent.parent, env={**env, **PRODUCTION_ENV, **extra},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_log_json_and_report_to_sentry_only_with_a_dsn():
    plain = _production_settings()
    assert plain["active"] is False  # nothing happens without SENTRY_DSN
    assert plain["format"] == "json"
    configured = _production_settings(SENTRY_DSN="https://key@sentry.example.com/1", SENTRY_ENVIRONMENT="staging",
                                      LOG_FORMAT="text")
    assert configured == {"active": True, "environment": "staging", "pii": False, "format": "text"}

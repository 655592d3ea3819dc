"""The probes and the metrics (config.health, config.metrics, core.metrics, core.probes): /healthz touches nothing,
/readyz names each dependency that is down, /metrics answers only a token or an allowed address, with the figures of
the database at scrape time in a fixed number of queries, each request's time by route and each task's outcome."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core.files.storage import Storage
from django.db import OperationalError, connections
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from api.tasks import purge_idempotency_records
from claims.models import Claim, OutboundEmail
from claims.notifications import MAX_ATTEMPTS
from claims.tasks import deliver_email
from claims.tests.factories import claim_world, open_defective_claim
from config import health
from config.celery_app import app as celery_app
from config.metrics import QUERIES, DatabaseCollector
from core import metrics as core_metrics
from integrations.endpoints import new_secret
from integrations.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC)
OUTSIDE = "203.0.113.7"  # an address in no allowed network
TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture(autouse=True)
def _migrations_not_yet_seen():
    """Each test starts from a process that has not yet seen its migrations applied (config.health remembers it)."""
    health.migrations.applied = False
    yield
    health.migrations.applied = False


# --- /healthz -------------------------------------------------------------------------------------------------------


def test_healthz_answers_without_touching_the_database(django_assert_num_queries):
    client = Client()
    client.force_login(claim_world().buyer)  # a session cookie: even then, no session is read
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert response["X-Request-ID"]
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_probes_are_answered_over_plain_http_to_any_host(settings):
    """Load balancers probe over HTTP with the machine's address as Host: no HTTPS redirect, no 400."""
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path, HTTP_HOST="10.1.2.3:8000").status_code == 200, path
    assert client.get("/", HTTP_HOST="support.example.com").status_code == 400  # not in ALLOWED_HOSTS
    assert client.get("/accounts/login/").status_code == 301  # the site itself is still redirected


def test_probes_answer_get_and_head_only():
    client = Client()
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


# --- /readyz --------------------------------------------------------------------------------------------------------


def test_readyz_when_everything_answers():
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"database", "cache", "broker", "storage", "migrations"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "no-store" in response["Cache-Control"]


def test_readyz_fails_when_the_local_evidence_folder_cannot_be_written(tmp_path, settings):
    """On the local disk `exists()` never fails: the folder itself is checked (here a file stands where it should)."""
    blocker = tmp_path / "media"
    blocker.write_text("not a folder")
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(blocker)}}}
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]


def test_readyz_makes_a_missing_evidence_folder_as_the_first_upload_would(tmp_path, settings):
    folder = tmp_path / "media" / "evidence"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(folder)}}}
    assert Client().get("/readyz").status_code == 200 and folder.is_dir()


def test_readyz_remembers_the_migrations_once_applied(django_assert_num_queries):
    client = Client()
    assert client.get("/readyz").status_code == 200
    with django_assert_num_queries(1):  # SELECT 1: the migrations are not asked again
        assert client.get("/readyz").status_code == 200


class UnreachableStorage(Storage):
    def exists(self, name: str) -> bool:
        raise ConnectionError("Could not connect to the endpoint URL: https://s3.example.com/evidence")


def _refuse(*args, **kwargs):
    raise OperationalError("connection to server at 10.0.0.5, port 5432 failed: Connection refused")


@pytest.fixture
def database_down():
    connections["default"].ensure_connection = _refuse
    yield
    connections["default"].__dict__.pop("ensure_connection", None)


def _break(dependency: str, request, monkeypatch, settings) -> None:
    if dependency == "database":
        request.getfixturevalue("database_down")
    elif dependency == "cache":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                       "LOCATION": "redis://127.0.0.1:1/0"}}
    elif dependency == "broker":
        monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    elif dependency == "storage":
        settings.STORAGES = {**settings.STORAGES,
                             "default": {"BACKEND": "tests.test_health_and_metrics.UnreachableStorage"}}
    elif dependency == "migrations":
        MigrationRecorder.Migration.objects.filter(app="claims").order_by("-id").first().delete()


@pytest.mark.parametrize(("dependency", "reason"), [
    ("database", "OperationalError: connection to server at 10.0.0.5"),
    ("cache", "ConnectionError"),
    ("broker", "OperationalError"),
    ("storage", "ConnectionError: Could not connect to the endpoint URL"),
    ("migrations", "NotReady: 1 migration(s) not applied: claims."),
])
def test_readyz_names_the_dependency_that_is_down(dependency, reason, request, monkeypatch, settings):
    _break(dependency, request, monkeypatch, settings)
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    # Without a database the migrations cannot be read either; every other dependency fails alone.
    assert body["failed"] == (["database", "migrations"] if dependency == "database" else [dependency])
    assert body["checks"][dependency]["error"].startswith(reason), body
    assert "no-store" in response["Cache-Control"]


def test_readyz_tells_strangers_only_the_kind_of_error(monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    body = Client(REMOTE_ADDR=OUTSIDE).get("/readyz").json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["broker"]["error"] == "OperationalError"  # no host, no port


# --- /metrics: who may read it --------------------------------------------------------------------------------------


def test_metrics_are_refused_without_a_token_from_outside(settings):
    settings.METRICS_TOKEN = TOKEN
    stranger = Client(REMOTE_ADDR=OUTSIDE)
    assert stranger.get("/metrics").status_code == 404
    assert stranger.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 404
    assert stranger.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 404
    settings.METRICS_TOKEN = ""
    assert stranger.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404  # no token set: none matches


def test_metrics_with_the_token_from_anywhere(settings):
    settings.METRICS_TOKEN = TOKEN
    response = Client(REMOTE_ADDR=OUTSIDE).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-store" in response["Cache-Control"]


def test_metrics_from_an_allowed_network(settings):
    assert Client().get("/metrics").status_code == 200  # 127.0.0.1/32 by default
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "2001:db8::/32"]
    assert Client(REMOTE_ADDR="10.20.30.40").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="2001:db8::7").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::ffff:10.1.1.1").get("/metrics").status_code == 200
    assert Client().get("/metrics").status_code == 404  # 127.0.0.1 is no longer listed


def test_metrics_judge_the_client_behind_a_trusted_proxy(settings):
    """Behind the local proxy every request comes from 127.0.0.1: the client is X-Forwarded-For's, from a trusted
    proxy only (core.ratelimit.client_ip). The internet through the proxy is not the loopback."""
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32", "10.0.0.0/8"]
    assert Client(HTTP_X_FORWARDED_FOR=OUTSIDE).get("/metrics").status_code == 404
    assert Client(HTTP_X_FORWARDED_FOR="10.9.8.7").get("/metrics").status_code == 200
    # From an untrusted address the header is ignored: the address itself is judged.
    assert Client(REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR="10.9.8.7").get("/metrics").status_code == 404


# --- /metrics: what it says -----------------------------------------------------------------------------------------


def _email(created: dt.datetime, **fields) -> OutboundEmail:
    return OutboundEmail.objects.create(to_email="someone@example.org", event="opened", language="en", subject="Claim",
                                 dedupe_key=f"test:{OutboundEmail.objects.count()}:{created.isoformat()}",
                                 created_at=created, **fields)


def _dataset() -> None:
    """Two claims awaiting the seller, one in progress; two of them past their next deadline (10 and 1 minutes);
    emails: two unsent (one due 5 minutes ago, one digest waiting for its window), one given up, one sent;
    webhook deliveries: two pending (one due 2 minutes ago, one retrying later), one delivered, one failed."""
    world = claim_world("in_progress")
    first, second = open_defective_claim(), open_defective_claim()
    Claim.objects.update(next_deadline_at=NOW + dt.timedelta(days=1))  # the deadlines are the test's, not the story's
    Claim.objects.filter(pk=first.pk).update(next_deadline_at=NOW - dt.timedelta(minutes=10))
    Claim.objects.filter(pk=world.claim.pk).update(next_deadline_at=NOW - dt.timedelta(minutes=1))
    Claim.objects.filter(pk=second.pk).update(next_deadline_at=None)

    OutboundEmail.objects.all().delete()  # the stories' own emails are not sent in tests: none of them counts here
    _email(NOW - dt.timedelta(minutes=5))
    _email(NOW - dt.timedelta(minutes=15), send_after=NOW + dt.timedelta(minutes=1))
    _email(NOW - dt.timedelta(hours=9), attempts=MAX_ATTEMPTS)
    _email(NOW - dt.timedelta(hours=1), sent_at=NOW - dt.timedelta(minutes=59))

    WebhookDelivery.objects.all().delete()
    endpoint = WebhookEndpoint.objects.create(seller=first.seller, url="https://erp.example.com/hooks",
                                              events=["claim.opened"], secret=new_secret())
    for n, (status, next_attempt) in enumerate([("pending", NOW - dt.timedelta(minutes=2)),
                                                ("pending", NOW + dt.timedelta(minutes=30)),
                                                ("succeeded", None), ("failed", None)]):
        event = WebhookEvent.objects.create(msg_id=f"msg_{n}", type="claim.opened", seller=first.seller,
                                            claim_number=first.number, payload={}, dedupe_key=f"metrics-{n}")
        WebhookDelivery.objects.create(event=event, endpoint=endpoint, status=status, next_attempt_at=next_attempt,
                                       created_at=NOW - dt.timedelta(hours=1))


def _families(response) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """{family name: {sorted labels: value}} of an exposition, samples by their own names for the histograms."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_metrics_say_what_the_database_says(django_assert_num_queries):
    _dataset()
    with time_machine.travel(NOW, tick=False):
        with django_assert_num_queries(QUERIES):  # the view itself reads nothing else: no session, no user
            response = Client().get("/metrics")
    assert response.status_code == 200
    found = _families(response)
    assert found["marketplace_claims"] == {
        (("state", "awaiting_seller"),): 2, (("state", "in_progress"),): 1, (("state", "awaiting_return"),): 0,
        (("state", "escalated"),): 0, (("state", "awaiting_info"),): 0, (("state", "resolved"),): 0}
    plain = {name: values[()] for name, values in found.items() if () in values}
    assert plain["marketplace_metrics_database_up"] == 1
    assert plain["marketplace_deadlines_due"] == 2
    assert plain["marketplace_deadline_lag_seconds"] == 600
    assert plain["marketplace_emails_unsent"] == 2
    assert plain["marketplace_email_lag_seconds"] == 300
    assert plain["marketplace_emails_given_up"] == 1
    assert plain["marketplace_webhook_deliveries_pending"] == 2
    assert plain["marketplace_webhook_delivery_lag_seconds"] == 120


def test_metrics_with_nothing_due():
    with time_machine.travel(NOW, tick=False):
        found = _families(Client().get("/metrics"))
    for name in ("marketplace_deadline_lag_seconds", "marketplace_email_lag_seconds",
                 "marketplace_webhook_delivery_lag_seconds", "marketplace_emails_unsent"):
        assert found[name] == {(): 0}, name


def test_the_collector_asks_the_same_number_of_queries_whatever_the_data(django_assert_num_queries):
    with django_assert_num_queries(QUERIES):
        list(DatabaseCollector(now=NOW).collect())
    _dataset()
    for _ in range(3):
        claim_world("escalated")
        _email(NOW - dt.timedelta(minutes=1))
    with django_assert_num_queries(QUERIES):
        names = {family.name for family in DatabaseCollector(now=NOW).collect()}
    assert len(names) == 9


def test_a_database_that_does_not_answer_is_a_gauge_not_a_failed_scrape(database_down):
    response = Client().get("/metrics")
    assert response.status_code == 200
    found = _families(response)
    assert found["marketplace_metrics_database_up"] == {(): 0}
    assert "marketplace_claims" not in found
    assert "marketplace_celery_tasks_total" in found  # the rest still answers


def test_request_times_by_route_name_never_by_path():
    world = claim_world()
    client = Client()
    client.force_login(world.buyer)

    def count(route: str, status: str = "2xx") -> float:
        return REGISTRY.get_sample_value("marketplace_http_request_duration_seconds_count",
                                         {"method": "GET", "route": route, "status": status}) or 0

    before, missing = count("claims:detail"), count("unmatched", "4xx")
    assert client.get(f"/claims/{world.claim.number}/").status_code == 200
    assert client.get("/no/such/page/").status_code == 404
    assert count("claims:detail") == before + 1
    assert count("unmatched", "4xx") == missing + 1
    exposition = Client().get("/metrics").content.decode()
    assert 'route="claims:detail"' in exposition
    assert world.claim.number not in exposition  # never a path, a number or anything a client typed


def test_task_outcomes_are_counted_in_the_shared_cache_and_read_at_scrape_time():
    from celery.signals import task_failure, task_retry, task_revoked

    purge_idempotency_records.delay()  # an eager task: the worker's own signals fire
    purge_idempotency_records.delay()
    task_failure.send(sender=deliver_email, task_id="t-1", exception=RuntimeError("x"))
    task_retry.send(sender=deliver_email, request=None, reason="SMTP down", einfo=None)
    task_revoked.send(sender=deliver_email, request=None, terminated=False, signum=None, expired=True)
    found = _families(Client().get("/metrics"))["marketplace_celery_tasks_total"]
    assert found[(("outcome", "success"), ("task", "api.tasks.purge_idempotency_records"))] == 2
    assert found[(("outcome", "failure"), ("task", "claims.tasks.deliver_email"))] == 1
    assert found[(("outcome", "retry"), ("task", "claims.tasks.deliver_email"))] == 1
    assert found[(("outcome", "revoked"), ("task", "claims.tasks.deliver_email"))] == 1
    assert found[(("outcome", "success"), ("task", "claims.tasks.enforce_deadlines"))] == 0  # every task, known ahead
    assert not any(name.startswith("celery.") for (_outcome, (_label, name)) in found)


def test_a_cache_that_is_down_loses_the_count_never_the_task(settings, caplog):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    core_metrics.count_task("claims.tasks.deliver_email", "success")  # no exception
    assert "not counted" in caplog.text
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert "marketplace_celery_tasks_total" not in _families(response)


def test_readyz_body_is_json_for_machines():
    response = Client().get("/readyz")
    assert response["Content-Type"] == "application/json"
    json.loads(response.content)


def test_an_address_that_is_no_address_is_never_allowed():
    assert not core_metrics.address_allowed("", ["0.0.0.0/0"])
    assert not core_metrics.address_allowed("unknown", ["0.0.0.0/0"])
    assert core_metrics.address_allowed("192.0.2.1", ["0.0.0.0/0"])


def test_with_prometheus_multiprocess_mode_every_process_is_read_from_the_directory(monkeypatch, tmp_path):
    """PROMETHEUS_MULTIPROC_DIR (several gunicorn processes): the scrape adds up the processes' files instead of
    reading this process's registry, and still asks the scrape-time collectors."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    body = core_metrics.exposition(DatabaseCollector(now=NOW)).content.decode()
    assert "marketplace_claims" in body
    assert "python_info" not in body  # the process's own registry is not what is read


def test_a_method_nobody_uses_is_one_label_value_not_many():
    def count(method: str) -> float:
        return REGISTRY.get_sample_value("marketplace_http_request_duration_seconds_count",
                                         {"method": method, "route": "healthz", "status": "4xx"}) or 0

    before = count("other")
    assert Client().generic("PROPFIND", "/healthz").status_code == 405
    assert Client().generic("BREW", "/healthz").status_code == 405
    assert count("other") == before + 2

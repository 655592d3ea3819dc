"""Prometheus metrics that know no app: each request's time, who may read /metrics, the count of what became of each
Celery task, and the exposition of it all (config.metrics adds what the database says at scrape time).

Web processes: gunicorn runs several processes, and each one keeps its own histogram. A scrape reaches one of them,
so with more than one process set PROMETHEUS_MULTIPROC_DIR (an empty directory, emptied before gunicorn starts):
every process then writes its samples there and the scrape adds them up (prometheus-client's multiprocess mode).

Tasks: workers are other processes, usually on other hosts, which Prometheus does not scrape (a worker serves no
HTTP). Multiprocess mode only adds up the processes of one host sharing one directory, so it cannot count them.
Their counts go to the cache instead, Redis in production, which every web process on every host reads at scrape
time: one INCR per finished task, one read of a few keys per scrape. A Redis restart starts the counts again from
zero, which Prometheus' rate() and increase() take as a counter reset."""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from .ratelimit import client_ip

logger = logging.getLogger(__name__)

# --- request latency ---------------------------------------------------------------------------------------------

REQUEST_SECONDS = Histogram(
    "marketplace_http_request_duration_seconds",
    "Time from the request reaching Django to its response, by method, URL route name and status class.",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no URL pattern matched (a 404 of the resolver, a probe of the scanners)
STATIC = "static"  # a static file WhiteNoise served before any URL was resolved


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name ("claims:detail", "admin:claims_claim_change"), never the path: a label value per
    pattern, not per claim number or per scanner's guess."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    return STATIC if settings.STATIC_URL and request.path.startswith(settings.STATIC_URL) else UNMATCHED


class RequestMetricsMiddleware:
    """Right after RequestIdMiddleware: every answer's time, the middleware's own included, in
    `marketplace_http_request_duration_seconds{method, route, status}` ("2xx" … "5xx"). A streamed answer counts until
    its first byte is ready, not until the client has it all."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        REQUEST_SECONDS.labels(method, route_of(request), f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started)
        return response


# --- who may read /metrics ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def address_allowed(address: str, cidrs: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # "::ffff:10.0.0.5" from a dual-stack socket is 10.0.0.5
    return any(ip in network for network in _networks(tuple(cidrs)))


def token_matches(request: HttpRequest, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    if not token:
        return False
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_allowed(request: HttpRequest) -> bool:
    """METRICS_TOKEN as a bearer token, or a client address (core.ratelimit.client_ip: X-Forwarded-For only from
    TRUSTED_PROXIES) inside METRICS_ALLOWED_NETWORKS. Either one is enough."""
    return (token_matches(request, settings.METRICS_TOKEN)
            or address_allowed(client_ip(request), settings.METRICS_ALLOWED_NETWORKS))


# --- what became of each Celery task ------------------------------------------------------------------------------

TASK_OUTCOMES = ("success", "failure", "retry", "revoked")


def _task_key(name: str, outcome: str) -> str:
    return f"metrics:task:{outcome}:{name}"


def count_task(name: str, outcome: str) -> None:
    """One more `outcome` for the task `name`, in the shared cache; never expires. A cache that is down loses the
    count (logged), never the task."""
    key = _task_key(name, outcome)
    try:
        try:
            cache.incr(key)
        except ValueError:  # the first one (or the cache forgot it): start at 1, unless another process just did
            if not cache.add(key, 1, timeout=None):
                cache.incr(key)
    except Exception:  # noqa: BLE001 - a metric must never fail a task
        logger.warning("task outcome %s of %s not counted", outcome, name, exc_info=True)


def task_counts(names: Iterable[str]) -> dict[tuple[str, str], int]:
    """Every (task, outcome) count of these tasks, 0 where none was counted, in one read of the cache."""
    keys = {_task_key(name, outcome): (name, outcome) for name in names for outcome in TASK_OUTCOMES}
    found = cache.get_many(list(keys))
    return {pair: int(found.get(key) or 0) for key, pair in keys.items()}


class TaskOutcomeCollector(Collector):
    """`marketplace_celery_tasks_total{task, outcome}` for every task the Celery app has, read at scrape time."""

    def __init__(self, task_names: Callable[[], Sequence[str]]) -> None:
        self.task_names = task_names

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("marketplace_celery_tasks", "Celery tasks finished, by task and outcome "
                                     "(success, failure, retry, revoked), counted by the workers in the shared cache.",
                                     labels=["task", "outcome"])
        try:
            counts = task_counts(self.task_names())
        except Exception:  # noqa: BLE001 - the cache is down: the rest of the scrape still answers
            logger.warning("metrics: the task counts could not be read from the cache", exc_info=True)
            return
        for (name, outcome), value in sorted(counts.items()):
            family.add_metric([name, outcome], value)
        yield family


# --- the exposition -----------------------------------------------------------------------------------------------


class _Together(Collector):
    def __init__(self, collectors: Sequence[Collector]) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def exposition(*collectors: Collector) -> HttpResponse:
    """The text exposition of this process's metrics (every process's, with PROMETHEUS_MULTIPROC_DIR) and of
    `collectors`, which are asked at this scrape only, never registered globally."""
    own: Collector = (MultiProcessCollector(None) if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else REGISTRY)
    return HttpResponse(generate_latest(_Together([own, *collectors])), content_type=CONTENT_TYPE_LATEST)

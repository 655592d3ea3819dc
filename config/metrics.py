"""/metrics for Prometheus (docs/operations.md, "Health and metrics"): the figures `manage.py claims_health` prints,
read from the database at scrape time, beside the request times and task outcomes of core.metrics.

Refused callers get 404, as if there were no such page: neither a token nor an allowed address (METRICS_TOKEN,
METRICS_ALLOWED_NETWORKS; core.metrics.metrics_allowed)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from claims.choices import ClaimState
from claims.models import Claim
from claims.monitoring import backlog
from claims.notifications import MAX_ATTEMPTS
from core.metrics import TaskOutcomeCollector, exposition, metrics_allowed
from integrations.models import DeliveryStatus, WebhookDelivery

from .celery_app import app as celery_app

logger = logging.getLogger(__name__)

# The number of queries one scrape makes, whatever the number of claims, emails and deliveries (a test holds it).
QUERIES = 4


def _age(now: dt.datetime, oldest: dt.datetime | None) -> float:
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class DatabaseCollector(Collector):
    """What the database says now, in QUERIES queries: claims by state, the deadlines the sweep has not acted on, the
    email outbox and the outbound webhooks not yet delivered. A database that does not answer is a gauge at 0, and
    the rest of the scrape (request times, tasks) still answers."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        now = self.now or timezone.now()
        try:
            metrics = list(self._from_database(now))
        except DatabaseError:
            logger.warning("metrics: the database did not answer", exc_info=True)
            metrics = []
        yield _gauge("marketplace_metrics_database_up", "1 when this scrape could read the database, else 0.",
                     1 if metrics else 0)
        yield from metrics

    def _from_database(self, now: dt.datetime) -> Iterator[Metric]:
        by_state = dict(Claim.objects.order_by().values_list("state").annotate(count=Count("id")))
        claims = GaugeMetricFamily("marketplace_claims", "Claims by state.", labels=["state"])
        for state in ClaimState:
            claims.add_metric([state.value], by_state.get(state.value, 0))

        # The same figures as claims_health (claims.monitoring), in two queries.
        figures = backlog(now)

        # A pending delivery is late from the attempt it waits for (its retry schedule's), not from its creation.
        webhooks = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).aggregate(
            pending=Count("id"), oldest=Min("next_attempt_at", filter=Q(next_attempt_at__lte=now)))

        yield claims
        yield _gauge("marketplace_deadlines_due", "Claims whose next deadline has passed and that the sweep has "
                     "not acted on yet.", figures.deadlines_due)
        yield _gauge("marketplace_deadline_lag_seconds", "Age of the oldest deadline the sweep has not acted on yet "
                     "(0 when none).", figures.deadline_lag_seconds)
        yield _gauge("marketplace_emails_unsent", "Outbox emails not sent yet and not given up.", figures.emails_unsent)
        yield _gauge("marketplace_email_lag_seconds", "Age of the oldest outbox email that may be sent and is not "
                     "(0 when none).", figures.email_lag_seconds)
        yield _gauge("marketplace_emails_given_up", f"Outbox emails given up after {MAX_ATTEMPTS} failed attempts.",
                     figures.emails_given_up)
        yield _gauge("marketplace_webhook_deliveries_pending", "Outbound webhook deliveries not delivered yet (nor "
                     "failed for good).", webhooks["pending"])
        yield _gauge("marketplace_webhook_delivery_lag_seconds", "How late the most overdue pending webhook "
                     "delivery is, from the attempt it waits for (0 when none is due).", _age(now, webhooks["oldest"]))


@functools.cache
def task_names() -> tuple[str, ...]:
    """Every task of the Celery app (Celery's own built-ins left out): a label value each, known in advance. A web
    process has not necessarily imported every app's tasks module yet: the worker's own discovery imports them."""
    celery_app.loader.import_default_modules()
    return tuple(sorted(name for name in celery_app.tasks if not name.startswith("celery.")))


@never_cache
@csrf_exempt
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponseNotFound(b"Not Found\n", content_type="text/plain")
    return exposition(DatabaseCollector(), TaskOutcomeCollector(task_names))

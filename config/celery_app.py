import gc
import os

from celery import Celery
from celery.signals import (
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    task_revoked,
    task_success,
    worker_process_init,
    worker_ready,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("marketplace_support")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
@worker_ready.connect
def _freeze_what_start_up_made(**_kwargs: object) -> None:
    """What start-up made (Django, the apps, the templates) stays for the worker's life: out of the collector's way,
    a task that makes many objects (the deadline sweep's batches) is not slowed by rescanning it (gc.freeze)."""
    gc.freeze()


# --- Observability (docs/operations.md, "Logs", "Health and metrics") ----------------------------------------------
# Workers and beat log through Django's LOGGING (JSON lines in production), not Celery's own set-up; each task's lines
# carry its name and id, the id as their request id (core.logs); what became of each task is counted where every web
# process reads it at scrape time (core.metrics.count_task: the shared cache, since workers run on other hosts).


@setup_logging.connect
def _log_with_django_settings(**_kwargs: object) -> None:
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@task_prerun.connect
def _bind_task_to_log_lines(task_id: str | None = None, task: object = None, **_kwargs: object) -> None:
    from core import logs

    if task_id:
        request = getattr(task, "request", None)
        logs.task_started(task_id, getattr(task, "name", None) or "?", eager=bool(getattr(request, "is_eager", False)))


@task_postrun.connect
def _unbind_task_from_log_lines(task_id: str | None = None, **_kwargs: object) -> None:
    from core import logs

    if task_id:
        logs.task_finished(task_id)


def _count_task(sender: object, outcome: str) -> None:
    from core import metrics

    name = getattr(sender, "name", None) or (sender if isinstance(sender, str) else None)
    if name:
        metrics.count_task(name, outcome)


@task_success.connect
def _count_task_success(sender: object = None, **_kwargs: object) -> None:
    _count_task(sender, "success")


@task_failure.connect
def _count_task_failure(sender: object = None, **_kwargs: object) -> None:
    _count_task(sender, "failure")


@task_retry.connect
def _count_task_retry(sender: object = None, **_kwargs: object) -> None:
    _count_task(sender, "retry")


@task_revoked.connect
def _count_task_revoked(sender: object = None, **_kwargs: object) -> None:
    _count_task(sender, "revoked")

import gc
import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

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

"""An email backend for fault tests: Django's file backend that first notes the attempt and then takes its time.

A Celery worker started by tests/test_faults.py is pointed at it with TEST_EMAIL_BACKEND, so the test can see
when a worker is in the middle of sending (to kill it right there) and count how often sending was attempted.

    SLOW_EMAIL_SECONDS       how long a send waits before writing (default 0)
    SLOW_EMAIL_ATTEMPTS      only the first this many attempts (counted in the marker folder) are slow
    SLOW_EMAIL_MARKER_DIR    where each attempt leaves a file named <pid>-<n>.attempt with the subjects
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend

_attempts = itertools.count(1)


class SlowFileBackend(EmailBackend):
    def send_messages(self, email_messages):  # type: ignore[no-untyped-def]
        earlier = 0
        marker_dir = os.environ.get("SLOW_EMAIL_MARKER_DIR")
        if marker_dir:
            Path(marker_dir).mkdir(parents=True, exist_ok=True)
            earlier = len(list(Path(marker_dir).glob("*.attempt")))
            subjects = "\n".join(message.subject for message in email_messages)
            (Path(marker_dir) / f"{os.getpid()}-{next(_attempts)}.attempt").write_text(subjects)
        if earlier < int(os.environ.get("SLOW_EMAIL_ATTEMPTS", "1000000")):
            time.sleep(float(os.environ.get("SLOW_EMAIL_SECONDS", "0")))
        return super().send_messages(email_messages)

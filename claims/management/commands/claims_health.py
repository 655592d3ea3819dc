import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from claims.monitoring import backlog


class Command(BaseCommand):
    help = ("Print what to monitor as JSON: deadlines the sweep has not acted on yet and emails not yet sent. "
            "Exit status 1 when either is late by more than --max-lag seconds; emails given up are reported apart "
            "and do not fail the check.")

    def add_arguments(self, parser):
        parser.add_argument("--max-lag", type=int, default=300, help="seconds of lag that count as unhealthy")

    def handle(self, *args, max_lag=300, **options):
        state = backlog(timezone.now())
        report = {
            "deadlines_due": state.deadlines_due,
            "deadline_lag_seconds": int(state.deadline_lag_seconds),
            "emails_unsent": state.emails_unsent,
            "email_lag_seconds": int(state.email_lag_seconds),
            # Given up: reported apart, never lag (claims.monitoring).
            "emails_given_up": state.emails_given_up,
        }
        self.stdout.write(json.dumps(report))
        if report["deadline_lag_seconds"] > max_lag or report["email_lag_seconds"] > max_lag:
            raise SystemExit(1)

import json

from django.core.management.base import BaseCommand
from django.db.models import Count, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from claims.models import Claim, OutboundEmail
from claims.notifications import MAX_ATTEMPTS


class Command(BaseCommand):
    help = ("Print what to monitor as JSON: deadlines the sweep has not acted on yet and emails not yet sent. "
            "Exit status 1 when either is late by more than --max-lag seconds.")

    def add_arguments(self, parser):
        parser.add_argument("--max-lag", type=int, default=300, help="seconds of lag that count as unhealthy")

    def handle(self, *args, max_lag=300, **options):
        now = timezone.now()
        due = Claim.objects.filter(next_deadline_at__lte=now).aggregate(
            count=Count("id"), oldest=Min("next_deadline_at"))
        # Late from when a row may be sent: a digest of messages waits for the end of its window (send_after).
        unsent = OutboundEmail.objects.filter(sent_at__isnull=True).aggregate(
            count=Count("id"), oldest=Min(Coalesce("send_after", "created_at"),
                                          filter=Q(send_after__isnull=True) | Q(send_after__lte=now)))
        report = {
            "deadlines_due": due["count"],
            "deadline_lag_seconds": int((now - due["oldest"]).total_seconds()) if due["oldest"] else 0,
            "emails_unsent": unsent["count"],
            "email_lag_seconds": int((now - unsent["oldest"]).total_seconds()) if unsent["oldest"] else 0,
            "emails_given_up": OutboundEmail.objects.filter(sent_at__isnull=True, attempts__gte=MAX_ATTEMPTS).count(),
        }
        self.stdout.write(json.dumps(report))
        if report["deadline_lag_seconds"] > max_lag or report["email_lag_seconds"] > max_lag:
            raise SystemExit(1)

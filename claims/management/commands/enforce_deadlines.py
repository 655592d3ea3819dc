import datetime as dt
import gc

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from claims.services import enforce_deadlines


class Command(BaseCommand):
    help = "Act on every claim whose deadline has passed (the same sweep Celery beat runs every minute)."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Pretend it is this ISO 8601 moment (with a UTC offset), e.g. for a replay.")

    def handle(self, *args, now=None, **options):
        moment = None
        if now:
            moment = parse_datetime(now)
            if moment is None or moment.tzinfo is None:
                raise CommandError("--now must be an ISO 8601 date-time with a UTC offset, "
                                   "e.g. 2026-03-12T09:00:00+00:00")
            moment = moment.astimezone(dt.UTC)
        gc.freeze()  # what start-up made stays: the sweep's batches are not slowed by the collector rescanning it
        counts = enforce_deadlines(moment)
        if not counts:
            self.stdout.write("Nothing was due.")
        for action, number in sorted(counts.items()):
            self.stdout.write(f"{action}: {number}")

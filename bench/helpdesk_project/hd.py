"""django-helpdesk side of the benchmark; runs only with bench/.helpdesk-venv/bin/python.

    hd.py load --tickets N --due D --queues Q   tickets, one follow-up each, queues, a staff login (COPY)
    hd.py probe                                 the staff ticket list: query counts and the data URL
    hd.py escalated --since ISO                 how many tickets were escalated since a moment

Each prints one JSON object on stdout. The data mirrors the claims side: N open tickets, 1 % of them in the
staff user's queue (like the bench seller's share of claims), D due for escalation and none other: due
tickets were created two days ago and never escalated (every queue escalates after 1 day); the rest were
created in the last 20 hours, or escalated in the last 20 hours.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the repository root: `bench.db` (psycopg only, no project code)
sys.path.insert(0, str(HERE.parent))  # `helpdesk_project`
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_project.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import db  # noqa: E402

STAFF = "bench_staff"
PASSWORD = "bench-pass-123"  # noqa: S105 - a throwaway login in a throwaway database
SHARE = 0.01
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


def _url() -> str:
    conf = settings.DATABASES["default"]
    return f"postgres://{conf['USER']}@{conf['HOST']}:{conf['PORT']}/{conf['NAME']}"


def load(tickets: int, due: int, queues: int, seed: int) -> dict:
    from helpdesk.models import FollowUp, Queue, Ticket

    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 - test data
    now = timezone.now().replace(microsecond=0)
    user_model = get_user_model()
    staff = user_model.objects.create_user(STAFF, "staff@bench.example", PASSWORD, is_staff=True)
    big = Queue.objects.create(title="Bench Queue 1", slug="bench-queue-1", escalate_days=1,
                               email_address="queue1@bench.example", allow_public_submission=False)
    Queue.objects.bulk_create(Queue(title=f"Bench Queue {i}", slug=f"bench-queue-{i}", escalate_days=1,
                                    email_address=f"queue{i}@bench.example", allow_public_submission=False)
                              for i in range(2, queues + 1))
    queue_ids = list(Queue.objects.exclude(pk=big.pk).values_list("pk", flat=True))
    # Per-queue staff permissions are on (settings): the staff user sees the big queue only, as the bench
    # seller sees its own claims only.
    staff.user_permissions.add(Permission.objects.get(codename=big.permission_name.split(".", 1)[1]))

    tickets_fmt = db.model_format(Ticket, ["id", "title", "created", "modified", "submitter_email", "priority",
                                           "last_escalation", "queue_id", "secret_key"], now, status=1,
                                  on_hold=False, description="Bench ticket: the item fails.", resolution="")
    followups_fmt = db.model_format(FollowUp, ["id", "date", "ticket_id"], now, title="Ticket Opened",
                                    comment="Bench ticket: the item fails.", public=True)
    plan = []
    due_ids = set(rng.sample(range(1, tickets + 1), due))
    for tid in range(1, tickets + 1):
        queue = big.pk if rng.random() < SHARE else rng.choice(queue_ids)
        if tid in due_ids:
            created, escalated, priority = now - 2 * DAY - dt.timedelta(seconds=tid % 3600), None, 3
        elif rng.random() < 0.4:
            created, escalated, priority = now - dt.timedelta(seconds=rng.randint(1800, 20 * 3600)), None, 3
        else:
            created = now - dt.timedelta(seconds=rng.randint(DAY.days * 86400 + 3600, 170 * 86400))
            escalated = now - dt.timedelta(seconds=rng.randint(1800, 20 * 3600))
            priority = rng.randint(2, 4)
        plan.append((tid, queue, created, escalated, priority))

    def ticket_rows():
        for tid, queue, created, escalated, priority in plan:
            yield {"id": str(tid), "title": f"Bench ticket {tid}", "created": created.isoformat(),
                   "modified": (escalated or created).isoformat(),
                   "submitter_email": f"buyer{tid % 100000}@bench.example",
                   "priority": str(priority), "last_escalation": escalated.isoformat() if escalated else r"\N",
                   "queue_id": str(queue), "secret_key": f"{tid:08x}-0000-4000-8000-{tid:012x}"}

    def followup_rows():
        for tid, _queue, created, _escalated, _priority in plan:
            yield {"id": str(tid), "date": created.isoformat(), "ticket_id": str(tid)}

    url = _url()
    tables = [Ticket._meta.db_table, FollowUp._meta.db_table]
    with db.psycopg.connect(url) as conn:
        with db.indexes_deferred(conn, tables):
            db.copy_rows(conn, Ticket._meta.db_table, tickets_fmt, ticket_rows())
            db.copy_rows(conn, FollowUp._meta.db_table, followups_fmt, followup_rows())
            conn.commit()
        db.reset_sequences(conn, tables)
    db.vacuum_analyze(url, tables)
    return {"tickets": tickets, "due": due, "queues": queues, "staff_queue_id": big.pk,
            "staff_queue_tickets": sum(1 for p in plan if p[1] == big.pk), "seconds": time.perf_counter() - started}


def probe() -> dict:
    """Log the staff user in, read the ticket list once (warm) and count the queries of a second read, and of
    the data request the page's table makes (the list itself is loaded by the browser from that URL)."""
    import re

    staff = get_user_model().objects.get(username=STAFF)
    client = Client()
    client.force_login(staff)
    out: dict = {"cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"}
    client.get("/tickets/")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/tickets/")
    out["list"] = {"path": "/tickets/", "status": response.status_code, "queries": len(captured),
                   "bytes": len(response.content)}
    match = re.search(rb'"(/datatables_ticket_list/[^"]+)"', response.content)
    if match is None:
        out["data"] = {"error": "no datatables URL on the ticket list page"}
        return out
    data_path = match.group(1).decode() + "?draw=1&start=0&length=25"
    client.get(data_path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(data_path)
    body = response.json() if response.status_code == 200 else {}
    out["data"] = {"path": data_path, "status": response.status_code, "queries": len(captured),
                   "bytes": len(response.content), "records_total": body.get("recordsTotal"),
                   "rows": len(body.get("data", []))}
    return out


def escalated(since: str) -> dict:
    from helpdesk.models import Ticket

    moment = dt.datetime.fromisoformat(since)
    return {"escalated": Ticket.objects.filter(last_escalation__gte=moment).count(),
            "open": Ticket.objects.filter(status__in=[1, 2]).count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    loading = commands.add_parser("load")
    loading.add_argument("--tickets", type=int, required=True)
    loading.add_argument("--due", type=int, required=True)
    loading.add_argument("--queues", type=int, required=True)
    loading.add_argument("--seed", type=int, default=20261123)
    commands.add_parser("probe")
    counting = commands.add_parser("escalated")
    counting.add_argument("--since", required=True)
    args = parser.parse_args()
    if args.command == "load":
        result = load(args.tickets, args.due, args.queues, args.seed)
    elif args.command == "probe":
        result = probe()
    else:
        result = escalated(args.since)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

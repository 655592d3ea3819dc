"""What an operator watches, in one place: `manage.py claims_health` prints it, `/metrics` (config.metrics) exposes it.

Two queries, whatever the number of claims and emails: the deadlines the sweep has not acted on yet, and the email
outbox. An email given up (MAX_ATTEMPTS failed: a bad address, a refused message) will not be sent: it is counted
apart and is no lag, so one of them never keeps a check failing. An email is late from when it may be sent: a digest
of messages waits for the end of its window (`send_after`)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db.models import Count, Min, Q
from django.db.models.functions import Coalesce

from .models import Claim, OutboundEmail
from .notifications import MAX_ATTEMPTS


@dataclasses.dataclass(frozen=True)
class Backlog:
    now: dt.datetime
    deadlines_due: int
    oldest_deadline: dt.datetime | None
    emails_unsent: int
    emails_given_up: int
    oldest_email: dt.datetime | None

    @staticmethod
    def _age(now: dt.datetime, oldest: dt.datetime | None) -> float:
        return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0

    @property
    def deadline_lag_seconds(self) -> float:
        """Age of the oldest deadline the sweep has not acted on (0 when none)."""
        return self._age(self.now, self.oldest_deadline)

    @property
    def email_lag_seconds(self) -> float:
        """Age of the oldest email that may be sent and is not, given-up ones left out (0 when none)."""
        return self._age(self.now, self.oldest_email)


def backlog(now: dt.datetime) -> Backlog:
    due = Claim.objects.filter(next_deadline_at__lte=now).aggregate(count=Count("id"), oldest=Min("next_deadline_at"))
    given_up = Q(attempts__gte=MAX_ATTEMPTS)
    emails = OutboundEmail.objects.filter(sent_at__isnull=True).aggregate(
        unsent=Count("id", filter=~given_up), given_up=Count("id", filter=given_up),
        oldest=Min(Coalesce("send_after", "created_at"),
                   filter=(Q(send_after__isnull=True) | Q(send_after__lte=now)) & ~given_up))
    return Backlog(now=now, deadlines_due=due["count"], oldest_deadline=due["oldest"], emails_unsent=emails["unsent"],
                   emails_given_up=emails["given_up"], oldest_email=emails["oldest"])

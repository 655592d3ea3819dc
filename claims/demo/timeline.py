"""The demo's clock: every event of every story happens at its own moment, oldest first, and between two events
the real deadline sweep runs whenever a claim's next deadline comes due, as the beat would have run it.

A story is a generator: it yields the moment of its next event (an aware datetime, or a timedelta after its
previous event), and its code after that `yield` is the event, run with the clock at that moment. A story starts
by yielding a moment before it does anything, so the timeline learns when it starts without running it. Moments
never lie in the future, and a story never goes back in time; two events at one moment run in the order they were
added. The emails the services queue are handed to the outbox worker's own `deliver`, each at its moment.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections.abc import Generator, Iterable, Sequence
from typing import Any

import time_machine
from django.db.models import Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from claims import services
from claims.models import Claim, OutboundEmail
from claims.notifications import deliver

Story = Generator[dt.datetime | dt.timedelta, None, None]


class Demo:
    """The cast the stories share (users, sellers, orders, claims, by their demo names) and the story's "now"."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = (now or timezone.now()).replace(microsecond=0)
        self.users: dict[str, Any] = {}
        self.kept_passwords: set[str] = set()
        self.sellers: dict[str, Any] = {}
        self.orders: dict[str, Any] = {}
        self.claims: dict[str, Claim] = {}

    def ago(self, days: int = 0, at: str | None = None, **delta: float) -> dt.datetime:
        """`days` days before now at the local clock time `at` ("16:30"), or a plain time span before now."""
        if at is None:
            return self.now - dt.timedelta(days=days, **delta)
        hour, minute = (int(part) for part in at.split(":"))
        return dt.datetime.combine(self.day(days), dt.time(hour, minute), tzinfo=timezone.get_current_timezone())

    def day(self, days_ago: int) -> dt.date:
        return timezone.localdate(self.now) - dt.timedelta(days=days_ago)

    def u(self, username: str) -> Any:
        return self.users[username]

    def open(self, number: str, *, reason: str, description: str, desired: str, photos: Sequence[Any] = (),
             discovered: int | None = None, items: Any = None) -> Claim:
        """The order's buyer opens a claim; the defect was discovered `discovered` days ago."""
        order = self.orders[number]
        self.claims[number] = services.open_claim(
            order=order, buyer=order.buyer, reason=reason, description=description, desired_outcome=desired,
            items=items, discovered_on=self.day(discovered) if discovered is not None else None, evidence=photos)
        return self.claims[number]


class Timeline:
    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self._queue: list[tuple[dt.datetime, int, Story]] = []
        self._order = itertools.count()
        self._clock: dt.datetime | None = None

    def add(self, stories: Iterable[Story]) -> None:
        for story in stories:
            self._schedule(story, None)

    def run(self) -> None:
        """Every event in the order they happened, with the sweeps in between; then the outbox worker's sends."""
        with time_machine.travel(self.demo.now, tick=False) as traveller:
            self._traveller = traveller
            while self._queue:
                moment, _order, story = heapq.heappop(self._queue)
                self._sweep_until(moment)
                self._move_to(moment)
                self._schedule(story, moment)
            self._sweep_until(self.demo.now)
            # The worker sent each email the moment it was queued (to no one: see claims.demo.seed). Nothing in
            # the stories reads whether an email went out, so it can catch up at the end.
            # A digest of messages goes out at the end of its window (send_after); one whose window ends after the
            # demo's present is left to the worker.
            queued = (OutboundEmail.objects.filter(sent_at__isnull=True)
                      .annotate(due=Coalesce("send_after", "created_at")).order_by("due", "pk"))
            for pk, due in queued.values_list("pk", "due"):
                if due > self.demo.now:
                    continue
                self._move_to(due)
                deliver(pk)

    # --- inside ------------------------------------------------------------------------------------------------

    def _schedule(self, story: Story, previous: dt.datetime | None) -> None:
        """Run the story's next event (only find its start when `previous` is None) and queue the one after."""
        try:
            step = next(story)
        except StopIteration:
            return
        moment = previous + step if isinstance(step, dt.timedelta) and previous else step
        assert isinstance(moment, dt.datetime), "a story starts at a moment, not after a time span"
        moment = min(moment, self.demo.now)
        if previous is not None:
            moment = max(moment, previous)
        heapq.heappush(self._queue, (moment, next(self._order), story))

    def _move_to(self, moment: dt.datetime) -> None:
        self._traveller.move_to(moment)
        self._clock = moment

    def _sweep_until(self, moment: dt.datetime) -> None:
        """The beat's sweeps up to `moment`: one at each moment a claim's next deadline came due."""
        swept: dt.datetime | None = None
        while True:
            due = Claim.objects.filter(next_deadline_at__lte=moment)
            if swept is not None:  # what a sweep left due it leaves to the next one
                due = due.filter(next_deadline_at__gt=swept)
            first = due.aggregate(at=Min("next_deadline_at"))["at"]
            if first is None:
                return
            swept = max(first, self._clock) if self._clock else first
            self._move_to(swept)
            services.enforce_deadlines(swept)

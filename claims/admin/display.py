"""How the console writes moments, deadlines and states, the same on the list, the queue and the claim page."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext as _

from core import formatting

from .. import deadlines
from ..choices import ClaimState


@dataclasses.dataclass(frozen=True)
class Clock:
    """What a page writes its moments with, read once for the page: the time now, the active zone and language. A
    list of fifty claims writes a hundred and fifty moments, and every reading of the active zone or language is a
    context-local lookup (a tenth of the list's time when each moment read them again)."""

    now: dt.datetime
    zone: dt.tzinfo
    language: str | None

    @classmethod
    def current(cls) -> Clock:
        return cls(now=timezone.now(), zone=timezone.get_current_timezone(), language=translation.get_language())

    def moment(self, value: dt.datetime) -> str:
        return formatting.moment(value, zone=self.zone, now=self.now, language=self.language)

    def day(self, value: dt.datetime) -> str:
        return formatting.day(value, zone=self.zone, now=self.now, language=self.language)


def format_moment(moment: dt.datetime | None, clock: Clock | None = None) -> str:
    if not moment:
        return "—"
    return clock.moment(moment) if clock else formatting.moment(moment)


def deadline_html(due_at: dt.datetime | None, now: dt.datetime | None = None, *, clock: Clock | None = None) -> str:
    """The deadline with "overdue" when it has passed (at `now`, else the clock's time, else the time now)."""
    if due_at is None:
        return "—"
    if deadlines.is_overdue(due_at, now or (clock.now if clock else timezone.now())):
        return format_html(
            '<time datetime="{}">{}</time> <strong class="console-overdue">{}</strong>',
            due_at.isoformat(),
            format_moment(due_at, clock),
            _("overdue"),
        )
    return format_html('<time datetime="{}">{}</time>', due_at.isoformat(), format_moment(due_at, clock))


def opened_html(opened_at: dt.datetime, clock: Clock | None = None) -> str:
    """The day a claim was opened, with the moment in full as its title."""
    clock = clock or Clock.current()
    local = timezone.localtime(opened_at, clock.zone)
    return format_html('<time datetime="{}" title="{}">{}</time>', local.isoformat(), clock.moment(local),
                       clock.day(local))


def state_label(state: str) -> str:
    return str(ClaimState(state).label) if state in ClaimState.values else (state or "—")

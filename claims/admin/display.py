"""How the console writes moments, deadlines and states, the same on the list, the queue and the claim page."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from core import formatting

from .. import deadlines
from ..choices import ClaimState


def format_moment(moment: dt.datetime | None) -> str:
    return formatting.moment(moment) if moment else "—"


def deadline_html(due_at: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if due_at is None:
        return "—"
    if deadlines.is_overdue(due_at, now or timezone.now()):
        return format_html(
            '<time datetime="{}">{}</time> <strong class="console-overdue">{}</strong>',
            due_at.isoformat(),
            format_moment(due_at),
            _("overdue"),
        )
    return format_html('<time datetime="{}">{}</time>', due_at.isoformat(), format_moment(due_at))


def state_label(state: str) -> str:
    return str(ClaimState(state).label) if state in ClaimState.values else (state or "—")

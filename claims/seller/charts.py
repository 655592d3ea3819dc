"""The performance page's charts: claims opened per week and the time to the first reply per week, over the period
the figures cover (claims.seller.selectors.performance, its `weeks`).

Drawn on the server as SVG by the console overview's chart functions (claims.templatetags.charts), each with its
numbers as a table. A week without a first reply has no time to show: its point is a gap in the line and a dash in
the table, never a zero.
"""

from __future__ import annotations

import datetime as dt

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from claims.templatetags.charts import Cell, Chart, Series, Table, line_chart
from core.formatting import day, short_day

from .selectors import Performance, Week

# Past this many weeks the tables go inside "Show the numbers" (a 90-day period has 14 weeks at most).
VISIBLE_ROWS = 14


def duration_text(duration: dt.timedelta | None) -> str:
    """A duration in the words of a figure: "2 d 4 h", "5 h 20 min", "12 min"."""
    if duration is None:
        return ""
    minutes = int(duration.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


def _week_label(week: Week) -> str:
    return _("Week of %(day)s") % {"day": day(week.start)}


def _count(value: int) -> str:
    return number_format(value, force_grouping=True)


def _label_every(weeks: list[Week]) -> int:
    """Up to about seven labels under the line, whatever the number of weeks."""
    return max(1, -(-len(weeks) // 7))


def _span(figures: Performance) -> str:
    weeks = figures.weeks
    return _("%(period)s, weeks from %(first)s to %(last)s (Monday to Sunday)") % {
        "period": figures.label, "first": day(weeks[0].start), "last": day(weeks[-1].start)}


def _opened_chart(figures: Performance) -> Chart:
    weeks = figures.weeks
    title = _("Claims opened per week")
    table = Table(caption=title, head=[_("Week"), _("Claims opened")],
                  rows=[[Cell(_week_label(week)), Cell(_count(week.opened))] for week in reversed(weeks)],
                  foot=[[Cell(_("Total")), Cell(_count(figures.claims_opened))]])
    if not figures.claims_opened:
        empty = _("No claim was opened in this period.")
        return Chart("chart-opened", title, empty, None, table, empty=empty)
    busiest = max(weeks, key=lambda week: (week.opened, week.start))
    description = ngettext("%(span)s: %(count)s claim opened. Most in one week: %(most)s, the week of %(day)s.",
                           "%(span)s: %(count)s claims opened. Most in one week: %(most)s, the week of %(day)s.",
                           figures.claims_opened) % {
        "span": _span(figures), "count": _count(figures.claims_opened), "most": _count(busiest.opened),
        "day": day(busiest.start)}
    svg = line_chart(chart_id="chart-opened", title=title, description=description,
                     x_labels=[short_day(week.start) for week in weeks],
                     series=[Series(_("Claims opened"), [week.opened for week in weeks])],
                     y_title=_("Claims"), x_title=_("Week"), label_every=_label_every(weeks))
    return Chart("chart-opened", title, description, svg, table, numbers_hidden=len(weeks) > VISIBLE_ROWS)


def _hours(duration: dt.timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 3600, 1)


def _reply_chart(figures: Performance) -> Chart:
    weeks = figures.weeks
    title = _("Average time to the first reply, per week")
    answered = [week for week in weeks if week.average_first_reply is not None]
    table = Table(caption=title, head=[_("Week"), _("First replies"), _("Average time to the first reply")],
                  rows=[[Cell(_week_label(week)), Cell(_count(week.replied)),
                         Cell(duration_text(week.average_first_reply) or "—")] for week in reversed(weeks)])
    if not answered:
        empty = _("No claim opened in this period has had a first reply yet.")
        return Chart("chart-first-reply", title, empty, None, table, empty=empty)
    slowest = max(answered, key=lambda week: (week.average_first_reply, week.start))
    description = _("%(span)s. Slowest week: %(slowest)s on average, the week of %(day)s. Weeks without a first "
                    "reply are left out of the line.") % {
        "span": _span(figures), "slowest": duration_text(slowest.average_first_reply), "day": day(slowest.start)}
    svg = line_chart(chart_id="chart-first-reply", title=title, description=description,
                     x_labels=[short_day(week.start) for week in weeks],
                     series=[Series(_("Average time to the first reply"),
                                    [_hours(week.average_first_reply) for week in weeks])],
                     y_title=_("Hours"), x_title=_("Week"), label_every=_label_every(weeks))
    return Chart("chart-first-reply", title, description, svg, table, numbers_hidden=len(weeks) > VISIBLE_ROWS)


def performance_charts(figures: Performance) -> list[Chart]:
    """The two charts of the performance page, in the active language."""
    if not figures.weeks:
        return []
    return [_opened_chart(figures), _reply_chart(figures)]

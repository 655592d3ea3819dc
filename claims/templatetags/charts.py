"""Charts drawn on the server as SVG, each with its numbers as a table: no script, nothing from a CDN.

Every chart is an image with a name and a description for screen readers (role="img", <title> and <desc>, joined by
aria-labelledby) and comes with a table of the same numbers. Series are told apart by more than colour: a solid,
hatched or dotted fill (bars), a solid, dashed or dotted line with round, square or diamond markers (lines), each
named in a legend; every colour has at least 4.5:1 against the chart's white ground. Values are written at the end
of each bar. Amounts are drawn from floats but always written from their exact Decimal.

`{% overview_charts as overview %}` gives the console home its overview (claims.overview): the figures and five
charts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import cast

from django import template
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import formatting

from .. import overview as overview_data
from ..choices import ClaimState, Party
from ..satisfaction import RATINGS, rating_label

register = template.Library()

WIDTH = 640
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
INK = "#1d2330"
MUTED = "#4a5263"
GRID = "#d5d9e0"


@dataclasses.dataclass(frozen=True)
class Style:
    colour: str
    pattern: str  # "solid", "hatch", "dots"
    dash: str  # stroke-dasharray of a line ("" solid)
    marker: str  # "circle", "square", "diamond"


STYLES = (Style("#0b57d0", "solid", "", "circle"), Style("#8a4b00", "hatch", "7 4", "square"),
          Style("#146c2e", "dots", "2 3", "diamond"))


@dataclasses.dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | int | Decimal | None]  # None: no value there (a line chart leaves a gap)
    texts: Sequence[str] = ()  # how each value is written (default: the number)


@dataclasses.dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""


@dataclasses.dataclass(frozen=True)
class Table:
    caption: str
    head: list[str]
    rows: list[list[Cell]]  # the first cell of a row is its header
    foot: list[list[Cell]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    svg: SafeString | None  # None: nothing to draw (the table or a sentence says so)
    table: Table
    numbers_hidden: bool = False  # a long table: inside "Show the numbers"
    empty: str = ""
    link: Cell | None = None


# --- drawing --------------------------------------------------------------------------------------------------


def nice_max(value: float) -> tuple[float, float]:
    """A round top for an axis at or above `value`, and its step (1, 2 or 5 times a power of ten, 2-5 steps)."""
    if value <= 0:
        return 1.0, 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (magnitude / 5, magnitude / 2, magnitude, magnitude * 2, magnitude * 5, magnitude * 10):
        if step >= 1 or magnitude < 1:
            top = math.ceil(value / step) * step
            if top / step <= 5:
                return float(top), float(step)
    return float(magnitude * 10), float(magnitude * 2)  # pragma: no cover - the loop always finds one


def _n(value: float) -> str:
    """A coordinate: one decimal is plenty."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _defs(chart_id: str, count: int) -> SafeString:
    patterns = []
    for index, style in enumerate(STYLES[:count]):
        pid = f"{chart_id}-fill-{index}"
        if style.pattern == "hatch":
            patterns.append(format_html(
                '<pattern id="{}" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">'
                '<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="{}" '
                'stroke-width="3.5"/></pattern>', pid, style.colour))
        elif style.pattern == "dots":
            patterns.append(format_html(
                '<pattern id="{}" patternUnits="userSpaceOnUse" width="6" height="6"><rect width="6" height="6" '
                'fill="#ffffff"/><circle cx="3" cy="3" r="1.8" fill="{}"/></pattern>', pid, style.colour))
    return format_html("<defs>{}</defs>", mark_safe("".join(patterns))) if patterns else mark_safe("")  # noqa: S308


def _fill(chart_id: str, index: int) -> str:
    style = STYLES[index]
    return style.colour if style.pattern == "solid" else f"url(#{chart_id}-fill-{index})"


def _marker(style: Style, x: float, y: float) -> SafeString:
    if style.marker == "square":
        return format_html('<rect x="{}" y="{}" width="7" height="7" fill="{}"/>', _n(x - 3.5), _n(y - 3.5),
                           style.colour)
    if style.marker == "diamond":
        points = f"{_n(x)},{_n(y - 4.5)} {_n(x + 4.5)},{_n(y)} {_n(x)},{_n(y + 4.5)} {_n(x - 4.5)},{_n(y)}"
        return format_html('<polygon points="{}" fill="{}"/>', points, style.colour)
    return format_html('<circle cx="{}" cy="{}" r="3.5" fill="{}"/>', _n(x), _n(y), style.colour)


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 13, colour: str = INK,
          weight: str = "normal", extra: str = "") -> SafeString:
    return format_html('<text x="{}" y="{}" text-anchor="{}" font-size="{}" fill="{}" font-weight="{}"{}>{}</text>',
                       _n(x), _n(y), anchor, size, colour, weight, mark_safe(extra), text)  # noqa: S308


def _legend(chart_id: str, series: Sequence[Series], *, lines: bool) -> tuple[SafeString, float]:
    """The legend on top, left to right (wrapping when it is wide); returns it and the height it takes."""
    parts, x, y = [], 12.0, 20.0
    for index, one in enumerate(series):
        style = STYLES[index]
        width = 34 + 7.5 * len(one.label)
        if x + width > WIDTH - 12 and x > 12:
            x, y = 12.0, y + 22
        if lines:
            parts.append(format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2.5"{}/>',
                                     _n(x), _n(y - 4), _n(x + 24), _n(y - 4), style.colour,
                                     format_html(' stroke-dasharray="{}"', style.dash) if style.dash else ""))
            parts.append(_marker(style, x + 12, y - 4))
        else:
            parts.append(format_html('<rect x="{}" y="{}" width="22" height="14" fill="{}" stroke="{}" '
                                     'stroke-width="1.5"/>', _n(x), _n(y - 12), _fill(chart_id, index), style.colour))
        parts.append(_text(x + 30, y, one.label))
        x += width + 18
    return mark_safe("".join(parts)), y + 14  # noqa: S308


def _svg(chart_id: str, title: str, description: str, height: float, body: Sequence[SafeString],
         defs: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart-svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" focusable="false" '
        'aria-labelledby="{id}-title {id}-desc" font-family="{font}" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{defs}'
        '<rect x="0.5" y="0.5" width="{w1}" height="{h1}" fill="#ffffff" stroke="{grid}"/>{body}</svg>',
        w=WIDTH, h=_n(height), w1=WIDTH - 1, h1=_n(height - 1), id=chart_id, font=FONT, title=title,
        desc=description, defs=defs, grid=GRID, body=mark_safe("".join(body)))  # noqa: S308


def line_chart(*, chart_id: str, title: str, description: str, x_labels: Sequence[str], series: Sequence[Series],
               y_title: str, x_title: str, label_every: int = 7) -> SafeString:
    """Values over time: one line per series, a marker on every point, the x labels every `label_every` points
    counted back from the last one (today). A None value is a gap: the line stops there and starts again after it,
    so "nothing to measure" is never drawn as a zero."""
    legend, top = _legend(chart_id, series, lines=True)
    height = top + 210.0
    left, right, plot_top, plot_bottom = 56.0, WIDTH - 20.0, top + 10, height - 52
    peak = max((float(v) for one in series for v in one.values if v is not None), default=0.0)
    y_max, step = nice_max(peak)
    count = len(x_labels)

    def x_at(i: int) -> float:
        return left + (right - left) * (i / max(count - 1, 1))

    def y_at(value: float) -> float:
        return plot_bottom - (plot_bottom - plot_top) * (value / y_max)

    body: list[SafeString] = [legend]
    tick = 0.0
    while tick <= y_max + 1e-9:
        y = y_at(tick)
        body.append(format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>', _n(left), _n(y), _n(right),
                                _n(y), GRID))
        body.append(_text(left - 8, y + 4, number_format(round(tick, 6), decimal_pos=0 if step >= 1 else 1,
                                                         force_grouping=True), anchor="end", size=12, colour=MUTED))
        tick += step
    body.append(format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1.5"/>', _n(left),
                            _n(plot_bottom), _n(right), _n(plot_bottom), MUTED))
    for i, label in enumerate(x_labels):
        if (count - 1 - i) % label_every == 0:
            x = x_at(i)
            body.append(format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>', _n(x), _n(plot_bottom),
                                    _n(x), _n(plot_bottom + 5), MUTED))
            body.append(_text(x, plot_bottom + 19, label, anchor="middle", size=12, colour=MUTED))
    body.append(_text((left + right) / 2, height - 10, x_title, anchor="middle", size=12, colour=MUTED))
    body.append(_text(16, (plot_top + plot_bottom) / 2, y_title, anchor="middle", size=12, colour=MUTED,
                      extra=f' transform="rotate(-90 16 {_n((plot_top + plot_bottom) / 2)})"'))
    for index, one in enumerate(series):
        style = STYLES[index]
        for run in _runs(one.values):
            points = " ".join(f"{_n(x_at(i))},{_n(y_at(v))}" for i, v in run)
            body.append(format_html('<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5" '
                                    'stroke-linejoin="round"{}/>', points, style.colour,
                                    format_html(' stroke-dasharray="{}"', style.dash) if style.dash else ""))
            body.extend(_marker(style, x_at(i), y_at(v)) for i, v in run)
    return _svg(chart_id, title, description, height, body, mark_safe(""))  # noqa: S308


def _runs(values: Sequence[float | int | Decimal | None]) -> list[list[tuple[int, float]]]:
    """The stretches of consecutive values between gaps, each as (position, value)."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append((i, float(value)))
    return [run for run in runs if run]


def _bar_values(series: Series) -> Sequence[float | int | Decimal]:
    """A bar chart's values: a bar chart has no gaps (None is a line chart's)."""
    return cast("Sequence[float | int | Decimal]", series.values)


def bar_chart(*, chart_id: str, title: str, description: str, categories: Sequence[str], series: Sequence[Series],
              x_title: str, top_value: float | None = None) -> SafeString:
    """Horizontal bars: one group per category, one bar per series, the value written at the end of each bar."""
    legend, top = _legend(chart_id, series, lines=False) if len(series) > 1 else (mark_safe(""), 8.0)
    bar, gap = 20.0, 14.0
    group = bar * len(series) + gap
    label_width, value_room = 200.0, 120.0
    plot_top = top + 8
    plot_bottom = plot_top + group * len(categories)
    height = plot_bottom + 40
    left, right = label_width, WIDTH - value_room
    peak = max((float(v) for one in series for v in _bar_values(one)), default=0.0)
    x_max = top_value if top_value is not None else nice_max(peak)[0]
    body: list[SafeString] = [legend]
    for c, category in enumerate(categories):
        group_top = plot_top + c * group + gap / 2
        body.append(_text(left - 10, group_top + bar * len(series) / 2 + 4.5, category, anchor="end"))
        for index, one in enumerate(series):
            value = float(_bar_values(one)[c])
            width = (right - left) * min(value / x_max, 1.0) if x_max else 0.0
            y = group_top + index * bar
            if width > 0:
                body.append(format_html('<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="{}" '
                                        'stroke-width="1.5"/>', _n(left), _n(y + 1), _n(width), _n(bar - 2),
                                        _fill(chart_id, index), STYLES[index].colour))
            written = one.texts[c] if one.texts else number_format(_bar_values(one)[c], force_grouping=True)
            body.append(_text(left + width + 6, y + bar / 2 + 4.5, written, weight="bold"))
    body.append(format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1.5"/>', _n(left),
                            _n(plot_top), _n(left), _n(plot_bottom), MUTED))
    body.append(_text((left + right) / 2, height - 14, x_title, anchor="middle", size=12, colour=MUTED))
    return _svg(chart_id, title, description, height, body, _defs(chart_id, len(series)))


# --- the console's overview -----------------------------------------------------------------------------------


def _count(value: int) -> str:
    return number_format(value, force_grouping=True)


def _amount(value: Decimal, currency: str) -> str:
    return formatting.money_text(value, currency)


def _percent(rate: overview_data.Rate) -> str:
    return "—" if rate.percent is None else f"{number_format(rate.percent, decimal_pos=1)} %"


def _days_chart(data: overview_data.Overview) -> Chart:
    title = _("Claims opened and resolved per day")
    busiest = max(data.days, key=lambda day: (day.opened, day.day))
    description = _("The last %(days)d days, %(first)s to %(last)s: %(opened)s claims opened and %(resolved)s "
                     "resolved. Most opened on one day: %(most)s, on %(day)s.") % {
        "days": overview_data.DAYS, "first": formatting.day(data.first_day),
        "last": formatting.day(data.last_day), "opened": _count(data.opened),
        "resolved": _count(data.resolved), "most": _count(busiest.opened),
        "day": formatting.day(busiest.day)}
    series = [Series(_("Opened"), [day.opened for day in data.days]),
              Series(_("Resolved"), [day.resolved for day in data.days])]
    svg = line_chart(chart_id="chart-days", title=title, description=description,
                     x_labels=[formatting.short_day(day.day) for day in data.days], series=series,
                     y_title=_("Claims"), x_title=_("Day"))
    table = Table(caption=title, head=[_("Day"), _("Opened"), _("Resolved")],
                  rows=[[Cell(formatting.day(day.day)), Cell(_count(day.opened)), Cell(_count(day.resolved))]
                        for day in reversed(data.days)],
                  foot=[[Cell(_("Total")), Cell(_count(data.opened)), Cell(_count(data.resolved))]])
    return Chart("chart-days", title, description, svg, table, numbers_hidden=True)


def _states_chart(data: overview_data.Overview) -> Chart:
    title = _("Open claims by state")
    labels = dict(ClaimState.choices)
    parts = ", ".join(f"{labels[state]} {_count(n)}" for state, n in data.open_by_state)
    description = ngettext("%(count)s open claim: %(parts)s.", "%(count)s open claims: %(parts)s.",
                           data.open_claims) % {"count": _count(data.open_claims), "parts": parts}
    categories = [str(labels[state]) for state, _count_ in data.open_by_state]
    svg = bar_chart(chart_id="chart-states", title=title, description=description, categories=categories,
                    series=[Series(_("Open claims"), [n for _state, n in data.open_by_state])], x_title=_("Claims"))
    changelist = reverse("admin:claims_claim_changelist")
    table = Table(caption=title, head=[_("State"), _("Claims")],
                  rows=[[Cell(str(labels[state]), f"{changelist}?state__exact={state}"), Cell(_count(n))]
                        for state, n in data.open_by_state],
                  foot=[[Cell(_("Total")), Cell(_count(data.open_claims))]])
    return Chart("chart-states", title, description, svg, table)


def _targets_chart(data: overview_data.Overview) -> Chart:
    title = _("Targets missed in the last %(days)d days") % {"days": overview_data.DAYS}
    rates = [(_("Decision by the platform"), data.decision), (_("First reply by the seller"), data.first_reply)]
    description = " ".join(
        _("%(target)s: %(missed)s of %(total)s missed (%(percent)s).") % {
            "target": label, "missed": _count(rate.missed), "total": _count(rate.total), "percent": _percent(rate)}
        for label, rate in rates)
    svg = bar_chart(chart_id="chart-targets", title=title, description=description,
                    categories=[label for label, _rate in rates],
                    series=[Series(_("Share missed"), [rate.percent or 0 for _label, rate in rates],
                                   [_percent(rate) for _label, rate in rates])],
                    x_title=_("Share of the claims counted that missed the target (%)"), top_value=100.0)
    table = Table(caption=title, head=[_("Target"), _("Missed"), _("Counted"), _("Share missed")],
                  rows=[[Cell(label), Cell(_count(rate.missed)), Cell(_count(rate.total)), Cell(_percent(rate))]
                        for label, rate in rates])
    return Chart("chart-targets", title, description, svg, table)


def _money_chart(data: overview_data.Overview) -> Chart:
    title = _("Refunds funded by the platform and recovered from sellers, last %(days)d days") % {
        "days": overview_data.DAYS}
    head = [_("Currency"), _("Funded by the platform"), _("Recovered from sellers"), _("Platform's own cost")]
    rows = [[Cell(row.currency), Cell(_amount(row.platform_funded, row.currency)),
             Cell(_amount(row.recovered, row.currency)), Cell(_amount(row.platform_cost, row.currency))]
            for row in data.money]
    table = Table(caption=title, head=head, rows=rows)
    if not data.money:
        empty = _("The platform funded no refund in the last %(days)d days.") % {"days": overview_data.DAYS}
        return Chart("chart-money", title, empty, None, table, empty=empty)
    description = " ".join(
        _("%(currency)s: %(funded)s funded by the platform, %(recovered)s recovered from sellers.") % {
            "currency": row.currency, "funded": _amount(row.platform_funded, row.currency),
            "recovered": _amount(row.recovered, row.currency)} for row in data.money)
    series = [Series(_("Funded by the platform"), [row.platform_funded for row in data.money],
                     [_amount(row.platform_funded, row.currency) for row in data.money]),
              Series(_("Recovered from sellers"), [row.recovered for row in data.money],
                     [_amount(row.recovered, row.currency) for row in data.money])]
    svg = bar_chart(chart_id="chart-money", title=title, description=description,
                    categories=[row.currency for row in data.money], series=series, x_title=_("Amount"))
    return Chart("chart-money", title, description, svg, table)


def _satisfaction_chart(data: overview_data.Overview) -> Chart:
    title = _("Satisfaction survey, answers of the last %(days)d days") % {"days": overview_data.DAYS}
    names: dict[str, str] = {Party.BUYER: _("Buyers"), Party.SELLER: _("Sellers")}
    link = Cell(_("All answers, per agent and per reason"),
                reverse("admin:claims_satisfactionresponse_changelist"))
    ratings = list(reversed(RATINGS))
    table = Table(caption=title, head=[_("Rating"), *(names[s.party] for s in data.satisfaction)],
                  rows=[[Cell(rating_label(r)), *(Cell(_count(s.by_rating[r])) for s in data.satisfaction)]
                        for r in ratings],
                  foot=[[Cell(_("Answers")), *(Cell(_count(s.count)) for s in data.satisfaction)],
                        [Cell(_("Average (1 to 5)")),
                         *(Cell("—" if s.average is None else number_format(s.average, decimal_pos=1))
                           for s in data.satisfaction)]])
    if not any(s.count for s in data.satisfaction):
        empty = _("No answers to the satisfaction survey in the last %(days)d days.") % {"days": overview_data.DAYS}
        return Chart("chart-satisfaction", title, empty, None, table, empty=empty, link=link)
    description = " ".join(
        ngettext("%(who)s: %(count)s answer, average %(average)s of 5.",
                 "%(who)s: %(count)s answers, average %(average)s of 5.", s.count) % {
            "who": names[s.party], "count": _count(s.count),
            "average": "—" if s.average is None else number_format(s.average, decimal_pos=1)}
        for s in data.satisfaction)
    svg = bar_chart(chart_id="chart-satisfaction", title=title, description=description,
                    categories=[rating_label(r) for r in ratings],
                    series=[Series(names[s.party], [s.by_rating[r] for r in ratings]) for s in data.satisfaction],
                    x_title=_("Answers"))
    return Chart("chart-satisfaction", title, description, svg, table, link=link)


@dataclasses.dataclass(frozen=True)
class OverviewCharts:
    data: overview_data.Overview
    charts: list[Chart]
    days: int = overview_data.DAYS


def overview_charts_for(data: overview_data.Overview) -> OverviewCharts:
    return OverviewCharts(data, [_days_chart(data), _states_chart(data), _targets_chart(data), _money_chart(data),
                                 _satisfaction_chart(data)])


@register.simple_tag
def overview_charts(now: dt.datetime | None = None) -> OverviewCharts:
    """{% overview_charts as overview %}: the console overview's figures (claims.overview, briefly cached) and its
    charts, in the current language."""
    return overview_charts_for(overview_data.overview(now))

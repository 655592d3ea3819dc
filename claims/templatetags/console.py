"""The claim list's date drill-down without a DISTINCT over every claim, and its filters' choices written at once.

Django's own date hierarchy lists the years, months or days that have rows with SELECT DISTINCT over the whole
(filtered) table: half a second at a million claims. Here the periods come from the first and last date, two
index lookups, and every period in between is offered; an empty one simply shows an empty list.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from core import formatting
from core.console import escaped as _escaped

if TYPE_CHECKING:
    from django.contrib.admin.views.main import ChangeList
    from django.template.base import Parser, Token

register = template.Library()

# Django's InclusionAdminNode(parser, token, func, template_name, takes_context); the stubs add a first `name`.
_admin_node = cast("Callable[..., InclusionAdminNode]", InclusionAdminNode)


def _span(cl: ChangeList) -> tuple[dt.date, dt.date] | None:
    """The first and last date of the claims in the chosen period (all claims when none is chosen), whatever the
    other filters: the MIN and MAX of a filtered list walk the date index until a row passes the filter, hundreds of
    thousands of rows for a state whose claims are all recent (seconds at a million claims). The periods in between
    are offered anyway, an empty one showing an empty list; within the other filters a period may be empty too."""
    field = cl.date_hierarchy
    chosen = {name: value for name, value in cl.params.items() if name.startswith(f"{field}__")}
    found = (cl.root_queryset.filter(**chosen).order_by()
             .aggregate(first=Min(cl.date_hierarchy), last=Max(cl.date_hierarchy)))
    if not found["first"]:
        return None
    return timezone.localtime(found["first"]).date(), timezone.localtime(found["last"]).date()


def claim_date_hierarchy(cl: ChangeList) -> dict[str, Any]:
    field = cl.date_hierarchy
    year_field, month_field, day_field = f"{field}__year", f"{field}__month", f"{field}__day"
    year, month, day = (cl.params.get(name) for name in (year_field, month_field, day_field))

    def link(filters: dict[str, Any]) -> str:
        return cl.get_query_string(filters, [f"{field}__"])

    span = None
    if not (year or month or day):
        span = _span(cl)
        if span and span[0].year == span[1].year:
            year = span[0].year
            if span[0].month == span[1].month:
                month = span[0].month
    if year and month and day:
        chosen = dt.date(int(year), int(month), int(day))
        return {"show": True, "back": {"link": link({year_field: year, month_field: month}),
                                       "title": capfirst(formatting.month(chosen))},
                "choices": [{"title": capfirst(formatting.short_day(chosen))}]}
    if year and month:
        last_day = calendar.monthrange(int(year), int(month))[1]
        days = [dt.date(int(year), int(month), d) for d in range(1, last_day + 1)]
        return {"show": True, "back": {"link": link({year_field: year}), "title": str(year)},
                "choices": [{"link": link({year_field: year, month_field: month, day_field: d.day}),
                             "title": capfirst(formatting.short_day(d))} for d in days]}
    if year:
        span = span or _span(cl)
        first = span[0].month if span and span[0].year == int(year) else 1
        last = span[1].month if span and span[1].year == int(year) else 12
        months = [dt.date(int(year), m, 1) for m in range(first, last + 1)]
        return {"show": True, "back": {"link": link({}), "title": _("All dates")},
                "choices": [{"link": link({year_field: year, month_field: m.month}),
                             "title": capfirst(formatting.month(m))} for m in months]}
    if not span:
        return {"show": False}
    return {"show": True, "back": None,
            "choices": [{"link": link({year_field: str(y)}), "title": str(y)}
                        for y in range(span[0].year, span[1].year + 1)]}


@register.tag(name="claim_date_hierarchy")
def claim_date_hierarchy_tag(parser: Parser, token: Token) -> InclusionAdminNode:
    return _admin_node(parser, token, func=claim_date_hierarchy, template_name="date_hierarchy.html",
                       takes_context=False)


@register.tag(name="claim_result_list")
def claim_result_list_tag(parser: Parser, token: Token) -> InclusionAdminNode:
    """Django's {% result_list cl %} with the rows of claims/admin/rows.py."""
    from claims.admin.rows import result_list

    return _admin_node(parser, token, func=result_list, template_name="change_list_results.html",
                       takes_context=False)


# The heading of a list filter in Django's own words, which Django's admin catalogue translates: read through a name,
# so makemessages leaves it to that catalogue instead of copying it into ours.
_FILTER_HEADING = " By %(filter_title)s "


@register.simple_tag
def filter_heading(title: Any) -> str:
    """What Django's admin/filter.html writes with `{% blocktranslate %} By {{ filter_title }} {% endblocktranslate %}`
    (the title escaped, the words not)."""
    return mark_safe(gettext(_FILTER_HEADING) % {"filter_title": _escaped(title)})  # noqa: S308 - the title escaped


@register.filter
def filter_items(choices: Iterable[Mapping[str, Any]]) -> SafeString:
    """A list filter's choices as Django's admin/filter.html writes them (`<li>`, "selected" on the chosen one, the
    link through iriencode), in one pass of plain string formatting: a template loop (or format_html) per choice over
    a thousand sellers was half the claim list's time."""
    selected = ' class="selected"'
    return mark_safe("\n".join(  # noqa: S308 - every value is escaped here
        f'<li{selected if choice["selected"] else ""}><a href="{_link(choice["query_string"])}">'
        f'{_escaped(choice["display"])}</a></li>'
        for choice in choices
    ))


# A query string of these characters only is what iri_to_uri leaves as it is, and of them escaping changes "&" alone.
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9_.~/#%\[\]=:;$&()+,!?*@-]*")


def _link(query_string: str) -> str:
    """`{{ query_string|iriencode }}` in an attribute, with a shortcut for the plain query strings of a filter."""
    if isinstance(query_string, str) and _PLAIN_QUERY.fullmatch(query_string):
        return query_string.replace("&", "&amp;")
    return _escaped(iri_to_uri(query_string))

"""The claim list's rows, the same HTML as Django's admin writes, at a fraction of its cost.

Django's `items_for_result` works out every cell from scratch: the column's field or method (lookup_field), its CSS
classes, a dict of the choices for every state and reason, a reverse() and a parse of the preserved filters for every
row's link, and a format_html per cell: a third of the list's time at fifty rows. Here what is the same on every row
is worked out once per page (each column's kind and classes, the choices' labels, the link with the claim's id left
open), and each row is written in one pass. The headers, hidden fields and template are Django's
(change_list_results.html); each row is handed to it as one piece, so its loop runs once per row, not per cell.

Whatever this does not know (an editable list, a popup, `to_field`) goes through Django's own `result_list`.
tests/test_console_scale.py checks that the rows are Django's, cell for cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import quote as url_quote

from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import (  # type: ignore[attr-defined]  # _get_non_gfk_field: private, not in the stubs
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    quote,
)
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe

from core.console import escaped as _escaped

_PK = "0PK0"  # stands for a row's id in the link worked out once: letters and digits, left as they are by reverse()


def result_list(cl: Any) -> dict[str, Any]:
    """`admin_list.result_list`'s context, with the rows written by `rows` when it can."""
    if cl.formset or cl.is_popup or cl.to_field:
        return admin_list.result_list(cl)
    headers = list(admin_list.result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(admin_list.result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": [[row] for row in rows(cl)],
    }


def rows(cl: Any) -> list[SafeString]:
    """Each row's cells (`<td>`/`<th>` … without the `<tr>`), as Django's items_for_result writes them."""
    results = list(cl.result_list)
    if not results:
        return []
    columns = _columns(cl, results[0])
    return [mark_safe("".join(column(result) for column in columns)) for result in results]  # noqa: S308 - escaped


def _columns(cl: Any, sample: Any) -> list[Callable[[Any], str]]:
    """One function per column that writes its cell for a row."""
    admin = cl.model_admin
    opts = sample._meta
    empty = admin.get_empty_value_display()
    first = True
    columns = []
    for index, name in enumerate(cl.list_display):
        classes = [f"field-{admin_list._coerce_field_name(name, index)}"]  # type: ignore[attr-defined]  # private
        links = _links(first, name, cl)
        try:
            field = _get_non_gfk_field(opts, name)
        except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
            field = None
        if field is None or field.auto_created:
            if name == "action_checkbox":
                classes = ["action-checkbox"]
            value_of = _attribute(admin, sample, name, empty)
        else:
            if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
                classes.append("nowrap")
            if isinstance(field.remote_field, models.ManyToOneRel):
                value_of = _related(field.name, empty)
            else:
                value_of = _field_value(field, name, empty, avoid_link=links)
        tag = "td"
        url = None
        if links:
            tag = "th" if first else "td"
            first = False
            url = _link(cl)
        columns.append(_cell(tag, " ".join(classes), value_of, url))
    return columns


def _links(first: bool, name: Any, cl: Any) -> bool:
    """Whether the column links to the change page (items_for_result's link_in_col)."""
    if cl.list_display_links is None:
        return False
    if first and not cl.list_display_links:
        return True
    return name in cl.list_display_links


def _cell(tag: str, classes: str, value_of: Callable[[Any], tuple[str, list[str]]],
          url: str | None) -> Callable[[Any], str]:
    def write(result: Any) -> str:
        shown, extra = value_of(result)
        css = f"{classes} {' '.join(extra)}" if extra else classes
        if url is not None:
            shown = f'<a href="{url.replace(_PK, _escaped(_url_part(result.pk)))}">{shown}</a>'
        return f'<{tag} class="{css}">{shown}</{tag}>'

    return write


def _url_part(pk: Any) -> str:
    """The id as reverse() puts it into the change page's path: the admin's quote, then percent-encoded."""
    return url_quote(str(quote(pk)), safe=RFC3986_SUBDELIMS + "/~:@")


def _link(cl: Any) -> str | None:
    """The change page's link with the id left open (escaped, as format_html writes it), or None when there is no
    change page: Django writes the bare value then."""
    try:
        url = reverse(f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change", args=(_PK,),
                      current_app=cl.model_admin.admin_site.name)
    except NoReverseMatch:
        return None
    return _escaped(add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url))


def _attribute(admin: Any, sample: Any, name: Any, empty: str) -> Callable[[Any], tuple[str, list[str]]]:
    """A method of the ModelAdmin (or a callable, or the model's attribute): display_for_value of what it returns."""
    if callable(name):
        attr, of_admin = name, False
    elif hasattr(admin, name) and name != "__str__":
        attr, of_admin = getattr(admin, name), True
    else:
        attr, of_admin = getattr(type(sample), name, None), False
    boolean = getattr(attr, "boolean", False)
    if isinstance(attr, property) and hasattr(attr, "fget"):
        boolean = getattr(attr.fget, "boolean", False)
    shown_empty = getattr(attr, "empty_value_display", empty)

    def value_of(result: Any) -> tuple[str, list[str]]:
        try:
            if of_admin or callable(name):
                value = attr(result)
            else:
                value = getattr(result, name)
                value = value() if callable(value) else value
        except ObjectDoesNotExist:
            return _escaped(empty), []
        if isinstance(value, str):
            if value.strip() == "":
                value = ""
            elif not boolean:  # what display_for_value would return: the text itself
                return _escaped(value), []
        extra = ["nowrap"] if isinstance(value, (dt.date, dt.time)) else []
        return _escaped(display_for_value(value, shown_empty, boolean)), extra

    return value_of


def _related(name: str, empty: str) -> Callable[[Any], tuple[str, list[str]]]:
    """A foreign key: the related object's str (from the list's select_related)."""

    def value_of(result: Any) -> tuple[str, list[str]]:
        try:
            related = getattr(result, name)
        except ObjectDoesNotExist:
            return _escaped(empty), []
        return _escaped(empty if related is None else related), []

    return value_of


def _field_value(field: Any, name: str, empty: str, *, avoid_link: bool) -> Callable[[Any], tuple[str, list[str]]]:
    """A model field: a field with choices by a label looked up once per page, any other through
    display_for_field."""
    if getattr(field, "flatchoices", None):
        try:
            labels = {value: _escaped(label) for value, label in field.flatchoices}
        except TypeError:  # choices that cannot be dict keys: Django's way
            labels = None
        if labels is not None:
            shown_empty = _escaped(empty)

            def by_label(result: Any) -> tuple[str, list[str]]:
                value = getattr(result, name)
                if isinstance(value, str) and value.strip() == "":
                    value = ""
                try:
                    return labels.get(value, shown_empty), []
                except TypeError:
                    return _escaped(display_for_field(value, field, empty, avoid_link=avoid_link)), []

            return by_label

    def value_of(result: Any) -> tuple[str, list[str]]:
        value = getattr(result, name)
        if isinstance(value, str) and value.strip() == "":
            value = ""
        return _escaped(display_for_field(value, field, empty, avoid_link=avoid_link)), []

    return value_of

"""The audit log in the support console (issue 18: "an append-only audit log that superusers can read and filter").

Superusers only: everyone else in the console, agents included, is refused (403), and nobody adds, changes or deletes
a line, not even a superuser (the model refuses it too: core.models.AppendOnlyModel, and a trigger on PostgreSQL).
Newest first; filtered by kind and by date; searched by an account's number or username (as actor or as the account
concerned). The list reads each page in one query with its people (list_select_related), and never counts the whole
log for the paginator's "show all".
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from .console import ReadOnlyAdminMixin, SuperuserOnlyMixin, moment_html, person_label
from .models import AuditEvent
from .usernames import normalize_username


@admin.register(AuditEvent)
class AuditEventAdmin(SuperuserOnlyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):  # superusers read; nobody writes
    list_display = ["when", "kind", "actor_name", "subject_name", "ip_address", "object_link", "summary"]
    list_display_links = ["when"]
    list_filter = ["kind", "at"]  # "at": Django's date filter (today, past 7 days, this month, this year)
    list_select_related = ["actor", "subject_user"]
    search_fields = ["=actor__username"]  # the search itself: get_search_results
    search_help_text = gettext_lazy("An account's number or exact username: the lines it did or that concern it.")
    ordering = ["-at", "-id"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    fields = ("when", "kind", "actor_name", "subject_name", "ip_address", "object_link", "summary", "details")
    readonly_fields = fields

    class Media:
        css = {"all": ["css/admin-console.css"]}

    # --- search -------------------------------------------------------------------------------------------------

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[AuditEvent],
                           search_term: str) -> tuple[QuerySet[AuditEvent], bool]:
        """A number is an account's id (no join: the actor and subject columns are indexed); anything else a
        username in its one spelling (core.usernames), matched exactly through the user table."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(Q(actor_id=int(term)) | Q(subject_user_id=int(term))), False
        name = normalize_username(term)
        return queryset.filter(Q(actor__username=name) | Q(subject_user__username=name)), False

    # --- columns ------------------------------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("when"), ordering="at")
    def when(self, event: AuditEvent) -> str:
        return moment_html(event.at)

    @admin.display(description=gettext_lazy("by"), ordering="actor")
    def actor_name(self, event: AuditEvent) -> str:
        return _account(event.actor)

    @admin.display(description=gettext_lazy("account concerned"), ordering="subject_user")
    def subject_name(self, event: AuditEvent) -> str:
        return _account(event.subject_user)

    @admin.display(description=gettext_lazy("object"))
    def object_link(self, event: AuditEvent) -> str:
        """The record the line is about, linked to its console page when it has one."""
        if not event.object_type:
            return "—"
        label = f"{event.object_type} {event.object_id}"
        try:
            model = apps.get_model(event.object_type)
        except (LookupError, ValueError):
            return label
        if not admin.site.is_registered(model):
            return label
        try:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[event.object_id])
        except NoReverseMatch:
            return label
        return format_html('<a href="{}">{}</a>', url, label)


def _account(user: Any) -> str:
    """An account as the log names it: its number, and its name as the account has it now (an erased account's is
    "erased-<number>")."""
    if user is None:
        return "—"
    return f"#{user.pk} {person_label(user)}"

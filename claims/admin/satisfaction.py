"""The satisfaction survey's answers in the support console (claims.satisfaction): read-only for everyone (an answer
is the buyer's or the seller's; agents have the view permission only), filtered by party, rating, reason and agent,
with the average rating and the number of answers per agent and per reason above the list, for what is filtered."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy

from core.console import ReadOnlyAdminMixin, person_label

from ..choices import Party
from ..models import SatisfactionResponse
from ..satisfaction import RATINGS, SURVEY_PARTIES, rating_label, results_by_agent, results_by_reason

COMMENT_EXCERPT = 80


class PartyFilter(admin.SimpleListFilter):
    """Only the parties that are asked: the buyer and the seller."""

    title = gettext_lazy("party")
    parameter_name = "party"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        labels = dict(Party.choices)
        return [(party, labels[party]) for party in SURVEY_PARTIES]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in SURVEY_PARTIES:
            return queryset.filter(party=self.value())
        return queryset


class RatingFilter(admin.SimpleListFilter):
    title = gettext_lazy("rating")
    parameter_name = "rating"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(n), rating_label(n)) for n in reversed(RATINGS)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value in {str(n) for n in RATINGS}:
            return queryset.filter(rating=int(value))
        return queryset


@admin.register(SatisfactionResponse)
class SatisfactionResponseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["claim_link", "party", "rating_text", "agent_name", "reason", "answered_at", "comment_excerpt"]
    list_display_links = ["answered_at"]
    list_filter = [PartyFilter, RatingFilter, "reason", ("agent", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["claim", "agent"]
    search_fields = ["=claim__number"]
    search_help_text = gettext_lazy("Exact claim number.")
    show_facets = admin.ShowFacets.NEVER
    date_hierarchy = "answered_at"
    list_per_page = 50
    fields = ("claim_link", "party", "rating_text", "comment", "agent_name", "reason", "answered_at")
    readonly_fields = fields

    class Media:
        css = {"all": ["css/admin-console.css"]}

    @admin.display(description=gettext_lazy("claim"), ordering="claim__number")
    def claim_link(self, response: SatisfactionResponse) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:claims_claim_change", args=[response.claim_id]),
                           response.claim.number)

    @admin.display(description=gettext_lazy("rating"), ordering="rating")
    def rating_text(self, response: SatisfactionResponse) -> str:
        return rating_label(response.rating)

    @admin.display(description=gettext_lazy("agent"), ordering="agent__username")
    def agent_name(self, response: SatisfactionResponse) -> str:
        return person_label(response.agent)

    @admin.display(description=gettext_lazy("comment"))
    def comment_excerpt(self, response: SatisfactionResponse) -> str:
        return Truncator(response.comment).chars(COMMENT_EXCERPT) or "—"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The list, with the results per agent and per reason of what it shows (its filters applied): one
        aggregate query each."""
        response = super().changelist_view(request, extra_context)
        context = response.context_data if isinstance(response, TemplateResponse) else None
        if context is not None and (cl := context.get("cl")) is not None:
            context["results_by_agent"] = results_by_agent(cl.queryset)
            context["results_by_reason"] = results_by_reason(cl.queryset)
        return response

"""Erasure requests in the support console (issue 18: "agents process erasure in the console").

Agents (the agents group has accounts.view_erasurerequest, change_erasurerequest and process_erasure) see the requests,
those waiting first and the oldest of them on top, each with the person's orders, claims and open claims; a request's
page says what still stands in the way (accounts.erasure.blockers) and offers "Erase now" and "Refuse" while it is
pending. Both are action pages (core.console) that call accounts.erasure: erasing is refused, saying which claims or
refunds, while something is open. Requests are made by the people themselves (their privacy page): nobody adds,
edits or deletes one here. The list masks the person (core.console.buyer_label); the request's own page shows who it
is, since the agent must know whom they erase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Case, Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy

from claims.choices import ClaimState
from claims.models import Claim
from core.console import ActionForm, ConsoleAction, ConsoleActionsMixin, buyer_label, person_label
from core.formatting import day
from core.usernames import normalize_username
from orders.models import Order

from . import erasure
from .models import ErasureRequest, ErasureState

if TYPE_CHECKING:
    from typing import TypedDict

    from django_stubs_ext import WithAnnotations

    class _Counts(TypedDict):
        order_count: int
        claim_count: int
        open_claim_count: int

    # A request of the list (ErasureRequestAdmin.get_queryset): with the person's numbers.
    CountedRequest = WithAnnotations[ErasureRequest, _Counts]


class EraseForm(ActionForm):
    confirm = forms.BooleanField(
        label=gettext_lazy("I checked that this is the person who asked, and that nothing of theirs is still open."),
        help_text=gettext_lazy("Erasing cannot be undone."))


class RefuseForm(ActionForm):
    note = forms.CharField(
        label=gettext_lazy("Why the request is refused"), max_length=erasure.NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
        help_text=gettext_lazy("Sent to the person by email and shown on their privacy page: say why, and when they "
                               "can ask again (for example once their open claim is closed)."))


def _erase(request_obj: ErasureRequest, user: Any, data: dict[str, Any]) -> str:
    erasure.erase(request_obj, by=user)
    return f"Erased the personal data of account {request_obj.user_id}."


def _refuse(request_obj: ErasureRequest, user: Any, data: dict[str, Any]) -> str:
    erasure.refuse(request_obj, by=user, note=data["note"])
    return f"Refused the erasure request of account {request_obj.user_id}."


def _blockers_context(request_obj: ErasureRequest, request: HttpRequest) -> dict[str, Any]:
    return {"blockers": erasure.blockers(request_obj.user)}


def _pending(request_obj: ErasureRequest, user: Any) -> bool:
    return request_obj.state == ErasureState.PENDING


ACTIONS = (
    ConsoleAction(name="erase", label=gettext_lazy("Erase now"), run=_erase, form=EraseForm, danger=True, guard=True,
                  available=_pending, template="admin/accounts/erasurerequest/action.html",
                  context=_blockers_context,
                  success=gettext_lazy("The person's personal data was erased. Their account can no longer be used."),
                  intro=gettext_lazy("Names, email, password, delivery addresses, the texts they wrote and the files "
                                     "they uploaded are erased, and the content of the emails to them or about their "
                                     "claims. Orders, amounts, refunds, the ledger and the claims' history stay. "
                                     "This cannot be undone.")),
    ConsoleAction(name="refuse", label=gettext_lazy("Refuse"), run=_refuse, form=RefuseForm, guard=True,
                  available=_pending, template="admin/accounts/erasurerequest/action.html",
                  context=_blockers_context,
                  success=gettext_lazy("The request was refused; the person was sent your note."),
                  intro=gettext_lazy("Refuse only for a reason the law accepts, such as a claim, a refund or costs "
                                     "still open. The person is sent the note and may ask again.")),
)


def _count(model: Any, **filters: Any) -> Coalesce:
    rows = (model.objects.filter(buyer=OuterRef("user"), **filters).order_by().values("buyer")
            .annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


@admin.register(ErasureRequest)
class ErasureRequestAdmin(ConsoleActionsMixin, admin.ModelAdmin):
    console_actions = ACTIONS
    list_display = ["requested_at", "person", "state", "orders", "claims", "open_claims", "answer_due",
                    "processed_at"]
    list_display_links = ["requested_at"]
    list_filter = ["state"]
    list_select_related = ["user"]
    search_fields = ["=user__email"]  # the search itself: get_search_results
    search_help_text = gettext_lazy("The person's exact email address, username or account number.")
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    fields = ("person_in_full", "requested_at", "answer_due", "state", "orders", "claims", "open_claim_links",
              "processed_by_name", "processed_at", "note")
    readonly_fields = fields
    change_form_template = "admin/accounts/erasurerequest/change_form.html"

    class Media:
        css = {"all": ["css/admin-console.css"]}

    # --- who ----------------------------------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the person asks on their privacy page

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # processed through the action pages only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record that the person asked, and what was done, stays

    def has_console_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(erasure.PROCESS_PERMISSION))

    # --- the list -----------------------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[ErasureRequest]:
        """With the person's numbers, from one subquery each: the list costs the same for 1 request as for 50."""
        return (super().get_queryset(request).annotate(
            waiting=Case(When(state=ErasureState.PENDING, then=Value(0)), default=Value(1)),
            order_count=_count(Order), claim_count=_count(Claim),
            open_claim_count=_count(Claim, state__in=[s for s in ClaimState.values if s != ClaimState.RESOLVED])))

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        """Waiting requests first, the oldest on top (the first due); then the processed ones, newest first."""
        return [F("waiting").asc(), Case(When(state=ErasureState.PENDING, then=F("requested_at"))).asc(nulls_last=True),
                F("requested_at").desc(), F("id").desc()]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[ErasureRequest],
                           search_term: str) -> tuple[QuerySet[ErasureRequest], bool]:
        """Exact matches on indexed columns: the email (any case), the username in its one spelling, the account's
        number."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(user_id=int(term)), False
        if "@" in term:
            return queryset.filter(user__email__iexact=term), False
        return queryset.filter(user__username=normalize_username(term)), False

    @admin.display(description=gettext_lazy("person"))
    def person(self, obj: ErasureRequest) -> str:
        return buyer_label(obj.user) if obj.state != ErasureState.DONE else obj.user.get_username()

    @admin.display(description=gettext_lazy("orders"), ordering="order_count")
    def orders(self, obj: CountedRequest) -> int:
        return obj.order_count

    @admin.display(description=gettext_lazy("claims"), ordering="claim_count")
    def claims(self, obj: CountedRequest) -> int:
        return obj.claim_count

    @admin.display(description=gettext_lazy("open claims"), ordering="open_claim_count")
    def open_claims(self, obj: CountedRequest) -> int:
        return obj.open_claim_count

    @admin.display(description=gettext_lazy("to be answered by"))
    def answer_due(self, obj: ErasureRequest) -> str:
        return day(erasure.answer_due(obj)) if obj.state == ErasureState.PENDING else "—"

    # --- the request's page -------------------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("person"))
    def person_in_full(self, obj: ErasureRequest) -> str:
        user = obj.user
        if obj.state == ErasureState.DONE:
            return user.get_username()
        return format_html("{} · {} · {}", user.get_full_name() or "—", user.email or "—", user.get_username())

    @admin.display(description=gettext_lazy("claims not closed"))
    def open_claim_links(self, obj: ErasureRequest) -> str:
        rows = (Claim.objects.filter(buyer_id=obj.user_id).exclude(state=ClaimState.RESOLVED)
                .order_by("opened_at", "id").values_list("pk", "number"))
        if not rows:
            return "—"
        return format_html_join(", ", '<a href="{}">{}</a>',
                                ((reverse("admin:claims_claim_change", args=[pk]), number) for pk, number in rows))

    @admin.display(description=gettext_lazy("processed by"))
    def processed_by_name(self, obj: ErasureRequest) -> str:
        return person_label(obj.processed_by) if obj.processed_by_id else "—"

    def get_urls(self) -> list[Any]:
        return [*self.console_action_urls(), *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_view_permission(request, obj):
            extra.update({"erasure_page": True, "buttons": self.offered_actions(request, obj),
                          "blockers": erasure.blockers(obj.user) if obj.state == ErasureState.PENDING else []})
        return super().change_view(request, object_id, form_url, extra)

"""The claim list, the claim page, the escalated queue and payment-provider disputes in the support console.

The claim form itself is read-only for everyone: every change goes through claims.services from an action page
(see console.py). Agents act with `claims.change_claim` (+ being an agent); recording a dispute opens a claim and
needs `claims.add_claim`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, DateTimeField, F, Prefetch, Q, QuerySet, When
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from orders.models import Order, Shipment
from sellers.models import LedgerEntry

from .. import roles, services
from ..admin_forms import AssignForm, BulkAssignForm, MessageForm, ProviderDisputeForm, person_label
from ..models import (
    Claim,
    ClaimItem,
    ClaimState,
    ClaimTransition,
    Evidence,
    Message,
    Offer,
    OutboundEmail,
)
from ..selectors import TRANSITION_WORDS
from .actions import BUTTON_ACTIONS, CLAIM_ACTIONS
from .console import ConsoleActionsMixin, ReadOnlyAdminMixin, mask_email
from .paginator import EstimatedCountPaginator

QUEUE_STATES = [ClaimState.ESCALATED, ClaimState.AWAITING_INFO]


# --- the deadline that matters now ------------------------------------------------------------------------


def due_at_expression() -> Case:
    """The deadline an agent watches in each state: the seller's first reply, the resolution deadline, the
    party's answer, and the 180-day final deadline once the platform or a return has it."""
    return Case(
        When(state=ClaimState.AWAITING_SELLER, then=F("first_reply_due_at")),
        When(state=ClaimState.IN_PROGRESS, then=F("resolution_due_at")),
        When(state=ClaimState.AWAITING_INFO, then=F("info_due_at")),
        When(state__in=[ClaimState.ESCALATED, ClaimState.AWAITING_RETURN], then=F("hard_deadline_at")),
        default=None,
        output_field=DateTimeField(),
    )


def overdue_q(now: dt.datetime) -> Q:
    """The same deadlines as due_at_expression, as a filter each arm of which an index on state can serve."""
    return (
        Q(state=ClaimState.AWAITING_SELLER, first_reply_due_at__lt=now)
        | Q(state=ClaimState.IN_PROGRESS, resolution_due_at__lt=now)
        | Q(state=ClaimState.AWAITING_INFO, info_due_at__lt=now)
        | Q(state__in=[ClaimState.ESCALATED, ClaimState.AWAITING_RETURN], hard_deadline_at__lt=now)
    )


def format_moment(moment: dt.datetime | None) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else "—"


def deadline_html(due_at: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if due_at is None:
        return "—"
    if due_at < (now or timezone.now()):
        return format_html(
            '<time datetime="{}">{}</time> <strong class="console-overdue">{}</strong>',
            due_at.isoformat(),
            format_moment(due_at),
            _("overdue"),
        )
    return format_html('<time datetime="{}">{}</time>', due_at.isoformat(), format_moment(due_at))


# --- list filters -------------------------------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("deadline")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", gettext_lazy("Overdue")), ("no", gettext_lazy("Open, on time"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(overdue_q(timezone.now()))
        if self.value() == "no":
            return queryset.exclude(state=ClaimState.RESOLVED).exclude(overdue_q(timezone.now()))
        return queryset


class EscalatedFilter(admin.SimpleListFilter):
    title = gettext_lazy("escalated")
    parameter_name = "escalated"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("now", gettext_lazy("With the platform now")),
            ("ever", gettext_lazy("Ever escalated")),
            ("never", gettext_lazy("Never escalated")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "now":
            return queryset.filter(state__in=QUEUE_STATES)
        if value == "ever":
            return queryset.filter(escalated_at__isnull=False)
        if value == "never":
            return queryset.filter(escalated_at__isnull=True)
        return queryset


class AssignedFilter(admin.SimpleListFilter):
    title = gettext_lazy("assigned to")
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("me", gettext_lazy("Me")),
            ("nobody", gettext_lazy("Nobody")),
            ("others", gettext_lazy("Other agents")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "me":
            return queryset.filter(assigned_to=request.user)
        if value == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        if value == "others":
            return queryset.filter(assigned_to__isnull=False).exclude(assigned_to=request.user)
        return queryset


# --- the admin ----------------------------------------------------------------------------------------------


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdminMixin, ConsoleActionsMixin, admin.ModelAdmin):
    console_actions = CLAIM_ACTIONS
    paginator = EstimatedCountPaginator

    # The deadline comes early: on a narrow screen the table scrolls and what is overdue must still show.
    list_display = ["number", "state", "deadline", "reason", "seller", "buyer_email", "opened", "assignee"]
    list_filter = [
        "state",
        "reason",
        ("seller", admin.RelatedFieldListFilter),
        "channel",
        OverdueFilter,
        EscalatedFilter,
        AssignedFilter,
    ]
    # Rows render from these joins alone: no query per row (tests/test_admin.py counts them).
    list_select_related = ["seller", "buyer", "assigned_to"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice is a scan per choice at a million claims
    list_per_page = 50
    date_hierarchy = "opened_at"
    search_fields = ["number", "order__number", "buyer__email", "order__shipments__tracking_number"]
    search_help_text = gettext_lazy("Exact claim number, order number, buyer email or tracking number.")
    actions = ["assign_to_me"]

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "state",
                    "reason",
                    "channel",
                    "provider_reference",
                    "desired_outcome",
                    "discovered_on",
                    "description",
                    "order",
                    "buyer_contact",
                    "seller",
                    "assignee",
                ]
            },
        ),
        (
            gettext_lazy("Deadlines"),
            {
                "fields": [
                    "deadline_now",
                    "opened_at",
                    "first_reply_due_at",
                    "first_reply_breached",
                    "resolution_due_at",
                    "info_requested_from",
                    "info_due_at",
                    "hard_deadline_at",
                ]
            },
        ),
        (
            gettext_lazy("Decision"),
            {
                "fields": [
                    "outcome",
                    "funded_by",
                    "refund_amount",
                    "denial_reason",
                    "decision_note",
                    "rejected",
                    "rejection_code",
                    "escalation_cause",
                    "inspection_result",
                    "buyer_missed_info",
                    "seller_missed_info",
                ]
            },
        ),
        (
            gettext_lazy("Milestones"),
            {
                "classes": ["collapse"],
                "fields": [
                    "first_replied_at",
                    "escalated_at",
                    "info_requested_at",
                    "decided_at",
                    "return_received_at",
                    "resolved_at",
                    "reopened_at",
                    "last_activity_at",
                    "next_deadline_at",
                ],
            },
        ),
        (gettext_lazy("Policy values when opened"), {"classes": ["collapse"], "fields": ["policy"]}),
    ]
    readonly_fields = ["buyer_contact", "deadline_now", "assignee"]

    class Media:
        css = {"all": ["css/admin-console.css"]}

    # --- permissions: the form is read-only, claims are never added or deleted here ---------------------

    def has_console_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Acting on claims: an agent (roles.is_agent) with the change permission. Checked again on every POST,
        and the service checks the agent's role once more."""
        return roles.is_agent(request.user) and request.user.has_perm("claims.change_claim")

    def has_record_dispute_permission(self, request: HttpRequest) -> bool:
        return roles.is_agent(request.user) and request.user.has_perm("claims.add_claim")

    # --- the list ---------------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(due_at=due_at_expression())

    def action_checkbox(self, obj: Claim) -> str:
        """The same checkbox as Django's, written directly: a widget rendered through templates for every row
        is a third of the list's time."""
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, obj.pk,
                           format_html(_("Select this object for an action - {}"), str(obj)))


    @admin.display(description=gettext_lazy("buyer"), ordering="buyer__email")
    def buyer_email(self, claim: Claim) -> str:
        return mask_email(claim.buyer.email)

    @admin.display(description=gettext_lazy("opened"), ordering="opened_at")
    def opened(self, claim: Claim) -> str:
        local = timezone.localtime(claim.opened_at)
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            local.isoformat(),
            date_format(local, "SHORT_DATETIME_FORMAT"),
            date_format(local, "SHORT_DATE_FORMAT"),
        )

    @admin.display(description=gettext_lazy("next deadline"), ordering="due_at")
    def deadline(self, claim: Claim) -> str:
        return deadline_html(claim.due_at)  # type: ignore[attr-defined]

    @admin.display(description=gettext_lazy("assigned to"), ordering="assigned_to__username")
    def assignee(self, claim: Claim) -> str:
        return person_label(claim.assigned_to) if claim.assigned_to_id else "—"

    @admin.display(description=gettext_lazy("buyer"))
    def buyer_contact(self, claim: Claim) -> str:
        buyer = claim.buyer
        return format_html("{} &lt;{}&gt;", buyer.get_full_name() or buyer.get_username(), buyer.email)

    @admin.display(description=gettext_lazy("deadline that matters now"))
    def deadline_now(self, claim: Claim) -> str:
        return deadline_html(getattr(claim, "due_at", None))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """Exact matches only, each served by an index: a claim list of a million rows is never scanned for a
        substring. Orders, shipments and buyers are looked up first, so the claim query is a plain OR of
        indexed columns."""
        term = search_term.strip()
        if not term:
            return queryset, False
        variants = list({term, term.upper()})
        order_ids = list(Order.objects.filter(number__in=variants).values_list("pk", flat=True)[:100])
        order_ids += list(
            Shipment.objects.filter(tracking_number__in=variants).values_list("order_id", flat=True)[:100]
        )
        condition = Q(number__in=variants) | Q(order_id__in=order_ids)
        if "@" in term:
            buyer_ids = list(get_user_model().objects.filter(email__iexact=term).values_list("pk", flat=True)[:20])
            condition |= Q(buyer_id__in=buyer_ids)
        return queryset.filter(condition), False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {
            "console_queue_url": reverse("admin:claims_claim_queue") if self.has_console_permission(request) else None,
            "console_dispute_url": reverse("admin:claims_claim_record_dispute")
            if self.has_record_dispute_permission(request)
            else None,
        }
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    @admin.action(description=gettext_lazy("Assign the selected claims to me"), permissions=["console"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._assign_many(request, list(queryset.values_list("pk", flat=True)), request.user)

    def _assign_many(self, request: HttpRequest, claim_ids: list[int], agent: Any) -> None:
        """Each claim through services.assign (its own lock and check), each logged; one message for the batch."""
        done = 0
        for claim in Claim.objects.filter(pk__in=claim_ids).order_by("pk"):
            outcome = self.run_service(request, claim, lambda claim=claim: self._assign_one(claim, request.user, agent))
            done += outcome.done
        if done:
            self.message_user(
                request,
                ngettext("%(count)d claim assigned.", "%(count)d claims assigned.", done) % {"count": done},
                messages.SUCCESS,
            )

    @staticmethod
    def _assign_one(claim: Claim, by: Any, agent: Any) -> str:
        services.assign(claim=claim, by=by, agent=agent)
        return _("Assigned to %(agent)s.") % {"agent": person_label(agent)} if agent else _("Unassigned.")

    # --- the claim page ---------------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("queue/", wrap(self.queue_view), name=self.console_url_name("queue")),
            path("queue/assign/", wrap(self.bulk_assign_view), name=self.console_url_name("bulk_assign")),
            path("provider-dispute/", wrap(self.record_dispute_view), name=self.console_url_name("record_dispute")),
            *self.console_action_urls(),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        if self.has_view_permission(request):
            claim = _detail_queryset().filter(pk=_int_or_none(unquote(object_id))).first()
            if claim is not None:
                extra.update(self._page_context(request, claim))
        return super().change_view(request, object_id, form_url, extra)

    def _page_context(self, request: HttpRequest, claim: Claim) -> dict[str, Any]:
        can_act = self.has_console_permission(request, claim)
        attachments: dict[int, list[Evidence]] = {}
        for item in claim.evidence.all():
            if item.message_id:
                attachments.setdefault(item.message_id, []).append(item)
        thread = [{"message": m, "files": attachments.get(m.pk, [])} for m in claim.messages.all()]
        context: dict[str, Any] = {
            "claim_page": True,
            "claim": claim,
            "can_act": can_act,
            "buttons": [a for a in self.offered_actions(request, claim) if a["action"].name in BUTTON_ACTIONS]
            if can_act
            else [],
            "evidence": list(claim.evidence.all()),
            "thread": thread,
            "transitions": [
                {
                    "log": t,
                    "words": TRANSITION_WORDS.get(t.name, t.name),
                    "from": _state_label(t.from_state),
                    "to": _state_label(t.to_state),
                }
                for t in claim.transitions.all()
            ],
            "deadline": deadline_html(claim.due_at),  # type: ignore[attr-defined]
            "queue_url": reverse("admin:claims_claim_queue") if can_act else None,
        }
        if can_act:
            context.update(
                {
                    "assign_form": AssignForm(obj=claim, user=request.user, auto_id="id_assign_%s"),
                    "assign_url": self.console_action_url(claim, "assign"),
                    "message_form": MessageForm(obj=claim, user=request.user, auto_id="id_message_%s"),
                    "message_url": self.console_action_url(claim, "message"),
                }
            )
        return context

    # --- the escalated queue ----------------------------------------------------------------------------

    QUEUE_VIEWS = {
        "me": gettext_lazy("Assigned to me"),
        "unassigned": gettext_lazy("Unassigned"),
        "all": gettext_lazy("All"),
    }

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        """The claims with the platform (escalated, awaiting information), the most urgent first."""
        if not self.has_console_permission(request):
            raise PermissionDenied
        who = request.GET.get("who", "me")
        who = who if who in self.QUEUE_VIEWS else "me"
        base = Claim.objects.filter(state__in=QUEUE_STATES)
        scoped = {
            "me": base.filter(assigned_to=request.user),
            "unassigned": base.filter(assigned_to__isnull=True),
            "all": base,
        }
        queryset = (
            scoped[who]
            .select_related("seller", "buyer", "assigned_to")
            .annotate(due_at=due_at_expression())
            .order_by(F("due_at").asc(nulls_last=True), "escalated_at", "pk")
        )
        page = Paginator(queryset, 50).get_page(request.GET.get("page"))
        now = timezone.now()
        rows = [
            {
                "claim": c,
                "buyer": mask_email(c.buyer.email),
                "deadline": deadline_html(c.due_at, now),
                "assignee": person_label(c.assigned_to) if c.assigned_to_id else "",
            }
            for c in page.object_list
        ]
        tabs = [
            {
                "key": key,
                "label": label,
                "count": scoped[key].count(),
                "url": "?" + urlencode({"who": key}),
                "current": key == who,
            }
            for key, label in self.QUEUE_VIEWS.items()
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Escalated queue"),
            "opts": self.opts,
            "tabs": tabs,
            "who": who,
            "rows": rows,
            "page": page,
            "form": BulkAssignForm(user=request.user, initial={"agent": request.user.pk}),
            "assign_url": reverse("admin:claims_claim_bulk_assign"),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/claims/claim/queue.html", context)

    def bulk_assign_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_console_permission(request):
            raise PermissionDenied
        form = BulkAssignForm(request.POST, user=request.user)
        back = reverse("admin:claims_claim_queue") + "?" + urlencode({"who": request.POST.get("who", "me")})
        if not form.is_valid():
            for errors in form.errors.values():
                for text in errors:
                    self.message_user(request, text, messages.ERROR)
            return HttpResponseRedirect(back)
        self._assign_many(request, [c.pk for c in form.cleaned_data["claims"]], form.cleaned_data["agent"])
        return HttpResponseRedirect(back)

    # --- payment-provider disputes ----------------------------------------------------------------------

    def record_dispute_view(self, request: HttpRequest) -> HttpResponse:
        """A chargeback or PayPal dispute: a claim on the payment_provider channel that waits for the
        provider's verdict. Open this page from the order (?order=<number>) to choose the items."""
        if not self.has_record_dispute_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = ProviderDisputeForm(request.POST, user=request.user)
            if form.is_valid():
                data = form.cleaned_data
                created: list[Claim] = []

                def record() -> str:
                    created.append(
                        services.record_provider_dispute(
                            order=data["order"],
                            by=request.user,
                            reference=data["reference"],
                            description=data["description"],
                            items=data["items"],
                        )
                    )
                    return _("Recorded payment-provider dispute %(reference)s on order %(order)s.") % {
                        "reference": data["reference"],
                        "order": data["order"].number,
                    }

                outcome = self.run_service(
                    request,
                    None,
                    record,
                    success=_("The dispute was recorded; the seller is told."),
                    log=lambda req, _obj, sentence: self.log_addition(req, created[0], sentence),
                )
                if outcome.done:
                    return HttpResponseRedirect(self.change_url(created[0]))
        else:
            form = ProviderDisputeForm(user=request.user, initial={"order": request.GET.get("order", "")})
        return self.render_action_form(
            request,
            form,
            title=_("Record a payment-provider dispute"),
            status=400 if request.method == "POST" else 200,
            intro=_(
                "The provider (PayPal, the card issuer, the bank) decides; the claim waits with the platform "
                "until you record the verdict. If the buyer wins, the seller's ledger gets the fine."
            ),
            template="admin/claims/claim/record_dispute.html",
            extra={"order_found": form.order_obj is not None},
        )


def _state_label(state: str) -> str:
    return str(ClaimState(state).label) if state in ClaimState.values else (state or "—")


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _detail_queryset() -> QuerySet:
    """Everything the claim page shows, in a fixed number of queries."""
    return (
        Claim.objects.annotate(due_at=due_at_expression())
        .select_related("order", "seller", "buyer", "assigned_to")
        .prefetch_related(
            Prefetch("items", queryset=ClaimItem.objects.select_related("order_item")),
            Prefetch(
                "evidence",
                queryset=Evidence.objects.select_related("uploaded_by", "message").order_by("created_at", "id"),
            ),
            Prefetch("messages", queryset=Message.objects.select_related("author").order_by("created_at", "id")),
            Prefetch("offers", queryset=Offer.objects.select_related("made_by").order_by("created_at", "id")),
            "refunds",
            Prefetch("ledger_entries", queryset=LedgerEntry.objects.select_related("created_by")),
            Prefetch(
                "transitions", queryset=ClaimTransition.objects.select_related("actor").order_by("created_at", "id")
            ),
            Prefetch("emails", queryset=OutboundEmail.objects.order_by("created_at", "id")),
            "order__shipments",
        )
    )

"""The payout queue (manual provider) in the support console, for the finance group and superusers.

Refunds are read-only here: a status changes only through claims.services (mark_refund_paid, mark_refund_failed,
retry_refund), one refund at a time, each in its own transaction. The list's actions lead to pages under this
admin (get_urls): "pay/", "fail/" and "retry/" take the selected refunds (`?ids=1,2,3`), show them each with its
own input, and apply them on POST, saying per refund what happened; "export/" is the CSV of every payout waiting
to be paid by hand, and "import/" reads the CSV of confirmations (see claims/payout_files.py).

Who: viewing the queue is the model's view permission (claims.view_refund: the finance group; agents do not have
it); everything that changes a refund or exports payment data also needs roles.may_manage_payouts, checked again
on every POST, and the services check it once more.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core import formatting
from core.console import ReadOnlyAdminMixin, mask_email

from .. import payout_files, roles, services
from ..choices import RefundStatus
from ..models import Refund

MAX_BATCH = 100
# The queue's order: what needs a person first (failed), then what waits to be paid, then what is under way.
QUEUE_RANK = Case(
    When(status=RefundStatus.FAILED, then=Value(0)),
    When(status=RefundStatus.PENDING, then=Value(1)),
    When(status=RefundStatus.SUBMITTED, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def _moment(moment: Any) -> str:
    if not moment:
        return "—"
    local = timezone.localtime(moment)
    return format_html('<time datetime="{}" title="{}">{}</time>', local.isoformat(), formatting.moment(local),
                       formatting.day(local))


def paid_to(refund: Refund) -> str:
    """How the buyer paid (and so gets the money back): "Card ending 4242" and the payment's reference."""
    order = refund.claim.order
    method = order.get_payment_method_display()
    if order.card_last4:
        method = _("%(method)s ending %(last4)s") % {"method": method, "last4": order.card_last4}
    if order.payment_reference:
        return format_html('{}<br><span class="payout-ref">{}</span>', method, order.payment_reference)
    return method


# --- the per-refund pages: mark paid, mark failed, retry -----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PayoutStep:
    """One of the queue's changes, applied to each selected refund on its own."""

    name: str
    title: Any
    intro: Any
    button: Any
    offered_for: tuple[str, ...]  # the statuses it applies to; other refunds are listed but left alone
    run: Callable[[Refund, str, Any], str]  # calls the service, returns the LogEntry sentence
    done: Callable[[int], str]
    field_label: Any = None  # the input each refund gets (None: no input, the button decides)
    field_limit: int = 0
    danger: bool = False


def _pay(refund: Refund, value: str, by: Any) -> str:
    services.mark_refund_paid(refund=refund, reference=value, by=by)
    return _("Marked paid with reference %(reference)s.") % {"reference": value}


def _fail(refund: Refund, value: str, by: Any) -> str:
    services.mark_refund_failed(refund=refund, reason=value, by=by)
    return _("Marked failed: %(reason)s") % {"reason": value}


def _retry(refund: Refund, value: str, by: Any) -> str:
    services.retry_refund(refund=refund, by=by)
    return _("Put back in the payout queue.")


STEPS = {
    step.name: step
    for step in (
        PayoutStep(
            name="pay",
            title=gettext_lazy("Mark as paid"),
            intro=gettext_lazy("Give the payment provider's reference of each payout that was made; a refund "
                               "without a reference is left as it is. The buyer is told the money is on its way."),
            button=gettext_lazy("Mark as paid"),
            offered_for=(RefundStatus.PENDING, RefundStatus.SUBMITTED, RefundStatus.FAILED),
            run=_pay,
            done=lambda n: ngettext("%(count)d refund marked as paid.", "%(count)d refunds marked as paid.", n),
            field_label=gettext_lazy("Provider reference"),
            field_limit=payout_files.REFERENCE_LIMIT,
        ),
        PayoutStep(
            name="fail",
            title=gettext_lazy("Mark as failed"),
            intro=gettext_lazy("Say why each payout failed; a refund without a reason is left as it is. The buyer "
                               "is told what happens next; a failed payout can be retried."),
            button=gettext_lazy("Mark as failed"),
            offered_for=(RefundStatus.PENDING, RefundStatus.SUBMITTED),
            run=_fail,
            done=lambda n: ngettext("%(count)d refund marked as failed.", "%(count)d refunds marked as failed.", n),
            field_label=gettext_lazy("Why it failed"),
            field_limit=payout_files.REASON_LIMIT,
            danger=True,
        ),
        PayoutStep(
            name="retry",
            title=gettext_lazy("Retry failed payouts"),
            intro=gettext_lazy("These failed payouts go back to the queue as pending (with the webhook provider "
                               "they are sent to the shop again)."),
            button=gettext_lazy("Retry"),
            offered_for=(RefundStatus.FAILED,),
            run=_retry,
            done=lambda n: ngettext("%(count)d payout put back in the queue.",
                                    "%(count)d payouts put back in the queue.", n),
        ),
    )
}


def _step_form(step: PayoutStep, refunds: list[Refund], data: Any = None) -> forms.Form:
    fields: dict[str, forms.Field] = {}
    if step.field_label:
        for refund in refunds:
            fields[f"value-{refund.pk}"] = forms.CharField(
                label=format_html("{} ({})", step.field_label,
                                  _("refund %(id)s, %(amount)s")
                                  % {"id": refund.pk,
                                     "amount": formatting.money_text(refund.amount, refund.currency)}),
                required=False, max_length=step.field_limit, strip=True,
            )
    form_class = type("PayoutStepForm", (forms.Form,), fields)
    return form_class(data)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Confirmation file (CSV)"),
        help_text=gettext_lazy("UTF-8 CSV with the columns refund_id, status (paid or failed), reference (for paid) "
                               "and reason (for failed). Other columns are ignored, so the exported file with these "
                               "columns added can come back as it is. Importing a file twice changes nothing."),
    )


# --- the admin -------------------------------------------------------------------------------------------------


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Failed first (with the reason under the status), the amount with its currency: a narrow screen scrolls
    # the table sideways, so what matters comes early.
    list_display = ["id", "claim_number", "order_number", "status_label", "money", "paid_to", "buyer", "funded_by",
                    "created", "paid"]
    list_display_links = ["id"]
    list_filter = ["status", "provider", "funded_by"]
    # Rows render from these joins alone: no query per row (claims/tests/test_payouts_admin.py counts them).
    list_select_related = ["claim__order", "claim__buyer"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    ordering = [QUEUE_RANK.asc(), "created_at"]  # the changelist adds "-pk" to make it total
    search_fields = ["=id"]  # shows the search box; get_search_results does the work
    search_help_text = gettext_lazy("Exact refund id, claim number, order number or payment reference.")
    # The search box's visible label (templates/admin/claims/search_form.html).
    search_label = gettext_lazy("Find refunds")
    actions = ["export_csv", "mark_paid", "mark_failed", "retry"]
    fields = ("id", "claim_link", "order_number", "buyer", "paid_to", "amount", "currency", "funded_by", "status",
              "provider", "payment_reference", "created_at", "submitted_at", "paid_at", "failed_at",
              "failure_reason", "attempts", "history")
    readonly_fields = fields

    class Media:
        css = {"all": ["css/admin-console.css"]}

    # --- permissions: read-only for everyone; payouts change only through the services ------------------------

    def has_payouts_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Changing refund statuses, exporting and importing payouts: the finance group and superusers."""
        return roles.may_manage_payouts(request.user) and self.has_view_permission(request, obj)

    # --- the list -------------------------------------------------------------------------------------------


    def get_list_display(self, request: HttpRequest) -> list[str | Callable[[Any], str | bool]]:
        shown = list(super().get_list_display(request))
        if request.user.has_perm("claims.view_claim"):
            shown[shown.index("claim_number")] = "claim_link"
        return shown

    def action_checkbox(self, obj: Refund) -> SafeString:
        """Django's checkbox, written directly (no widget render per row), as on the claim list."""
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, obj.pk,
                           format_html(_("Select this object for an action - {}"), str(obj)))

    @admin.display(description=gettext_lazy("claim"), ordering="claim__number")
    def claim_number(self, refund: Refund) -> str:
        return refund.claim.number

    @admin.display(description=gettext_lazy("claim"), ordering="claim__number")
    def claim_link(self, refund: Refund) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:claims_claim_change", args=[refund.claim_id]),
                           refund.claim.number)

    @admin.display(description=gettext_lazy("order"), ordering="claim__order__number")
    def order_number(self, refund: Refund) -> str:
        return refund.claim.order.number

    @admin.display(description=gettext_lazy("buyer"))
    def buyer(self, refund: Refund) -> str:
        return mask_email(refund.claim.buyer.email)

    @admin.display(description=gettext_lazy("paid back to"))
    def paid_to(self, refund: Refund) -> str:
        return paid_to(refund)

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_label(self, refund: Refund) -> str:
        label = refund.get_status_display()
        if refund.status == RefundStatus.FAILED:
            return format_html('<strong class="payout-failed">{}</strong><br><span class="payout-ref">{}</span>',
                               label, refund.failure_reason)
        return label

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def money(self, refund: Refund) -> str:
        return formatting.money_text(refund.amount, refund.currency)

    @admin.display(description=gettext_lazy("created"), ordering="created_at")
    def created(self, refund: Refund) -> str:
        return _moment(refund.created_at)

    @admin.display(description=gettext_lazy("paid"), ordering="paid_at")
    def paid(self, refund: Refund) -> str:
        return _moment(refund.paid_at)

    @admin.display(description=gettext_lazy("history"))
    def history(self, refund: Refund) -> str:
        events = refund.events.select_related("actor").order_by("created_at", "id")
        return format_html('<ul class="payout-history">{}</ul>', format_html_join(
            "", "<li>{}: {} → {}{}{}</li>",
            ((formatting.moment(e.created_at),
              _status_label(e.from_status), _status_label(e.to_status),
              f" · {e.note}" if e.note else "",
              f" · {e.actor.get_full_name() or e.actor.get_username()}" if e.actor is not None else f" · {_('System')}")
             for e in events)))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """Exact matches on indexed or small columns: refund id, claim number, order number, the payout's or the
        order's payment reference."""
        term = search_term.strip()
        if not term:
            return queryset, False
        variants = list({term, term.upper()})
        condition = (Q(claim__number__in=variants) | Q(claim__order__number__in=variants)
                     | Q(payment_reference=term) | Q(claim__order__payment_reference=term))
        digits = term.lstrip("#")
        if digits.isdigit() and len(digits) < 12:
            condition |= Q(pk=int(digits))
        return queryset.filter(condition), False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        may = self.has_payouts_permission(request)
        extra = {
            "payout_tools": may,
            "export_url": reverse("admin:claims_refund_export") if may else None,
            "import_url": reverse("admin:claims_refund_import") if may else None,
            "waiting": self._waiting() if self.has_view_permission(request) else [],
        }
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    @staticmethod
    def _waiting() -> list[dict[str, Any]]:
        """What waits for the finance team, per status and currency (one grouped query on the status index)."""
        rows = (Refund.objects.filter(status__in=[RefundStatus.PENDING, RefundStatus.FAILED])
                .values("status", "currency").order_by("status", "currency")
                .annotate(count=Count("pk"), total=Sum("amount")))
        return [{"status": _status_label(r["status"]), "failed": r["status"] == RefundStatus.FAILED,
                 "count": r["count"], "total": f"{r['total']:.2f}", "currency": r["currency"],
                 "url": reverse("admin:claims_refund_changelist") + "?" + urlencode({"status__exact": r["status"]})}
                for r in rows]

    # --- the change page -------------------------------------------------------------------------------------

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = dict(extra_context or {})
        pk = _int_or_none(unquote(object_id))
        refund = Refund.objects.filter(pk=pk).first() if pk is not None else None
        if refund is not None and self.has_payouts_permission(request, refund):
            here = reverse("admin:claims_refund_change", args=[refund.pk])
            extra["payout_buttons"] = [
                {"label": step.title, "danger": step.danger,
                 "url": reverse(f"admin:claims_refund_{step.name}") + "?"
                 + urlencode({"ids": str(refund.pk), "next": here})}
                for step in STEPS.values() if refund.status in step.offered_for
            ]
        return super().change_view(request, object_id, form_url, extra)

    # --- actions ------------------------------------------------------------------------------------------

    @admin.action(description=gettext_lazy("Export pending payouts as CSV"), permissions=["payouts"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponseBase | None:
        chosen = payout_files.payable(queryset)
        left_out = queryset.count() - chosen.count()
        if left_out:
            self.message_user(request, ngettext(
                "%(count)d selected refund is not a pending manual payout and is not in the file.",
                "%(count)d selected refunds are not pending manual payouts and are not in the file.", left_out)
                % {"count": left_out}, messages.WARNING)
        if not chosen.exists():
            return None
        return self._csv_response(chosen)

    @admin.action(description=gettext_lazy("Mark as paid…"), permissions=["payouts"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._to_step(request, queryset, "pay")

    @admin.action(description=gettext_lazy("Mark as failed…"), permissions=["payouts"])
    def mark_failed(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._to_step(request, queryset, "fail")

    @admin.action(description=gettext_lazy("Retry failed payouts…"), permissions=["payouts"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._to_step(request, queryset, "retry")

    def _to_step(self, request: HttpRequest, queryset: QuerySet, step: str) -> HttpResponse | None:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:MAX_BATCH + 1])
        if len(ids) > MAX_BATCH:
            self.message_user(request, _("Select at most %(max)d refunds at a time.") % {"max": MAX_BATCH},
                              messages.WARNING)
            return None
        query = {"ids": ",".join(str(pk) for pk in ids), "next": request.get_full_path()}
        return HttpResponseRedirect(reverse(f"admin:claims_refund_{step}") + "?" + urlencode(query))

    # --- pages ------------------------------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name="claims_refund_export"),
            path("import/", wrap(self.import_view), name="claims_refund_import"),
            *[path(f"{name}/", wrap(self._step_view(name)), name=f"claims_refund_{name}") for name in STEPS],
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: Any, **extra: Any) -> dict[str, Any]:
        request.current_app = self.admin_site.name
        return {**self.admin_site.each_context(request), "title": title, "opts": self.opts, "media": self.media,
                "changelist_url": reverse("admin:claims_refund_changelist"), **extra}

    def _csv_response(self, refunds: QuerySet) -> StreamingHttpResponse:
        rows = refunds.select_related("claim__order").order_by("created_at", "id").iterator(chunk_size=500)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(payout_files.export_rows(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="payouts-{stamp}.csv"'
        return response

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """Every payout waiting to be paid by hand, oldest first."""
        if not self.has_payouts_permission(request):
            raise PermissionDenied
        return self._csv_response(payout_files.payable(Refund.objects.all()))

    def _next_url(self, request: HttpRequest) -> str:
        target = request.POST.get("next") or request.GET.get("next") or ""
        fallback = reverse("admin:claims_refund_changelist")
        allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure())
        return target if allowed and target.startswith(fallback) else fallback

    def _step_view(self, name: str) -> Callable[[HttpRequest], HttpResponse]:
        def view(request: HttpRequest) -> HttpResponse:
            return self.step_view(request, STEPS[name])

        return view

    def step_view(self, request: HttpRequest, step: PayoutStep) -> HttpResponse:
        """GET shows the selected refunds, each with its input; POST applies the step to each one through its
        service, in its own transaction, and says per refund what happened."""
        if not self.has_payouts_permission(request):
            raise PermissionDenied
        raw = request.POST.get("ids") if request.method == "POST" else request.GET.get("ids")
        ids = [int(part) for part in (raw or "").split(",") if part.strip().isdigit() and len(part.strip()) < 12]
        next_url = self._next_url(request)
        if not ids:
            self.message_user(request, _("Select the refunds in the list first."), messages.WARNING)
            return HttpResponseRedirect(next_url)
        if len(ids) > MAX_BATCH:
            self.message_user(request, _("Select at most %(max)d refunds at a time.") % {"max": MAX_BATCH},
                              messages.WARNING)
            return HttpResponseRedirect(next_url)
        refunds = list(Refund.objects.filter(pk__in=ids).select_related("claim__order", "claim__buyer")
                       .order_by("created_at", "id"))
        if request.method == "POST":
            # What the page offered when it was shown; a refund that changed since is the service's to refuse,
            # and it says why (paid meanwhile with another reference, no longer failed…).
            offered = [r for r in refunds if f"value-{r.pk}" in request.POST] if step.field_label else refunds
        else:
            offered = [r for r in refunds if r.status in step.offered_for]
        if not offered:
            self.message_user(request, _("None of the selected refunds can be changed this way (%(what)s).")
                              % {"what": step.title}, messages.WARNING)
            return HttpResponseRedirect(next_url)
        form = _step_form(step, offered, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            self._apply(request, step, offered, form.cleaned_data)
            return HttpResponseRedirect(next_url)
        rows = [{"refund": r, "paid_to": paid_to(r), "buyer": mask_email(r.claim.buyer.email),
                 "field": form[f"value-{r.pk}"] if f"value-{r.pk}" in form.fields else None,
                 "offered": r in offered} for r in refunds]
        context = self._context(request, step.title, step=step, rows=rows, form=form, next_url=next_url,
                                ids=",".join(str(r.pk) for r in refunds), offered_count=len(offered),
                                errors=form.errors if form.is_bound else None)
        return TemplateResponse(request, "admin/claims/refund/step.html", context,
                                status=400 if form.is_bound else 200)

    def _apply(self, request: HttpRequest, step: PayoutStep, refunds: list[Refund], data: dict[str, Any]) -> None:
        done = unchanged = skipped = 0
        for refund in refunds:
            value = data.get(f"value-{refund.pk}", "") if step.field_label else ""
            if step.field_label and not value:
                skipped += 1
                continue
            if step.field_label and payout_files.already_so(refund, "paid" if step.name == "pay" else "failed",
                                                              value):
                unchanged += 1
                continue
            try:
                sentence = step.run(refund, value, request.user)
            except ValidationError as error:
                self.message_user(request, _("Refund %(id)s: %(error)s")
                                  % {"id": refund.pk, "error": " ".join(error.messages)}, messages.ERROR)
                continue
            self.log_change(request, refund, sentence)
            done += 1
        if done:
            self.message_user(request, step.done(done) % {"count": done}, messages.SUCCESS)
        if unchanged:
            self.message_user(request, ngettext("%(count)d refund already was so; nothing changed.",
                                                "%(count)d refunds already were so; nothing changed.", unchanged)
                              % {"count": unchanged}, messages.INFO)
        if skipped:
            self.message_user(request, ngettext("%(count)d refund left as it was (nothing entered).",
                                                "%(count)d refunds left as they were (nothing entered).", skipped)
                              % {"count": skipped}, messages.WARNING)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload the provider's confirmations; every row is checked and applied on its own, and the page lists
        what happened to each."""
        if not self.has_payouts_permission(request):
            raise PermissionDenied
        results = None
        status = 200
        if request.method == "POST":
            form = ImportForm(request.POST, request.FILES)
            status = 400
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    if upload.size > payout_files.MAX_IMPORT_BYTES:
                        raise payout_files.FileRefused(
                            _("The file is larger than %(size)d KB; split it into smaller files.")
                            % {"size": payout_files.MAX_IMPORT_BYTES // 1024})
                    rows = payout_files.parse_confirmations(upload.read(payout_files.MAX_IMPORT_BYTES + 1))
                except payout_files.FileRefused as refusal:
                    form.add_error("file", str(refusal))
                else:
                    for row, refund in payout_files.apply_confirmations(rows, by=request.user):
                        self.log_change(request, refund, _("From a CSV import: %(what)s") % {"what": row.message})
                    results = rows
                    status = 200
                    self._import_summary(request, rows)
        else:
            form = ImportForm()
        context = self._context(request, _("Import payout confirmations"), form=form, results=results,
                                columns=", ".join(payout_files.IMPORT_COLUMNS), max_rows=payout_files.MAX_IMPORT_ROWS,
                                max_kb=payout_files.MAX_IMPORT_BYTES // 1024)
        return TemplateResponse(request, "admin/claims/refund/import.html", context, status=status)

    def _import_summary(self, request: HttpRequest, rows: list[payout_files.Confirmation]) -> None:
        counts = {kind: sum(1 for r in rows if r.outcome == kind) for kind in ("applied", "unchanged", "refused")}
        self.message_user(request, _("%(applied)d applied, %(unchanged)d already recorded, %(refused)d refused.")
                          % counts, messages.ERROR if counts["refused"] else messages.SUCCESS)


def _status_label(status: str) -> str:
    return str(RefundStatus(status).label) if status in RefundStatus.values else (status or "—")


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

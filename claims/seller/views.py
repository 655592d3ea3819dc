"""The seller dashboard: the claims queue, the claim page with the seller's actions, performance figures, and the
balance with monthly statements (page and CSV).

Views check the shape of the input with forms, call one claim service, and show its ClaimError as a form error
(with nothing changed). Every state change is a POST. A claim of a seller the person does not work for is a
404; a person who works for no seller gets a 403 on the dashboard pages.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.forms import Form
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from claims import services
from claims.abilities import SELLER_ACTIONS, abilities
from claims.choices import ClaimState, Reason
from claims.decision import seller_owes
from claims.errors import ClaimError
from claims.experts import claim_assessments, costs_total, result_sentence
from claims.forms import AppealForm
from claims.models import Claim, Offer
from claims.offer_forms import AcceptCounterOfferForm, DeclineCounterOfferForm
from claims.remedies import DefectOverview, defect_overview
from claims.resolution import written_resolution
from claims.selectors import (
    collection_status,
    escalation_reason,
    pending_offer,
    timeline,
    warranty_clock_status,
)
from core.after_response import after_response
from core.formatting import csv_text
from core.http import AuthenticatedHttpRequest
from sellers.models import SellerMembership, SellerStatus
from sellers.selectors import current_membership, memberships_of

from . import exports, replies, selectors
from . import statements as statement_selectors
from .charts import duration_text, performance_charts
from .forms import (
    CannedReplyForm,
    ClaimsExportForm,
    ClassifyDefectForm,
    CollectedForm,
    ConcludeExpertForm,
    GoodsReceivedForm,
    InfoAnswerForm,
    OfferForm,
    PerformancePeriodForm,
    QueueFilterForm,
    RejectForm,
    ReplyForm,
    ReturnReceivedForm,
    StartExpertForm,
    TrackingForm,
    classification,
)

# A refused action answers with the page and the reason; the status says what kind of refusal it was.
ERROR_STATUS = {"forbidden": 403, "state": 409, "conflict": 409, "message_quota": 429}

ACTION_FORMS: dict[str, type[Form]] = {
    "reply": ReplyForm,
    "offer": OfferForm,
    "reject": RejectForm,
    "tracking": TrackingForm,
    "return": ReturnReceivedForm,
    "info": InfoAnswerForm,
    "classify": ClassifyDefectForm,
    "goods": GoodsReceivedForm,
    "collected": CollectedForm,
    "expert": StartExpertForm,
    "expert_result": ConcludeExpertForm,
    "accept_counter": AcceptCounterOfferForm,
    "decline_counter": DeclineCounterOfferForm,
    "appeal": AppealForm,
}
# The ability (claims.abilities) whose answer decides whether the page offers each form.
ACTION_ABILITY = {"reply": "message", "offer": "make_offer", "reject": "reject", "tracking": "add_tracking",
                  "return": "receive_return", "info": "provide_info", "classify": "classify_defect",
                  "goods": "confirm_goods_received", "collected": "record_collection",
                  "expert": "start_expert_assessment", "expert_result": "conclude_expert_assessment",
                  "accept_counter": "accept_counter_offer", "decline_counter": "decline_counter_offer",
                  "appeal": "appeal"}


def _form(action: str, claim: Claim, *args: Any, overview: DefectOverview | None = None) -> Form:
    """An action's form; the ones that depend on the claim (`takes_claim`: the defect's remedies) get it."""
    form_class = ACTION_FORMS[action]
    if getattr(form_class, "takes_claim", False):
        # Such a form takes the claim and its defect overview as well.
        return cast("Callable[..., Form]", form_class)(*args, claim=claim, overview=overview)
    return form_class(*args)


# --- queue ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership, memberships = current_membership(request.user, request.GET.get("seller"))
    seller = membership.seller
    now = timezone.now()
    form = QueueFilterForm(request.GET)
    filters = form.filters()
    claims = selectors.queue(seller, request.user, now=now, **filters)
    page = Paginator(claims, selectors.QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(claim, selectors.seller_deadline(claim, now)) for claim in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "sellers/queue.html", {
        "seller": seller, "membership": membership, "memberships": memberships, "form": form, "page": page,
        "rows": rows, "query": query.urlencode(), "filtered": any(filters.values()),
        "summary": selectors.queue_summary(seller, request.user, now=now),
    })


# --- claim page ------------------------------------------------------------------------------------------


def _claim_url(claim: Claim, anchor: str = "") -> str:
    return reverse("sellers:claim", kwargs={"number": claim.number}) + (f"#{anchor}" if anchor else "")


def _render_claim(request: AuthenticatedHttpRequest, claim: Claim, *, bound: Form | None = None, action: str = "",
                  status: int = 200) -> HttpResponse:
    defect = defect_overview(claim)  # once for the page and its forms
    forms = {name: _form(name, claim, overview=defect) for name in ACTION_FORMS}
    if bound is not None:
        forms[action] = bound
    can = abilities(claim, request.user, SELLER_ACTIONS)
    possible = {name: can[ability].allowed for name, ability in ACTION_ABILITY.items()}
    money = selectors.claim_money(claim)
    # The shop's canned replies next to the reply box; ?reply=<id> fills the box with one (claims.seller.replies).
    picker = (replies.reply_picker(claim, by=request.user, refundable=money.refundable,
                                   chosen=request.GET.get("reply")) if possible["reply"] else None)
    picked = bound is None and picker is not None and picker.chosen is not None
    if picked and picker is not None:
        forms["reply"].initial = {"body": picker.chosen_text}
    offer = pending_offer(claim)
    claimed = {item.order_item_id: item.quantity for item in claim.items.all()}
    # A refusal of an action whose form the page no longer offers (the state moved on) is shown at the top.
    refused = []
    if bound is not None and not possible.get(action):
        refused = [error for errors in bound.errors.values() for error in errors]
    context = {
        "claim": claim,
        "deadline": selectors.seller_deadline(claim),
        "timeline": timeline(claim),
        "escalation_reason": escalation_reason(claim),  # the buyer's words, while the platform has it for them
        "offer": offer,
        "can_withdraw": can["withdraw_offer"].allowed,
        "possible": possible,
        "any_action": any(possible.values()),
        "refused": refused,
        "open_action": action or ("reply" if picked else "info" if possible["info"] else "return" if possible["return"]
                                  else "reply"),
        "item_rows": [(item, claimed.get(item.pk, 0)) for item in claim.order.items.all()],
        "money": money,
        "reply_picker": picker,
        # what the seller owes for a decided claim, and when it is recovered (claims.decision, as in the email)
        "owed": seller_owes(claim),
        "return_address": selectors.return_address(claim),
        "seller_active": claim.seller.status == SellerStatus.ACTIVE,
        # the type of defect, what the warranty claim policy allows now and the item's defect history
        "defect": defect,
        # the warranty-claim clock and the goods waiting for collection (claims.warranty_clock, claims.collection)
        "warranty_clock": warranty_clock_status(claim),
        "collection": collection_status(claim),
        # expert assessments exist for warranty claims only (claims.abilities): no query for the others
        "assessments": _assessments(claim),
        **{f"{name}_form": form for name, form in forms.items()},
    }
    return render(request, "sellers/claim.html", context, status=status)


def _assessments(claim: Claim) -> list[tuple[Any, str]]:
    if claim.reason != Reason.DEFECTIVE:
        return []
    rows = []
    for assessment in claim_assessments(claim):
        assessment.total = costs_total(assessment)  # type: ignore[attr-defined]  # for the template
        rows.append((assessment, result_sentence(assessment)))
    return rows


@login_required
@require_GET
def claim_detail(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    claim = selectors.claim_for_staff(request.user, number)
    return after_response(_render_claim(request, claim), services.mark_seen, claim=claim, by=request.user,
                          at=timezone.now())


def _act(request: AuthenticatedHttpRequest, number: str, action: str, run: Callable[[Claim, Any], object],
         success: str) -> HttpResponse:
    """Validate the action's form, run one service, and either go back to the claim with a confirmation or show
    the page again with the form's errors and nothing changed."""
    claim = selectors.staff_claim(request.user, number)
    form = _form(action, claim, request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            run(claim, form)
        except ClaimError as error:
            form.add_error(None, error)
            status = ERROR_STATUS.get(error.code or "", 400)
        else:
            messages.success(request, success)
            return redirect(_claim_url(claim, "history"))
    return _render_claim(request, selectors.claim_for_staff(request.user, number), bound=form, action=action,
                         status=status)


@login_required
@require_POST
def reply(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    def run(claim: Claim, form: ReplyForm) -> object:
        body, files = form.cleaned_data["body"], form.attachments_with_kind()
        # The first answer goes through `reply` (it stops the 48-hour clock and checks the seller may answer);
        # later ones are ordinary messages on the thread.
        if claim.state == ClaimState.AWAITING_SELLER:
            return services.reply(claim=claim, by=request.user, body=body, attachments=files)
        return services.post_message(claim=claim, by=request.user, body=body, attachments=files)

    return _act(request, number, "reply", run, _("Your message was sent to the buyer."))


@login_required
@require_POST
def make_offer(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    def run(claim: Claim, form: OfferForm) -> object:
        data = form.cleaned_data
        with transaction.atomic():  # classified in the same step: both or neither
            if form.classifies and data.get("defect_type"):
                services.classify_defect(claim=claim, by=request.user, **classification(data))
            return services.make_offer(claim=claim, by=request.user, kind=data["kind"], amount=data["amount"],
                                       note=data["note"], return_instructions=data["return_instructions"])

    return _act(request, number, "offer", run, _("Your offer was sent. The buyer can accept or decline it."))


@login_required
@require_POST
def classify_defect(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    def run(claim: Claim, form: ClassifyDefectForm) -> object:
        return services.classify_defect(claim=claim, by=request.user, **form.classification())

    return _act(request, number, "classify", run,
                _("The defect was classified. The buyer is told what it means for them."))


@login_required
@require_POST
def confirm_goods_received(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    return _act(request, number, "goods", lambda claim, form: services.confirm_goods_received(claim=claim,
                                                                                            by=request.user),
                _("You confirmed that the claimed goods reached you. The buyer is told when the claim must be "
                  "resolved by."))


@login_required
@require_POST
def record_collection(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    return _act(request, number, "collected", lambda claim, form: services.record_collection(claim=claim,
                                                                                           by=request.user),
                _("You recorded that the buyer collected the goods."))


@login_required
@require_POST
def appeal(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    """The seller's staff appeal the platform's decision (claims.services.appeal), with a reason."""
    return _act(request, number, "appeal", lambda claim, form: services.appeal(
        claim=claim, by=request.user, reason=form.cleaned_data["reason"]),
        _("Your appeal was sent. Another member of our support team will look at the claim again."))


@login_required
@require_POST
def reject(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    def run(claim: Claim, form: RejectForm) -> object:
        return services.reject(claim=claim, by=request.user, code=form.cleaned_data["code"],
                               body=form.cleaned_data["body"], evidence=form.evidence_with_kind())

    return _act(request, number, "reject", run,
                _("You rejected the claim. The buyer can now ask the platform to decide."))


@login_required
@require_POST
def add_tracking(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    def run(claim: Claim, form: TrackingForm) -> object:
        data = form.cleaned_data
        return services.add_tracking(claim=claim, by=request.user, carrier=data["carrier"],
                                     tracking_number=data["tracking_number"],
                                     shipped_at=form.shipped_at(not_before=claim.order.placed_at),
                                     evidence=form.proof_files())

    return _act(request, number, "tracking", run,
                _("The shipment details were added. When the carrier confirms delivery, the claim closes."))


@login_required
@require_POST
def receive_return(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    def run(claim: Claim, form: ReturnReceivedForm) -> object:
        return services.receive_return(claim=claim, by=request.user,
                                       inspection_result=form.cleaned_data["inspection_result"],
                                       note=form.cleaned_data["note"])

    return _act(request, number, "return", run, _("You confirmed the returned item arrived. The claim is resolved."))


@login_required
@require_POST
def provide_info(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    def run(claim: Claim, form: InfoAnswerForm) -> object:
        return services.provide_info(claim=claim, by=request.user, body=form.cleaned_data["body"],
                                     attachments=form.attachments_with_kind())

    return _act(request, number, "info", run, _("Thank you: your answer was passed to our support team."))


@login_required
@require_POST
def start_expert(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    def run(claim: Claim, form: StartExpertForm) -> object:
        return services.start_expert_assessment(claim=claim, by=request.user, expert=form.cleaned_data["expert"])

    return _act(request, number, "expert", run, _("The expert assessment started. The time it takes does not count "
                                                 "towards the time limit for resolving the claim."))


@login_required
@require_POST
def conclude_expert(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    def run(claim: Claim, form: ConcludeExpertForm) -> object:
        data = form.cleaned_data
        return services.conclude_running_expert_assessment(claim=claim, by=request.user, result=data["result"],
                                                           note=data["note"], report=data["report"])

    return _act(request, number, "expert_result", run, _("The expert's result was recorded; the buyer is told."))


@login_required
@require_GET
def resolution(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    """The claim's written resolution, as the buyer got it (claims.resolution), printable."""
    claim = selectors.claim_for_staff(request.user, number)
    return render(request, "sellers/resolution.html", {
        "claim": claim, "resolution": written_resolution(claim), "back_url": _claim_url(claim)})


@login_required
@require_POST
def accept_counter_offer(request: AuthenticatedHttpRequest, number: str, offer_id: int) -> HttpResponse:
    def run(claim: Claim, form: AcceptCounterOfferForm) -> object:
        return services.accept_counter_offer(offer=get_object_or_404(Offer, pk=offer_id, claim=claim),
                                             by=request.user)

    return _act(request, number, "accept_counter", run, _("You accepted the buyer's counter-offer."))


@login_required
@require_POST
def decline_counter_offer(request: AuthenticatedHttpRequest, number: str, offer_id: int) -> HttpResponse:
    def run(claim: Claim, form: DeclineCounterOfferForm) -> object:
        return services.decline_counter_offer(offer=get_object_or_404(Offer, pk=offer_id, claim=claim),
                                              by=request.user, reason=form.cleaned_data["reason"])

    return _act(request, number, "decline_counter", run,
                _("You declined the buyer's counter-offer. You can make another offer."))


@login_required
@require_POST
def withdraw_offer(request: AuthenticatedHttpRequest, number: str, offer_id: int) -> HttpResponse:
    claim = selectors.staff_claim(request.user, number)
    offer = get_object_or_404(Offer, pk=offer_id, claim=claim)
    try:
        services.withdraw_offer(offer=offer, by=request.user)
    except ClaimError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("You withdrew your offer."))
    return redirect(_claim_url(claim, "actions"))


# --- performance -----------------------------------------------------------------------------------------


@login_required
@require_GET
def performance(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _performance_page(request)


def _performance_page(request: AuthenticatedHttpRequest, *, export_form: ClaimsExportForm | None = None,
                      status: int = 200) -> HttpResponse:
    membership, memberships = current_membership(request.user, request.GET.get("seller"))
    figures = selectors.performance(membership.seller, period=PerformancePeriodForm(request.GET).chosen())
    # The selector shows the period the figures were computed over (an unknown one falls back to the default):
    # one source for the choice, the heading and the numbers.
    form = PerformancePeriodForm({"period": figures.period})
    return render(request, "sellers/performance.html", {
        "seller": membership.seller, "membership": membership, "memberships": memberships, "form": form,
        "figures": figures, "median_text": duration_text(figures.median_first_reply),
        "charts": performance_charts(figures),
        "export_form": export_form or ClaimsExportForm.for_period(figures),
    }, status=status)


# --- the claims as CSV -------------------------------------------------------------------------------------------


@login_required
@require_GET
def claims_csv(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The claims the seller's staff work in (owner or staff, as the statement CSV) opened in the days asked for, as
    CSV (claims.seller.exports), streamed. Days that make no sense: the performance page with the form's errors."""
    membership, _memberships = current_membership(request.user, request.GET.get("seller"))
    form = ClaimsExportForm(request.GET)
    if not form.is_valid():
        return _performance_page(request, export_form=form, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    seller = membership.seller
    response = StreamingHttpResponse(exports.lines(exports.claims_opened(seller, start, end)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(seller, start, end)}"'
    return response


# --- balance and statements --------------------------------------------------------------------------------

LEDGER_PAGE_SIZE = 25


@login_required
@require_GET
def statements(request: AuthenticatedHttpRequest) -> HttpResponse:
    """What the seller owes the platform (or is owed) now, every ledger entry, and the months to print."""
    membership, memberships = current_membership(request.user, request.GET.get("seller"))
    seller = membership.seller
    page = Paginator(statement_selectors.ledger_entries(seller), LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    balances = statement_selectors.balances(seller)
    return render(request, "sellers/statements.html", {
        "seller": seller, "membership": membership, "memberships": memberships, "page": page,
        "balances": [b for b in balances if b.amount], "months": statement_selectors.activity_months(seller),
        "current_month": statement_selectors.current_month(),
    })


def _statement_for(request: AuthenticatedHttpRequest,
                   month: dt.date) -> tuple[SellerMembership, list[SellerMembership], statement_selectors.Statement]:
    membership, memberships = current_membership(request.user, request.GET.get("seller"))
    if month > statement_selectors.current_month():
        raise Http404  # a month that has not begun has no statement
    return membership, memberships, statement_selectors.monthly_statement(membership.seller, month)


@login_required
@require_GET
def statement(request: AuthenticatedHttpRequest, month: dt.date) -> HttpResponse:
    """One month's statement, printable: opening balance, the month's entries, closing balance, and the refunds
    the seller funded that were paid out in the month."""
    membership, memberships, sheet = _statement_for(request, month)
    following = sheet.end.date()
    return render(request, "sellers/statement.html", {
        "seller": membership.seller, "membership": membership, "memberships": memberships,
        "statement": sheet, "previous_month": statement_selectors.previous_month(sheet.month),
        "next_month": following if following <= statement_selectors.current_month() else None,
        "generated_at": timezone.now(),
    })


CSV_COLUMNS = ["date", "type", "description", "claim", "order", "amount", "currency", "balance"]


@login_required
@require_GET
def statement_csv(request: AuthenticatedHttpRequest, month: dt.date) -> HttpResponse:
    """The statement as CSV: an opening and a closing row per currency around the month's entries, then the
    refunds the seller funded (not ledger entries: no balance). Dates are the marketplace's local time; the
    column names are a fixed format, the descriptions are in the reader's language."""
    membership, _memberships, statement = _statement_for(request, month)
    name = f"statement-{membership.seller.slug}-{statement.month:%Y-%m}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    cell = csv_text
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for section in statement.currencies:
        writer.writerow([f"{statement.month:%Y-%m-%d}", "opening_balance", _("Opening balance"), "", "", "",
                         section.currency, section.opening])
        for line in section.lines:
            entry = line.entry
            claim = entry.claim
            description = entry.get_kind_display() + (f" – {entry.note}" if entry.note else "")
            writer.writerow([
                f"{timezone.localtime(entry.created_at):%Y-%m-%d %H:%M}", entry.kind, cell(description),
                claim.number if claim is not None else "",
                cell(claim.order.number) if claim is not None else "",
                entry.amount, entry.currency, line.balance_after,
            ])
        writer.writerow([f"{statement.last_day:%Y-%m-%d}", "closing_balance", _("Closing balance"), "", "", "",
                         section.currency, section.closing])
    for refund in statement.funded_refunds:
        writer.writerow([
            f"{timezone.localtime(refund.paid_at):%Y-%m-%d %H:%M}", "seller_funded_refund",
            _("Refund you funded, paid out to the buyer"), refund.claim.number, cell(refund.claim.order.number),
            refund.amount, refund.currency, "",
        ])
    return response


# --- canned replies ----------------------------------------------------------------------------------------------


@login_required
@require_GET
def canned_replies(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The shop's canned replies: every member reads them (and picks them on a claim); the owner keeps them."""
    membership, memberships = current_membership(request.user, request.GET.get("seller"))
    return render(request, "sellers/replies.html", {
        "seller": membership.seller, "membership": membership, "memberships": memberships,
        "replies": replies.replies_of(membership.seller), "may_manage": replies.may_manage(membership),
        "variables": replies.variables(),
    })


def _replies_url(membership: Any) -> str:
    return f'{reverse("sellers:canned_replies")}?seller={membership.seller.slug}'


def _reply_form_page(request: AuthenticatedHttpRequest, membership: Any, memberships: list[Any], form: CannedReplyForm,
                     reply: Any = None, status: int = 200) -> HttpResponse:
    return render(request, "sellers/reply_form.html", {
        "seller": membership.seller, "membership": membership, "memberships": memberships, "form": form,
        "reply": reply}, status=status)


def _save_reply(request: AuthenticatedHttpRequest, membership: Any, memberships: list[Any],
                reply: Any = None) -> HttpResponse:
    """Show the form (GET) or save it through claims.seller.replies (POST): back to the list, or the form with its
    errors and nothing saved."""
    if not replies.may_manage(membership):
        raise PermissionDenied
    if request.method != "POST":
        initial = {"title": reply.title, "body": reply.body} if reply is not None else {}
        return _reply_form_page(request, membership, memberships, CannedReplyForm(initial=initial), reply)
    form = CannedReplyForm(request.POST)
    if form.is_valid():
        try:
            saved = replies.save_reply(membership=membership, by=request.user, reply=reply, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The reply “%(title)s” was saved.") % {"title": saved.title})
            return redirect(_replies_url(membership))
    return _reply_form_page(request, membership, memberships, form, reply, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def canned_reply_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership, memberships = current_membership(request.user, request.GET.get("seller"))
    return _save_reply(request, membership, memberships)


@login_required
@require_http_methods(["GET", "POST"])
def canned_reply_edit(request: AuthenticatedHttpRequest, reply_id: int) -> HttpResponse:
    reply, membership = replies.reply_for(request.user, reply_id)
    return _save_reply(request, membership, memberships_of(request.user), reply)


@login_required
@require_http_methods(["GET", "POST"])
def canned_reply_delete(request: AuthenticatedHttpRequest, reply_id: int) -> HttpResponse:
    """Asks first (GET, so it works without JavaScript), deletes on POST."""
    reply, membership = replies.reply_for(request.user, reply_id)
    if not replies.may_manage(membership):
        raise PermissionDenied
    if request.method == "POST":
        replies.delete_reply(membership=membership, reply=reply)
        messages.success(request, _("The reply “%(title)s” was deleted.") % {"title": reply.title})
        return redirect(_replies_url(membership))
    return render(request, "sellers/reply_delete.html", {
        "seller": membership.seller, "membership": membership, "memberships": memberships_of(request.user),
        "reply": reply})

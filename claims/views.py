"""Buyer pages of a claim. Views validate input with forms, call one service, and turn its ClaimError into a
message; every state change is a POST. Other people's claims are 404s."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import ratelimit
from core.after_response import after_response
from core.http import AuthenticatedHttpRequest
from core.ranges import ranged_file_response
from core.signed_links import SignedLinkError
from orders.models import Order

from . import experts, satisfaction, selectors, services
from . import offers as offer_words
from .abilities import BUYER_ACTIONS, abilities
from .choices import ClaimState, Reason
from .eligibility import (
    ItemEligibility,
    dispute_window_ends_on,
    order_eligibility,
    receipt_date,
    special_claims_until,
    trial_ends_on,
    warranty_ends_on,
)
from .errors import ClaimError
from .forms import (
    NOT_COVERED,
    AppealForm,
    EscalateForm,
    GetHelpForm,
    InfoForm,
    MessageForm,
    SatisfactionForm,
    WarrantyRightsForm,
)
from .models import Evidence, Offer
from .offer_forms import CounterOfferForm, DeclineOfferForm
from .policy import Policy, policy_for_order
from .presenters import policy_of
from .remedies import remedies_for
from .resolution import written_resolution
from .retention import purged_words
from .what_now import buyer_what_now

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .abilities import Ability
    from .models import Claim


@login_required
def get_help(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    order = selectors.buyer_order(request.user, number)
    if request.method == "POST" and not ratelimit.hit(
            "open-claim", str(request.user.pk), limit=settings.OPEN_CLAIM_RATE_LIMIT,
            window_seconds=settings.OPEN_CLAIM_RATE_WINDOW_SECONDS):
        return ratelimit.too_many(request, _(
            "You have sent many claims in a short time. Please wait a while and try again; "
            "if something urgent is wrong, write to us from an existing claim."))
    policy = policy_for_order(order)
    form = GetHelpForm(request.POST or None, request.FILES or None, order=order, policy=policy,
                       eligibility=_eligibility(order, policy), chosen_item=request.GET.get("item"))
    if request.method == "POST" and form.is_valid():
        try:
            claim = services.open_claim(
                order=order, buyer=request.user, reason=form.cleaned_data["reason"],
                description=form.cleaned_data["description"], desired_outcome=form.cleaned_data["desired_outcome"],
                items=form.chosen_items(), discovered_on=form.cleaned_data.get("discovered_on"),
                evidence=form.evidence(), collect_in_person=form.wants_collection(),
                same_defect=form.chosen_same_defect(),
            )
        except ClaimError as error:
            form.add_error(None, error)
        else:
            request.session["receipt_for"] = claim.number
            return redirect("claims:detail", number=claim.number)
    status = 400 if request.method == "POST" else 200
    return render(request, "claims/get_help.html", {"order": order, "form": form, "not_covered": NOT_COVERED},
                  status=status)


@login_required
@require_GET
def claim_detail(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    claim = selectors.claim_for_buyer(request.user, number)
    show_receipt = request.session.pop("receipt_for", None) == claim.number
    response = render(request, "claims/detail.html", _detail_context(request, claim, show_receipt=show_receipt))
    return after_response(response, services.mark_seen, claim=claim, by=request.user, at=timezone.now())


def _detail_context(request: AuthenticatedHttpRequest, claim: Claim, **extra: Any) -> dict[str, Any]:
    can = abilities(claim, request.user, BUYER_ACTIONS)
    return {
        # Expert assessments exist for warranty claims only (claims.abilities): no query for the others.
        "assessments": [(a, experts.result_sentence(a), experts.costs_due_sentence(a), experts.costs_total(a))
                        for a in experts.claim_assessments(claim)] if claim.reason == Reason.DEFECTIVE else [],
        "expert_help": experts.expert_request_help(policy_of(claim).expert_costs_days)
        if can["request_expert_assessment"].allowed else "",
        "claim": claim,
        "deadline": selectors.buyer_deadline(claim),
        "refunds": [(refund, selectors.refund_sentence(refund)) for refund in claim.refunds.all()],
        "timeline": selectors.timeline(claim),
        # what the buyer must act on, the question asked, what happens next (claims.what_now)
        "what_now": buyer_what_now(claim, can),
        **_offer_section(claim, request.user, can),
        "can": can,
        "message_form": MessageForm(),
        "info_form": InfoForm() if can["provide_info"].allowed else None,
        "escalate_form": EscalateForm(),
        # the warranty-claim clock, the buyer's choice past its maximum and the goods waiting for collection
        "warranty_clock": selectors.warranty_clock_status(claim, to_buyer=True),
        "rights_form": WarrantyRightsForm() if can["exercise_warranty_rights"].allowed else None,
        "collection": selectors.collection_status(claim),
        # a defective claim: its type of defect and what the buyer is entitled to (claims.remedies)
        "remedies": remedies_for(claim),
        **extra,
    }


def _back(claim_number: str) -> HttpResponse:
    return redirect(reverse("claims:detail", kwargs={"number": claim_number}) + "#what-now")


def _run(request: AuthenticatedHttpRequest, number: str, action: Callable[[], object], success: str) -> HttpResponse:
    try:
        action()
    except ClaimError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    return _back(number)


def _form_or_error(request: AuthenticatedHttpRequest, claim: Claim, form: forms.Form) -> HttpResponse | None:
    """Re-render the claim page with the form's errors (status 400), or None if the form is valid."""
    if form.is_valid():
        return None
    context = _detail_context(request, claim)
    context["info_form" if isinstance(form, InfoForm) else "message_form"] = form
    return render(request, "claims/detail.html", context, status=400)


# A refusal by the claim's quotas (claims.quotas) is one the person can get past by waiting or sending fewer files: the
# page keeps what they wrote, with the refusal at the form (the hourly quota answered as a 429, like the API).
KEPT_REFUSALS = {"message_quota": 429, "file_quota": 400}


def _send(request: AuthenticatedHttpRequest, number: str, form: forms.Form, send: Callable[[], object],
          success: str) -> HttpResponse:
    """Run the service of a message form: back to the claim with the confirmation, or the refusal as other refusals
    are shown, or (a quota) the page again with the form, its text kept and the refusal at it."""
    try:
        send()
    except ClaimError as error:
        if error.code not in KEPT_REFUSALS:
            messages.error(request, str(error))
            return _back(number)
        form.add_error(None, error)
        context = _detail_context(request, selectors.claim_for_buyer(request.user, number))
        context["info_form" if isinstance(form, InfoForm) else "message_form"] = form
        return render(request, "claims/detail.html", context, status=KEPT_REFUSALS[error.code])
    messages.success(request, success)
    return _back(number)


@login_required
@require_POST
def post_message(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    claim = selectors.claim_for_buyer(request.user, number)
    form = MessageForm(request.POST, request.FILES)
    if (invalid := _form_or_error(request, claim, form)) is not None:
        return invalid
    return _send(request, number, form, lambda: services.post_message(
        claim=claim, by=request.user, body=form.cleaned_data["body"], attachments=form.cleaned_data["attachments"]),
        _("Your message was sent."))


@login_required
@require_POST
def provide_info(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    claim = selectors.claim_for_buyer(request.user, number)
    form = InfoForm(request.POST, request.FILES)
    if (invalid := _form_or_error(request, claim, form)) is not None:
        return invalid
    return _send(request, number, form, lambda: services.provide_info(
        claim=claim, by=request.user, body=form.cleaned_data["body"], attachments=form.cleaned_data["attachments"]),
        _("Thank you: your answer was passed to our support team."))


def _buyer_offer(request: AuthenticatedHttpRequest, number: str, offer_id: int) -> Offer:
    claim = selectors.claim_for_buyer(request.user, number)
    return get_object_or_404(Offer, pk=offer_id, claim=claim)


@login_required
@require_POST
def accept_offer(request: AuthenticatedHttpRequest, number: str, offer_id: int) -> HttpResponse:
    offer = _buyer_offer(request, number, offer_id)
    return _run(request, number, lambda: services.accept_offer(offer=offer, by=request.user),
                _("You accepted the offer."))


def _offer_section(claim: Claim, user: User, can: dict[str, Ability], **bound: Any) -> dict[str, Any]:
    """The pending offer (the seller's or the platform's to answer, or the buyer's own counter-offer waiting), the
    forms to decline or counter it, and what declining means, in the escalate button's words (claims.offers)."""
    offer = selectors.pending_offer(claim)
    counter_form = bound.get("counter_form")
    if counter_form is None and can["counter_offer"].allowed:
        countered = offer.pk if offer is not None else None
        counter_form = CounterOfferForm(claim=claim, countering=countered is not None,
                                        initial={"countered": countered})
    return {
        "offer": offer,
        "decline_form": bound.get("decline_form") or DeclineOfferForm(),
        "counter_form": counter_form,
        "if_you_decline": offer_words.if_you_decline(claim, user) if can["decline_offer"].allowed else "",
    }


@login_required
@require_POST
def decline_offer(request: AuthenticatedHttpRequest, number: str, offer_id: int) -> HttpResponse:
    offer = _buyer_offer(request, number, offer_id)
    form = DeclineOfferForm(request.POST)
    if not form.is_valid():
        claim = selectors.claim_for_buyer(request.user, number)
        context = _detail_context(request, claim)
        context.update(_offer_section(claim, request.user, context["can"], decline_form=form))
        return render(request, "claims/detail.html", context, status=400)
    try:
        services.decline_offer(offer=offer, by=request.user, reason=form.cleaned_data["reason"])
    except ClaimError as error:
        messages.error(request, str(error))
    else:
        claim = selectors.claim_for_buyer(request.user, number)  # as it is now: what may the buyer do next
        messages.success(request, offer_words.after_decline(claim, request.user))
    return _back(number)


@login_required
@require_POST
def counter_offer(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    """The buyer's counter-offer to the seller: in place of the seller's pending offer it saw (`countered`), or after
    declining one. A refusal shows the page again with the form and its error, nothing changed."""
    claim = selectors.claim_for_buyer(request.user, number)
    form = CounterOfferForm(request.POST, claim=claim, countering=bool(request.POST.get("counter-countered")))
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        countered = get_object_or_404(Offer, pk=data["countered"], claim=claim) if data["countered"] else None
        try:
            services.counter_offer(claim=claim, by=request.user, kind=data["kind"], amount=data["amount"],
                                   note=data["note"], reason=data.get("reason", ""), countered=countered)
        except ClaimError as error:
            if error.code in ("state", "forbidden", "conflict"):  # the claim or the offer moved on since
                messages.error(request, str(error))
                return _back(number)
            form.add_error(None, error)
            status = KEPT_REFUSALS.get(error.code or "", 400)  # the hourly quota: 429, as for a message
        else:
            messages.success(request, _("Your counter-offer was sent to the seller, who can accept or decline it."))
            return _back(number)
    claim = selectors.claim_for_buyer(request.user, number)
    context = _detail_context(request, claim)
    context.update(_offer_section(claim, request.user, context["can"], counter_form=form))
    return render(request, "claims/detail.html", context, status=status)


@login_required
@require_POST
def escalate(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    claim = selectors.claim_for_buyer(request.user, number)
    form = EscalateForm(request.POST)
    if not form.is_valid():
        return render(request, "claims/detail.html", _detail_context(request, claim, escalate_form=form), status=400)
    reason = form.cleaned_data["reason"]
    return _run(request, number, lambda: services.escalate(claim=claim, by=request.user, reason=reason),
                _("Our support team now handles your claim. We will tell you what happens next."))


@login_required
@require_POST
def exercise_warranty_rights(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    claim = selectors.claim_for_buyer(request.user, number)
    form = WarrantyRightsForm(request.POST)
    if not form.is_valid():
        return render(request, "claims/detail.html", {**_detail_context(request, claim), "rights_form": form},
                      status=400)
    return _run(request, number, lambda: services.exercise_warranty_rights(
        claim=claim, by=request.user, choice=form.cleaned_data["choice"]),
        _("Your choice was recorded and your claim is resolved."))


@login_required
@require_POST
def close(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    claim = selectors.claim_for_buyer(request.user, number)
    return _run(request, number, lambda: services.close(claim=claim, by=request.user),
                _("You closed the claim. Thank you for letting us know."))


@login_required
@require_POST
def request_expert(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    claim = selectors.claim_for_buyer(request.user, number)
    return _run(request, number, lambda: services.request_expert_assessment(claim=claim, by=request.user),
                _("You asked for an expert assessment. Our support team will tell you where to send the item."))


@login_required
@require_POST
def appeal(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    """The buyer appeals the platform's decision (claims.services.appeal), with a reason."""
    claim = selectors.claim_for_buyer(request.user, number)
    form = AppealForm(request.POST)
    if not form.is_valid():
        return render(request, "claims/detail.html", _detail_context(request, claim, appeal_form=form), status=400)
    return _run(request, number, lambda: services.appeal(claim=claim, by=request.user,
                                                         reason=form.cleaned_data["reason"]),
                _("Your appeal was sent. Another member of our support team will look at the claim again."))


@login_required
@require_GET
def resolution(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    """The written resolution, printable: the same content as the buyer's resolution email (claims.resolution)."""
    claim = selectors.claim_for_buyer(request.user, number)
    return render(request, "claims/resolution.html", {
        "claim": claim, "resolution": written_resolution(claim), "back_url": reverse(
            "claims:detail", kwargs={"number": claim.number})})


@login_required
@require_GET
def evidence_file(request: AuthenticatedHttpRequest, pk: int, variant: str = "file") -> HttpResponseBase:
    """Evidence is never on a public URL: this view streams it to the claim's buyer, the seller's staff and
    agents, with headers that stop a browser from running anything in it."""
    return serve_evidence(request, selectors.evidence_for_viewer(request.user, pk), variant)


def serve_evidence(request: HttpRequest, evidence: Evidence, variant: str = "file") -> HttpResponseBase:
    """An evidence file (or its thumbnail) the caller has authorized the viewer for, with the headers that keep a
    browser from running anything in it: the pages' evidence view and the API's download. A file deleted after the
    retention period or at its uploader's request (claims.retention) is 410 Gone, with a page that says why."""
    if evidence.purged_at is not None:
        return render(request, "claims/evidence_gone.html", {"words": purged_words(evidence)}, status=410)
    field = evidence.thumbnail if variant == "thumbnail" and evidence.thumbnail else evidence.file
    content_type = "image/jpeg" if field is evidence.thumbnail else evidence.content_type
    # A video is played in ranges (Safari plays nothing without them); its poster is the thumbnail.
    response = ranged_file_response(request, field, content_type)
    extension = ".jpg" if field is evidence.thumbnail else evidence.extension
    response["Content-Disposition"] = f'inline; filename="evidence-{evidence.pk}{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


# --- the buyer's orders ------------------------------------------------------------------------------------

ORDERS_PER_PAGE = 20


@login_required
@require_GET
def order_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = Paginator(selectors.buyer_orders(request.user), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "orders/list.html", {"page": page})


def _eligibility(order: Order, policy: Policy) -> list[ItemEligibility]:
    """Each item's reasons now, or the claim open on it (claims.eligibility): the order page and Get help show the
    answer open_claim gives, before anything is typed."""
    return order_eligibility(order, now=timezone.now(), policy=policy, trial_days=order.seller.trial_days,
                             open_claims=selectors.open_claims_by_item(order))


@login_required
@require_GET
def order_detail(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    order = selectors.buyer_order(request.user, number)
    policy = policy_for_order(order)
    received_on = receipt_date(order, policy=policy)
    trial_days = order.seller.trial_days
    eligibility = _eligibility(order, policy)
    items = [
        {"item": row.item, "warranty_until": warranty_ends_on(row.item, received_on),
         "trial_until": None if row.item.is_digital else trial_ends_on(row.item, received_on, trial_days=trial_days),
         # perishable or expiry-dated: the last day for a defective, wrong or not-as-described claim
         "claims_until": special_claims_until(row.item, received_on), "eligibility": row}
        for row in eligibility
    ]
    return render(request, "orders/detail.html", {
        "order": order, "items": items, "received_on": received_on, "today": timezone.localdate(),
        "window_ends_on": dispute_window_ends_on(order, policy=policy),
        "claimable": any(row.claimable for row in eligibility),
    })


# --- the satisfaction survey (claims.satisfaction): a signed link, no login ----------------------------------


@require_http_methods(["GET", "POST"])
def satisfaction_survey(request: HttpRequest, token: str) -> HttpResponse:
    """The survey of a resolved claim for the party its link was sent to. Opening it (also from the email's one-click
    rating links) stores nothing; sending the form does, once per claim and party. A changed or expired link gets
    400, a link whose claim or person no longer matches 404, each with a page that says so."""
    try:
        link = satisfaction.read_token(token)
        claim = satisfaction.survey_claim(link)
    except SignedLinkError as refused:
        return render(request, "claims/satisfaction.html", {"refused": refused.code},
                      status=404 if refused.code == "foreign" else 400)
    answer = satisfaction.answer_of(claim, link.party)
    status = 200
    if answer is None and request.method == "POST":
        form = SatisfactionForm(request.POST)
        if form.is_valid():
            try:
                services.record_satisfaction(claim=claim, party=link.party, rating=form.cleaned_data["rating"],
                                             comment=form.cleaned_data["comment"])
            except ClaimError as error:
                if error.code != "conflict":
                    form.add_error(None, error)
                answer = satisfaction.answer_of(claim, link.party)  # answered meanwhile: the first answer counts
            else:
                return redirect(f"{request.path}?answered=1")
        if answer is None:
            status = 400
    else:
        chosen = request.GET.get("rating", "")
        form = SatisfactionForm(initial={"rating": int(chosen)} if chosen in {str(n) for n in satisfaction.RATINGS}
                                else None)
    return render(request, "claims/satisfaction.html", {
        "claim": claim, "party": link.party, "form": form, "answer": answer,
        "answer_label": satisfaction.rating_label(answer.rating) if answer else "",
        "just_answered": answer is not None and request.method == "GET" and request.GET.get("answered") == "1",
        "reopened": claim.state != ClaimState.RESOLVED, "comment_max": satisfaction.COMMENT_MAX_LENGTH,
    }, status=status)

"""The return's pages: the printable return slip (the claim's buyer, the seller's staff and agents; everyone else a
404) and the buyer's return tracking. Rules in claims.returns, actions in claims.services.returns."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.http import AuthenticatedHttpRequest

from . import return_slip, returns, selectors, services
from .errors import ClaimError
from .forms import ReturnTrackingForm
from .models import Claim
from .views import _detail_context

# A refused action answers with the page and the reason; the status says what kind of refusal it was.
ERROR_STATUS = {"forbidden": 403, "state": 409, "conflict": 409}


@login_required
@require_GET
def slip(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    """The return slip as a PDF download, for whoever may see the claim (Claim.objects.visible_to)."""
    claim = get_object_or_404(Claim.objects.visible_to(request.user).select_related("order", "seller"),
                              number=number)
    ret = returns.latest_return(claim)
    if not returns.slip_available(ret):
        raise Http404
    response = HttpResponse(return_slip.render(ret), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="return-slip-{ret.rma_number}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def add_tracking(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    """The buyer's return parcel: its carrier and tracking number. Refused or invalid, the claim page comes back with
    the form's errors and nothing changed."""
    claim = selectors.claim_for_buyer(request.user, number)
    form = ReturnTrackingForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.add_return_tracking(claim=claim, by=request.user, carrier=form.cleaned_data["carrier"],
                                         tracking_number=form.cleaned_data["tracking_number"])
        except ClaimError as error:
            form.add_error(None, error)
            status = ERROR_STATUS.get(error.code or "", 400)
        else:
            messages.success(request, _("Thank you: the seller is told that the item is on its way."))
            return redirect(reverse("claims:detail", kwargs={"number": number}) + "#return")
    claim = selectors.claim_for_buyer(request.user, number)
    return render(request, "claims/detail.html", _detail_context(request, claim, return_form=form), status=status)

"""Recording a payment-provider dispute (a chargeback, a PayPal dispute) in the console."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _

from core.console import ConsoleMixinBase

from .. import services
from ..admin_forms import ProviderDisputeForm
from ..models import Claim


class DisputeMixin(ConsoleMixinBase):
    """For ClaimAdmin: the page that records a payment-provider dispute as a claim."""

    if TYPE_CHECKING:
        def has_record_dispute_permission(self, request: HttpRequest) -> bool: ...  # ClaimAdmin's

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

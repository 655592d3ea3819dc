"""The return part of the buyer's and the seller's claim pages and of the console's claim page
(templates/claims/_return.html, sellers/_return.html, admin/claims/claim/_return.html): the claim's return
authorization and its words (claims.returns, claims.presenters). Whether the buyer may enter tracking is
claims.abilities' `add_return_tracking`, which the buyer's page already has."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django import template

from .. import presenters, returns
from ..choices import ClaimState
from ..forms import ReturnTrackingForm
from ..models import Claim, ReturnAuthorization

register = template.Library()


@dataclasses.dataclass(frozen=True)
class ReturnPanel:
    ret: ReturnAuthorization
    stage: str  # claims.returns: to_send, in_transit, delivered, or "" (not awaiting the goods)
    postage: str
    send_due: dt.datetime | None  # the buyer's ship deadline while the goods are to be sent
    confirm_due: dt.datetime | None  # the seller's deadline once they were delivered
    slip: bool  # a slip may be printed (not for an expired or cancelled return)
    # authorized, send_due, shipped, delivered, confirm_due, received: said in the claim's market zone
    moments: dict[str, str]


@register.simple_tag
def return_panel(claim: Claim, viewer: str = "buyer") -> ReturnPanel | None:
    """The claim's latest return in the viewer's words ("buyer", "seller" or "agent"); None when it has none."""
    ret = returns.latest_return(claim)
    if ret is None or (claim.state == ClaimState.RESOLVED and viewer != "agent"):
        return None  # once resolved, the timeline and the written resolution tell the parties what became of it
    stage = returns.stage(claim)
    send_due = claim.return_due_at if stage == returns.TO_SEND else None
    confirm_due = claim.return_confirm_due_at if stage == returns.DELIVERED else None
    moments = {name: presenters.return_moment(at, claim) for name, at in (
        ("authorized", ret.created_at), ("send_due", send_due), ("shipped", ret.shipped_at),
        ("delivered", ret.delivered_at), ("confirm_due", confirm_due), ("received", ret.received_at))
        if at is not None}
    return ReturnPanel(ret=ret, stage=stage,
                       postage=presenters.postage_words(ret.postage_paid_by, to_buyer=viewer == "buyer"),
                       send_due=send_due, confirm_due=confirm_due, slip=returns.slip_available(ret), moments=moments)


@register.simple_tag
def return_tracking_form(bound: ReturnTrackingForm | None = None) -> ReturnTrackingForm:
    """The form the page was sent back with (its errors), or an empty one."""
    return bound if isinstance(bound, ReturnTrackingForm) else ReturnTrackingForm()

"""The appeal part of the buyer's and the seller's claim pages (templates/claims/_appeal.html, sellers/_appeal.html):
the claim's appeal and its words (claims.appeals). Whether an appeal may be filed is claims.abilities' `appeal`, which
the pages already have."""

from __future__ import annotations

import datetime as dt

from django import template

from .. import appeals
from ..choices import AppealStatus
from ..forms import AppealForm
from ..models import Appeal, Claim

register = template.Library()


@register.simple_tag
def appeal_of(claim: Claim) -> Appeal | None:
    """The claim's appeal (no query for a claim the platform never decided)."""
    return appeals.appeal_of(claim)


@register.simple_tag
def appeal_form(bound: AppealForm | None = None) -> AppealForm:
    """The form the page was sent back with (its errors), or an empty one."""
    return bound if isinstance(bound, AppealForm) else AppealForm()


@register.simple_tag
def appeal_until(claim: Claim) -> str:
    """"You can appeal until Tue 14 Dec, 10:00 CET.", in the claim's market zone."""
    return appeals.until_sentence(claim)


@register.simple_tag
def appeal_closes_at(claim: Claim) -> dt.datetime | None:
    return appeals.closes_at(claim)


@register.simple_tag
def appeal_words(appeal: Appeal) -> dict[str, str]:
    """Who appealed, the decision appealed against, where the appeal stands, and the new decision if it changed."""
    claim = appeal.claim
    return {"appellant": appeals.appellant_words(appeal), "first": appeals.first_decision_words(appeal),
            "status": appeals.status_words(appeal),
            # the decision on appeal, when it changed the first one
            "now": appeals.decision_words(claim.outcome, claim.funded_by, claim.refund_amount, claim.denial_reason,
                                          claim.currency) if appeal.status == AppealStatus.CHANGED else ""}

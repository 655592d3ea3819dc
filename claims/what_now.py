"""The buyer's claim page leads with what to do now: what the buyer must act on, with its context (the question the
platform asked, the offer made, the return to send, the choice past the warranty claim's maximum), and, when nothing is
the buyer's to do, what happens next and by when. The page shows the actions from claims.abilities; this module only
says which of them the buyer must act on and puts the rest in words."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from core.formatting import moment

from . import deadlines, decision_target, presenters, selectors
from .abilities import Ability
from .choices import WITH_SELLER_STATES, ClaimState, Party
from .models import Claim, ClaimTransition

# What the buyer must act on when it is possible (claims.abilities keys); escalating and closing are choices, not
# something asked of them.
MUST_ACT = ("exercise_warranty_rights", "provide_info", "accept_offer", "decline_offer", "add_return_tracking")


@dataclasses.dataclass(frozen=True)
class WhatNow:
    must_act: bool
    # When nothing is the buyer's to do: what happens next and by when.
    next_step: str
    # The platform's question the buyer must answer (its text is the transition's reason), shown above the answer form.
    question: ClaimTransition | None
    # Why the buyer asked the platform to step in, shown by the status while the platform has the claim for it.
    escalation_reason: str


def buyer_what_now(claim: Claim, can: Mapping[str, Ability], now: dt.datetime | None = None) -> WhatNow:
    """`can`: the buyer's abilities on the claim (claims.abilities.BUYER_ACTIONS)."""
    must_act = (any(can[action].allowed for action in MUST_ACT if action in can)
                or deadlines.buyer_must_act(claim))
    return WhatNow(
        must_act=must_act,
        next_step="" if must_act else next_step(claim, now or timezone.now(),
                                                 may_appeal="appeal" in can and can["appeal"].allowed),
        question=selectors.platform_question(claim, Party.BUYER),
        escalation_reason=selectors.escalation_reason(claim),
    )


def next_step(claim: Claim, now: dt.datetime, *, may_appeal: bool = False) -> str:
    """What happens next on a claim that waits for nobody but the seller or the platform, and by when, in the claim's
    market zone."""
    policy = presenters.policy_of(claim)
    zone = ZoneInfo(policy.time_zone)
    state = claim.state
    if state == ClaimState.RESOLVED and may_appeal:
        return _("This claim is resolved. If you think our decision is wrong, you can appeal it below.")
    if state == ClaimState.RESOLVED:
        return _("This claim is resolved: nothing more happens on it.")
    if state == ClaimState.AWAITING_SELLER and not deadlines.is_overdue(claim.first_reply_due_at, now):
        return _("The seller answers your claim by %(when)s. We tell you by email when they do.") % {
            "when": moment(claim.first_reply_due_at, zone=zone)}
    if state in WITH_SELLER_STATES and claim.resolution_due_at is not None:
        return _("You are working it out with the seller: answer their messages below. If it is not solved by "
                 "%(when)s, we take over.") % {"when": moment(claim.resolution_due_at, zone=zone)}
    if state == ClaimState.AWAITING_INFO and claim.info_due_at is not None:
        return _("We asked the seller for information; they answer by %(when)s. Then we decide your claim.") % {
            "when": moment(claim.info_due_at, zone=zone)}
    if state in (ClaimState.ESCALATED, ClaimState.AWAITING_INFO):
        due = decision_target.current(claim)
        if due is not None and not deadlines.is_overdue(due, now):
            return _("We look at what you and the seller sent us and decide by %(when)s. We email you the "
                     "decision.") % {"when": moment(due, zone=zone)}
        return _("We look at what you and the seller sent us and decide as soon as we can. We email you the "
                 "decision.")
    if state == ClaimState.AWAITING_RETURN:
        return _("The seller confirms that the returned item arrived; then your claim is completed.")
    return ""

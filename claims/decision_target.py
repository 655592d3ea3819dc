"""The platform's decision target (issue 15; SPEC section 3, "platform decision: escalation (or an answer to the
platform) + 2 business days; reminder to the assignee, breach recorded; paused while the platform waits for
information"). One place for the rule: the transitions that hand a claim to the platform set it (claims.models), the
deadlines (claims.deadlines) and the sweep act on it, the pages and the console read it.

- Every time a claim on the platform channel enters `escalated` (the buyer's or an agent's escalation, the take-over
  at a deadline, an answer to the platform's question, the question's deadline passing unanswered, a reopening) it gets
  a fresh target: that moment plus `decision_business_days` (the snapshotted setting CLAIM_DECISION_BUSINESS_DAYS)
  business days of the claim's market, at the same local clock time, weekends and public holidays skipped. Its
  reminder starts afresh with it.
- While the platform waits for information (`awaiting_info`) the target is paused: not due, not shown; the party
  asked has their own deadline. The answer (or its deadline passing) starts a fresh target, not the rest of the old.
- The target applies only while the claim is escalated: once it leaves the platform (decided, an offer accepted, a
  return awaited, resolved) `decision_due_at` is kept as the last target the platform had (the overview counts
  claims with a target), but nothing reads it as due.
- A payment-provider dispute is decided by the provider: no target.
- A breach is recorded once per claim (`decision_breached`, kept as history): the overview counts claims whose
  decision came late, not targets. A later target of the same claim is still reminded and shown, and sorts the queue,
  but its passing is not recorded again.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .calendar import add_business_days
from .choices import Channel, ClaimState
from .policy import Policy

if TYPE_CHECKING:
    from .models import Claim


def has_target(claim: Claim) -> bool:
    """The platform decides this claim (a payment provider decides its own disputes)."""
    return claim.channel == Channel.PLATFORM


def target_from(moment: dt.datetime, policy: Policy) -> dt.datetime:
    """The target of a claim handed to the platform at `moment`, by the claim's own policy snapshot."""
    return add_business_days(moment, policy.decision_business_days, time_zone=policy.time_zone,
                             country=policy.country, subdivision=policy.subdivision)


def start(claim: Claim, at: dt.datetime) -> None:
    """The claim enters `escalated` at `at`: a fresh target and its reminder still to come. Only sets fields; the
    transitions of claims.models call it."""
    if not has_target(claim):
        claim.decision_due_at = None
        claim.decision_reminded_at = None
        return
    claim.decision_due_at = target_from(at, Policy.from_snapshot(claim.policy))
    claim.decision_reminded_at = None


def current(claim: Claim) -> dt.datetime | None:
    """The target that applies now: only while the claim is escalated on the platform channel; None while the
    platform waits for information and once the claim has left the platform."""
    if claim.state != ClaimState.ESCALATED or not has_target(claim):
        return None
    return claim.decision_due_at


def reminder_lead(policy: Policy) -> dt.timedelta | None:
    """How long before the target the assignee is reminded: `reminder_hours` (24 h), but never within the first half
    of the time the platform has, so never before the target was set. A target is at least `decision_business_days`
    × 24 hours (less an hour across a daylight-saving change) after it was set, so half of that is always after it.
    No reminder with a target of 0 business days."""
    whole = dt.timedelta(days=policy.decision_business_days)
    if whole <= dt.timedelta(0):
        return None
    return min(dt.timedelta(hours=policy.reminder_hours), whole / 2)


def reminder_at(claim: Claim, policy: Policy) -> dt.datetime | None:
    """When the assignee is reminded of the current target; None once reminded (or breached) and with no target."""
    due = current(claim)
    lead = reminder_lead(policy)
    if due is None or lead is None or claim.decision_reminded_at is not None:
        return None
    return due - lead

"""Sentences for people that carry a policy number: hours to reply, business days to resolve, days to answer.

The number comes from the claim's policy snapshot (`policy_of(claim)`) or, where no claim exists yet (the footer
outside a claim, the get-help form, the performance page), from the current settings (`current_policy()`). Every
sentence is an ngettext with the number as a placeholder: a changed setting changes the words, and no msgid holds
a number. The emails' words stay in `claims.notifications.EVENTS` and take their numbers from `terms()`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy

from .policy import Policy, current_policy


def policy_of(claim: Any) -> Policy:
    """The policy the claim was opened under; the current one where there is no claim (None)."""
    return Policy.from_snapshot(claim.policy) if claim is not None else current_policy()


# --- phrases of sentences with two numbers ------------------------------------------------------------------


def hours(count: int) -> str:
    return ngettext("%(count)d hour", "%(count)d hours", count) % {"count": count}


def business_days(count: int) -> str:
    return ngettext("%(count)d business day", "%(count)d business days", count) % {"count": count}


def within_hours(count: int) -> str:
    return ngettext("within %(count)d hour", "within %(count)d hours", count) % {"count": count}


def within_business_days(count: int) -> str:
    return ngettext("within %(count)d business day", "within %(count)d business days", count) % {"count": count}


def terms(policy: Policy) -> dict[str, Any]:
    """The policy's numbers under the names the counted msgids use, e.g.
    `ngettext_lazy("... %(reply_hours)d hour", "... %(reply_hours)d hours", "reply_hours") % terms(policy)`,
    and the phrases of the sentences with two numbers. Call it in the reader's language."""
    return {
        "reply_hours": policy.first_reply_hours,
        "resolve_days": policy.resolution_business_days,
        "info_days": policy.info_days,
        "final_days": policy.hard_deadline_days,
        "reminder_hours": policy.reminder_hours,
        "reply_within": within_hours(policy.first_reply_hours),
        "resolve_within": within_business_days(policy.resolution_business_days),
    }


# --- pages and forms ----------------------------------------------------------------------------------------


def buyer_protection(policy: Policy) -> str:
    days = policy.resolution_business_days
    return ngettext(
        "Buyer protection: if the seller doesn't respond within %(count)d business day or rejects a justified "
        "claim, we take over.",
        "Buyer protection: if the seller doesn't respond within %(count)d business days or rejects a justified "
        "claim, we take over.", days) % {"count": days}


def get_help_intro(seller: str, policy: Policy) -> str:
    return _("Tell us what went wrong. We pass it to %(seller)s, who has %(reply)s to reply and %(resolve)s to "
             "solve it; after that we step in.") % {
        "seller": seller, "reply": hours(policy.first_reply_hours),
        "resolve": business_days(policy.resolution_business_days)}


def defective_reason_help(policy: Policy) -> str:
    months = policy.defect_report_months
    return ngettext(
        "It stopped working or does not work as promised, within the warranty. Report it within one month of "
        "noticing.",
        "It stopped working or does not work as promised, within the warranty. Report it within %(count)d months "
        "of noticing.", months) % {"count": months}


def defect_report_help(policy: Policy) -> str:
    months = policy.defect_report_months
    return ngettext("Only for defects. Defects must be reported within one month.",
                    "Only for defects. Defects must be reported within %(count)d months.", months) % {"count": months}


def escalation_opens(when: str, policy: Policy) -> str:
    """Why the buyer cannot ask the platform yet: before the first-reply deadline, unless the seller rejects."""
    count = policy.first_reply_hours
    return ngettext(
        "You can ask us to step in from %(when)s (%(count)d hour after you opened the claim), or at once if the "
        "seller rejects it.",
        "You can ask us to step in from %(when)s (%(count)d hours after you opened the claim), or at once if the "
        "seller rejects it.", count) % {"when": when, "count": count}


def info_question_help(policy: Policy) -> str:
    days = policy.info_days
    return ngettext(
        "Sent to that party by email and shown on the claim. They have %(count)d calendar day to answer.",
        "Sent to that party by email and shown on the claim. They have %(count)d calendar days to answer.",
        days) % {"count": days}


def first_replies_label(policy: Policy) -> str:
    """The performance tile's label. Each claim counts against its own snapshot's deadline; the label names the
    current one."""
    count = policy.first_reply_hours
    return ngettext("first replies within %(count)d hour", "first replies within %(count)d hours",
                    count) % {"count": count}


# --- the timeline -------------------------------------------------------------------------------------------

TRANSITION_WORDS = {  # lazy: rendered in the language of each request, not of the import
    "open": gettext_lazy("Claim opened"),
    "reply": gettext_lazy("The seller replied"),
    "reject": gettext_lazy("The seller rejected the claim"),
    "accept_offer": gettext_lazy("Offer accepted"),
    "escalate": gettext_lazy("Passed to the platform"),
    "take_over": gettext_lazy("The platform took over"),
    "request_info": gettext_lazy("Information requested"),
    "provide_info": gettext_lazy("Information provided"),
    "info_timeout": gettext_lazy("Information not provided in time"),
    "decide": gettext_lazy("The platform decided"),
    "receive_return": gettext_lazy("Returned item received"),
    "close": gettext_lazy("Closed by the buyer"),
    "mark_delivered": gettext_lazy("Closed: delivered according to tracking"),
    "force_refund": ngettext_lazy("Full refund after %(final_days)d day", "Full refund after %(final_days)d days",
                                  "final_days"),
    "reopen": gettext_lazy("Reopened by the platform"),
    "first_reply_breach": ngettext_lazy("The seller missed the %(reply_hours)d-hour reply deadline",
                                        "The seller missed the %(reply_hours)d-hour reply deadline", "reply_hours"),
    "record_provider_dispute": gettext_lazy("Payment-provider dispute recorded"),
    "record_provider_verdict": gettext_lazy("Payment-provider verdict recorded"),
}


def transition_words(name: str, policy: Policy) -> str:
    """A logged transition in words, with the numbers of the claim's own policy."""
    words = TRANSITION_WORDS.get(name)
    return str(words % terms(policy)) if words is not None else name

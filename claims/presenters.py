"""Sentences for people that carry a policy number: hours to reply, business days to resolve, days to answer.

The number comes from the claim's policy snapshot (`policy_of(claim)`) or, where no claim exists yet (the footer
outside a claim, the get-help form, the performance page), from the current settings (`current_policy()`). Every
sentence is an ngettext with the number as a placeholder: a changed setting changes the words, and no msgid holds
a number. The emails' words stay in `claims.notifications.EVENTS` and take their numbers from `terms()`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy

from core import formatting

from .choices import DenialReason
from .policy import Policy, current_policy
from .policy import policy_of as read_policy

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


def policy_of(claim: Any) -> Policy:
    """The policy the claim was opened under; the current one where there is no claim (None)."""
    return read_policy(claim) if claim is not None else current_policy()


def long_date(day: dt.date | None) -> str:
    """A last day as people say it, with its weekday: "Tuesday, March 3, 2026", "Dienstag, 3. März 2026"
    (core.formatting.long_day)."""
    return formatting.long_day(day)


# --- what buyer protection does not cover -------------------------------------------------------------------

# Each denial reason (SPEC section 4's exclusions, and the refurbished-goods warranty conditions' "The scope of the
# warranty does not extend to") in the buyer's words: the Get help page lists them before a claim is submitted
# (NOT_COVERED_REASONS), and the decision page, email and console say the same sentence when a claim is denied.
DENIAL_WORDS: dict[str, StrPromise] = {
    DenialReason.DAMAGE_AFTER_RECEIPT: gettext_lazy(
        "Damage caused after receipt: drops, liquid, unapproved chargers, third-party repair, rooting or jailbreak."),
    DenialReason.NORMAL_WEAR: gettext_lazy("Normal wear within the grade you bought."),
    DenialReason.TRANSPORT_DAMAGE: gettext_lazy(
        "Transport damage when the seller packed properly (claim it with the carrier)."),
    DenialReason.ALTERED_OR_USED: gettext_lazy("Items altered or used after receipt."),
    DenialReason.AS_DESCRIBED: gettext_lazy("Items that match the listing but did not meet your expectations."),
    DenialReason.POSTAGE_DISPUTE: gettext_lazy("Disputes about postage costs."),
    DenialReason.OFF_PLATFORM: gettext_lazy("Purchases paid outside this marketplace."),
    DenialReason.BATTERY_WEAR: gettext_lazy(
        "Battery wear while the battery still performs within the manufacturer's specification."),
    DenialReason.FRAGILE_PARTS: gettext_lazy("Damage to fragile parts such as glass, displays and lenses."),
    DenialReason.EXPANDABLE_PARTS: gettext_lazy(
        "Expandable parts, such as memory cards or caps for cameras and lenses."),
    DenialReason.COSMETIC_WEAR: gettext_lazy(
        "Cosmetic wear within the grade you bought that does not affect how the item works."),
    DenialReason.DEFECT_COMPENSATED: gettext_lazy(
        "A defect for which you already received a price discount: it cannot be claimed again."),
    DenialReason.CONSUMABLE_LIFETIME: gettext_lazy(
        "Consumables (batteries, bulbs, cartridges and the like) used beyond their stated lifetime."),
    DenialReason.CHANGE_OF_MIND: gettext_lazy(
        "A change of mind: that is the statutory right of withdrawal, which you exercise with the seller."),
    DenialReason.PROOF_OF_DELIVERY: gettext_lazy(
        "The seller proved that the order was delivered to your address on time."),
    DenialReason.NO_PARTICIPATION: gettext_lazy("The information we asked you for did not reach us in time."),
    DenialReason.EXPERT_UNJUSTIFIED: gettext_lazy("An independent expert found the claim unjustified."),
}
# The exclusions a buyer is warned of before submitting (the rest follow from how a claim went, or, for a change of
# mind, have their own paragraph on the page).
NOT_COVERED_REASONS = [
    DenialReason.DAMAGE_AFTER_RECEIPT, DenialReason.NORMAL_WEAR, DenialReason.COSMETIC_WEAR,
    DenialReason.BATTERY_WEAR, DenialReason.FRAGILE_PARTS, DenialReason.EXPANDABLE_PARTS,
    DenialReason.CONSUMABLE_LIFETIME, DenialReason.DEFECT_COMPENSATED, DenialReason.TRANSPORT_DAMAGE,
    DenialReason.ALTERED_OR_USED, DenialReason.AS_DESCRIBED, DenialReason.POSTAGE_DISPUTE, DenialReason.OFF_PLATFORM,
]


def denial_words(reason: str) -> Any:
    """The buyer's sentence for a denial reason (lazy: rendered in the reader's language); '' for none."""
    return DENIAL_WORDS.get(reason, "") if reason else ""


def not_covered() -> list[Any]:
    return [DENIAL_WORDS[reason] for reason in NOT_COVERED_REASONS]


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
        # The market's warranty-claim clock (claims.warranty_clock); 0 where the law sets none (no such email is sent).
        "warranty_days": policy.warranty_claim_days or 0,
        "warranty_max_days": policy.warranty_claim_max_days or 0,
        "warranty_reminder_days": policy.warranty_reminder_days,
        "sale_months": policy.collection_sale_months,
        "decision_days": policy.decision_business_days,
        # The return of the goods (claims.returns).
        "return_days": policy.return_ship_days,
        "return_confirm_days": policy.return_confirm_business_days,
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
    "decline_offer": gettext_lazy("Offer declined"),
    "counter_offer": gettext_lazy("The buyer made a counter-offer"),
    "accept_counter_offer": gettext_lazy("The seller accepted the counter-offer"),
    "decline_counter_offer": gettext_lazy("The seller declined the counter-offer"),
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
    "appeal_decision": gettext_lazy("The platform's decision was appealed"),
    "decision_breach": gettext_lazy("The platform missed its target for deciding the claim"),
    "classify_defect": gettext_lazy("The defect was classified"),
    "first_reply_breach": ngettext_lazy("The seller missed the %(reply_hours)d-hour reply deadline",
                                        "The seller missed the %(reply_hours)d-hour reply deadline", "reply_hours"),
    "record_provider_dispute": gettext_lazy("Payment-provider dispute recorded"),
    "record_provider_verdict": gettext_lazy("Payment-provider verdict recorded"),
    # Expert assessments (claims.services.experts).
    "start_expert_assessment": gettext_lazy("An expert assessment of the defect started"),
    "request_expert_assessment": gettext_lazy("The buyer asked for an expert assessment"),
    "conclude_expert_assessment": gettext_lazy("The expert assessment concluded"),
    "send_expert_costs": gettext_lazy("The costs of the expert assessment were sent to the buyer"),
    "expert_costs_paid": gettext_lazy("The costs of the expert assessment were paid"),
    # The warranty-claim clock and collection (claims.services.warranty).
    "goods_received": gettext_lazy("The claimed goods reached the seller"),
    "warranty_limit": gettext_lazy("The legal time limit for resolving the warranty claim passed"),
    "warranty_max": ngettext_lazy("The warranty claim's maximum of %(warranty_max_days)d day passed",
                                  "The warranty claim's maximum of %(warranty_max_days)d days passed",
                                  "warranty_max_days"),
    "exercise_warranty_rights": gettext_lazy("The buyer chose a replacement or a refund after the maximum"),
    "collection_ready": gettext_lazy("Ready for collection at the seller"),
    "storage_notice": gettext_lazy("Notice sent: the free storage ended"),
    "sale_notice": gettext_lazy("Notice sent: the seller intends to sell the uncollected goods"),
    "collected": gettext_lazy("Collected by the buyer"),
    # The return of the goods (claims.services.returns).
    "return_shipped": gettext_lazy("The item was sent back"),
    "return_delivered": gettext_lazy("The returned item was delivered to the seller"),
    "return_not_sent": gettext_lazy("Closed: the item was not sent back in time"),
    "refund_unconfirmed_return": gettext_lazy("Refunded by the platform: the seller did not confirm the return in "
                                              "time"),
    "escalate_unconfirmed_return": gettext_lazy("Passed to the platform: the seller did not confirm the return in "
                                                "time"),
}


def transition_words(name: str, policy: Policy) -> str:
    """A logged transition in words, with the numbers of the claim's own policy."""
    words = TRANSITION_WORDS.get(name)
    return str(words % terms(policy)) if words is not None else name


# --- the warranty-claim clock and collection (claims.warranty_clock, claims.collection) -------------------------------
# Moments of these rules are counted in the market's zone, so they are said in it too.


def market_moment(moment: dt.datetime, policy: Policy) -> str:
    """A moment in the claim's market zone, written as every page writes one, with the zone ("Tue 9 Jun, 10:00
    CEST": core.formatting.moment)."""
    from zoneinfo import ZoneInfo

    return formatting.moment(moment, zone=ZoneInfo(policy.time_zone))


def market_day(moment: dt.datetime | dt.date | None, policy: Policy) -> str:
    """A day on the claim's market calendar, written as every page writes one ("Tue 9 Jun")."""
    from zoneinfo import ZoneInfo

    return formatting.day(moment, zone=ZoneInfo(policy.time_zone))


def clock_started(claim: Any) -> str:
    policy = policy_of(claim)
    return _("Started on %(day)s, when the claim and the goods had reached the seller.") % {
        "day": market_day(claim.goods_received_at, policy)}


def clock_limit(claim: Any) -> str:
    """The limit in words: "The time an expert needs to assess the defect does not count" (warranty claim policy)."""
    policy = policy_of(claim)
    days = policy.warranty_claim_days or 0
    return ngettext(
        "To be resolved within %(count)d day, by %(when)s; the time an expert needs to assess the defect does not "
        "count.",
        "To be resolved within %(count)d days, by %(when)s; the time an expert needs to assess the defect does not "
        "count.", days) % {"count": days, "when": market_moment(claim.warranty_due_at, policy)}


def clock_paused(claim: Any) -> str:
    return _("Paused since %(when)s while an expert assesses the defect; the time limit moves on by the pause.") % {
        "when": market_moment(claim.expert_paused_at, policy_of(claim))}


def clock_limit_passed(claim: Any) -> str:
    return _("The time limit passed on %(when)s without a resolution.") % {
        "when": market_moment(claim.warranty_limit_reached_at or claim.warranty_due_at, policy_of(claim))}


def clock_maximum(claim: Any, *, to_buyer: bool = False) -> str:
    policy = policy_of(claim)
    days = policy.warranty_claim_max_days or 0
    values = {"count": days, "when": market_moment(claim.warranty_max_at, policy)}
    if to_buyer:
        return ngettext(
            "In any case within %(count)d day, by %(when)s: otherwise you may choose a replacement or withdraw from "
            "the purchase with a full refund.",
            "In any case within %(count)d days, by %(when)s: otherwise you may choose a replacement or withdraw from "
            "the purchase with a full refund.", days) % values
    return ngettext(
        "In any case within %(count)d day, by %(when)s: otherwise the buyer may choose a replacement or withdrawal "
        "with a full refund.",
        "In any case within %(count)d days, by %(when)s: otherwise the buyer may choose a replacement or withdrawal "
        "with a full refund.", days) % values


def clock_maximum_passed(claim: Any, *, to_buyer: bool) -> str:
    when = market_moment(claim.warranty_max_reached_at or claim.warranty_max_at, policy_of(claim))
    if to_buyer:
        return _("The maximum duration passed on %(when)s: you may now choose a replacement or withdraw from the "
                 "purchase with a full refund.") % {"when": when}
    return _("The maximum duration passed on %(when)s: the buyer may now choose a replacement or withdrawal with a "
             "full refund.") % {"when": when}


def goods_received_detail(claim: Any) -> str:
    """The buyer's email when the seller confirms the goods arrived: when the process started and by when it must
    be resolved (nothing more where the market's law sets no limit)."""
    if claim.goods_received_at is None:
        return ""
    if claim.warranty_due_at is None:
        return _("Received on %(day)s.") % {"day": market_day(claim.goods_received_at, policy_of(claim))}
    lines = [clock_started(claim), clock_limit(claim)]
    if claim.warranty_max_at is not None:
        lines.append(clock_maximum(claim, to_buyer=True))
    return "\n".join(lines)


def warranty_due_detail(claim: Any) -> str:
    if claim.warranty_due_at is None:
        return ""
    return _("To be resolved by %(when)s.") % {"when": market_moment(claim.warranty_due_at, policy_of(claim))}


def storage_terms(claim: Any) -> str:
    """The free storage and the fee after it, for goods waiting at the seller (claims.collection)."""
    from . import collection

    last_free = collection.last_free_day(claim)
    if last_free is None:
        return ""
    policy = policy_of(claim)
    return _("Storage is free until %(day)s. From %(next)s the seller may charge a storage fee of %(fee)s a day, "
             "paid when the item is collected.") % {
        "day": market_day(last_free, policy), "next": market_day(last_free + dt.timedelta(days=1), policy),
        "fee": formatting.money_text(claim.storage_fee_per_day or 0, claim.currency)}


def storage_fee_so_far(claim: Any, on: dt.date) -> str:
    from . import collection

    days = collection.charged_days(claim, on)
    if not days:
        return ""
    return ngettext("Storage fee so far: %(amount)s for %(count)d day.",
                    "Storage fee so far: %(amount)s for %(count)d days.", days) % {
        "amount": formatting.money_text(collection.storage_fee(claim, on), claim.currency), "count": days}


def sale_terms(claim: Any) -> str:
    """When the seller may sell uncollected goods: "The seller will inform the buyer about the intended sale and
    provide a reasonable additional period for collecting the goods"."""
    from . import collection

    sell_from = collection.may_sell_from(claim)
    if sell_from is None:
        return ""
    policy = policy_of(claim)
    if claim.sale_notice_at is None:
        notice = collection.sale_notice_due(claim)
        return _("If the item is still not collected on %(notice)s, the seller announces its sale and may sell it "
                 "from %(day)s.") % {"notice": market_day(notice, policy), "day": market_day(sell_from, policy)}
    return _("The seller may sell the item from %(day)s if it is not collected by then. The proceeds, less the costs "
             "of repair, storage fees and sales expenses, then belong to the buyer, who claims them from the "
             "seller.") % {
        "day": market_day(sell_from, policy)}


def collected_detail(claim: Any) -> str:
    from . import collection
    from .calendar import local_date

    if claim.collected_at is None:
        return ""
    on = local_date(claim.collected_at, time_zone=policy_of(claim).time_zone)
    fee = collection.storage_fee(claim, on)
    if not fee:
        return _("No storage fee was due.")
    return storage_fee_so_far(claim, on)


def warranty_rights_detail(claim: Any) -> str:
    """What the buyer chose past the maximum (claims.services.warranty.exercise_warranty_rights)."""
    if claim.outcome == "refund" and claim.refund_amount:
        return _("Withdrawal from the purchase with a full refund of %(amount)s, paid by the platform and recovered "
                 "from the seller.") % {"amount": formatting.money_text(claim.refund_amount, claim.currency)}
    if claim.outcome == "replacement":
        return _("A replacement, which the seller provides.")
    return ""


# --- the platform's decision target (claims.decision_target) ---------------------------------------------------------


def decision_moment(moment: dt.datetime, policy: Policy) -> str:
    """A decision target in the claim's market zone, as every moment is written ("Tue 9 Jun, 10:00 CEST":
    market_moment)."""
    return market_moment(moment, policy)


def decision_due_detail(claim: Any) -> str:
    """The emails' line with the target (the reminder's and the breach's)."""
    if claim.decision_due_at is None:
        return ""
    return _("Decision due by: %(when)s.") % {"when": decision_moment(claim.decision_due_at, policy_of(claim))}


# --- the return of the goods (claims.returns) ---------------------------------------------------------------------
# Its moments are counted in the claim's market zone, so they are said in it too, as every date is written
# (core.formatting.moment: "Tue 9 Jun, 10:00 CEST").


def return_moment(moment: dt.datetime, claim: Any) -> str:
    from zoneinfo import ZoneInfo

    from core.formatting import moment as written

    return written(moment, zone=ZoneInfo(policy_of(claim).time_zone))


def postage_words(postage_paid_by: str, *, to_buyer: bool) -> str:
    """Who pays the return's postage (claims.returns.POSTAGE_PAYER), as the buyer or the seller reads it."""
    if postage_paid_by == "seller":
        return _("The seller pays the return postage.") if to_buyer else _("You pay the return postage.")
    return _("You pay the return postage.") if to_buyer else _("The buyer pays the return postage.")


def send_by(claim: Any, *, to_buyer: bool = True) -> str:
    """The buyer's ship deadline, and what happens at it."""
    if claim.return_due_at is None:
        return ""
    values = {"when": return_moment(claim.return_due_at, claim)}
    if to_buyer:
        return _("Please send the item back by %(when)s. If it has not been sent by then, the claim closes as "
                 "withdrawn.") % values
    return _("The buyer sends the item back by %(when)s. If it has not been sent by then, the claim closes as "
             "withdrawn.") % values


def confirm_by(claim: Any, *, to_buyer: bool) -> str:
    """The seller's deadline to confirm a delivered return, and what happens at it (a refund the platform pays, or
    the platform deciding a repair or replacement)."""
    if claim.return_confirm_due_at is None:
        return ""
    values = {"when": return_moment(claim.return_confirm_due_at, claim)}
    refund = claim.outcome in ("refund", "partial_refund", "discount")
    if to_buyer:
        return (_("The seller confirms receiving it by %(when)s; otherwise we refund you ourselves.") if refund else
                _("The seller confirms receiving it by %(when)s; otherwise our support team steps in.")) % values
    return (_("Please confirm receipt with the result of your inspection by %(when)s. Otherwise the platform refunds "
              "the buyer and recovers the amount from you.") if refund else
            _("Please confirm receipt with the result of your inspection by %(when)s. Otherwise the platform takes "
              "over the claim.")) % values


def return_detail(claim: Any, *, to_buyer: bool) -> str:
    """The return in an email: its number, where it goes, who pays the postage, its tracking and its deadline."""
    ret = claim.returns.order_by("-created_at", "-id").first()
    if ret is None:
        return ""
    lines = [_("Return number (RMA): %(rma)s") % {"rma": ret.rma_number}]
    if to_buyer and ret.address:
        lines.append(_("Send it to: %(address)s") % {"address": ret.address})
    if ret.tracking_number:
        lines.append(_("Tracking: %(carrier)s %(number)s") % {"carrier": ret.carrier, "number": ret.tracking_number})
    else:
        lines.append(postage_words(ret.postage_paid_by, to_buyer=to_buyer))
    lines.append(send_by(claim, to_buyer=to_buyer))
    lines.append(confirm_by(claim, to_buyer=to_buyer))
    return "\n".join(line for line in lines if line)

"""Every write to a claim goes through here.

Shape of a transition service: atomic() → re-fetch the claim with select_for_update() → check state and
permission → fire the django-fsm-2 transition (which only sets fields) → save (ConcurrentTransitionMixin
refuses a stale write) → append to the transition log → side effects (refunds, ledger, warranty, outbox
emails) in the same transaction.

    opening    open_claim (SPEC section 9)
    parties    what sellers and buyers do
    agents     what support agents do
    deadlines  the system's transitions and enforce_deadlines (SPEC section 9)
    payouts    refund payouts: mark_refund_paid, mark_refund_failed (SPEC section 9), retry, submit
    experts    expert assessments: start, request (after a denial), conclude, the costs (add, remove, send, paid)
    warranty   the warranty-claim clock (confirm_goods_received, exercise_warranty_rights) and collection
    remedies   classify_defect: the defect of a defective claim, which decides its remedies (claims.remedies)
    satisfaction  the survey after a resolution: its email, and storing an answer (claims.satisfaction)
    returns    the return of the goods: its authorization, the buyer's tracking, the parcel delivered, the sweep's
               actions at its deadlines (claims.returns)
    keeping_up  a person's notifications read (all, or a claim's), and the kinds of email they get
    counter_offers  the buyer's counter-offer, and the seller accepting or declining it
    appeals    a party appeals the platform's decision (appeal); another agent upholds it (uphold_appeal) or decides
               anew through decide, which settles the appeal's money there (claims.appeals)
"""

from ..models import ClaimTransition
from ._base import _lock
from .agents import assign, decide, provide_info, record_provider_dispute, record_provider_verdict, reopen, request_info
from .appeals import appeal, uphold_appeal
from .counter_offers import accept_counter_offer, counter_offer, decline_counter_offer
from .deadlines import (
    enforce_deadlines,
    force_refund,
    info_timeout,
    mark_delivered,
    note_delivery,
    sweep_helpers,
    take_over,
)
from .experts import (
    add_expert_cost,
    conclude_expert_assessment,
    conclude_running_expert_assessment,
    mark_expert_costs_paid,
    remove_expert_cost,
    request_expert_assessment,
    send_expert_costs,
    start_expert_assessment,
)
from .keeping_up import mark_all_read, set_email_preferences
from .opening import open_claim
from .parties import (
    accept_offer,
    add_tracking,
    close,
    decline_offer,
    escalate,
    make_offer,
    mark_seen,
    post_message,
    receive_return,
    reject,
    reply,
    withdraw_offer,
)
from .payouts import mark_refund_failed, mark_refund_paid, retry_refund, submit_refund
from .remedies import classify_defect
from .returns import add_return_tracking, mark_return_delivered
from .satisfaction import record_satisfaction, send_satisfaction_survey
from .warranty import confirm_goods_received, exercise_warranty_rights, record_collection

__all__ = [
    "ClaimTransition", "_lock", "accept_offer", "add_tracking", "assign", "classify_defect", "close", "decide",
    "decline_offer",
    "enforce_deadlines", "sweep_helpers", "escalate", "force_refund", "info_timeout", "make_offer", "mark_delivered",
    "mark_refund_failed", "mark_refund_paid", "mark_seen", "retry_refund", "submit_refund",
    "note_delivery", "open_claim", "post_message", "provide_info", "receive_return", "record_provider_dispute",
    "record_provider_verdict", "reject", "reopen", "reply", "request_info", "take_over", "withdraw_offer",
    "add_expert_cost", "conclude_expert_assessment", "conclude_running_expert_assessment",
    "mark_expert_costs_paid", "remove_expert_cost",
    "request_expert_assessment", "send_expert_costs", "start_expert_assessment",
    "confirm_goods_received", "exercise_warranty_rights", "record_collection",
    "record_satisfaction", "send_satisfaction_survey",
    "add_return_tracking", "mark_return_delivered",
    "mark_all_read", "set_email_preferences",
    "accept_counter_offer", "counter_offer", "decline_counter_offer",
    "appeal", "uphold_appeal",
]

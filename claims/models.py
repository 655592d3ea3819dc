from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField

from core.formatting import money_text
from core.fsm import transition
from core.models import AppendOnlyModel

from . import deadlines, decision_target, roles
from .choices import (
    MONEY_OUTCOMES,
    OFFER_OUTCOME,
    OPEN_STATES,
    WITH_SELLER_STATES,
    AppealStatus,
    Channel,
    ClaimState,
    DefectType,
    DenialReason,
    DesiredOutcome,
    EscalationCause,
    EvidenceKind,
    ExpertResult,
    ExpertStage,
    FundedBy,
    InspectionResult,
    OfferKind,
    OfferStatus,
    Outcome,
    Party,
    Reason,
    RefundStatus,
    RejectionCode,
    RemedyKind,
    ReturnStatus,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud on the phone


def new_claim_number() -> str:
    body = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(8))
    return f"C-{body[:4]}-{body[4:]}"


class ClaimQuerySet(models.QuerySet["Claim"]):
    def open(self) -> ClaimQuerySet:
        return self.filter(state__in=OPEN_STATES)

    def visible_to(self, user: User | AnonymousUser) -> ClaimQuerySet:
        """The claims a user may see: their own as buyer, their sellers' as staff, all for agents."""
        if not user.is_authenticated:
            return self.none()
        if roles.is_agent(user):
            return self
        return self.filter(Q(buyer=user) | Q(seller__memberships__user=user)).distinct()


class Claim(ConcurrentTransitionMixin, models.Model):
    number = models.CharField(_("claim number"), max_length=16, unique=True, default=new_claim_number)
    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="claims")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT,
                              related_name="claims")
    seller = models.ForeignKey("sellers.Seller", verbose_name=_("seller"), on_delete=models.PROTECT,
                               related_name="claims")
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    description = models.TextField(_("description"))
    desired_outcome = models.CharField(_("desired outcome"), max_length=20, choices=DesiredOutcome.choices)
    discovered_on = models.DateField(_("defect discovered on"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.PLATFORM)
    provider_reference = models.CharField(_("payment-provider case"), max_length=100, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    state = FSMField(_("state"), choices=ClaimState.choices, default=ClaimState.AWAITING_SELLER, protected=True)

    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    funded_by = models.CharField(_("funded by"), max_length=10, choices=FundedBy.choices, blank=True)
    refund_amount = models.DecimalField(_("refund amount"), max_digits=12, decimal_places=2, null=True, blank=True)
    denial_reason = models.CharField(_("denial reason"), max_length=30, choices=DenialReason.choices, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    # The agent decided that the platform bears what it refunds (goodwill) instead of recovering it from the seller;
    # read again when a refund that waited for the return is paid.
    platform_bears_cost = models.BooleanField(_("platform bears the cost"), default=False)

    rejected = models.BooleanField(_("rejected"), default=False)
    rejection_code = models.CharField(_("rejection code"), max_length=20, choices=RejectionCode.choices, blank=True)
    escalation_cause = models.CharField(_("escalation cause"), max_length=20, choices=EscalationCause.choices,
                                        blank=True)
    info_requested_from = models.CharField(
        _("info requested from"), max_length=10, choices=[(Party.BUYER, _("Buyer")), (Party.SELLER, _("Seller"))],
        blank=True
    )
    buyer_missed_info = models.PositiveSmallIntegerField(_("buyer missed info"), default=0)
    seller_missed_info = models.PositiveSmallIntegerField(_("seller missed info"), default=0)
    inspection_result = models.CharField(_("inspection result"), max_length=20, choices=InspectionResult.choices,
                                         blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assigned to"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="assigned_claims"
    )

    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    first_replied_at = models.DateTimeField(_("first replied at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    info_requested_at = models.DateTimeField(_("info requested at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    return_received_at = models.DateTimeField(_("return received at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    reopened_at = models.DateTimeField(_("reopened at"), null=True, blank=True)
    # The evidence retention (claims.retention) dealt with this resolved claim's files; cleared when it is reopened or
    # appealed, so files added then go in their turn.
    evidence_purged_at = models.DateTimeField(_("evidence purged at"), null=True, blank=True)

    first_reply_due_at = models.DateTimeField(_("first reply due at"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due at"), null=True, blank=True)
    info_due_at = models.DateTimeField(_("info due at"), null=True, blank=True)
    hard_deadline_at = models.DateTimeField(_("hard deadline at"), null=True, blank=True)
    first_reply_breached = models.BooleanField(_("first reply breached"), default=False)
    # The platform's own target once a claim is with it (claims.decision_target): set on every escalation and when an
    # information request is answered or runs out; not due while the platform waits for information. A breach is
    # recorded once and stays recorded.
    decision_due_at = models.DateTimeField(_("decision due by"), null=True, blank=True)
    decision_reminded_at = models.DateTimeField(_("decision reminded at"), null=True, blank=True)
    decision_breached = models.BooleanField(_("decision target missed"), default=False)
    first_reply_reminded_at = models.DateTimeField(_("first reply reminded at"), null=True, blank=True)
    resolution_reminded_at = models.DateTimeField(_("resolution reminded at"), null=True, blank=True)
    # Tracking showed delivery to the order's address while this (not_received) claim was open.
    delivery_seen_at = models.DateTimeField(_("delivery seen at"), null=True, blank=True)
    # Days of this claim already added to the claimed items' warranty (a reopened claim adds only the rest).
    warranty_days_credited = models.PositiveIntegerField(_("warranty days credited"), default=0)

    # The warranty-claim clock of markets with a legal limit (policy `warranty_claim_days`, `..._max_days`): it starts
    # when both the written claim and the goods have reached the seller, pauses while an expert assesses the defect
    # (the limit moves on by the pause when it ends), and stops at resolution.
    goods_received_at = models.DateTimeField(_("claim and goods reached the seller"), null=True, blank=True)
    warranty_due_at = models.DateTimeField(_("warranty claim to be resolved by"), null=True, blank=True)
    warranty_max_at = models.DateTimeField(_("warranty claim maximum"), null=True, blank=True)
    warranty_reminded_at = models.DateTimeField(_("warranty reminded at"), null=True, blank=True)
    warranty_limit_reached_at = models.DateTimeField(_("warranty limit reached at"), null=True, blank=True)
    warranty_max_reached_at = models.DateTimeField(_("warranty max reached at"), null=True, blank=True)
    expert_paused_at = models.DateTimeField(_("paused for an expert since"), null=True, blank=True)
    # What kind of defect the seller (or an agent) found, and which of the item's defects it is: together they decide
    # the remedies the policy allows (claims.remedies).
    defect_type = models.CharField(_("defect type"), max_length=30, choices=DefectType.choices, blank=True)
    defect = models.ForeignKey("claims.Defect", verbose_name=_("defect"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="claims")
    # Goods left with the seller and collected in person (a seller that offers collection): a storage fee after the
    # free period, and a sale after notice (warranty claim policy, 3.1).
    collect_in_person = models.BooleanField(_("buyer collects in person"), default=False)
    storage_fee_per_day = models.DecimalField(_("storage fee per day"), max_digits=6, decimal_places=2, null=True,
                                              blank=True)
    collection_ready_at = models.DateTimeField(_("ready for collection since"), null=True, blank=True)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    storage_notice_at = models.DateTimeField(_("storage notice at"), null=True, blank=True)
    sale_notice_at = models.DateTimeField(_("sale notice at"), null=True, blank=True)
    # The return of the goods (claims.returns): the buyer sends them by `return_due_at` (reminded once before), and
    # once the carrier delivered them the seller confirms receipt by `return_confirm_due_at`, or the platform refunds
    # and recovers. The authorization itself (RMA number, address, tracking) is a ReturnAuthorization.
    return_due_at = models.DateTimeField(_("return to be sent by"), null=True, blank=True)
    return_reminded_at = models.DateTimeField(_("return reminded at"), null=True, blank=True)
    return_confirm_due_at = models.DateTimeField(_("seller to confirm the return by"), null=True, blank=True)
    # Both from claims.deadlines, written by refresh_next_deadline on every save of a state or a deadline: the
    # earliest moment the sweep has something to do (null: nothing), and the deadline of whoever must act now.
    next_deadline_at = models.DateTimeField(_("next deadline at"), null=True, blank=True)
    action_due_at = models.DateTimeField(_("deadline that matters now"), null=True, blank=True)

    # Moves on every message, offer and transition: lists compare it with ClaimView.seen_at for "new".
    last_activity_at = models.DateTimeField(_("last activity at"), default=timezone.now)
    policy = models.JSONField(_("policy"), default=dict,
                              help_text=_("Policy values in force when the claim was opened."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ClaimQuerySet.as_manager()

    # Set only on claims read with the claim pages' Prefetch(to_attr=...): claims.selectors, claims.seller.selectors.
    public_messages: list[Message]
    opening_evidence: list[Evidence]

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        ordering = ["-opened_at"]
        permissions = [("act_as_agent", "Can work claims as a support agent")]
        indexes = [
            models.Index(fields=["seller", "state"]),
            models.Index(fields=["buyer", "-opened_at"]),
            models.Index(fields=["state", "resolution_due_at"]),
            # The sweep's only way in: due claims in (next_deadline_at, id) order; resolved claims (null) stay
            # out of the index, so its size follows the open claims, not the history.
            models.Index(fields=["next_deadline_at", "id"], condition=Q(next_deadline_at__isnull=False),
                         name="claim_next_deadline_idx"),
            # The seller queue: one seller's open claims, most urgent first, read 25 at a time; the columns its
            # counts (open, needs you, overdue, new activity) read are included, so they come from the index alone.
            models.Index(fields=["seller", "action_due_at", "opened_at", "id"], condition=Q(state__in=OPEN_STATES),
                         include=["state", "info_requested_from", "last_activity_at"],
                         name="claim_seller_queue_idx"),
            # The console's claim list: overdue first, then the least time left, then (nothing due) newest first.
            models.Index(fields=["action_due_at", "-opened_at", "-id"], name="claim_action_due_idx"),
            # The console's claim list and date hierarchy: newest first.
            models.Index(fields=["-opened_at", "-id"], name="claim_newest_idx"),
            # The console's overview: claims resolved and decided per day over the last 30 days.
            models.Index(fields=["resolved_at"], condition=Q(resolved_at__isnull=False), name="claim_resolved_idx"),
            # The evidence retention: resolved claims whose files are still kept, so its cost follows what is due.
            models.Index(fields=["resolved_at"], name="claim_evidence_kept_idx",
                         condition=Q(resolved_at__isnull=False, evidence_purged_at__isnull=True)),
            models.Index(fields=["decided_at"], condition=Q(decided_at__isnull=False), name="claim_decided_idx"),
            # With claim_decided_idx, the decision-target breach rate (selectors.decision_breaches) as a BitmapOr.
            models.Index(fields=["escalated_at"], condition=Q(escalated_at__isnull=False), name="claim_escalated_idx"),
            # The claim page's seller record (claims.history.seller_record): first replies due in the last 90 days,
            # counted from the index alone (on PostgreSQL; elsewhere the included columns are left out).
            models.Index(fields=["seller", "opened_at"], include=["first_reply_due_at", "first_reply_breached", "id"],
                         name="claim_seller_opened_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(refund_amount__isnull=True) | Q(refund_amount__gte=0), name="refund_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    # --- derived facts ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.state != ClaimState.RESOLVED

    def claimed_value(self) -> Decimal:
        """The price of what is claimed; with the shipping when every item of the order is claimed in full."""
        from .money import refund_room

        return refund_room(self).claimed_value

    def refresh_next_deadline(self) -> None:
        """Keep the indexed columns the sweep and the queues read in step with the state and the deadlines."""
        events = deadlines.due_events(self)
        action = deadlines.action_due(events)
        self.next_deadline_at = deadlines.next_deadline(events)
        self.action_due_at = action.at if action else None

    def buyer_may_escalate(self, now: dt.datetime | None = None) -> bool:
        """From the first-reply deadline on, or at once after a rejection."""
        if self.state not in WITH_SELLER_STATES or self.channel != Channel.PLATFORM:
            return False
        now = now or timezone.now()
        return self.rejected or deadlines.is_overdue(self.first_reply_due_at, now)

    # --- transitions: they only set fields on self; services save, log and notify ----------------

    @transition(field=state, source=ClaimState.AWAITING_SELLER, target=ClaimState.IN_PROGRESS,
                permission=roles.is_claim_seller_staff)
    def reply(self, *, at: dt.datetime) -> None:
        self.first_replied_at = self.first_replied_at or at

    @transition(field=state, source=WITH_SELLER_STATES, target=ClaimState.IN_PROGRESS,
                permission=roles.is_claim_seller_staff)
    def reject(self, *, code: str, at: dt.datetime) -> None:
        self.first_replied_at = self.first_replied_at or at
        self.rejected = True
        self.rejection_code = code

    @transition(field=state, source=[ClaimState.IN_PROGRESS, ClaimState.ESCALATED, ClaimState.AWAITING_INFO],
                target=RETURN_VALUE(ClaimState.RESOLVED, ClaimState.AWAITING_RETURN),
                permission=roles.is_claim_buyer)
    def accept_offer(self, *, outcome: str, funded_by: str, amount: Decimal | None, needs_return: bool,
                     at: dt.datetime) -> str:
        return self._take_offer(outcome, funded_by, amount, needs_return, at)

    # The seller accepts the buyer's counter-offer: settled exactly as the buyer accepting an offer, while the claim is
    # with the seller (the only time a counter-offer can be made and answered: claims.abilities).
    @transition(field=state, source=WITH_SELLER_STATES,
                target=RETURN_VALUE(ClaimState.RESOLVED, ClaimState.AWAITING_RETURN),
                permission=roles.is_claim_seller_staff)
    def accept_counter_offer(self, *, outcome: str, funded_by: str, amount: Decimal | None, needs_return: bool,
                             at: dt.datetime) -> str:
        return self._take_offer(outcome, funded_by, amount, needs_return, at)

    @transition(field=state, source=WITH_SELLER_STATES, target=ClaimState.ESCALATED,
                permission=roles.may_escalate)
    def escalate(self, *, cause: str, at: dt.datetime) -> None:
        self.escalation_cause = cause
        self.escalated_at = at
        decision_target.start(self, at)

    @transition(field=state, source=WITH_SELLER_STATES, target=ClaimState.ESCALATED, permission=roles.nobody)
    def take_over(self, *, cause: str, at: dt.datetime) -> None:
        self.escalation_cause = cause
        self.escalated_at = at
        decision_target.start(self, at)  # none for a payment-provider dispute: the provider decides

    @transition(field=state, source=ClaimState.ESCALATED, target=ClaimState.AWAITING_INFO,
                permission=roles.is_agent_for)
    def request_info(self, *, party: str, due_at: dt.datetime, at: dt.datetime) -> None:
        self.info_requested_from = party
        self.info_requested_at = at
        self.info_due_at = due_at

    @transition(field=state, source=ClaimState.AWAITING_INFO, target=ClaimState.ESCALATED,
                permission=roles.is_party_asked_for_info)
    def provide_info(self, *, at: dt.datetime) -> None:
        self.info_requested_from = ""
        self.info_due_at = None
        decision_target.start(self, at)  # the pause ends with the answer: a fresh target from it

    @transition(field=state, source=ClaimState.AWAITING_INFO, target=ClaimState.ESCALATED, permission=roles.nobody)
    def info_timeout(self, *, at: dt.datetime) -> None:
        if self.info_requested_from == Party.BUYER:
            self.buyer_missed_info += 1
        else:
            self.seller_missed_info += 1
        self.info_requested_from = ""
        self.info_due_at = None
        decision_target.start(self, at)  # nobody answered: the platform decides with what it has

    @transition(field=state, source=ClaimState.ESCALATED,
                target=RETURN_VALUE(ClaimState.RESOLVED, ClaimState.AWAITING_RETURN),
                permission=roles.is_agent_for,
                # A payment-provider dispute is decided by the provider: record_provider_verdict.
                conditions=[lambda claim: claim.channel == Channel.PLATFORM])
    def decide(self, *, outcome: str, funded_by: str, amount: Decimal | None, denial_reason: str,
               note: str, needs_return: bool, at: dt.datetime, bears_cost: bool = False) -> str:
        self.outcome = outcome
        self.funded_by = funded_by
        self.refund_amount = amount
        self.denial_reason = denial_reason
        self.platform_bears_cost = bears_cost and funded_by == FundedBy.PLATFORM
        self.decision_note = note
        self.decided_at = at
        return self._settle(needs_return, at)

    @transition(field=state, source=ClaimState.AWAITING_RETURN, target=ClaimState.RESOLVED,
                permission=roles.is_claim_seller_staff_or_agent)
    def receive_return(self, *, inspection_result: str, at: dt.datetime) -> None:
        self.inspection_result = inspection_result
        self.return_received_at = at
        self.resolved_at = at

    @transition(field=state, source=OPEN_STATES, target=ClaimState.RESOLVED, permission=roles.is_claim_buyer)
    def close(self, *, at: dt.datetime) -> None:
        self.outcome = Outcome.WITHDRAWN
        self.funded_by = ""
        self.refund_amount = None
        self.resolved_at = at

    @transition(field=state, source=OPEN_STATES, target=ClaimState.RESOLVED, permission=roles.nobody,
                conditions=[lambda claim: claim.reason == Reason.NOT_RECEIVED])
    def mark_delivered(self, *, at: dt.datetime) -> None:
        self.outcome = Outcome.DELIVERED
        self.funded_by = ""
        self.refund_amount = None
        self.resolved_at = at

    @transition(field=state, source=OPEN_STATES, target=ClaimState.RESOLVED, permission=roles.nobody)
    def force_refund(self, *, amount: Decimal, at: dt.datetime) -> None:
        self.outcome = Outcome.REFUND
        self.funded_by = FundedBy.PLATFORM
        self.refund_amount = amount
        self.resolved_at = at

    # Warranty claim policy: "If the resolution of the warranty claim takes longer than 60 days, the buyer will have
    # the same rights as if the defect were one that cannot be remedied": a replacement (the seller's) or withdrawal
    # with a full refund (the platform's, recovered from the seller). Only once the maximum was reached.
    @transition(field=state, source=OPEN_STATES, target=ClaimState.RESOLVED, permission=roles.is_claim_buyer,
                conditions=[lambda claim: claim.warranty_max_reached_at is not None])
    def exercise_warranty_rights(self, *, outcome: str, amount: Decimal | None, at: dt.datetime) -> None:
        self.outcome = outcome
        self.funded_by = FundedBy.PLATFORM if outcome == Outcome.REFUND else FundedBy.SELLER
        self.refund_amount = amount
        self.resolved_at = at

    @transition(field=state, source=ClaimState.ESCALATED, target=ClaimState.RESOLVED, permission=roles.is_agent_for,
                conditions=[lambda claim: claim.channel == Channel.PAYMENT_PROVIDER])
    def record_provider_verdict(self, *, buyer_won: bool, amount: Decimal | None, at: dt.datetime) -> None:
        self.outcome = Outcome.REFUND if buyer_won else Outcome.DENIED
        # The provider takes the money back from the platform, which recovers it from the seller.
        self.funded_by = FundedBy.PLATFORM if buyer_won else ""
        self.refund_amount = amount if buyer_won else None
        self.decided_at = at
        self.resolved_at = at

    @transition(field=state, source=ClaimState.RESOLVED, target=ClaimState.ESCALATED, permission=roles.is_agent_for)
    def reopen(self, *, at: dt.datetime) -> None:
        self.escalation_cause = EscalationCause.REOPENED
        self.escalated_at = at
        self.reopened_at = at
        decision_target.start(self, at)
        self.resolved_at = None
        self.evidence_purged_at = None
        self.outcome = ""
        self.funded_by = ""
        self.refund_amount = None
        self.denial_reason = ""
        self.inspection_result = ""
        self.platform_bears_cost = False
        # What closed it no longer does: an old delivery scan must not close a reopened not-received claim.
        self.delivery_seen_at = None

    # Issue 16, appeals (claims.appeals): "Buyer or seller may appeal a platform decision once ... it goes to another
    # agent than the one who decided". Named for what is appealed: `Claim.appeal` is the Appeal itself. Like a reopening
    # it brings the claim back to the platform undecided; `platform_bears_cost` and `inspection_result` stay, since
    # upholding the decision restores it as it was (the next decision sets them again) and the returned goods' state
    # is a fact, not part of the decision.
    @transition(field=state, source=[ClaimState.RESOLVED, ClaimState.AWAITING_RETURN], target=ClaimState.ESCALATED,
                permission=roles.is_claim_party)
    def appeal_decision(self, *, assignee: User | None, at: dt.datetime) -> None:
        self.escalation_cause = EscalationCause.APPEAL
        self.escalated_at = at
        decision_target.start(self, at)
        self.assigned_to = assignee
        self.resolved_at = None
        self.evidence_purged_at = None
        self.outcome = ""
        self.funded_by = ""
        self.refund_amount = None
        self.denial_reason = ""
        self.delivery_seen_at = None

    # The return of the goods (claims.returns). Not sent by the ship deadline: the claim closes as withdrawn, as one the
    # buyer no longer pursues.
    @transition(field=state, source=ClaimState.AWAITING_RETURN, target=ClaimState.RESOLVED, permission=roles.nobody)
    def return_not_sent(self, *, at: dt.datetime) -> None:
        self.outcome = Outcome.WITHDRAWN
        self.funded_by = ""
        self.refund_amount = None
        self.resolved_at = at

    # Delivered, and the seller did not confirm it in time: the platform deems the return received and pays the
    # refund in the seller's place (recovered from the seller unless the platform bears the cost); the inspection
    # result stays blank, nobody inspected.
    @transition(field=state, source=ClaimState.AWAITING_RETURN, target=ClaimState.RESOLVED, permission=roles.nobody,
                conditions=[lambda claim: claim.outcome in MONEY_OUTCOMES])
    def refund_unconfirmed_return(self, *, amount: Decimal | None, at: dt.datetime) -> None:
        self.funded_by = FundedBy.PLATFORM
        self.refund_amount = amount
        self.return_received_at = at
        self.resolved_at = at

    # ... or, for a repair or a replacement the platform cannot carry out itself, the platform decides what now.
    @transition(field=state, source=ClaimState.AWAITING_RETURN, target=ClaimState.ESCALATED, permission=roles.nobody,
                conditions=[lambda claim: claim.outcome not in MONEY_OUTCOMES])
    def escalate_unconfirmed_return(self, *, at: dt.datetime) -> None:
        self.escalation_cause = EscalationCause.TAKEOVER
        self.escalated_at = at
        decision_target.start(self, at)

    def _take_offer(self, outcome: str, funded_by: str, amount: Decimal | None, needs_return: bool,
                    at: dt.datetime) -> str:
        self.outcome = outcome
        self.funded_by = funded_by
        self.refund_amount = amount
        return self._settle(needs_return, at)

    def _settle(self, needs_return: bool, at: dt.datetime) -> str:
        if needs_return:
            return ClaimState.AWAITING_RETURN
        self.resolved_at = at
        return ClaimState.RESOLVED


class ClaimItem(models.Model):
    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey("orders.OrderItem", verbose_name=_("order item"), on_delete=models.PROTECT,
                                   related_name="claim_items")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    # Mirrors claim.is_open so the database itself can refuse a second open claim on one item.
    is_open = models.BooleanField(_("is open"), default=True)

    class Meta:
        verbose_name = _("claim item")
        verbose_name_plural = _("claim items")
        constraints = [
            models.UniqueConstraint(
                fields=["order_item"], condition=Q(is_open=True), name="one_open_claim_per_order_item"
            ),
            models.UniqueConstraint(fields=["claim", "order_item"], name="claim_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_item}"


def evidence_path(instance: Evidence, filename: str) -> str:
    # Random names: nothing of the uploader's file name or of the claim number reaches the storage.
    return f"evidence/{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}{instance.extension}"


def thumbnail_path(instance: Evidence, filename: str) -> str:
    return f"evidence/{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}.jpg"


class Evidence(models.Model):
    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="evidence")
    message = models.ForeignKey(
        "claims.Message", verbose_name=_("message"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="attachments"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EvidenceKind.choices)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT,
                                    related_name="+")
    party = models.CharField(_("party"), max_length=10, choices=Party.choices)
    file = models.FileField(_("file"), upload_to=evidence_path, max_length=200)
    thumbnail = models.FileField(_("thumbnail"), upload_to=thumbnail_path, max_length=200, blank=True)
    original_name = models.CharField(_("original name"), max_length=255, blank=True)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # A video's length as decoded (claims.evidence); null for photos and documents.
    duration_seconds = models.DecimalField(_("duration (seconds)"), max_digits=7, decimal_places=2, null=True,
                                           blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The file (and its thumbnail) deleted: the claim closed more than EVIDENCE_RETENTION_MONTHS ago
    # (claims.retention), or its uploader's data was erased (accounts.erasure). The row stays, as the claim's record.
    purged_at = models.DateTimeField(_("purged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("evidence")
        ordering = ["created_at", "id"]
        verbose_name_plural = _("evidence")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.claim_id}"

    @property
    def extension(self) -> str:
        return {
            "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "video/mp4": ".mp4",
            "video/quicktime": ".mov", "application/pdf": ".pdf",
        }.get(self.content_type, ".bin")


class Message(models.Model):
    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("author"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    party = models.CharField(_("party"), max_length=10, choices=Party.choices)
    body = models.TextField(_("body"))
    is_internal = models.BooleanField(_("internal note"), default=False,
                                      help_text=_("Visible to agents only, never to the buyer or the seller."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The text was replaced because its author's personal data was erased (accounts.erasure).
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["claim", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_party_display()} on {self.claim_id}"


class Offer(models.Model):
    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="offers")
    kind = models.CharField(_("kind"), max_length=20, choices=OfferKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    return_instructions = models.TextField(_("return address or label reference"), blank=True)
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("made by"), on_delete=models.PROTECT,
                                related_name="+")
    on_behalf_of_platform = models.BooleanField(_("on behalf of platform"), default=False)
    # Who proposed it: the seller (or an agent for the platform), or the buyer with a counter-offer, which the seller
    # accepts or declines. `counter_to` is the offer the buyer declined by countering.
    party = models.CharField(_("party"), max_length=10, choices=Party.choices, default=Party.SELLER)
    counter_to = models.ForeignKey("self", verbose_name=_("counter to"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="counter_offers")
    status = models.CharField(_("status"), max_length=10, choices=OfferStatus.choices, default=OfferStatus.PENDING)
    decline_reason = models.TextField(_("why it was declined"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["claim"], condition=Q(status="pending"), name="one_pending_offer"),
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gt=0), name="offer_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.claim_id}"

    @property
    def outcome(self) -> str:
        return OFFER_OUTCOME[self.kind]


class Refund(models.Model):
    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2,
                                 validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(_("currency"), max_length=3)
    funded_by = models.CharField(_("funded by"), max_length=10, choices=FundedBy.choices)
    status = models.CharField(_("status"), max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    # The payment provider's reference of the payout (set when it is paid).
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    # Which payout provider handles it (settings.REFUND_PROVIDER when the refund was made: manual or webhook).
    provider = models.CharField(_("provider"), max_length=20, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_positive")]
        indexes = [models.Index(fields=["status", "created_at"], name="refund_status_idx")]
        permissions = [("manage_payouts", "Can work the payout queue and record seller settlements")]

    def __str__(self) -> str:
        return f"{money_text(self.amount, self.currency)} ({self.get_funded_by_display()})"


class RefundLine(AppendOnlyModel):
    """What one refund paid for: an order item, or the order's shipping (order_item empty). The sum of a
    refund's lines is its amount; each line moved the item's (or the order's shipping) refunded total once."""

    refund = models.ForeignKey(Refund, verbose_name=_("refund"), on_delete=models.PROTECT, related_name="lines")
    order_item = models.ForeignKey("orders.OrderItem", verbose_name=_("order item"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="refund_lines")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("refund line")
        verbose_name_plural = _("refund lines")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_line_positive")]

    def __str__(self) -> str:
        return f"{self.amount} for {self.order_item_id or 'shipping'}"


class RefundEvent(AppendOnlyModel):
    """Every change of a refund's payout status: who, when, from what to what, and why. Append-only."""

    refund = models.ForeignKey(Refund, verbose_name=_("refund"), on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(_("from status"), max_length=10, blank=True)
    to_status = models.CharField(_("to status"), max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("refund event")
        verbose_name_plural = _("refund events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.refund_id}: {self.from_status or '—'} → {self.to_status}"


class ClaimTransition(AppendOnlyModel):
    """Every state change of a claim: append-only. Only `reason` (the words given with a step) can lose a person's
    words and names when their data is erased (accounts.erasure); the step itself stays."""

    REDACTABLE_FIELDS = ("reason",)

    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.PROTECT, related_name="transitions")
    name = models.CharField(_("name"), max_length=40)
    from_state = models.CharField(_("from state"), max_length=20, blank=True)
    to_state = models.CharField(_("to state"), max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    party = models.CharField(_("party"), max_length=10, choices=Party.choices)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("claim transition")
        verbose_name_plural = _("claim transitions")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["claim", "created_at"])]

    def __str__(self) -> str:
        return f"{self.claim_id}: {self.from_state or '—'} → {self.to_state} ({self.name})"


class OutboundEmail(models.Model):
    """The notification outbox. A row is written in the same transaction as the change it reports, and a
    Celery task sends it after commit; a periodic task re-sends rows still unsent (broker down, worker
    lost). A worker claims a row (`claimed_until`, `claim_token`) in one conditional UPDATE before it talks to the
    SMTP server and marks it sent after, so two workers never send one row, on any database."""

    claim = models.ForeignKey(Claim, verbose_name=_("claim"), null=True, blank=True, on_delete=models.CASCADE,
                              related_name="emails")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recipient"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    to_email = models.EmailField(_("to email"))
    event = models.CharField(_("event"), max_length=40)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject"), max_length=300)
    # Empty until sent for a row of the deadline sweep's batch: the worker renders it from `facts`
    # (claims.notifications).
    body_text = models.TextField(_("body text"), blank=True)
    body_html = models.TextField(_("body HTML"), blank=True)
    # What a row rendered when it is sent keeps of its event: the recipient's side, the claim's state then, the detail.
    facts = models.JSONField(_("facts of the event"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # Not before: a digest of messages (claims.notifications) waits for the end of its window.
    send_after = models.DateTimeField(_("send after"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # A worker in the SMTP conversation for this row holds it until then (claims.notifications.deliver): no row lock
    # is held while the server is talked to, and a worker killed mid-way leaves the row to be retried after it.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    claim_token = models.CharField(_("claim token"), max_length=32, blank=True)
    # After a failed attempt, not before (a growing back-off: claims.notifications.retry_delay).
    retry_after = models.DateTimeField(_("retry after"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="email_unsent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.to_email}"


class ClaimView(models.Model):
    """When a person last looked at a claim, so their lists can show what is new since."""

    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="views")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                             related_name="claim_views")
    seen_at = models.DateTimeField(_("seen at"))

    class Meta:
        verbose_name = _("claim view")
        verbose_name_plural = _("claim views")
        constraints = [models.UniqueConstraint(fields=["claim", "user"], name="one_view_marker_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} saw {self.claim_id} at {self.seen_at}"


class Defect(models.Model):
    """One defect of one order item, as the seller or an agent classified it, with every claim about it and every
    remedy it got (DefectRemedy): "the same defect again after two repairs", "several different defects" and "a
    defect compensated by a discount" are read from here."""

    order_item = models.ForeignKey("orders.OrderItem", verbose_name=_("order item"), on_delete=models.PROTECT,
                                   related_name="defects")
    summary = models.CharField(_("defect"), max_length=200)
    defect_type = models.CharField(_("defect type"), max_length=30, choices=DefectType.choices)
    first_claim = models.ForeignKey(Claim, verbose_name=_("first claim"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("defect")
        verbose_name_plural = _("defects")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.summary


class DefectRemedy(AppendOnlyModel):
    """A remedy a defect got, once per resolved claim: append-only."""

    defect = models.ForeignKey(Defect, verbose_name=_("defect"), on_delete=models.PROTECT, related_name="remedies")
    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.PROTECT, related_name="remedies")
    kind = models.CharField(_("kind"), max_length=20, choices=RemedyKind.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("defect remedy")
        verbose_name_plural = _("defect remedies")
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["defect", "claim"], name="one_remedy_per_defect_and_claim")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.defect_id}"


class ExpertAssessment(models.Model):
    """An expert's assessment of a defect: during a claim (the warranty-claim clock pauses), or after a denial at the
    buyer's request. An unjustified claim costs the buyer the listed costs, due 30 days after the list is sent."""

    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.PROTECT,
                              related_name="expert_assessments")
    stage = models.CharField(_("stage"), max_length=20, choices=ExpertStage.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    requested_by_party = models.CharField(_("requested by party"), max_length=10, choices=Party.choices)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    expert = models.CharField(_("expert"), max_length=200, blank=True)
    concluded_at = models.DateTimeField(_("concluded at"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=20, choices=ExpertResult.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    report = models.ForeignKey(Evidence, verbose_name=_("report"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    costs_sent_at = models.DateTimeField(_("costs sent at"), null=True, blank=True)
    costs_due_on = models.DateField(_("costs due on"), null=True, blank=True)
    costs_paid_at = models.DateTimeField(_("costs paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("expert assessment")
        verbose_name_plural = _("expert assessments")
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["claim"], condition=Q(concluded_at__isnull=True),
                                    name="one_running_expert_assessment"),
        ]
        indexes = [models.Index(fields=["costs_due_on"], condition=Q(costs_paid_at__isnull=True,
                                                                     costs_due_on__isnull=False),
                                name="expert_costs_due_idx")]

    def __str__(self) -> str:
        return f"Expert assessment of {self.claim_id}"


class ExpertCost(models.Model):
    """One line of the costs an unjustified claim leaves to the buyer (transport, the expert, the seller's)."""

    assessment = models.ForeignKey(ExpertAssessment, verbose_name=_("assessment"), on_delete=models.CASCADE,
                                   related_name="costs")
    description = models.CharField(_("description"), max_length=200)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("expert cost")
        verbose_name_plural = _("expert costs")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="expert_cost_positive")]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class Macro(models.Model):
    """A canned reply for agents, with a text per language (MacroText) and variables such as {buyer_name},
    {claim_number} and {decision_due} filled in for the claim (claims.macros). Inserted into messages, internal notes
    and decision notes; counted each time a saved text used it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    usage_count = models.PositiveIntegerField(_("times used"), default=0)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("macro")
        verbose_name_plural = _("macros")

    def __str__(self) -> str:
        return self.name


class MacroText(models.Model):
    """A macro's text in one language."""

    macro = models.ForeignKey(Macro, verbose_name=_("macro"), on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    body = models.TextField(_("text"))

    class Meta:
        ordering = ["macro", "language"]
        verbose_name = _("macro text")
        verbose_name_plural = _("macro texts")
        constraints = [models.UniqueConstraint(fields=["macro", "language"], name="one_macro_text_per_language")]

    def __str__(self) -> str:
        return f"{self.macro} ({self.language})"


class ClaimPresence(models.Model):
    """Who has a claim's console page open: written when the page loads and by its heartbeat, read to warn of a
    colleague on the same case. A row older than the presence window means the page was closed."""

    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                             related_name="+")
    seen_at = models.DateTimeField(_("seen at"))

    class Meta:
        verbose_name = _("claim presence")
        verbose_name_plural = _("claim presences")
        constraints = [models.UniqueConstraint(fields=["claim", "user"], name="one_presence_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.claim_id} at {self.seen_at}"


class SatisfactionResponse(models.Model):
    """A buyer's or seller's rating of how a resolved claim was handled, once per claim and party, from the signed
    link of the survey email (claims.satisfaction). The deciding agent and the reason are kept for the results."""

    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="satisfaction")
    party = models.CharField(_("party"), max_length=10, choices=Party.choices)
    rating = models.PositiveSmallIntegerField(_("rating"), validators=[MinValueValidator(1)])
    comment = models.TextField(_("comment"), blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("agent"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    answered_at = models.DateTimeField(_("answered"), default=timezone.now)

    class Meta:
        ordering = ["-answered_at", "-id"]
        verbose_name = _("satisfaction response")
        verbose_name_plural = _("satisfaction responses")
        constraints = [
            models.UniqueConstraint(fields=["claim", "party"], name="one_rating_per_claim_and_party"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="rating_one_to_five"),
        ]
        indexes = [models.Index(fields=["answered_at"], name="satisfaction_answered_idx")]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.claim_id} ({self.party})"


class Appeal(models.Model):
    """A party's one appeal against the platform's decision: another agent decides it, and that is final."""

    claim = models.OneToOneField(Claim, verbose_name=_("claim"), on_delete=models.PROTECT, related_name="appeal")
    party = models.CharField(_("party"), max_length=10,
                             choices=[(Party.BUYER, _("Buyer")), (Party.SELLER, _("Seller"))])
    appellant = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("appellant"), on_delete=models.PROTECT,
                                  related_name="+")
    reason = models.TextField(_("why the decision should change"))
    # The decision appealed against, as it stood: who decided, what, who paid and how much.
    first_decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("first decided by"), null=True,
                                         blank=True, on_delete=models.PROTECT, related_name="+")
    first_outcome = models.CharField(_("first outcome"), max_length=20, choices=Outcome.choices, blank=True)
    first_funded_by = models.CharField(_("first funded by"), max_length=10, choices=FundedBy.choices, blank=True)
    first_amount = models.DecimalField(_("first amount"), max_digits=12, decimal_places=2, null=True, blank=True)
    first_denial_reason = models.CharField(_("first denial reason"), max_length=30, choices=DenialReason.choices,
                                           blank=True)
    status = models.CharField(_("status"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="appeal_status_idx")]

    def __str__(self) -> str:
        return f"Appeal on {self.claim_id}"


def new_rma_number() -> str:
    body = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(8))
    return f"R-{body[:4]}-{body[4:]}"


class ReturnAuthorization(models.Model):
    """The buyer's permission to send the claimed goods back: an RMA number, the seller's address, who pays the
    postage, and the return parcel's tracking (checked like the carrier webhook's)."""

    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="returns")
    rma_number = models.CharField(_("return number (RMA)"), max_length=16, unique=True, default=new_rma_number)
    address = models.TextField(_("return address"))
    postage_paid_by = models.CharField(_("return postage paid by"), max_length=10, choices=Party.choices)
    status = models.CharField(_("status"), max_length=12, choices=ReturnStatus.choices, default=ReturnStatus.AUTHORIZED)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    carrier = models.CharField(_("carrier"), max_length=50, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True, db_index=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # When the latest carrier event for the return parcel happened (the carrier's clock): older events are ignored.
    last_event_at = models.DateTimeField(_("last event at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    class Meta:
        verbose_name = _("return authorization")
        verbose_name_plural = _("return authorizations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("carrier"), "tracking_number", condition=~Q(tracking_number=""),
                                    name="one_return_per_tracking_number"),
        ]

    def __str__(self) -> str:
        return self.rma_number


class Notification(models.Model):
    """One line in a person's list of what happened on their claims; unread until they open the claim or mark the
    list read."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                             related_name="notifications")
    claim = models.ForeignKey(Claim, verbose_name=_("claim"), null=True, blank=True, on_delete=models.CASCADE,
                              related_name="notifications")
    event = models.CharField(_("event"), max_length=40)
    text = models.CharField(_("text"), max_length=300)
    # The outbox's key for the same event and recipient (claims.notifications.notify): a repeated event is refused by
    # the database whether or not the email went out.
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=~Q(dedupe_key=""), name="notification_dedupe_key"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_idx"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} for {self.user_id}"


class EmailPreference(models.Model):
    """A kind of email a person turned off (or on again); mails that carry a deadline cannot be turned off."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                             related_name="email_preferences")
    kind = models.CharField(_("kind"), max_length=40)
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("email preference")
        verbose_name_plural = _("email preferences")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_email_preference_per_kind")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.enabled}"

"""Reads for the seller dashboard.

Everything is scoped to the sellers the person works for (another seller's claim is a 404), fetched in a
fixed number of queries whatever the number of rows, and the performance figures are computed by the
database with aggregates: no Python loop ever walks a seller's claims.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncWeek
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claims import deadlines, presenters, returns
from claims.choices import OPEN_STATES, Channel, ClaimState, EscalationCause, Outcome, Party
from claims.keeping_up import with_new_activity
from claims.models import Claim, ClaimItem, ClaimTransition, Evidence, Message, Offer
from claims.money import refund_room
from claims.selectors import decision_words
from core.formatting import moment, money
from sellers.models import LedgerEntry, LedgerKind, Seller, WarrantyPolicy

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from claims.keeping_up import ClaimWithActivity

QUEUE_PAGE_SIZE = 25


def staff_claims(user: User | AnonymousUser | None) -> QuerySet[Claim]:
    """Claims of every seller the person works for (a membership is unique per user and seller, so no
    duplicates)."""
    if not (user and user.is_authenticated and user.is_active):
        return Claim.objects.none()
    return Claim.objects.filter(seller__memberships__user=user)


def staff_claim(user: User | AnonymousUser | None, number: str) -> Claim:
    """One claim for an action: scoped, light. The service locks and re-reads it anyway."""
    return get_object_or_404(staff_claims(user).select_related("seller"), number=number)


# --- the queue ----------------------------------------------------------------------------------------------

# Filters of the queue besides the states themselves.
OPEN = ""
NEEDS_YOU = "needs_you"
OVERDUE = "overdue"
RESOLVED = ClaimState.RESOLVED
ALL = "all"

STATE_FILTERS = [
    (OPEN, gettext_lazy("Open")),
    (NEEDS_YOU, gettext_lazy("Needs your action")),
    (OVERDUE, gettext_lazy("Overdue")),
    *[(value, label) for value, label in ClaimState.choices if value != ClaimState.RESOLVED],
    (RESOLVED, ClaimState.RESOLVED.label),
    (ALL, gettext_lazy("All claims")),
]


def needs_seller() -> Q:
    """Open claims in which the next move is the seller's: the queue's "Needs your action", the API's `needs_action`."""
    return (Q(state__in=[ClaimState.AWAITING_SELLER, ClaimState.IN_PROGRESS, ClaimState.AWAITING_RETURN])
            | Q(state=ClaimState.AWAITING_INFO, info_requested_from=Party.SELLER))


def _with_unread(claims: QuerySet[Claim], user: User) -> QuerySet[ClaimWithActivity]:
    return with_new_activity(claims, user)  # "new activity" as the buyer's own list says it (claims.keeping_up)


def queue(seller: Seller, user: User, *, state: str = OPEN, reason: str = "", search: str = "",
          unread: bool = False, now: dt.datetime | None = None) -> QuerySet[ClaimWithActivity]:
    """A seller's claims, most urgent first: overdue, then the least time left (claims.deadlines), none last, then
    the oldest."""
    now = now or timezone.now()
    claims = _with_unread(Claim.objects.filter(seller=seller), user).select_related("order").prefetch_related(
        Prefetch("items", queryset=ClaimItem.objects.select_related("order_item").order_by("id")))
    if state == OPEN:
        claims = claims.filter(state__in=OPEN_STATES)
    elif state == NEEDS_YOU:
        claims = claims.filter(needs_seller())
    elif state == OVERDUE:
        claims = claims.filter(_overdue_for_seller_q(now))
    elif state in ClaimState.values:
        claims = claims.filter(state=state)
    if reason:
        claims = claims.filter(reason=reason)
    search = search.strip()
    if search:
        claims = claims.filter(Q(number__icontains=search) | Q(order__number__icontains=search))
    if unread:
        claims = claims.filter(is_unread=True)
    if state == RESOLVED:
        return claims.order_by(F("resolved_at").desc(nulls_last=True), "-pk")
    return claims.order_by(F("action_due_at").asc(nulls_last=True), "opened_at", "pk")


def _overdue_for_seller_q(now: dt.datetime) -> Q:
    """Overdue as the seller's queue means it: the deadline that matters now has passed, unless the claim is with the
    platform; an escalated claim's deadlines (the decision target, the final refund) are the platform's own, and a late
    platform is not the seller's overdue. `_overdue_for_seller` says the same of one claim."""
    return deadlines.overdue_q(now) & ~Q(state=ClaimState.ESCALATED)


def _overdue_for_seller(claim: Claim, action_at: dt.datetime | None, now: dt.datetime) -> bool:
    return deadlines.is_overdue(action_at, now) and claim.state != ClaimState.ESCALATED


def queue_summary(seller: Seller, user: User, now: dt.datetime | None = None) -> dict[str, int]:
    """The counts above the queue, in one query."""
    now = now or timezone.now()
    return _with_unread(Claim.objects.filter(seller=seller, state__in=OPEN_STATES), user).aggregate(
        open=Count("pk"),
        needs_you=Count("pk", filter=needs_seller()),
        overdue=Count("pk", filter=_overdue_for_seller_q(now)),
        unread=Count("pk", filter=Q(is_unread=True)),
    )


@dataclasses.dataclass(frozen=True)
class SellerDeadline:
    """The deadline that matters to the seller now: a short label for the queue, a sentence for the claim."""

    label: str
    text: str
    due_at: dt.datetime | None = None
    overdue: bool = False
    past: bool = False  # due_at itself has passed (an overdue first reply counts down to the resolution deadline)
    # due_at is the seller's own time to act (the API's `respond_by`), not the platform's decision target.
    sellers: bool = False


def _when(when: dt.datetime) -> str:
    return moment(when)  # one way to write a moment on every page, with its zone (core.formatting)


def seller_deadline(claim: Claim, now: dt.datetime | None = None) -> SellerDeadline:
    """What claims.deadlines says is due, in the seller's words; overdue exactly when the queue's filter says so."""
    now = now or timezone.now()
    events = deadlines.due_events(claim)
    action = deadlines.action_due(events)
    overdue = _overdue_for_seller(claim, action.at if action else None, now)
    deadline = _seller_deadline(claim, events, action if action and action.who == Party.SELLER else None, overdue,
                                now=now)
    sellers = action is not None and action.who == Party.SELLER and deadline.due_at is not None
    return dataclasses.replace(deadline, overdue=overdue, past=deadlines.is_overdue(deadline.due_at, now),
                               sellers=sellers)


def _seller_deadline(claim: Claim, events: list[deadlines.DueEvent], action: deadlines.DueEvent | None,
                     overdue: bool, *, now: dt.datetime) -> SellerDeadline:
    what = action.what if action else ""
    if action is not None and what == deadlines.FIRST_REPLY_BREACHED and not overdue:
        return SellerDeadline(_("First reply due"), _("Please reply by %(when)s, the deadline for your first reply.")
                              % {"when": _when(action.at)}, action.at)
    if action is not None and what == deadlines.FIRST_REPLY_BREACHED:
        # Past the first reply the countdown runs to the platform's take-over.
        takeover = deadlines.event(events, deadlines.TAKEN_OVER)
        due = takeover.at if takeover else None
        return SellerDeadline(
            _("Reply overdue"),
            _("The deadline for your first reply (%(missed)s) has passed and the buyer may ask the platform to step "
              "in. Reply now; if the claim is not resolved by %(when)s, the platform takes over.")
            % {"missed": _when(action.at), "when": _when(due) if due else "—"}, due)
    if action is not None and what == deadlines.TAKEN_OVER:
        text = (_("The buyer may ask the platform to step in at any time after your rejection. Unless the claim is "
                  "resolved by %(when)s, the platform takes over.") if claim.rejected else
                _("Resolve the claim with the buyer by %(when)s; after that the platform takes over."))
        return SellerDeadline(_("Resolve by"), text % {"when": _when(action.at)}, action.at)
    if action is not None and what == deadlines.WARRANTY_LIMIT:
        return SellerDeadline(_("Resolve by"), _("The law's time limit for this warranty claim: resolve it by "
                                                 "%(when)s; after that the platform takes over.")
                              % {"when": _when(action.at)}, action.at)
    if action is not None and what == deadlines.WARRANTY_MAX:  # the limit is paused for an expert; the maximum never is
        return SellerDeadline(_("Resolve by"), _("The maximum duration of this warranty claim: resolve it by %(when)s; "
                                                 "after that the buyer may choose a replacement or withdrawal with a "
                                                 "full refund.") % {"when": _when(action.at)}, action.at)
    if action is not None and what == deadlines.INFO_TIMEOUT:
        return SellerDeadline(
            _("Answer the platform by"),
            _("Our support team asked you for information. Please answer by %(when)s; without an answer they "
              "may decide with what they have.") % {"when": _when(action.at)}, action.at)
    state = claim.state
    if state == ClaimState.AWAITING_INFO:
        return SellerDeadline(_("Waiting for the buyer"),
                              _("Our support team asked the buyer for information."))
    if state == ClaimState.ESCALATED and (decision := decision_words(claim, now)) is not None:
        return SellerDeadline(_("With the platform"), f'{_("Our support team handles this claim.")} {decision.text}',
                              decision.due_at)
    if state == ClaimState.ESCALATED:
        return SellerDeadline(_("With the platform"),
                              _("Our support team handles this claim and will decide it."))
    if action is not None and what == deadlines.RETURN_NOT_CONFIRMED:
        return SellerDeadline(_("Confirm the return by"),
                              f'{_("The returned item was delivered to you.")} '
                              f'{presenters.confirm_by(claim, to_buyer=False)}', action.at)
    if state == ClaimState.AWAITING_RETURN and returns.stage(claim) == returns.TO_SEND:
        return SellerDeadline(_("Waiting for the return"),
                              f'{presenters.send_by(claim, to_buyer=False)} '
                              f'{_("When it arrives, confirm it below with the result of your inspection.")}')
    if state == ClaimState.AWAITING_RETURN and returns.stage(claim) == returns.IN_TRANSIT:
        return SellerDeadline(_("Return on its way"),
                              _("The item is on its way back to you. When it arrives, confirm it below with the "
                                "result of your inspection."))
    if state == ClaimState.AWAITING_RETURN:
        return SellerDeadline(_("Waiting for the return"),
                              _("The buyer sends the item back as agreed. When it arrives, confirm it below with "
                                "the result of your inspection."))
    outcome = claim.get_outcome_display() if claim.outcome else _("Resolved")
    return SellerDeadline(outcome, _("Resolved: %(outcome)s.") % {"outcome": outcome})


# --- one claim ----------------------------------------------------------------------------------------------


def _detail_queryset() -> QuerySet[Claim]:
    """The claim page in a fixed number of queries (the same prefetches `claims.selectors.timeline` reads)."""
    public_messages = Message.objects.filter(is_internal=False).select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Evidence.objects.order_by("created_at", "id")))
    return Claim.objects.select_related("order", "seller", "seller__warranty_policy").prefetch_related(
        Prefetch("items", queryset=ClaimItem.objects.select_related("order_item").order_by("id")),
        "order__items",
        "order__shipments",
        Prefetch("messages", queryset=public_messages, to_attr="public_messages"),
        Prefetch("offers", queryset=Offer.objects.order_by("created_at", "id")),
        Prefetch("evidence", queryset=Evidence.objects.filter(message__isnull=True).order_by("created_at", "id"),
                 to_attr="opening_evidence"),
        Prefetch("transitions", queryset=ClaimTransition.objects.order_by("created_at", "id")),
        "refunds",
    )


def claim_for_staff(user: User | AnonymousUser | None, number: str) -> Claim:
    return get_object_or_404(_detail_queryset().filter(pk__in=staff_claims(user).values("pk")), number=number)


@dataclasses.dataclass(frozen=True)
class ClaimMoney:
    claimed: Decimal
    refunded: Decimal
    refundable: Decimal


def claim_money(claim: Claim) -> ClaimMoney:
    """What the claim is worth, what has been refunded on what it covers (by any claim) and what is left: the
    engine's own rule (claims.money)."""
    room = refund_room(claim)
    return ClaimMoney(claimed=room.claimed_value, refunded=room.refunded, refundable=room.total)


def return_address(claim: Claim) -> str:
    try:
        return claim.seller.warranty_policy.return_address
    except WarrantyPolicy.DoesNotExist:
        return ""


# --- performance ------------------------------------------------------------------------------------------

PERIODS = {
    "7": (7, gettext_lazy("Last 7 days")),
    "30": (30, gettext_lazy("Last 30 days")),
    "90": (90, gettext_lazy("Last 90 days")),
    "365": (365, gettext_lazy("Last 12 months")),
    "all": (None, gettext_lazy("All time")),
}
DEFAULT_PERIOD = "30"

# What an escalated claim can end with when the platform decides for the buyer.
FOR_BUYER = [Outcome.REFUND, Outcome.PARTIAL_REFUND, Outcome.REPLACEMENT, Outcome.REPAIR, Outcome.DISCOUNT]


@dataclasses.dataclass(frozen=True)
class LedgerTotals:
    currency: str
    balance: Decimal
    recovered: Decimal
    fines: Decimal
    adjustments: Decimal
    settlements: Decimal


@dataclasses.dataclass(frozen=True)
class Week:
    """One week of the claims opened in the period (Monday to Sunday on the marketplace's calendar): how many, how
    many of them got a first reply, and how long those replies took in total."""

    start: dt.date
    opened: int
    replied: int
    reply_time: dt.timedelta | None

    @property
    def average_first_reply(self) -> dt.timedelta | None:
        return self.reply_time / self.replied if self.replied and self.reply_time is not None else None


@dataclasses.dataclass(frozen=True)
class Performance:
    period: str
    since: dt.datetime | None
    claims_opened: int
    first_replies_in_time: int
    first_replies_counted: int
    median_first_reply: dt.timedelta | None
    escalated: int
    escalated_by_buyer: int
    taken_over: int
    escalated_by_agent: int
    provider_disputes: int
    provider_disputes_lost: int
    decided_for_buyer: int
    ledger: list[LedgerTotals]
    recent_entries: list[LedgerEntry]
    weeks: list[Week] = dataclasses.field(default_factory=list)

    @property
    def label(self) -> str:
        """The period's name ("Last 30 days"): the page's selector and heading both say the period computed here."""
        return str(PERIODS[self.period][1])

    @property
    def first_reply_share(self) -> float | None:
        return self.first_replies_in_time / self.first_replies_counted if self.first_replies_counted else None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.claims_opened if self.claims_opened else None

    @property
    def first_reply_percent(self) -> int | None:
        share = self.first_reply_share
        return None if share is None else round(share * 100)

    @property
    def escalation_percent(self) -> int | None:
        rate = self.escalation_rate
        return None if rate is None else round(rate * 100)

    @property
    def fines(self) -> list[tuple[str, Decimal]]:
        return [(row.currency, row.fines) for row in self.ledger if row.fines]


def _since(period: str, now: dt.datetime) -> dt.datetime | None:
    days = PERIODS[period][0]
    return now - dt.timedelta(days=days) if days is not None else None


def _after(field: str, since: dt.datetime | None) -> Q:
    return Q(**{f"{field}__gte": since}) if since is not None else Q()


# The first-reply standard, here for the seller's figures and the console's overview (claims.overview). It applies to
# claims opened on the platform, not to payment-provider disputes.
FIRST_REPLY_COUNTED = Q(channel=Channel.PLATFORM)
FIRST_REPLY_IN_TIME = Q(first_replied_at__isnull=False, first_replied_at__lte=F("first_reply_due_at"))


def first_reply_missed(now: dt.datetime) -> Q:
    """Missed: recorded by the sweep, answered late, or still unanswered past the deadline (sweep not run yet). A claim
    closed or handed to the platform before its deadline without a reply counts neither way."""
    return (Q(first_reply_breached=True) | Q(first_replied_at__gt=F("first_reply_due_at"))
            | Q(first_replied_at__isnull=True, state=ClaimState.AWAITING_SELLER, first_reply_due_at__lte=now))


def performance(seller: Seller, *, period: str = DEFAULT_PERIOD, now: dt.datetime | None = None) -> Performance:
    """A seller's figures over a period, in five queries whatever the number of claims.

    Claims count in the period they were opened in (replies, escalations); verdicts and decisions in the period
    they were made; ledger entries in the period they were written. The balance is over all time."""
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    now = now or timezone.now()
    since = _since(period, now)
    cohort = FIRST_REPLY_COUNTED & _after("opened_at", since)
    in_time = FIRST_REPLY_IN_TIME
    missed = first_reply_missed(now)
    replied = cohort & Q(first_replied_at__isnull=False)
    escalated = cohort & Q(escalated_at__isnull=False)
    provider = Q(channel=Channel.PAYMENT_PROVIDER)
    figures = Claim.objects.filter(seller=seller).aggregate(
        opened=Count("pk", filter=cohort),
        in_time=Count("pk", filter=cohort & in_time),
        missed=Count("pk", filter=cohort & missed),
        replied=Count("pk", filter=replied),
        escalated=Count("pk", filter=escalated),
        by_buyer=Count("pk", filter=escalated & Q(escalation_cause=EscalationCause.BUYER)),
        taken_over=Count("pk", filter=escalated & Q(escalation_cause=EscalationCause.TAKEOVER)),
        by_agent=Count("pk", filter=escalated & Q(escalation_cause=EscalationCause.AGENT)),
        disputes=Count("pk", filter=provider & _after("opened_at", since)),
        disputes_lost=Count("pk", filter=provider & Q(outcome=Outcome.REFUND, resolved_at__isnull=False)
                            & _after("resolved_at", since)),
        decided_for_buyer=Count("pk", filter=Q(channel=Channel.PLATFORM, decided_at__isnull=False,
                                               outcome__in=FOR_BUYER) & _after("decided_at", since)),
    )
    return Performance(
        period=period,
        since=since,
        claims_opened=figures["opened"],
        first_replies_in_time=figures["in_time"],
        first_replies_counted=figures["in_time"] + figures["missed"],
        median_first_reply=_median_first_reply(seller, replied, figures["replied"]),
        escalated=figures["escalated"],
        escalated_by_buyer=figures["by_buyer"],
        taken_over=figures["taken_over"],
        escalated_by_agent=figures["by_agent"],
        provider_disputes=figures["disputes"],
        provider_disputes_lost=figures["disputes_lost"],
        decided_for_buyer=figures["decided_for_buyer"],
        ledger=_ledger_totals(seller, since),
        recent_entries=list(LedgerEntry.objects.filter(Q(seller=seller) & _after("created_at", since))
                            .select_related("claim").order_by("-created_at", "-id")[:20]),
        weeks=_weeks(seller, cohort, since, now),
    )


def _weeks(seller: Seller, cohort: Q, since: dt.datetime | None, now: dt.datetime) -> list[Week]:
    """The claims the figures count (`cohort`), week by week from the week of `since` (or of the first claim) to this
    week, in one query: weeks start on Monday in the marketplace's zone, so a claim opened on Sunday at 23:30 in
    Berlin counts in that week even when it was Monday in UTC. Weeks without claims are there, with zeros."""
    zone = timezone.get_default_timezone()  # settings.TIME_ZONE is the marketplace's zone
    took = ExpressionWrapper(F("first_replied_at") - F("opened_at"), output_field=DurationField())
    rows = (Claim.objects.filter(Q(seller=seller) & cohort).annotate(week=TruncWeek("opened_at", tzinfo=zone))
            .values("week").order_by()
            .annotate(opened=Count("pk"), replied=Count("first_replied_at"), took=Sum(took)))
    found = {_local_day(row["week"], zone): row for row in rows}
    this_week = _monday(timezone.localdate(now, zone))
    first = _monday(timezone.localdate(since, zone)) if since is not None else min(found, default=this_week)
    weeks = []
    week = first
    while week <= this_week:
        row = found.get(week, {})
        weeks.append(Week(start=week, opened=row.get("opened", 0), replied=row.get("replied", 0),
                          reply_time=_duration(row.get("took"))))
        week += dt.timedelta(days=7)
    return weeks


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _local_day(value: dt.datetime | dt.date, zone: dt.tzinfo) -> dt.date:
    if isinstance(value, dt.datetime):
        return (timezone.localtime(value, zone) if timezone.is_aware(value) else value).date()
    return value


def _duration(value: dt.timedelta | int | float | None) -> dt.timedelta | None:
    """SQLite may hand a sum of durations back as microseconds."""
    if value is None or isinstance(value, dt.timedelta):
        return value
    return dt.timedelta(microseconds=value)


def _median_first_reply(seller: Seller, replied: Q, count: int) -> dt.timedelta | None:
    """The median in the database on every backend: order by the reply time and read the middle row(s)."""
    if not count:
        return None
    took = ExpressionWrapper(F("first_replied_at") - F("opened_at"), output_field=DurationField())
    middle: list[Any] = list(Claim.objects.filter(Q(seller=seller) & replied).annotate(took=took)
                             .order_by("took", "pk").values_list("took", flat=True)[(count - 1) // 2:count // 2 + 1])
    return sum(middle, dt.timedelta()) / len(middle)


def _ledger_totals(seller: Seller, since: dt.datetime | None) -> list[LedgerTotals]:
    in_period = _after("created_at", since)
    rows = (LedgerEntry.objects.filter(seller=seller).values("currency").order_by("currency").annotate(
        balance=Sum("amount"),
        recovered=Sum("amount", filter=in_period & Q(kind=LedgerKind.REFUND_RECOVERY)),
        fines=Sum("amount", filter=in_period & Q(kind=LedgerKind.DISPUTE_FINE)),
        adjustments=Sum("amount", filter=in_period & Q(kind=LedgerKind.ADJUSTMENT)),
        settlements=Sum("amount", filter=in_period & Q(kind=LedgerKind.SETTLEMENT)),
    ))
    return [LedgerTotals(row["currency"], money(row["balance"]), money(row["recovered"]), money(row["fines"]),
                         money(row["adjustments"]), money(row["settlements"])) for row in rows]

"""Keeping up with one's claims: the list of what happened on them (the notifications claims.notifications writes with
every email), its unread count in the header, the kinds of email a person may turn off, and the buyer's claims in one
list ("My requests"). Reads only; the writes are in claims.services.keeping_up."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sellers.selectors import seller_ids_of

from . import deadlines, roles
from .choices import OPEN_STATES, ClaimState, EmailKind, Party
from .models import Claim, ClaimItem, ClaimView, EmailPreference, Notification
from .selectors import buyer_deadline

if TYPE_CHECKING:
    from typing import TypedDict

    from django.contrib.auth.models import User
    from django_stubs_ext import StrPromise, WithAnnotations

    class _NewActivity(TypedDict):
        is_unread: bool

    # A claim of `with_new_activity`: whether something happened on it since the person last saw it.
    ClaimWithActivity = WithAnnotations[Claim, _NewActivity]

NOTIFICATIONS_PER_PAGE = 25
MY_CLAIMS_PER_PAGE = 25
# The header shows at most "99+": counting stops there, so a long-unread list costs no more than a short one.
UNREAD_CAP = 99

# --- notifications --------------------------------------------------------------------------------------------


def notifications_of(user: User) -> QuerySet[Notification]:
    """A person's notifications, newest first, with their claims (for the number and the link) in the same query."""
    return (Notification.objects.filter(user=user).select_related("claim")
            # the claim's state too: django-fsm-2 reads it as the claim is loaded
            .only("id", "event", "text", "created_at", "read_at", "claim__number", "claim__state", "claim__buyer_id",
                  "claim__seller_id")
            .order_by("-created_at", "-id"))


@dataclasses.dataclass(frozen=True)
class Unread:
    count: int

    @property
    def label(self) -> str:
        return f"{UNREAD_CAP}+" if self.count > UNREAD_CAP else str(self.count)


def unread(user: User, *, except_claim: str = "") -> Unread:
    """How many notifications the person has not read, counted to just past the cap (one query on the partial index
    `notification_unread_idx`). `except_claim`: the number of the claim on the page being shown, whose news the
    person is reading right now (claims.services.mark_seen records it once the page is sent)."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if except_claim:
        rows = rows.exclude(claim__number=except_claim)
    return Unread(rows.order_by().values("pk")[:UNREAD_CAP + 1].count())


def claim_link(notification: Notification, user: User) -> str:
    """Where this person follows the claim: their own claim page as its buyer, the seller dashboard's as the seller's
    staff, the support console's as an agent. No query: the roles are read once per request."""
    claim = notification.claim
    if claim is None:
        return ""
    if claim.buyer_id == user.pk:
        return reverse("claims:detail", kwargs={"number": claim.number})
    if claim.seller_id in seller_ids_of(user):
        return reverse("sellers:claim", kwargs={"number": claim.number})
    if roles.is_agent(user):
        return reverse("admin:claims_claim_change", args=[claim.pk])
    return ""


# --- email preferences ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KindOfEmail:
    kind: str
    label: Any
    examples: Any

    @property
    def always(self) -> bool:
        return self.kind == EmailKind.ALWAYS


# In the order of the page; what each kind holds is the `kind` of the events in claims.notifications.EVENTS.
KINDS = [
    KindOfEmail(EmailKind.MESSAGES, EmailKind.MESSAGES.label,
                gettext_lazy("A new message from the buyer, the seller or our support team.")),
    KindOfEmail(EmailKind.OFFERS, EmailKind.OFFERS.label,
                gettext_lazy("An offer made on your claim, and whether an offer was accepted or declined.")),
    KindOfEmail(EmailKind.PROGRESS, EmailKind.PROGRESS.label,
                gettext_lazy("The claim is with our support team, an answer to a question arrived, a returned "
                             "item is on its way or arrived, an item was collected, the buyer closed the claim.")),
    KindOfEmail(EmailKind.SURVEYS, EmailKind.SURVEYS.label,
                gettext_lazy("After a claim is resolved, one email asking how satisfied you are.")),
    KindOfEmail(EmailKind.ALWAYS, EmailKind.ALWAYS.label,
                gettext_lazy("The receipt of a claim and its written resolution, questions from our support team and "
                             "their deadlines, reminders, rejections, decisions, the platform taking over, refunds, "
                             "returns and their deadlines, and every notice the law requires in writing.")),
]
ALWAYS_REASON = gettext_lazy("Always sent: these emails carry a deadline, a decision or a notice the law requires, so "
                             "they cannot be turned off.")


def email_settings(user: User) -> dict[str, bool]:
    """Whether the person gets each kind of email: on unless they turned it off; the always-sent kind always on."""
    off = set(EmailPreference.objects.filter(user=user, enabled=False).values_list("kind", flat=True))
    return {kind.kind: kind.always or kind.kind not in off for kind in KINDS}


# --- the buyer's claims ("My requests") ---------------------------------------------------------------------

OPEN, RESOLVED = "open", "resolved"
MY_CLAIMS_FILTERS = [("", gettext_lazy("All")), (OPEN, gettext_lazy("Open")),
                     (RESOLVED, gettext_lazy("Resolved"))]


def with_new_activity(claims: QuerySet[Claim], user: User) -> QuerySet[ClaimWithActivity]:
    """`is_unread`: something happened on the claim (Claim.last_activity_at) since the person last saw it
    (claims.models.ClaimView), or they never opened it."""
    seen = ClaimView.objects.filter(claim=OuterRef("pk"), user=user, seen_at__gte=OuterRef("last_activity_at"))
    return claims.annotate(is_unread=~Exists(seen))


def buyer_claims(user: User, *, show: str = "") -> QuerySet[Claim]:
    """The buyer's claims, the latest activity first, with their order and items in a fixed number of queries."""
    claims = with_new_activity(Claim.objects.filter(buyer=user), user).select_related("order").prefetch_related(
        Prefetch("items", queryset=ClaimItem.objects.select_related("order_item").order_by("id")))
    if show == OPEN:
        claims = claims.filter(state__in=OPEN_STATES)
    elif show == RESOLVED:
        claims = claims.filter(state=ClaimState.RESOLVED)
    return claims.order_by("-last_activity_at", "-pk")


@dataclasses.dataclass(frozen=True)
class NextStep:
    """The deadline that matters now on one of the buyer's claims, short enough for a list: who must act, by when.
    The claim page says the same in a sentence (claims.selectors.buyer_deadline, which this reads)."""

    label: str | StrPromise
    due_at: dt.datetime | None = None
    yours: bool = False  # the buyer may or must act now
    past: bool = False


def next_step(claim: Claim, now: dt.datetime | None = None) -> NextStep:
    now = now or timezone.now()
    if not claim.is_open:
        return NextStep(claim.get_outcome_display() or ClaimState.RESOLVED.label)
    deadline = buyer_deadline(claim, now)
    if deadline.due_at is None:
        return NextStep(_("You can act now") if deadline.urgent else _("No deadline right now"), yours=deadline.urgent)
    who = next((event.who for event in deadlines.due_events(claim) if event.at == deadline.due_at), "")
    labels: dict[str, str] = {Party.BUYER: _("You need to act by"), Party.SELLER: _("The seller has until"),
                              Party.AGENT: _("We decide by")}
    label = labels.get(who, _("Next deadline"))
    return NextStep(label, deadline.due_at, yours=deadline.urgent or who == Party.BUYER,
                    past=deadlines.is_overdue(deadline.due_at, now))

"""Which remedies the warranty claim policy allows on a defective claim now, and why: the one answer the services
(make_offer, decide), the seller's offer form, the console's decide and offer forms, the pages and the API ask.

The policy (warranty-claim-policy-seller.txt, III) gives the buyer of a defective item:
- "For removable defects: The buyer has the right to request that the defect be remedied free of charge ... or that
  the defective item be replaced ... The seller is always entitled, at their discretion, to replace the defective
  item": repair or replacement.
- "For a removable defect that prevents the item from being properly used: The buyer is entitled to request a
  replacement of the item or to withdraw from the contract"; the same for an irremovable defect that prevents use.
- "The buyer has the same rights if the same defect reoccurs after repair (... after at least two repairs) or if the
  item has multiple different defects (defined as at least three defects)": replacement or withdrawal, no repair.
- "For an irremovable defect that does not prevent the item from being properly used: The buyer is entitled to an
  appropriate price discount".
- "If the resolution of the warranty claim takes longer than 60 days, the buyer will have the same rights as if the
  defect were one that cannot be remedied" (`Claim.warranty_max_reached_at`): replacement or withdrawal.
- "In the case of a discount, the goods cannot later be claimed for defects for which the discount was granted":
  a defect compensated by a discount gets nothing more (the seller may reject, the platform deny).

How this reads as offers and outcomes (decided here):
- Withdrawal (a full refund, a return for refund) and a replacement are always allowed: they are the most a buyer can
  get, and "the seller is always entitled ... to replace". An unclassified defective claim may get only these.
- A repair needs a removable defect, fewer than two earlier repairs of the same defect, fewer than three different
  defects, and the claim not past its legal maximum. For a removable defect that prevents use the buyer is entitled to
  more than a repair, so a repair is allowed there only when the buyer asked for one ("The choice of how to resolve
  the warranty claim will be made by the buyer").
- A discount or a partial refund (money for keeping a defective item: the policy's price discount) needs an
  irremovable defect that does not prevent use, or, for any classified defect, the buyer having asked for a discount
  (their own choice of less than they are entitled to).

The history counts per order item since the item's latest replacement: a replacement unit starts a new history.
Claims for other reasons (not received, wrong item, ...) are not restricted here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core import formatting

from .choices import DECIDE_OUTCOMES, DefectType, DesiredOutcome, OfferKind, Outcome, Reason, RemedyKind
from .errors import ClaimError
from .models import Claim, Defect, DefectRemedy

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

# "recurrence is understood as occurring after at least two repairs"
REPAIRS_BEFORE_REPLACEMENT = 2
# "multiple different defects (defined as at least three defects)"
DIFFERENT_DEFECTS_FOR_REPLACEMENT = 3

# What the policy calls the buyer's rights, as the kinds of offers and outcomes that give them.
WITHDRAWAL, REPLACEMENT, REPAIR, DISCOUNT = "withdrawal", "replacement", "repair", "discount"
REMEDY_OF: dict[str, str] = {
    OfferKind.FULL_REFUND: WITHDRAWAL,
    OfferKind.RETURN_FOR_REFUND: WITHDRAWAL,
    Outcome.REFUND: WITHDRAWAL,
    OfferKind.REPLACEMENT: REPLACEMENT,
    OfferKind.REPAIR: REPAIR,
    OfferKind.PARTIAL_REFUND: DISCOUNT,
    OfferKind.DISCOUNT: DISCOUNT,
}
ALWAYS = frozenset({WITHDRAWAL, REPLACEMENT})
# The buyer's rights by the type of defect (claims.choices.DefectType).
REMEDIES: dict[str, frozenset[str]] = {
    DefectType.REMOVABLE: frozenset({REPAIR, REPLACEMENT}),
    DefectType.REMOVABLE_PREVENTS_USE: frozenset({REPLACEMENT, WITHDRAWAL}),
    DefectType.IRREMOVABLE: frozenset({DISCOUNT}),
    DefectType.IRREMOVABLE_PREVENTS_USE: frozenset({REPLACEMENT, WITHDRAWAL}),
}
REMOVABLE_TYPES = frozenset({DefectType.REMOVABLE, DefectType.REMOVABLE_PREVENTS_USE})
# What a resolved claim gave the defect it is about (DefectRemedy): a partial refund is money for keeping the
# defective item, the policy's price discount.
REMEDY_KIND_OF_OUTCOME: dict[str, RemedyKind] = {
    Outcome.REPAIR: RemedyKind.REPAIR,
    Outcome.REPLACEMENT: RemedyKind.REPLACEMENT,
    Outcome.DISCOUNT: RemedyKind.DISCOUNT,
    Outcome.PARTIAL_REFUND: RemedyKind.DISCOUNT,
    Outcome.REFUND: RemedyKind.REFUND,
}

COMPENSATED_RULE = gettext_lazy("“In the case of a discount, the goods cannot later be claimed for defects for which "
                                "the discount was granted.”")


def _day(moment: dt.datetime) -> str:
    return formatting.day(moment)


# --- the defect history of an order item ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HistoryRow:
    """One line of an item's defect history, for the pages: a defect found, or a remedy it got."""

    at: dt.datetime
    what: str
    defect: Defect
    claim_number: str
    current_unit: bool  # False: before the item's latest replacement (another unit)


@dataclasses.dataclass(frozen=True)
class ItemHistory:
    """Every defect of one order item with every remedy it got, oldest first."""

    order_item_id: int
    defects: list[Defect]
    remedies: list[DefectRemedy]

    def _replacement(self, exclude_claim_id: int | None) -> DefectRemedy | None:
        replacements = [r for r in self.remedies if r.kind == RemedyKind.REPLACEMENT and r.claim_id != exclude_claim_id]
        return replacements[-1] if replacements else None

    def replaced_by(self, exclude_claim_id: int | None = None) -> DefectRemedy | None:
        """The item's latest replacement (another claim's): what came before it was another unit."""
        return self._replacement(exclude_claim_id)

    def remedies_since_replacement(self, exclude_claim_id: int | None = None) -> list[DefectRemedy]:
        """The remedies of the unit the buyer has now, other than the excluded claim's own (a reopened claim)."""
        boundary = self._replacement(exclude_claim_id)
        start = self.remedies.index(boundary) + 1 if boundary is not None else 0
        return [r for r in self.remedies[start:] if r.claim_id != exclude_claim_id]

    def repairs_of(self, defect_id: int, exclude_claim_id: int | None = None) -> int:
        return sum(1 for r in self.remedies_since_replacement(exclude_claim_id)
                   if r.defect_id == defect_id and r.kind == RemedyKind.REPAIR)

    def compensation_of(self, defect_id: int, exclude_claim_id: int | None = None) -> DefectRemedy | None:
        """The discount that compensated this defect on the unit the buyer has now, if any."""
        return next((r for r in self.remedies_since_replacement(exclude_claim_id)
                     if r.defect_id == defect_id and r.kind == RemedyKind.DISCOUNT), None)

    def remedied_defect_ids(self, exclude_claim_id: int | None = None) -> set[int]:
        """The different defects the unit the buyer has now had, counted by the remedies they got (a claim that was
        denied or withdrawn established no defect)."""
        return {r.defect_id for r in self.remedies_since_replacement(exclude_claim_id)}

    def current_defects(self) -> list[Defect]:
        """The defects of the unit the buyer has now: found after the latest replacement, or remedied since."""
        boundary = self._replacement(None)
        if boundary is None:
            return list(self.defects)
        remedied = self.remedied_defect_ids()
        return [d for d in self.defects if d.created_at > boundary.created_at or d.pk in remedied]

    def rows(self) -> list[HistoryRow]:
        boundary = self._replacement(None)
        after = self.remedies.index(boundary) if boundary is not None else -1
        current_ids = {d.pk for d in self.current_defects()}
        rows = [HistoryRow(d.created_at, _("Defect found: %(type)s") % {"type": d.get_defect_type_display()}, d,
                           d.first_claim.number, d.pk in current_ids) for d in self.defects]
        rows += [HistoryRow(r.created_at, str(r.get_kind_display()), r.defect, r.claim.number, index >= after)
                 for index, r in enumerate(self.remedies)]
        return sorted(rows, key=lambda row: row.at)


def item_histories(order_item_ids: Iterable[int]) -> dict[int, ItemHistory]:
    """The defect history of each order item, in two queries whatever the number of items and rows."""
    ids = sorted(set(order_item_ids))
    if not ids:
        return {}
    defects = list(Defect.objects.filter(order_item_id__in=ids).select_related("first_claim", "order_item")
                   .order_by("created_at", "id"))
    by_id = {d.pk: d for d in defects}
    remedies = list(DefectRemedy.objects.filter(defect__order_item_id__in=ids).select_related("claim")
                    .order_by("created_at", "id")) if defects else []
    for remedy in remedies:
        remedy.defect = by_id[remedy.defect_id]  # the same objects: no query per row
    return {pk: ItemHistory(pk, [d for d in defects if d.order_item_id == pk],
                            [r for r in remedies if r.defect.order_item_id == pk]) for pk in ids}


def _defect_item_id(claim: Claim) -> int:
    """The order item of the claim's defect; asked only of a claim linked to one (`defect_id` set)."""
    return cast(Defect, claim.defect).order_item_id


def item_history(order_item_id: int) -> ItemHistory:
    return item_histories([order_item_id])[order_item_id]


def prefetch_histories(claims: Iterable[Claim]) -> None:
    """The defect history `remedies_for` reads, for many claims at once (a list asking each what may be done: the
    API's), in two queries: kept on each defective claim linked to a defect (with `defect` already read)."""
    linked = [claim for claim in claims if claim.reason == Reason.DEFECTIVE and claim.defect_id is not None]
    histories = item_histories(_defect_item_id(claim) for claim in linked)
    for claim in linked:
        claim._defect_history = histories[_defect_item_id(claim)]  # type: ignore[attr-defined]  # a cache on the object


def defect_label(defect: Defect) -> str:
    """How a defect is named in choices: its summary, type, and the claim and day it was first claimed on."""
    return _("%(summary)s (%(type)s; claim %(number)s, %(date)s)") % {
        "summary": defect.summary, "type": defect.get_defect_type_display(), "number": defect.first_claim.number,
        "date": _day(defect.created_at)}


# --- what the policy allows on one claim now --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Remedies:
    """The remedies the policy allows on a claim now (`allowed`: WITHDRAWAL, REPLACEMENT, REPAIR, DISCOUNT), the
    sentence that says why (`why`, for the seller and the platform; `for_buyer`, to the buyer), and the facts behind
    it."""

    applies: bool  # a defective claim: the policy's remedies apply
    defect_type: str = ""
    allowed: frozenset[str] = frozenset()
    why: str = ""
    for_buyer: str = ""
    repairs: int = 0
    different_defects: int = 0
    compensated_by: DefectRemedy | None = None
    history: ItemHistory | None = None

    @property
    def classified(self) -> bool:
        return bool(self.defect_type)

    def allows(self, kind_or_outcome: str) -> bool:
        if not self.applies or kind_or_outcome not in REMEDY_OF:
            return True
        return REMEDY_OF[kind_or_outcome] in self.allowed

    @property
    def offer_kinds(self) -> list[str]:
        return [kind for kind in OfferKind.values if self.allows(kind)]

    @property
    def outcomes(self) -> list[str]:
        """The agent's decisions allowed now (a denial always is)."""
        return [outcome for outcome in DECIDE_OUTCOMES if self.allows(outcome)]


def remedies_for(claim: Claim, *, history: ItemHistory | None = None) -> Remedies:
    """What the policy allows on `claim` now, and why. Two queries for a claim linked to a defect, none otherwise."""
    if claim.reason != Reason.DEFECTIVE:
        return Remedies(applies=False)
    if claim.defect_id is not None and history is None:
        history = getattr(claim, "_defect_history", None) or item_history(_defect_item_id(claim))
    own = claim.pk
    compensated = history.compensation_of(claim.defect_id, own) if history and claim.defect_id else None
    repairs = history.repairs_of(claim.defect_id, own) if history and claim.defect_id else 0
    different = len(history.remedied_defect_ids(own) | {claim.defect_id}) if history and claim.defect_id else 0
    facts: dict[str, Any] = {"repairs": repairs, "different_defects": different, "compensated_by": compensated,
                             "history": history, "defect_type": claim.defect_type}
    if compensated is not None:
        words = {"number": compensated.claim.number, "date": _day(compensated.created_at), "rule": COMPENSATED_RULE}
        return Remedies(True, allowed=frozenset(), **facts, why=_(
            "This defect was already compensated by a price discount on claim %(number)s on %(date)s, so the buyer "
            "cannot claim it again: %(rule)s The seller may reject the claim; the platform may deny it.") % words,
            for_buyer=_("This defect was already compensated by a price discount on claim %(number)s on %(date)s, "
                        "so it cannot be claimed again: %(rule)s") % words)
    if not claim.defect_type:
        return Remedies(True, allowed=ALWAYS, **facts, why=_(
            "The defect is not classified yet: until it is, only a replacement, a full refund or a return for refund "
            "can be offered. A repair, a discount or a partial refund needs the type of defect first."),
            for_buyer=_("The seller has not yet said what kind of defect it is. You can always be offered a "
                        "replacement or your money back."))

    asked = claim.desired_outcome
    allowed = set(ALWAYS | REMEDIES[claim.defect_type])
    if asked == DesiredOutcome.REPAIR and claim.defect_type in REMOVABLE_TYPES:
        allowed.add(REPAIR)
    if asked == DesiredOutcome.DISCOUNT:
        allowed.add(DISCOUNT)
    why_words, buyer_words = _TYPE_WORDS[claim.defect_type]
    why, for_buyer = str(why_words), str(buyer_words)
    if repairs >= REPAIRS_BEFORE_REPLACEMENT:
        allowed.discard(REPAIR)
        why = ngettext("This defect was repaired %(count)d time already, so the buyer is entitled to a replacement "
                       "or withdrawal (a full refund), not another repair.",
                       "This defect was repaired %(count)d times already, so the buyer is entitled to a replacement "
                       "or withdrawal (a full refund), not another repair.", repairs) % {"count": repairs}
        for_buyer = ngettext("This defect was repaired %(count)d time already, so you are entitled to a replacement "
                             "or to withdraw from the purchase (a full refund).",
                             "This defect was repaired %(count)d times already, so you are entitled to a replacement "
                             "or to withdraw from the purchase (a full refund).", repairs) % {"count": repairs}
    elif different >= DIFFERENT_DEFECTS_FOR_REPLACEMENT:
        allowed.discard(REPAIR)
        why = ngettext("The item has had %(count)d different defect, so the buyer is entitled to a replacement or "
                       "withdrawal (a full refund), not another repair.",
                       "The item has had %(count)d different defects, so the buyer is entitled to a replacement or "
                       "withdrawal (a full refund), not another repair.", different) % {"count": different}
        for_buyer = ngettext("The item has had %(count)d different defect, so you are entitled to a replacement or "
                             "to withdraw from the purchase (a full refund).",
                             "The item has had %(count)d different defects, so you are entitled to a replacement or "
                             "to withdraw from the purchase (a full refund).", different) % {"count": different}
    elif claim.warranty_max_reached_at is not None:
        allowed.discard(REPAIR)
        why = _("The claim was not resolved within the legal maximum, so the buyer has the rights of an irremovable "
                "defect: a replacement or withdrawal (a full refund).")
        for_buyer = _("Your claim was not resolved within the legal maximum, so you are entitled to a replacement or "
                      "to withdraw from the purchase (a full refund).")
    if asked == DesiredOutcome.DISCOUNT and DISCOUNT not in REMEDIES[claim.defect_type]:
        why += " " + _("The buyer asked for a price discount, so a discount or a partial refund can be offered too.")
    return Remedies(True, allowed=frozenset(allowed), **facts, why=why, for_buyer=for_buyer)


_TYPE_WORDS: dict[str, tuple[StrPromise, StrPromise]] = {
    DefectType.REMOVABLE: (
        gettext_lazy("A removable defect: the buyer is entitled to a free repair or a replacement, and the seller may "
                     "always replace the item instead."),
        gettext_lazy("A removable defect: you are entitled to a free repair or a replacement.")),
    DefectType.REMOVABLE_PREVENTS_USE: (
        gettext_lazy("A removable defect that prevents proper use: the buyer is entitled to a replacement or to "
                     "withdraw from the purchase (a full refund)."),
        gettext_lazy("A defect that prevents proper use: you are entitled to a replacement or to withdraw from the "
                     "purchase (a full refund).")),
    DefectType.IRREMOVABLE: (
        gettext_lazy("An irremovable defect that does not prevent use: the buyer is entitled to an appropriate price "
                     "discount (or may be offered a replacement or a full refund)."),
        gettext_lazy("A defect that cannot be removed but does not prevent use: you are entitled to an appropriate "
                     "price discount.")),
    DefectType.IRREMOVABLE_PREVENTS_USE: (
        gettext_lazy("An irremovable defect that prevents proper use: the buyer is entitled to a replacement or to "
                     "withdraw from the purchase (a full refund)."),
        gettext_lazy("A defect that cannot be removed and prevents proper use: you are entitled to a replacement or "
                     "to withdraw from the purchase (a full refund).")),
}


def remedy_refusal(claim: Claim, kind_or_outcome: str, *, remedies: Remedies | None = None) -> ClaimError | None:
    """The ClaimError make_offer and decide raise when the policy does not allow this offer kind or outcome on the
    claim now; None when it does (and for every claim that is not about a defect)."""
    remedies = remedies or remedies_for(claim)
    if remedies.allows(kind_or_outcome):
        return None
    label = OfferKind(kind_or_outcome).label if kind_or_outcome in OfferKind.values else Outcome(kind_or_outcome).label
    return ClaimError(_("“%(remedy)s” is not possible on claim %(number)s now. %(why)s")
                      % {"remedy": label, "number": claim.number, "why": remedies.why}, code="invalid")


# --- a defect compensated by a discount: never again ------------------------------------------------------------


def compensation_refusal(defect: Defect, *, history: ItemHistory | None = None,
                         exclude_claim_id: int | None = None) -> ClaimError | None:
    """A new claim for a defect already compensated by a discount (on the unit the buyer has now) is refused, naming
    the claim, the day and the policy sentence."""
    history = history or item_history(defect.order_item_id)
    remedy = history.compensation_of(defect.pk, exclude_claim_id)
    if remedy is None:
        return None
    return ClaimError(_("“%(defect)s” was compensated by a price discount on claim %(number)s on %(date)s, so it "
                        "cannot be claimed again: %(rule)s If this is a different problem, do not choose it from the "
                        "list.") % {"defect": defect.summary, "number": remedy.claim.number,
                                   "date": _day(remedy.created_at), "rule": COMPENSATED_RULE}, code="invalid")


def is_compensated(claim: Claim) -> bool:
    """The claim is about a defect a discount already compensated: the seller may reject it (RejectionCode
    compensated), the platform deny it (DenialReason defect_compensated)."""
    return remedies_for(claim).compensated_by is not None


def compensated_reason_refusal(claim: Claim) -> ClaimError | None:
    """Rejecting a claim as compensated (RejectionCode compensated) or denying it so (DenialReason defect_compensated)
    needs the claim to be about a defect a discount compensated."""
    if is_compensated(claim):
        return None
    return ClaimError(_("This claim is not about a defect already compensated by a price discount: classify it as the "
                        "same defect as the discounted one first, or choose another reason."), code="invalid")


# --- what the pages show ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DefectOverview:
    """A defective claim's defect for the pages: what the policy allows now and the claimed items' defect history."""

    remedies: Remedies
    histories: dict[int, ItemHistory]

    @property
    def rows(self) -> list[HistoryRow]:
        return sorted((row for history in self.histories.values() for row in history.rows()), key=lambda r: r.at)

    @property
    def offer_labels(self) -> list[str]:
        return [str(OfferKind(kind).label) for kind in self.remedies.offer_kinds]

    def earlier_defects(self, claim: Claim) -> list[Defect]:
        """The defects of the claimed units the claim may be "the same defect again" of (not its own)."""
        return [d for history in self.histories.values() for d in history.current_defects()
                if d.first_claim_id != claim.pk]


def defect_overview(claim: Claim) -> DefectOverview | None:
    """None for a claim that is not about a defect. Three queries: the claim's defect and the claimed items' history
    (the claimed items are the page's own prefetch)."""
    if claim.reason != Reason.DEFECTIVE:
        return None
    item_ids = [ci.order_item_id for ci in claim.items.all()]
    if claim.defect_id is not None:
        item_ids.append(_defect_item_id(claim))
    histories = item_histories(item_ids)
    history = histories.get(_defect_item_id(claim)) if claim.defect_id is not None else None
    return DefectOverview(remedies_for(claim, history=history), histories)


def same_defect_choices(order_item_ids: Iterable[int]) -> list[tuple[str, str]]:
    """The earlier defects a buyer may say a new claim is about ("Is it one of these?" on the Get help form): those of
    the unit they have now, of each item."""
    histories = item_histories(order_item_ids)
    return [(str(d.pk), f"{d.order_item.title}: {defect_label(d)}") for history in histories.values()
            for d in history.current_defects()]

"""The defect of a defective claim: classifying it (the seller, or an agent once the platform has the claim), and
recording the remedy it got when the claim is resolved. What the classification allows is claims.remedies'."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import OrderItem

from .. import roles
from ..abilities import classify_defect_refusal
from ..choices import ClaimState, DefectType, OfferStatus, Party
from ..errors import ClaimError
from ..models import Claim, Defect, DefectRemedy
from ..notifications import notify
from ..remedies import REMEDY_KIND_OF_OUTCOME, remedies_for
from ._base import User, _clean_text, _fire, _lock, _record

SUMMARY_LENGTH = 200


def classify_defect(*, claim: Claim, by: User, defect_type: str, summary: str = "", same_as: Defect | int | None = None,
                    item: OrderItem | int | None = None) -> Claim:
    """Say what kind of defect the claimed item has (claims.choices.DefectType), which decides the remedies the policy
    allows (claims.remedies). The seller's staff while the claim is with them, an agent once the platform has it;
    defective claims only; again while the claim is open (the classification is updated).

    Without `same_as` the claim gets a defect of its own on the claimed item (`item`, needed only when the claim has
    several items; `summary` defaults to the start of the buyer's description). With `same_as`, an earlier defect of
    the same item, the claim is "the same defect again": its repairs count, and a discount it got refuses the claim.
    The buyer is told the type and what they are entitled to."""
    if defect_type not in DefectType.values:
        raise ClaimError(_("Please choose the type of defect."))
    summary = _clean_text(summary, what=_("the defect"), required=False, limit=SUMMARY_LENGTH)
    with transaction.atomic():
        claim = _lock(claim)
        if refusal := classify_defect_refusal(claim, by):
            raise refusal
        now = timezone.now()
        claimed = {ci.order_item_id: ci.order_item for ci in claim.items.select_related("order_item")}
        own = Defect.objects.filter(pk=claim.defect_id, first_claim=claim).first() if claim.defect_id else None
        if same_as is not None:
            defect = Defect.objects.select_related("first_claim").filter(
                pk=same_as.pk if isinstance(same_as, Defect) else same_as).first()
            if defect is None or defect.order_item_id not in claimed or defect.first_claim_id == claim.pk:
                raise ClaimError(_("Please choose an earlier defect of an item of this claim."))
        else:
            order_item = _defective_item(claim, claimed, item, own)
            if own is not None and own.order_item_id == order_item.pk:
                defect = own
                defect.defect_type = defect_type
                defect.summary = summary or defect.summary
                defect.save(update_fields=["defect_type", "summary"])
            else:
                defect = Defect.objects.create(order_item=order_item, defect_type=defect_type, first_claim=claim,
                                               summary=summary or _summary_of(claim), created_at=now)
        if claim.state == ClaimState.AWAITING_SELLER and roles.party_of(claim, by) == Party.SELLER:
            _fire(claim, "reply", by, at=now)  # telling the buyer what the defect is answers the claim
        claim.defect, claim.defect_type, claim.last_activity_at = defect, defect_type, now
        Claim.objects.filter(pk=claim.pk).update(defect=defect, defect_type=defect_type, last_activity_at=now)
        if own is not None and own.pk != defect.pk and not own.remedies.exists() and not own.claims.exists():
            own.delete()  # the claim's own defect, replaced by an earlier one or another item's: nothing refers to it
        remedies = remedies_for(claim)
        _withdraw_offer_not_allowed(claim, remedies, now)
        reason = f"{DefectType(defect_type).label}: {defect.summary}"
        log = _record(claim, "classify_defect", by=by, reason=reason, at=now)
        notify(claim, "defect_classified", to=[Party.BUYER], key=log)
    return claim


def _defective_item(claim: Claim, claimed: dict[int, OrderItem], item: Any, own: Defect | None) -> OrderItem:
    if item is not None:
        pk = item.pk if isinstance(item, OrderItem) else item
        if pk not in claimed:
            raise ClaimError(_("Please choose an item of this claim."))
        return claimed[pk]
    if own is not None and own.order_item_id in claimed:
        return claimed[own.order_item_id]
    if len(claimed) == 1:
        return next(iter(claimed.values()))
    raise ClaimError(_("Please choose which item has the defect."))


def _summary_of(claim: Claim) -> str:
    first_line = (claim.description.strip().splitlines() or [""])[0]
    return first_line[:SUMMARY_LENGTH - 1] + "…" if len(first_line) > SUMMARY_LENGTH else first_line


def _withdraw_offer_not_allowed(claim: Claim, remedies: Any, now: Any) -> None:
    """A pending offer the new classification no longer allows lapses: the buyer cannot accept it any more."""
    for offer in claim.offers.filter(status=OfferStatus.PENDING):
        if not remedies.allows(offer.kind):
            offer.status = OfferStatus.WITHDRAWN
            offer.answered_at = now
            offer.save(update_fields=["status", "answered_at"])


def record_defect_remedy(claim: Claim) -> DefectRemedy | None:
    """A resolved claim about a known defect adds what the defect got to the item's history: a repair, a replacement,
    a discount (or a partial refund) or a refund. Once per defect and claim: a reopened and re-decided claim keeps
    the remedy it recorded first (the database's unique constraint backs it under concurrency)."""
    kind = REMEDY_KIND_OF_OUTCOME.get(claim.outcome)
    if claim.defect_id is None or kind is None:
        return None
    if DefectRemedy.objects.filter(defect_id=claim.defect_id, claim=claim).exists():
        return None
    try:
        with transaction.atomic():
            return DefectRemedy.objects.create(defect_id=claim.defect_id, claim=claim, kind=kind,
                                               created_at=claim.resolved_at or timezone.now())
    except IntegrityError:
        return None

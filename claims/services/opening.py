"""Opening claims: the buyer's (after the eligibility rules) and the payment-provider disputes agents record."""


from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order
from sellers.models import SellerStatus, WarrantyPolicy

from ..calendar import add_business_days, add_calendar_days
from ..choices import Channel, EscalationCause, EvidenceKind, Party, Reason
from ..eligibility import check_eligibility
from ..errors import ClaimError
from ..models import Claim, ClaimItem, ClaimTransition, Defect
from ..notifications import notify
from ..policy import Policy, policy_for_order
from ..remedies import compensation_refusal
from ._base import (
    User,
    _files_removed_on_failure,
    _fire,
    _normalise_items,
    _prepare_uploads,
    _refuse_if_already_claimed,
    _store_evidence,
)

# --- opening --------------------------------------------------------------------------------------------


def open_claim(*, order: Order, buyer: User, reason: str, description: str, desired_outcome: str,
               items: Any = None, discovered_on: dt.date | None = None, evidence: Iterable[Any] = (),
               collect_in_person: bool = False, same_defect: Defect | int | None = None) -> Claim:
    """Open a claim for the order's buyer (SPEC section 9). Raises ClaimError (a ValidationError) saying why
    it is not allowed. `items=None` claims every item of the order; otherwise a list of items (whole
    quantity), of (item, quantity) pairs, or a mapping item → quantity. `collect_in_person`: the buyer brings a
    defective item to a seller that offers collection and collects it there (claims.collection)."""
    now = timezone.now()
    policy = policy_for_order(order)
    order = Order.objects.select_related("seller").prefetch_related("items", "shipments").get(pk=order.pk)
    pairs = _normalise_items(order, items)
    files = _prepare_uploads(evidence, kind=EvidenceKind.PHOTO)
    trial_days = order.seller.trial_days
    check_eligibility(
        order=order, buyer=buyer, reason=reason, description=description, desired_outcome=desired_outcome,
        items=pairs, discovered_on=discovered_on if reason == Reason.DEFECTIVE else None,
        photo_count=sum(1 for f in files if f.kind == EvidenceKind.PHOTO), now=now, policy=policy,
        trial_days=trial_days,
    )
    _refuse_if_already_claimed(pairs)
    defect = _same_defect(same_defect, pairs) if reason == Reason.DEFECTIVE else None
    storage_fee_per_day = _collection_terms(order, reason) if collect_in_person else None

    with _files_removed_on_failure() as stored, transaction.atomic():
        claim = Claim(
            order=order, buyer=buyer, seller=order.seller, reason=reason, description=description.strip(),
            desired_outcome=desired_outcome, discovered_on=discovered_on if reason == Reason.DEFECTIVE else None,
            channel=Channel.PLATFORM, currency=order.currency, opened_at=now, policy=policy.as_snapshot(),
            collect_in_person=collect_in_person, storage_fee_per_day=storage_fee_per_day,
        )
        claim.defect = defect
        _set_deadlines(claim, now, policy)
        claim.save()
        try:
            with transaction.atomic():
                ClaimItem.objects.bulk_create(
                    [ClaimItem(claim=claim, order_item=item, quantity=qty) for item, qty in pairs]
                )
        except IntegrityError as exc:
            # Lost a race with another claim on the same item: the database constraint decides.
            raise ClaimError(_("There is already an open claim for this item. You can follow it from your "
                               "order page."), code="conflict") from exc
        # After the items' insert: a claim resolving on the same item meanwhile has committed its discount by now.
        if defect is not None and (refusal := compensation_refusal(defect)):
            raise refusal
        _store_evidence(claim, files, by=buyer, party=Party.BUYER, stored=stored)
        log = ClaimTransition.objects.create(claim=claim, name="open", from_state="", to_state=claim.state,
                                             actor=buyer, party=Party.BUYER, created_at=now)
        notify(claim, "receipt", to=[Party.BUYER], key=log)
        if order.seller.status == SellerStatus.ACTIVE:
            notify(claim, "opened", to=[Party.SELLER], key=log)
        else:
            _fire(claim, "take_over", None, reason=_("The seller is not active; the platform handles this claim."),
                  cause=EscalationCause.SELLER_SUSPENDED, at=now)
    return claim


def _collection_terms(order: Order, reason: str) -> Decimal:
    """The storage fee per day of goods a buyer collects in person: the seller's, copied onto the claim, so a later
    change of the seller's terms never changes a claim's fee. Only a warranty claim, and only where the seller offers
    collection."""
    terms = WarrantyPolicy.objects.filter(seller_id=order.seller_id).first()
    if reason != Reason.DEFECTIVE or terms is None or not terms.offers_collection:
        raise ClaimError(_("This seller does not offer collecting a claimed item in person; please send it."))
    return terms.storage_fee_per_day


def _set_deadlines(claim: Claim, now: dt.datetime, policy: Policy) -> None:
    claim.first_reply_due_at = now + dt.timedelta(hours=policy.first_reply_hours)
    claim.resolution_due_at = add_business_days(now, policy.resolution_business_days, time_zone=policy.time_zone,
                                                country=policy.country, subdivision=policy.subdivision)
    claim.hard_deadline_at = add_calendar_days(now, policy.hard_deadline_days, time_zone=policy.time_zone)
    claim.refresh_next_deadline()


def _same_defect(same_defect: Defect | int | str | None, pairs: Any) -> Defect | None:
    """The earlier defect the buyer says this is ("Is it one of these?" on the Get help form): one of a claimed item's.
    A defect a discount compensated is refused inside the transaction (claims.remedies.compensation_refusal)."""
    if same_defect in (None, ""):
        return None
    try:
        pk = same_defect.pk if isinstance(same_defect, Defect) else int(same_defect)
    except (TypeError, ValueError):
        pk = None
    defect = Defect.objects.select_related("first_claim").filter(
        pk=pk, order_item_id__in=[item.pk for item, _qty in pairs]).first() if pk else None
    if defect is None:
        raise ClaimError(_("The earlier problem you chose is not one of the items you claim. Choose the item it "
                           "belongs to, or leave the question empty."))
    return defect

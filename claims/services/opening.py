"""Opening claims: the buyer's (after the eligibility rules) and the payment-provider disputes agents record."""


from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order
from sellers.models import SellerStatus

from ..calendar import add_business_days, add_calendar_days
from ..choices import Channel, EscalationCause, EvidenceKind, Party, Reason
from ..eligibility import check_eligibility
from ..errors import ClaimError
from ..models import Claim, ClaimItem, ClaimTransition
from ..notifications import notify
from ..policy import Policy, policy_for_order
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
               items: Any = None, discovered_on: dt.date | None = None, evidence: Iterable[Any] = ()) -> Claim:
    """Open a claim for the order's buyer (SPEC section 9). Raises ClaimError (a ValidationError) saying why
    it is not allowed. `items=None` claims every item of the order; otherwise a list of items (whole
    quantity), of (item, quantity) pairs, or a mapping item → quantity."""
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

    with _files_removed_on_failure() as stored, transaction.atomic():
        claim = Claim(
            order=order, buyer=buyer, seller=order.seller, reason=reason, description=description.strip(),
            desired_outcome=desired_outcome, discovered_on=discovered_on if reason == Reason.DEFECTIVE else None,
            channel=Channel.PLATFORM, currency=order.currency, opened_at=now, policy=policy.as_snapshot(),
        )
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
        _store_evidence(claim, files, by=buyer, party=Party.BUYER, stored=stored)
        log = ClaimTransition.objects.create(claim=claim, name="open", from_state="", to_state=claim.state,
                                             actor=buyer, party=Party.BUYER, created_at=now)
        notify(claim, "receipt", to=[Party.BUYER], key=log.pk)
        if order.seller.status == SellerStatus.ACTIVE:
            notify(claim, "opened", to=[Party.SELLER], key=log.pk)
        else:
            _fire(claim, "take_over", None, reason=_("The seller is not active; the platform handles this claim."),
                  cause=EscalationCause.SELLER_SUSPENDED, at=now)
    return claim


def _set_deadlines(claim: Claim, now: dt.datetime, policy: Policy) -> None:
    claim.first_reply_due_at = now + dt.timedelta(hours=policy.first_reply_hours)
    claim.resolution_due_at = add_business_days(now, policy.resolution_business_days, time_zone=policy.time_zone,
                                                country=policy.country, subdivision=policy.subdivision)
    claim.hard_deadline_at = add_calendar_days(now, policy.hard_deadline_days, time_zone=policy.time_zone)
    claim.refresh_next_deadline()



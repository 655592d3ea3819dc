"""The return of the claimed goods: the authorization when a claim enters awaiting_return, the buyer's return
tracking, the parcel's delivery (the carrier webhook, or an agent for a carrier without one), the seller's
confirmation, and the sweep's actions at the ship deadline, its reminder and the confirmation deadline.

The rules are claims.returns; the due events claims.deadlines; the words claims.presenters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from core.models import max_length
from orders.models import CarrierEvent, Shipment
from orders.services import CarrierEventResult, normalise_carrier, normalise_tracking_number, settle_carrier_event
from sellers.models import WarrantyPolicy

from .. import returns
from ..choices import MONEY_OUTCOMES, ClaimState, FundedBy, Party, ReturnStatus
from ..errors import ClaimError
from ..models import Claim, ReturnAuthorization
from ..notifications import notify
from ..policy import Policy
from ._base import User, _after_resolution, _conflict, _fire, _lock, _pay_refund, _record, _refund_room

DELIVERED = "delivered"  # the carrier's status of a delivery (orders.services.DELIVERED)
OPEN_RETURNS = (ReturnStatus.AUTHORIZED, ReturnStatus.SHIPPED, ReturnStatus.DELIVERED)
RETURN_FIELDS = ["return_due_at", "return_reminded_at", "return_confirm_due_at", "next_deadline_at", "action_due_at",
                 "last_activity_at", "updated_at"]


def _save_dates(claim: Claim, now: dt.datetime) -> None:
    """Store the return's dates of a claim the caller holds locked, with the deadline columns they move."""
    claim.refresh_next_deadline()
    claim.last_activity_at = now
    try:
        claim.save(update_fields=RETURN_FIELDS)
    except ConcurrentTransition as exc:  # pragma: no cover - the row lock is held
        raise _conflict(claim) from exc


def _locked_return(claim: Claim) -> ReturnAuthorization | None:
    return claim.returns.select_for_update().order_by("-created_at", "-id").first()


# --- the authorization (claims.services._base._fire, on every transition into awaiting_return) ------------------------


def authorize_return(claim: Claim, *, instructions: str | None = None) -> ReturnAuthorization:
    """The claim, locked by the caller, has just entered awaiting_return. A claim with no return under way gets a new
    authorization (RMA number, address, who pays the postage) and the buyer a ship deadline; one whose return is still
    under way (the platform looked at the claim again meanwhile: an appeal, a seller who did not confirm) keeps it, its
    clock starting afresh where it stands: the buyer's ship deadline, or the seller's to confirm goods already
    delivered. `instructions`: the accepted offer's return instructions, which take the place of the seller's return
    address."""
    now = timezone.now()
    policy = Policy.from_snapshot(claim.policy)
    current = claim.returns.select_for_update().filter(status__in=OPEN_RETURNS).order_by("-created_at", "-id").first()
    if current is None:
        seller_address = (WarrantyPolicy.objects.filter(seller_id=claim.seller_id)
                          .values_list("return_address", flat=True).first())
        current = ReturnAuthorization.objects.create(
            claim=claim, address=returns.return_address(instructions or "", seller_address or ""),
            postage_paid_by=returns.postage_payer(claim), created_at=now)
    claim.return_reminded_at = None if current.status == ReturnStatus.AUTHORIZED else (claim.return_reminded_at or now)
    claim.return_due_at = returns.ship_due(now, policy) if current.status == ReturnStatus.AUTHORIZED else None
    claim.return_confirm_due_at = returns.confirm_due(now, policy) if current.status == ReturnStatus.DELIVERED else None
    _save_dates(claim, now)
    if current.status == ReturnStatus.AUTHORIZED:
        notify(claim, "return_authorized", to=[Party.BUYER], key=f"{current.pk}:{claim.return_due_at:%Y%m%d%H%M}")
    elif current.status == ReturnStatus.DELIVERED:
        notify(claim, "return_delivered", to=[Party.SELLER],
               key=f"{current.pk}:{claim.return_confirm_due_at:%Y%m%d%H%M}")
    return current


# --- the buyer sends the goods ------------------------------------------------------------------------------------


def add_return_tracking(*, claim: Claim, by: User, carrier: str, tracking_number: str) -> ReturnAuthorization:
    """The buyer enters the return parcel's carrier and tracking number: the ship deadline stops, and the carrier's
    events on the parcel (the webhook) reach the return. The same rules as a shipment's: normalised as orders does it,
    and a parcel only once, so a number of an order's shipment or of another return is refused."""
    carrier, number = normalise_carrier(carrier or ""), normalise_tracking_number(tracking_number or "")
    if not carrier or not number:
        raise ClaimError(_("Please give both the carrier and the tracking number."))
    if len(carrier) > max_length(ReturnAuthorization, "carrier") or \
            len(number) > max_length(ReturnAuthorization, "tracking_number"):
        raise ClaimError(_("The carrier or the tracking number is longer than any we know. Please check it."))
    with transaction.atomic():
        claim = _lock(claim)
        ret = _locked_return(claim)
        if refusal := returns.tracking_refusal(claim, by, ret):
            raise refusal
        assert ret is not None  # tracking_refusal says so
        if _tracking_taken(carrier, number, ret):
            raise _taken()
        now = timezone.now()
        ret.carrier, ret.tracking_number, ret.status, ret.shipped_at = carrier, number, ReturnStatus.SHIPPED, now
        try:
            with transaction.atomic():
                ret.save(update_fields=["carrier", "tracking_number", "status", "shipped_at"])
        except IntegrityError as exc:  # entered for another return a moment ago: the unique index says so
            raise _taken() from exc
        # The buyer has done their part: no ship deadline, the reminder moot, and the 180-day refund due again.
        claim.return_due_at = None
        claim.return_reminded_at = claim.return_reminded_at or now
        _save_dates(claim, now)
        log = _record(claim, "return_shipped", by=by, reason=f"{carrier} {number}", at=now)
        notify(claim, "return_shipped", to=[Party.SELLER], key=log)
    return ret


def _tracking_taken(carrier: str, number: str, ret: ReturnAuthorization) -> bool:
    """Another parcel has this carrier and number: an order's shipment or another return."""
    shipment = Shipment.objects.alias(carrier_key=Lower("carrier")).filter(carrier_key=carrier.lower(),
                                                                           tracking_number=number)
    other = (ReturnAuthorization.objects.alias(carrier_key=Lower("carrier"))
             .filter(carrier_key=carrier.lower(), tracking_number=number).exclude(pk=ret.pk))
    return shipment.exists() or other.exists()


def _taken() -> ClaimError:
    return ClaimError(_("This tracking number is already registered for another parcel. Please check it."),
                      code="invalid")


def tracking_taken_by_return(*, carrier: str, tracking_number: str) -> bool:
    """For an order's shipment: a return parcel already has this carrier and number (claims.services.tracking)."""
    return (ReturnAuthorization.objects.alias(carrier_key=Lower("carrier"))
            .filter(carrier_key=normalise_carrier(carrier).lower(),
                    tracking_number=normalise_tracking_number(tracking_number)).exists())


# --- the parcel arrives -------------------------------------------------------------------------------------------


def apply_carrier_event(*, event: CarrierEvent) -> bool:
    """A carrier event that no order's shipment matched: the buyer's return parcel with this carrier and tracking
    number, if there is one, under the rules of the shipments (orders.services): events older than the parcel's latest
    (by the carrier's clock) or than the authorization are ignored; "delivered" is a delivery, any later event of
    another status withdraws it. Returns whether a return parcel matched."""
    found = (ReturnAuthorization.objects.alias(carrier_key=Lower("carrier"))
             .filter(carrier_key=event.carrier.lower(), tracking_number=event.tracking_number)
             .values_list("pk", "claim_id").first())
    if found is None:
        return False
    with transaction.atomic():
        claim = _lock(found[1])  # the claim first, as every other writer of a return does
        ret = ReturnAuthorization.objects.select_for_update().get(pk=found[0])
        settle_carrier_event(event=event, result=_apply_event(claim, ret, status=event.status,
                                                              occurred_at=event.occurred_at or timezone.now()))
    return True


def _apply_event(claim: Claim, ret: ReturnAuthorization, *, status: str, occurred_at: dt.datetime) -> str:
    if occurred_at < ret.created_at:
        return CarrierEventResult.IGNORED_BEFORE_ORDER  # before the return was authorized: not this return's parcel
    if ret.last_event_at is not None and occurred_at < ret.last_event_at:
        return CarrierEventResult.IGNORED_OUT_OF_ORDER
    ret.last_event_at = occurred_at
    ret.save(update_fields=["last_event_at"])
    if status == DELIVERED and ret.status == ReturnStatus.SHIPPED:
        _deliver(claim, ret, at=occurred_at, by=None)
    elif status != DELIVERED and ret.status == ReturnStatus.DELIVERED:
        _undeliver(claim, ret)
    return CarrierEventResult.APPLIED


def mark_return_delivered(*, claim: Claim, by: User) -> ReturnAuthorization:
    """An agent records that the return parcel was delivered to the seller (a carrier without tracking events)."""
    with transaction.atomic():
        claim = _lock(claim)
        ret = _locked_return(claim)
        if refusal := returns.mark_delivered_refusal(claim, by, ret):
            raise refusal
        assert ret is not None  # mark_delivered_refusal says so
        _deliver(claim, ret, at=timezone.now(), by=by)
    return ret


def _deliver(claim: Claim, ret: ReturnAuthorization, *, at: dt.datetime, by: User | None) -> None:
    """The return parcel reached the seller at `at`: the seller confirms it within the business days of the policy."""
    ret.status, ret.delivered_at = ReturnStatus.DELIVERED, at
    ret.save(update_fields=["status", "delivered_at"])
    if claim.state != ClaimState.AWAITING_RETURN:
        return  # with the platform meanwhile: the seller's deadline starts when the claim awaits the return again
    now = timezone.now()
    claim.return_due_at = None
    claim.return_confirm_due_at = returns.confirm_due(at, Policy.from_snapshot(claim.policy))
    _save_dates(claim, now)
    log = _record(claim, "return_delivered", by=by, at=now)
    notify(claim, "return_delivered", to=[Party.SELLER], key=log)


def _undeliver(claim: Claim, ret: ReturnAuthorization) -> None:
    """The carrier withdrew the delivery (a later event of another status): on its way again, nothing to confirm."""
    ret.status, ret.delivered_at = ReturnStatus.SHIPPED, None
    ret.save(update_fields=["status", "delivered_at"])
    if claim.state == ClaimState.AWAITING_RETURN:
        claim.return_confirm_due_at = None
        _save_dates(claim, timezone.now())


def mark_return_received(claim: Claim, *, at: dt.datetime) -> None:
    """The seller (or an agent) confirmed the returned goods arrived (claims.services.receive_return, on the claim it
    holds locked)."""
    ret = claim.returns.select_for_update().filter(status__in=OPEN_RETURNS).order_by("-created_at", "-id").first()
    if ret is not None:
        ret.status, ret.received_at = ReturnStatus.RECEIVED, at
        ret.save(update_fields=["status", "received_at"])


def close_returns(claim: Claim) -> None:
    """The claim resolved (claims.services._base._after_resolution): a return not sent yet is no longer expected. A
    parcel already on its way stays what it is, and the carrier's events still reach it (no deadline follows)."""
    claim.returns.filter(status=ReturnStatus.AUTHORIZED).update(status=ReturnStatus.CANCELLED)


# --- the sweep's actions (claims.services.deadlines._ACT) on a claim it holds locked ---------------------------------


def remind_return(claim: Claim, now: dt.datetime) -> None:
    """Once per ship deadline. A sweep that comes only at the deadline (it was down) marks it without an email: the
    expiry says it instead."""
    claim.return_reminded_at = now
    if claim.return_due_at is not None and claim.return_due_at > now:
        notify(claim, "return_reminder", to=[Party.BUYER, Party.SELLER],
               key=f"return_reminder:{claim.return_due_at:%Y%m%d%H%M}")


def expire_return(claim: Claim, now: dt.datetime) -> None:
    """Not sent by the ship deadline: the claim closes as withdrawn and both parties are told."""
    ret = claim.returns.select_for_update().filter(status=ReturnStatus.AUTHORIZED).order_by("-created_at").first()
    log = _fire(claim, "return_not_sent", None, reason=_("The item was not sent back in time"), at=now)
    if ret is not None:
        ret.status = ReturnStatus.EXPIRED
        ret.save(update_fields=["status"])
    _after_resolution(claim, by=None)
    notify(claim, "return_expired", to=[Party.BUYER, Party.SELLER], key=log)


def confirm_lapsed(claim: Claim, now: dt.datetime) -> None:
    """Delivered, and the seller did not confirm receipt by the deadline. A refund the return was waiting for is paid
    by the platform and recovered from the seller (unless the platform decided to bear it), the return deemed received
    (claims.models.Claim.refund_unconfirmed_return). A repair or a replacement goes to the platform, which cannot carry
    it out in the seller's place: an agent chases the seller or decides another remedy (a refund, the goods being
    with the seller), and the decision target runs."""
    if claim.outcome in MONEY_OUTCOMES:
        room = _refund_room(claim)
        amount = min(claim.refund_amount, room.total) if claim.refund_amount else Decimal("0.00")
        log = _fire(claim, "refund_unconfirmed_return", None, amount=amount, at=now,
                    reason=_("The seller did not confirm receiving the returned item in time"))
        if amount > 0:
            _pay_refund(claim, amount, funded_by=FundedBy.PLATFORM, by=None, recover=not claim.platform_bears_cost,
                        room=room)
        _after_resolution(claim, by=None)
        notify(claim, "return_refunded", to=[Party.BUYER, Party.SELLER], key=log)
        return
    log = _fire(claim, "escalate_unconfirmed_return", None, at=now,
                reason=_("The seller did not confirm receiving the returned item in time"))
    notify(claim, "return_not_confirmed", to=[Party.BUYER, Party.SELLER], key=log)

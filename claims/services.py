"""Every write to a claim goes through here.

Shape of a transition service: atomic() → re-fetch the claim with select_for_update() → check state and
permission → fire the django-fsm-2 transition (which only sets fields) → save (ConcurrentTransitionMixin
refuses a stale write) → append to the transition log → side effects (refunds, ledger, warranty) in the
same transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

from dateutil.relativedelta import relativedelta
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from orders.models import Order, OrderItem
from sellers.models import LedgerEntry, LedgerKind, SellerStatus, WarrantyPolicy

from . import evidence as evidence_files
from . import roles
from .calendar import add_business_days, local_date
from .eligibility import MAX_DESCRIPTION_LENGTH, check_eligibility, trial_ends_on
from .errors import ClaimError
from .models import (
    MONEY_OUTCOMES,
    OFFER_KINDS_NEEDING_RETURN,
    OFFER_KINDS_WITH_AMOUNT,
    RETURN_OUTCOMES,
    Channel,
    Claim,
    ClaimItem,
    ClaimState,
    ClaimTransition,
    ClaimView,
    DenialReason,
    EscalationCause,
    Evidence,
    EvidenceKind,
    FundedBy,
    InspectionResult,
    Message,
    Offer,
    OfferKind,
    OfferStatus,
    Outcome,
    Party,
    Reason,
    Refund,
    RejectionCode,
)
from .notifications import notify
from .policy import Policy, current_policy

logger = logging.getLogger(__name__)

User = Any  # django.contrib.auth user; kept loose so services accept any user model


# --- helpers ------------------------------------------------------------------------------------------


def _lock(claim: Claim | int) -> Claim:
    pk = claim.pk if isinstance(claim, Claim) else claim
    try:
        return Claim.objects.select_for_update(of=("self",)).select_related("seller", "order").get(pk=pk)
    except Claim.DoesNotExist as exc:
        raise ClaimError(_("This claim does not exist."), code="invalid") from exc


def _state_error(claim: Claim) -> ClaimError:
    return ClaimError(
        _("That is not possible now: claim %(number)s is “%(state)s”.")
        % {"number": claim.number, "state": claim.get_state_display()},
        code="state",
    )


def _forbidden(claim: Claim) -> ClaimError:
    return ClaimError(_("You are not allowed to do that on claim %(number)s.") % {"number": claim.number},
                      code="forbidden")


def _conflict(claim: Claim) -> ClaimError:
    return ClaimError(
        _("Someone else changed claim %(number)s at the same moment. Please reload it and try again.")
        % {"number": claim.number},
        code="conflict",
    )


def _fire(claim: Claim, verb: str, by: User | None, *, reason: str = "", **kwargs: Any) -> ClaimTransition:
    """Fire one transition on a locked claim, save it and log it. `by=None` is the system."""
    method = getattr(claim, verb)
    if not can_proceed(method):
        raise _state_error(claim)
    if by is None:
        # Only the system's own transitions (deadlines, tracking) run without a person.
        if method._django_fsm.get_transition(claim.state).permission is not roles.nobody:
            raise _forbidden(claim)
    elif not has_transition_perm(method, by):
        raise _forbidden(claim)
    from_state = claim.state
    method(**kwargs)
    claim.refresh_next_deadline()
    claim.last_activity_at = timezone.now()
    try:
        claim.save()
    except ConcurrentTransition as exc:
        raise _conflict(claim) from exc
    log = ClaimTransition.objects.create(
        claim=claim,
        name=verb,
        from_state=from_state,
        to_state=claim.state,
        actor=by,
        party=roles.party_of(claim, by) or Party.AGENT,
        reason=reason,
        created_at=timezone.now(),
    )
    logger.info("claim %s: %s %s -> %s by %s", claim.number, verb, from_state, claim.state,
                getattr(by, "pk", "system"))
    return log


@contextmanager
def _files_removed_on_failure():  # type: ignore[no-untyped-def]
    """Files written to storage inside a transaction that then fails must not stay behind."""
    stored: list[Any] = []
    try:
        yield stored
    except BaseException:
        for field_file in stored:
            try:
                field_file.storage.delete(field_file.name)
            except OSError:  # pragma: no cover - best effort on a failing disk
                logger.exception("could not remove %s after a failed write", field_file.name)
        raise


def _prepare_uploads(uploads: Iterable[Any], *, kind: str | None = None) -> list[evidence_files.PreparedFile]:
    """Check every file before anything is stored: one bad file refuses the whole action."""
    prepared = []
    for upload in uploads:
        if isinstance(upload, evidence_files.PreparedFile):
            prepared.append(upload)
        elif isinstance(upload, tuple):  # (file, kind) from forms that let the uploader say what it is
            prepared.append(evidence_files.prepare(upload[0], kind=upload[1]))
        else:
            prepared.append(evidence_files.prepare(upload, kind=kind))
    if sum(1 for p in prepared if p.kind == EvidenceKind.VIDEO) > 1:
        raise ClaimError(_("Please attach one video at most."))
    return prepared


def _store_evidence(claim: Claim, files: Sequence[evidence_files.PreparedFile], *, by: User, party: str,
                    stored: list[Any], message: Message | None = None) -> list[Evidence]:
    created = []
    for prepared in files:
        item = Evidence(
            claim=claim, message=message, kind=prepared.kind, uploaded_by=by, party=party,
            original_name=prepared.original_name[:255], content_type=prepared.content_type,
            size=prepared.size, sha256=prepared.sha256,
        )
        item.file.save("upload", prepared.as_content_file(), save=False)
        stored.append(item.file)
        if prepared.thumbnail:
            item.thumbnail.save("thumbnail", ContentFile(prepared.thumbnail), save=False)
            stored.append(item.thumbnail)
        item.save()
        created.append(item)
    return created


def _post(claim: Claim, *, by: User | None, party: str, body: str, internal: bool = False,
          files: Sequence[evidence_files.PreparedFile] = (), stored: list[Any] | None = None) -> Message:
    now = timezone.now()
    message = Message.objects.create(claim=claim, author=by, party=party, body=body, is_internal=internal,
                                     created_at=now)
    if not internal:
        Claim.objects.filter(pk=claim.pk).update(last_activity_at=now)
        claim.last_activity_at = now
    if files:
        _store_evidence(claim, files, by=by, party=party, stored=stored if stored is not None else [],
                        message=message)
    return message


def _clean_text(text: str, *, what: str, required: bool = True, limit: int = MAX_DESCRIPTION_LENGTH) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ClaimError(_("Please write %(what)s.") % {"what": what})
    if len(text) > limit:
        raise ClaimError(_("Please keep %(what)s under %(max)d characters.") % {"what": what, "max": limit})
    return text


def _money(value: Any, *, what: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ClaimError(_("%(what)s must be an amount like 12.50.") % {"what": what}) from exc
    if not amount.is_finite() or amount <= 0:
        raise ClaimError(_("%(what)s must be more than zero.") % {"what": what})
    return amount


def _already_refunded(claim: Claim) -> Decimal:
    return sum((r.amount for r in claim.refunds.all()), Decimal("0.00"))


def _refundable(claim: Claim) -> Decimal:
    return claim.claimed_value() - _already_refunded(claim)


def _pay_refund(claim: Claim, amount: Decimal, *, funded_by: str, by: User | None, recover: bool = True) -> Refund:
    """Record a refund to the buyer. When the platform pays in the seller's place, the ledger recovers it."""
    refund = Refund.objects.create(claim=claim, amount=amount, currency=claim.currency, funded_by=funded_by,
                                   created_at=timezone.now())
    if funded_by == FundedBy.PLATFORM and recover and not claim.seller.is_platform:
        LedgerEntry.objects.create(
            seller=claim.seller, kind=LedgerKind.REFUND_RECOVERY, amount=amount, currency=claim.currency,
            claim=claim, refund=refund, created_by=by,
            note=_("Refund for claim %(number)s paid by the platform") % {"number": claim.number},
        )
    return refund


def _set_items_open(claim: Claim, is_open: bool) -> None:
    try:
        with transaction.atomic():
            claim.items.update(is_open=is_open)
    except IntegrityError as exc:
        raise ClaimError(_("Another claim is open on an item of this claim; resolve that one first."),
                         code="state") from exc


def _after_resolution(claim: Claim, *, by: User | None) -> None:
    """What every move into `resolved` implies: the items are free for a new claim, pending offers lapse,
    and a justified repair or replacement extends the warranty."""
    _set_items_open(claim, False)
    claim.offers.filter(status=OfferStatus.PENDING).update(status=OfferStatus.WITHDRAWN,
                                                           answered_at=claim.resolved_at)
    if claim.outcome in RETURN_OUTCOMES:
        _extend_warranty(claim)


def _extend_warranty(claim: Claim) -> None:
    """A repair or replacement leaves at least 6 months of warranty, the days spent in the claim are added to
    it, and inside the trial period the trial runs at least 14 more days from getting the item back."""
    policy = Policy.from_snapshot(claim.policy)
    opened_on = local_date(claim.opened_at, time_zone=policy.time_zone)
    resolved_on = local_date(claim.resolved_at or timezone.now(), time_zone=policy.time_zone)
    days_in_claim = (resolved_on - opened_on).days
    minimum = resolved_on + relativedelta(months=policy.warranty_months_after_repair)
    trial_floor = resolved_on + dt.timedelta(days=policy.trial_days_after_repair)
    from .eligibility import receipt_date

    received_on = receipt_date(claim.order, policy=policy)
    trial_days = _trial_days(claim.seller_id)
    for claim_item in claim.items.select_related("order_item"):
        item = OrderItem.objects.select_for_update().get(pk=claim_item.order_item_id)
        item.warranty_extension_days += days_in_claim
        item.warranty_minimum_until = max(item.warranty_minimum_until or minimum, minimum)
        fields = ["warranty_extension_days", "warranty_minimum_until"]
        trial_end = trial_ends_on(item, received_on, trial_days=trial_days)
        if trial_end is not None and opened_on <= trial_end:
            item.trial_minimum_until = max(item.trial_minimum_until or trial_floor, trial_floor)
            fields.append("trial_minimum_until")
        item.save(update_fields=fields)


def _trial_days(seller_id: int) -> int:
    policy = WarrantyPolicy.objects.filter(seller_id=seller_id).only("trial_days").first()
    return policy.trial_days if policy else current_trial_days()


def current_trial_days() -> int:
    from django.conf import settings

    return settings.TRIAL_DAYS_DEFAULT


def _normalise_items(order: Order, items: Any) -> list[tuple[OrderItem, int]]:
    order_items = {item.pk: item for item in order.items.all()}
    if items is None:
        return [(item, item.quantity) for item in order_items.values()]
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(items, Mapping):
        pairs = items.items()
    else:
        pairs = ((i, None) if not isinstance(i, tuple) else i for i in items)
    result = []
    for item, quantity in pairs:
        pk = item.pk if isinstance(item, OrderItem) else item
        if pk not in order_items:
            raise ClaimError(_("An item you chose is not part of order %(order)s.") % {"order": order.number})
        loaded = order_items[pk]
        try:
            qty = loaded.quantity if quantity is None else int(quantity)
        except (TypeError, ValueError) as exc:
            raise ClaimError(_("Please give the number of items as a whole number.")) from exc
        result.append((loaded, qty))
    if len({item.pk for item, _qty in result}) != len(result):
        raise ClaimError(_("Please choose each item only once."))
    return result


# --- opening --------------------------------------------------------------------------------------------


def open_claim(*, order: Order, buyer: User, reason: str, description: str, desired_outcome: str,
               items: Any = None, discovered_on: dt.date | None = None, evidence: Iterable[Any] = ()) -> Claim:
    """Open a claim for the order's buyer (SPEC section 9). Raises ClaimError (a ValidationError) saying why
    it is not allowed. `items=None` claims every item of the order; otherwise a list of items (whole
    quantity), of (item, quantity) pairs, or a mapping item → quantity."""
    now = timezone.now()
    policy = current_policy()
    order = Order.objects.select_related("seller").prefetch_related("items", "shipments").get(pk=order.pk)
    pairs = _normalise_items(order, items)
    files = _prepare_uploads(evidence, kind=EvidenceKind.PHOTO)
    trial_days = _trial_days(order.seller_id)
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
    claim.hard_deadline_at = now + dt.timedelta(days=policy.hard_deadline_days)
    claim.refresh_next_deadline()


def _refuse_if_already_claimed(pairs: Sequence[tuple[OrderItem, int]]) -> None:
    taken = (ClaimItem.objects.filter(order_item__in=[item for item, _qty in pairs], is_open=True)
             .select_related("claim", "order_item").first())
    if taken:
        raise ClaimError(_("Claim %(number)s is already open for “%(item)s”. You can follow it from your order "
                           "page.") % {"number": taken.claim.number, "item": taken.order_item.title},
                         code="conflict")


# --- seller ---------------------------------------------------------------------------------------------


def post_message(*, claim: Claim, by: User, body: str, attachments: Iterable[Any] = (),
                 internal: bool = False) -> Message:
    """A message on the claim's thread. The seller's first message is the first reply that stops the 48-hour
    clock. Internal notes are for agents only."""
    body = _clean_text(body, what=_("a message"))
    files = _prepare_uploads(attachments)
    with _files_removed_on_failure() as stored, transaction.atomic():
        claim = _lock(claim)
        party = roles.party_of(claim, by)
        if party not in (Party.BUYER, Party.SELLER, Party.AGENT):
            raise _forbidden(claim)
        if party == Party.SELLER and not roles.is_claim_seller_staff(claim, by):
            raise ClaimError(_("This seller's account is not active; the platform answers this claim."),
                             code="forbidden")
        if internal and party != Party.AGENT:
            raise _forbidden(claim)
        if claim.state == ClaimState.RESOLVED and party != Party.AGENT:
            raise ClaimError(_("Claim %(number)s is resolved. If something is still wrong, contact support.")
                             % {"number": claim.number}, code="state")
        if party == Party.SELLER and claim.state == ClaimState.AWAITING_SELLER:
            _fire(claim, "reply", by, at=timezone.now())
        message = _post(claim, by=by, party=party, body=body, internal=internal, files=files, stored=stored)
        if not internal:
            others = [p for p in (Party.BUYER, Party.SELLER, Party.AGENT) if p != party]
            notify(claim, "message", to=others, key=message.pk, context={"detail": body})
        return message


def reply(*, claim: Claim, by: User, body: str, attachments: Iterable[Any] = ()) -> Message:
    """The seller answers the buyer (the first answer moves the claim to in_progress)."""
    with transaction.atomic():
        locked = _lock(claim)
        if not roles.is_claim_seller_staff(locked, by):
            raise _forbidden(locked)
        return post_message(claim=locked, by=by, body=body, attachments=attachments)


def reject(*, claim: Claim, by: User, code: str, body: str, evidence: Iterable[Any]) -> Claim:
    """The seller rejects the claim with a reason code, an explanation and evidence; the buyer may escalate."""
    if code not in RejectionCode.values:
        raise ClaimError(_("Please choose the reason for rejecting the claim."))
    body = _clean_text(body, what=_("why you reject the claim"))
    files = _prepare_uploads(evidence, kind=EvidenceKind.DOCUMENT)
    if not files:
        raise ClaimError(_("A rejection needs evidence: attach a photo or document that supports it."))
    with _files_removed_on_failure() as stored, transaction.atomic():
        claim = _lock(claim)
        log = _fire(claim, "reject", by, reason=body, code=code, at=timezone.now())
        _post(claim, by=by, party=Party.SELLER, body=body, files=files, stored=stored)
        notify(claim, "rejected", to=[Party.BUYER], key=log.pk, context={"detail": body})
    return claim


def make_offer(*, claim: Claim, by: User, kind: str, amount: Any = None, note: str = "",
               return_instructions: str = "") -> Offer:
    """A resolution proposal: by the seller while the claim is with them, or by an agent for the platform."""
    if kind not in OfferKind.values:
        raise ClaimError(_("Please choose what you offer."))
    note = _clean_text(note, what=_("the note"), required=False)
    return_instructions = _clean_text(return_instructions, what=_("the return instructions"), required=False,
                                      limit=1000)
    with transaction.atomic():
        claim = _lock(claim)
        now = timezone.now()
        if roles.is_claim_seller_staff(claim, by) and claim.state in (ClaimState.AWAITING_SELLER,
                                                                       ClaimState.IN_PROGRESS):
            for_platform = False
            if claim.state == ClaimState.AWAITING_SELLER:
                _fire(claim, "reply", by, at=now)
        elif roles.is_agent(by) and claim.state in (ClaimState.ESCALATED, ClaimState.AWAITING_INFO):
            for_platform = True
        elif roles.party_of(claim, by) in (Party.SELLER, Party.AGENT):
            raise _state_error(claim)
        else:
            raise _forbidden(claim)

        refundable = _refundable(claim)
        if refundable <= 0 and kind in (*OFFER_KINDS_WITH_AMOUNT, OfferKind.FULL_REFUND, OfferKind.RETURN_FOR_REFUND):
            raise ClaimError(_("Everything claimed has already been refunded."), code="state")
        if kind in OFFER_KINDS_WITH_AMOUNT:
            if amount in (None, ""):
                raise ClaimError(_("Please enter the amount you offer."))
            value = _money(amount, what=_("The amount"))
            if value >= refundable:
                raise ClaimError(_("A partial refund or discount must be less than %(max)s %(cur)s; offer a full "
                                   "refund instead.") % {"max": refundable, "cur": claim.currency})
        elif kind in (OfferKind.FULL_REFUND, OfferKind.RETURN_FOR_REFUND):
            value = refundable
        else:
            value = None
        if kind == OfferKind.RETURN_FOR_REFUND and not return_instructions:
            policy = WarrantyPolicy.objects.filter(seller_id=claim.seller_id).first()
            return_instructions = policy.return_address if policy else ""
            if not return_instructions:
                raise ClaimError(_("Please give the return address or the reference of a prepaid return label."))
        claim.offers.filter(status=OfferStatus.PENDING).update(status=OfferStatus.WITHDRAWN, answered_at=now)
        offer = Offer.objects.create(claim=claim, kind=kind, amount=value, note=note,
                                     return_instructions=return_instructions, made_by=by,
                                     on_behalf_of_platform=for_platform, created_at=now)
        Claim.objects.filter(pk=claim.pk).update(last_activity_at=now)
        notify(claim, "offer", to=[Party.BUYER], key=offer.pk, context={"detail": _describe_offer(offer)})
        return offer


def _describe_offer(offer: Offer) -> str:
    text = offer.get_kind_display()
    if offer.amount:
        text += f": {offer.amount} {offer.claim.currency}"
    return "\n".join(part for part in (text, offer.note, offer.return_instructions) if part)


def withdraw_offer(*, offer: Offer, by: User) -> Offer:
    with transaction.atomic():
        claim = _lock(offer.claim_id)
        offer = Offer.objects.select_for_update().get(pk=offer.pk)
        # Agents may withdraw any offer; the seller's staff only the seller's own, not the platform's.
        allowed = roles.is_agent(by) or (not offer.on_behalf_of_platform and roles.is_claim_seller_staff(claim, by))
        if not allowed:
            raise _forbidden(claim)
        if offer.status != OfferStatus.PENDING:
            raise ClaimError(_("This offer was already answered."), code="state")
        offer.status = OfferStatus.WITHDRAWN
        offer.answered_at = timezone.now()
        offer.save(update_fields=["status", "answered_at"])
        return offer


def _pending_offer(claim: Claim, offer: Offer) -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if offer.claim_id != claim.pk:
        raise _forbidden(claim)
    if offer.status != OfferStatus.PENDING:
        raise ClaimError(_("This offer is no longer open: it was %(status)s.")
                         % {"status": offer.get_status_display().lower()}, code="state")
    return offer


def accept_offer(*, offer: Offer, by: User) -> Claim:
    """The buyer accepts: money outcomes resolve the claim, returns and replacements wait for the item."""
    with transaction.atomic():
        claim = _lock(offer.claim_id)
        if not roles.is_claim_buyer(claim, by):
            raise _forbidden(claim)
        offer = _pending_offer(claim, offer)
        now = timezone.now()
        funded_by = FundedBy.PLATFORM if offer.on_behalf_of_platform else FundedBy.SELLER
        amount = offer.amount if offer.outcome in MONEY_OUTCOMES else None
        _fire(claim, "accept_offer", by, reason=offer.get_kind_display(), outcome=offer.outcome,
              funded_by=funded_by if offer.outcome in MONEY_OUTCOMES else "", amount=amount,
              needs_return=offer.kind in OFFER_KINDS_NEEDING_RETURN, at=now)
        offer.status = OfferStatus.ACCEPTED
        offer.answered_at = now
        offer.save(update_fields=["status", "answered_at"])
        notify(claim, "offer_accepted", to=[Party.SELLER, Party.AGENT], key=offer.pk,
               context={"detail": _describe_offer(offer)})
        if claim.state == ClaimState.RESOLVED:
            if amount:
                # The ledger names who committed the platform's money: the agent who made the offer.
                _pay_refund(claim, amount, funded_by=funded_by, by=offer.made_by if offer.on_behalf_of_platform else by)
            _after_resolution(claim, by=by)
    return claim


def decline_offer(*, offer: Offer, by: User) -> Offer:
    with transaction.atomic():
        claim = _lock(offer.claim_id)
        if not roles.is_claim_buyer(claim, by):
            raise _forbidden(claim)
        offer = _pending_offer(claim, offer)
        offer.status = OfferStatus.DECLINED
        offer.answered_at = timezone.now()
        offer.save(update_fields=["status", "answered_at"])
        notify(claim, "offer_declined", to=[Party.SELLER, Party.AGENT], key=offer.pk,
               context={"detail": _describe_offer(offer)})
        return offer


def receive_return(*, claim: Claim, by: User, inspection_result: str, note: str = "") -> Claim:
    """The returned item arrived: a return for refund pays out now; a repair or replacement extends the
    warranty."""
    if inspection_result not in InspectionResult.values:
        raise ClaimError(_("Please choose the result of your inspection."))
    note = _clean_text(note, what=_("the inspection note"), required=False)
    with transaction.atomic():
        claim = _lock(claim)
        now = timezone.now()
        log = _fire(claim, "receive_return", by, reason=note or InspectionResult(inspection_result).label,
                    inspection_result=inspection_result, at=now)
        notify(claim, "return_received", to=[Party.BUYER], key=log.pk,
               context={"detail": InspectionResult(inspection_result).label})
        if claim.outcome in MONEY_OUTCOMES and claim.refund_amount and not claim.refunds.exists():
            _pay_refund(claim, claim.refund_amount, funded_by=claim.funded_by or FundedBy.SELLER, by=by)
        if note:
            _post(claim, by=by, party=roles.party_of(claim, by) or Party.AGENT, body=note)
        _after_resolution(claim, by=by)
    return claim


def add_tracking(*, claim: Claim, by: User, carrier: str, tracking_number: str,
                 shipped_at: dt.datetime | None = None, evidence: Iterable[Any] = ()) -> Message:
    """The seller answers a not-received claim with the shipment's tracking number and, optionally, proof of
    shipment (a receipt, a customs form). A carrier's later delivery scan then closes the claim."""
    carrier = _clean_text(carrier, what=_("the carrier"), limit=50)
    tracking_number = _clean_text(tracking_number, what=_("the tracking number"), limit=64)
    files = _prepare_uploads(evidence, kind=EvidenceKind.PROOF_OF_SHIPMENT)
    from orders.services import record_shipment

    with _files_removed_on_failure() as stored, transaction.atomic():
        claim = _lock(claim)
        if not roles.is_claim_seller_staff(claim, by):
            raise _forbidden(claim)
        if claim.reason != Reason.NOT_RECEIVED or claim.state not in (ClaimState.AWAITING_SELLER,
                                                                       ClaimState.IN_PROGRESS):
            raise ClaimError(_("Tracking can be added to an open claim for an item not received."), code="state")
        record_shipment(order=claim.order, carrier=carrier, tracking_number=tracking_number,
                        shipped_at=shipped_at or timezone.now(), source="seller")
        if claim.state == ClaimState.AWAITING_SELLER:
            _fire(claim, "reply", by, at=timezone.now())
        body = _("Shipment tracking: %(carrier)s %(number)s") % {"carrier": carrier, "number": tracking_number}
        message = _post(claim, by=by, party=Party.SELLER, body=body, files=files, stored=stored)
        notify(claim, "message", to=[Party.BUYER, Party.AGENT], key=message.pk, context={"detail": body})
        return message


def mark_seen(*, claim: Claim, by: User) -> None:
    """Remember that this person has seen the claim as it is now (for "new activity" in lists)."""
    ClaimView.objects.update_or_create(claim=claim, user=by, defaults={"seen_at": timezone.now()})


# --- buyer ----------------------------------------------------------------------------------------------


def escalate(*, claim: Claim, by: User, reason: str = "") -> Claim:
    """Ask the platform to step in: the buyer after 48 hours unresolved or after a rejection; an agent
    at any time (seller inaction, harassment, manipulation)."""
    reason = _clean_text(reason, what=_("the reason"), required=False)
    with transaction.atomic():
        claim = _lock(claim)
        if roles.is_claim_buyer(claim, by) and not roles.is_agent(by) and claim.state in (
                ClaimState.AWAITING_SELLER, ClaimState.IN_PROGRESS) and not claim.buyer_may_escalate():
            raise ClaimError(
                _("The seller has until %(due)s to answer. If the problem is not solved by then, or if the seller "
                  "rejects your claim, you can ask us to step in.")
                % {"due": timezone.localtime(claim.first_reply_due_at).strftime("%d.%m.%Y %H:%M")},
                code="state",
            )
        cause = EscalationCause.AGENT if roles.is_agent(by) and not roles.is_claim_buyer(claim, by) \
            else EscalationCause.BUYER
        log = _fire(claim, "escalate", by, reason=reason, cause=cause, at=timezone.now())
        notify(claim, "escalated", to=[Party.BUYER, Party.SELLER], key=log.pk)
    return claim


def close(*, claim: Claim, by: User) -> Claim:
    """The buyer closes the claim as satisfied (outcome withdrawn). Nobody may require it."""
    with transaction.atomic():
        claim = _lock(claim)
        log = _fire(claim, "close", by, reason=_("Closed by the buyer"), at=timezone.now())
        _after_resolution(claim, by=by)
        notify(claim, "closed", to=[Party.SELLER, Party.AGENT], key=log.pk)
    return claim


# --- agent ----------------------------------------------------------------------------------------------


def request_info(*, claim: Claim, by: User, party: str, question: str) -> Claim:
    """Ask the buyer or the seller for information; they have 2 calendar days to answer."""
    if party not in (Party.BUYER, Party.SELLER):
        raise ClaimError(_("Choose whether to ask the buyer or the seller."))
    question = _clean_text(question, what=_("the question"))
    with transaction.atomic():
        claim = _lock(claim)
        now = timezone.now()
        policy = Policy.from_snapshot(claim.policy)
        log = _fire(claim, "request_info", by, reason=question, party=party,
                    due_at=now + dt.timedelta(days=policy.info_days), at=now)
        _post(claim, by=by, party=Party.AGENT, body=question)
        notify(claim, "info_requested", to=[party], key=log.pk, context={"detail": question})
    return claim


def provide_info(*, claim: Claim, by: User, body: str, attachments: Iterable[Any] = ()) -> Claim:
    """The party asked answers; the claim goes back to the agent."""
    body = _clean_text(body, what=_("your answer"))
    files = _prepare_uploads(attachments, kind=EvidenceKind.DOCUMENT)
    with _files_removed_on_failure() as stored, transaction.atomic():
        claim = _lock(claim)
        party = roles.party_of(claim, by)
        log = _fire(claim, "provide_info", by, reason=body[:200])
        _post(claim, by=by, party=party or Party.AGENT, body=body, files=files, stored=stored)
        notify(claim, "info_provided", to=[Party.AGENT], key=log.pk, context={"detail": body})
    return claim


DECIDE_OUTCOMES = (Outcome.REFUND, Outcome.PARTIAL_REFUND, Outcome.REPLACEMENT, Outcome.REPAIR, Outcome.DISCOUNT,
                   Outcome.DENIED)


def decide(*, claim: Claim, by: User, outcome: str, funded_by: str = "", amount: Any = None,
           denial_reason: str = "", note: str = "", needs_return: bool | None = None,
           recover_from_seller: bool = True) -> Claim:
    """The agent's decision on an escalated claim: the outcome, who pays, and for a denial the exclusion.

    When the platform pays (seller silent or refusing), the ledger recovers the amount from the seller
    unless the agent decides the platform bears it (`recover_from_seller=False`)."""
    if outcome not in DECIDE_OUTCOMES:
        raise ClaimError(_("Please choose an outcome."))
    note = _clean_text(note, what=_("the decision note"), required=False)
    if outcome == Outcome.DENIED:
        if denial_reason not in DenialReason.values:
            raise ClaimError(_("A denial must name what the buyer protection does not cover."))
        funded_by = ""
    else:
        denial_reason = ""
        if funded_by not in FundedBy.values:
            raise ClaimError(_("Please say who pays: the seller or the platform."))
    if outcome in RETURN_OUTCOMES:
        needs_return = True
    needs_return = bool(needs_return) and outcome != Outcome.DENIED
    with transaction.atomic():
        claim = _lock(claim)
        refundable = _refundable(claim)
        value: Decimal | None = None
        if outcome in MONEY_OUTCOMES and refundable <= 0:
            raise ClaimError(_("Everything claimed has already been refunded; choose another outcome."), code="state")
        if outcome == Outcome.REFUND:
            value = _money(amount, what=_("The amount")) if amount not in (None, "") else refundable
            if value > refundable:
                raise ClaimError(_("The refund cannot be more than %(max)s %(cur)s.")
                                 % {"max": refundable, "cur": claim.currency})
        elif outcome in (Outcome.PARTIAL_REFUND, Outcome.DISCOUNT):
            if amount in (None, ""):
                raise ClaimError(_("Please enter the amount."))
            value = _money(amount, what=_("The amount"))
            if value >= refundable:
                raise ClaimError(_("A partial refund or discount must be less than %(max)s %(cur)s.")
                                 % {"max": refundable, "cur": claim.currency})
        now = timezone.now()
        reason = note or (DenialReason(denial_reason).label if denial_reason else Outcome(outcome).label)
        log = _fire(claim, "decide", by, reason=reason, outcome=outcome, funded_by=funded_by, amount=value,
                    denial_reason=denial_reason, note=note, needs_return=needs_return, at=now)
        notify(claim, "decided", to=[Party.BUYER, Party.SELLER], key=log.pk, context={"detail": reason})
        if claim.state == ClaimState.RESOLVED:
            if value:
                _pay_refund(claim, value, funded_by=funded_by, by=by, recover=recover_from_seller)
            _after_resolution(claim, by=by)
        if note:
            _post(claim, by=by, party=Party.AGENT, body=note)
    return claim


def reopen(*, claim: Claim, by: User, reason: str) -> Claim:
    """An agent reopens a resolved claim to investigate further; it comes back escalated."""
    reason = _clean_text(reason, what=_("why the claim is reopened"))
    with transaction.atomic():
        claim = _lock(claim)
        log = _fire(claim, "reopen", by, reason=reason, at=timezone.now())
        _set_items_open(claim, True)
        notify(claim, "reopened", to=[Party.BUYER, Party.SELLER], key=log.pk, context={"detail": reason})
    return claim


def assign(*, claim: Claim, by: User, agent: User | None) -> Claim:
    if not roles.is_agent(by) or (agent is not None and not roles.is_agent(agent)):
        raise ClaimError(_("Only support agents can be assigned claims."), code="forbidden")
    with transaction.atomic():
        claim = _lock(claim)
        claim.assigned_to = agent
        claim.save(update_fields=["assigned_to", "updated_at"])
    return claim


def record_provider_dispute(*, order: Order, by: User, reference: str, description: str,
                            items: Any = None) -> Claim:
    """An agent records a chargeback or PayPal dispute. The provider decides; the claim waits escalated."""
    if not roles.is_agent(by):
        raise ClaimError(_("Only support agents record payment-provider disputes."), code="forbidden")
    reference = _clean_text(reference, what=_("the provider's case reference"), limit=100)
    description = _clean_text(description, what=_("what the dispute is about"))
    order = Order.objects.select_related("seller").prefetch_related("items").get(pk=order.pk)
    pairs = _normalise_items(order, items)
    _refuse_if_already_claimed(pairs)
    now = timezone.now()
    policy = current_policy()
    with transaction.atomic():
        claim = Claim(order=order, buyer=order.buyer, seller=order.seller, reason=Reason.NOT_AS_DESCRIBED,
                      description=description, desired_outcome="refund", channel=Channel.PAYMENT_PROVIDER,
                      provider_reference=reference, currency=order.currency, opened_at=now,
                      policy=policy.as_snapshot())
        claim.save()
        try:
            with transaction.atomic():
                ClaimItem.objects.bulk_create([ClaimItem(claim=claim, order_item=i, quantity=q) for i, q in pairs])
        except IntegrityError as exc:
            raise ClaimError(_("Another claim is open on an item of this order."), code="conflict") from exc
        ClaimTransition.objects.create(claim=claim, name="record_provider_dispute", from_state="",
                                       to_state=claim.state, actor=by, party=Party.AGENT, reason=reference,
                                       created_at=now)
        log = _fire(claim, "take_over", None, reason=reference, cause=EscalationCause.PAYMENT_PROVIDER, at=now)
        notify(claim, "escalated", to=[Party.SELLER], key=log.pk)
    return claim


def record_provider_verdict(*, claim: Claim, by: User, buyer_won: bool, amount: Any = None) -> Claim:
    """The provider's verdict. When the buyer wins, the platform refunded through the provider: the ledger
    recovers the amount from the seller and adds the fixed dispute fine."""
    with transaction.atomic():
        claim = _lock(claim)
        value = None
        if buyer_won and _refundable(claim) > 0:  # nothing more to pay when it was refunded already
            refundable = _refundable(claim)
            value = _money(amount, what=_("The amount")) if amount not in (None, "") else refundable
            if value > refundable:
                raise ClaimError(_("The amount cannot be more than %(max)s %(cur)s.")
                                 % {"max": refundable, "cur": claim.currency})
        verdict = _("Provider decided for the buyer") if buyer_won else _("Provider decided for the seller")
        log = _fire(claim, "record_provider_verdict", by, reason=verdict, buyer_won=buyer_won, amount=value,
                    at=timezone.now())
        notify(claim, "decided", to=[Party.BUYER, Party.SELLER], key=log.pk, context={"detail": verdict})
        if buyer_won:
            if value:
                _pay_refund(claim, value, funded_by=FundedBy.PLATFORM, by=by)
            if not claim.seller.is_platform:
                fine = Policy.from_snapshot(claim.policy).dispute_fine
                LedgerEntry.objects.create(
                    seller=claim.seller, kind=LedgerKind.DISPUTE_FINE, amount=fine, currency="EUR", claim=claim,
                    created_by=by, note=_("Payment-provider dispute %(ref)s lost") % {"ref": claim.provider_reference},
                )
        _after_resolution(claim, by=by)
    return claim


# --- system: deadlines and tracking ----------------------------------------------------------------------
# Each public function locks the claim itself; the `_..._locked` variants act on a claim the caller holds
# locked (the deadline sweep), so one claim's due actions happen in one transaction.


def _take_over_locked(claim: Claim, *, cause: str, reason: str) -> ClaimTransition:
    log = _fire(claim, "take_over", None, reason=reason, cause=cause, at=timezone.now())
    notify(claim, "takeover", to=[Party.BUYER, Party.SELLER], key=log.pk)
    return log


def _info_timeout_locked(claim: Claim) -> ClaimTransition:
    party = claim.info_requested_from
    log = _fire(claim, "info_timeout", None,
                reason=_("%(party)s did not answer in time") % {"party": claim.get_info_requested_from_display()})
    notify(claim, "info_missed", to=[party, Party.AGENT], key=log.pk)
    return log


def _mark_delivered_locked(claim: Claim) -> ClaimTransition:
    log = _fire(claim, "mark_delivered", None, reason=_("Tracking shows delivery to the order's address"),
                at=timezone.now())
    _after_resolution(claim, by=None)
    notify(claim, "delivered", to=[Party.BUYER, Party.SELLER], key=log.pk)
    return log


def _force_refund_locked(claim: Claim) -> ClaimTransition:
    amount = _refundable(claim)
    log = _fire(claim, "force_refund", None, reason=_("Unresolved at the final deadline"), amount=max(amount, 0),
                at=timezone.now())
    if amount > 0:
        _pay_refund(claim, amount, funded_by=FundedBy.PLATFORM, by=None)
    _after_resolution(claim, by=None)
    notify(claim, "forced_refund", to=[Party.BUYER, Party.SELLER], key=log.pk)
    return log


def take_over(*, claim: Claim | int, cause: str = EscalationCause.TAKEOVER, reason: str = "") -> Claim:
    with transaction.atomic():
        claim = _lock(claim)
        _take_over_locked(claim, cause=cause, reason=reason or _("The resolution deadline passed"))
    return claim


def info_timeout(*, claim: Claim | int) -> Claim:
    with transaction.atomic():
        claim = _lock(claim)
        _info_timeout_locked(claim)
    return claim


def mark_delivered(*, claim: Claim | int) -> Claim:
    """Tracking shows delivery to the order's address: a not-received claim closes by itself."""
    with transaction.atomic():
        claim = _lock(claim)
        if not claim.order.is_delivered_to_order_address():
            raise ClaimError(_("Tracking does not show delivery to the order's address."), code="state")
        _mark_delivered_locked(claim)
    return claim


def force_refund(*, claim: Claim | int) -> Claim:
    """Unresolved after 180 days: the only acceptable solution is a full refund, paid by the platform and
    recovered from the seller."""
    with transaction.atomic():
        claim = _lock(claim)
        _force_refund_locked(claim)
    return claim


def note_delivery(*, order: Order) -> int:
    """Tracking of the order changed. When it shows delivery to the order's address, the open not-received
    claims become due for the sweep, which closes them; when a carrier withdraws that, they are no longer due.
    Returns how many claims changed."""
    delivered = order.is_delivered_to_order_address()
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        claims = (Claim.objects.select_for_update(of=("self",)).select_related("seller", "order")
                  .filter(order=order, reason=Reason.NOT_RECEIVED, delivery_seen_at__isnull=delivered).open())
        for claim in claims:
            claim.delivery_seen_at = now if delivered else None
            claim.refresh_next_deadline()
            claim.save(update_fields=["delivery_seen_at", "next_deadline_at", "updated_at"])
            changed += 1
    return changed


SWEEP_BATCH_SIZE = 200


def enforce_deadlines(now: dt.datetime | None = None, *, batch_size: int = SWEEP_BATCH_SIZE) -> dict[str, int]:
    """Act on every claim whose next deadline has passed at `now` (SPEC section 9).

    Due claims are read in batches from the indexed `next_deadline_at` column, so the cost follows the
    number of claims due, not the number open. Each claim is handled in its own transaction, locked with
    SKIP LOCKED (a claim another sweep holds is left to it) and re-checked before acting, so a second sweep,
    at once or later, finds nothing left to do."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    after: tuple[dt.datetime, int] | None = None
    while True:
        due = Claim.objects.filter(next_deadline_at__lte=now)
        if after is not None:
            due = due.filter(Q(next_deadline_at__gt=after[0]) | Q(next_deadline_at=after[0], pk__gt=after[1]))
        batch = list(due.order_by("next_deadline_at", "pk").values_list("next_deadline_at", "pk")[:batch_size])
        for _due_at, pk in batch:
            for action in _enforce_one(pk, now):
                counts[action] = counts.get(action, 0) + 1
        if len(batch) < batch_size:
            break
        after = batch[-1]
    return counts


def _enforce_one(pk: int, now: dt.datetime) -> list[str]:
    with transaction.atomic():
        claim = (Claim.objects.select_for_update(skip_locked=True, of=("self",)).select_related("seller", "order")
                 .filter(pk=pk, next_deadline_at__lte=now).first())
        if claim is None:
            return []  # another sweep holds it, or it is no longer due
        actions = _due_actions(claim, now)
        claim.refresh_next_deadline()
        claim.save()
        return actions


def _due_actions(claim: Claim, now: dt.datetime) -> list[str]:
    """Everything due on one locked claim, in the order the rules take precedence."""
    if not claim.is_open:
        return []
    if claim.hard_deadline_at and claim.hard_deadline_at <= now:
        _force_refund_locked(claim)
        return ["forced_refund"]
    if claim.reason == Reason.NOT_RECEIVED and claim.delivery_seen_at and claim.delivery_seen_at <= now:
        if claim.order.is_delivered_to_order_address():
            _mark_delivered_locked(claim)
            return ["delivered"]
        claim.delivery_seen_at = None  # the carrier corrected its tracking
    actions = []
    if claim.state == ClaimState.AWAITING_INFO and claim.info_due_at and claim.info_due_at <= now:
        _info_timeout_locked(claim)
        actions.append("info_timeout")
    reminder = dt.timedelta(hours=Policy.from_snapshot(claim.policy).reminder_hours)
    if (claim.state == ClaimState.AWAITING_SELLER and not claim.first_reply_breached
            and claim.first_reply_due_at and claim.first_reply_due_at <= now):
        claim.first_reply_breached = True
        claim.first_reply_reminded_at = claim.first_reply_reminded_at or now
        log = ClaimTransition.objects.create(claim=claim, name="first_reply_breach", from_state=claim.state,
                                             to_state=claim.state, party=Party.SYSTEM, created_at=now,
                                             reason=_("The seller did not reply within the first-reply deadline"))
        notify(claim, "first_reply_breached", to=[Party.BUYER, Party.SELLER], key=log.pk)
        actions.append("first_reply_breached")
    if claim.state in (ClaimState.AWAITING_SELLER, ClaimState.IN_PROGRESS) and claim.resolution_due_at \
            and claim.resolution_due_at <= now:
        _take_over_locked(claim, cause=EscalationCause.TAKEOVER, reason=_("The resolution deadline passed"))
        actions.append("taken_over")
        return actions
    if (claim.state == ClaimState.AWAITING_SELLER and not claim.first_reply_breached
            and not claim.first_reply_reminded_at and claim.first_reply_due_at - reminder <= now):
        claim.first_reply_reminded_at = now
        notify(claim, "reminder_first_reply", to=[Party.SELLER], key="first_reply")
        actions.append("first_reply_reminder")
    if (claim.state in (ClaimState.AWAITING_SELLER, ClaimState.IN_PROGRESS) and not claim.resolution_reminded_at
            and claim.resolution_due_at and claim.resolution_due_at - reminder <= now):
        claim.resolution_reminded_at = now
        notify(claim, "reminder_resolution", to=[Party.SELLER], key="resolution")
        actions.append("resolution_reminder")
    return actions

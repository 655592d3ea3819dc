"""What every claim service shares: locking, firing a transition with its log, files and money."""


from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

from dateutil.relativedelta import relativedelta
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from core import audit, formatting
from core.models import AuditKind
from orders.models import Order, OrderItem
from orders.services import book_refund, extend_warranty
from sellers.models import LedgerKind
from sellers.services import record_claim_charge

from .. import batching, quotas, retention, roles
from .. import evidence as evidence_files
from ..abilities import transition_refusal
from ..calendar import local_date
from ..choices import RETURN_OUTCOMES, UNJUSTIFIED_OUTCOMES, ClaimState, EvidenceKind, FundedBy, OfferStatus, Party
from ..eligibility import MAX_DESCRIPTION_LENGTH, already_claimed, trial_ends_on
from ..errors import ClaimError
from ..models import Claim, ClaimItem, ClaimTransition, Evidence, Message, Refund, RefundEvent, RefundLine
from ..money import RefundRoom, refund_room
from ..policy import Policy

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

logger = logging.getLogger(__name__)

User = Any  # django.contrib.auth user; kept loose so services accept any user model


# --- helpers ------------------------------------------------------------------------------------------


def _lock(claim: Claim | int) -> Claim:
    pk = claim.pk if isinstance(claim, Claim) else claim
    try:
        return Claim.objects.select_for_update(of=("self",)).select_related("seller", "order").get(pk=pk)
    except Claim.DoesNotExist as exc:
        raise ClaimError(_("This claim does not exist."), code="invalid") from exc


def _conflict(claim: Claim) -> ClaimError:
    return ClaimError(
        _("Someone else changed claim %(number)s at the same moment. Please reload it and try again.")
        % {"number": claim.number},
        code="conflict",
    )


def _fire(claim: Claim, verb: str, by: User | None, *, reason: str | StrPromise = "",
          return_instructions: str | None = None, **kwargs: Any) -> ClaimTransition:
    """Fire one transition on a locked claim, save it and log it. `by=None` is the system. A transition into
    awaiting_return authorizes the return (claims.services.returns), at the address of the accepted offer's
    `return_instructions` if it has some."""
    if refusal := transition_refusal(claim, verb, by):
        raise refusal
    from_state = claim.state
    getattr(claim, verb)(**kwargs)
    claim.refresh_next_deadline()
    claim.last_activity_at = timezone.now()
    batch = batching.current()
    if batch is None:  # in the sweep's batch (claims.batching), the sweep saves the claim it holds locked
        try:
            claim.save()
        except ConcurrentTransition as exc:
            raise _conflict(claim) from exc
    log = _log(batch, ClaimTransition(
        claim=claim,
        name=verb,
        from_state=from_state,
        to_state=claim.state,
        actor=by,
        party=roles.party_of(claim, by) or Party.AGENT,
        reason=_text(reason),
        created_at=timezone.now(),
    ))
    logger.info("claim %s: %s %s -> %s by %s", claim.number, verb, from_state, claim.state,
                getattr(by, "pk", "system"))
    if claim.state == ClaimState.AWAITING_RETURN and from_state != claim.state:
        from .returns import authorize_return  # here: services.returns builds on this module

        authorize_return(claim, instructions=return_instructions)
    return log


def _text(words: str | StrPromise) -> str:
    """Words for a text field, as given: Django saves a lazy label as text and the object keeps it lazy (the field's
    type says str only)."""
    return cast(str, words)


def _record(claim: Claim, name: str, *, by: User | None, reason: str | StrPromise = "",
            at: dt.datetime | None = None) -> ClaimTransition:
    """A moment on the claim's timeline that changes no state (a breach recorded, the goods received, a defect
    classified, an expert's step), logged as a transition from the state to itself. `by=None` is the system."""
    party = (roles.party_of(claim, by) or Party.AGENT) if by is not None else Party.SYSTEM
    return _log(batching.current(), ClaimTransition(claim=claim, name=name, from_state=claim.state,
                                                    to_state=claim.state, actor=by, party=party, reason=_text(reason),
                                                    created_at=at or timezone.now()))


def _log(batch: batching.Batch | None, log: ClaimTransition) -> ClaimTransition:
    """Write a transition-log row now, or in the sweep's batch with the others at its end (claims.batching)."""
    if batch is None:
        log.save(force_insert=True)
    else:
        batch.logs.append(log)
    return log


@contextmanager
def _files_removed_on_failure() -> Iterator[list[Any]]:
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


def _prepare_uploads(uploads: Iterable[Any], *, kind: str | None = None, claim: Claim | None = None,
                     by: User | None = None, message: bool = False) -> list[evidence_files.PreparedFile]:
    """Check every file before anything is stored: one bad file refuses the whole action. For a `claim` that exists,
    its quotas first (claims.quotas.check_before_reading, `message`: the files go with a message that counts), so a
    person past them is refused before their files are read and re-encoded."""
    uploads = list(uploads)
    if claim is not None:
        quotas.check_before_reading(claim, by=by, files=len(uploads), message=message)
    prepared = []
    for upload in uploads:
        if isinstance(upload, evidence_files.PreparedFile):
            prepared.append(upload)
        elif isinstance(upload, tuple):  # (file, kind) from forms that let the uploader say what a PDF is
            prepared.append(evidence_files.prepare(upload[0], kind=upload[1]))
        else:
            prepared.append(evidence_files.prepare(upload, kind=kind))
    if sum(1 for p in prepared if p.kind == EvidenceKind.VIDEO) > 1:
        raise ClaimError(_("Please attach one video at most."))
    return prepared


def _store_evidence(claim: Claim, files: Sequence[evidence_files.PreparedFile], *, by: User, party: str,
                    stored: list[Any], message: Message | None = None) -> list[Evidence]:
    """Every file stored on a claim comes through here: the claim's files and bytes quota (claims.quotas) is checked
    once, under the caller's claim lock, before the first file is written."""
    quotas.check_files(claim, [prepared.size for prepared in files], party=party)
    created = []
    for prepared in files:
        item = Evidence(
            claim=claim, message=message, kind=prepared.kind, uploaded_by=by, party=party,
            original_name=prepared.original_name[:255], content_type=prepared.content_type,
            size=prepared.size, sha256=prepared.sha256, duration_seconds=prepared.duration_seconds,
        )
        item.file.save("upload", prepared.as_content_file(), save=False)
        stored.append(item.file)
        if prepared.thumbnail:
            item.thumbnail.save("thumbnail", ContentFile(prepared.thumbnail), save=False)
            stored.append(item.thumbnail)
        item.save()
        created.append(item)
    if created:
        retention.file_stored(claim)
    return created


def _post(claim: Claim, *, by: User | None, party: str, body: str | StrPromise, internal: bool = False,
          files: Sequence[evidence_files.PreparedFile] = (), stored: list[Any] | None = None) -> Message:
    now = timezone.now()
    message = Message.objects.create(claim=claim, author=by, party=party, body=_text(body), is_internal=internal,
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


def _refund_room(claim: Claim) -> RefundRoom:
    """What is left to refund on the claim, with the order row locked until the caller's transaction ends: it holds
    until then, so a caller that pays a refund passes it on to `_pay_refund`."""
    return refund_room(claim, lock=True)


def _too_much(claim: Claim, left: Decimal) -> ClaimError:
    if left <= 0:
        return ClaimError(_("Everything claimed has already been refunded."), code="state")
    return ClaimError(_("The refund cannot be more than %(max)s: that is what is left of what the buyer paid "
                        "for the items of this claim.") % {"max": formatting.money_text(left, claim.currency)},
                      code="invalid")


def _pay_refund(claim: Claim, amount: Decimal, *, funded_by: str, by: User | None, recover: bool = True,
                room: RefundRoom | None = None) -> Refund:
    """Record a refund to the buyer, split over the claimed items (and the shipping) it pays for, and hand it to
    the payout provider after commit. When the platform pays in the seller's place, the ledger recovers it.
    Never more than is left of what was paid: checked under the order's row lock, and again by the database."""
    from django.conf import settings


    room = room if room is not None else _refund_room(claim)
    if amount <= 0 or amount > room.total:
        raise _too_much(claim, room.total)
    now = timezone.now()
    refund = Refund.objects.create(claim=claim, amount=amount, currency=claim.currency, funded_by=funded_by,
                                   provider=settings.REFUND_PROVIDER, created_at=now)
    lines = room.allocate(amount)
    RefundLine.objects.bulk_create([RefundLine(refund=refund, order_item=item, amount=share) for item, share in lines])
    try:
        with transaction.atomic():
            book_refund(order=claim.order, lines=lines)
    except IntegrityError as exc:  # pragma: no cover - the row lock above makes this the database's backstop
        raise _too_much(claim, Decimal("0.00")) from exc
    RefundEvent.objects.create(refund=refund, from_status="", to_status=refund.status, actor=by, created_at=now)
    # The audit log (issue 18: "refunds and payouts"): money to the buyer, who decided it (None: the system).
    audit.record(AuditKind.REFUND, actor=by, subject=claim.buyer, obj=refund, amount=str(amount),
                 currency=claim.currency, funded_by=funded_by, claim=claim.number)
    if funded_by == FundedBy.PLATFORM and recover:
        record_claim_charge(seller=claim.seller, kind=LedgerKind.REFUND_RECOVERY, amount=amount,
                            currency=claim.currency, claim=claim, refund=refund, by=by,
                            note=_("Refund for claim %(number)s paid by the platform") % {"number": claim.number})
    from .payouts import dispatch_after_commit

    dispatch_after_commit(refund)
    return refund


def _set_items_open(claim: Claim, is_open: bool) -> None:
    try:
        with transaction.atomic():
            claim.items.update(is_open=is_open)
    except IntegrityError as exc:
        raise ClaimError(_("Another claim is open on an item of this claim; resolve that one first."),
                         code="state") from exc


def _after_resolution(claim: Claim, *, by: User | None) -> None:
    """What every move into `resolved` implies: the items are free for a new claim, the defect's remedy joins the
    item's history, pending offers lapse, goods left with the seller wait for collection, a return not sent yet is
    cancelled, a justified claim extends the warranty, the buyer gets the written resolution, and buyer and seller the
    satisfaction survey."""
    _set_items_open(claim, False)
    from .remedies import record_defect_remedy  # here: services.remedies builds on this module

    record_defect_remedy(claim)  # the item's defect history: repairs, replacements, discounts (claims.remedies)
    claim.offers.filter(status=OfferStatus.PENDING).update(status=OfferStatus.WITHDRAWN,
                                                           answered_at=claim.resolved_at)
    from .warranty import mark_ready_for_collection  # here: services.warranty builds on this module

    mark_ready_for_collection(claim)  # goods left with the seller for the buyer to collect (claims.collection)
    from .returns import close_returns  # here: services.returns builds on this module

    close_returns(claim)  # a return not sent yet is no longer expected (claims.returns)
    if claim.outcome and claim.outcome not in UNJUSTIFIED_OUTCOMES:
        _extend_warranty(claim)
    _send_written_resolution(claim)
    from .satisfaction import send_satisfaction_survey  # here: services.satisfaction builds on this module

    send_satisfaction_survey(claim)  # once per claim and person, never again after a reopening (claims.satisfaction)


def _send_written_resolution(claim: Claim) -> None:
    """The buyer's written resolution (claims.resolution), after everything the resolution changed (the warranty
    extension above all): "the seller will provide confirmation of the date and method of resolving the claim,
    including ... the duration of the claim process, or, if the claim is denied, the reasons for rejection"."""
    from django.urls import reverse

    from core.emails import site_link

    from ..notifications import notify
    from ..resolution import resolution_key, written_resolution

    if (resolution := written_resolution(claim)) is not None:
        print_url = site_link(reverse("claims:resolution", kwargs={"number": claim.number}))
        notify(claim, "resolution", to=[Party.BUYER], key=resolution_key(claim),
               context={"resolution": resolution, "print_url": print_url})


def _extend_warranty(claim: Claim) -> None:
    """A justified claim adds the days spent in it to the claimed items' warranty (a reopened claim only the days
    not added yet). A repair or replacement also leaves at least 6 months of warranty, and inside the trial period
    the trial runs at least 14 more days from getting the item back."""
    policy = Policy.from_snapshot(claim.policy)
    opened_on = local_date(claim.opened_at, time_zone=policy.time_zone)
    resolved_on = local_date(claim.resolved_at or timezone.now(), time_zone=policy.time_zone)
    new_days = max((resolved_on - opened_on).days - claim.warranty_days_credited, 0)
    repaired = claim.outcome in RETURN_OUTCOMES
    if not new_days and not repaired:
        return
    minimum = resolved_on + relativedelta(months=policy.warranty_months_after_repair)
    trial_floor = resolved_on + dt.timedelta(days=policy.trial_days_after_repair)
    from ..eligibility import receipt_date

    received_on = receipt_date(claim.order, policy=policy)
    trial_days = claim.seller.trial_days
    for claim_item in claim.items.select_related("order_item"):
        in_trial = False
        if repaired:
            trial_end = trial_ends_on(claim_item.order_item, received_on, trial_days=trial_days)
            in_trial = trial_end is not None and opened_on <= trial_end
        extend_warranty(item_id=claim_item.order_item_id, days=new_days, warranty_until=minimum if repaired else None,
                        trial_until=trial_floor if in_trial else None)
    if new_days:
        claim.warranty_days_credited += new_days
        Claim.objects.filter(pk=claim.pk).update(warranty_days_credited=claim.warranty_days_credited)


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


def _refuse_if_already_claimed(pairs: Sequence[tuple[OrderItem, int]]) -> None:
    taken = (ClaimItem.objects.filter(order_item__in=[item for item, _qty in pairs], is_open=True)
             .select_related("claim", "order_item").first())
    if taken:
        raise already_claimed(taken.order_item, taken.claim.number)

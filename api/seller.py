"""The seller's endpoints (a seller's key): its claims, their timeline, the actions it may take, evidence.

A seller's key acts as its own user, a staff member of its seller (integrations.keys), so every request goes through
what the seller dashboard uses: its scoped selectors (another seller's claim is a 404, never a 403),
claims.abilities for what may be done now, and the claim services for every change, which check the permission
again and refuse with a ClaimError (api.api answers it as problem details: state 409, forbidden 403, invalid 422;
the claim's quotas, claims.quotas: message-quota 429 with Retry-After, file-quota 422).
Views parse, call one service and answer with what changed; reads write nothing.

    GET  /claims                                  the seller's claims: filters, cursor pagination
    GET  /claims/{number}                         one claim as its dashboard page shows it
    POST /claims/{number}/messages                a message to the buyer (the first is the first reply)
    POST /claims/{number}/offers                  make an offer (it replaces the seller's pending one)
    POST /claims/{number}/offers/{id}/withdraw    withdraw the seller's pending offer
    POST /claims/{number}/offers/{id}/accept      accept the buyer's counter-offer
    POST /claims/{number}/offers/{id}/decline     decline the buyer's counter-offer, with a reason
    POST /claims/{number}/reject                  reject with a reason code and evidence
    POST /claims/{number}/tracking                the shipment's tracking and/or proof of shipment (not received)
    POST /claims/{number}/return-received         the returned item arrived, with the inspection's result
    POST /claims/{number}/info                    answer the platform's question, with files
    POST /claims/{number}/evidence                files (multipart), posted on the thread as the dashboard does
    GET  /claims/{number}/evidence/{id}           a file, with the dashboard's authorization and headers

Files are checked exactly as the pages check them (claims.evidence.prepare: by their bytes, images re-encoded without
metadata, limits) before the service stores them; a refused file is a 422 at the field `files`. Text is checked by
api.schemas.plain_text (no control characters), and a claim number that cannot be one is a 404 before any query.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Path, Query, Router, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError
from ninja.files import UploadedFile
from ninja.signature.details import is_collection_type

from claims import evidence as evidence_files
from claims import quotas, services
from claims import selectors as claim_selectors
from claims.abilities import SELLER_ACTIONS, abilities, prefetch_for_abilities
from claims.choices import OFFER_KINDS_WITH_AMOUNT, ClaimState, EvidenceKind, Party
from claims.errors import ClaimError
from claims.forms import MAX_ATTACHMENTS
from claims.models import Claim, ClaimItem, Evidence, Message, Offer
from claims.money import shown_refund_room
from claims.retention import purged_words
from claims.seller import selectors
from claims.templatetags.returns import return_panel
from claims.views import serve_evidence
from core.models import max_length
from orders.services import TrackingError

from .auth import seller_key
from .problems import Problem
from .schemas import (
    MAX_ID,
    ClaimDetail,
    ClaimFilters,
    ClaimPage,
    DeclineIn,
    EvidenceUploaded,
    FormDocumentKind,
    InfoIn,
    MessageIn,
    MessageOut,
    OfferIn,
    OfferOut,
    RejectIn,
    ReturnReceivedIn,
    Text,
    TrackingIn,
    money,
)

router = Router(auth=seller_key, tags=["claims"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
MAX_NUMBER_LENGTH = max_length(Claim, "number")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
S = TypeVar("S", bound=Schema)


# --- which claims: the dashboard's scope -----------------------------------------------------------------------------


def _claims(request: HttpRequest) -> QuerySet[Claim]:
    """The key's seller's claims, scoped as the dashboard scopes its staff's (the key's user is that staff)."""
    key = request.auth  # type: ignore[attr-defined]  # set by django-ninja's authentication
    return selectors.staff_claims(request.user).filter(seller_id=key.seller_id)


def _number(number: str) -> str:
    """A claim number that could be one, or the 404 of an unknown claim before any query: PostgreSQL refuses a NUL
    (%00 in the path) in a query, and a control character or a number longer than the column is no claim's."""
    if len(number) > MAX_NUMBER_LENGTH or not number.isprintable():
        raise Http404
    return number


def _claim(request: HttpRequest, number: str) -> Claim:
    """One claim to act on (the service locks and reads it again)."""
    return get_object_or_404(_claims(request).select_related("seller", "order"), number=_number(number))


def _claim_page(request: HttpRequest, number: str) -> Claim:
    """One claim with everything its dashboard page shows (claims.seller.selectors.claim_for_staff)."""
    claim = selectors.claim_for_staff(request.user, _number(number))
    if claim.seller_id != request.auth.seller_id:  # type: ignore[attr-defined]  # set by ninja's authentication
        raise Http404
    return claim


# --- the list --------------------------------------------------------------------------------------------------------


def _invalid(field: str, message: str) -> Problem:
    return Problem("validation", _("Some fields are missing or invalid."), errors={field: [message]})


def _aware(moment: dt.datetime | None, field: str) -> dt.datetime | None:
    """A moment with its offset (a local time without one could be any zone's), in UTC: an offset ISO 8601 allows
    and a database does not (+19:00) is no server error."""
    if moment is None:
        return None
    try:
        if timezone.is_naive(moment):
            raise ValueError(moment)
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:  # naive, or out of the calendar once in UTC (year 9999, -12:00)
        raise _invalid(field, _("Give the moment with its offset, for example 2026-03-10T09:00:00Z.")) from exc


def _limit(limit: int | None) -> int:
    if limit is None:
        return settings.API_PAGE_SIZE
    if not 1 <= limit <= settings.API_MAX_PAGE_SIZE:
        raise _invalid("limit", _("Ask for 1 to %(max)d claims per page.") % {"max": settings.API_MAX_PAGE_SIZE})
    return limit


def _cursor(claim: Claim) -> str:
    """Where the next page starts: after this claim in the list's order (opened_at, pk), opaque to clients."""
    raw = json.dumps([claim.opened_at.isoformat(), claim.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after_cursor(cursor: str) -> Q:
    try:
        opened, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        opened_at = dt.datetime.fromisoformat(opened)
        if not isinstance(pk, int) or timezone.is_naive(opened_at) or not 0 < pk <= MAX_ID:
            raise ValueError(cursor)
        opened_at = opened_at.astimezone(dt.UTC)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid("cursor", _("This is not a cursor of this list: pass the next_cursor of the previous page "
                                   "as it was.")) from exc
    return Q(opened_at__lt=opened_at) | Q(opened_at=opened_at, pk__lt=pk)


@router.get("/claims", response=ClaimPage, url_name="claims", summary="The seller's claims")
def list_claims(request: HttpRequest, filters: Query[ClaimFilters]) -> dict[str, Any]:
    """The seller's claims, newest first (by when they were opened, so a claim keeps its place while it is worked
    on and a walk through the pages has no gap and no repeat). Each with what this key may do on it now, the
    seller's deadline to act and what is still refundable. Poll with `updated_since` for what changed."""
    limit = _limit(filters.limit)
    claims = _claims(request)
    if filters.state:
        claims = claims.filter(state__in=filters.state)
    if filters.reason:
        claims = claims.filter(reason__in=filters.reason)
    if filters.needs_action is not None:
        needs = selectors.needs_seller()
        claims = claims.filter(needs) if filters.needs_action else claims.exclude(needs)
    if (since := _aware(filters.updated_since, "updated_since")) is not None:
        # updated_at moves on every save of the claim (states, deadlines), last_activity_at on every message and
        # offer (written without a save): a change is either.
        claims = claims.filter(Q(updated_at__gte=since) | Q(last_activity_at__gte=since))
    if filters.cursor:
        claims = claims.filter(_after_cursor(filters.cursor))
    page = list(claims.select_related("order", "seller").prefetch_related(
        Prefetch("items", queryset=ClaimItem.objects.order_by("id")), "order__items",
    ).order_by("-opened_at", "-pk")[:limit + 1])
    more = len(page) > limit
    page = page[:limit]
    prefetch_for_abilities(page)  # what abilities() reads, for the whole page at once
    now = timezone.now()
    return {"items": [_summary(claim, request.user, now) for claim in page],
            "next_cursor": _cursor(page[-1]) if more else None}


def _escalation_eligible_at(claim: Claim, now: dt.datetime) -> dt.datetime | None:
    """From when the buyer may ask the platform to step in (Claim.buyer_may_escalate): the first-reply deadline, or
    the seller's latest rejection (read from the prefetched log); None while they cannot."""
    rejected_at = next((t.created_at for t in reversed(claim.transitions.all()) if t.name == "reject"), None)
    opens = rejected_at if claim.rejected and rejected_at is not None else claim.first_reply_due_at
    if opens is None or not claim.buyer_may_escalate(now=max(opens, now)):
        return None
    return opens


def _summary(claim: Claim, user: Any, now: dt.datetime) -> dict[str, Any]:
    """A claim of the list: needs `order`, `seller`, `items` and `order__items`, and prefetch_for_abilities."""
    can = abilities(claim, user, SELLER_ACTIONS)
    deadline = selectors.seller_deadline(claim, now)
    return {
        "number": claim.number, "state": claim.state, "reason": claim.reason,
        "desired_outcome": claim.desired_outcome, "channel": claim.channel, "outcome": claim.outcome or None,
        "rejected": claim.rejected, "order_number": claim.order.number, "opened_at": claim.opened_at,
        "updated_at": max(claim.updated_at, claim.last_activity_at), "resolved_at": claim.resolved_at,
        "allowed_actions": [action for action, ability in can.items() if ability.allowed],
        "respond_by": deadline.due_at if deadline.sellers else None,
        "escalation_eligible_at": _escalation_eligible_at(claim, now),
        "refundable": money(shown_refund_room(claim).total, claim.currency),
    }


# --- one claim -------------------------------------------------------------------------------------------------------


def _evidence(evidence: Evidence, claim: Claim) -> dict[str, Any]:
    return {
        "id": evidence.pk, "kind": evidence.kind, "content_type": evidence.content_type, "size": evidence.size,
        "uploaded_by": evidence.party, "created_at": evidence.created_at, "message_id": evidence.message_id,
        "url": reverse("api:claim_evidence", kwargs={"number": claim.number, "evidence_id": evidence.pk}),
        "purged_at": evidence.purged_at,
    }


def _author(message: Message) -> str | None:
    """The seller's own people are named to it (the dashboard's "You (name)"); the buyer and the agents are not."""
    if message.party != Party.SELLER or message.author is None:
        return None
    return message.author.get_full_name() or message.author.get_username()


def _message(message: Message, claim: Claim) -> dict[str, Any]:
    return {"id": message.pk, "party": message.party, "author": _author(message), "body": message.body,
            "created_at": message.created_at,
            "evidence": [_evidence(evidence, claim) for evidence in message.attachments.all()]}


def _offer(offer: Offer, currency: str) -> dict[str, Any]:
    return {
        "id": offer.pk, "kind": offer.kind, "status": offer.status,
        "amount": money(offer.amount, currency) if offer.amount is not None else None, "note": offer.note,
        "return_instructions": offer.return_instructions,
        # The platform's offers are an agent's: said as the platform's, as the dashboard does.
        "party": Party.AGENT if offer.on_behalf_of_platform else offer.party, "counter_to": offer.counter_to_id,
        "decline_reason": offer.decline_reason, "created_at": offer.created_at, "answered_at": offer.answered_at,
    }


def _timeline(claim: Claim) -> list[dict[str, Any]]:
    """The dashboard's timeline (claims.selectors.timeline): no internal note, no agent's own reasons."""
    entries = []
    for entry in claim_selectors.timeline(claim):
        message = entry.item if entry.kind == "message" else entry.note
        entries.append({
            "at": entry.at, "kind": entry.kind, "name": entry.name, "title": entry.title, "party": entry.party,
            "body": entry.body, "message_id": message.pk if message is not None else None,
            "offer_id": entry.item.pk if entry.kind == "offer" else None,
            "evidence_ids": [evidence.pk for evidence in message.attachments.all()] if message is not None else [],
        })
    return entries


def _return(claim: Claim) -> dict[str, Any] | None:
    """The return panel of the seller's page (claims.templatetags.returns): none once the claim is resolved."""
    panel = return_panel(claim, "seller")
    if panel is None:
        return None
    ret = panel.ret
    return {"rma_number": ret.rma_number, "status": ret.status, "address": ret.address,
            "postage_paid_by": ret.postage_paid_by, "authorized_at": ret.created_at, "send_by": panel.send_due,
            "carrier": ret.carrier, "tracking_number": ret.tracking_number, "shipped_at": ret.shipped_at,
            "delivered_at": ret.delivered_at, "confirm_by": panel.confirm_due, "received_at": ret.received_at}


def _detail(request: HttpRequest, number: str) -> dict[str, Any]:
    claim = _claim_page(request, number)
    prefetch_for_abilities([claim])
    now = timezone.now()
    room = shown_refund_room(claim)
    deadline = selectors.seller_deadline(claim, now)
    order = claim.order
    claimed = {claim_item.order_item_id: claim_item.quantity for claim_item in claim.items.all()}
    # What the page shows: the buyer's evidence with the claim, and the files of the public messages.
    files = sorted([*claim.opening_evidence, *(evidence for message in claim.public_messages
                                               for evidence in message.attachments.all())],
                   key=lambda evidence: (evidence.created_at, evidence.pk))
    return {
        **_summary(claim, request.user, now),
        "description": claim.description, "discovered_on": claim.discovered_on,
        "defect_type": claim.defect_type or None, "escalation_reason": claim_selectors.escalation_reason(claim),
        "deadline": {"label": deadline.label, "text": deadline.text, "due_at": deadline.due_at,
                     "overdue": deadline.overdue},
        "claimed": money(room.claimed_value, claim.currency), "refunded": money(room.refunded, claim.currency),
        "order": {
            "number": order.number, "placed_at": order.placed_at, "buyer_name": order.delivery_name,
            "buyer_kind": order.buyer_kind, "delivery_address": order.delivery_address,
            "total": money(order.total, order.currency), "payment_method": order.payment_method,
            "ship_by": order.ship_by, "estimated_delivery": order.estimated_delivery,
            "shipments": [{"carrier": s.carrier, "tracking_number": s.tracking_number, "shipped_at": s.shipped_at,
                           "delivered_at": s.delivered_at, "delivered_to_order_address": s.delivered_to_order_address}
                          for s in order.shipments.all()],
        },
        "items": [{"id": item.pk, "title": item.title, "sku": item.sku, "condition": item.condition,
                   "serial_number": item.serial_number, "quantity": item.quantity,
                   "claimed_quantity": claimed.get(item.pk, 0), "unit_price": money(item.unit_price, order.currency)}
                  for item in sorted(order.items.all(), key=lambda item: item.pk)],
        "timeline": _timeline(claim),
        "messages": [_message(message, claim) for message in claim.public_messages],
        "offers": [_offer(offer, claim.currency) for offer in claim.offers.all()],
        "evidence": [_evidence(evidence, claim) for evidence in files],
        "return_authorization": _return(claim),
    }


@router.get("/claims/{number}", response=ClaimDetail, url_name="claim", summary="One claim")
def claim_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    """The claim as the seller dashboard's page shows it to the seller's staff: its items, timeline, messages (no
    internal notes), offers, evidence and return, with what this key may do now."""
    return _detail(request, number)


# --- parsing what comes with an action -------------------------------------------------------------------------------


def _payload(request: HttpRequest, schema: type[S]) -> tuple[S, list[Any]]:
    """The body of an action that takes JSON or, with files, multipart form data (fields by the same names, the files
    as `files`): the fields checked by `schema`, and the uploaded files."""
    source = "form" if request.content_type in FORM_TYPES else "body"
    if source == "form":
        # An empty field of a form is a field not given (an HTML form sends every field it has).
        data = {name: (request.POST.getlist(name) if is_collection_type(field.annotation) else request.POST[name])
                for name, field in schema.model_fields.items() if request.POST.get(name, "") != ""}
        uploads = request.FILES.getlist("files")
    else:
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, or nested deeper than any body of ours
            raise Problem("bad-request", _("The body is neither JSON nor multipart form data.")) from exc
        uploads = []
    try:
        return schema.model_validate(data), uploads
    except pydantic.ValidationError as error:
        errors = error.errors(include_url=False, include_context=False, include_input=False)
        raise NinjaValidationError([{**e, "loc": (source, *e["loc"])} for e in errors]) from error


def _body_doc(schema: type[Schema], files: str) -> dict[str, Any]:
    """The OpenAPI request body of such an action: JSON, or multipart with `files`."""
    fields = schema.model_json_schema()
    form = {**fields, "properties": {**fields["properties"], "files": {
        "type": "array", "items": {"type": "string", "format": "binary"}, "description": files}}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": fields},
                                                          "multipart/form-data": {"schema": form}}}}


def _prepare(uploads: list[Any], kind: str | None, *, claim: Claim, by: Any,
             message: bool = False) -> list[evidence_files.PreparedFile]:
    """The pages' checks (claims.evidence.prepare), each file's refusal at the field `files`; the services take the
    prepared files as they are. The claim's quotas are looked at first, as the services do before reading a file
    (claims.quotas.check_before_reading; `message`: the files go with a message that counts)."""
    if len(uploads) > MAX_ATTACHMENTS:
        raise _invalid("files", _("Please choose at most %(max)d files.") % {"max": MAX_ATTACHMENTS})
    quotas.check_before_reading(claim, by=by, files=len(uploads), message=message)
    prepared = []
    for upload in uploads:
        try:
            prepared.append(evidence_files.prepare(upload, kind=kind))
        except ClaimError as error:
            raise Problem("invalid", str(error), errors={"files": [str(error)]}) from error
    return prepared


def _uploaded_before(claim: Claim, ids: list[int]) -> list[evidence_files.PreparedFile]:
    """Files the seller's side uploaded on this claim earlier (POST …/evidence, or the dashboard), sent again with an
    action that needs evidence: a copy of the stored (already checked and cleaned) file goes with it."""
    if not ids:
        return []
    found = {evidence.pk: evidence for evidence in Evidence.objects.filter(
        Q(message__isnull=True) | Q(message__is_internal=False), claim=claim, party=Party.SELLER, pk__in=ids)}
    unknown = [str(pk) for pk in ids if pk not in found]
    if unknown:
        raise _invalid("evidence_ids", _("Not files your shop uploaded on this claim: %(ids)s.")
                       % {"ids": ", ".join(unknown)})
    copies = []
    for pk in dict.fromkeys(ids):
        evidence = found[pk]
        with evidence.file.open("rb") as stored:
            content = stored.read()
        thumbnail = None
        if evidence.thumbnail:
            with evidence.thumbnail.open("rb") as stored:
                thumbnail = stored.read()
        copies.append(evidence_files.PreparedFile(content, evidence.content_type, evidence.kind,
                                                  evidence.original_name, thumbnail, evidence.duration_seconds))
    return copies


def _post(claim: Claim, user: Any, body: str, files: list[Any]) -> Message:
    """As the dashboard's reply: the first answer goes through `reply` (it stops the first-reply clock and checks the
    seller may answer); later ones are messages on the thread."""
    if claim.state == ClaimState.AWAITING_SELLER:
        return services.reply(claim=claim, by=user, body=body, attachments=files)
    return services.post_message(claim=claim, by=user, body=body, attachments=files)


# --- actions ---------------------------------------------------------------------------------------------------------


@router.post("/claims/{number}/messages", response={201: MessageOut}, url_name="claim_messages",
             summary="Write to the buyer")
def post_message(request: HttpRequest, number: str, payload: MessageIn) -> Status[dict[str, Any]]:
    """A message on the claim's thread. The seller's first one is its first reply: it stops the first-reply clock
    and the claim is in progress."""
    claim = _claim(request, number)
    return Status(201, _message(_post(claim, request.user, payload.body, []), claim))


# A form field of the text's rules (api.schemas.Text): declared so, because django-ninja loses the default of a
# Form[...] whose type has constraints of its own.
EVIDENCE_NOTE = Form("")


@router.post("/claims/{number}/evidence", response={201: EvidenceUploaded}, url_name="claim_evidence_upload",
             summary="Upload evidence")
def upload_evidence(request: HttpRequest, number: str, files: File[list[UploadedFile]],
                    note: Text = EVIDENCE_NOTE, kind: Form[FormDocumentKind] = "",
                    ) -> Status[dict[str, Any]]:
    """Photos (JPEG, PNG, WebP, HEIC), one video (MP4, MOV) or PDFs, up to 5 at once, checked as the dashboard
    checks them and posted on the thread with `note` (or a line saying files are attached), as the dashboard's reply
    with attachments: the seller's first post is its first reply. `kind` says what the PDFs are (invoice,
    proof_of_shipment, customs_form, inspection_report; document unless given). Their ids can then go with a
    rejection or a proof of shipment (`evidence_ids`)."""
    claim = _claim(request, number)
    prepared = _prepare(files, kind or None, claim=claim, by=request.user, message=True)
    message = _post(claim, request.user, note or _("Files attached."), prepared)
    return Status(201, {"message_id": message.pk,
                        "evidence": [_evidence(evidence, claim) for evidence in message.attachments.all()]})


@router.post("/claims/{number}/offers", response={201: OfferOut}, url_name="claim_offers", summary="Make an offer")
def make_offer(request: HttpRequest, number: str, payload: OfferIn) -> Status[dict[str, Any]]:
    """A resolution offer to the buyer (claims.services.make_offer): it replaces the seller's pending one. A partial
    refund or discount needs an amount below what is refundable; a full refund or return for refund is what is left
    to refund. A first offer is also the seller's first reply."""
    with_amount = payload.kind in OFFER_KINDS_WITH_AMOUNT
    if with_amount and payload.amount is None:
        raise _invalid("amount", _("Please enter the amount of the partial refund or discount."))
    claim = _claim(request, number)
    offer = services.make_offer(claim=claim, by=request.user, kind=payload.kind,
                                amount=payload.amount if with_amount else None, note=payload.note,
                                return_instructions=payload.return_instructions)
    return Status(201, _offer(offer, claim.currency))


@router.post("/claims/{number}/offers/{offer_id}/withdraw", response=OfferOut, url_name="claim_offer_withdraw",
             summary="Withdraw an offer")
def withdraw_offer(request: HttpRequest, number: str, offer_id: Id) -> dict[str, Any]:
    """The seller's own pending offer (not the platform's, not the buyer's counter-offer: accept or decline that)."""
    claim = _claim(request, number)
    offer = get_object_or_404(Offer, pk=offer_id, claim=claim)
    return _offer(services.withdraw_offer(offer=offer, by=request.user), claim.currency)


@router.post("/claims/{number}/offers/{offer_id}/accept", response=ClaimDetail, url_name="claim_offer_accept",
             summary="Accept the buyer's counter-offer")
def accept_counter_offer(request: HttpRequest, number: str, offer_id: Id) -> dict[str, Any]:
    """The buyer's pending counter-offer, accepted as the dashboard accepts it (claims.services.accept_counter_offer):
    the claim is settled as when the buyer accepts an offer, at the seller's expense (a refund is paid, or a return
    is authorised first). Only while the claim is with the seller; any other offer is a 409 `state`."""
    claim = _claim(request, number)
    offer = get_object_or_404(Offer, pk=offer_id, claim=claim)
    services.accept_counter_offer(offer=offer, by=request.user)
    return _detail(request, number)


@router.post("/claims/{number}/offers/{offer_id}/decline", response=OfferOut, url_name="claim_offer_decline",
             summary="Decline the buyer's counter-offer")
def decline_counter_offer(request: HttpRequest, number: str, offer_id: Id, payload: DeclineIn) -> dict[str, Any]:
    """The buyer's pending counter-offer, declined with a reason the buyer reads if one is given
    (claims.services.decline_counter_offer). The seller may then make another offer."""
    claim = _claim(request, number)
    offer = get_object_or_404(Offer, pk=offer_id, claim=claim)
    return _offer(services.decline_counter_offer(offer=offer, by=request.user, reason=payload.reason), claim.currency)


@router.post("/claims/{number}/reject", response=ClaimDetail, url_name="claim_reject", summary="Reject the claim",
             openapi_extra=_body_doc(RejectIn, "Evidence files, checked as the pages check them."))
def reject(request: HttpRequest, number: str) -> dict[str, Any]:
    """Reject the claim with a reason code, an explanation for the buyer and evidence (claims.services.reject, which
    needs at least one file). The evidence is files sent with it (multipart form data: `code`, `body`, `files`,
    optionally `evidence_kind` for the PDFs), or files uploaded before on this claim (`evidence_ids`, in JSON or form
    data), or both: a copy of each earlier file goes with the rejection. The buyer may then ask the platform to
    decide at once."""
    claim = _claim(request, number)
    payload, uploads = _payload(request, RejectIn)
    files = [*_prepare(uploads, payload.evidence_kind or EvidenceKind.DOCUMENT, claim=claim, by=request.user),
             *_uploaded_before(claim, payload.evidence_ids)]
    if not files:
        raise _invalid("files" if request.content_type in FORM_TYPES else "evidence_ids",
                       _("A rejection needs evidence: attach at least one photo or document."))
    services.reject(claim=claim, by=request.user, code=payload.code, body=payload.body, evidence=files)
    return _detail(request, number)


@router.post("/claims/{number}/tracking", response=ClaimDetail, url_name="claim_tracking",
             summary="Prove the shipment", openapi_extra=_body_doc(TrackingIn, "Proof of shipment (PDF or photo)."))
def add_tracking(request: HttpRequest, number: str) -> dict[str, Any]:
    """On a claim for an item not received: the shipment's carrier and tracking number, proof of shipment (files
    in multipart form data, or `evidence_ids` of files uploaded before), or both (claims.services.add_tracking).
    When the carrier confirms delivery to the order's address, the claim closes by itself."""
    claim = _claim(request, number)
    payload, uploads = _payload(request, TrackingIn)
    carrier, tracking_number = payload.carrier.strip(), payload.tracking_number.strip()
    if tracking_number and not carrier:
        raise _invalid("carrier", _("Please name the carrier of this tracking number."))
    if carrier and not tracking_number:
        raise _invalid("tracking_number", _("Please enter the tracking number."))
    shipped_at = _aware(payload.shipped_at, "shipped_at")
    files = [*_prepare(uploads, EvidenceKind.PROOF_OF_SHIPMENT, claim=claim, by=request.user),
             *_uploaded_before(claim, payload.evidence_ids)]
    if not tracking_number and not files:
        raise _invalid("tracking_number", _("Enter a tracking number or attach a proof of shipment."))
    try:
        services.add_tracking(claim=claim, by=request.user, carrier=carrier, tracking_number=tracking_number,
                              shipped_at=shipped_at, evidence=files)
    except ClaimError as error:
        if isinstance(error.__cause__, TrackingError):
            # The shipment was refused: a parcel of another order (the number), or a date that cannot be.
            field = "tracking_number" if error.__cause__.code == "tracking_taken" or shipped_at is None \
                else "shipped_at"
            raise Problem("invalid", str(error), errors={field: [str(error)]}) from error
        raise
    return _detail(request, number)


@router.post("/claims/{number}/return-received", response=ClaimDetail, url_name="claim_return_received",
             summary="Confirm the returned item arrived")
def return_received(request: HttpRequest, number: str, payload: ReturnReceivedIn) -> dict[str, Any]:
    """The returned item arrived, with the result of the inspection (claims.services.receive_return): a return for
    refund pays the buyer now, a repair or replacement completes the claim."""
    claim = _claim(request, number)
    services.receive_return(claim=claim, by=request.user, inspection_result=payload.inspection_result,
                            note=payload.note)
    return _detail(request, number)


@router.post("/claims/{number}/info", response=ClaimDetail, url_name="claim_info",
             summary="Answer the platform's question",
             openapi_extra=_body_doc(InfoIn, "Files that go with the answer, checked as the pages check them."))
def provide_info(request: HttpRequest, number: str) -> dict[str, Any]:
    """The seller's answer when the platform asked it for information (claims.services.provide_info, as the
    dashboard's answer form): posted on the thread, the buyer reads it too, and the claim goes back to the platform.
    Files may go with it, sent along (multipart form data: `body`, `files`, optionally `evidence_kind` for the PDFs)
    or uploaded before on this claim (`evidence_ids`). Only while the platform waits for the seller's answer."""
    claim = _claim(request, number)
    payload, uploads = _payload(request, InfoIn)
    files = [*_prepare(uploads, payload.evidence_kind or EvidenceKind.DOCUMENT, claim=claim, by=request.user),
             *_uploaded_before(claim, payload.evidence_ids)]
    services.provide_info(claim=claim, by=request.user, body=payload.body, attachments=files)
    return _detail(request, number)


@router.get("/claims/{number}/evidence/{evidence_id}", url_name="claim_evidence", summary="Download evidence",
            openapi_extra={"responses": {200: {"description": "The file (or its JPEG thumbnail), with byte ranges",
                                                 "content": {"*/*": {"schema": {"type": "string",
                                                                                "format": "binary"}}}}}})
def evidence_file(request: HttpRequest, number: str, evidence_id: Id,
                  variant: Literal["file", "thumbnail"] = "file") -> HttpResponseBase:
    """A file of the claim, as the dashboard serves it (the same authorization and headers: claims.views
    .serve_evidence). A file of another claim, or attached to a note of the platform's agents, is a 404."""
    claim = _claim(request, number)
    evidence = claim_selectors.evidence_for_viewer(request.user, evidence_id)
    if evidence.claim_id != claim.pk:
        raise Http404
    if evidence.purged_at is not None:
        raise Problem("gone", purged_words(evidence, claim))
    return serve_evidence(request, evidence, variant)

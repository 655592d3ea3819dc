"""The shapes of the seller API (django-ninja Schemas): what a seller's key reads of its claims, and what it sends
to act on them. Money is a decimal string with its currency next to it ("12.50", "EUR"); moments are ISO 8601 in
UTC. Names of states, reasons, kinds and actions are the claims' own values (claims.choices, claims.abilities).

Choices are Literal types made from those values, so that the OpenAPI schema lists them inline and a request with a
value that does not exist is a 422 at its field."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from claims.choices import (
    Channel,
    ClaimState,
    DefectType,
    DesiredOutcome,
    EvidenceKind,
    InspectionResult,
    OfferKind,
    OfferStatus,
    Outcome,
    Party,
    Reason,
    RejectionCode,
    ReturnStatus,
)
from claims.eligibility import MAX_DESCRIPTION_LENGTH
from claims.offers import DECLINE_REASON_LENGTH
from claims.seller.forms import SELLER_FILE_KINDS


def choices(values: list[str]) -> Any:
    """A Literal of the values (a list of a TextChoices' values): inline in the schema, checked on input."""
    return Literal[tuple(str(value) for value in values)]


# What a seller may say a PDF is (the dashboard's choices); a photo is a photo and a video a video whatever is said.
DOCUMENT_KINDS = [value for value, _label in SELLER_FILE_KINDS if value] + [EvidenceKind.DOCUMENT]

if TYPE_CHECKING:  # Literals made at run time from the values: to the type checker, strings
    StateName: TypeAlias = str
    ReasonName: TypeAlias = str
    PartyName: TypeAlias = str
    OfferKindName: TypeAlias = str
    DocumentKind: TypeAlias = str
    FormDocumentKind: TypeAlias = str
    DesiredOutcomeName: TypeAlias = str
    ChannelName: TypeAlias = str
    OutcomeName: TypeAlias = str
    EvidenceKindName: TypeAlias = str
    OfferStatusName: TypeAlias = str
    ReturnStatusName: TypeAlias = str
    DefectTypeName: TypeAlias = str
    RejectionCodeName: TypeAlias = str
    InspectionResultName: TypeAlias = str
else:
    StateName = choices(ClaimState.values)
    ReasonName = choices(Reason.values)
    PartyName = choices(Party.values)
    OfferKindName = choices(OfferKind.values)
    DocumentKind = choices(DOCUMENT_KINDS)
    # The same in a form, where an empty choice (the dashboard's "Other document") is a field not chosen.
    FormDocumentKind = choices(["", *DOCUMENT_KINDS])
    DesiredOutcomeName = choices(DesiredOutcome.values)
    ChannelName = choices(Channel.values)
    OutcomeName = choices(Outcome.values)
    EvidenceKindName = choices(EvidenceKind.values)
    OfferStatusName = choices(OfferStatus.values)
    ReturnStatusName = choices(ReturnStatus.values)
    DefectTypeName = choices(DefectType.values)
    RejectionCodeName = choices(RejectionCode.values)
    InspectionResultName = choices(InspectionResult.values)


def _split_commas(value: Any) -> Any:
    """`?state=a&state=b` and `?state=a,b` are the same filter."""
    values = value if isinstance(value, list) else [value]
    return [part.strip() for item in values for part in str(item).split(",") if part.strip()]


# --- reading ---------------------------------------------------------------------------------------------------------


class Money(Schema):
    amount: str = Field(examples=["12.50"], description="A decimal amount as a string, never a float.")
    currency: str = Field(examples=["EUR"])


def money(amount: Decimal, currency: str) -> Money:
    return Money(amount=f"{amount:.2f}", currency=currency)


class ClaimFilters(Schema):
    state: Annotated[list[StateName], BeforeValidator(_split_commas)] = Field(
        default_factory=list, description="Only claims in these states (repeat it, or separate them with commas).")
    reason: Annotated[list[ReasonName], BeforeValidator(_split_commas)] = Field(
        default_factory=list, description="Only claims for these reasons (repeat it, or separate them with commas).")
    needs_action: bool | None = Field(
        None, description="true: only the claims where the next move is the seller's (the dashboard's “Needs your "
                          "action”); false: only the others.")
    updated_since: dt.datetime | None = Field(
        None, description="Only claims changed (a message, an offer, a state, a deadline) at or after this moment; "
                          "ISO 8601 with its offset.")
    cursor: str | None = Field(None, description="The `next_cursor` of the previous page.")
    limit: int | None = Field(None, description="Claims per page: API_PAGE_SIZE (50) unless given, at most "
                                                "API_MAX_PAGE_SIZE (200).")


class ClaimSummary(Schema):
    number: str = Field(examples=["C-7KQ2-MX4P"])
    state: StateName
    reason: ReasonName
    desired_outcome: DesiredOutcomeName
    channel: ChannelName
    outcome: OutcomeName | None
    rejected: bool = Field(description="The seller rejected the claim (the buyer may ask the platform to decide).")
    order_number: str
    opened_at: dt.datetime
    updated_at: dt.datetime = Field(description="The last change: a message, an offer, a state or a deadline.")
    resolved_at: dt.datetime | None
    allowed_actions: list[str] = Field(
        description="What this key may do on the claim now (claims.abilities' action names: message, "
                    "upload_evidence, make_offer, withdraw_offer, accept_counter_offer, decline_counter_offer, reject, "
                    "add_tracking, receive_return, provide_info, …).")
    respond_by: dt.datetime | None = Field(
        description="The seller's deadline to act, as the dashboard counts down to it; null when the next move is "
                    "not the seller's.")
    escalation_eligible_at: dt.datetime | None = Field(
        description="From when the buyer may ask the platform to step in (the first-reply deadline, or the "
                    "seller's rejection); null when they cannot (the claim is not with the seller).")
    refundable: Money = Field(description="What is still refundable on the claim's items.")


class ClaimPage(Schema):
    items: list[ClaimSummary]
    next_cursor: str | None = Field(description="Pass it as `cursor` for the next page; null on the last page.")


class EvidenceOut(Schema):
    id: int
    kind: EvidenceKindName
    content_type: str = Field(examples=["image/jpeg"])
    size: int = Field(description="Bytes, as stored (photos are re-encoded without their metadata).")
    uploaded_by: PartyName
    created_at: dt.datetime
    message_id: int | None = Field(description="The message it came with; null for the buyer's claim itself.")
    url: str = Field(description="Where this key downloads it: GET, with the key.")
    purged_at: dt.datetime | None = Field(description="When the file was deleted, after the retention period or at "
                                                      "its uploader's request; its download then answers 410 (gone). "
                                                      "Null while it is kept.")


class MessageOut(Schema):
    id: int
    party: PartyName
    author: str | None = Field(description="The seller's own staff member (or key) who wrote it; the buyer and the "
                                           "platform's agents are not named.")
    body: str
    created_at: dt.datetime
    evidence: list[EvidenceOut]


class OfferOut(Schema):
    id: int
    kind: OfferKindName
    status: OfferStatusName
    amount: Money | None
    note: str
    return_instructions: str
    party: PartyName = Field(description="Who proposed it: seller, buyer (a counter-offer) or agent (the "
                                         "platform's offer).")
    counter_to: int | None = Field(description="The offer the buyer declined by making this counter-offer.")
    decline_reason: str
    created_at: dt.datetime
    answered_at: dt.datetime | None


class TimelineEntry(Schema):
    at: dt.datetime
    kind: Literal["event", "message", "offer"]
    name: str = Field(description="An event's transition (reply, reject, escalate, decide, …); empty otherwise.")
    title: str = Field(description="The event or the offer in words, in the language of the request.")
    party: PartyName
    body: str
    message_id: int | None
    offer_id: int | None
    evidence_ids: list[int]


class ItemOut(Schema):
    id: int
    title: str
    sku: str
    condition: str
    serial_number: str
    quantity: int = Field(description="How many were ordered.")
    claimed_quantity: int = Field(description="How many of them the claim is about (0: not claimed).")
    unit_price: Money


class ShipmentOut(Schema):
    carrier: str
    tracking_number: str
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None
    delivered_to_order_address: bool


class OrderOut(Schema):
    number: str
    placed_at: dt.datetime
    buyer_name: str
    buyer_kind: str
    delivery_address: str
    total: Money
    payment_method: str
    ship_by: dt.date | None
    estimated_delivery: dt.date | None
    shipments: list[ShipmentOut]


class DeadlineOut(Schema):
    label: str
    text: str = Field(description="What is due, as the dashboard says it, in the language of the request.")
    due_at: dt.datetime | None
    overdue: bool


class ReturnOut(Schema):
    rma_number: str
    status: ReturnStatusName
    address: str
    postage_paid_by: PartyName
    authorized_at: dt.datetime
    send_by: dt.datetime | None = Field(description="The buyer's deadline to send it, while it is to be sent.")
    carrier: str
    tracking_number: str
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None
    confirm_by: dt.datetime | None = Field(description="The seller's deadline to confirm it, once delivered.")
    received_at: dt.datetime | None


class ClaimDetail(ClaimSummary):
    description: str
    discovered_on: dt.date | None
    defect_type: DefectTypeName | None
    escalation_reason: str = Field(description="The buyer's words when they asked the platform to step in, while "
                                               "the platform has the claim because of it.")
    deadline: DeadlineOut
    claimed: Money
    refunded: Money
    order: OrderOut
    items: list[ItemOut]
    timeline: list[TimelineEntry]
    messages: list[MessageOut]
    offers: list[OfferOut]
    evidence: list[EvidenceOut]
    return_authorization: ReturnOut | None


class EvidenceUploaded(Schema):
    message_id: int = Field(description="The message the files were posted with, on the claim's thread.")
    evidence: list[EvidenceOut]


# --- acting ----------------------------------------------------------------------------------------------------------

# The largest id a database integer holds: a larger one is a 422 at its field, never a database error.
MAX_ID = 2**63 - 1
# What a person's text may hold besides printable characters: its line breaks and tabs.
LAYOUT_CHARACTERS = frozenset("\t\n\r")


def plain_text(value: str) -> str:
    """Text people write, on one line or on many: no other control character (NUL above all, which PostgreSQL refuses
    in a text column, and the rest, which no one types and no page shows) and no lone surrogate (which JSON's \\u
    escapes can carry and UTF-8 cannot store)."""
    if any(unicodedata.category(char) in ("Cc", "Cs") and char not in LAYOUT_CHARACTERS for char in value):
        raise PydanticCustomError("control_character", _("Control characters are not allowed here."))
    return value


def text(max_length: int, min_length: int = 0) -> Any:
    """A text field: stripped, within its lengths, checked by plain_text."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     AfterValidator(plain_text)]


if TYPE_CHECKING:  # text(): strings, with constraints the type checker does not know
    Text: TypeAlias = str
    RequiredText: TypeAlias = str
    ReturnInstructions: TypeAlias = str
    CarrierName: TypeAlias = str
    TrackingNumber: TypeAlias = str
    DeclineReason: TypeAlias = str
else:
    Text = text(MAX_DESCRIPTION_LENGTH)
    RequiredText = text(MAX_DESCRIPTION_LENGTH, min_length=1)
    ReturnInstructions = text(1000)
    CarrierName = text(50)
    TrackingNumber = text(64)
    DeclineReason = text(DECLINE_REASON_LENGTH)
EvidenceIds = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], BeforeValidator(_split_commas)]


class MessageIn(Schema):
    body: RequiredText = Field(description="The message to the buyer (the seller's first one is its first reply, "
                                           "which stops the first-reply clock).")


class OfferIn(Schema):
    kind: OfferKindName
    amount: Decimal | None = Field(None, gt=0, max_digits=12, decimal_places=2,
                                   description="For partial_refund and discount: less than what is refundable. "
                                               "Ignored for the other kinds (a full refund is what is left).")
    note: Text = ""
    return_instructions: ReturnInstructions = Field("", description="Where the buyer sends the item (return for "
                                                                    "refund, repair, replacement); empty: the return "
                                                                    "address of your warranty policy.")


class RejectIn(Schema):
    code: RejectionCodeName
    body: RequiredText = Field(description="Why, for the buyer (and the platform if they escalate).")
    evidence_ids: EvidenceIds = Field(default_factory=list, description="Files your shop already uploaded on this "
                                                                      "claim (POST …/evidence) that support it.")
    evidence_kind: DocumentKind | None = Field(None, description="What the PDFs sent with it are.")


class TrackingIn(Schema):
    carrier: CarrierName = Field("", examples=["DHL"])
    tracking_number: TrackingNumber = ""
    shipped_at: dt.datetime | None = Field(None, description="When the parcel was handed to the carrier (ISO 8601 "
                                                             "with its offset); now unless given.")
    evidence_ids: EvidenceIds = Field(default_factory=list, description="Proof of shipment your shop already "
                                                                      "uploaded on this claim.")


class ReturnReceivedIn(Schema):
    inspection_result: InspectionResultName
    note: Text = ""


class DeclineIn(Schema):
    reason: DeclineReason = Field("", description="Why you decline it, for the buyer (optional).")


class InfoIn(Schema):
    body: RequiredText = Field(description="The answer to the platform's question (the buyer reads it too, as every "
                                           "message on the thread).")
    evidence_ids: EvidenceIds = Field(default_factory=list, description="Files your shop already uploaded on this "
                                                                      "claim (POST …/evidence) to send with it.")
    evidence_kind: DocumentKind | None = Field(None, description="What the PDFs sent with it are.")

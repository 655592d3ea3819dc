"""A person's data, for them to download (GDPR art. 15 and 20): a ZIP of JSON files and the evidence files they
uploaded, built for the person logged in and keyed by their account alone.

    README.txt               what each file holds
    account.json             the account: names, email, dates, second factor on or off, seller roles, erasure requests
    orders.json              their orders with items, delivery addresses and shipments
    claims.json              their claims as their claim pages show them: the claim, public messages (whoever wrote
                             them; the platform's internal notes never), offers, refunds, the timeline, the appeal,
                             returns, expert assessments, their survey answer, the evidence listed
    notifications.json       their list of notifications
    email_preferences.json   the kinds of email they turned on or off
    audit.json               the audit log's lines about their account (logins, second factors, exports, …)
    evidence/<claim>/<id>-<name>   the files they uploaded that are still kept (claims.retention)

The claims come from the buyer pages' own reads and words (claims.selectors, claims.presenters), in a fixed number
of queries however many rows. The archive is built in a spooled temporary file: in memory up to SPOOL_BYTES, on disk
beyond, so a buyer with many videos costs disk, not memory.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import tempfile
import zipfile
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.translation import gettext as _

from claims import keeping_up, selectors
from claims.models import Appeal, Claim, Evidence, Notification
from core.models import AuditEvent
from orders.models import Order

from .models import ErasureRequest

if TYPE_CHECKING:
    from claims.selectors import ClaimInFull

logger = logging.getLogger(__name__)

SPOOL_BYTES = 8 * 1024 * 1024
NAME_LENGTH = 80  # of an uploaded file's own name, in the archive
UNSAFE = re.compile(r"[^\w.\- ]+")


@dataclasses.dataclass
class Archive:
    file: IO[bytes]
    size: int
    filename: str
    files: int


def build(user: Any) -> Archive:
    """The archive of everything this person's account holds, ready to be sent (read from the start)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the response, which closes it
    claims = list(selectors.buyer_claims_in_full(user))
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        stored = _write_files(archive, claims, user)
        documents = {
            "account.json": account(user),
            "orders.json": orders(user),
            "claims.json": [claim_data(claim, user, stored) for claim in claims],
            "notifications.json": notifications(user),
            "email_preferences.json": keeping_up.email_settings(user),
            "audit.json": audit_lines(user),
        }
        archive.writestr("README.txt", readme())
        for name, data in documents.items():
            archive.writestr(name, json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
    size = spool.tell()
    spool.seek(0)
    day = timezone.localdate().isoformat()
    return Archive(file=spool, size=size, filename=f"my-data-{day}.zip", files=len(stored))


def readme() -> str:
    lines = [
        _("Your data, as our marketplace keeps it on the day you downloaded it."),
        "",
        _("account.json: your account (name, email, when you joined and last logged in)."),
        _("orders.json: your orders, with their items, delivery addresses and shipments."),
        _("claims.json: your claims as your claim pages show them: messages, offers, refunds, the timeline, appeals, "
          "returns and expert assessments, and the files listed."),
        _("notifications.json: your notifications on this site."),
        _("email_preferences.json: the kinds of email you get or turned off."),
        _("audit.json: the security log of your account (logins, failed logins, second factor, downloads of your "
          "data, erasure requests)."),
        _("evidence/: the files you uploaded that we still keep, in a folder per claim."),
        "",
        _("The privacy page of the site says what we keep, why and for how long."),
    ]
    return "\n".join(lines) + "\n"


def _member_name(evidence: Evidence, claim: Claim) -> str:
    """evidence/<claim>/<id>-<the uploader's own file name>, made safe: no folders, nothing but letters, digits and
    . - _ and spaces."""
    original = UNSAFE.sub("_", (evidence.original_name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip(" ._")
    stem = original[:NAME_LENGTH] if original else f"file{evidence.extension}"
    return f"evidence/{claim.number}/{evidence.pk}-{stem}"


def _files_of(claim: Claim) -> list[Evidence]:
    """The evidence the buyer's claim page shows: the claim's own files and those of its public messages."""
    files = list(claim.opening_evidence)
    files += [evidence for message in claim.public_messages for evidence in message.attachments.all()]
    return sorted(files, key=lambda evidence: (evidence.created_at, evidence.pk))


def _write_files(archive: zipfile.ZipFile, claims: Sequence[Claim], user: Any) -> dict[int, str]:
    """The files this person uploaded and that are still kept, stored as they are (photos and videos are compressed
    already); returns where each went, by evidence id. A file missing from the storage is left out, and listed
    without a place in the archive."""
    stored = {}
    for claim in claims:
        for evidence in _files_of(claim):
            if evidence.uploaded_by_id != user.pk or evidence.purged_at is not None or not evidence.file.name:
                continue
            path = _member_name(evidence, claim)
            info = zipfile.ZipInfo(path, date_time=timezone.localtime(evidence.created_at).timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED
            try:
                with evidence.file.open("rb") as source, archive.open(info, "w") as target:
                    for chunk in source.chunks():
                        target.write(chunk)
            except FileNotFoundError:
                logger.warning("data export: evidence %s is missing from the storage", evidence.pk)
                continue
            stored[evidence.pk] = path
    return stored


# --- the JSON documents --------------------------------------------------------------------------------------------


def account(user: Any) -> dict[str, Any]:
    from django_otp import user_has_device

    return {
        "username": user.get_username(),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "two_factor_authentication": user_has_device(user),
        "seller_roles": [{"seller": membership.seller.display_name, "role": membership.get_role_display(),
                          "since": membership.created_at}
                         for membership in user.seller_memberships.select_related("seller").order_by("created_at")],
        "erasure_requests": [{"requested_at": request.requested_at, "state": request.get_state_display(),
                              "processed_at": request.processed_at, "note": request.note}
                             for request in ErasureRequest.objects.filter(user=user).order_by("requested_at", "id")],
    }


def orders(user: Any) -> list[dict[str, Any]]:
    rows = (Order.objects.filter(buyer=user).select_related("seller").prefetch_related("items", "shipments")
            .order_by("placed_at", "id"))
    return [{
        "number": order.number, "seller": order.seller.display_name, "placed_at": order.placed_at,
        "buyer_kind": order.get_buyer_kind_display(), "currency": order.currency, "total": order.total,
        "shipping": order.shipping_amount, "shipping_refunded": order.shipping_refunded,
        "payment_method": selectors.payment_method_words(order), "language": order.language,
        "delivery_address": {"name": order.delivery_name, "line1": order.delivery_line1,
                             "line2": order.delivery_line2, "postal_code": order.delivery_postal_code,
                             "city": order.delivery_city, "country": order.delivery_country},
        "items": [{"title": item.title, "sku": item.sku, "condition": item.get_condition_display(),
                   "quantity": item.quantity, "unit_price": item.unit_price, "serial_number": item.serial_number,
                   "warranty_months": item.warranty_months, "refunded": item.refunded_amount}
                  for item in order.items.all()],
        "shipments": [{"carrier": shipment.carrier, "tracking_number": shipment.tracking_number,
                       "shipped_at": shipment.shipped_at, "delivered_at": shipment.delivered_at}
                      for shipment in order.shipments.all()],
    } for order in rows]


def claim_data(claim: ClaimInFull, user: Any, stored: dict[int, str]) -> dict[str, Any]:
    """One claim as its buyer reads it (claims.selectors and claims.presenters say it the way the page does)."""
    appeal = _appeal_of(claim)
    return {
        "number": claim.number, "order": claim.order.number, "seller": claim.seller.display_name,
        "reason": claim.get_reason_display(), "description": claim.description,
        "desired_outcome": claim.get_desired_outcome_display(), "discovered_on": claim.discovered_on,
        "items": [{"title": item.order_item.title, "quantity": item.quantity} for item in claim.items.all()],
        "state": claim.get_state_display(), "opened_at": claim.opened_at, "resolved_at": claim.resolved_at,
        "outcome": selectors.outcome_sentence(claim) if claim.resolved_at else "",
        "messages": [{"at": message.created_at, "from": message.get_party_display(),
                      "mine": message.author_id == user.pk, "text": message.body,
                      "files": [evidence.pk for evidence in message.attachments.all()]}
                     for message in claim.public_messages],
        "offers": [{"at": offer.created_at, "from": offer.get_party_display(), "kind": offer.get_kind_display(),
                    "amount": offer.amount, "note": offer.note, "return_instructions": offer.return_instructions,
                    "status": offer.get_status_display(), "answered_at": offer.answered_at,
                    "decline_reason": offer.decline_reason} for offer in claim.offers.all()],
        "refunds": [{"at": refund.created_at, "amount": refund.amount, "currency": refund.currency,
                     "status": refund.get_status_display(), "paid_at": refund.paid_at,
                     "what_happens": selectors.refund_sentence(refund)} for refund in claim.refunds.all()],
        "timeline": [{"at": entry.at, "kind": entry.kind, "what": entry.title, "by": entry.party,
                      "text": entry.body} for entry in selectors.timeline(claim)],
        "appeal": {"by": appeal.get_party_display(), "reason": appeal.reason, "status": appeal.get_status_display(),
                   "filed_at": appeal.created_at, "decided_at": appeal.decided_at, "note": appeal.note}
        if appeal is not None else None,
        "returns": [{"number": ret.rma_number, "address": ret.address, "status": ret.get_status_display(),
                     "postage_paid_by": ret.get_postage_paid_by_display(), "carrier": ret.carrier,
                     "tracking_number": ret.tracking_number, "shipped_at": ret.shipped_at,
                     "delivered_at": ret.delivered_at} for ret in claim.returns.all()],
        "expert_assessments": [{"stage": assessment.get_stage_display(), "expert": assessment.expert,
                                "requested_at": assessment.requested_at, "result": assessment.get_result_display(),
                                "note": assessment.note, "concluded_at": assessment.concluded_at,
                                "costs": [{"what": cost.description, "amount": cost.amount}
                                          for cost in assessment.costs.all()]}
                               for assessment in claim.expert_assessments.all()],
        "survey_answer": [{"rating": answer.rating, "comment": answer.comment, "answered_at": answer.answered_at}
                          for answer in claim.buyer_answers],
        "evidence": [{"id": evidence.pk, "kind": evidence.get_kind_display(), "from": evidence.get_party_display(),
                      "uploaded_at": evidence.created_at, "size": evidence.size,
                      "deleted_at": evidence.purged_at, "in_archive": stored.get(evidence.pk)}
                     for evidence in _files_of(claim)],
    }


def _appeal_of(claim: Claim) -> Appeal | None:
    """The claim's appeal, loaded with it (select_related): no query either way."""
    try:
        return claim.appeal
    except Appeal.DoesNotExist:
        return None


def notifications(user: Any) -> list[dict[str, Any]]:
    return [{"at": notification.created_at, "text": notification.text,
             "claim": notification.claim.number if notification.claim is not None else None,
             "read_at": notification.read_at}
            for notification in Notification.objects.filter(user=user).select_related("claim")
            .only("created_at", "text", "read_at", "claim__number", "claim__state").order_by("created_at", "id")]


def audit_lines(user: Any) -> list[dict[str, Any]]:
    """The audit log's lines about this account. Who acted is said as a role, never by name: the support team's
    members are people too."""
    return [{"at": event.at, "what": event.get_kind_display(), "kind": event.kind,
             "by": _("you") if event.actor_id == user.pk else (_("the system") if event.actor_id is None
                                                                else _("our team")),
             "address": event.ip_address, "summary": event.summary, "details": event.details}
            for event in AuditEvent.objects.filter(subject_user=user).order_by("at", "id")]

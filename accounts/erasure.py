"""Erasing a person's data at their request (GDPR art. 17), by pseudonymisation.

A buyer asks on their privacy page (`request_erasure`); an agent processes the request in the console
(accounts.admin_privacy): `erase` or `refuse`. Erasing keeps every record the marketplace must keep — orders with their
numbers and amounts, claims, refunds and their lines, the seller ledger, the claims' transition log and the audit log —
and removes what names the person: the account's name, email and password, the delivery addresses, the texts they
wrote (claim descriptions, messages, counter-offers, reasons, appeals, survey comments), the files they uploaded, the
content of the emails to them or about their claims, their login counters, sessions, second factors and email
settings. Texts other people wrote on their claims keep their content with the person's names, email and address lines
blanked out. The account stays (as "erased-<id>", unable to log in), so every record that refers to it still does.
Someone who once worked for a seller or the platform (membership or staff flag since removed) keeps what they wrote and
sent on other people's claims there, as that claim's record, with their names blanked out of it and of the emails that
quoted it; only their own claims are erased as a buyer's.

While a claim of theirs is not final, a refund to them not paid or an expert's costs they owe not settled, the data
is still needed to finish it: `blockers` names what, and `erase` refuses (art. 17(3)(e): legal claims).

The claims' transition log keeps every step (what, when, by whom); only the words given with a step lose the person:
the reasons they gave are replaced, their names blanked out of others' (core.models.AppendOnlyQuerySet.redact, the one
edit that append-only log allows). The audit log and the ledger hold no names by design (core.audit).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from claims.choices import ClaimState, Party, RefundStatus
from claims.models import (
    Appeal,
    Claim,
    ClaimTransition,
    ClaimView,
    Defect,
    EmailPreference,
    Evidence,
    ExpertAssessment,
    ExpertCost,
    Message,
    Notification,
    Offer,
    OutboundEmail,
    Refund,
    ReturnAuthorization,
    SatisfactionResponse,
)
from core import audit, emails
from core.errors import DomainError
from core.models import AuditKind
from core.usernames import normalize_username
from integrations.models import IdempotencyRecord
from orders.models import Order

from .models import ErasureRequest, ErasureState

logger = logging.getLogger(__name__)

PROCESS_PERMISSION = "accounts.process_erasure"
# GDPR art. 12(3): a request is answered "without undue delay and in any event within one month of receipt".
ANSWER_WITHIN = relativedelta(months=1)
NOTE_MAX_LENGTH = 2000
REFUSED_EMAIL_EVENT = "erasure_refused"  # OutboundEmail.event of the email saying why a request was refused
# A name, an email or an address line shorter than this is not searched for in other people's texts: "Al" or "Li"
# would blank out unrelated words.
SHORTEST_IDENTIFIER = 2


class ErasureError(DomainError):
    """Codes: "forbidden" (this person may not do it), "state" (not possible now: already processed, something still
    open), "invalid" (bad input), "conflict" (a request is already pending)."""


# --- the words that replace what is erased -----------------------------------------------------------------------
# Written in the platform's language (settings.LANGUAGE_CODE) when the erasure runs: the rows are read later by
# sellers and agents of any language, and a fixed marker is what they all recognise.


def _erased_message() -> str:
    return _("This message was deleted at its author's request.")


def _erased_text() -> str:
    return _("[Deleted at the buyer's request]")


def _erased_value() -> str:
    return _("[erased]")


def _erased_email() -> str:
    return _("The content of this email was deleted when the buyer's personal data was erased.")


# --- who may ask, and what stands in the way --------------------------------------------------------------------


def answer_due(request_obj: ErasureRequest) -> dt.date:
    """The day by which the request is processed (ANSWER_WITHIN of its receipt), in the marketplace's zone."""
    return timezone.localdate(request_obj.requested_at + ANSWER_WITHIN)


def works_for_the_platform_or_a_seller(user: Any) -> bool:
    """Staff accounts (agents, finance, superusers) and seller staff are the employer's to close, not erased through
    the buyer's form: their messages and actions are records of the seller's or the platform's work."""
    return bool(user.is_staff or user.is_superuser or user.seller_memberships.exists())


def pending_request(user: Any) -> ErasureRequest | None:
    return ErasureRequest.objects.filter(user=user, state=ErasureState.PENDING).first()


def latest_request(user: Any) -> ErasureRequest | None:
    return ErasureRequest.objects.filter(user=user).order_by("-requested_at", "-id").first()


def blockers(user: Any) -> list[str]:
    """Why the person's data cannot be erased now, in sentences for the agent and the person (empty: it can). Each
    names what is still open: claims not final (claims.choices: only "resolved" is), refunds not paid, expert costs
    not settled."""
    reasons = []
    if works_for_the_platform_or_a_seller(user):
        reasons.append(_("This account works for a seller or for the platform. Such accounts are closed by the "
                         "seller's owner or by an administrator, not erased through this request."))
    open_claims = list(Claim.objects.filter(buyer=user).exclude(state=ClaimState.RESOLVED)
                       .order_by("opened_at", "id").values_list("number", flat=True))
    if open_claims:
        reasons.append(ngettext("Claim %(numbers)s is not closed yet.", "Claims %(numbers)s are not closed yet.",
                                len(open_claims)) % {"numbers": ", ".join(open_claims)})
    unpaid = list(dict.fromkeys(Refund.objects.filter(claim__buyer=user).exclude(status=RefundStatus.PAID)
                                .order_by("created_at", "id").values_list("claim__number", flat=True)))
    if unpaid:
        reasons.append(ngettext("A refund on claim %(numbers)s has not been paid yet.",
                                "Refunds on claims %(numbers)s have not been paid yet.", len(unpaid))
                       % {"numbers": ", ".join(unpaid)})
    costs = list(dict.fromkeys(ExpertAssessment.objects.filter(
        claim__buyer=user, costs_sent_at__isnull=False, costs_paid_at__isnull=True)
        .order_by("requested_at", "id").values_list("claim__number", flat=True)))
    if costs:
        reasons.append(ngettext("The expert's costs on claim %(numbers)s are not settled yet.",
                                "The expert's costs on claims %(numbers)s are not settled yet.", len(costs))
                       % {"numbers": ", ".join(costs)})
    return reasons


def request_erasure(*, user: Any, request: Any = None) -> ErasureRequest:
    """The person asks to have their data erased: one pending request at a time, processed by an agent within
    ANSWER_WITHIN. Nothing is erased yet."""
    if not getattr(user, "is_authenticated", False):
        raise ErasureError(_("Please log in to ask for your data to be erased."), code="forbidden")
    if works_for_the_platform_or_a_seller(user):
        raise ErasureError(_("This account works for a seller or for the platform: please ask the seller's owner or an "
                             "administrator to close it."), code="forbidden")
    already = pending_request(user)
    if already is not None:
        raise ErasureError(_("You already asked on %(day)s. Our support team will process that request by %(due)s; "
                             "there is no need to ask again.") % {
            "day": _day(already.requested_at), "due": _day(answer_due(already))}, code="conflict")
    try:
        with transaction.atomic():
            created = ErasureRequest.objects.create(user=user, requested_at=timezone.now())
            audit.record(AuditKind.ERASURE_REQUESTED, actor=user, request=request, obj=created)
    except IntegrityError as exc:  # the same person's second click, a moment ago (one_pending_erasure)
        raise ErasureError(_("You already asked for your data to be erased; our support team will process that "
                             "request."), code="conflict") from exc
    return created


def _day(moment: dt.datetime | dt.date) -> str:
    from core.formatting import day

    return day(moment)


def _require_processor(by: Any) -> None:
    if not (by is not None and by.is_authenticated and by.is_active and by.is_staff
            and by.has_perm(PROCESS_PERMISSION)):
        raise ErasureError(_("Only the support team can process erasure requests."), code="forbidden")


def _lock_pending(request_obj: ErasureRequest) -> ErasureRequest:
    locked = ErasureRequest.objects.select_for_update().get(pk=request_obj.pk)
    if locked.state != ErasureState.PENDING:
        raise ErasureError(_("This request was already processed (%(state)s).")
                           % {"state": locked.get_state_display()}, code="state")
    return locked


# --- refusing ------------------------------------------------------------------------------------------------------


def refuse(request_obj: ErasureRequest, *, by: Any, note: str) -> ErasureRequest:
    """Refuse the request with a note for the person (why, and what they can do), which their privacy page shows and
    an email sends them (GDPR art. 12(4): the reasons, without delay)."""
    _require_processor(by)
    note = (note or "").strip()
    if not note:
        raise ErasureError(_("Please write why the request is refused: the person is sent this note."))
    if len(note) > NOTE_MAX_LENGTH:
        raise ErasureError(_("Please keep the note under %(max)d characters.") % {"max": NOTE_MAX_LENGTH})
    with transaction.atomic():
        locked = _lock_pending(request_obj)
        locked.state = ErasureState.REFUSED
        locked.note = note
        locked.processed_by = by
        locked.processed_at = timezone.now()
        locked.save(update_fields=["state", "note", "processed_by", "processed_at"])
        audit.record(AuditKind.ERASURE_REFUSED, actor=by, subject=locked.user, obj=locked)
        _email_refusal(locked)
    return locked


def _language_of(user: Any) -> str:
    """The language the person last shopped in (their emails are written in it), else the platform's."""
    language = (Order.objects.filter(buyer=user).order_by("-placed_at", "-id").values_list("language", flat=True)
                .first())
    return language or settings.LANGUAGE_CODE


def _email_refusal(request_obj: ErasureRequest) -> None:
    """The refusal through the outbox (claims.notifications sends it after commit), like every other email."""
    from django.urls import reverse

    from claims.notifications import enqueue

    user = request_obj.user
    if not user.email:
        return
    language = _language_of(user)
    with translation.override(language):
        context = {"recipient": user, "note": request_obj.note, "requested_at": request_obj.requested_at,
                   "link": emails.site_link(reverse("accounts:privacy"))}
        subject = _("Your request to erase your data")
        text, html = emails.render("erasure_refused", context)
    row = OutboundEmail.objects.create(claim=None, recipient=user, to_email=user.email, event=REFUSED_EMAIL_EVENT,
                                       dedupe_key=f"{REFUSED_EMAIL_EVENT}:{request_obj.pk}", language=language,
                                       subject=subject, body_text=text, body_html=html)
    transaction.on_commit(lambda: enqueue([row.pk]))


# --- erasing -------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Erased:
    """What one erasure changed, counted (the audit row's details: numbers only)."""

    orders: int = 0
    texts: int = 0
    messages: int = 0
    files: int = 0
    emails_deleted: int = 0
    emails_emptied: int = 0
    redacted: int = 0
    sessions: int = 0
    login_records: int = 0
    other_rows: int = 0

    def details(self) -> dict[str, Any]:  # numbers, as audit.record's **details (Any) takes them
        return dataclasses.asdict(self)


def erase(request_obj: ErasureRequest, *, by: Any) -> Erased:
    """Pseudonymise the person of a pending request, all at once or not at all (module docstring). Refused, with
    the reasons, while `blockers` names something open. The files go last, after every row is written: should the
    transaction still fail, the next attempt finds the rows as they were and deletes what is left."""
    _require_processor(by)
    user_model = get_user_model()
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        locked = _lock_pending(request_obj)
        user = user_model.objects.select_for_update().get(pk=locked.user_id)
        if reasons := blockers(user):
            raise ErasureError(" ".join([_("The data cannot be erased yet:"), *reasons]), code="state")
        now = timezone.now()
        counts = Erased()
        identifiers = _identifiers(user)
        pattern = _identifier_pattern(identifiers)
        old_username, old_email = user.username, user.email
        claims = Claim.objects.filter(buyer=user)
        worked_on = _claims_worked_on(user, claims)

        counts.orders = _erase_orders(user)
        counts.texts = _erase_own_texts(user, claims)
        counts.messages = (Message.objects.filter(author=user, claim__in=claims)
                           .update(body=_erased_message(), erased_at=now))
        files, counts.files = _purge_uploads(user, claims, now)
        counts.emails_deleted, counts.emails_emptied = _erase_emails(user, old_email, claims, pattern)
        counts.redacted = _redact_others_emails(user, old_email, claims, worked_on, identifiers)
        counts.redacted += _redact_others_texts(user, claims, worked_on, pattern)
        counts.redacted += _redact_transition_reasons(user, claims, worked_on, pattern)
        counts.login_records = _forget_logins(user, old_username, old_email)
        counts.other_rows = (EmailPreference.objects.filter(user=user).delete()[0]
                             + ClaimView.objects.filter(user=user).delete()[0]
                             + _delete_stored_answers(pattern))
        _pseudonymise_account(user)
        counts.redacted += _redact_console_log(user, identifiers, pattern)
        counts.sessions = _end_sessions(user, now)

        locked.state = ErasureState.DONE
        locked.processed_by = by
        locked.processed_at = now
        locked.note = _redact(pattern, locked.note)
        locked.save(update_fields=["state", "processed_by", "processed_at", "note"])
        for pk, note in ErasureRequest.objects.filter(user=user).exclude(pk=locked.pk).values_list("pk", "note"):
            ErasureRequest.objects.filter(pk=pk).update(note=_redact(pattern, note))  # earlier refusals' notes
        audit.record(AuditKind.ERASURE_DONE, actor=by, subject=user, obj=locked, **counts.details())
        _delete_files(files)
    logger.info("erasure request %s: account %s erased by %s", locked.pk, user.pk, by.pk)
    return counts


def _identifiers(user: Any) -> list[str]:
    """What names the person in other people's texts: their names, username, email, and the name and street lines
    of their delivery addresses (a postal code or a city alone names nobody)."""
    found = {user.get_full_name(), user.first_name, user.last_name, user.username, user.email}
    for name, line1, line2 in Order.objects.filter(buyer=user).values_list("delivery_name", "delivery_line1",
                                                                           "delivery_line2"):
        found |= {name, line1, line2}
    return sorted({value.strip() for value in found if value and len(value.strip()) >= SHORTEST_IDENTIFIER},
                  key=lambda value: (-len(value), value))


def _identifier_pattern(identifiers: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for all of them, longest first ("Anna Berger" before "Anna"), as whole words."""
    words = [re.escape(value) for value in identifiers]
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE)


def _redact(pattern: re.Pattern[str] | None, text: str) -> str:
    if pattern is None or not text:
        return text
    return pattern.sub(_erased_value(), text)


def _erase_orders(user: Any) -> int:
    """The delivery addresses: placeholders in their place; the country stays (it decides the law and the taxes),
    and so do the numbers, dates and amounts."""
    erased = _erased_value()
    count = 0
    for pk, line2 in Order.objects.filter(buyer=user).values_list("pk", "delivery_line2"):
        Order.objects.filter(pk=pk).update(delivery_name=erased, delivery_line1=erased,
                                           delivery_line2=erased if line2 else "", delivery_postal_code=erased,
                                           delivery_city=erased)
        count += 1
    return count


def _claims_worked_on(user: Any, claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """Other people's claims the person wrote on or acted in: as a seller's staff member or an agent before (the
    membership or the staff flag since removed; `blockers` refuses while they last). What they wrote there is the
    seller's or the platform's record of that claim, so it stays, with the person's names blanked out."""
    ids = (set(Message.objects.filter(author=user).values_list("claim_id", flat=True))
           | set(Offer.objects.filter(made_by=user).values_list("claim_id", flat=True))
           | set(Appeal.objects.filter(appellant=user).values_list("claim_id", flat=True))
           | set(ClaimTransition.objects.filter(actor=user).values_list("claim_id", flat=True))
           | set(Evidence.objects.filter(uploaded_by=user).values_list("claim_id", flat=True)))
    return Claim.objects.filter(pk__in=ids).exclude(pk__in=claims)


def _erase_own_texts(user: Any, claims: QuerySet[Claim]) -> int:
    """Every text the person wrote on their claims besides messages, replaced as a whole."""
    text = _erased_text()
    count = claims.exclude(description="").update(description=text)
    count += Offer.objects.filter(made_by=user, claim__in=claims).exclude(note="").update(note=text)
    # A declined offer of the seller or the platform: its decline reason is the buyer's.
    count += (Offer.objects.filter(claim__in=claims).exclude(party=Party.BUYER).exclude(decline_reason="")
              .update(decline_reason=text))
    count += Appeal.objects.filter(appellant=user, claim__in=claims).update(reason=text)
    count += (SatisfactionResponse.objects.filter(claim__in=claims, party=Party.BUYER).exclude(comment="")
              .update(comment=text))
    return count


def _purge_uploads(user: Any, claims: QuerySet[Claim], now: dt.datetime) -> tuple[list[tuple[Any, str]], int]:
    """The files the person uploaded on their claims: the rows say so (purged_at, no name left), the storage names are
    returned for `_delete_files`. Files they sent for a seller or the platform on other people's claims are that
    claim's evidence: they stay (claims.retention deletes them in their turn), without the name they came with."""
    files: list[tuple[Any, str]] = []
    uploads = list(Evidence.objects.select_for_update().filter(uploaded_by=user, claim__in=claims,
                                                                purged_at__isnull=True))
    for evidence in uploads:
        for field in (evidence.file, evidence.thumbnail):
            if field.name:
                files.append((field.storage, field.name))
    Evidence.objects.filter(pk__in=[e.pk for e in uploads]).update(purged_at=now, file="", thumbnail="")
    Evidence.objects.filter(uploaded_by=user).exclude(original_name="").update(original_name="")
    return files, len(uploads)


def _delete_files(files: list[tuple[Any, str]]) -> None:
    try:
        for storage, name in files:
            storage.delete(name)
    except OSError as exc:  # the storage is unreachable: nothing is committed, the agent tries again
        logger.exception("erasure: could not delete an evidence file")
        raise ErasureError(_("The uploaded files could not be deleted from the storage just now, so nothing was "
                             "erased. Please try again in a few minutes."), code="state") from exc


def _erase_emails(user: Any, email: str, claims: QuerySet[Claim], pattern: re.Pattern[str] | None) -> tuple[int, int]:
    """Emails to the person or about their claims: those not sent yet are deleted (the notification in each
    recipient's list stays); those sent keep who got which event when, with the address of the person blanked and
    the content replaced."""
    about = Q(recipient=user) | Q(claim__in=claims)
    if email:
        about |= Q(to_email__iexact=email)
    rows = OutboundEmail.objects.filter(about)
    deleted = rows.filter(sent_at__isnull=True).delete()[0]
    body = _erased_email()
    emptied = 0
    for pk, recipient_id, to_email, subject, last_error in rows.values_list(
            "pk", "recipient_id", "to_email", "subject", "last_error"):
        theirs = recipient_id == user.pk or (email and to_email.lower() == email.lower())
        OutboundEmail.objects.filter(pk=pk).update(
            to_email="" if theirs else to_email, subject=_redact(pattern, subject), body_text=body,
            body_html=f"<p>{escape(body)}</p>", facts={}, last_error=_redact(pattern, last_error))
        emptied += 1
    return deleted, emptied


def _redact_others_emails(user: Any, email: str, claims: QuerySet[Claim], worked_on: QuerySet[Claim],
                          identifiers: list[str]) -> int:
    """Emails to other people about the claims the person worked on for a seller or the platform: they are those
    people's, so they stay as sent or to be sent, with the person's names blanked out of them (their messages were
    quoted in them). The HTML body has them escaped."""
    pattern = _identifier_pattern(identifiers)
    if pattern is None:
        return 0
    in_html = _identifier_pattern(sorted({*identifiers, *(escape(value) for value in identifiers)},
                                         key=lambda value: (-len(value), value)))
    rows = OutboundEmail.objects.filter(claim__in=worked_on).exclude(recipient=user).exclude(claim__in=claims)
    if email:
        rows = rows.exclude(to_email__iexact=email)
    changed = 0
    for pk, subject, text, html, facts, last_error in rows.values_list("pk", "subject", "body_text", "body_html",
                                                                        "facts", "last_error"):
        updates = {"subject": _redact(pattern, subject), "body_text": _redact(pattern, text),
                   "body_html": _redact(in_html, html), "facts": _redact_json(pattern, facts),
                   "last_error": _redact(pattern, last_error)}
        if updates != {"subject": subject, "body_text": text, "body_html": html, "facts": facts,
                       "last_error": last_error}:
            OutboundEmail.objects.filter(pk=pk).update(**updates)
            changed += 1
    return changed


def _redact_json(pattern: re.Pattern[str] | None, value: Any) -> Any:
    """`_redact` on every string inside a JSON value (an outbox row's facts)."""
    if isinstance(value, str):
        return _redact(pattern, value)
    if isinstance(value, list):
        return [_redact_json(pattern, item) for item in value]
    if isinstance(value, dict):
        return {key: _redact_json(pattern, item) for key, item in value.items()}
    return value


# (model, the fields of its free text, the rows on the person's claims) — what other people wrote about them.
def _texts_of_others(user: Any, claims: QuerySet[Claim],
                     worked_on: QuerySet[Claim]) -> list[tuple[QuerySet[Any], tuple[str, ...]]]:
    return [
        (Claim.objects.filter(buyer=user), ("decision_note",)),
        (Message.objects.filter(claim__in=claims).exclude(author=user), ("body",)),
        (Offer.objects.filter(claim__in=claims), ("note", "return_instructions", "decline_reason")),
        (Appeal.objects.filter(claim__in=claims), ("reason", "note")),
        (ExpertAssessment.objects.filter(claim__in=claims), ("note", "expert")),
        (ExpertCost.objects.filter(assessment__claim__in=claims), ("description",)),
        (ReturnAuthorization.objects.filter(claim__in=claims), ("address",)),
        (Defect.objects.filter(order_item__order__buyer=user), ("summary",)),
        (SatisfactionResponse.objects.filter(claim__in=claims), ("comment",)),
        (Evidence.objects.filter(claim__in=claims), ("original_name",)),
        (Notification.objects.filter(Q(claim__in=claims) | Q(user=user)), ("text",)),
        # Other people's claims they worked on: everybody's words there, theirs included, keep their content.
        (worked_on, ("decision_note",)),
        (Message.objects.filter(claim__in=worked_on), ("body",)),
        (Offer.objects.filter(claim__in=worked_on), ("note", "return_instructions", "decline_reason")),
        (Appeal.objects.filter(claim__in=worked_on), ("reason", "note")),
    ]


def _redact_others_texts(user: Any, claims: QuerySet[Claim], worked_on: QuerySet[Claim],
                         pattern: re.Pattern[str] | None) -> int:
    """The person's names, email and address lines blanked out of what others wrote on their claims ("Dear Ms
    Berger, …"); the rest of the text stays, it is the seller's or the platform's record."""
    if pattern is None:
        return 0
    changed = 0
    for queryset, fields in _texts_of_others(user, claims, worked_on):
        for pk, *values in queryset.values_list("pk", *fields):
            updates = {field: _redact(pattern, value) for field, value in zip(fields, values, strict=True)
                       if value and _redact(pattern, value) != value}
            if updates:
                queryset.model._base_manager.filter(pk=pk).update(**updates)
                changed += 1
    return changed


def _redact_transition_reasons(user: Any, claims: QuerySet[Claim], worked_on: QuerySet[Claim],
                               pattern: re.Pattern[str] | None) -> int:
    """The transition log keeps every step (what, when, by whom) but not the person's words: the reasons they gave
    (an escalation, a declined offer, an appeal, an answer) are replaced as a whole, and their names, email and
    address lines are blanked out of the reasons others gave (a decision's note, a question), and out of every reason
    on the claims they worked on for a seller or the platform. The only edit the append-only log allows
    (core.models.AppendOnlyQuerySet.redact)."""
    steps = ClaimTransition.objects.filter(claim__in=claims).exclude(reason="")
    changed = steps.filter(actor=user).redact(reason=_erased_text())
    if pattern is None:
        return changed
    others = ClaimTransition.objects.filter(Q(claim__in=claims) & ~Q(actor=user) | Q(claim__in=worked_on))
    for pk, reason in others.exclude(reason="").values_list("pk", "reason"):
        redacted = _redact(pattern, reason)
        if redacted != reason:
            changed += ClaimTransition.objects.filter(pk=pk).redact(reason=redacted)
    return changed


def _redact_console_log(user: Any, identifiers: list[str], pattern: re.Pattern[str] | None) -> int:
    """The console's own log (django.contrib.admin's LogEntry): its lines about the account are named by its new
    username, and the person is blanked out of any line's words (an agent's note such as "Changed the email of …").
    Searched by the database, once per identifier: erasures are rare, the log is not small."""
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(user),
                            object_id=str(user.pk)).update(object_repr=user.get_username())
    if pattern is None:
        return 0
    mentions = Q()
    for value in identifiers:
        mentions |= Q(change_message__icontains=value) | Q(object_repr__icontains=value)
    changed = 0
    for pk, message, represented in LogEntry.objects.filter(mentions).values_list("pk", "change_message",
                                                                                 "object_repr"):
        LogEntry.objects.filter(pk=pk).update(change_message=_redact(pattern, message),
                                              object_repr=_redact(pattern, represented))
        changed += 1
    return changed


def _forget_logins(user: Any, username: str, email: str) -> int:
    """django-axes' counters and logs under the person's username or their email (people type it into the username
    field; accounts.lockout counts either as typed, normalized) and their second factors (django-otp devices)."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_otp import devices_for_user

    names = {value for typed in (username, email) if typed for value in (typed, normalize_username(typed))}
    removed = sum(model.objects.filter(username__in=names).delete()[0]
                  for model in (AccessAttempt, AccessFailureLog, AccessLog))
    for device in devices_for_user(user, confirmed=None):
        device.delete()
        removed += 1
    return removed


def _delete_stored_answers(pattern: re.Pattern[str] | None) -> int:
    """The API's stored answers to idempotent POSTs (kept API_IDEMPOTENCY_HOURS, then purged) that name the person:
    the shop's order it sent, with the buyer's email, name and address. Few rows: only the recent ones exist."""
    if pattern is None:
        return 0
    doomed = []
    for pk, body in IdempotencyRecord.objects.values_list("pk", "response_body").iterator():
        if pattern.search(_readable(bytes(body))):
            doomed.append(pk)
    return IdempotencyRecord.objects.filter(pk__in=doomed).delete()[0] if doomed else 0


def _readable(body: bytes) -> str:
    """A stored answer as text, with a JSON body's \\u escapes read as the letters they stand for."""
    text = body.decode("utf-8", errors="replace")
    try:
        decoded = json.loads(text)
    except ValueError:
        return text  # not JSON: the text as it is
    return f"{text}\n{json.dumps(decoded, ensure_ascii=False)}"


def _pseudonymise_account(user: Any) -> None:
    user.username = f"erased-{user.pk}"
    user.email = ""
    user.first_name = ""
    user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save(update_fields=["username", "email", "first_name", "last_name", "is_active", "password"])


def _end_sessions(user: Any, now: dt.datetime) -> int:
    """The person's open sessions, wherever they are logged in (the unusable password ends them too; this removes
    the rows). Only sessions still valid are read."""
    doomed = []
    for session in Session.objects.filter(expire_date__gt=now).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            doomed.append(session.pk)
    return Session.objects.filter(pk__in=doomed).delete()[0] if doomed else 0

"""Seller vetting and the seller ledger. Vetting steps record who checked what and when; the ledger is only ever
added to (adjustments by agents, settlements by the finance team)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import TransitionNotAllowed, can_proceed

from core import audit, formatting, roles
from core.models import AuditKind

from .models import LedgerEntry, LedgerKind, Seller, SellerStatus, WarrantyPolicy
from .signals import seller_suspended

CURRENCY_CODE = re.compile(r"[A-Z]{3}")  # ISO 4217
VETTING_STEPS = {"identity": "identity_verified", "registration": "registration_verified", "tax": "tax_verified"}


def _require_agent(by: Any) -> None:
    if not roles.is_agent(by):
        raise ValidationError(_("Only support agents can vet sellers."), code="forbidden")


def _lock(seller: Seller) -> Seller:
    return Seller.objects.select_for_update().get(pk=seller.pk)


def verify(*, seller: Seller, by: Any, step: str) -> Seller:
    """Record that an agent checked the seller's identity, business registration or tax data."""
    _require_agent(by)
    if step not in VETTING_STEPS:
        raise ValidationError(_("Unknown vetting step."))
    with transaction.atomic():
        seller = _lock(seller)
        if step == "registration" and not seller.registration_number:
            raise ValidationError(_("The seller has no business registration number to verify."))
        if step == "tax" and not seller.tax_id:
            raise ValidationError(_("The seller has no tax id to verify."))
        prefix = VETTING_STEPS[step]
        if getattr(seller, f"{prefix}_at"):
            # The first check stays on record; a second click must not overwrite who checked and when.
            raise ValidationError(_("This was already verified."))
        setattr(seller, f"{prefix}_at", timezone.now())
        setattr(seller, f"{prefix}_by", by)
        seller.save(update_fields=[f"{prefix}_at", f"{prefix}_by"])
    return seller


def activate(*, seller: Seller, by: Any) -> Seller:
    _require_agent(by)
    with transaction.atomic():
        seller = _lock(seller)
        if seller.status == SellerStatus.PENDING and not seller.is_vetted:
            raise ValidationError(_("Verify the seller's identity, registration and tax data before activating."))
        if not can_proceed(seller.activate):
            raise ValidationError(_("Only a pending seller can be activated; use reinstate for a suspended one."))
        seller.activate()
        seller.save()
        WarrantyPolicy.objects.get_or_create(seller=seller)
    return seller


def suspend(*, seller: Seller, by: Any, reason: str) -> Seller:
    _require_agent(by)
    if not reason.strip():
        raise ValidationError(_("Please give the reason for suspending the seller."))
    with transaction.atomic():
        seller = _lock(seller)
        try:
            seller.suspend(reason=reason.strip())
        except TransitionNotAllowed as exc:
            raise ValidationError(_("Only an active seller can be suspended.")) from exc
        seller.save()
        # A suspended seller answers no claims: claims.receivers hands the open ones to the platform, in this
        # transaction, so the suspension and the takeover land together or not at all.
        seller_suspended.send(sender=Seller, seller=seller)
    return seller


def reinstate(*, seller: Seller, by: Any) -> Seller:
    _require_agent(by)
    with transaction.atomic():
        seller = _lock(seller)
        try:
            seller.reinstate()
        except TransitionNotAllowed as exc:
            raise ValidationError(_("Only a suspended seller can be reinstated.")) from exc
        seller.save()
    return seller


def add_adjustment(*, seller: Seller, by: Any, amount: Decimal, note: str, currency: str = "EUR") -> LedgerEntry:
    """A correction to the ledger is always a new entry (positive: the seller owes the platform)."""
    _require_agent(by)
    if not note.strip():
        raise ValidationError(_("Please say why the ledger is adjusted."))
    if amount == 0:
        raise ValidationError(_("An adjustment of zero changes nothing."))
    if not CURRENCY_CODE.fullmatch(currency):
        raise ValidationError(_("Enter a three-letter currency code such as EUR."))
    with transaction.atomic():
        entry = LedgerEntry.objects.create(seller=seller, kind=LedgerKind.ADJUSTMENT, amount=amount,
                                           currency=currency, note=note.strip(), created_by=by)
        # The audit log (issue 18: "ledger adjustments"); the note stays in the ledger, which names no buyer.
        audit.record(AuditKind.LEDGER_ADJUSTMENT, actor=by, obj=entry, seller=seller.pk, amount=str(amount),
                     currency=currency)
    return entry


def record_claim_charge(*, seller: Seller, kind: str, amount: Decimal, currency: str, note: str, by: Any,
                        claim: Any, refund: Any = None) -> LedgerEntry | None:
    """What a claim costs the seller: a refund the platform paid in its place, or a lost provider dispute's fine.
    The claim services decide that it is owed; the ledger is written here. The platform's own shop owes itself
    nothing, so nothing is written for it."""
    if seller.is_platform:
        return None
    return LedgerEntry.objects.create(seller=seller, kind=kind, amount=amount, currency=currency, note=note,
                                      claim=claim, refund=refund, created_by=by)


class SettlementMethod(models.TextChoices):
    """How what a seller owed was settled (written into the entry's note: the ledger has no column for it)."""

    PAYMENT_RECEIVED = "payment_received", gettext_lazy("Payment received")
    OFFSET = "offset", gettext_lazy("Offset against payouts")


SETTLEMENT_NOTE_LIMIT = 400  # the method's words go in front, within the note's 500 characters
MAX_AMOUNT = Decimal("9999999999.99")  # the ledger's 12 digits, 2 of them decimals


def _received_amount(value: Any) -> Decimal:
    """What was received, as typed: a positive amount in cents (12.5 and 12.50 are fine, 12.505 is not)."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationError(_("Enter the amount received, like 120.00."), code="invalid") from exc
    if not amount.is_finite() or amount <= 0:
        raise ValidationError(_("Enter the amount received as a positive number, like 120.00."), code="invalid")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(_("An amount has at most two decimal places (cents)."), code="invalid")
    if amount > MAX_AMOUNT:
        raise ValidationError(_("This amount is too large."), code="invalid")
    return amount.quantize(Decimal("0.01"))


def record_settlement(*, seller: Seller, amount: Decimal | str, note: str, by: Any,
                      method: str = SettlementMethod.PAYMENT_RECEIVED, currency: str = "EUR") -> LedgerEntry:
    """The seller paid what it owed, or it was offset against the seller's payouts: a new ledger entry of kind
    settlement whose amount is what was received, negated (it lowers what the seller owes).

    For the finance team (claims.roles.may_manage_payouts and sellers.add_ledgerentry). In EUR or a currency the
    seller's ledger already holds, and never more than the seller owes in it: an overpayment or anything else is
    an adjustment, so a mistyped amount cannot turn into money the platform owes. The seller row is locked, so
    two settlements recorded at once are checked against each other."""
    if not (roles.may_manage_payouts(by) and by.has_perm("sellers.add_ledgerentry")):
        raise ValidationError(_("Only the finance team can record settlements."), code="forbidden")
    received = _received_amount(amount)
    if method not in SettlementMethod.values:
        raise ValidationError(_("Choose how the amount was settled."), code="invalid")
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("Please add a note or the payment's reference."), code="invalid")
    if len(note) > SETTLEMENT_NOTE_LIMIT:
        raise ValidationError(_("Please keep the note under %(max)d characters.") % {"max": SETTLEMENT_NOTE_LIMIT},
                              code="invalid")
    currency = (currency or "").strip().upper()
    if not CURRENCY_CODE.fullmatch(currency):
        raise ValidationError(_("Enter a three-letter currency code such as EUR."), code="invalid")
    with transaction.atomic():
        seller = _lock(seller)
        entries = LedgerEntry.objects.filter(seller=seller)
        if currency != "EUR" and not entries.filter(currency=currency).exists():
            raise ValidationError(_("The seller's ledger has no entries in %(currency)s; settle in EUR or in a "
                                    "currency of its ledger.") % {"currency": currency}, code="invalid")
        owed = entries.filter(currency=currency).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
        owed = Decimal(owed).quantize(Decimal("0.01"))
        if owed <= 0:
            raise ValidationError(_("The seller owes nothing in %(currency)s, so there is nothing to settle.")
                                  % {"currency": currency}, code="state")
        if received > owed:
            raise ValidationError(_("The seller owes %(owed)s; a settlement cannot be more. Record anything else "
                                    "as an adjustment.") % {"owed": formatting.money_text(owed, currency)},
                                  code="invalid")
        return LedgerEntry.objects.create(
            seller=seller, kind=LedgerKind.SETTLEMENT, amount=-received, currency=currency, created_by=by,
            note=f"{SettlementMethod(method).label}: {note}",
        )

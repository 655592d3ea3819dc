"""Seller vetting and the seller ledger. Vetting steps record who checked what and when."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed, can_proceed

from claims import roles

from .models import LedgerEntry, LedgerKind, Seller, SellerStatus, WarrantyPolicy

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
        _platform_takes_open_claims(seller)
    return seller


def _platform_takes_open_claims(seller: Seller) -> None:
    """A suspended seller answers no claims: the ones still with the seller go to the platform now."""
    from claims.models import WITH_SELLER_STATES, Claim, EscalationCause
    from claims.services import take_over

    for claim_id in Claim.objects.filter(seller=seller, state__in=WITH_SELLER_STATES).values_list("pk", flat=True):
        take_over(claim=claim_id, cause=EscalationCause.SELLER_SUSPENDED,
                  reason=_("The seller was suspended; the platform handles this claim."))


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
    return LedgerEntry.objects.create(seller=seller, kind=LedgerKind.ADJUSTMENT, amount=amount, currency=currency,
                                      note=note.strip(), created_by=by)

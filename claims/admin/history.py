"""The console claim page's history panel: the buyer's record and the seller's, from claims.history
(templates/admin/claims/claim/_history.html)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from sellers.models import Seller

from ..history import BUYER_MONTHS, DISPUTE_MONTHS, FIRST_REPLY_DAYS, SellerRecord, buyer_history, seller_record
from ..models import Claim


def history_context(claim: Claim) -> dict[str, Any]:
    now = timezone.now()
    return {
        "history": {
            "buyer": buyer_history(claim, now=now),
            "seller": kept_seller_record(claim.seller, now=now),
            "buyer_months": BUYER_MONTHS,
            "first_reply_days": FIRST_REPLY_DAYS,
            "dispute_months": DISPUTE_MONTHS,
        }
    }


def kept_seller_record(seller: Seller, *, now: dt.datetime) -> SellerRecord:
    """The seller's record as counted at most CONSOLE_SELLER_RECORD_CACHE_SECONDS ago (0: counted on every page).

    Its counts run over the seller's open claims and the last 90 days: for a large seller thousands of index entries,
    read again on every claim page an agent opens while working through that seller's claims. A minute-old count
    says the same about how the seller handles claims; the buyer's history, this claim's facts and its deadlines are
    always read fresh."""
    seconds = settings.CONSOLE_SELLER_RECORD_CACHE_SECONDS
    if seconds <= 0:
        return seller_record(seller, now=now)
    key = f"claims:seller-record:{seller.pk}"
    found = cache.get(key)
    if isinstance(found, SellerRecord):
        return found
    record = seller_record(seller, now=now)
    cache.set(key, record, seconds)
    return record

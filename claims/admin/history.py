"""The console claim page's history panel: the buyer's record and the seller's, from claims.history
(templates/admin/claims/claim/_history.html)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from ..history import BUYER_MONTHS, DISPUTE_MONTHS, FIRST_REPLY_DAYS, buyer_history, seller_record
from ..models import Claim


def history_context(claim: Claim) -> dict[str, Any]:
    now = timezone.now()
    return {
        "history": {
            "buyer": buyer_history(claim, now=now),
            "seller": seller_record(claim.seller, now=now),
            "buyer_months": BUYER_MONTHS,
            "first_reply_days": FIRST_REPLY_DAYS,
            "dispute_months": DISPUTE_MONTHS,
        }
    }

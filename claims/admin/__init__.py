"""The support console: claims in the Django admin (see claim.py; action pages in console.py and actions.py), and
the finance team's payout queue (payouts.py)."""

from .claim import ClaimAdmin
from .payouts import RefundAdmin

__all__ = ["ClaimAdmin", "RefundAdmin"]

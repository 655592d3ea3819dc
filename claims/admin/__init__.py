"""The support console: claims in the Django admin (claim.py puts together the list, the claim page, the escalated
queue, disputes and the action pages of actions.py on core.console), and the finance team's payout queue
(payouts.py)."""

from .claim import ClaimAdmin
from .payouts import RefundAdmin

__all__ = ["ClaimAdmin", "RefundAdmin"]

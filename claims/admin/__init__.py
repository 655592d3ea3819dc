"""The support console: claims in the Django admin (claim.py puts together the list, the claim page, the escalated
queue, disputes and the action pages of actions.py on core.console), the finance team's payout queue
(payouts.py), and expert assessments with their costs (experts.py)."""

from .claim import ClaimAdmin
from .experts import ExpertAssessmentAdmin
from .payouts import RefundAdmin

__all__ = ["ClaimAdmin", "ExpertAssessmentAdmin", "RefundAdmin"]

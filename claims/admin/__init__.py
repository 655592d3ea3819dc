"""The support console: claims in the Django admin (claim.py puts together the list, the claim page, the escalated
queue, disputes and the action pages of actions.py on core.console), the finance team's payout queue
(payouts.py), expert assessments with their costs (experts.py), the agents' canned replies (macros.py), and the
satisfaction survey's answers with their results (satisfaction.py)."""

from .claim import ClaimAdmin
from .experts import ExpertAssessmentAdmin
from .macros import MacroAdmin
from .payouts import RefundAdmin
from .satisfaction import SatisfactionResponseAdmin

__all__ = ["ClaimAdmin", "ExpertAssessmentAdmin", "MacroAdmin", "RefundAdmin", "SatisfactionResponseAdmin"]

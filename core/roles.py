"""Who a user is to the platform, apart from any claim: an agent of the support team, or the finance team. The
permissions are declared on claims.Claim (its Meta); checking them needs nothing of that app."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

AGENT_PERMISSION = "claims.act_as_agent"
PAYOUT_PERMISSION = "claims.manage_payouts"


def is_agent(user: User | AnonymousUser | None) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff
                and user.has_perm(AGENT_PERMISSION))


def may_manage_payouts(user: User | AnonymousUser | None) -> bool:
    """The finance group (and superusers): the payout queue, refund statuses, seller settlements."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff
                and user.has_perm(PAYOUT_PERMISSION))

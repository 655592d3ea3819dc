"""Who may act on a claim. Used as django-fsm-2 `permission=` callables and checked by the services
(django-fsm-2 itself never enforces them when a transition is called)."""

from __future__ import annotations

from typing import TYPE_CHECKING

# The platform-wide roles, re-exported: every claim rule reads them from here.
from core.roles import AGENT_PERMISSION as AGENT_PERMISSION
from core.roles import PAYOUT_PERMISSION as PAYOUT_PERMISSION
from core.roles import is_agent as is_agent
from core.roles import may_manage_payouts as may_manage_payouts

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from .models import Claim


def is_seller_staff(user: User | AnonymousUser | None, seller_id: int) -> bool:
    from sellers.selectors import seller_ids_of

    return seller_id in seller_ids_of(user)


def is_claim_buyer(claim: Claim, user: User | AnonymousUser | None) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.pk == claim.buyer_id)


def is_claim_seller_staff(claim: Claim, user: User | AnonymousUser | None) -> bool:
    from sellers.models import SellerStatus

    # A suspended seller's claims are the platform's to answer.
    return claim.seller.status == SellerStatus.ACTIVE and is_seller_staff(user, claim.seller_id)


def is_agent_for(claim: Claim, user: User | AnonymousUser | None) -> bool:
    return is_agent(user)


def is_claim_seller_staff_or_agent(claim: Claim, user: User | AnonymousUser | None) -> bool:
    return is_agent(user) or is_claim_seller_staff(claim, user)


def is_claim_party(claim: Claim, user: User | AnonymousUser | None) -> bool:
    """The claim's buyer or the seller's staff: the two sides of the claim (not the platform)."""
    return is_claim_buyer(claim, user) or is_claim_seller_staff(claim, user)


def may_escalate(claim: Claim, user: User | AnonymousUser | None) -> bool:
    return is_agent(user) or (is_claim_buyer(claim, user) and claim.buyer_may_escalate())


def is_party_asked_for_info(claim: Claim, user: User | AnonymousUser | None) -> bool:
    if is_agent(user):  # an agent records an answer that came by phone or mail
        return True
    if claim.info_requested_from == "buyer":
        return is_claim_buyer(claim, user)
    if claim.info_requested_from == "seller":
        return is_claim_seller_staff(claim, user)
    return False


def nobody(claim: Claim, user: User | AnonymousUser | None) -> bool:
    """System transitions (deadline sweep, carrier tracking): no person may fire them."""
    return False


def party_of(claim: Claim, user: User | AnonymousUser | None) -> str:
    """The role a user acts in on this claim: buyer, seller or agent ('' if none)."""
    if user is None:
        return "system"
    if is_claim_buyer(claim, user):
        return "buyer"
    if is_seller_staff(user, claim.seller_id):
        return "seller"
    if is_agent(user):
        return "agent"
    return ""

"""The policy sentences of pages that are not one claim's own words (claims.presenters builds them).

On a claim's page (a `claim` in the context) the numbers are that claim's snapshot, so the footer never contradicts
the claim above it; elsewhere they are the current settings.
"""

from __future__ import annotations

from typing import Any

from django import template

from claims import presenters
from claims.models import Claim
from claims.policy import current_policy

register = template.Library()


@register.simple_tag(takes_context=True)
def buyer_protection(context: Any) -> str:
    claim = context.get("claim")
    return presenters.buyer_protection(presenters.policy_of(claim if isinstance(claim, Claim) else None))


@register.simple_tag
def get_help_intro(seller: str) -> str:
    return presenters.get_help_intro(seller, current_policy())


@register.simple_tag
def first_replies_label() -> str:
    return presenters.first_replies_label(current_policy())


@register.filter
def long_date(day: Any) -> str:
    """A last day with its weekday, as the eligibility refusals write it (claims.presenters.long_date)."""
    return presenters.long_date(day) if day else ""

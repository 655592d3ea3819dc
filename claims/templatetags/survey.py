"""The satisfaction survey's links in its email: signed for the one recipient the email is rendered for
(claims.satisfaction)."""

from __future__ import annotations

from typing import Any

from django import template

from ..satisfaction import survey_links as _survey_links

register = template.Library()


@register.simple_tag
def survey_links(claim: Any, party: str, recipient: Any) -> dict[str, Any]:
    """{% survey_links claim party recipient as survey %}: survey.url, survey.days and survey.ratings (each with
    rating, label and url)."""
    return _survey_links(claim=claim, party=party, user=recipient)

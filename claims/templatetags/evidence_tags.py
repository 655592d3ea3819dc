"""How an evidence file is named on the pages: a video's length as a phone shows it (0:12, 1:00), and what stands
in place of a file that was deleted (claims.retention)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

from .. import retention
from ..models import Claim, Evidence

register = template.Library()


@register.filter
def clip_length(seconds: Decimal | float | None) -> str:
    """Minutes and seconds to the nearest second (a clip under half a second is 0:01); empty when unknown."""
    if seconds is None:
        return ""
    whole = max(1, int(Decimal(str(seconds)).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    return f"{whole // 60}:{whole % 60:02d}"


@register.simple_tag
def purged_words(evidence: Evidence, claim: Claim | None = None) -> str:
    """In place of a file deleted after the retention period or at its uploader's request (claims.retention); pass
    the page's claim when it has one, so that no query is made."""
    return retention.purged_words(evidence, claim or None)

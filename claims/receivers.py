"""What claims does when a lower app announces something (sellers and orders never import claims)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils.translation import gettext as _

from sellers.signals import seller_suspended

from .choices import WITH_SELLER_STATES, EscalationCause
from .models import Claim
from .services import take_over


@receiver(seller_suspended, dispatch_uid="claims.platform_takes_open_claims")
def platform_takes_open_claims(sender: Any, *, seller: Any, **kwargs: Any) -> None:
    """A suspended seller answers no claims: the ones still with the seller go to the platform now."""
    for claim_id in Claim.objects.filter(seller=seller, state__in=WITH_SELLER_STATES).values_list("pk", flat=True):
        take_over(claim=claim_id, cause=EscalationCause.SELLER_SUSPENDED,
                  reason=_("The seller was suspended; the platform handles this claim."))

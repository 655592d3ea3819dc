"""What claims does when a lower app announces something (sellers, orders and integrations never import claims)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils.translation import gettext as _

from integrations.signals import endpoint_disabled
from sellers.signals import seller_suspended

from .choices import WITH_SELLER_STATES, EscalationCause
from .models import Claim
from .services import take_over
from .webhook_events import tell_endpoint_owners


@receiver(seller_suspended, dispatch_uid="claims.platform_takes_open_claims")
def platform_takes_open_claims(sender: Any, *, seller: Any, **kwargs: Any) -> None:
    """A suspended seller answers no claims: the ones still with the seller go to the platform now."""
    for claim_id in Claim.objects.filter(seller=seller, state__in=WITH_SELLER_STATES).values_list("pk", flat=True):
        take_over(claim=claim_id, cause=EscalationCause.SELLER_SUSPENDED,
                  reason=_("The seller was suspended; the platform handles this claim."))


@receiver(endpoint_disabled, dispatch_uid="claims.tell_webhook_endpoint_owners")
def tell_webhook_endpoint_owners(sender: Any, *, endpoint: Any, reason: str, **kwargs: Any) -> None:
    """A webhook endpoint turned off by itself (a 410, days of failures): its owners get an email through the outbox,
    in the transaction that turned it off (integrations cannot write claims' outbox itself)."""
    tell_endpoint_owners(endpoint, reason=reason)

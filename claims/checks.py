"""System checks (`manage.py check`, run before every server and worker start): a payout provider that cannot work
is an error at start-up, not refunds silently left pending."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

PROVIDERS = ("manual", "webhook")


@register()
def payout_provider_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    provider = settings.REFUND_PROVIDER
    if provider not in PROVIDERS:
        return [Error(f"REFUND_PROVIDER is {provider!r}; it must be one of {', '.join(PROVIDERS)}.",
                      id="claims.E001")]
    if provider == "webhook":
        missing = [name for name in ("REFUND_WEBHOOK_URL", "REFUND_WEBHOOK_SECRET") if not getattr(settings, name)]
        if missing:
            return [Error(f"REFUND_PROVIDER=webhook needs {' and '.join(missing)}: without them no refund is paid out.",
                          id="claims.E002")]
    return []


# The quotas (claims.quotas) and the digest window (claims.notifications): a limit below one would refuse everything;
# a digest window of 0 minutes sends every message on its own.
QUOTA_MINIMUMS = {"MESSAGES_PER_CLAIM_PER_HOUR": 1, "CLAIM_MAX_FILES": 1, "CLAIM_MAX_BYTES": 1,
                  "MESSAGE_DIGEST_MINUTES": 0}


@register()
def quota_settings_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    for name, minimum in QUOTA_MINIMUMS.items():
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            errors.append(Error(f"{name} is {value!r}; it must be a whole number of at least {minimum}.",
                                id="claims.E003"))
    return errors

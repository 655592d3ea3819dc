"""Errors (and, sampled, performance traces) to Sentry when SENTRY_DSN is set; nothing at all without it. Called by
the production settings, so the web processes, the workers and beat all report."""

from __future__ import annotations


def init_sentry(*, dsn: str, environment: str = "", release: str = "", traces_sample_rate: float = 0.0) -> bool:
    """True when Sentry was set up. Personal data stays out (send_default_pii=False): no user, cookies, headers or
    request bodies are sent with an error."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        environment=environment or None,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
    )
    return True

"""What integrations announces to the apps above it (which it must not import)."""

from django.dispatch import Signal

# Sent inside the transaction that turned a webhook endpoint off by itself (integrations.webhooks: a 410 Gone, or
# WEBHOOK_DISABLE_AFTER_DAYS of failures) with `endpoint` and `reason`. claims.receivers writes the email to the
# endpoint's owner into the email outbox in that same transaction, so the owner is told exactly when it is off.
endpoint_disabled = Signal()

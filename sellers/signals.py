"""What the sellers app announces to the apps above it (which it must not import)."""

from django.dispatch import Signal

# Sent inside the suspension's transaction with `seller`; receivers act in the same transaction.
seller_suspended = Signal()

"""The shop's endpoints (a platform key): orders with items and shipments, tracking updates, refund
confirmations."""

from __future__ import annotations

from ninja import Router

from .auth import platform_key

router = Router(auth=platform_key, tags=["shop"])

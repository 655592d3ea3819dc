"""The seller's endpoints (a seller's key): its claims, their timeline, the actions it may take, evidence."""

from __future__ import annotations

from ninja import Router

from .auth import seller_key

router = Router(auth=seller_key, tags=["claims"])

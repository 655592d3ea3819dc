"""Reads of orders, always scoped to the person asking: another buyer's order is a 404, never a 403."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from claims.models import Claim

from .models import Order


def buyer_orders(user) -> QuerySet[Order]:  # type: ignore[no-untyped-def]
    claims = Claim.objects.only("id", "number", "state", "order_id", "opened_at").order_by("-opened_at")
    return (Order.objects.filter(buyer=user).select_related("seller")
            .prefetch_related("items", Prefetch("claims", queryset=claims)).order_by("-placed_at", "-id"))


def buyer_order(user, number: str) -> Order:  # type: ignore[no-untyped-def]
    return get_object_or_404(buyer_orders(user).prefetch_related("shipments"), number=number)

"""Who works for which seller. A person who works for no seller is refused the dashboard (403); a seller they do
not work for is a 404, so a slug reveals nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import SellerMembership

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def seller_ids_of(user: User | AnonymousUser | None) -> frozenset[int]:
    """The ids of the sellers a person works for, read once per user object: a page asks "is this person the
    seller's staff?" for every action it shows (claims.abilities). Cached on the user as Django caches permissions
    (`_perm_cache`), so it lives as long as the request."""
    if not (user and user.is_authenticated and user.is_active):
        return frozenset()
    cached = getattr(user, "_seller_ids_cache", None)
    if cached is None:
        cached = frozenset(SellerMembership.objects.filter(user=user).values_list("seller_id", flat=True))
        user._seller_ids_cache = cached  # type: ignore[attr-defined]  # a cache on the object, as _perm_cache
    return cached


def memberships_of(user: User | AnonymousUser | None) -> list[SellerMembership]:
    """The sellers a person works for, in a stable order; the first is their default."""
    if not (user and user.is_authenticated and user.is_active):
        return []
    return list(SellerMembership.objects.filter(user=user).select_related("seller")
                .order_by("seller__display_name", "seller_id"))


def current_membership(user: User | AnonymousUser | None,
                       slug: str | None) -> tuple[SellerMembership, list[SellerMembership]]:
    """The membership a staff user works in now: the seller named by `slug`, else their first.

    Not seller staff at all: 403 (the dashboard is not for them). A seller they do not work for: 404, so a
    slug reveals nothing."""
    memberships = memberships_of(user)
    if not memberships:
        raise PermissionDenied
    if not slug:
        return memberships[0], memberships
    for membership in memberships:
        if membership.seller.slug == slug:
            return membership, memberships
    raise Http404

"""A seller's own canned replies (sellers.CannedReply): kept on the dashboard's Replies page, picked next to the
reply box of a claim and filled in for that claim.

Who may do what: every member of the shop uses them; the owner keeps them (adds, changes, deletes). A canned reply
speaks for the shop to every buyer who gets it, so the person answerable for the shop decides its words, as the
console's macros are kept by the people allowed to (claims.admin.macros); staff still edit the filled-in text before
sending it, like any message.

Variables: the ones of the console's macros that make sense to a seller (claims.macros.VARIABLES: their names and
descriptions), filled by the same `claims.macros.fill` for both ways of inserting one: the page prefilled by
`?reply=<id>` (without JavaScript) and the picker filling the box in place (the same texts, embedded in the page).
{buyer_name} is the name on the order, the one the seller's claim page shows, not the buyer's account name.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from claims import macros
from claims.models import Claim
from core.models import max_length
from sellers.models import CannedReply, MembershipRole, Seller, SellerMembership
from sellers.selectors import memberships_of

VARIABLES = ("buyer_name", "claim_number", "order_number", "seller_name", "reason", "refundable")
MAX_TITLE_LENGTH = max_length(CannedReply, "title")


def variables() -> list[tuple[str, Any]]:
    """(name, what it stands for) of every variable a seller's reply may use."""
    return [(name, macros.VARIABLES[name]) for name in VARIABLES]


def unknown_variables(body: str) -> list[str]:
    return macros.unknown_variables(body, VARIABLES)


def allowed_variables() -> str:
    return macros.allowed_variables(VARIABLES)


def may_manage(membership: SellerMembership) -> bool:
    """The owner keeps the shop's replies; staff use them."""
    return membership.role == MembershipRole.OWNER


# --- reads ------------------------------------------------------------------------------------------------------


def replies_of(seller: Seller) -> QuerySet[CannedReply]:
    return CannedReply.objects.filter(seller=seller).order_by("title", "id")


def reply_for(user: Any, reply_id: int) -> tuple[CannedReply, SellerMembership]:
    """A reply of a seller the person works for, with their membership there; another seller's reply is a 404."""
    memberships = {membership.seller_id: membership for membership in memberships_of(user)}
    if not memberships:
        raise PermissionDenied
    reply = get_object_or_404(CannedReply.objects.select_related("seller"), pk=reply_id,
                              seller_id__in=memberships.keys())
    return reply, memberships[reply.seller_id]


# --- writes -----------------------------------------------------------------------------------------------------


def _check(membership: SellerMembership) -> None:
    if not may_manage(membership):
        raise PermissionDenied(_("Only the shop's owner can change its canned replies."))


def clean_text(*, title: str, body: str) -> tuple[str, str]:
    """A reply's title and text, or the ValidationError of each field (no variable the seller's replies do not
    know)."""
    title, body = (title or "").strip(), (body or "").strip()
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Please give the reply a title.")]
    if not body:
        errors["body"] = [_("Please write the reply's text.")]
    unknown = unknown_variables(body)
    if unknown:
        errors["body"] = [_("Unknown variables: %(unknown)s. The variables are: %(allowed)s.") % {
            "unknown": ", ".join(f"{{{name}}}" for name in unknown), "allowed": allowed_variables()}]
    if errors:
        raise ValidationError(errors)
    return title, body


def save_reply(*, membership: SellerMembership, by: Any, title: str, body: str,
               reply: CannedReply | None = None) -> CannedReply:
    """Add a reply to the membership's seller, or change one of its replies. Titles are unique per seller (the
    database says so too, for two owners saving at once)."""
    _check(membership)
    if reply is not None and reply.seller_id != membership.seller_id:
        raise PermissionDenied
    title, body = clean_text(title=title, body=body)
    taken = CannedReply.objects.filter(seller_id=membership.seller_id, title__iexact=title)
    if reply is not None:
        taken = taken.exclude(pk=reply.pk)
    duplicate = ValidationError({"title": [_("You already have a reply with this title.")]})
    if taken.exists():
        raise duplicate
    reply = reply or CannedReply(seller_id=membership.seller_id, created_by=by)
    reply.title, reply.body = title, body
    try:
        with transaction.atomic():
            reply.save()
    except IntegrityError as exc:
        raise duplicate from exc
    return reply


def delete_reply(*, membership: SellerMembership, reply: CannedReply) -> None:
    _check(membership)
    if reply.seller_id != membership.seller_id:
        raise PermissionDenied
    reply.delete()


# --- filling one in for a claim ----------------------------------------------------------------------------------


def claim_values(claim: Claim, *, by: Any, refundable: Decimal) -> dict[str, str]:
    """The variables' values for the seller's page of `claim` (claims.macros.claim_values, the buyer as the order
    names them)."""
    values = macros.claim_values(claim, agent=by, refundable=refundable)
    values["buyer_name"] = claim.order.delivery_name
    return {name: values[name] for name in VARIABLES}


@dataclasses.dataclass(frozen=True)
class ReplyPicker:
    options: list[tuple[int, str]]  # (id, title), by title
    texts: dict[str, str]  # {id: the text filled in for the claim}: what the picker inserts (json_script)
    chosen: int | None  # the reply asked for by ?reply=<id>, when it is one of the seller's
    chosen_text: str


def reply_picker(claim: Claim, *, by: Any, refundable: Decimal, chosen: str | None = None) -> ReplyPicker:
    """Every reply of the claim's seller filled in for the claim: one query however many there are."""
    values = claim_values(claim, by=by, refundable=refundable)
    replies = list(replies_of(claim.seller).only("id", "title", "body"))
    texts = {str(reply.pk): macros.fill(reply.body, values) for reply in replies}
    picked = texts.get(chosen or "")
    return ReplyPicker(options=[(reply.pk, reply.title) for reply in replies], texts=texts,
                       chosen=int(chosen) if picked is not None and chosen else None, chosen_text=picked or "")

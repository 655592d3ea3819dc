"""How much is left to refund on a claim, and where a refund goes: the one place this is computed.

What the buyer paid for an item is its price × quantity; what is left to refund on it is that minus every refund
for that item across all claims (`OrderItem.refunded_amount`, kept within what was paid by a check constraint).
An order's shipping (`Order.shipping_amount`, the part of the total that is not items) can be refunded by a claim
on every item of the order in full — the buyer gets back everything they paid — and never by a claim on part of
it (a missing item out of three does not refund the postage of the other two).

A claim's refundable amount is, per claimed item, the price of the claimed quantity bounded by what is left on the
item, plus what is left of the shipping when the claim covers the whole order. Services compute it with the order
row locked (`lock=True`), so two claims on one item refunded at the same moment pay it once; pages compute it
without a lock to show it.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from orders.models import Order, OrderItem

from .models import Claim

ZERO = Decimal("0.00")


@dataclasses.dataclass(frozen=True)
class RefundRoom:
    """Per claimed item (and the shipping, `order_item=None`), how much this claim may still refund."""

    lines: tuple[tuple[OrderItem | None, Decimal], ...]
    claimed_value: Decimal

    @property
    def total(self) -> Decimal:
        return sum((amount for _item, amount in self.lines), ZERO)

    @property
    def refunded(self) -> Decimal:
        """What has been refunded already on what this claim covers (by this claim or earlier ones)."""
        return max(self.claimed_value - self.total, ZERO)

    def allocate(self, amount: Decimal) -> list[tuple[OrderItem | None, Decimal]]:
        """Split a refund over the claimed items in order, then the shipping. Refuses more than the room."""
        if amount > self.total:
            raise ValueError(f"{amount} is more than the {self.total} left to refund")
        left, result = amount, []
        for item, room in self.lines:
            share = min(left, room)
            if share > 0:
                result.append((item, share))
                left -= share
        return result


def refund_room(claim: Claim, *, lock: bool = False) -> RefundRoom:
    """What is left to refund on this claim. With `lock=True` (inside a transaction) the order row is locked
    first and the items are read fresh, so the answer holds until the transaction ends."""
    orders = Order.objects.select_for_update() if lock else Order.objects
    order = orders.get(pk=claim.order_id)
    items = list(OrderItem.objects.filter(order_id=order.pk).order_by("pk"))
    claimed = dict(claim.items.values_list("order_item_id", "quantity"))
    return _room(order, items, claimed)


def shown_refund_room(claim: Claim) -> RefundRoom:
    """`refund_room` from what a list read for many claims at once (`order` selected, `order__items` and `items`
    prefetched): no query and no lock, so to show, never to pay."""
    items = sorted(claim.order.items.all(), key=lambda item: item.pk)
    claimed = {claim_item.order_item_id: claim_item.quantity for claim_item in claim.items.all()}
    return _room(claim.order, items, claimed)


def _room(order: Order, items: list[OrderItem], claimed: dict[int, int]) -> RefundRoom:
    lines: list[tuple[OrderItem | None, Decimal]] = []
    value = ZERO
    for item in items:
        quantity = claimed.get(item.pk)
        if quantity:
            price = item.unit_price * quantity
            value += price
            lines.append((item, max(min(price, item.refundable_amount), ZERO)))
    if items and all(claimed.get(item.pk, 0) >= item.quantity for item in items):
        value += order.shipping_amount
        lines.append((None, max(order.shipping_amount - order.shipping_refunded, ZERO)))
    return RefundRoom(lines=tuple(lines), claimed_value=value)

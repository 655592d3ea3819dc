"""Claims are reached through the services, never by writing `state`: what tests see is what users get."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from claims import services
from claims.models import Claim
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory, make_agent

OPENED_AT = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 in Berlin


def photo(name: str = "photo.jpg", size: tuple[int, int] = (64, 48), fmt: str = "JPEG",
          **save_args) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt, **save_args)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def delivered_order(*, delivered_at: dt.datetime = dt.datetime(2026, 3, 5, 12, 0, tzinfo=dt.UTC), seller=None,
                    buyer=None, items: int = 1, **order_kwargs):
    seller = seller or SellerFactory()
    order = OrderFactory(seller=seller, buyer=buyer or UserFactory(),
                         total=Decimal("199.00") * items, **order_kwargs)
    for _ in range(items):
        OrderItemFactory(order=order)
    ShipmentFactory(order=order, delivered_at=delivered_at, delivered_to_order_address=True)
    return order


class ClaimWorld:
    """One claim with its people: buyer, seller staff, agent, and their outsiders."""

    def __init__(self, claim: Claim, staff, agent) -> None:
        self.claim = claim
        self.buyer = claim.buyer
        self.staff = staff
        self.agent = agent
        self.other_buyer = UserFactory()
        self.other_staff = UserFactory()
        SellerMembership.objects.create(user=self.other_staff, seller=SellerFactory())

    def refresh(self) -> Claim:
        self.claim = Claim.objects.get(pk=self.claim.pk)
        return self.claim


def open_defective_claim(*, at: dt.datetime = OPENED_AT, order=None, **kwargs) -> Claim:
    order = order or delivered_order()
    with time_machine.travel(at, tick=False):
        return services.open_claim(order=order, buyer=order.buyer, reason=kwargs.pop("reason", "defective"),
                                   description=kwargs.pop("description", "The screen flickers."),
                                   desired_outcome=kwargs.pop("desired_outcome", "repair"),
                                   discovered_on=kwargs.pop("discovered_on", at.date()),
                                   evidence=kwargs.pop("evidence", [photo()]), **kwargs)


def claim_world(state: str = "awaiting_seller", *, at: dt.datetime = OPENED_AT, defect_type: str = "",
                **kwargs) -> ClaimWorld:
    """A claim driven through the services into `state` (as of `at` plus a few days). `defect_type`: the defect is
    classified on the way (the seller's staff in progress, an agent once escalated), which a repair, a discount or a
    partial refund needs (claims.remedies)."""
    order = delivered_order()
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=order.seller, role="staff")
    agent = make_agent()
    claim = open_defective_claim(at=at, order=order, **kwargs)
    later = at + dt.timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        if state == "in_progress":
            services.reply(claim=claim, by=staff, body="Sorry about that, let us sort it out.")
            if defect_type:
                services.classify_defect(claim=claim, by=staff, defect_type=defect_type)
        elif state in ("escalated", "awaiting_info", "awaiting_return", "resolved"):
            services.escalate(claim=claim, by=agent, reason="Seller inaction")
            if defect_type or state == "awaiting_return":  # a repair needs a removable defect
                services.classify_defect(claim=claim, by=agent, defect_type=defect_type or "removable")
            if state == "awaiting_info":
                services.request_info(claim=claim, by=agent, party="buyer", question="When did it start?")
            elif state == "awaiting_return":
                services.decide(claim=claim, by=agent, outcome="repair", funded_by="seller")
            elif state == "resolved":
                services.decide(claim=claim, by=agent, outcome="refund", funded_by="seller")
    world = ClaimWorld(claim, staff, agent)
    world.refresh()
    assert world.claim.state == state, world.claim.state
    return world

"""Section 4 of SPEC: may this buyer open this claim today? Pure functions over loaded objects.

Each refusal is a ClaimError whose message tells the buyer, in plain words, why and what to do instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import formatting
from orders.models import BuyerKind, Order, OrderItem

from .calendar import add_business_days_to_date, local_date
from .choices import REASONS_NEEDING_PHOTOS, DesiredOutcome, Reason
from .errors import ClaimError
from .policy import Policy
from .presenters import long_date

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_DESCRIPTION_LENGTH = 5000
# What the warranty claim policy calls defect liability: the item is faulty, wrong or not as described.
DEFECT_LIABILITY_REASONS = frozenset({Reason.DEFECTIVE, Reason.WRONG_ITEM, Reason.NOT_AS_DESCRIBED})
# The reasons the dispute policy's opening window ("based on the estimated delivery date") applies to.
WINDOW_REASONS = frozenset({Reason.NOT_RECEIVED, Reason.WRONG_ITEM, Reason.NOT_AS_DESCRIBED})


def _fmt(day: dt.date) -> str:
    return formatting.day(day)


def receipt_date(order: Order, *, policy: Policy) -> dt.date | None:
    """The day the buyer accepted the goods: delivery for consumers; for business buyers the hand-over
    to the first carrier when known (commercial practice), else delivery."""
    if order.buyer_kind == BuyerKind.BUSINESS:
        handed = order.handed_to_carrier_at()
        if handed:
            return local_date(handed, time_zone=policy.time_zone)
    delivered = order.delivered_at()
    return local_date(delivered, time_zone=policy.time_zone) if delivered else None


def warranty_ends_on(item: OrderItem, received_on: dt.date | None) -> dt.date | None:
    """Last day of the item's warranty, or None when it has none (or was never received)."""
    floor = item.warranty_minimum_until
    if received_on is None or item.warranty_months == 0:
        return floor
    end = received_on + relativedelta(months=item.warranty_months) + dt.timedelta(days=item.warranty_extension_days)
    # Warranty claim policy, consumables: "the buyer is entitled to claim a defect within twenty-four (24) months.
    # However, if the product [has] an expiration date, the warranty period is shortened to the date marked on the
    # product packaging."
    if item.is_consumable and item.expires_on and item.expires_on < end:
        end = item.expires_on
    return max(end, floor) if floor else end


def trial_ends_on(item: OrderItem, received_on: dt.date | None, *, trial_days: int) -> dt.date | None:
    floor = item.trial_minimum_until
    if received_on is None:
        return floor
    end = received_on + dt.timedelta(days=trial_days)
    return max(end, floor) if floor else end


def perishable_claims_until(item: OrderItem, received_on: dt.date | None) -> dt.date | None:
    """Warranty claim policy: "For perishable goods, defect liability claims must be raised no later than the day
    following the buyer's receipt of the order; otherwise, the rights will expire." None: not perishable, or not
    received yet (the day is not known, so nothing is refused by it)."""
    if not item.is_perishable or received_on is None:
        return None
    return received_on + dt.timedelta(days=1)


def special_claims_until(item: OrderItem, received_on: dt.date | None) -> dt.date | None:
    """The last day a defective, wrong or not-as-described claim on a special item may be opened, None for an
    ordinary item: the day after receipt for perishables; the date on the packaging for goods with an expiry or
    minimum shelf-life date (warranty claim policy: "the buyer must assert their rights related to defect liability
    without delay, and no later than the expiration or minimum shelf-life date"); the earlier of the two."""
    days = [day for day in (perishable_claims_until(item, received_on), item.expires_on) if day is not None]
    return min(days) if days else None


def expected_delivery_on(order: Order, *, policy: Policy) -> dt.date:
    """The day the order was expected: its estimated delivery, else its dispatch date, else the day it was placed
    (in the market's zone)."""
    return order.estimated_delivery or order.ship_by or local_date(order.placed_at, time_zone=policy.time_zone)


def dispute_window_ends_on(order: Order, *, policy: Policy) -> dt.date:
    """The last day a not-received, wrong-item or not-as-described claim may be opened. Dispute policy: "The order
    must be within the allowable timeframe for opening a dispute, based on the estimated delivery date of the
    order"; the timeframe is the market's (`dispute_window_days`, 100 by default)."""
    return expected_delivery_on(order, policy=policy) + dt.timedelta(days=policy.dispute_window_days)


def not_received_opens_on(order: Order, items: Sequence[OrderItem], *, policy: Policy) -> dt.date | None:
    """First day a not-received claim may be opened; None means at once (digital goods)."""
    if all(item.is_digital for item in items):
        return None
    expected = expected_delivery_on(order, policy=policy)
    last_waiting_day = add_business_days_to_date(
        expected, policy.non_delivery_buffer_business_days, country=policy.country, subdivision=policy.subdivision
    )
    return last_waiting_day + dt.timedelta(days=1)


# --- one item, one reason: what the order page, the Get help form and open_claim ask ------------------------------


@dataclasses.dataclass(frozen=True)
class ReasonStatus:
    """One reason for one item today: usable now (until its last day, when one is known), usable from a later day
    (`opens_on`: waiting alone makes it possible), or refused with the sentence `open_claim` would give."""

    reason: str
    refusal: ClaimError | None = None
    opens_on: dt.date | None = None
    until: dt.date | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    @property
    def label(self) -> str:
        return str(Reason(self.reason).label)

    @property
    def why(self) -> str:
        return "" if self.refusal is None else str(self.refusal)


@dataclasses.dataclass(frozen=True)
class ItemEligibility:
    """An order item on the order page and the Get help form: the claim open on it (its number), or each reason's
    status today."""

    item: OrderItem
    reasons: list[ReasonStatus]
    open_claim: str = ""

    @property
    def usable(self) -> list[ReasonStatus]:
        return [] if self.open_claim else [status for status in self.reasons if status.allowed]

    @property
    def claimable(self) -> bool:
        return bool(self.usable)

    def status(self, reason: str) -> ReasonStatus:
        return next(status for status in self.reasons if status.reason == reason)


def already_claimed(item: OrderItem, number: str) -> ClaimError:
    """SPEC section 4: "One open claim per order item at a time"."""
    return ClaimError(_("Claim %(number)s is already open for “%(item)s”. You can follow it from your order page.")
                      % {"number": number, "item": item.title}, code="conflict")


def item_refusal(item: OrderItem) -> ClaimError | None:
    """What refuses every reason on an item: nothing left to refund on it."""
    if item.line_total > 0 and item.refundable_amount <= 0:
        return ClaimError(_("“%(item)s” has already been refunded in full, so there is nothing left to claim on it. "
                            "If something is still wrong with your order, please contact our support team.")
                          % {"item": item.title})
    return None


def reason_status(order: Order, item: OrderItem, reason: str, *, today: dt.date, received_on: dt.date | None,
                  policy: Policy, trial_days: int) -> ReasonStatus:
    """May a claim for `reason` be opened on `item` today, as far as the order, the item and the date decide (what
    the buyer types, the photos and the defect's discovery date are checked by `check_eligibility` on top)."""
    if (refusal := item_refusal(item)) is not None:
        return ReasonStatus(reason, refusal)
    # Before asking for photos: no photo makes a claim on time.
    window_end = dispute_window_ends_on(order, policy=policy) if reason in WINDOW_REASONS else None
    if window_end is not None and today > window_end:
        return ReasonStatus(reason, _window_refusal(window_end, policy=policy))
    special_end = special_claims_until(item, received_on) if reason in DEFECT_LIABILITY_REASONS else None
    if special_end is not None and today > special_end:
        return ReasonStatus(reason, _special_goods_refusal(item, received_on, special_end))
    until = min((day for day in (window_end, special_end) if day is not None), default=None)
    if reason == Reason.NOT_RECEIVED:
        return _not_received_status(order, item, today=today, policy=policy, until=until)
    if reason == Reason.DEFECTIVE:
        return _defective_status(order, item, received_on, today=today, until=until)
    if reason == Reason.TRIAL_RETURN:
        return _trial_status(item, received_on, today=today, trial_days=trial_days)
    return ReasonStatus(reason, until=until)


def order_eligibility(order: Order, *, now: dt.datetime, policy: Policy, trial_days: int,
                      open_claims: Mapping[int, str]) -> list[ItemEligibility]:
    """Every item of the order (prefetched with its shipments) with each reason's status at `now`. `open_claims`: the
    number of the claim open on an item, by the item's id (claims.selectors.open_claims_by_item)."""
    today = local_date(now, time_zone=policy.time_zone)
    received_on = receipt_date(order, policy=policy)
    return [
        ItemEligibility(item, [reason_status(order, item, reason, today=today, received_on=received_on, policy=policy,
                                             trial_days=trial_days) for reason in Reason.values],
                        open_claims.get(item.pk, ""))
        for item in order.items.all()
    ]


def check_eligibility(
    *,
    order: Order,
    buyer: User | None,
    reason: str,
    description: str,
    desired_outcome: str,
    items: Sequence[tuple[OrderItem, int]],
    discovered_on: dt.date | None,
    photo_count: int,
    now: dt.datetime,
    policy: Policy,
    trial_days: int,
) -> None:
    if buyer is None or order.buyer_id != buyer.pk:
        raise ClaimError(_("Only the buyer of order %(order)s can open a claim on it.") % {"order": order.number},
                         code="forbidden")
    if reason not in Reason.values:
        raise ClaimError(_("Please choose what went wrong with your order."))
    if desired_outcome not in DesiredOutcome.values:
        raise ClaimError(_("Please choose how you would like the problem to be solved."))
    if not description or not description.strip():
        raise ClaimError(_("Please describe the problem in a few words."))
    if len(description.strip()) > MAX_DESCRIPTION_LENGTH:
        raise ClaimError(_("Please keep the description to %(max)d characters at most.")
                         % {"max": MAX_DESCRIPTION_LENGTH})
    if not items:
        raise ClaimError(_("Please choose at least one item of the order."))
    for item, quantity in items:
        if item.order_id != order.pk:
            raise ClaimError(_("“%(item)s” is not part of order %(order)s.")
                             % {"item": item.title, "order": order.number})
        if not 1 <= quantity <= item.quantity:
            raise ClaimError(_("You ordered %(ordered)d of “%(item)s”; choose between 1 and %(ordered)d.")
                             % {"ordered": item.quantity, "item": item.title})

    today = local_date(now, time_zone=policy.time_zone)
    received_on = receipt_date(order, policy=policy)
    # The same answer the order page and the Get help form show before anything is typed.
    for item, _quantity in items:
        status = reason_status(order, item, reason, today=today, received_on=received_on, policy=policy,
                               trial_days=trial_days)
        if status.refusal is not None:
            raise status.refusal

    if reason in REASONS_NEEDING_PHOTOS and photo_count == 0:
        raise ClaimError(_("Please add at least one photo that shows the problem."))

    if reason == Reason.NOT_RECEIVED and desired_outcome not in (DesiredOutcome.REFUND, DesiredOutcome.REPLACEMENT):
        raise ClaimError(_("For an order that did not arrive you can ask for a refund or for the item to be sent "
                           "again."))
    if reason == Reason.DEFECTIVE:
        _check_discovery(discovered_on, received_on, today=today, policy=policy)


def _window_refusal(last: dt.date, *, policy: Policy) -> ClaimError:
    days = policy.dispute_window_days
    return ClaimError(ngettext("An order that did not arrive, or arrived wrong or not as described, can be "
                               "reported until %(days)d day after its expected delivery. For this order the "
                               "last day was %(last)s. A defect that appeared later is covered by the warranty: "
                               "choose “Defective”.",
                               "An order that did not arrive, or arrived wrong or not as described, can be "
                               "reported until %(days)d days after its expected delivery. For this order the "
                               "last day was %(last)s. A defect that appeared later is covered by the warranty: "
                               "choose “Defective”.", days)
                      % {"days": days, "last": long_date(last)})


def _special_goods_refusal(item: OrderItem, received_on: dt.date | None, last: dt.date) -> ClaimError:
    if last == perishable_claims_until(item, received_on):
        return ClaimError(_("“%(item)s” is perishable: a problem with it must be reported no later than the day "
                            "after you received it. You received it on %(received)s, so the last day was "
                            "%(last)s.") % {"item": item.title, "received": long_date(received_on),
                                            "last": long_date(last)})
    return ClaimError(_("“%(item)s” has an expiry or best-before date on its packaging, %(last)s: a problem with "
                        "it must be reported by that day at the latest, and it has passed.")
                      % {"item": item.title, "last": long_date(last)})


def _not_received_status(order: Order, item: OrderItem, *, today: dt.date, policy: Policy,
                         until: dt.date | None) -> ReasonStatus:
    reason = Reason.NOT_RECEIVED
    # A parcel's tracking says nothing about a digital item (a licence key that does not work).
    if not item.is_digital and order.is_delivered_to_order_address():
        return ReasonStatus(reason, ClaimError(_(
            "The carrier's tracking shows this order was delivered to your address. Please check with neighbours "
            "and your mailbox; if the item arrived damaged or wrong, choose that reason instead.")))
    opens_on = not_received_opens_on(order, [item], policy=policy)
    if opens_on is not None and today < opens_on:
        buffer = policy.non_delivery_buffer_business_days
        refusal = ClaimError(ngettext("Your order can still arrive: it is due by %(due)s and we allow %(buffer)d "
                                      "business day for delays. If it has not arrived, you can report it from "
                                      "%(opens)s.",
                                      "Your order can still arrive: it is due by %(due)s and we allow %(buffer)d "
                                      "business days for delays. If it has not arrived, you can report it from "
                                      "%(opens)s.", buffer)
                             % {"due": _fmt(order.estimated_delivery or order.ship_by or opens_on),
                                "buffer": buffer, "opens": _fmt(opens_on)})
        return ReasonStatus(reason, refusal, opens_on=opens_on, until=until)
    return ReasonStatus(reason, until=until)


def _defective_status(order: Order, item: OrderItem, received_on: dt.date | None, *, today: dt.date,
                      until: dt.date | None) -> ReasonStatus:
    reason = Reason.DEFECTIVE
    if received_on is None and not item.warranty_minimum_until:
        return ReasonStatus(reason, ClaimError(_(
            "We have no delivery recorded for this order yet, so its warranty has not started. If it never arrived, "
            "choose “Item not received”.")))
    ends_on = warranty_ends_on(item, received_on)
    if ends_on is None:
        if order.buyer_kind == BuyerKind.BUSINESS:
            return ReasonStatus(reason, ClaimError(_(
                "“%(item)s” was bought as a business purchase, and the seller grants no warranty period to business "
                "buyers. Please contact the seller about liability for defects.") % {"item": item.title}))
        return ReasonStatus(reason, ClaimError(_("“%(item)s” has no warranty.") % {"item": item.title}))
    if today > ends_on:
        return ReasonStatus(reason, ClaimError(_(
            "The warranty of “%(item)s” ended on %(end)s. The manufacturer's own guarantee may still apply.")
            % {"item": item.title, "end": _fmt(ends_on)}))
    return ReasonStatus(reason, until=min(ends_on, until) if until else ends_on)


def _trial_status(item: OrderItem, received_on: dt.date | None, *, today: dt.date, trial_days: int) -> ReasonStatus:
    reason = Reason.TRIAL_RETURN
    if item.is_digital:
        return ReasonStatus(reason, ClaimError(_("The trial period covers physical products only; “%(item)s” is "
                                                 "digital.") % {"item": item.title}))
    ends_on = trial_ends_on(item, received_on, trial_days=trial_days)
    if ends_on is None:
        return ReasonStatus(reason, ClaimError(ngettext(
            "The %(days)d-day trial starts when you receive the item, and we have no delivery recorded yet. If it "
            "never arrived, choose “Item not received”.",
            "The %(days)d-day trial starts when you receive the item, and we have no delivery recorded yet. If it "
            "never arrived, choose “Item not received”.", trial_days) % {"days": trial_days}))
    if today > ends_on:
        return ReasonStatus(reason, ClaimError(_(
            "The trial period of “%(item)s” ended on %(end)s. If the item is faulty, choose “Defective” to use the "
            "warranty; for a change of mind, the statutory 14-day right of withdrawal may still apply.")
            % {"item": item.title, "end": _fmt(ends_on)}))
    return ReasonStatus(reason, until=ends_on)


def _check_discovery(discovered_on: dt.date | None, received_on: dt.date | None, *, today: dt.date,
                     policy: Policy) -> None:
    """The defect's discovery date the buyer gives: "reported within one month of discovering the defect"."""
    if discovered_on is None:
        raise ClaimError(_("Please tell us the date you discovered the defect."))
    if discovered_on > today:
        raise ClaimError(_("The date you discovered the defect cannot be in the future."))
    if received_on is not None and discovered_on < received_on:
        raise ClaimError(_("The defect was discovered before the item was delivered on %(received)s; if it arrived "
                           "damaged or different from the listing, choose “Not as described”.")
                         % {"received": _fmt(received_on)})
    months = policy.defect_report_months
    report_by = discovered_on + relativedelta(months=months)
    if today > report_by:
        raise ClaimError(ngettext("A defect must be reported within one month of discovering it. You discovered "
                                  "it on %(discovered)s, so the last day to report it was %(last)s.",
                                  "A defect must be reported within %(months)d months of discovering it. You "
                                  "discovered it on %(discovered)s, so the last day to report it was %(last)s.",
                                  months)
                         % {"months": months, "discovered": _fmt(discovered_on), "last": _fmt(report_by)})

"""The demo data of `manage.py seed_demo`: logins, sellers, orders and claims in every state.

Nothing is written behind the product's back. People and sellers come from the test factories; everything that
happens to them afterwards (vetting, orders, shipments, carrier scans, claims, replies, offers, decisions,
payouts) goes through the services, each at the moment it happens in its story, with the clock moved there
(time-machine); between two events the real deadline sweep runs whenever a deadline comes due, and the outbox
worker hands every email the services queue to a backend that sends nothing. So every timestamp, deadline,
transition log row, ledger row and outbox row is the one the product would have written.

    timeline       the clock: stories in the order of their events, the sweep and the outbox in between
    people         logins and sellers
    orders         orders, shipments and deliveries
    open_claims    claims awaiting the seller, in progress, awaiting a return, escalated, awaiting information
    closed_claims  resolved claims and their money: refunds, payouts, the ledger
    macros         the agents' canned replies, in English and German
    files          generated photos and PDFs
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.test import override_settings

from . import closed_claims, macros, open_claims, orders, people
from .people import (
    DEMO_PASSWORD,
    DEMO_TOTP_SECRET,
    LOGINS,
    TWO_FACTOR_LOGINS,
    already_seeded,
    demo_apps_for_earlier_demos,
)
from .timeline import Demo, Timeline

__all__ = ["DEMO_PASSWORD", "DEMO_TOTP_SECRET", "LOGINS", "TWO_FACTOR_LOGINS", "Demo", "already_seeded",
           "demo_apps_for_earlier_demos", "seed"]


@override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
def seed(*, now: dt.datetime | None = None) -> Demo:
    """Write the demo as of `now` (default: now), in one transaction. The demo's history is not news to anyone:
    its emails are sent to nobody. What you do on the site afterwards sends emails as usual."""
    demo = Demo(now)
    timeline = Timeline(demo)
    for part in (people, orders, open_claims, closed_claims, macros):
        timeline.add(part.stories(demo))
    with transaction.atomic():
        timeline.run()
    return demo

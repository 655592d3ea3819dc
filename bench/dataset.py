"""The benchmark's data: a million open claims loaded with COPY, due cohorts, and the bench logins.

Rows are written straight into the tables (COPY), never through `setattr` on the protected `state` field:
what a row holds is what the services would have left (deadline fields consistent with the state, so
`Claim.refresh_next_deadline()` computes the same `next_deadline_at` the loader wrote; `check()` verifies
that on a sample). Seller staff, the buyer with a claim that has a history, and the agent are created
through the ORM and the services afterwards.

The backlog (nothing due at load time):

    40 % awaiting_seller   opened in the last 20 h: next deadline = first-reply reminder (opened + 24 h)
    30 % in_progress       opened 1-5 days ago, replied: next = resolution reminder (resolution due - 24 h)
    25 % escalated         opened 8-170 days ago, taken over: next = the 180-day final deadline
     5 % awaiting_return   opened 10-170 days ago, decided, reminded: next = the return's ship deadline

Due cohorts (`make_due`) turn untouched backlog rows into claims whose deadline passed a few hours ago,
in three shapes the sweep really acts on: 50 % first-reply reminders (an email to the seller's staff),
30 % first-reply breaches (a log row, emails to buyer and seller), 20 % platform take-overs (a
transition to `escalated`, emails to both). Only deadline and timestamp columns change, never `state`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import random
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from PIL import Image

from . import db
from .common import Log

BENCH_PASSWORD = "bench-pass-123"  # noqa: S105 - throwaway logins in a throwaway database
SELLER_SHARE = 0.01  # the bench seller's share of all claims: its queue is 10,000 open claims at a million
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
REASONS = ["defective"] * 35 + ["not_as_described"] * 25 + ["not_received"] * 20 + ["wrong_item"] * 15 + [
    "trial_return"] * 5
OUTCOMES = {"defective": "repair", "not_as_described": "refund", "not_received": "refund", "wrong_item": "replacement",
            "trial_return": "refund"}
TITLES = ["Apple iPhone 13, 128 GB", "Samsung Galaxy S22, 128 GB", "Lenovo ThinkPad T14 Gen 3", "Sony WH-1000XM5",
          "Google Pixel 7, 128 GB", "Apple MacBook Air 13\" M1", "Bose QuietComfort 45", "Dell XPS 13 9315"]
CITIES = [("10119", "Berlin"), ("80802", "München"), ("50672", "Köln"), ("20095", "Hamburg"), ("04109", "Leipzig")]
DUE_SHAPES = (("first_reply_reminder", 0.5), ("first_reply_breach", 0.3), ("takeover", 0.2))


def _t(moment: dt.datetime) -> str:
    return moment.isoformat()


@dataclasses.dataclass
class People:
    buyer: Any
    seller_staff: Any
    agent: Any
    seller_id: int
    claim_number: str
    claim_pk: int


class Dataset:
    """One benchmark database of this project (bench_claims), grown in steps."""

    def __init__(self, url: str, *, final_size: int, log: Log, seed: int = 20261123) -> None:
        self.url = url
        self.final_size = final_size
        self.log = log
        self.rng = random.Random(seed)
        self.sellers = max(10, final_size // 1000)
        self.buyers = max(100, final_size // 10)
        self.loaded = 0
        self.load_seconds = 0.0
        self.people: People | None = None
        self.cohorts = 0
        self.created = False

    # --- schema ------------------------------------------------------------------------------------------

    def create(self) -> None:
        db.recreate_database(self.url)
        connection.close()
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        self.created = True
        self.log(f"created {db.db_name(self.url)} and migrated in {time.perf_counter() - started:.1f} s")

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.url)
        conn.execute("SET synchronous_commit = off")  # only for the loader's own session
        return conn

    # --- bulk load -----------------------------------------------------------------------------------------

    def grow_to(self, open_claims: int) -> float:
        """Add backlog claims until there are `open_claims` (plus their orders, items and logs). Seconds."""
        from claims.models import Claim, ClaimItem, ClaimTransition
        from orders.models import Order, OrderItem

        if open_claims <= self.loaded:
            return 0.0
        started = time.perf_counter()
        tables = [m._meta.db_table for m in (Order, OrderItem, Claim, ClaimItem, ClaimTransition)]
        with self._connect() as conn:
            if self.loaded == 0:
                self._load_people(conn)
            first, last = self.loaded + 1, open_claims
            # Below 50,000 rows index maintenance is cheap; above, build the indexes once afterwards.
            defer = (last - first) >= 50_000
            context = db.indexes_deferred(conn, tables, self.log) if defer else _nullcontext()
            with context:
                self._load_claims(conn, first, last)
                conn.commit()
            db.reset_sequences(conn, tables)
        if self.loaded == 0:
            from sellers.models import Seller, SellerMembership

            tables += [get_user_model()._meta.db_table, Seller._meta.db_table, SellerMembership._meta.db_table]
        db.vacuum_analyze(self.url, tables)
        self.loaded = open_claims
        seconds = time.perf_counter() - started
        self.load_seconds += seconds
        self.log(f"loaded claims {first:,}..{last:,} in {seconds:.1f} s")
        return seconds

    def _load_people(self, conn: psycopg.Connection) -> None:
        from sellers.models import Seller, SellerMembership, WarrantyPolicy

        user_model = get_user_model()
        now = self.now = timezone.now().replace(microsecond=0)
        unusable = "!bench-unusable"  # an unusable password hash: these users never log in
        users = db.model_format(user_model, ["id", "username", "first_name", "last_name", "email"], now,
                                password=unusable, is_active=True, is_staff=False, is_superuser=False,
                                date_joined=now, last_login=None)

        def user_rows() -> Iterator[dict[str, str]]:
            for i in range(1, self.sellers + 1):
                yield {"id": str(i), "username": f"bench-seller-{i}", "first_name": "Seller", "last_name": str(i),
                       "email": f"seller{i}@bench.example"}
            for j in range(1, self.buyers + 1):
                uid = self.sellers + j
                yield {"id": str(uid), "username": f"bench-buyer-{j}", "first_name": "Buyer", "last_name": str(j),
                       "email": f"buyer{j}@bench.example"}

        db.copy_rows(conn, user_model._meta.db_table, users, user_rows())
        vetted = now - 400 * DAY
        sellers = db.model_format(Seller, ["id", "display_name", "slug", "legal_name", "email"], now, status="active",
                                  identity_verified_at=vetted, registration_verified_at=vetted, tax_verified_at=vetted,
                                  activated_at=vetted, created_at=vetted, country="DE", language="en",
                                  is_platform=False)
        db.copy_rows(conn, Seller._meta.db_table, sellers, (
            {"id": str(i), "display_name": f"Bench Seller {i}", "slug": f"bench-seller-{i}",
             "legal_name": f"Bench Seller {i} GmbH", "email": f"support{i}@bench.example"}
            for i in range(1, self.sellers + 1)))
        policies = db.model_format(WarrantyPolicy, ["id", "seller_id"], now)
        db.copy_rows(conn, WarrantyPolicy._meta.db_table, policies, (
            {"id": str(i), "seller_id": str(i)} for i in range(1, self.sellers + 1)))
        members = db.model_format(SellerMembership, ["id", "user_id", "seller_id"], now, role="owner")
        db.copy_rows(conn, SellerMembership._meta.db_table, members, (
            {"id": str(i), "user_id": str(i), "seller_id": str(i)} for i in range(1, self.sellers + 1)))
        conn.commit()
        db.reset_sequences(conn, [user_model._meta.db_table, Seller._meta.db_table, WarrantyPolicy._meta.db_table,
                                  SellerMembership._meta.db_table])
        self.log(f"loaded {self.sellers:,} sellers and {self.buyers:,} buyers")

    def _load_claims(self, conn: psycopg.Connection, first: int, last: int) -> None:
        from claims.models import Claim, ClaimItem, ClaimTransition
        from claims.policy import current_policy
        from orders.models import Order, OrderItem

        now = self.now
        rng = self.rng
        orders = db.model_format(Order, [
            "id", "number", "buyer_id", "seller_id", "placed_at", "total", "ship_by", "estimated_delivery",
            "delivery_name", "delivery_line1", "delivery_postal_code", "delivery_city"], now, currency="EUR",
            buyer_kind="consumer", language="en", payment_method="card", delivery_country="DE")
        items = db.model_format(OrderItem, ["id", "order_id", "title", "unit_price"], now, quantity=1, condition="used",
                                warranty_months=24, is_digital=False, is_consumable=False)
        claims = db.model_format(Claim, [
            "id", "number", "order_id", "buyer_id", "seller_id", "reason", "description", "desired_outcome",
            "discovered_on", "state", "outcome", "funded_by", "escalation_cause", "opened_at", "first_replied_at",
            "escalated_at", "decided_at", "first_reply_due_at", "resolution_due_at", "hard_deadline_at",
            "first_reply_breached", "first_reply_reminded_at", "resolution_reminded_at", "next_deadline_at",
            "action_due_at", "last_activity_at", "return_due_at", "return_reminded_at"], now, channel="platform",
            currency="EUR",
            policy=current_policy().as_snapshot(), updated_at=now, assigned_to_id=None)
        claim_items = db.model_format(ClaimItem, ["id", "claim_id", "order_item_id"], now, quantity=1, is_open=True)
        logs = db.model_format(ClaimTransition, ["id", "claim_id", "name", "from_state", "to_state", "party",
                                                 "created_at"], now, reason="", actor_id=None)

        plan: list[tuple[int, int, int, dt.datetime, str, str]] = []  # id, buyer, seller, opened, state, reason
        seller_other = max(2, self.sellers)
        for cid in range(first, last + 1):
            seller = 1 if rng.random() < SELLER_SHARE else rng.randint(2, seller_other)
            buyer = self.sellers + rng.randint(1, self.buyers)
            roll = rng.random()
            if roll < 0.40:
                state, opened = "awaiting_seller", now - dt.timedelta(seconds=rng.randint(1800, 20 * 3600))
            elif roll < 0.70:
                state, opened = "in_progress", now - dt.timedelta(seconds=rng.randint(86400, 5 * 86400))
            elif roll < 0.95:
                state, opened = "escalated", now - dt.timedelta(seconds=rng.randint(8 * 86400, 170 * 86400))
            else:
                state, opened = "awaiting_return", now - dt.timedelta(seconds=rng.randint(10 * 86400, 170 * 86400))
            plan.append((cid, buyer, seller, opened, state, rng.choice(REASONS)))

        def order_rows() -> Iterator[dict[str, str]]:
            for cid, buyer, seller, opened, _state, _reason in plan:
                placed = opened - 10 * DAY
                postal, city = CITIES[cid % len(CITIES)]
                yield {"id": str(cid), "number": f"BENCH-{cid:08d}", "buyer_id": str(buyer), "seller_id": str(seller),
                       "placed_at": _t(placed), "total": f"{100 + cid % 900}.00",
                       "ship_by": (placed + 2 * DAY).date().isoformat(),
                       "estimated_delivery": (placed + 4 * DAY).date().isoformat(),
                       "delivery_name": f"Buyer {buyer}", "delivery_line1": f"Hauptstraße {cid % 200 + 1}",
                       "delivery_postal_code": postal, "delivery_city": city}

        def item_rows() -> Iterator[dict[str, str]]:
            for cid, *_rest in plan:
                yield {"id": str(cid), "order_id": str(cid), "title": TITLES[cid % len(TITLES)],
                       "unit_price": f"{100 + cid % 900}.00"}

        def claim_rows() -> Iterator[dict[str, str]]:
            null = r"\N"
            for cid, buyer, seller, opened, state, reason in plan:
                first_due = opened + 48 * HOUR
                resolution_due = opened + 7 * DAY
                hard = opened + 180 * DAY
                row = {"id": str(cid), "number": f"C-B{cid:09d}", "order_id": str(cid), "buyer_id": str(buyer),
                       "seller_id": str(seller), "reason": reason, "description": "Bench claim: the item fails.",
                       "desired_outcome": OUTCOMES[reason],
                       "discovered_on": opened.date().isoformat() if reason == "defective" else null,
                       "state": state, "outcome": "", "funded_by": "", "escalation_cause": "",
                       "opened_at": _t(opened), "first_replied_at": null, "escalated_at": null, "decided_at": null,
                       "first_reply_due_at": _t(first_due), "resolution_due_at": _t(resolution_due),
                       "hard_deadline_at": _t(hard), "first_reply_breached": "f", "first_reply_reminded_at": null,
                       "resolution_reminded_at": null, "last_activity_at": _t(opened), "return_due_at": null,
                       "return_reminded_at": null}
                if state == "awaiting_seller":
                    row["next_deadline_at"], row["action_due_at"] = _t(first_due - 24 * HOUR), _t(first_due)
                elif state == "in_progress":
                    row["first_replied_at"] = row["last_activity_at"] = _t(opened + 3 * HOUR)
                    row["first_reply_reminded_at"] = _t(opened + 24 * HOUR) if cid % 2 else null
                    row["next_deadline_at"] = _t(resolution_due - 24 * HOUR)
                    row["action_due_at"] = _t(resolution_due)
                else:
                    row["first_reply_breached"] = "t"
                    row["first_reply_reminded_at"] = _t(opened + 24 * HOUR)
                    row["resolution_reminded_at"] = _t(resolution_due - 24 * HOUR)
                    row["escalated_at"] = row["last_activity_at"] = _t(resolution_due)
                    row["escalation_cause"] = "takeover"
                    row["next_deadline_at"] = row["action_due_at"] = _t(hard)
                    if state == "awaiting_return":  # decided; the buyer was reminded and sends the item within days
                        row["decided_at"] = row["last_activity_at"] = _t(resolution_due + 2 * DAY)
                        row["outcome"], row["funded_by"] = "repair", "seller"
                        return_due = now + DAY + (cid % 6) * DAY + (cid % 3600) * dt.timedelta(seconds=1)
                        row["return_due_at"] = row["next_deadline_at"] = row["action_due_at"] = _t(return_due)
                        row["return_reminded_at"] = _t(now - HOUR)
                yield row

        def claim_item_rows() -> Iterator[dict[str, str]]:
            for cid, *_rest in plan:
                yield {"id": str(cid), "claim_id": str(cid), "order_item_id": str(cid)}

        log_start = conn.execute(f"SELECT COALESCE(max(id), 0) FROM {ClaimTransition._meta.db_table}").fetchone()[0]

        def log_rows() -> Iterator[dict[str, str]]:
            next_id = log_start
            for cid, _buyer, _seller, opened, state, _reason in plan:
                next_id += 1
                yield {"id": str(next_id), "claim_id": str(cid), "name": "open", "from_state": "",
                       "to_state": "awaiting_seller", "party": "buyer", "created_at": _t(opened)}
                if state != "awaiting_seller":
                    next_id += 1
                    name, to_state, party, at = ("reply", "in_progress", "seller", opened + 3 * HOUR)
                    if state != "in_progress":
                        name, to_state, party, at = ("take_over", "escalated", "system", opened + 7 * DAY)
                    yield {"id": str(next_id), "claim_id": str(cid), "name": name, "from_state": "awaiting_seller",
                           "to_state": to_state, "party": party, "created_at": _t(at)}
                    if state == "awaiting_return":
                        next_id += 1
                        yield {"id": str(next_id), "claim_id": str(cid), "name": "decide", "from_state": "escalated",
                               "to_state": "awaiting_return", "party": "agent", "created_at": _t(opened + 9 * DAY)}

        for model, fmt, rows in ((Order, orders, order_rows()), (OrderItem, items, item_rows()),
                                 (Claim, claims, claim_rows()), (ClaimItem, claim_items, claim_item_rows()),
                                 (ClaimTransition, logs, log_rows())):
            started = time.perf_counter()
            count = db.copy_rows(conn, model._meta.db_table, fmt, rows)
            self.log(f"  COPY {model._meta.db_table}: {count:,} rows in {time.perf_counter() - started:.1f} s")

    # --- checks and due cohorts -----------------------------------------------------------------------------

    def check(self, sample: int = 200) -> None:
        """The loaded rows are what the services would have left: the model recomputes the same deadlines."""
        from claims.models import Claim

        ids = list(Claim.objects.order_by("?").values_list("pk", flat=True)[:sample])
        for claim in Claim.objects.filter(pk__in=ids):
            stored = (claim.next_deadline_at, claim.action_due_at)
            claim.refresh_next_deadline()
            if (claim.next_deadline_at, claim.action_due_at) != stored:
                raise RuntimeError(f"bench loader: claim {claim.pk} ({claim.state}) stores next_deadline_at and "
                                   f"action_due_at {stored}, the model computes "
                                   f"{(claim.next_deadline_at, claim.action_due_at)}")

    def make_due(self, count: int) -> dict[str, int]:
        """Turn `count` untouched backlog claims into claims due now (deadline columns only). Returns shapes."""
        from claims.models import Claim

        table = Claim._meta.db_table
        self.cohorts += 1
        salt = f"cohort-{self.cohorts}"
        now = timezone.now().replace(microsecond=0)
        shapes: dict[str, int] = {}
        remaining = count
        for index, (shape, share) in enumerate(DUE_SHAPES):
            n = remaining if index == len(DUE_SHAPES) - 1 else round(count * share)
            remaining -= n
            shapes[shape] = n
        with self._connect() as conn:
            for shape, n in shapes.items():
                state = "in_progress" if shape == "takeover" else "awaiting_seller"
                picked = f"""
                    WITH picked AS (
                        SELECT id, row_number() OVER () AS rn FROM (
                            SELECT id FROM {table}
                             WHERE state = %(state)s AND next_deadline_at > %(now)s AND number LIKE 'C-B%%'
                               AND first_reply_reminded_at IS NULL AND NOT first_reply_breached
                             ORDER BY md5(id::text || %(salt)s) LIMIT %(n)s) AS chosen)
                """
                if shape == "first_reply_reminder":  # reminder due 6 h ago; the reply itself due in 18 h
                    opened = "%(now)s - interval '30 hours' - picked.rn * interval '1 second'"
                    extra = (f"first_reply_reminded_at = NULL, next_deadline_at = {opened} + interval '24 hours', "
                             f"action_due_at = {opened} + interval '48 hours'")
                elif shape == "first_reply_breach":  # reminded, the 48 h passed 2 h ago
                    opened = "%(now)s - interval '50 hours' - picked.rn * interval '1 second'"
                    extra = (f"first_reply_reminded_at = {opened} + interval '24 hours', "
                             f"next_deadline_at = {opened} + interval '48 hours', "
                             f"action_due_at = {opened} + interval '48 hours'")
                else:  # replied and reminded; the resolution deadline passed a day ago: the platform takes over
                    opened = "%(now)s - interval '8 days' - picked.rn * interval '1 second'"
                    extra = (f"first_replied_at = {opened} + interval '3 hours', "
                             f"first_reply_reminded_at = {opened} + interval '24 hours', "
                             f"resolution_reminded_at = {opened} + interval '6 days', "
                             f"next_deadline_at = {opened} + interval '7 days', "
                             f"action_due_at = {opened} + interval '7 days'")
                statement = picked + f"""
                    UPDATE {table} c SET opened_at = {opened}, last_activity_at = {opened},
                           first_reply_due_at = {opened} + interval '48 hours',
                           resolution_due_at = {opened} + interval '7 days',
                           hard_deadline_at = {opened} + interval '180 days', {extra}
                      FROM picked WHERE c.id = picked.id"""
                updated = conn.execute(statement, {"state": state, "now": now, "salt": salt, "n": n}).rowcount
                if updated != n:
                    raise RuntimeError(f"bench: wanted {n} {shape} claims, found {updated} untouched ones")
            conn.commit()
            due = conn.execute(f"SELECT count(*) FROM {table} WHERE next_deadline_at <= now()").fetchone()[0]
        if due != count:
            raise RuntimeError(f"bench: {due} claims are due, expected {count}")
        return shapes

    def counts(self) -> dict[str, int]:
        from claims.models import Claim

        with connection.cursor() as cur:
            cur.execute(f"SELECT state, count(*) FROM {Claim._meta.db_table} GROUP BY state")
            return dict(cur.fetchall())

    # --- logins and a claim with a history ------------------------------------------------------------------

    def create_people(self) -> People:
        """bench_buyer (with a claim that has evidence, messages and an offer), bench_seller (staff of the
        big seller) and bench_agent (staff in the "agents" group, or with claims.act_as_agent and the view
        permissions where there is no such group)."""
        from claims import services
        from claims.services.tracking import record_shipment
        from orders.services import create_order
        from sellers.models import Seller, SellerMembership

        if self.people is not None:
            return self.people
        user_model = get_user_model()
        seller = Seller.objects.get(pk=1)
        staff = user_model.objects.create_user("bench_seller", "bench_seller@bench.example", BENCH_PASSWORD,
                                               first_name="Sam", last_name="Seller")
        SellerMembership.objects.create(user=staff, seller=seller, role="staff")
        buyer = user_model.objects.create_user("bench_buyer", "bench_buyer@bench.example", BENCH_PASSWORD,
                                               first_name="Bea", last_name="Buyer")
        agent = user_model.objects.create_user("bench_agent", "bench_agent@bench.example", BENCH_PASSWORD,
                                               first_name="Alex", last_name="Agent", is_staff=True)
        agents = Group.objects.filter(name="agents").first()
        if agents is not None:  # the support console's own group, where the project defines one
            agent.groups.add(agents)
        else:
            agent.user_permissions.add(*Permission.objects.filter(
                content_type__app_label__in=["claims", "orders", "sellers"], codename__startswith="view_"))
            agent.user_permissions.add(Permission.objects.get(codename="act_as_agent",
                                                              content_type__app_label="claims"))
        agent = user_model.objects.get(pk=agent.pk)

        now = timezone.now()
        order = create_order(number="BENCH-SHOWCASE-1", buyer=buyer, seller=seller, placed_at=now - 12 * DAY,
                             items=[{"title": "Apple iPhone 13, 128 GB, Midnight", "unit_price": Decimal("529.00"),
                                     "condition": "like_new"},
                                    {"title": "Spigen case", "unit_price": Decimal("19.90")}],
                             shipping=Decimal("4.99"), delivery_name="Bea Buyer", delivery_line1="Torstraße 1",
                             delivery_postal_code="10119", delivery_city="Berlin")
        record_shipment(order=order, carrier="DHL", tracking_number="00340434000000000001",
                        shipped_at=now - 11 * DAY, delivered_at=now - 9 * DAY, delivered_to_order_address=True,
                        source="carrier")
        claim = services.open_claim(order=order, buyer=buyer, reason="defective", desired_outcome="repair",
                                    description="The screen flickers and shows green lines after ten minutes.",
                                    discovered_on=(now - 2 * DAY).date(),
                                    evidence=[_photo("screen.jpg"), _photo("lines.jpg")])
        services.reply(claim=claim, by=staff, body="Sorry to hear that. Could you send a video of the flicker?")
        services.post_message(claim=claim, by=buyer, body="Here is what it looks like.",
                              attachments=[_photo("video-still.jpg")])
        # A repair needs the type of defect first (claims.remedies).
        services.classify_defect(claim=claim, by=staff, defect_type="removable",
                                 item=order.items.order_by("pk").first())
        services.make_offer(claim=claim, by=staff, kind="repair", note="We repair it for free; a courier collects it.",
                            return_instructions="UPS pickup, reference BENCH-RMA-1")
        self.people = People(buyer=buyer, seller_staff=staff, agent=agent, seller_id=seller.pk,
                             claim_number=claim.number, claim_pk=claim.pk)
        return self.people


def _photo(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 60, 90)).save(buffer, format="JPEG", quality=85)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


class _nullcontext:  # noqa: N801 - reads like contextlib.nullcontext, typed for this use
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

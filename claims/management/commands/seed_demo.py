"""`manage.py seed_demo`: demo logins, sellers, orders and claims in every state, written through the services.

Idempotent: when the demo data is already there it changes nothing and prints the logins again. Every claim
is driven through `claims.services` exactly as users and the deadline sweep would drive it; `state` is never
written. Claims that must look older (a missed first-reply deadline, a platform take-over, the 180-day forced
refund) are opened now and then have their timestamp and deadline fields moved back (never `state`); their
transition log and ledger entries, which are append-only, keep the time the demo was seeded.

All demo accounts share the password ``demo-pass-123``.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from claims import services
from claims.calendar import add_business_days, add_calendar_days
from claims.models import (
    Claim,
    ClaimState,
    DenialReason,
    EvidenceKind,
    InspectionResult,
    OfferKind,
    OutboundEmail,
    Party,
    RejectionCode,
)
from claims.policy import Policy
from orders.models import BuyerKind, Order, PaymentMethod, Shipment, ShipmentSource
from orders.services import apply_carrier_update, create_order, record_shipment
from sellers import services as seller_services
from sellers.models import MembershipRole, Seller, SellerMembership, WarrantyPolicy

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - documented demo password, printed on purpose
MARKER_SELLER_SLUG = "techhaven-berlin"  # present once the demo has been seeded


@dataclass(frozen=True)
class DemoLogin:
    username: str
    first_name: str
    last_name: str
    role: str
    look_at: str


LOGINS = [
    DemoLogin("admin", "Ada", "Admin", "superuser", "/admin/: everything, incl. users and groups"),
    DemoLogin("agent", "Julia", "Neumann", "support agent",
              "/admin/: escalated queue (2 claims assigned to her), awaiting-info case, ledger, seller vetting"),
    DemoLogin("finance", "Paul", "Krüger", "finance (payouts)",
              "/admin/: the payout queue (pending and failed refunds, CSV export and import), seller settlements"),
    DemoLogin("seller", "Lukas", "Hoffmann", "seller owner: TechHaven Berlin",
              "seller dashboard: one claim overdue for a first reply, one fresh claim, return pending"),
    DemoLogin("seller_staff", "Mia", "Schulz", "seller staff: TechHaven Berlin", "same queue as `seller`"),
    DemoLogin("seller2", "Sophie", "Wagner", "seller owner: PhoneCycle Hamburg",
              "pending discount offer, rejected claims, a lost PayPal dispute with its 25 EUR fine"),
    DemoLogin("seller2_staff", "Felix", "Koch", "seller staff: PhoneCycle Hamburg", "same queue as `seller2`"),
    DemoLogin("shop", "Tobias", "Richter", "staff of Marketplace Direct (first-party)",
              "claims on goods sold by the marketplace itself"),
    DemoLogin("seller_pending", "Lena", "Fischer", "owner of Nordlicht Electronics (pending vetting)",
              "a seller not yet allowed to sell"),
    DemoLogin("seller_suspended", "Deniz", "Yilmaz", "owner of GadgetDeals24 (suspended)",
              "its claims go straight to the platform"),
    DemoLogin("buyer", "Anna", "Becker", "buyer (consumer, Berlin)",
              "my orders, claims in several states; order DEMO-1021 can still get a trial return"),
    DemoLogin("buyer2", "Jonas", "Weber", "buyer (consumer, Munich)",
              "an escalated claim, a question from support to answer (awaiting info), a reopened claim"),
    DemoLogin("business", "Klaus", "Schmidt", "buyer (business: Schmidt & Partner, Cologne)",
              "business orders (no warranty by default), a pending offer to accept or decline"),
]

ADDRESSES = {
    "buyer": dict(delivery_name="Anna Becker", delivery_line1="Torstraße 112", delivery_postal_code="10119",
                  delivery_city="Berlin"),
    "buyer2": dict(delivery_name="Jonas Weber", delivery_line1="Leopoldstraße 58", delivery_line2="3. OG",
                   delivery_postal_code="80802", delivery_city="München"),
    "business": dict(delivery_name="Schmidt & Partner Steuerberatung GmbH", delivery_line1="Hohenzollernring 21",
                     delivery_line2="z. Hd. Klaus Schmidt", delivery_postal_code="50672", delivery_city="Köln"),
}


# --- small generated files -------------------------------------------------------------------------------


def imei(body14: str) -> str:
    """A 15-digit IMEI with a valid Luhn check digit."""
    total = 0
    for index, char in enumerate(body14):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return body14 + str((10 - total % 10) % 10)


def photo(name: str, caption: str, *, device: str = "phone", tint: tuple[int, int, int] = (40, 40, 48),
          flaw: str = "crack") -> SimpleUploadedFile:
    """A small JPEG that looks like a photo of a device with a visible flaw and a caption."""
    image = Image.new("RGB", (480, 360), (214, 208, 196))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 250, 480, 360), fill=(160, 128, 96))  # the table
    if device == "laptop":
        draw.rounded_rectangle((90, 60, 390, 230), radius=8, fill=tint)
        screen = (104, 74, 376, 216)
        draw.rectangle(screen, fill=(70, 96, 140))
        draw.polygon([(60, 232), (420, 232), (450, 262), (30, 262)], fill=(150, 150, 156))
    elif device == "headphones":
        draw.arc((140, 40, 340, 240), start=180, end=360, fill=tint, width=16)
        draw.rounded_rectangle((118, 130, 178, 230), radius=20, fill=tint)
        draw.rounded_rectangle((302, 130, 362, 230), radius=20, fill=tint)
        screen = (302, 130, 362, 230)  # the right ear cup
    else:
        draw.rounded_rectangle((180, 30, 300, 270), radius=16, fill=tint)
        screen = (190, 50, 290, 250)
        draw.rectangle(screen, fill=(20, 24, 32))
    left, top, right, bottom = screen
    width, height = right - left, bottom - top
    if flaw == "crack":
        points = [(left + width * fx, top + height * fy) for fx, fy in ((0.1, 0.1), (0.5, 0.4), (0.4, 0.6), (0.8, 0.9))]
        draw.line(points, fill=(235, 235, 235), width=2)
        draw.line([points[1], (left + width * 0.9, top + height * 0.35)], fill=(235, 235, 235), width=2)
    elif flaw == "dent":
        draw.ellipse((right - 30, top - 6, right + 6, top + 26), outline=(250, 210, 60), width=4)
    elif flaw == "lines":
        for x in range(left + 8, right - 4, 12):
            draw.line([(x, top + 2), (x, bottom - 2)], fill=(60, 200, 90), width=2)
    elif flaw == "liquid":
        draw.ellipse((left + width * 0.3, top + height * 0.6, left + width * 0.7, top + height * 0.85),
                     fill=(90, 140, 60))
    draw.rectangle((0, 330, 480, 360), fill=(255, 255, 255))
    draw.text((10, 338), caption[:70], fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def pdf(name: str, title: str, lines: list[str]) -> SimpleUploadedFile:
    """A one-page PDF (Helvetica, ASCII text) such as a proof of shipment or an inspection report."""

    def escape(text: str) -> str:
        return text.encode("ascii", "replace").decode().replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = ["BT", "/F1 16 Tf", "56 780 Td", f"({escape(title)}) Tj", "/F1 11 Tf", "0 -30 Td"]
    for line in lines:
        text += [f"({escape(line)}) Tj", "0 -16 Td"]
    text.append("ET")
    stream = "\n".join(text).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return SimpleUploadedFile(name, bytes(out), content_type="application/pdf")


# --- the command -----------------------------------------------------------------------------------------


class Command(BaseCommand):
    help = ("Create demo logins, sellers, orders and claims in every state (through the services). "
            f"Safe to run again: an existing demo is left as it is. All passwords: {DEMO_PASSWORD}")

    def handle(self, *args: Any, **options: Any) -> None:
        if Seller.objects.filter(slug=MARKER_SELLER_SLUG).exists():
            self.stdout.write(self.style.WARNING("Demo data is already present; nothing was changed."))
            self._print_logins()
            return
        # One log line per transition is noise here; `-v 2` shows them.
        services_log = logging.getLogger(services.__name__)
        level = services_log.level
        if options["verbosity"] < 2:
            services_log.setLevel(logging.WARNING)
        try:
            with transaction.atomic():
                seeder = _Seeder()
                seeder.run()
                # The demo's history is not news to anyone: its emails are marked handled, not sent. What
                # you do on the site afterwards sends emails as usual (printed by the worker).
                OutboundEmail.objects.filter(sent_at__isnull=True).update(
                    sent_at=timezone.now(), last_error="Demo history: not sent")
        finally:
            services_log.setLevel(level)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data created: {len(seeder.orders)} orders, {len(seeder.claims)} claims."))
        counts = {state: Claim.objects.filter(state=state).count() for state in ClaimState.values}
        self.stdout.write("Claims by state: " + ", ".join(f"{state} {n}" for state, n in counts.items()))
        self._print_logins(kept=seeder.kept_passwords)

    def _print_logins(self, kept: set[str] | None = None) -> None:
        kept = kept or set()
        rows = [("username", "password", "role", "what to look at")]
        for login in LOGINS:
            password = "(unchanged: account existed)" if login.username in kept else DEMO_PASSWORD
            rows.append((login.username, password, login.role, login.look_at))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        rule = "+".join("-" * (w + 2) for w in widths)
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}); log in at /admin/ or on the site:")
        self.stdout.write("+" + rule + "+")
        for index, row in enumerate(rows):
            self.stdout.write("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
            if index == 0:
                self.stdout.write("+" + rule + "+")
        self.stdout.write("+" + rule + "+")


class _Seeder:
    def __init__(self) -> None:
        self.now = timezone.now().replace(microsecond=0)
        self.local_now = timezone.localtime(self.now)
        self.today = self.local_now.date()
        self.users: dict[str, Any] = {}
        self.kept_passwords: set[str] = set()
        self.sellers: dict[str, Seller] = {}
        self.orders: dict[str, Order] = {}
        self.claims: dict[str, Claim] = {}
        self._tracking = 0

    # --- time helpers ------------------------------------------------------------------------------------

    def at(self, days_ago: int, hour: int = 10, minute: int = 0) -> dt.datetime:
        """A moment `days_ago` days back at a local clock time, never in the future."""
        moment = (self.local_now - dt.timedelta(days=days_ago)).replace(hour=hour, minute=minute, second=0)
        return min(moment, self.now - dt.timedelta(minutes=5))

    def day(self, days_ago: int) -> dt.date:
        return self.today - dt.timedelta(days=days_ago)

    # --- people and sellers --------------------------------------------------------------------------------

    def run(self) -> None:
        self.make_users()
        self.make_sellers()
        self.make_orders()
        self.make_claims()

    def make_users(self) -> None:
        User = get_user_model()  # noqa: N806
        hashed = make_password(DEMO_PASSWORD)  # hashed once: hashing is deliberately slow
        for login in LOGINS:
            user, created = User.objects.get_or_create(
                username=login.username,
                defaults={"first_name": login.first_name, "last_name": login.last_name,
                          "email": f"{login.username}@example.com", "password": hashed},
            )
            if not created:
                self.kept_passwords.add(login.username)
            self.users[login.username] = user
        admin = self.users["admin"]
        if not (admin.is_superuser and admin.is_staff):
            admin.is_superuser = admin.is_staff = True
            admin.save(update_fields=["is_superuser", "is_staff"])
        # The "agents" group (claims migration 0005) holds act_as_agent and the support console's permissions; the
        # "finance" group (claims migration 0008) the payout queue and seller settlements.
        self._console_staff("agent", group="agents", role_permission="act_as_agent")
        self._console_staff("finance", group="finance", role_permission="manage_payouts")

    def _console_staff(self, username: str, *, group: str, role_permission: str) -> None:
        User = get_user_model()  # noqa: N806
        user = self.users[username]
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        found = Group.objects.filter(name=group).first()
        if found is not None:
            user.groups.add(found)
        else:  # a database flushed after migrating (some test set-ups) has no group: the role at least
            user.user_permissions.add(Permission.objects.get(codename=role_permission,
                                                             content_type__app_label="claims"))
        self.users[username] = User.objects.get(pk=user.pk)  # fresh instance: no stale permission cache

    @property
    def agent(self) -> Any:
        return self.users["agent"]

    def u(self, username: str) -> Any:
        return self.users[username]

    def make_sellers(self) -> None:
        specs = [
            ("techhaven", dict(display_name="TechHaven Berlin", slug=MARKER_SELLER_SLUG,
                               legal_name="TechHaven Refurbished GmbH", registration_number="HRB 214587 B",
                               tax_id="DE318456712", email="support@techhaven.example"),
             dict(months_new=24, months_like_new=21, months_used=12, trial_days=30,
                  return_address="TechHaven Refurbished GmbH, Retouren, Lahnstraße 12, 12055 Berlin"),
             [("seller", MembershipRole.OWNER), ("seller_staff", MembershipRole.STAFF)]),
            ("phonecycle", dict(display_name="PhoneCycle Hamburg", slug="phonecycle-hamburg",
                                legal_name="PhoneCycle Hamburg GmbH & Co. KG", registration_number="HRA 125473",
                                tax_id="DE297651348", email="service@phonecycle.example"),
             dict(months_new=24, months_like_new=24, months_used=18, business_months=12, trial_days=30,
                  return_address="PhoneCycle Hamburg, Rücksendungen, Wendenstraße 130, 20537 Hamburg"),
             [("seller2", MembershipRole.OWNER), ("seller2_staff", MembershipRole.STAFF)]),
            ("platform", dict(display_name="Marketplace Direct", slug="marketplace-direct",
                              legal_name="Demo Marketplace SE", registration_number="HRB 254001 B",
                              tax_id="DE341200987", email="direct@marketplace.example", is_platform=True),
             dict(months_new=24, months_like_new=24, months_used=12, trial_days=30,
                  return_address="Demo Marketplace SE, Returns Centre, Am Borsigturm 40, 13507 Berlin"),
             [("shop", MembershipRole.OWNER)]),
            ("gadgetdeals", dict(display_name="GadgetDeals24", slug="gadgetdeals24", legal_name="GadgetDeals24 e.K.",
                                 registration_number="HRA 98412", tax_id="DE276103945",
                                 email="info@gadgetdeals24.example"),
             dict(return_address="GadgetDeals24, Gutenbergstraße 7, 04178 Leipzig"),
             [("seller_suspended", MembershipRole.OWNER)]),
            ("nordlicht", dict(display_name="Nordlicht Electronics", slug="nordlicht-electronics",
                               legal_name="Nordlicht Electronics UG (haftungsbeschränkt)",
                               registration_number="HRB 31877 HL", tax_id="", email="hallo@nordlicht.example"),
             dict(return_address="Nordlicht Electronics, Beckergrube 21, 23552 Lübeck"),
             [("seller_pending", MembershipRole.OWNER)]),
        ]
        for key, fields, policy, members in specs:
            seller = Seller.objects.create(country="DE", **fields)
            WarrantyPolicy.objects.create(seller=seller, **policy)
            for username, role in members:
                SellerMembership.objects.create(user=self.u(username), seller=seller, role=role)
            if key == "nordlicht":  # pending: identity checked, tax id still missing
                seller_services.verify(seller=seller, by=self.agent, step="identity")
            else:
                for step in ("identity", "registration", "tax"):
                    seller_services.verify(seller=seller, by=self.agent, step=step)
                seller_services.activate(seller=seller, by=self.agent)
            self.sellers[key] = Seller.objects.get(pk=seller.pk)

    # --- orders --------------------------------------------------------------------------------------------

    def order(self, number: str, *, buyer: str, seller: str, placed: int, items: list[dict[str, Any]],
              shipping: str = "4.99", carrier: str = "DHL", shipped: int | None = None,
              delivered: int | None = None, to_order_address: bool = True,
              payment: str = PaymentMethod.CARD) -> Order:
        """An order placed `placed` days ago; shipped/delivered are days ago too (None: not yet)."""
        placed_at = self.at(placed, 9, 15 + len(self.orders))
        kind = BuyerKind.BUSINESS if buyer == "business" else BuyerKind.CONSUMER
        digital = all(item.get("is_digital") for item in items)
        order = create_order(
            number=number, buyer=self.u(buyer), seller=self.sellers[seller], placed_at=placed_at, items=items,
            buyer_kind=kind, shipping=Decimal("0.00") if digital else Decimal(shipping),
            ship_by=None if digital else (placed_at + dt.timedelta(days=2)).date(),
            estimated_delivery=None if digital else (placed_at + dt.timedelta(days=4)).date(),
            payment_method=payment,
            card_last4=f"{4242 + len(self.orders) * 7 % 5000:04d}" if payment == PaymentMethod.CARD else "",
            payment_reference=f"{'PAYID-' if payment == PaymentMethod.PAYPAL else 'pi_3Demo'}{number[-4:]}7731",
            **ADDRESSES[buyer],
        )
        if shipped is not None:
            self._tracking += 1
            tracking = {"DHL": f"00340434{161094000 + self._tracking:010d}", "DPD": f"0150{780040 + self._tracking}",
                        "Hermes": f"H10{117470000 + self._tracking}", "GLS": f"ZB{45100 + self._tracking}DE"}[carrier]
            record_shipment(order=order, carrier=carrier, tracking_number=tracking,
                            shipped_at=self.at(shipped, 16, 30),
                            delivered_at=self.at(delivered, 13, 40) if delivered is not None else None,
                            delivered_to_order_address=delivered is not None and to_order_address,
                            source=ShipmentSource.CARRIER if delivered is not None else ShipmentSource.SELLER)
        self.orders[number] = order
        return order

    def make_orders(self) -> None:
        o = self.order
        o("DEMO-1001", buyer="buyer", seller="techhaven", placed=16, shipped=15, delivered=13, items=[
            dict(title="Apple iPhone 13, 128 GB, Midnight", sku="APL-IP13-128-MID", condition="like_new",
                 unit_price="529.00", serial_number=imei("35391811204377"))])
        o("DEMO-1002", buyer="buyer2", seller="techhaven", placed=14, shipped=13, delivered=11, carrier="Hermes",
          items=[dict(title="Samsung Galaxy S22, 128 GB, Phantom Black", sku="SAM-S22-128-BLK", condition="used",
                      unit_price="319.00", serial_number=imei("35067412873310"))])
        o("DEMO-1003", buyer="business", seller="phonecycle", placed=9, shipped=8, delivered=6, carrier="DPD",
          shipping="9.90", items=[
              dict(title="Lenovo ThinkPad T14 Gen 3, Core i5, 16 GB, 512 GB SSD, German keyboard",
                   sku="LEN-T14G3-I5-16-DE", condition="like_new", quantity=2, unit_price="689.00",
                   serial_number="PF3K7QXA, PF3K7QXD")])
        o("DEMO-1004", buyer="buyer2", seller="phonecycle", placed=40, shipped=39, delivered=37, items=[
            dict(title="Apple AirPods Pro (2nd generation) with MagSafe case", sku="APL-APP2-MS", condition="used",
                 unit_price="149.00", serial_number="H6KXQ2LM1059")])
        o("DEMO-1005", buyer="buyer", seller="techhaven", placed=25, shipped=24, delivered=22, items=[
            dict(title="Google Pixel 7, 128 GB, Obsidian", sku="GOO-PX7-128-OBS", condition="new",
                 unit_price="449.00", serial_number=imei("35818274015512")),
            dict(title="Spigen Tough Armor case for Pixel 7", sku="SPG-PX7-TA", condition="new", unit_price="19.90",
                 is_consumable=False)])
        o("DEMO-1006", buyer="buyer2", seller="gadgetdeals", placed=21, shipped=19, carrier="GLS", items=[
            dict(title="Sony WH-1000XM5 wireless noise-cancelling headphones, black", sku="SON-WH1000XM5-B",
                 condition="new", unit_price="299.00", serial_number="S01-5523871-B")])
        o("DEMO-1007", buyer="buyer", seller="phonecycle", placed=12, shipped=11, delivered=9, items=[
            dict(title='Apple MacBook Air 13" M1, 8 GB, 256 GB, Space Grey (grade: very good)',
                 sku="APL-MBA-M1-8-256-SG", condition="used", unit_price="579.00", serial_number="FVFGK2XSQ6L4")])
        o("DEMO-1008", buyer="buyer2", seller="techhaven", placed=30, shipped=29, delivered=27, items=[
            dict(title="Bose QuietComfort 45 headphones, white smoke", sku="BOS-QC45-WS", condition="like_new",
                 unit_price="179.00", serial_number="077171Z21340087AE")])
        o("DEMO-1009", buyer="buyer", seller="phonecycle", placed=15, shipped=14, delivered=12, items=[
            dict(title="Apple iPhone 12 mini, 64 GB, Blue", sku="APL-IP12M-64-BLU", condition="used",
                 unit_price="289.00", serial_number=imei("35304611872090"))])
        o("DEMO-1010", buyer="business", seller="techhaven", placed=20, shipped=19, delivered=18, carrier="DPD",
          items=[dict(title="Dell XPS 13 9315, Core i7, 16 GB, 512 GB, Sky", sku="DEL-XPS13-9315-I7",
                      condition="like_new", unit_price="849.00", serial_number="7QK2HT3")])
        o("DEMO-1011", buyer="buyer2", seller="platform", placed=18, shipped=16, shipping="0.00", items=[
            dict(title="JBL Tune 760NC headphones, blue", sku="JBL-T760NC-BLU", condition="new", unit_price="69.99")])
        o("DEMO-1012", buyer="buyer", seller="techhaven", placed=45, shipped=44, delivered=42, items=[
            dict(title="OnePlus 11 5G, 256 GB, Titan Black", sku="OPL-11-256-BLK", condition="used",
                 unit_price="379.00", serial_number=imei("86412305118842"))])
        o("DEMO-1013", buyer="buyer2", seller="phonecycle", placed=17, shipped=15, items=[
            dict(title="Samsung Galaxy Buds2 Pro, graphite", sku="SAM-BUDS2PRO-GR", condition="new",
                 unit_price="139.00", serial_number="R9ZT80BQ4VL")])
        o("DEMO-1014", buyer="business", seller="techhaven", placed=196, shipped=194, delivered=191,
          to_order_address=False, items=[
              dict(title="Lenovo ThinkPad X1 Carbon Gen 10, Core i7, 16 GB, 1 TB", sku="LEN-X1C10-I7-16-1T",
                   condition="used", unit_price="899.00", serial_number="PF4A1ZC9")])
        o("DEMO-1015", buyer="buyer", seller="techhaven", placed=30, shipped=29, delivered=27, items=[
            dict(title="Apple iPhone 14, 128 GB, Blue", sku="APL-IP14-128-BLU", condition="like_new",
                 unit_price="589.00", serial_number=imei("35162375209913"))])
        o("DEMO-1016", buyer="buyer2", seller="phonecycle", placed=35, shipped=34, delivered=31,
          payment=PaymentMethod.PAYPAL, items=[
              dict(title="Beats Studio Pro wireless headphones, sandstone", sku="BTS-STPRO-SAND", condition="new",
                   unit_price="249.00", serial_number="GX7QW1L0P2")])
        o("DEMO-1017", buyer="buyer", seller="platform", placed=60, shipped=59, delivered=57, shipping="0.00", items=[
            dict(title='Apple MacBook Pro 14" M1 Pro, 16 GB, 512 GB, Silver', sku="APL-MBP14-M1P-16-512",
                 condition="like_new", unit_price="1249.00", serial_number="C02GK3ABQ05N")])
        o("DEMO-1018", buyer="buyer2", seller="techhaven", placed=3, items=[
            dict(title="Microsoft 365 Personal, 12-month licence (download)", sku="MS-365-PERS-12M",
                 condition="new", unit_price="69.00", is_digital=True)])
        # Orders without a claim, for the buyers' order lists and to try the "Get help" form.
        o("DEMO-1019", buyer="buyer", seller="phonecycle", placed=1, items=[
            dict(title="Nothing Phone (2), 256 GB, dark grey", sku="NTH-PH2-256-DG", condition="new",
                 unit_price="549.00", serial_number=imei("35922610447518"))])
        o("DEMO-1020", buyer="business", seller="platform", placed=8, shipped=7, delivered=5, shipping="0.00", items=[
            dict(title="Jabra Evolve2 65 UC stereo headset", sku="JAB-EV265-UC", condition="new", quantity=5,
                 unit_price="189.00")])
        o("DEMO-1021", buyer="buyer", seller="platform", placed=7, shipped=6, delivered=4, items=[
            dict(title="Apple AirPods (3rd generation) with Lightning case", sku="APL-AP3-LC", condition="new",
                 unit_price="179.00", serial_number="GX9HX3R1QK")])

    # --- claims --------------------------------------------------------------------------------------------

    def open(self, number: str, *, reason: str, description: str, desired: str, photos: Sequence[Any] = (),
             discovered: int | None = None, items: Any = None) -> Claim:
        order = self.orders[number]
        claim = services.open_claim(
            order=order, buyer=order.buyer, reason=reason, description=description, desired_outcome=desired,
            items=items, discovered_on=self.day(discovered) if discovered is not None else None, evidence=photos,
        )
        self.claims[number] = claim
        return claim

    def backdate(self, claim: Claim, opened_at: dt.datetime, *, messages: Sequence[dt.datetime] = (),
                 **moments: dt.datetime | bool | None) -> None:
        """Move a claim's timestamps and deadlines back as if it had been opened at `opened_at` (never its
        state). Deadlines are recomputed from the claim's policy snapshot, the way open_claim computes them.
        `messages` gives the times of the claim's messages, oldest first."""
        claim = Claim.objects.get(pk=claim.pk)
        policy = Policy.from_snapshot(claim.policy)
        fields: dict[str, Any] = {
            "opened_at": opened_at,
            "first_reply_due_at": opened_at + dt.timedelta(hours=policy.first_reply_hours),
            "resolution_due_at": add_business_days(opened_at, policy.resolution_business_days,
                                                   time_zone=policy.time_zone, country=policy.country,
                                                   subdivision=policy.subdivision),
            "hard_deadline_at": add_calendar_days(opened_at, policy.hard_deadline_days, time_zone=policy.time_zone),
        }
        fields.update({key: value(fields) if callable(value) else value for key, value in moments.items()})
        for key, value in fields.items():
            setattr(claim, key, value)
        claim.refresh_next_deadline()
        fields["next_deadline_at"] = claim.next_deadline_at
        Claim.objects.filter(pk=claim.pk).update(**fields)
        claim.evidence.filter(message__isnull=True, party=Party.BUYER).update(created_at=opened_at)
        for message, moment in zip(claim.messages.order_by("id"), messages, strict=False):
            type(message).objects.filter(pk=message.pk).update(created_at=moment)
            message.attachments.update(created_at=moment)
        resolved_at = fields.get("resolved_at")
        if resolved_at:
            claim.refunds.update(created_at=resolved_at)

    def make_claims(self) -> None:
        s = services
        agent = self.agent
        seller, seller_staff, seller2, shop = (self.u("seller"), self.u("seller_staff"), self.u("seller2"),
                                               self.u("shop"))
        buyer, buyer2, business = self.u("buyer"), self.u("buyer2"), self.u("business")

        # 1. awaiting_seller, fresh: a defect reported this morning.
        self.open("DEMO-1001", reason="defective", desired="repair", discovered=2, description=(
            "Face ID stopped working two days ago: the phone says “Face ID is not available. Try setting up Face ID "
            "later.” I have restarted it and updated to the latest iOS; it still fails. No drops, no water."),
            photos=[photo("face-id-error.jpg", "Face ID is not available", flaw="lines")])

        # 2. awaiting_seller, past its first-reply deadline (opened 3 days ago, no answer yet).
        claim = self.open("DEMO-1002", reason="not_as_described", desired="discount", description=(
            "The listing promised at least 85 % battery health; Settings → Battery shows 71 %. The phone lasts "
            "half a day. I would keep it for a partial refund, otherwise I want to return it."),
            photos=[photo("battery-health.jpg", "Battery health 71 % (listing: min. 85 %)", tint=(30, 30, 36))])
        self.backdate(claim, self.now - dt.timedelta(days=3, hours=2))

        # 3. in_progress with a pending offer: business buyer, one of two laptops has the wrong keyboard.
        t14 = self.orders["DEMO-1003"].items.get()
        claim = self.open("DEMO-1003", reason="wrong_item", desired="replacement", items=[(t14, 1)], description=(
            "We ordered two ThinkPads with German (QWERTZ) keyboards. Serial PF3K7QXD came with a US keyboard, "
            "which our staff cannot use. Please exchange the keyboard or the device."),
            photos=[photo("us-keyboard.jpg", "PF3K7QXD: US layout instead of German", device="laptop")])
        s.reply(claim=claim, by=self.u("seller2_staff"), body=(
            "Sorry for the mix-up. We can replace the keyboard (about 5 working days in our workshop) or, if you can "
            "use it as it is, give you a discount."))
        first = s.make_offer(claim=claim, by=seller2, kind=OfferKind.DISCOUNT, amount="40.00",
                             note="Discount if you keep the laptop with the US keyboard.")
        s.decline_offer(offer=first, by=business)
        s.post_message(claim=claim, by=business, body="40 EUR is too little: a German keyboard costs about 90 EUR.")
        s.make_offer(claim=claim, by=seller2, kind=OfferKind.DISCOUNT, amount="85.00",
                     note="85 EUR: the price of a genuine German keyboard, which you can have fitted locally.")

        # 4. in_progress, rejected by the seller: the buyer may escalate at once.
        claim = self.open("DEMO-1004", reason="defective", desired="replacement", discovered=3, description=(
            "The left earbud crackles at medium volume and during calls, with noise cancellation on or off."),
            photos=[photo("airpods-left.jpg", "Left earbud, crackling", device="headphones", tint=(240, 240, 240))])
        s.reject(claim=claim, by=seller2, code=RejectionCode.NORMAL_WEAR, body=(
            "Both earbuds passed our audio test before dispatch (report attached). Slight crackling at high volume "
            "is normal wear for a used AirPods Pro in grade B, as the listing says."),
            evidence=[(pdf("pre-dispatch-test.pdf", "PhoneCycle Hamburg - audio test before dispatch",
                           ["Device: AirPods Pro (2nd gen), serial H6KXQ2LM1059", "Left bud: pass (88 dB sweep)",
                            "Right bud: pass (88 dB sweep)", "Grade: B (used, visible wear)", "Tester: F. Koch"]),
                       EvidenceKind.INSPECTION_REPORT)])

        # 5. awaiting_return: replacement accepted, the faulty phone is on its way back (only the phone, not the
        #    case, is claimed).
        pixel = self.orders["DEMO-1005"].items.get(sku="GOO-PX7-128-OBS")
        claim = self.open("DEMO-1005", reason="defective", desired="replacement", items=[pixel], discovered=4,
                          description="The phone stopped charging: neither the original cable nor a second one works. "
                                      "Wireless charging still works.",
                          photos=[photo("usb-c-port.jpg", "No charging over USB-C", flaw="none")])
        s.reply(claim=claim, by=seller_staff, body="Thanks for the clear description. We will replace the phone.")
        offer = s.make_offer(claim=claim, by=seller_staff, kind=OfferKind.REPLACEMENT,
                             note="A new Pixel 7 is reserved for you and leaves the day your return arrives.",
                             return_instructions="Prepaid DHL label sent by e-mail, reference RET-1005-TH.")
        s.accept_offer(offer=offer, by=buyer)

        # 6. escalated at once: the seller is suspended, the platform answers (parcel stuck in transit).
        seller_services.suspend(seller=self.sellers["gadgetdeals"], by=agent, reason=(
            "Repeated non-delivery complaints; dispatch confirmations could not be verified with the carrier."))
        self.open("DEMO-1006", reason="not_received", desired="refund", description=(
            "Tracking has said “in transit” for almost three weeks and the seller does not answer e-mails."))

        # 7. escalated by the buyer after a rejection, assigned to the agent, with an internal note.
        claim = self.open("DEMO-1007", reason="not_as_described", desired="refund", description=(
            "Sold as grade “very good”, but the lid has a deep dent at the top right corner and the hinge is loose."),
            photos=[photo("lid-dent.jpg", "Dent on the lid, top right corner", device="laptop", flaw="dent"),
                    photo("hinge.jpg", "Hinge gap when open", device="laptop", flaw="none")])
        s.reject(claim=claim, by=seller2, code=RejectionCode.AS_DESCRIBED, body=(
            "The device was photographed before dispatch without a dent (photo attached); it must have happened in "
            "transport or afterwards."),
            evidence=[(photo("before-dispatch.jpg", "PhoneCycle: lid before dispatch", device="laptop", flaw="none"),
                       EvidenceKind.PHOTO)])
        s.escalate(claim=claim, by=buyer, reason="The dent is clearly visible on arrival; the box was undamaged.")
        s.assign(claim=claim, by=agent, agent=agent)
        s.post_message(claim=claim, by=agent, internal=True, body=(
            "Second grade complaint against PhoneCycle this month. Compare the seller's dispatch photo angle with "
            "the buyer's: the dent is not visible from the seller's angle."))

        # 8. awaiting_info: after a rejection and escalation the agent asks the buyer a question.
        claim = self.open("DEMO-1008", reason="defective", desired="repair", discovered=5, description=(
            "No sound from the right ear cup any more, even with the cable connected."),
            photos=[photo("qc45-right.jpg", "Right ear cup silent", device="headphones", tint=(225, 225, 215))])
        s.reject(claim=claim, by=seller, code=RejectionCode.BUYER_DAMAGE, body=(
            "The buyer's photo shows corrosion at the charging port: liquid damage is not covered."),
            evidence=[(photo("corrosion.jpg", "Detail from the buyer's photo", device="headphones", flaw="liquid"),
                       EvidenceKind.PHOTO)])
        s.escalate(claim=claim, by=buyer2, reason="I never got them wet. The green marks were there on delivery.")
        s.assign(claim=claim, by=agent, agent=agent)
        s.request_info(claim=claim, by=agent, party=Party.BUYER, question=(
            "Please send a close-up photo of the USB-C port of the right ear cup in daylight, and tell us whether "
            "the headphones were used during sport or in the rain."))

        # 9. resolved, refund: trial return, item sent back and checked by the seller.
        claim = self.open("DEMO-1009", reason="trial_return", desired="refund", description=(
            "The phone works fine but it is too small for me. I would like to return it within the trial period."))
        offer = s.make_offer(claim=claim, by=seller2, kind=OfferKind.RETURN_FOR_REFUND,
                             note="No problem: send it back with the free label and we refund the full price.")
        s.accept_offer(offer=offer, by=buyer)
        s.receive_return(claim=claim, by=self.u("seller2_staff"), inspection_result=InspectionResult.AS_EXPECTED,
                         note="Arrived complete and in the condition sold. Full refund released.")

        # 10. resolved, partial refund: business buyer keeps a laptop with a scratch.
        claim = self.open("DEMO-1010", reason="not_as_described", desired="discount", description=(
            "Listed as “like new”, but there is a 3 cm scratch across the display, visible when it is off."),
            photos=[photo("xps-scratch.jpg", "3 cm scratch on the display", device="laptop")])
        offer = s.make_offer(claim=claim, by=seller, kind=OfferKind.PARTIAL_REFUND, amount="120.00",
                             note="We are sorry the grading missed it. 120 EUR back, and you keep the laptop.")
        s.accept_offer(offer=offer, by=business)

        # 11. resolved, withdrawn: the parcel turned up at a neighbour's.
        claim = self.open("DEMO-1011", reason="not_received", desired="refund", description=(
            "Tracking stopped at “out for delivery” more than two weeks ago and nothing arrived."))
        s.reply(claim=claim, by=shop, body="We have opened an investigation with DHL and will get back to you.")
        s.post_message(claim=claim, by=buyer2, body="Found it: a neighbour had taken it in. Sorry, all good!")
        s.close(claim=claim, by=buyer2)

        # 12. resolved, denied: drop damage, established after asking the buyer for a photo.
        claim = self.open("DEMO-1012", reason="defective", desired="repair", discovered=6, description=(
            "Green vertical lines appeared on the screen and it no longer responds to touch on the left side."),
            photos=[photo("green-lines.jpg", "Green lines on the display", flaw="lines")])
        s.reject(claim=claim, by=seller, code=RejectionCode.BUYER_DAMAGE, body=(
            "The frame in the photo is dented at the lower left corner: a display failure after a drop is not "
            "covered by the warranty."),
            evidence=[(photo("frame-detail.jpg", "Frame dent, lower left (from buyer's photo)", flaw="dent"),
                       EvidenceKind.PHOTO)])
        s.escalate(claim=claim, by=buyer, reason="The lines appeared by themselves.")
        s.request_info(claim=claim, by=agent, party=Party.BUYER,
                       question="Please send a photo of the lower left corner of the frame.")
        s.provide_info(claim=claim, by=buyer, body="Here it is. It slipped off the sofa once, but onto carpet.",
                       attachments=[(photo("corner.jpg", "Lower left corner", flaw="dent"), EvidenceKind.PHOTO)])
        s.decide(claim=claim, by=agent, outcome="denied", denial_reason=DenialReason.DAMAGE_AFTER_RECEIPT, note=(
            "The frame shows impact damage at the point where the display fault starts. Damage after receipt is "
            "not covered; the seller can offer a paid repair."))

        # 13. resolved, delivered: the carrier scanned the delivery after the claim was opened.
        claim = self.open("DEMO-1013", reason="not_received", desired="replacement", description=(
            "Tracking shows the parcel at the depot since last week; no delivery attempt."))
        s.reply(claim=claim, by=seller2, body="DHL confirms a new delivery attempt for today.")
        shipment = Shipment.objects.get(order=self.orders["DEMO-1013"])
        # The carrier's events (as its webhook reports them) confirm the seller-reported shipment: the depot scan
        # the buyer saw, then today's delivery.
        for status, at in (("in_transit", self.at(14, 7, 45)), ("delivered", self.now - dt.timedelta(minutes=50))):
            apply_carrier_update(carrier=shipment.carrier, tracking_number=shipment.tracking_number, status=status,
                                 occurred_at=at, delivered_to_order_address=status == "delivered")
        s.mark_delivered(claim=claim)

        # 14. resolved by the forced refund at 180 days: parcel delivered to a Packstation not on the order;
        #     the platform took over, the seller never answered, the final deadline passed.
        claim = self.open("DEMO-1014", reason="not_received", desired="refund", description=(
            "Tracking says delivered to Packstation 118 in Düsseldorf. We are in Cologne and never chose a "
            "Packstation; the laptop never reached our office."))
        s.take_over(claim=claim)
        s.request_info(claim=claim, by=agent, party=Party.SELLER, question=(
            "Please send the proof of delivery from DHL and explain why the parcel went to a Packstation address "
            "that is not on the order."))
        s.info_timeout(claim=claim)
        s.force_refund(claim=claim)
        opened = self.now - dt.timedelta(days=180, hours=3)
        self.backdate(
            claim, opened, messages=[opened + dt.timedelta(days=8)], first_reply_breached=True,
            escalated_at=lambda f: f["resolution_due_at"],
            info_requested_at=opened + dt.timedelta(days=8),
            resolved_at=lambda f: f["hard_deadline_at"] + dt.timedelta(minutes=5),
        )

        # 15. resolved, refund paid by the platform and recovered from the silent seller after the take-over.
        claim = self.open("DEMO-1015", reason="not_as_described", desired="refund", description=(
            "Sold as “like new” with at least 90 % battery health; it shows 78 % and the back glass is scratched."),
            photos=[photo("iphone14-battery.jpg", "Battery health 78 %", tint=(90, 120, 170)),
                    photo("iphone14-back.jpg", "Scratches on the back glass", tint=(90, 120, 170))])
        s.take_over(claim=claim)
        s.decide(claim=claim, by=agent, outcome="refund", funded_by="platform", note=(
            "The seller did not answer within 5 business days. The platform refunds the buyer and recovers the "
            "amount from the seller."))
        opened = self.now - dt.timedelta(days=12, hours=5)
        decided = self.now - dt.timedelta(days=2, hours=4)
        self.backdate(claim, opened, messages=[decided], first_reply_breached=True,
                      escalated_at=lambda f: f["resolution_due_at"], decided_at=decided, resolved_at=decided)
        # Finance paid it out the next day: the buyer reads where the money went and when it arrives.
        s.mark_refund_paid(refund=claim.refunds.get(), reference="re_3Demo1015PaidOut", by=self.u("finance"))

        # 16. payment-provider dispute (PayPal) lost by the seller: refund and the fixed fine on the ledger.
        claim = s.record_provider_dispute(
            order=self.orders["DEMO-1016"], by=agent, reference="PP-D-7XK29341",
            description="Buyer told PayPal the headphones are counterfeit (serial not found at Apple).")
        self.claims["DEMO-1016"] = claim
        s.post_message(claim=claim, by=agent, internal=True,
                       body="PayPal case opened; seller's evidence forwarded to PayPal on day 3.")
        s.record_provider_verdict(claim=claim, by=agent, buyer_won=True)
        # The payout to the buyer's PayPal account bounced: it waits in the finance team's queue for a retry.
        s.mark_refund_failed(refund=claim.refunds.get(), by=self.u("finance"),
                             reason="PayPal account closed")

        # 17. resolved, repair: a first-party (marketplace) sale, repaired and sent back.
        claim = self.open("DEMO-1017", reason="defective", desired="repair", discovered=4, description=(
            "The trackpad has lifted at the front edge and no longer clicks; I think the battery is swelling."),
            photos=[photo("trackpad.jpg", "Trackpad lifted at the front edge", device="laptop", tint=(190, 190, 196))])
        offer = s.make_offer(claim=claim, by=shop, kind=OfferKind.REPAIR,
                             note="Please stop using it. We repair it free of charge; a courier collects it.",
                             return_instructions="UPS pickup booked, reference MD-RMA-1017.")
        s.accept_offer(offer=offer, by=buyer)
        s.receive_return(claim=claim, by=shop, inspection_result=InspectionResult.AS_EXPECTED,
                         note="Battery replaced, trackpad re-seated, 48-hour burn-in passed. On its way back to you.")

        # 18. escalated again: a refunded digital order reopened by the agent.
        claim = self.open("DEMO-1018", reason="not_received", desired="refund", description=(
            "I never received the licence key, neither by e-mail nor in my account."))
        offer = s.make_offer(claim=claim, by=seller, kind=OfferKind.FULL_REFUND,
                             note="Our key supplier had an outage. We refund you in full.")
        s.accept_offer(offer=offer, by=buyer2)
        s.reopen(claim=claim, by=agent, reason=(
            "The buyer says the seller's shop activated the licence key anyway and the refund has not arrived; "
            "checking with payments."))

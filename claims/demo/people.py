"""The demo's people (logins with their roles) and sellers: users and sellers come from the test factories, the
sellers' vetting and the suspension go through sellers.services."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django_otp.plugins.otp_totp.models import TOTPDevice

from sellers import services as seller_services
from sellers.models import MembershipRole, Seller
from sellers.tests.factories import SellerFactory, SellerMembershipFactory, UserFactory

from .timeline import Demo, Story

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - documented demo password, printed on purpose
MARKER_SELLER_SLUG = "techhaven-berlin"  # present once the demo has been seeded
# The console's people must use two factors (issue 18, accounts.two_factor). Their demo authenticator apps share this
# documented secret (base32, as apps take it): add it to any authenticator app, or print the current code with
# `manage.py totp_code agent`. Never use it anywhere but the demo.
DEMO_TOTP_SECRET = "DEMO2FADEMO2FADEMO2FADEMO2FADEMO"  # noqa: S105 - documented demo secret, printed on purpose
TWO_FACTOR_LOGINS = ("admin", "agent", "finance")


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
              "my orders, claims in several states; order DEMO-1021 can still get a trial return; DEMO-1023 was "
              "delivered to Portugal (three-year warranty, a perishable item)"),
    DemoLogin("buyer2", "Jonas", "Weber", "buyer (consumer, Munich)",
              "an escalated claim, a question from support to answer (awaiting info), a reopened claim, a defective "
              "claim on an order delivered to Slovakia (DEMO-1022)"),
    DemoLogin("business", "Klaus", "Schmidt", "buyer (business: Schmidt & Partner, Cologne)",
              "business orders (no warranty by default), a pending offer to accept or decline"),
]

# key: (seller fields, warranty policy, members)
SELLERS: dict[str, tuple[dict[str, Any], dict[str, Any], list[tuple[str, str]]]] = {
    "techhaven": (
        dict(display_name="TechHaven Berlin", slug=MARKER_SELLER_SLUG, legal_name="TechHaven Refurbished GmbH",
             registration_number="HRB 214587 B", tax_id="DE318456712", email="support@techhaven.example"),
        dict(months_new=24, months_like_new=21, months_used=12, trial_days=30,
             return_address="TechHaven Refurbished GmbH, Retouren, Lahnstraße 12, 12055 Berlin"),
        [("seller", MembershipRole.OWNER), ("seller_staff", MembershipRole.STAFF)]),
    "phonecycle": (
        dict(display_name="PhoneCycle Hamburg", slug="phonecycle-hamburg",
             legal_name="PhoneCycle Hamburg GmbH & Co. KG", registration_number="HRA 125473", tax_id="DE297651348",
             email="service@phonecycle.example"),
        dict(months_new=24, months_like_new=24, months_used=18, business_months=12, trial_days=30,
             return_address="PhoneCycle Hamburg, Rücksendungen, Wendenstraße 130, 20537 Hamburg"),
        [("seller2", MembershipRole.OWNER), ("seller2_staff", MembershipRole.STAFF)]),
    "platform": (
        dict(display_name="Marketplace Direct", slug="marketplace-direct", legal_name="Demo Marketplace SE",
             registration_number="HRB 254001 B", tax_id="DE341200987", email="direct@marketplace.example",
             is_platform=True),
        dict(months_new=24, months_like_new=24, months_used=12, trial_days=30,
             return_address="Demo Marketplace SE, Returns Centre, Am Borsigturm 40, 13507 Berlin"),
        [("shop", MembershipRole.OWNER)]),
    "gadgetdeals": (
        dict(display_name="GadgetDeals24", slug="gadgetdeals24", legal_name="GadgetDeals24 e.K.",
             registration_number="HRA 98412", tax_id="DE276103945", email="info@gadgetdeals24.example"),
        dict(return_address="GadgetDeals24, Gutenbergstraße 7, 04178 Leipzig"),
        [("seller_suspended", MembershipRole.OWNER)]),
    "nordlicht": (
        dict(display_name="Nordlicht Electronics", slug="nordlicht-electronics",
             legal_name="Nordlicht Electronics UG (haftungsbeschränkt)", registration_number="HRB 31877 HL",
             tax_id="", email="hallo@nordlicht.example"),
        dict(return_address="Nordlicht Electronics, Beckergrube 21, 23552 Lübeck"),
        [("seller_pending", MembershipRole.OWNER)]),
}


def stories(d: Demo) -> list[Story]:
    return [founding(d), newcomer(d)]


def founding(d: Demo) -> Story:
    """The platform opens: its people sign up, four sellers apply and are vetted; one is suspended much later."""
    yield d.ago(400, at="09:00")
    make_users(d)
    for key in ("techhaven", "phonecycle", "platform", "gadgetdeals"):
        sign_up(d, key)
    yield dt.timedelta(days=2)
    for key in ("techhaven", "phonecycle", "platform", "gadgetdeals"):
        for step in ("identity", "registration", "tax"):
            seller_services.verify(seller=d.sellers[key], by=d.u("agent"), step=step)
        d.sellers[key] = seller_services.activate(seller=d.sellers[key], by=d.u("agent"))

    yield d.ago(4, at="15:20")
    d.sellers["gadgetdeals"] = seller_services.suspend(seller=d.sellers["gadgetdeals"], by=d.u("agent"), reason=(
        "Repeated non-delivery complaints; dispatch confirmations could not be verified with the carrier."))


def newcomer(d: Demo) -> Story:
    """A seller applied last week: identity checked, its tax id is still missing."""
    yield d.ago(6, at="13:00")
    sign_up(d, "nordlicht")
    yield d.ago(5, at="10:30")
    seller_services.verify(seller=d.sellers["nordlicht"], by=d.u("agent"), step="identity")


def sign_up(d: Demo, key: str) -> None:
    fields, policy, members = SELLERS[key]
    seller = SellerFactory(pending=True, country="DE", **fields,
                           **{f"warranty_policy__{name}": value for name, value in policy.items()})
    for username, role in members:
        SellerMembershipFactory(user=d.u(username), seller=seller, role=role)
    d.sellers[key] = seller


def make_users(d: Demo) -> None:
    user_model = get_user_model()
    password = factory.Transformer.Force(make_password(DEMO_PASSWORD))  # hashed once: hashing is slow on purpose
    existing = set(user_model.objects.filter(username__in=[login.username for login in LOGINS])
                   .values_list("username", flat=True))
    d.kept_passwords = existing
    for login in LOGINS:
        admin = login.username == "admin"
        d.users[login.username] = UserFactory(username=login.username, first_name=login.first_name,
                                              last_name=login.last_name, password=password, is_staff=admin,
                                              is_superuser=admin)
    admin = d.users["admin"]
    if not (admin.is_superuser and admin.is_staff):  # an account called admin that existed before the demo
        admin.is_superuser = admin.is_staff = True
        admin.save(update_fields=["is_superuser", "is_staff"])
    # The "agents" group (claims migration 0005) holds act_as_agent and the support console's permissions; the
    # "finance" group (claims migration 0008) the payout queue and seller settlements.
    console_staff(d, "agent", group="agents", role_permission="act_as_agent")
    console_staff(d, "finance", group="finance", role_permission="manage_payouts")
    give_demo_apps([d.users[name] for name in TWO_FACTOR_LOGINS if name not in existing])


def console_staff(d: Demo, username: str, *, group: str, role_permission: str) -> None:
    user = d.users[username]
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    found = Group.objects.filter(name=group).first()
    if found is not None:
        user.groups.add(found)
    else:  # a database flushed after migrating (some test set-ups) has no group: the role at least
        user.user_permissions.add(Permission.objects.get(codename=role_permission, content_type__app_label="claims"))
    d.users[username] = get_user_model().objects.get(pk=user.pk)  # fresh instance: no stale permission cache


def give_demo_apps(users: list[Any]) -> None:
    """A confirmed authenticator app with the demo secret for each of these people who has none (accounts made by
    the demo only: an account that existed before keeps its own second factor, or sets one up)."""
    key = base64.b32decode(DEMO_TOTP_SECRET).hex()
    for user in users:
        if not TOTPDevice.objects.filter(user=user).exists():
            TOTPDevice.objects.create(user=user, name="authenticator app", key=key, confirmed=True)


def demo_apps_for_earlier_demos() -> list[str]:
    """A demo seeded before two factors existed: its console people, still with the demo password, get the demo
    app, so the printed logins work as they say. Returns whom it gave one."""
    user_model = get_user_model()
    users = [user for user in user_model.objects.filter(username__in=TWO_FACTOR_LOGINS).order_by("pk")
             if not TOTPDevice.objects.filter(user=user).exists() and user.check_password(DEMO_PASSWORD)]
    give_demo_apps(users)
    return [user.get_username() for user in users]


def already_seeded() -> bool:
    return Seller.objects.filter(slug=MARKER_SELLER_SLUG).exists()

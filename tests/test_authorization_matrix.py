"""Who may open which page: every URL pattern of the site, for seven people, against one explicit table.

The patterns come from a walk of the URL resolver, so a new page fails `test_every_url_pattern_is_classified`
until it is given a class below. Each pattern is turned into a concrete URL for one seeded world (a claim in
progress with an offer and a photo; the admin objects around it), and requested as each role: GET, or — for
views that refuse GET with 405 even to a superuser — POST with an empty body (CSRF checks off, as the test
client does). Each request runs in a transaction that is rolled back, so a POST that acts (closing the claim,
accepting the offer) never changes the world the next request sees.

Besides the status, no response to a person outside the claim (anonymous, another buyer, another seller's
staff) and no refusal to anyone may contain the claim number, the buyer's email or the claim's description.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.erasure import request_erasure
from accounts.tests.two_factor_helpers import give_app
from claims import services
from claims.models import Claim, Macro
from claims.tests.admin_factories import agents_group, make_console_agent, make_finance, make_superuser
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from core.models import AuditEvent
from integrations.endpoints import new_secret
from integrations.keys import create_api_key
from integrations.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from markets.models import Market
from sellers import services as seller_services
from sellers.models import CannedReply

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "buyer", "other_buyer", "staff", "other_staff", "agent", "finance", "superuser"]
# The people who may see this claim's data somewhere on the site (not necessarily on every page).
# Finance see claims read-only in the console (the claim of a refund they pay out).
ENTITLED = {"buyer", "staff", "agent", "finance", "superuser"}
DESCRIPTION = "Hinge cracked on the left side, unit marked 7F3A-QX."
BUYER_EMAIL = "matrix.buyer.q7x@example.org"

# --- what a response is, in the words of the table ---------------------------------------------------------
#   "200", "400", "403", "404", "405" the status code
#   "login"        302 to the site's login page (settings.LOGIN_URL)
#   "admin-login"  302 to the admin's login page
#   "302"          any other redirect
#   "ACT"          (expectation only) the view ran for this person on an empty POST: 200, a 302 back to the page
#                  (not to a login), or 400 with the form's errors; never a refusal
ACT = "ACT"
ACT_TOKENS = {"200", "302", "400"}
LOGIN, ADMIN = "login", "admin-login"

# --- the table: pattern class -> status per role -------------------------------------------------------------


def row(*cells: str) -> dict[str, str]:
    return dict(zip(ROLES, cells, strict=True))


EXPECTED: dict[str, dict[str, str]] = {
    #                               anonymous buyer     other     staff     other     agent     finance   superuser
    #                                                   buyer               staff
    "home":                     row(LOGIN,    "302",    "302",    "302",    "302",    "302",    "302",    "302"),
    "public":                   row("200",    "200",    "200",    "200",    "200",    "200",    "200",    "200"),
    "public: set language":     row("302",    "302",    "302",    "302",    "302",    "302",    "302",    "302"),
    "public: log out":          row(LOGIN,    LOGIN,    LOGIN,    LOGIN,    LOGIN,    LOGIN,    LOGIN,    LOGIN),
    "public: webhook":          row("401",    "401",    "401",    "401",    "401",    "401",    "401",    "401"),
    # the probes of load balancers and Prometheus: no login, whoever is logged in. /metrics answers the test client's
    # 127.0.0.1 (METRICS_ALLOWED_NETWORKS) and nobody else without its token (tests/test_health_and_metrics.py)
    "public: probes":           row("200",    "200",    "200",    "200",    "200",    "200",    "200",    "200"),
    # the satisfaction survey's signed link is its own credential (no login): a link that is not valid is refused
    "public: survey link":      row("400",    "400",    "400",    "400",    "400",    "400",    "400",    "400"),
    # so is an email's one-click unsubscribe link (claims.unsubscribe): whoever is logged in, a bad link is refused
    "public: unsubscribe link": row("400",    "400",    "400",    "400",    "400",    "400",    "400",    "400"),
    "own account":              row(LOGIN,    "200",    "200",    "200",    "200",    "200",    "200",    "200"),
    "own account action":       row(LOGIN,    ACT,      ACT,      ACT,      ACT,      ACT,      ACT,      ACT),
    # the code asked for at login (accounts.views.mfa_verify): a session that passed it goes on to where it was going,
    # a person without an authenticator app to set one up (or to the security page)
    "own account: second factor":
                                row(LOGIN,    "302",    "302",    "302",    "302",    "302",    "302",    "302"),
    # new recovery codes: for people with an app (the console's people here; the others are sent to the security page)
    "own account: with two factors":
                                row(LOGIN,    "302",    "302",    "302",    "302",    "200",    "200",    "200"),
    "buyer page":               row(LOGIN,    "200",    "404",    "404",    "404",    "404",    "404",    "404"),
    "buyer action":             row(LOGIN,    ACT,      "404",    "404",    "404",    "404",    "404",    "404"),
    # another seller's staff see their own dashboard (without this claim)
    "seller dashboard":         row(LOGIN,    "403",    "403",    "200",    "200",    "403",    "403",    "403"),
    "seller claim page":        row(LOGIN,    "404",    "404",    "200",    "404",    "404",    "404",    "404"),
    # the shop's canned replies are kept by its owner (claims.seller.replies): this world's staff are staff, the other
    # seller's staff too; tests/test_seller_journey_pages.py has the owner adding, changing and deleting
    "seller owner page":        row(LOGIN,    "403",    "403",    "403",    "403",    "403",    "403",    "403"),
    "seller owner page, this seller's reply":
                                row(LOGIN,    "403",    "403",    "403",    "404",    "403",    "403",    "403"),
    # the shop's API keys and webhook endpoints are its owner's too (claims.seller.integrations); another seller's key,
    # endpoint or delivery is not found; claims/tests/test_seller_integrations.py has the owner using every page
    "seller owner page, this seller's key or webhook":
                                row(LOGIN,    "403",    "403",    "403",    "404",    "403",    "403",    "403"),
    "seller action":            row(LOGIN,    "404",    "404",    ACT,      "404",    "404",    "404",    "404"),
    "seller action, not possible now":
                                row(LOGIN,    "404",    "404",    "409",    "404",    "404",    "404",    "404"),
    "evidence":                 row(LOGIN,    "200",    "404",    "200",    "404",    "200",    "404",    "200"),
    # the return slip (PDF): the buyer prints it, the seller's staff and agents may look at it; nobody else
    "return slip":              row(LOGIN,    "200",    "404",    "200",    "404",    "200",    "404",    "200"),
    "admin login page":         row("200",    "200",    "200",    "200",    "200",    "302",    "302",    "302"),
    # the admin's logout sends people outside the admin to its index (which asks them to log in)
    "admin log out":            row("302",    "302",    "302",    "302",    "302",    LOGIN,    LOGIN,    LOGIN),
    "admin: any staff":         row(ADMIN,    ADMIN,    ADMIN,    ADMIN,    ADMIN,    "200",    "200",    "200"),
    # read-only for the finance team (view permissions of the finance group), acting for agents
    "admin: console staff may": row(ADMIN,    ADMIN,    ADMIN,    ADMIN,    ADMIN,    "200",    "200",    "200"),
    "admin: agents may":        row(ADMIN,    ADMIN,    ADMIN,    ADMIN,    ADMIN,    "200",    "403",    "200"),
    # the payout queue: agents have no claims.view_refund, and changes need claims.roles.may_manage_payouts
    "admin: finance may":       row(ADMIN,    ADMIN,    ADMIN,    ADMIN,    ADMIN,    "403",    "200",    "200"),
    "admin: agents may (POST)": row(ADMIN,    ADMIN,    ADMIN,    ADMIN,    ADMIN,    ACT,      "403",    ACT),
    "admin: superuser only":    row(ADMIN,    ADMIN,    ADMIN,    ADMIN,    ADMIN,    "403",    "403",    "200"),
    # claims, ledger entries and orders are never added or deleted in the console, not even by a superuser
    "admin: nobody":            row(ADMIN,    ADMIN,    ADMIN,    ADMIN,    ADMIN,    "403",    "403",    "403"),
    "admin: redirect":          row(ADMIN,    ADMIN,    ADMIN,    ADMIN,    ADMIN,    "302",    "302",    "302"),
    "admin: not found":         row(ADMIN,    ADMIN,    ADMIN,    ADMIN,    ADMIN,    "404",    "404",    "404"),
    # the API takes keys, never a session: tests/test_api_authorization_matrix.py has every route for every key
    "api: key only":            row("401",    "401",    "401",    "401",    "401",    "401",    "401",    "401"),
    "not found":                row("404",    "404",    "404",    "404",    "404",    "404",    "404",    "404"),
}

# --- every pattern, by URL name (or route when it has none) --------------------------------------------------
CLASSES: dict[str, list[str]] = {
    "home": ["home"],
    "public": ["login", "password_reset", "password_reset_done", "password_reset_confirm",
               "password_reset_complete",
               # what the marketplace keeps, why and how long (accounts.privacy_views.privacy_notice)
               "privacy",
               # the API's schema and docs, and the pages its problem types point to
               "api:openapi-json", "api:openapi-view", "api_problems", "api_problem"],
    "public: set language": ["set_language"],
    "public: log out": ["logout"],
    # authenticated by their Standard Webhooks signature headers, never by a session
    "public: webhook": ["carrier_webhook", "payments_webhook"],
    # config.health and config.metrics, answered before sessions and logins (core.probes)
    "public: probes": ["healthz", "readyz", "metrics"],
    # claims/tests/test_satisfaction.py has the valid, expired and changed links
    "public: survey link": ["claims:satisfaction"],
    # tests/test_unsubscribe.py has the valid, expired, changed and foreign links, GET and one-click POST
    "public: unsubscribe link": ["claims:unsubscribe"],
    "own account": ["orders:list", "password_change", "password_change_done",
                    # each person's own notifications, email preferences and claims as a buyer (claims.keeping_up);
                    # claims/tests/test_keeping_up.py shows nobody another person's rows
                    "claims:notifications", "claims:email_preferences", "claims:my_claims",
                    # two factors (accounts.views): status and turning off, setting up an app (a new one replaces it)
                    "accounts:security", "accounts:mfa_setup",
                    # the person's own privacy page: download and erasure (accounts.privacy_views); everything on it
                    # is theirs, keyed by their account (accounts/tests/test_export.py, test_erasure.py)
                    "accounts:privacy"],
    "own account: second factor": ["accounts:mfa_verify"],
    "own account: with two factors": ["accounts:mfa_recovery_codes"],
    "own account action": ["claims:notifications_read",
                           # the ZIP of one's own data (200), asking to be forgotten (a 302 back to the page; seller
                           # staff and the console's people are told there that theirs is closed otherwise)
                           "accounts:export", "accounts:erasure_request"],
    "buyer page": ["orders:detail", "claims:get_help", "claims:detail", "claims:resolution"],
    "buyer action": ["claims:message", "claims:provide_info", "claims:escalate", "claims:close",
                     "claims:accept_offer", "claims:decline_offer", "claims:counter_offer", "claims:request_expert",
                     "claims:warranty_rights",
                     # an empty appeal is refused for its missing reason (400) before the claim's state is asked
                     "claims:appeal",
                     # the return parcel's tracking, on this world's claim awaiting a return (an empty form: 400)
                     "claims:return_tracking"],
    "seller dashboard": ["sellers:queue", "sellers:performance", "sellers:statements", "sellers:statement",
                         "sellers:statement_csv",
                         # the claims as CSV and the canned replies: of the seller the person works for
                         "sellers:claims_csv", "sellers:canned_replies"],
    "seller owner page": ["sellers:canned_reply_add",
                          "sellers:api_keys", "sellers:api_key_add", "sellers:webhooks", "sellers:webhook_add"],
    "seller owner page, this seller's key or webhook": [
        "sellers:api_key_revoke", "sellers:webhook_edit", "sellers:webhook_rotate", "sellers:webhook_toggle",
        "sellers:webhook_delete", "sellers:webhook_deliveries", "sellers:webhook_delivery",
        "sellers:webhook_redeliver"],
    "seller owner page, this seller's reply": ["sellers:canned_reply_edit", "sellers:canned_reply_delete"],
    "seller claim page": ["sellers:claim", "sellers:resolution"],
    "seller action": ["sellers:reply", "sellers:offer", "sellers:withdraw_offer", "sellers:reject",
                      "sellers:classify_defect", "sellers:tracking", "sellers:return_received",
                      "sellers:provide_info", "sellers:start_expert", "sellers:conclude_expert",
                      "sellers:goods_received", "sellers:appeal"],
    # an action without input that this world's claim (in progress, nothing to collect) does not allow: the seller's
    # staff are told why (409), everyone else gets what a seller action gives them
    # (this world's pending offer is the seller's own: there is no counter-offer of the buyer to accept or decline)
    "seller action, not possible now": ["sellers:collected", "sellers:accept_counter_offer",
                                        "sellers:decline_counter_offer"],
    "evidence": ["claims:evidence", "claims:evidence_thumbnail"],
    "return slip": ["claims:return_slip"],
    "admin login page": ["admin:login"],
    "admin log out": ["admin:logout"],
    # What the admin shows every staff user it lets in (agents are staff): no model permission involved, or
    # (autocomplete) one the agents group has.
    "admin: any staff": ["admin:index", "admin:password_change", "admin:password_change_done", "admin:jsi18n",
                         "admin:autocomplete", "admin:app_list"],
    "admin: console staff may": [
        "admin:claims_claim_changelist", "admin:claims_claim_change", "admin:claims_claim_history",
        "admin:sellers_seller_changelist", "admin:sellers_seller_change", "admin:sellers_seller_history",
        "admin:sellers_ledgerentry_changelist", "admin:sellers_ledgerentry_change",
        "admin:sellers_ledgerentry_history",
        "admin:orders_order_changelist", "admin:orders_order_change", "admin:orders_order_history",
        # the claim's written resolution, as the buyer got it: whoever sees the claim
        "admin:claims_claim_resolution",
        # the claim page's heartbeat (who else has it open, has it changed): whoever sees the claim; POST only
        "admin:claims_claim_presence",
    ],
    # (the seller page's "settle" action is the finance team's: sellers/tests/test_settlement.py)
    "admin: agents may": [
        "admin:claims_claim_queue", "admin:claims_claim_record_dispute", "admin:claims_claim_act",
        "admin:sellers_seller_act",
        # the markets' law, which the deadlines and remedies of a claim come from (read-only for agents)
        "admin:markets_market_changelist", "admin:markets_market_change", "admin:markets_market_history",
        # expert assessments and their costs: part of the claims agents work (no permission of their own)
        "admin:claims_expertassessment_changelist", "admin:claims_expertassessment_change",
        "admin:claims_expertassessment_history", "admin:claims_expertassessment_act",
        # the satisfaction survey's answers and their results (view permission of the agents group)
        "admin:claims_satisfactionresponse_changelist", "admin:claims_satisfactionresponse_change",
        "admin:claims_satisfactionresponse_history",
        # canned replies: agents add and change them (claims.macros); deleting one is the superuser's
        "admin:claims_macro_changelist", "admin:claims_macro_add", "admin:claims_macro_change",
        "admin:claims_macro_history",
        # API keys and webhooks: agents read them and redeliver (integrations/admin.py)
        *[f"admin:integrations_{model}_{view}" for model in ("apikey", "webhookendpoint", "webhookdelivery",
                                                              "webhookevent")
          for view in ("changelist", "change", "history")],
        "admin:integrations_webhookdelivery_act",
        # erasure requests (accounts/admin_privacy.py): the agents group's view and process_erasure permissions
        "admin:accounts_erasurerequest_changelist", "admin:accounts_erasurerequest_change",
        "admin:accounts_erasurerequest_history", "admin:accounts_erasurerequest_act",
        # login lockouts (accounts/admin_lockouts.py): seen and cleared (deleting is clearing) by the agents group
        *[f"admin:axes_accessattempt_{view}" for view in ("changelist", "change", "history", "delete")],
    ],
    "admin: finance may": [
        "admin:claims_refund_changelist", "admin:claims_refund_change", "admin:claims_refund_history",
        "admin:claims_refund_export", "admin:claims_refund_import", "admin:claims_refund_pay",
        "admin:claims_refund_fail", "admin:claims_refund_retry",
    ],
    "admin: agents may (POST)": ["admin:claims_claim_bulk_assign"],
    "admin: superuser only": [
        *[f"admin:auth_{model}_{view}" for model in ("group", "user")
          for view in ("changelist", "add", "change", "history", "delete")],
        "admin:auth_user_password_change",
        "admin:sellers_seller_add", "admin:sellers_seller_delete", "admin:markets_market_add",
        "admin:claims_macro_delete",
        # the platform's keys and endpoints, made through the services; revoking, turning off, rotating
        "admin:integrations_apikey_add", "admin:integrations_apikey_act", "admin:integrations_webhookendpoint_add",
        "admin:integrations_webhookendpoint_act", "admin:integrations_webhookendpoint_rotate",
        "admin:integrations_webhookendpoint_delete",
        # who has an authenticator app; deleting one resets a person's two factors (accounts.admin_two_factor)
        *[f"admin:otp_totp_totpdevice_{view}" for view in ("changelist", "change", "history", "delete")],
        # the audit log (core/admin.py): read by superusers only
        "admin:core_auditevent_changelist", "admin:core_auditevent_change", "admin:core_auditevent_history",
    ],
    "admin: nobody": ["admin:claims_claim_add", "admin:claims_claim_delete",
                      "admin:sellers_ledgerentry_add", "admin:sellers_ledgerentry_delete",
                      "admin:orders_order_add", "admin:orders_order_delete",
                      "admin:claims_refund_add", "admin:claims_refund_delete", "admin:markets_market_delete",
                      "admin:claims_expertassessment_add", "admin:claims_expertassessment_delete",
                      "admin:claims_satisfactionresponse_add", "admin:claims_satisfactionresponse_delete",
                      # keys are revoked, never deleted; events and deliveries are the outbox's
                      "admin:integrations_apikey_delete", "admin:integrations_webhookdelivery_add",
                      "admin:integrations_webhookdelivery_delete", "admin:integrations_webhookevent_add",
                      "admin:integrations_webhookevent_delete",
                      # an authenticator app is set up by its owner only, who alone sees its secret
                      "admin:otp_totp_totpdevice_add",
                      # erasure requests come from the people themselves and stay; the audit log is append-only
                      "admin:accounts_erasurerequest_add", "admin:accounts_erasurerequest_delete",
                      "admin:core_auditevent_add", "admin:core_auditevent_delete",
                      # login lockouts come from failed logins only
                      "admin:axes_accessattempt_add"],
    # ModelAdmin's "<object_id>/" sends staff on to the change page.
    "admin: redirect": [f"admin/{model}/<path:object_id>/" for model in (
        "auth/group", "auth/user", "claims/claim", "sellers/seller", "sellers/ledgerentry", "orders/order",
        "claims/refund", "markets/market", "claims/expertassessment", "claims/satisfactionresponse", "claims/macro",
        "integrations/apikey", "integrations/webhookendpoint", "integrations/webhookdelivery",
        "integrations/webhookevent", "otp_totp/totpdevice", "accounts/erasurerequest", "core/auditevent",
        "axes/accessattempt")],
    # No model here has get_absolute_url, so "view on site" finds nothing; the catch-all is the admin's 404.
    "admin: not found": ["admin:view_on_site", r"admin/(?P<url>.*)$"],
    # every other route of the API's namespace (class_of), the ones to come included
    "api: key only": [],
    # django-ninja's root of the API: a 404 that only serves to reverse the API's prefix
    "not found": ["api:api-root"],
}
CLASS_OF = {key: cls for cls, keys in CLASSES.items() for key in keys}

# Static files: served by the web server in production, and by django.contrib.staticfiles only with DEBUG
# (no pattern then). Should a static pattern appear, it is public.
STATIC_PREFIX = settings.STATIC_URL.lstrip("/")


# --- the resolver walk ---------------------------------------------------------------------------------------


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str | None]]:
    """(full route, namespaced name or None) of every URLPattern, recursing into every URLResolver."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name
        else:  # pragma: no cover - Django has no third kind
            raise TypeError(entry)


def site_patterns() -> list[tuple[str, str | None]]:
    """Every pattern once (login and password_reset are defined twice: ours first, Django's shadowed)."""
    return list(dict.fromkeys(walk(get_resolver().url_patterns)))


def key_of(route: str, name: str | None) -> str:
    return name or route


def class_of(route: str, name: str | None) -> str | None:
    if STATIC_PREFIX and route.startswith(STATIC_PREFIX):
        return "public"
    if name and name.startswith("api:") and name not in CLASS_OF:
        return "api: key only"
    return CLASS_OF.get(key_of(route, name))


PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def parameters(route: str) -> list[str]:
    return [a or b for a, b in PARAMETER.findall(route)]


# --- the world -----------------------------------------------------------------------------------------------

NOW = OPENED_AT + dt.timedelta(days=1)


class World:
    def __init__(self) -> None:
        # classified: a partial refund of a defect needs its type (claims.remedies)
        base = claim_world("in_progress", description=DESCRIPTION, defect_type="irremovable")
        self.claim: Claim = base.claim
        self.order = self.claim.order
        self.seller = self.claim.seller
        base.buyer.email = BUYER_EMAIL
        base.buyer.save(update_fields=["email"])
        self.people: dict[str, Any] = {
            "anonymous": None, "buyer": base.buyer, "other_buyer": base.other_buyer, "staff": base.staff,
            "other_staff": base.other_staff, "agent": make_console_agent(), "finance": make_finance(),
            "superuser": make_superuser(),
        }
        with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
            self.offer = services.make_offer(claim=self.claim, by=base.staff, kind="partial_refund",
                                             amount=Decimal("20.00"))
        self.evidence = self.claim.evidence.filter(kind="photo").first()
        self.ledger_entry = seller_services.add_adjustment(seller=self.seller, by=self.people["agent"],
                                                           amount=Decimal("5.00"), note="Matrix adjustment")
        self.group = agents_group()
        self.canned_reply = CannedReply.objects.create(seller=self.seller, title="Matrix reply",
                                                       body="Hello {buyer_name}")
        # A claim of the same buyer and seller awaiting its return (claims.returns): the slip and the return tracking.
        returning = open_defective_claim(order=delivered_order(seller=self.seller, buyer=base.buyer))
        with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
            services.accept_offer(offer=services.make_offer(claim=returning, by=base.staff, kind="return_for_refund"),
                                  by=base.buyer)
        self.returning = Claim.objects.get(pk=returning.pk)
        # Refunds to pay out and to retry, on claims of their own (this world's claim stays in progress).
        self.refund = claim_world("resolved").claim.refunds.get()
        self.answer = services.record_satisfaction(claim=self.refund.claim, party="buyer", rating=4)
        self.failed_refund = services.mark_refund_failed(refund=claim_world("resolved").claim.refunds.get(),
                                                         reason="Card expired", by=self.people["finance"])
        # An expert assessment the buyer of another (denied) claim asked for: the console's assessment pages.
        denied = claim_world("escalated")
        services.decide(claim=denied.claim, by=denied.agent, outcome="denied", denial_reason="normal_wear")
        self.assessment = services.request_expert_assessment(claim=denied.claim, by=denied.buyer)
        # Every URL is about this claim's people and things; another buyer's order number is no secret here.
        self.admin_objects = {"auth/group": self.group, "auth/user": base.buyer, "claims/claim": self.claim,
                              "sellers/seller": self.seller, "sellers/ledgerentry": self.ledger_entry,
                              "orders/order": self.order, "claims/refund": self.refund,
                              "markets/market": Market.objects.get(country="DE"),
                              "claims/expertassessment": self.assessment,
                              "claims/satisfactionresponse": self.answer,
                              "claims/macro": Macro.objects.create(name="Matrix macro"),
                              # the superuser's authenticator app (force_login would give them one anyway)
                              "otp_totp/totpdevice": give_app(self.people["superuser"]),
                              # the buyer's request to be forgotten, waiting (its action pages are offered)
                              "accounts/erasurerequest": request_erasure(user=base.buyer),
                              **self.integrations()}
        self.admin_objects["core/auditevent"] = AuditEvent.objects.order_by("pk").first()  # the refunds' lines
        # a pair locked out after failed logins (accounts.lockout)
        self.admin_objects["axes/accessattempt"] = AccessAttempt.objects.create(
            username="someone", ip_address="203.0.113.5", user_agent="matrix", get_data="", post_data="",
            http_accept="", path_info="/accounts/login/", failures_since_start=5)
        self.secrets = {"claim number": self.claim.number, "buyer email": BUYER_EMAIL, "description": DESCRIPTION}

    def integrations(self) -> dict[str, Any]:
        """This seller's API key, webhook endpoint and a delivery to it of an event of this claim (the dashboard's
        pages), and the platform's endpoint (the console's pages for superusers)."""
        self.api_key = create_api_key(name="Matrix key", seller=self.seller)[0]
        self.endpoint = WebhookEndpoint.objects.create(seller=self.seller, url="https://erp.example.com/hooks",
                                                       events=["claim.opened"], secret=new_secret())
        event = WebhookEvent.objects.create(msg_id="msg_matrix", type="claim.opened", seller=self.seller,
                                            claim_number=self.claim.number, payload={"type": "claim.opened"},
                                            dedupe_key="matrix")
        self.delivery = WebhookDelivery.objects.create(event=event, endpoint=self.endpoint, status="failed")
        platform = WebhookEndpoint.objects.create(url="https://shop.example.com/hooks", events=["refund.paid"],
                                                  secret=new_secret())
        return {"integrations/apikey": self.api_key, "integrations/webhookendpoint": platform,
                "integrations/webhookdelivery": self.delivery, "integrations/webhookevent": event}

    def admin_object(self, route: str) -> Any:
        for prefix, obj in self.admin_objects.items():
            if route.startswith(f"admin/{prefix}/"):
                return obj
        raise LookupError(f"no object for the admin route {route}")

    def value(self, route: str, name: str | None, parameter: str) -> Any:
        """The concrete value of one URL parameter, chosen by its name (and the route it is in)."""
        if parameter == "number" and name in ("claims:return_slip", "claims:return_tracking"):
            return self.returning.number
        if parameter == "number":
            return self.order.number if route.startswith(("orders/", "api/v1/shop/orders/")) else self.claim.number
        if parameter == "offer_id":
            return self.offer.pk
        if parameter in ("pk", "evidence_id"):  # evidence_id: the API's evidence download
            return self.evidence.pk
        if parameter == "refund_id":  # the shop API's refund confirmation
            return self.refund.pk
        if parameter == "code":  # the page of one of the API's problem types
            return "unauthorized"
        if parameter == "object_id":
            if name == "admin:view_on_site":
                return self.claim.pk
            return self.admin_object(route).pk
        if parameter == "action":  # one action each console page offers in this world's state
            return {"admin/claims/claim/": "escalate", "admin/sellers/seller/": "suspend",
                    "admin/claims/expertassessment/": "conclude", "admin/integrations/apikey/": "revoke",
                    "admin/integrations/webhookendpoint/": "disable",
                    "admin/integrations/webhookdelivery/": "redeliver",
                    "admin/accounts/erasurerequest/": "refuse"}[route.split("<")[0]]
        if parameter == "key_id":  # this seller's API key, its webhook endpoint, a delivery to it
            return self.api_key.pk
        if parameter == "endpoint_id":
            return self.endpoint.pk
        if parameter == "delivery_id":
            return self.delivery.pk
        if parameter == "reply_id":  # a canned reply of this world's seller
            return self.canned_reply.pk
        if parameter == "month":  # a seller's monthly statement: this world's month
            return "2026-03"
        if parameter == "content_type_id":
            return ContentType.objects.get_for_model(Claim).pk
        if parameter == "id":  # auth.User's password page
            return self.people["buyer"].pk
        if parameter == "app_label":
            return "claims"
        if parameter == "uidb64":
            return urlsafe_base64_encode(force_bytes(self.people["buyer"].pk))
        if parameter == "token":
            return "bad-token"  # a reset link that is not valid: the page says so
        if parameter == "url":
            return "no-such-page/"
        if parameter == "path":  # a static file, should static files ever get a pattern
            return "css/admin-console.css"
        raise LookupError(f"no value for the URL parameter {parameter!r} of {route}")

    def url(self, route: str, name: str | None) -> str:
        kwargs = {p: self.value(route, name, p) for p in parameters(route)}
        if name:
            path = reverse(name, kwargs=kwargs)
        else:
            path = "/" + PARAMETER.sub(lambda m: str(kwargs[m.group(1) or m.group(2)]), route)
            path = path.replace("^", "").replace("$", "")
        return path + QUERY.get(key_of(route, name), "").format(refund=self.refund.pk,
                                                                 failed=self.failed_refund.pk)


# The autocomplete endpoint needs its parameters; the order form's seller field is one agents may use.
# The payout queue's pages are about the refunds selected in its list.
QUERY = {"admin:autocomplete": "?app_label=orders&model_name=order&field_name=seller&term=Seller",
         "admin:claims_refund_pay": "?ids={refund}", "admin:claims_refund_fail": "?ids={refund}",
         "admin:claims_refund_retry": "?ids={failed}"}


# --- requests ------------------------------------------------------------------------------------------------


def token(response: Any) -> str:
    if response.status_code in (301, 302, 303, 307, 308):
        location = response["Location"]
        if location.startswith(reverse("admin:login")):
            return "admin-login"
        if location.startswith(resolve_url(settings.LOGIN_URL)):
            return "login"
        return "302"
    return str(response.status_code)


def matches(expected: str, got: str) -> bool:
    return got in ACT_TOKENS if expected == ACT else got == expected


def body_of(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        # Reading it to the end closes it (the test client's wrapper); closing it again would fire
        # request_finished with close_old_connections connected and close the test's connection on PostgreSQL.
        return b"".join(response.streaming_content)
    return response.content


def request_as(world: World, role: str, method: str, url: str) -> tuple[str, bytes]:
    """One request in a transaction that is rolled back: whatever it did is undone for the next one."""
    with transaction.atomic():
        client = Client()  # CSRF checks off, like Client's default
        if world.people[role] is not None:
            client.force_login(world.people[role])
        response = client.post(url) if method == "POST" else client.get(url)
        result = token(response), body_of(response)
        transaction.set_rollback(True)
    return result


def method_for(world: World, url: str) -> str:
    """POST for views that refuse GET (405) even to a logged-in superuser; GET for everything else."""
    got, _body = request_as(world, "superuser", "GET", url)
    return "POST" if got == "405" else "GET"


# --- the tests -----------------------------------------------------------------------------------------------


def test_every_url_pattern_is_classified():
    unclassified = [f"{route}  (name={name})" for route, name in site_patterns() if class_of(route, name) is None]
    assert not unclassified, ("URL patterns without a class in tests/test_authorization_matrix.py (CLASSES); "
                              "add each one with the statuses it must give:\n  " + "\n  ".join(unclassified))


def test_the_table_names_only_patterns_that_exist():
    existing = {key_of(route, name) for route, name in site_patterns()}
    stale = sorted(set(CLASS_OF) - existing)
    assert not stale, f"classified patterns that no longer exist: {stale}"
    assert set(CLASSES) == set(EXPECTED), set(CLASSES) ^ set(EXPECTED)


def render(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["label"]) for r in rows)
    lines = [f"{'pattern [method] (class)':<{width}}  " + "  ".join(f"{role:>11}" for role in ROLES)]
    for row in rows:
        cells = []
        for role in ROLES:
            got, expected = row["got"][role], row["expected"][role]
            cells.append(f"{got:>11}" if matches(expected, got) else f"{'!' + got + '≠' + expected:>11}")
        lines.append(f"{row['label']:<{width}}  " + "  ".join(cells))
    return "\n".join(lines)


def test_authorization_matrix():
    with time_machine.travel(NOW, tick=False):
        world = World()
        rows, mismatches, leaks, unknown = [], [], [], []
        seen: dict[str, set[str]] = {role: set() for role in ROLES}  # what each role was shown somewhere
        for route, name in site_patterns():
            cls = class_of(route, name)
            if cls is None:
                unknown.append(key_of(route, name))  # reported by test_every_url_pattern_is_classified
                continue
            url = world.url(route, name)
            method = method_for(world, url)
            row = {"label": f"{key_of(route, name)} [{method}] ({cls})", "got": {}, "expected": EXPECTED[cls]}
            for role in ROLES:
                got, body = request_as(world, role, method, url)
                row["got"][role] = got
                if not matches(EXPECTED[cls][role], got):
                    mismatches.append(f"{method} {url} as {role}: got {got}, expected {EXPECTED[cls][role]} ({cls})")
                refused = got in ("login", "admin-login", "403", "404", "405")
                seen[role] |= {what for what, secret in world.secrets.items() if secret.encode() in body}
                if role not in ENTITLED or refused:
                    for what, secret in world.secrets.items():
                        if secret.encode() in body:
                            leaks.append(f"{method} {url} as {role} ({got}) shows the {what}")
            rows.append(row)
    report = render(rows)
    print(report)
    assert not mismatches and not leaks, (
        "\n".join(["Status mismatches:", *mismatches, "", "Leaks:", *leaks, "", "The whole matrix (!got≠expected):",
                   report]))
    assert not unknown and len(rows) == len(site_patterns())
    # The leak check looks for the right words: the people entitled to the claim do see them.
    assert {"claim number", "description"} <= seen["buyer"] & seen["staff"] & seen["agent"] & seen["superuser"], seen
    assert "buyer email" in seen["agent"] & seen["superuser"], seen

"""The site's pages, for the browser tests that go through all of them (test_every_page_accessible.py) or through
the main ones (test_targets_and_focus.py): every named route of the URLconf is a page here, opened as the person it is
for, or a route of NOT_PAGES with the reason it is no page to read; the console's pages come from the admin site's
registry. The data is the demo's (claims.demo) and what the demo leaves out (build_cast).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.erasure import request_erasure
from claims import satisfaction, services, unsubscribe
from claims.abilities import appeal_refusal
from claims.demo import DEMO_PASSWORD
from claims.models import Claim, Refund
from claims.tests.admin_factories import agents_group, finance_group
from integrations.endpoints import new_secret
from integrations.keys import create_api_key
from integrations.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from sellers.models import CannedReply, MembershipRole, SellerMembership
from tests.browser.conftest import log_in

LANGUAGES = [code for code, _name in settings.LANGUAGES]
ANONYMOUS = "anonymous"
# Someone who typed the password and not yet the code of their authenticator app (the two-factor page).
HALF_LOGGED_IN = "agent before the second factor"

# --- the routes that are no page to read -----------------------------------------------------------------------
POST_ONLY = "only takes a POST (a form's action): GET is refused with 405"
NOT_PAGES: dict[str, str] = {
    "home": "a redirect to the person's start page (orders, seller dashboard or console)",
    "logout": POST_ONLY,
    "set_language": "the language switch: a form's POST, then back to the page (a GET only redirects)",
    "carrier_webhook": "machine to machine: the carrier's signed webhook",
    "payments_webhook": "machine to machine: the payment provider's signed webhook",
    "healthz": "machine to machine: a load balancer's liveness probe (JSON)",
    "readyz": "machine to machine: a load balancer's readiness probe (JSON)",
    "metrics": "machine to machine: Prometheus' text exposition",
    "claims:notifications_read": POST_ONLY,
    "claims:message": POST_ONLY,
    "claims:provide_info": POST_ONLY,
    "claims:escalate": POST_ONLY,
    "claims:close": POST_ONLY,
    "claims:warranty_rights": POST_ONLY,
    "claims:request_expert": POST_ONLY,
    "claims:appeal": POST_ONLY,
    "claims:accept_offer": POST_ONLY,
    "claims:decline_offer": POST_ONLY,
    "claims:counter_offer": POST_ONLY,
    "claims:return_tracking": POST_ONLY,
    "claims:return_slip": "a PDF (the printable return slip), not HTML",
    "claims:evidence": "a photo, video or PDF file the buyer uploaded, not HTML",
    "claims:evidence_thumbnail": "a thumbnail image, not HTML",
    "accounts:export": "a ZIP download of the person's data",
    "accounts:erasure_request": POST_ONLY,
    "sellers:statement_csv": "a CSV download",
    "sellers:claims_csv": "a CSV download",
    "sellers:webhook_toggle": POST_ONLY,
    "sellers:webhook_redeliver": POST_ONLY,
    "sellers:reply": POST_ONLY,
    "sellers:offer": POST_ONLY,
    "sellers:withdraw_offer": POST_ONLY,
    "sellers:accept_counter_offer": POST_ONLY,
    "sellers:decline_counter_offer": POST_ONLY,
    "sellers:reject": POST_ONLY,
    "sellers:classify_defect": POST_ONLY,
    "sellers:tracking": POST_ONLY,
    "sellers:return_received": POST_ONLY,
    "sellers:provide_info": POST_ONLY,
    "sellers:start_expert": POST_ONLY,
    "sellers:conclude_expert": POST_ONLY,
    "sellers:goods_received": POST_ONLY,
    "sellers:collected": POST_ONLY,
    "sellers:appeal": POST_ONLY,
    "admin:logout": POST_ONLY,
    "admin:jsi18n": "JavaScript (the admin's translations for its scripts)",
    "admin:autocomplete": "JSON for the admin's autocomplete fields",
    "admin:view_on_site": "a redirect to an object's page on the site",
    "admin:claims_claim_presence": "JSON: the claim page's heartbeat (who else has the claim open)",
    "admin:claims_claim_bulk_assign": POST_ONLY,
    "admin:claims_refund_export": "a CSV download (the payout file)",
}
# The API (django-ninja) answers JSON to programs with a key; its docs page is for developers and drawn by a
# third-party script (Swagger UI) the site does not write. Its problem pages are visited (api_problems, api_problem).
API_PREFIX = "api:"
API_REASON = "the API: JSON for programs with a key (and its generated schema and docs)"
# The admin's views that exist for every registered model but that no one may open for some models (add, delete).
NOBODY_MAY = "no one may open it, not even a superuser (403): rows of this model are written by the services only"


def named_routes() -> dict[str, str]:
    """Every named route of the site: its namespaced name and its pattern."""

    def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern) and entry.name:
                yield (f"{namespace}:{entry.name}" if namespace else entry.name), prefix + str(entry.pattern)

    routes: dict[str, str] = {}
    for name, pattern in walk(get_resolver().url_patterns):
        routes.setdefault(name, pattern)  # login and password_reset: ours first, Django's shadowed
    return routes


# --- the pages ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    route: str  # the URL name the page's address resolves to
    role: str  # who opens it: a demo login, ANONYMOUS or HALF_LOGGED_IN
    url: str
    what: str = ""  # which one, when a route is opened more than once (claim pages: the claim's state)
    status: int = 200  # a page that refuses (a link that is not valid) says so with its status

    @property
    def label(self) -> str:
        return f"{self.route} ({self.what})" if self.what else self.route


@dataclass
class Cast:
    """The demo and what build_cast adds to it."""

    users: dict[str, Any]
    claims: list[Claim]
    orders: dict[str, Any]
    sellers: dict[str, Any]
    extras: dict[str, Any]

    def user(self, username: str) -> Any:
        return self.users[username]


def build_cast() -> Cast:
    """The demo (claims.demo.seed, through the services) and what it leaves out: a seller's API key, webhook endpoint,
    a failed delivery to it and a canned reply, the platform's endpoint, an expert assessment, an erasure request, a
    login lockout and an appeal."""
    from claims import demo

    agents_group(), finance_group()  # what the migrations wrote, should an earlier test have flushed it
    seeded = demo.seed()
    users = {username: get_user_model().objects.get(username=username) for username in seeded.users}
    techhaven = seeded.sellers["techhaven"]
    api_key = create_api_key(name="ERP connector", seller=techhaven, created_by=users["seller"])[0]
    endpoint = WebhookEndpoint.objects.create(seller=techhaven, url="https://erp.example.com/hooks",
                                              events=["claim.opened"], secret=new_secret(), created_by=users["seller"])
    claim = seeded.claims["DEMO-1001"]
    event = WebhookEvent.objects.create(msg_id="msg_pages", type="claim.opened", seller=techhaven,
                                        claim_number=claim.number, payload={"type": "claim.opened"},
                                        dedupe_key="pages")
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, status="failed")
    platform_endpoint = WebhookEndpoint.objects.create(url="https://shop.example.com/hooks", events=["refund.paid"],
                                                       secret=new_secret())
    reply = CannedReply.objects.create(seller=techhaven, title="Repair first",
                                       body="Hello {buyer_name}, we repair it within 5 days.")
    denied = seeded.claims["DEMO-1012"]
    assessment = services.request_expert_assessment(claim=denied, by=denied.buyer)
    erasure = request_erasure(user=users["buyer2"])
    lockout = AccessAttempt.objects.create(
        username="someone", ip_address="203.0.113.5", user_agent="Firefox", get_data="", post_data="",
        http_accept="", path_info="/accounts/login/", failures_since_start=5)
    # a buyer appeals the platform's decision on a claim (the appeal's parts of the claim pages)
    appealed = next(c for c in Claim.objects.filter(state="resolved").order_by("number")
                    if appeal_refusal(c, c.buyer) is None)
    services.appeal(claim=appealed, by=appealed.buyer, reason="The decision ignored my photos.")
    extras = {"api_key": api_key, "endpoint": endpoint, "delivery": delivery, "event": event,
              "platform_endpoint": platform_endpoint, "reply": reply, "assessment": assessment, "erasure": erasure,
              "lockout": lockout, "appealed": appealed}
    claims = list(Claim.objects.select_related("order", "seller", "buyer").order_by("number"))
    return Cast(users=users, claims=claims, orders=seeded.orders, sellers=seeded.sellers, extras=extras)


def owner_of(cast: Cast, claim: Claim) -> str | None:
    membership = SellerMembership.objects.filter(seller=claim.seller, role=MembershipRole.OWNER,
                                                 user__username__in=cast.users).select_related("user").first()
    return membership.user.username if membership else None


def site_pages(cast: Cast) -> list[Page]:
    """The site's pages (not the console's), each as the person it is for."""
    buyer = cast.user("buyer")
    resolved = next(c for c in cast.claims if c.buyer_id == buyer.pk and c.state == "resolved")
    token = default_token_generator.make_token(buyer)
    uid = urlsafe_base64_encode(force_bytes(buyer.pk))
    survey = satisfaction.make_token(claim=resolved, party="buyer", user=buyer)
    month = timezone.localdate().replace(day=1)
    x = cast.extras
    pages = [
        Page("login", ANONYMOUS, reverse("login")),
        Page("password_reset", ANONYMOUS, reverse("password_reset")),
        Page("password_reset_done", ANONYMOUS, reverse("password_reset_done")),
        # a valid link: Django moves it to the set-password address, the same route, with the form
        Page("password_reset_confirm", ANONYMOUS, reverse("password_reset_confirm", args=[uid, token])),
        Page("password_reset_confirm", ANONYMOUS, reverse("password_reset_confirm", args=[uid, "not-valid"]),
             "a link that is not valid"),
        Page("password_reset_complete", ANONYMOUS, reverse("password_reset_complete")),
        Page("privacy", ANONYMOUS, reverse("privacy")),
        Page("api_problems", ANONYMOUS, reverse("api_problems")),
        Page("api_problem", ANONYMOUS, reverse("api_problem", args=["unauthorized"])),
        Page("claims:satisfaction", ANONYMOUS, satisfaction.survey_path(survey)),
        Page("claims:unsubscribe", ANONYMOUS, reverse("claims:unsubscribe", args=[unsubscribe.make_token(
            user_id=buyer.pk, kind=unsubscribe.OPTIONAL_KINDS[0])])),
        Page("claims:unsubscribe", ANONYMOUS, reverse("claims:unsubscribe", args=["not-valid"]),
             "a link that is not valid", status=400),
        Page("admin:login", ANONYMOUS, reverse("admin:login")),
        Page("accounts:mfa_verify", HALF_LOGGED_IN, reverse("accounts:mfa_verify")),
        Page("orders:list", "buyer", reverse("orders:list")),
        Page("claims:my_claims", "buyer", reverse("claims:my_claims")),
        Page("claims:notifications", "buyer", reverse("claims:notifications")),
        Page("claims:email_preferences", "buyer", reverse("claims:email_preferences")),
        Page("claims:resolution", "buyer", reverse("claims:resolution", args=[resolved.number])),
        Page("accounts:security", "buyer", reverse("accounts:security")),
        Page("accounts:mfa_setup", "buyer", reverse("accounts:mfa_setup")),
        Page("accounts:privacy", "buyer", reverse("accounts:privacy")),
        Page("accounts:privacy", "buyer2", reverse("accounts:privacy"), "erasure requested"),
        Page("accounts:mfa_recovery_codes", "agent", reverse("accounts:mfa_recovery_codes")),
        Page("password_change", "buyer", reverse("password_change")),
        Page("password_change_done", "buyer", reverse("password_change_done")),
        Page("sellers:queue", "seller", reverse("sellers:queue")),
        Page("sellers:performance", "seller", reverse("sellers:performance")),
        Page("sellers:statements", "seller", reverse("sellers:statements")),
        Page("sellers:statement", "seller2", reverse("sellers:statement", args=[month])),
        Page("sellers:canned_replies", "seller", reverse("sellers:canned_replies")),
        Page("sellers:canned_reply_add", "seller", reverse("sellers:canned_reply_add")),
        Page("sellers:canned_reply_edit", "seller", reverse("sellers:canned_reply_edit", args=[x["reply"].pk])),
        Page("sellers:canned_reply_delete", "seller", reverse("sellers:canned_reply_delete", args=[x["reply"].pk])),
        Page("sellers:api_keys", "seller", reverse("sellers:api_keys")),
        Page("sellers:api_key_add", "seller", reverse("sellers:api_key_add")),
        Page("sellers:api_key_revoke", "seller", reverse("sellers:api_key_revoke", args=[x["api_key"].pk])),
        Page("sellers:webhooks", "seller", reverse("sellers:webhooks")),
        Page("sellers:webhook_add", "seller", reverse("sellers:webhook_add")),
        Page("sellers:webhook_edit", "seller", reverse("sellers:webhook_edit", args=[x["endpoint"].pk])),
        Page("sellers:webhook_rotate", "seller", reverse("sellers:webhook_rotate", args=[x["endpoint"].pk])),
        Page("sellers:webhook_delete", "seller", reverse("sellers:webhook_delete", args=[x["endpoint"].pk])),
        Page("sellers:webhook_deliveries", "seller",
             reverse("sellers:webhook_deliveries", args=[x["endpoint"].pk])),
        Page("sellers:webhook_delivery", "seller", reverse("sellers:webhook_delivery", args=[x["delivery"].pk])),
    ]
    # Every order of the buyers, with Get help where it is offered; every claim's page for its buyer and its seller.
    for order in sorted(cast.orders.values(), key=lambda o: o.number):
        if order.buyer.username not in cast.users:
            continue
        pages.append(Page("orders:detail", order.buyer.username, reverse("orders:detail", args=[order.number]),
                          order.number))
    for number in ("DEMO-1021", "DEMO-1023"):  # open orders with items that can still get help
        order = cast.orders[number]
        pages.append(Page("claims:get_help", order.buyer.username, reverse("claims:get_help", args=[number]), number))
    for claim in cast.claims:
        state = f"{claim.number}, {claim.state}"
        pages.append(Page("claims:detail", claim.buyer.username, reverse("claims:detail", args=[claim.number]),
                          state))
        owner = owner_of(cast, claim)
        if owner:
            pages.append(Page("sellers:claim", owner, reverse("sellers:claim", args=[claim.number]), state))
            if claim.state == "resolved":
                pages.append(Page("sellers:resolution", owner, reverse("sellers:resolution", args=[claim.number]),
                                  state))
    return pages


# The console's own pages, besides each model's list, add, change, history and delete page and its action pages.
def console_own_pages(cast: Cast) -> list[Page]:
    pending = Refund.objects.filter(status="pending").order_by("pk").first()
    failed = Refund.objects.filter(status="failed").order_by("pk").first()
    resolved = next(c for c in cast.claims if c.state == "resolved")
    return [
        Page("admin:index", "agent", reverse("admin:index")),
        Page("admin:index", "finance", reverse("admin:index"), "finance"),
        Page("admin:index", "admin", reverse("admin:index"), "superuser"),
        Page("admin:app_list", "agent", reverse("admin:app_list", args=["claims"])),
        Page("admin:password_change", "agent", reverse("admin:password_change")),
        Page("admin:password_change_done", "agent", reverse("admin:password_change_done")),
        Page("admin:claims_claim_queue", "agent", reverse("admin:claims_claim_queue")),
        Page("admin:claims_claim_record_dispute", "agent", reverse("admin:claims_claim_record_dispute")),
        Page("admin:claims_claim_resolution", "agent", reverse("admin:claims_claim_resolution", args=[resolved.pk])),
        Page("admin:claims_refund_import", "finance", reverse("admin:claims_refund_import")),
        Page("admin:claims_refund_pay", "finance", reverse("admin:claims_refund_pay") + f"?ids={pending.pk}"),
        Page("admin:claims_refund_fail", "finance", reverse("admin:claims_refund_fail") + f"?ids={pending.pk}"),
        Page("admin:claims_refund_retry", "finance", reverse("admin:claims_refund_retry") + f"?ids={failed.pk}"),
        Page("admin:integrations_webhookendpoint_rotate", "admin",
             reverse("admin:integrations_webhookendpoint_rotate", args=[cast.extras["platform_endpoint"].pk])),
        Page("admin:auth_user_password_change", "admin",
             reverse("admin:auth_user_password_change", args=[cast.user("buyer").pk])),
    ]


CONSOLE_ROLES = ("agent", "finance", "admin")  # the console's people, the first who may open a page opens it
VIEWS = ("changelist", "add", "change", "history", "delete")


def console_pages(cast: Cast) -> tuple[list[Page], dict[str, str]]:
    """Each registered model's list, add, change, history and delete page, as the first of the console's people who
    may open it (an agent, the finance team, a superuser), and its action pages: each action as an object that
    offers it. Returns the pages and the routes no one may open, with why."""
    factory = RequestFactory()
    requests = {}
    for role in CONSOLE_ROLES:
        request = factory.get("/admin/")
        request.user = cast.user(role)
        requests[role] = request
    pages: list[Page] = []
    nobody: dict[str, str] = {}
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        prefix = f"admin:{opts.app_label}_{opts.model_name}"
        objects = list(model_admin.get_queryset(requests["admin"]).order_by("-pk")[:1])
        if model is Claim:
            objects = list(Claim.objects.order_by("number"))
        for view in VIEWS:
            allowed = {role: _may(model_admin, view, requests[role], objects[0] if objects else None)
                       for role in CONSOLE_ROLES}
            role = next((r for r in CONSOLE_ROLES if allowed[r]), None)
            if role is None:
                nobody[f"{prefix}_{view}"] = NOBODY_MAY
                continue
            if view in ("changelist", "add"):
                pages.append(Page(f"{prefix}_{view}", role, reverse(f"{prefix}_{view}")))
                continue
            assert objects, f"no {opts.verbose_name} to open the {view} page of"
            for obj in objects if view == "change" else objects[:1]:
                what = f"{obj.number}, {obj.state}" if model is Claim else ""
                pages.append(Page(f"{prefix}_{view}", role, reverse(f"{prefix}_{view}", args=[obj.pk]), what))
        for action in getattr(model_admin, "console_actions", ()):
            found = _offering(model_admin, action, requests)
            if found is None:
                continue
            obj, role = found
            pages.append(Page(f"{prefix}_act", role, model_admin.console_action_url(obj, action.name), action.name))
    return pages, nobody


def _may(model_admin: Any, view: str, request: Any, obj: Any) -> bool:
    if not model_admin.has_module_permission(request):
        return False
    if view == "changelist":
        return model_admin.has_view_or_change_permission(request)
    if view == "add":
        return model_admin.has_add_permission(request)
    if view == "delete":
        return obj is not None and model_admin.has_delete_permission(request, obj)
    return obj is not None and model_admin.has_view_or_change_permission(request, obj)


def _offering(model_admin: Any, action: Any, requests: dict[str, Any]) -> tuple[Any, str] | None:
    """An object that offers the action now, and the first of the console's people who may run it on it."""
    for role in CONSOLE_ROLES:
        request = requests[role]
        for obj in model_admin.get_queryset(request).order_by("pk"):
            if action.available(obj, request.user) and model_admin.may_run(request, action, obj):
                return obj, role
    return None


def all_pages(cast: Cast) -> tuple[list[Page], dict[str, str]]:
    pages, nobody = console_pages(cast)
    return site_pages(cast) + console_own_pages(cast) + pages, nobody


def log_in_as(browser: Any, base_url: str, cast: Cast, role: str) -> Any:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=base_url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    if role == HALF_LOGGED_IN:
        log_in(page, cast.user("agent"), DEMO_PASSWORD, second_factor=False)
    elif role != ANONYMOUS:
        log_in(page, cast.user(role), DEMO_PASSWORD)
    return context

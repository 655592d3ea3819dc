"""The dashboard's "API & webhooks" pages: a shop's API keys (integrations.keys) and webhook endpoints
(integrations.endpoints), with each endpoint's delivery log and redelivery (integrations.webhooks).

Who: the shop's owner only, as its canned replies (claims.seller.replies). A key answers claims as the shop's staff
would and an endpoint receives every claim's data: the person answerable for the shop decides who gets them. Staff
are refused (403) and do not see the tab; another seller's key, endpoint or delivery is a 404.

A key or a secret is shown once: the POST that makes it keeps it in the session and redirects; the next page shows
it and drops it, so a reload (or the back button) no longer has it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, Model, QuerySet
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.http import AuthenticatedHttpRequest
from integrations import endpoints, keys
from integrations.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEventType
from sellers.models import MembershipRole, SellerMembership
from sellers.selectors import current_membership, memberships_of

from .forms import ApiKeyForm, DeliveryFilterForm, WebhookEndpointForm, WebhookToggleForm

DELIVERIES_PAGE_SIZE = 25
ONCE = "integrations_shown_once"  # the session key of a key or secret waiting to be shown


def may_manage(membership: SellerMembership) -> bool:
    return membership.role == MembershipRole.OWNER


# --- who, and what of theirs ---------------------------------------------------------------------------------------


def _owner(request: AuthenticatedHttpRequest) -> tuple[SellerMembership, list[SellerMembership]]:
    """The membership the person works in now (?seller=), if they own that shop."""
    membership, memberships = current_membership(request.user, request.GET.get("seller"))
    if not may_manage(membership):
        raise PermissionDenied(_("Only the shop's owner manages its API keys and webhooks."))
    return membership, memberships


def _owned(request: AuthenticatedHttpRequest, queryset: QuerySet, seller_field: str,
           pk: int) -> tuple[Any, SellerMembership, list[SellerMembership]]:
    """An object of a seller the person works for (else 404: an id reveals nothing), if they own that shop (else
    403). Platform keys and endpoints have no seller: never found here."""
    memberships = memberships_of(request.user)
    if not memberships:
        raise PermissionDenied
    by_seller = {membership.seller_id: membership for membership in memberships}
    obj = get_object_or_404(queryset, pk=pk, **{f"{seller_field}__in": by_seller.keys()})
    seller_id = obj
    for name in seller_field.split("__"):  # endpoint__seller_id: delivery.endpoint.seller_id
        seller_id = getattr(seller_id, name)
    membership = by_seller[seller_id]
    if not may_manage(membership):
        raise PermissionDenied(_("Only the shop's owner manages its API keys and webhooks."))
    return obj, membership, memberships


def _context(membership: SellerMembership, memberships: list[SellerMembership], **extra: Any) -> dict[str, Any]:
    return {"seller": membership.seller, "membership": membership, "memberships": memberships, **extra}


def _url(name: str, membership: SellerMembership, **kwargs: Any) -> str:
    return f"{reverse(f'sellers:{name}', kwargs=kwargs or None)}?seller={membership.seller.slug}"


# --- shown once ----------------------------------------------------------------------------------------------------


def _keep_once(request: AuthenticatedHttpRequest, *, kind: str, membership: SellerMembership, obj: Model, value: str,
               rotated: bool = False) -> None:
    request.session[ONCE] = {"kind": kind, "seller": membership.seller_id, "id": obj.pk, "value": value,
                             "rotated": rotated}


def _take_once(request: AuthenticatedHttpRequest, *, kind: str, membership: SellerMembership) -> dict[str, Any] | None:
    """What waits to be shown on this page of this seller, dropped from the session as it is read."""
    waiting = request.session.get(ONCE)
    if not waiting or waiting.get("kind") != kind or waiting.get("seller") != membership.seller_id:
        return None
    del request.session[ONCE]
    return waiting


# --- API keys ------------------------------------------------------------------------------------------------------


@never_cache  # the page that shows a new key once: no copy of it kept by the browser (back button)
@login_required
@require_GET
def api_keys(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every key of the shop, the revoked ones too (what used the API when); a new key once, right after it was
    made."""
    membership, memberships = _owner(request)
    keys_of = list(ApiKey.objects.filter(seller=membership.seller).select_related("created_by", "revoked_by")
                   .order_by(F("revoked_at").asc(nulls_first=True), "-created_at", "-id"))
    new = _take_once(request, kind="key", membership=membership)
    new_key = None
    if new is not None:
        new_key = {"value": new["value"], "key": next((k for k in keys_of if k.pk == new["id"]), None)}
    return render(request, "sellers/api_keys.html", _context(
        membership, memberships, keys=keys_of, new_key=new_key, docs_url=reverse("api:openapi-view")))


@login_required
@require_http_methods(["GET", "POST"])
def api_key_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership, memberships = _owner(request)
    form = ApiKeyForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                api_key, key = keys.create_api_key(name=form.cleaned_data["name"], seller=membership.seller,
                                                   scope=form.cleaned_data["scope"], created_by=request.user)
            except DomainError as error:
                form.add_error("name", error)
            else:
                _keep_once(request, kind="key", membership=membership, obj=api_key, value=key)
                messages.success(request, _("The key “%(name)s” was made.") % {"name": api_key.name})
                return redirect(_url("api_keys", membership))
    return render(request, "sellers/api_key_form.html", _context(membership, memberships, form=form), status=status)


@login_required
@require_http_methods(["GET", "POST"])
def api_key_revoke(request: AuthenticatedHttpRequest, key_id: int) -> HttpResponse:
    """Asks first (GET), revokes on POST: from then on every request with the key is refused."""
    api_key, membership, memberships = _owned(request, ApiKey.objects.select_related("seller"), "seller_id", key_id)
    if request.method == "POST":
        keys.revoke_api_key(api_key=api_key, by=request.user)
        messages.success(request, _("The key “%(name)s” was revoked. Requests with it are refused from now on.")
                         % {"name": api_key.name})
        return redirect(_url("api_keys", membership))
    return render(request, "sellers/api_key_revoke.html", _context(membership, memberships, api_key=api_key))


# --- webhook endpoints ---------------------------------------------------------------------------------------------


@never_cache  # shows a new secret once, as api_keys a key
@login_required
@require_GET
def webhooks(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership, memberships = _owner(request)
    return _webhooks_page(request, membership, memberships)


def _webhooks_page(request: AuthenticatedHttpRequest, membership: SellerMembership, memberships: list[SellerMembership],
                   status: int = 200) -> HttpResponse:
    endpoints_of = list(WebhookEndpoint.objects.filter(seller=membership.seller).order_by("-created_at", "-id"))
    for endpoint in endpoints_of:
        endpoint.event_labels = event_labels(endpoint.events)  # type: ignore[attr-defined]  # for the template
    new = _take_once(request, kind="secret", membership=membership)
    new_secret = None
    if new is not None:
        new_secret = {"value": new["value"], "endpoint": next((e for e in endpoints_of if e.pk == new["id"]), None),
                      "rotated": new.get("rotated", False)}
    return render(request, "sellers/webhooks.html", _context(
        membership, memberships, endpoints=endpoints_of, new_secret=new_secret, now=timezone.now(),
        all_events=len(WebhookEventType.values), disable_days=settings.WEBHOOK_DISABLE_AFTER_DAYS), status=status)


def event_labels(events: list[str]) -> list[str]:
    """The events an endpoint receives, in words, in the order the form lists them."""
    chosen = set(events)
    return [str(label) for value, label in WebhookEventType.choices if value in chosen]


def _endpoint_form_page(request: AuthenticatedHttpRequest, membership: SellerMembership,
                        memberships: list[SellerMembership], form: WebhookEndpointForm,
                        endpoint: WebhookEndpoint | None, status: int) -> HttpResponse:
    return render(request, "sellers/webhook_form.html", _context(membership, memberships, form=form,
                                                                 endpoint=endpoint), status=status)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership, memberships = _owner(request)
    form = WebhookEndpointForm(request.POST if request.method == "POST" else None)
    if request.method != "POST":
        return _endpoint_form_page(request, membership, memberships, form, None, 200)
    if form.is_valid():
        data = form.cleaned_data
        try:
            endpoint, secret = endpoints.create_endpoint(seller=membership.seller, url=data["url"],
                                                         events=data["events"], description=data["description"],
                                                         by=request.user)
        except endpoints.EndpointError as error:
            form.add_error(error.field or None, error)
        else:
            _keep_once(request, kind="secret", membership=membership, obj=endpoint, value=secret)
            messages.success(request, _("The endpoint %(url)s was added.") % {"url": endpoint.url})
            return redirect(_url("webhooks", membership))
    return _endpoint_form_page(request, membership, memberships, form, None, 400)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_edit(request: AuthenticatedHttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint, membership, memberships = _owned(request, WebhookEndpoint.objects.select_related("seller"),
                                               "seller_id", endpoint_id)
    if request.method != "POST":
        form = WebhookEndpointForm(initial={"url": endpoint.url, "description": endpoint.description,
                                            "events": endpoint.events})
        return _endpoint_form_page(request, membership, memberships, form, endpoint, 200)
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            endpoints.update_endpoint(endpoint=endpoint, by=request.user, url=data["url"],
                                      description=data["description"], events=data["events"])
        except endpoints.EndpointError as error:
            form.add_error(error.field or None, error)
        else:
            messages.success(request, _("The endpoint %(url)s was saved.") % {"url": endpoint.url})
            return redirect(_url("webhooks", membership))
    return _endpoint_form_page(request, membership, memberships, form, endpoint, 400)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_rotate(request: AuthenticatedHttpRequest, endpoint_id: int) -> HttpResponse:
    """Asks first (GET); on POST a new secret, shown once, while the old one still signs for a while."""
    endpoint, membership, memberships = _owned(request, WebhookEndpoint.objects.select_related("seller"),
                                               "seller_id", endpoint_id)
    if request.method == "POST":
        secret = endpoints.rotate_secret(endpoint=endpoint, by=request.user)
        _keep_once(request, kind="secret", membership=membership, obj=endpoint, value=secret, rotated=True)
        messages.success(request, _("The endpoint %(url)s has a new secret.") % {"url": endpoint.url})
        return redirect(_url("webhooks", membership))
    return render(request, "sellers/webhook_rotate.html", _context(
        membership, memberships, endpoint=endpoint, rotation_hours=settings.WEBHOOK_SECRET_ROTATION_HOURS))


@login_required
@require_POST
def webhook_toggle(request: AuthenticatedHttpRequest, endpoint_id: int) -> HttpResponse:
    """Turn an endpoint off (nothing is sent; what was waiting fails) or on again (new events only)."""
    endpoint, membership, _memberships = _owned(request, WebhookEndpoint.objects.select_related("seller"),
                                                "seller_id", endpoint_id)
    form = WebhookToggleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to turn the endpoint on or off."))
        return _webhooks_page(request, membership, memberships_of(request.user), status=400)
    if form.cleaned_data["action"] == "disable":
        who = request.user.get_full_name() or request.user.get_username()
        endpoints.disable_endpoint(endpoint=endpoint, by=request.user,
                                   reason=_("Turned off on the dashboard by %(name)s.") % {"name": who})
        messages.success(request, _("The endpoint %(url)s is off: no events are sent to it.") % {"url": endpoint.url})
    else:
        endpoints.enable_endpoint(endpoint=endpoint, by=request.user)
        messages.success(request, _("The endpoint %(url)s is on again. New events are sent to it; redeliver from its "
                                    "log what it missed.") % {"url": endpoint.url})
    return redirect(_url("webhooks", membership))


@login_required
@require_http_methods(["GET", "POST"])
def webhook_delete(request: AuthenticatedHttpRequest, endpoint_id: int) -> HttpResponse:
    """Asks first (GET), deletes on POST, with the endpoint's delivery log."""
    endpoint, membership, memberships = _owned(request, WebhookEndpoint.objects.select_related("seller"),
                                               "seller_id", endpoint_id)
    if request.method == "POST":
        endpoints.delete_endpoint(endpoint=endpoint, by=request.user)
        messages.success(request, _("The endpoint %(url)s was deleted.") % {"url": endpoint.url})
        return redirect(_url("webhooks", membership))
    return render(request, "sellers/webhook_delete.html", _context(membership, memberships, endpoint=endpoint))


# --- the delivery log ----------------------------------------------------------------------------------------------


def deliveries_of(endpoint: WebhookEndpoint, status: str = "") -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first, with their events: one query per page however many rows."""
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-created_at", "-id")


@login_required
@require_GET
def webhook_deliveries(request: AuthenticatedHttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint, membership, memberships = _owned(request, WebhookEndpoint.objects.select_related("seller"),
                                               "seller_id", endpoint_id)
    form = DeliveryFilterForm(request.GET)
    status = form.chosen()
    page = Paginator(deliveries_of(endpoint, status), DELIVERIES_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "sellers/webhook_deliveries.html", _context(
        membership, memberships, endpoint=endpoint, page=page, form=form, query=query.urlencode(),
        filtered=bool(status), here=request.get_full_path()))


@login_required
@require_GET
def webhook_delivery(request: AuthenticatedHttpRequest, delivery_id: int) -> HttpResponse:
    """One delivery: the event as it was sent, and every attempt with what came back."""
    delivery, membership, memberships = _owned(
        request, WebhookDelivery.objects.select_related("event", "endpoint__seller"), "endpoint__seller_id",
        delivery_id)
    attempts = WebhookAttempt.objects.filter(delivery=delivery).select_related("redelivery_by")
    return render(request, "sellers/webhook_delivery.html", _context(
        membership, memberships, delivery=delivery, endpoint=delivery.endpoint, attempts=attempts,
        payload=json.dumps(delivery.event.payload, indent=2, ensure_ascii=False),
        here=request.get_full_path()))


def _back(request: AuthenticatedHttpRequest, fallback: str) -> str:
    """Where the Redeliver button was pressed (the log's page, or the delivery's), if that is a page of this site."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                                  require_https=request.is_secure()):
        return target
    return fallback


@login_required
@require_POST
def webhook_redeliver(request: AuthenticatedHttpRequest, delivery_id: int) -> HttpResponseBase:
    """Send the event to the endpoint again now, whatever happened to it before (integrations.webhooks.redeliver)."""
    delivery, membership, _memberships = _owned(
        request, WebhookDelivery.objects.select_related("event", "endpoint__seller"), "endpoint__seller_id",
        delivery_id)
    # integrations.webhooks sends requests; imported where it is used, as the rest of the dashboard never needs it.
    from integrations import webhooks as outbound

    started = timezone.now()
    try:
        delivery = outbound.redeliver(delivery=delivery, by=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        accepted, sentence = redelivery_outcome(delivery, since=started)
        messages.add_message(request, messages.SUCCESS if accepted else messages.ERROR, sentence)
    return redirect(_back(request, _url("webhook_deliveries", membership, endpoint_id=delivery.endpoint_id)))


def redelivery_outcome(delivery: WebhookDelivery, *, since: dt.datetime) -> tuple[bool, str]:
    """Whether the endpoint took the redelivery (or it is on its way) and the sentence saying so: the attempt made
    since `since`, if one was made at once; else a worker sends it."""
    event = delivery.event.get_type_display()
    attempt = (WebhookAttempt.objects.filter(delivery=delivery, attempted_at__gte=since)
               .order_by("-attempted_at", "-id").first())
    if attempt is None:
        return True, _("“%(event)s” will be sent again in a moment.") % {"event": event}
    if attempt.status_code and 200 <= attempt.status_code < 300:
        return True, _("“%(event)s” was delivered again.") % {"event": event}
    answer = (_("it answered %(code)s") % {"code": attempt.status_code} if attempt.status_code
              else attempt.error or _("no answer"))
    return False, _("“%(event)s” was sent again, but the endpoint did not accept it (%(answer)s).") % {
        "event": event, "answer": answer}

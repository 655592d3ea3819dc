"""API keys and webhooks in the support console.

Who: agents (core.roles.is_agent) read every key, endpoint, event and delivery, and redeliver deliveries (a seller's
integration that missed an event is a support question); superusers also make the shop's platform keys and
endpoints, revoke keys, turn endpoints off and on, and change, rotate and delete the platform's endpoints. A seller's
keys and endpoints are its owner's (the dashboard): the console only reads them, and a superuser may revoke a key or
turn an endpoint off when it misbehaves. The agents group has no permissions on these models (its migration is
frozen), so viewing is decided here, as for expert assessments (claims/admin/experts.py).

Nothing is edited through the admin's own forms: every write goes through integrations.keys, integrations.endpoints
or integrations.webhooks, from action pages (core.console). No hash or secret is ever on a page, except a new key or
secret once, on the page right after it was made (kept in the session until then, as on the dashboard).
"""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core import formatting, roles
from core.console import ActionForm, ConfirmForm, ConsoleAction, ConsoleActionsMixin, ReadOnlyAdminMixin, person_label
from core.errors import DomainError

from . import endpoints, keys
from .models import ApiKey, ApiScope, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookEventType

ONCE = "integrations_console_shown_once"  # the session key of a new key or secret waiting for its page
MAX_REDELIVERIES = 20  # each is an HTTP request made while the agent waits


def _moment(moment: Any) -> str:
    if not moment:
        return "—"
    return format_html('<time datetime="{}">{}</time>', moment.isoformat(),
                       formatting.moment(moment))


def _owner_label(seller: Any) -> str:
    return seller.display_name if seller is not None else str(gettext_lazy("The platform (shop)"))


def _keep_once(request: HttpRequest, obj: Any, value: str, kind: str) -> None:
    request.session[ONCE] = {"model": obj._meta.label_lower, "id": obj.pk, "value": value, "kind": kind}


def _take_once(request: HttpRequest, obj: Any) -> dict[str, Any] | None:
    waiting = request.session.get(ONCE)
    if not waiting or waiting.get("model") != obj._meta.label_lower or waiting.get("id") != obj.pk:
        return None
    del request.session[ONCE]
    return waiting


class OwnerFilter(admin.SimpleListFilter):
    """The shop's own (platform) or a seller's."""

    title = gettext_lazy("whose")
    parameter_name = "whose"
    seller_field = "seller"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("platform", gettext_lazy("The platform (shop)")), ("seller", gettext_lazy("Sellers"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("platform", "seller"):
            return queryset.filter(**{f"{self.seller_field}__isnull": self.value() == "platform"})
        return queryset


class KeyStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", gettext_lazy("Active")), ("revoked", gettext_lazy("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("active", "revoked"):
            return queryset.filter(revoked_at__isnull=self.value() == "active")
        return queryset


class EndpointStatusFilter(KeyStatusFilter):
    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("on", gettext_lazy("On")), ("off", gettext_lazy("Off"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("on", "off"):
            return queryset.filter(disabled_at__isnull=self.value() == "on")
        return queryset


class DeliveryOwnerFilter(OwnerFilter):
    seller_field = "endpoint__seller"


class AgentsReadMixin:
    """Agents (and superusers) see these models; nobody else in the console does."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.is_agent(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return roles.is_agent(request.user)


class SuperuserManagedAdmin(AgentsReadMixin, ConsoleActionsMixin, admin.ModelAdmin):
    """Keys and endpoints: agents read them; superusers make and change them only through the console's action pages
    and the services (integrations.keys, integrations.endpoints), never through a form of the model."""

    change_form_template = "admin/integrations/change_form.html"

    class Media:
        css = {"all": ["css/admin-console.css"]}
        js = ["js/copy.js"]

    def has_console_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return endpoints.is_superuser(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- API keys ----------------------------------------------------------------------------------------------------


class PlatformKeyForm(ActionForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=ApiKey._meta.get_field("name").max_length,
                           help_text=gettext_lazy("What uses the key, for example “Shop backend (production)”."))
    scope = forms.ChoiceField(label=gettext_lazy("Access"), choices=ApiScope.choices, initial=ApiScope.WRITE,
                              widget=forms.RadioSelect,
                              help_text=gettext_lazy("The shop sends orders, shipments and refund confirmations: "
                                                     "that needs “Read and write”."))


def _revoke(api_key: ApiKey, user: Any, data: dict[str, Any]) -> str:
    keys.revoke_api_key(api_key=api_key, by=user)
    return f"Revoked the API key {api_key.prefix}."


API_KEY_ACTIONS = (
    ConsoleAction(name="revoke", label=gettext_lazy("Revoke the key"), run=_revoke, danger=True, guard=True,
                  success=gettext_lazy("The key was revoked: every request with it is refused from now on."),
                  intro=gettext_lazy("Every request with this key is refused from then on, and it cannot be turned "
                                     "back on. For a seller's key, tell the seller: whatever uses it stops working."),
                  available=lambda api_key, user: api_key.is_active),
)


@admin.register(ApiKey)
class ApiKeyAdmin(SuperuserManagedAdmin):
    console_actions = API_KEY_ACTIONS
    list_display = ["name", "whose", "scope", "key_start", "created_at", "created_by_name", "last_used_at", "status"]
    list_filter = [OwnerFilter, "scope", KeyStatusFilter]
    list_select_related = ["seller", "created_by", "revoked_by"]
    search_fields = ["name", "=prefix", "seller__display_name"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = ("name", "whose", "scope", "key_start", "created_at", "created_by_name", "last_used_at", "revoked_at",
              "revoked_by_name")
    readonly_fields = fields


    def has_add_permission(self, request: HttpRequest) -> bool:
        """A platform key, made through integrations.keys (add_view below); sellers make their own."""
        return endpoints.is_superuser(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, never deleted: the record of what could use the API stays

    @admin.display(description=gettext_lazy("whose"), ordering="seller__display_name")
    def whose(self, api_key: ApiKey) -> str:
        return _owner_label(api_key.seller)

    @admin.display(description=gettext_lazy("key begins with"))
    def key_start(self, api_key: ApiKey) -> str:
        return format_html("<code>{}_…</code>", api_key.prefix)

    @admin.display(description=gettext_lazy("created by"))
    def created_by_name(self, api_key: ApiKey) -> str:
        return person_label(api_key.created_by)

    @admin.display(description=gettext_lazy("revoked by"))
    def revoked_by_name(self, api_key: ApiKey) -> str:
        return person_label(api_key.revoked_by) if api_key.revoked_by_id else "—"

    @admin.display(description=gettext_lazy("status"), ordering="revoked_at")
    def status(self, api_key: ApiKey) -> str:
        return str(gettext_lazy("Active")) if api_key.is_active else str(gettext_lazy("Revoked"))

    def get_urls(self) -> list[Any]:
        return [*self.console_action_urls(), *super().get_urls()]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
                 ) -> HttpResponse:
        """A platform key for the shop: name and access; the key is shown once, on its page."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PlatformKeyForm(request.POST if request.method == "POST" else None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                api_key, key = keys.create_api_key(name=form.cleaned_data["name"], seller=None,
                                                   scope=form.cleaned_data["scope"], created_by=request.user)
            except DomainError as error:
                form.add_error("name", error)
            else:
                self.log_addition(request, api_key, f"Made the platform API key {api_key.prefix}.")
                _keep_once(request, api_key, key, "key")
                self.message_user(request, _("The platform key “%(name)s” was made. Copy it now: it is shown only "
                                             "this once.") % {"name": api_key.name}, messages.SUCCESS)
                return HttpResponseRedirect(self.change_url(api_key))
        return self.render_action_form(
            request, form, title=_("Make a platform API key"), status=400 if form.is_bound else 200,
            intro=_("A key for the shop (orders, shipments, refund confirmations). It is shown once, on the next "
                    "page. Sellers make their own keys on their dashboard."))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = dict(extra_context or {})
        api_key = self.get_object(request, unquote(object_id))
        if api_key is not None and self.has_view_permission(request, api_key):
            shown = _take_once(request, api_key)
            extra.update({"integrations_page": True, "buttons": self.offered_actions(request, api_key),
                          "new_value": shown["value"] if shown else "", "new_label": _("The key"),
                          "new_help": _("Shown only this once: only a fingerprint of it is stored. Send it as "
                                        "Authorization: Bearer followed by the key.")})
        return super().change_view(request, object_id, form_url, extra)


# --- webhook endpoints -------------------------------------------------------------------------------------------


class EventsField(forms.MultipleChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(label=gettext_lazy("Events to send"), choices=WebhookEventType.choices,
                         widget=forms.CheckboxSelectMultiple, **kwargs)


class PlatformEndpointForm(ActionForm):
    url = forms.URLField(label=gettext_lazy("URL"), max_length=endpoints.URL_MAX_LENGTH, assume_scheme="https",
                         widget=forms.URLInput(attrs={"size": 60}))
    description = forms.CharField(label=gettext_lazy("Description"), required=False,
                                  max_length=endpoints.DESCRIPTION_MAX_LENGTH,
                                  widget=forms.TextInput(attrs={"size": 60}))
    events = EventsField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.obj is not None and not self.is_bound:
            self.initial = {"url": self.obj.url, "description": self.obj.description, "events": self.obj.events}

    def clean(self) -> dict[str, Any]:
        """The destination is checked here too, so a refused URL stays on the form next to its field."""
        super().clean()
        data = self.cleaned_data
        if data.get("url") and (self.obj is None or data["url"] != self.obj.url):
            try:
                endpoints.clean_url(data["url"])
            except endpoints.EndpointError as error:
                self.add_error("url", error)
        return data


class DisableForm(ActionForm):
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=endpoints.REASON_MAX_LENGTH,
                             widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text=gettext_lazy("Shown to the endpoint's owner on their dashboard."))


def _disable(endpoint: WebhookEndpoint, user: Any, data: dict[str, Any]) -> str:
    endpoints.disable_endpoint(endpoint=endpoint, reason=data["reason"], by=user)
    return f"Turned the webhook endpoint off: {data['reason']}"


def _enable(endpoint: WebhookEndpoint, user: Any, data: dict[str, Any]) -> str:
    endpoints.enable_endpoint(endpoint=endpoint, by=user)
    return "Turned the webhook endpoint on."


def _edit(endpoint: WebhookEndpoint, user: Any, data: dict[str, Any]) -> str:
    endpoints.update_endpoint(endpoint=endpoint, by=user, url=data["url"], description=data["description"],
                              events=data["events"])
    return f"Changed the webhook endpoint: {endpoint.url}, {', '.join(endpoint.events)}."


ENDPOINT_ACTIONS = (
    ConsoleAction(name="edit", label=gettext_lazy("Change the endpoint"), run=_edit, form=PlatformEndpointForm,
                  success=gettext_lazy("The endpoint was saved."), guard=True,
                  available=lambda endpoint, user: endpoint.is_platform),
    ConsoleAction(name="disable", label=gettext_lazy("Turn off"), run=_disable, form=DisableForm, danger=True,
                  success=gettext_lazy("The endpoint is off: nothing is sent to it, and what waited failed."),
                  intro=gettext_lazy("Nothing is sent to the endpoint until it is turned on again; the deliveries "
                                     "waiting for it fail (they can be redelivered later)."),
                  available=lambda endpoint, user: endpoint.is_enabled),
    ConsoleAction(name="enable", label=gettext_lazy("Turn on"), run=_enable,
                  success=gettext_lazy("The endpoint is on again. New events are sent to it; what failed meanwhile "
                                       "is not resent unless it is redelivered."),
                  available=lambda endpoint, user: not endpoint.is_enabled),
)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SuperuserManagedAdmin):
    console_actions = ENDPOINT_ACTIONS
    list_display = ["url", "whose", "event_count", "status", "failing_since", "created_at"]
    list_filter = [OwnerFilter, EndpointStatusFilter]
    list_select_related = ["seller"]
    search_fields = ["url", "seller__display_name"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = ("url", "description", "whose", "event_list", "status", "failing_since", "secret_state", "created_at",
              "created_by_name", "deliveries_link")
    readonly_fields = fields
    actions: list[Any] = []  # no bulk delete: deleting goes through integrations.endpoints


    def has_add_permission(self, request: HttpRequest) -> bool:
        """A platform endpoint, made through integrations.endpoints (add_view below)."""
        return endpoints.is_superuser(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """The platform's endpoints, by superusers; a seller's are its owner's to delete."""
        return endpoints.is_superuser(request.user) and obj is not None and obj.is_platform

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        endpoints.delete_endpoint(endpoint=obj, by=request.user)

    @admin.display(description=gettext_lazy("whose"), ordering="seller__display_name")
    def whose(self, endpoint: WebhookEndpoint) -> str:
        return _owner_label(endpoint.seller)

    @admin.display(description=gettext_lazy("events"))
    def event_count(self, endpoint: WebhookEndpoint) -> str:
        return f"{len(endpoint.events)} / {len(WebhookEventType.values)}"

    @admin.display(description=gettext_lazy("events"))
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        labels = dict(WebhookEventType.choices)
        return format_html_join(mark_safe("<br>"), "{} <code>{}</code>",  # noqa: S308 - a constant
                                ((labels.get(e, e), e) for e in endpoint.events)) or "—"

    @admin.display(description=gettext_lazy("status"), ordering="disabled_at")
    def status(self, endpoint: WebhookEndpoint) -> str:
        if endpoint.is_enabled:
            return str(gettext_lazy("On"))
        return format_html("{} ({}){}", gettext_lazy("Off"), _moment(endpoint.disabled_at),
                           format_html("<br>{}", endpoint.disabled_reason) if endpoint.disabled_reason else "")

    @admin.display(description=gettext_lazy("secret"))
    def secret_state(self, endpoint: WebhookEndpoint) -> str:
        """Never the secret itself: whether a rotation is under way."""
        if endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > timezone.now():
            return format_html("{} {}", _("Rotated; the previous secret signs too until"),
                               _moment(endpoint.previous_secret_expires_at))
        return _("Set (never shown again after it was made)")

    @admin.display(description=gettext_lazy("created by"))
    def created_by_name(self, endpoint: WebhookEndpoint) -> str:
        return person_label(endpoint.created_by)

    @admin.display(description=gettext_lazy("deliveries"))
    def deliveries_link(self, endpoint: WebhookEndpoint) -> str:
        url = reverse("admin:integrations_webhookdelivery_changelist") + "?" + urlencode(
            {"endpoint__id__exact": endpoint.pk})
        return format_html('<a href="{}">{}</a>', url, _("The endpoint's delivery log"))

    def get_urls(self) -> list[Any]:
        rotate = path("<path:object_id>/rotate/", self.admin_site.admin_view(self.rotate_view),
                      name=self.console_url_name("rotate"))
        return [rotate, *self.console_action_urls(), *super().get_urls()]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
                 ) -> HttpResponse:
        """A platform endpoint (the shop's) through integrations.endpoints; its secret is shown once, on its page."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PlatformEndpointForm(request.POST if request.method == "POST" else None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                endpoint, secret = endpoints.create_endpoint(seller=None, url=data["url"], events=data["events"],
                                                             description=data["description"], by=request.user)
            except endpoints.EndpointError as error:
                form.add_error(error.field or None, error)
            else:
                self.log_addition(request, endpoint, f"Added the platform webhook endpoint {endpoint.url}.")
                _keep_once(request, endpoint, secret, "secret")
                self.message_user(request, _("The endpoint was added. Copy its signing secret now: it is shown only "
                                             "this once."), messages.SUCCESS)
                return HttpResponseRedirect(self.change_url(endpoint))
        return self.render_action_form(
            request, form, title=_("Add a platform webhook endpoint"), status=400 if form.is_bound else 200,
            intro=_("The shop's endpoint: it receives the chosen events of every seller. Sellers add their own "
                    "endpoints on their dashboard."))

    def rotate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A new signing secret for a platform endpoint, shown once; the old one signs too for a while."""
        endpoint = self.get_object(request, unquote(object_id))
        if endpoint is None:
            raise Http404
        if not (self.has_console_permission(request, endpoint) and endpoint.is_platform):
            raise PermissionDenied
        form = ConfirmForm(request.POST if request.method == "POST" else None, obj=endpoint, user=request.user)
        if request.method == "POST" and form.is_valid():
            made: dict[str, str] = {}

            def rotate() -> str:
                made["secret"] = endpoints.rotate_secret(endpoint=endpoint, by=request.user)
                return "Rotated the webhook endpoint's signing secret."

            if self.run_service(request, endpoint, rotate).done:
                _keep_once(request, endpoint, made["secret"], "secret")
                self.message_user(request, _("The endpoint has a new secret. Copy it now: it is shown only this "
                                             "once."), messages.SUCCESS)
            return HttpResponseRedirect(self.change_url(endpoint))
        from django.conf import settings

        return self.render_action_form(
            request, form, title=_("Make a new signing secret"), obj=endpoint,
            intro=ngettext("The new secret is shown once. The current one keeps signing for %(hours)d hour, so the "
                           "receiver can switch without missing a delivery.",
                           "The new secret is shown once. The current one keeps signing for %(hours)d hours, so the "
                           "receiver can switch without missing a delivery.",
                           settings.WEBHOOK_SECRET_ROTATION_HOURS) % {"hours": settings.WEBHOOK_SECRET_ROTATION_HOURS})

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = dict(extra_context or {})
        endpoint = self.get_object(request, unquote(object_id))
        if endpoint is not None and self.has_view_permission(request, endpoint):
            buttons = self.offered_actions(request, endpoint)
            if endpoint.is_platform and self.has_console_permission(request, endpoint):
                buttons.append({"action": {"label": _("Make a new signing secret")}, "confirm": False, "url": reverse(
                    f"admin:{self.console_url_name('rotate')}", kwargs={"object_id": endpoint.pk})})
            shown = _take_once(request, endpoint)
            extra.update({"integrations_page": True, "buttons": buttons,
                          "new_value": shown["value"] if shown else "", "new_label": _("Signing secret"),
                          "new_help": _("Shown only this once. The receiver checks each delivery's webhook-signature "
                                        "header with it (Standard Webhooks).")})
        return super().change_view(request, object_id, form_url, extra)


# --- events and deliveries ----------------------------------------------------------------------------------------


def _claim_link(number: str) -> str:
    """The claim an event is about, found in the console's claim list (integrations knows claims by number only)."""
    if not number:
        return "—"
    url = reverse("admin:claims_claim_changelist") + "?" + urlencode({"q": number})
    return format_html('<a href="{}">{}</a>', url, number)


def _payload(event: WebhookEvent) -> str:
    return format_html('<pre class="console-payload">{}</pre>',
                       json.dumps(event.payload, indent=2, ensure_ascii=False))


class WebhookAttemptInline(AgentsReadMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookAttempt
    fields = ("attempted_at", "status_code", "error", "response_excerpt", "duration_ms", "redelivered_by")
    readonly_fields = fields
    extra = 0
    verbose_name = gettext_lazy("attempt")
    verbose_name_plural = gettext_lazy("attempts, newest first")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("redelivery_by")

    @admin.display(description=gettext_lazy("redelivered by"))
    def redelivered_by(self, attempt: WebhookAttempt) -> str:
        return person_label(attempt.redelivery_by) if attempt.redelivery_by_id else "—"


def _redeliver(delivery: WebhookDelivery, user: Any, data: dict[str, Any]) -> str:
    from . import webhooks

    after = webhooks.redeliver(delivery=delivery, by=user)
    return f"Redelivered: {after.get_status_display()} (last answer {after.last_status_code or after.last_error})."


DELIVERY_ACTIONS = (
    ConsoleAction(name="redeliver", label=gettext_lazy("Redeliver"), run=_redeliver,
                  success=gettext_lazy("The event was sent again; its attempt is in the list below."),
                  available=lambda delivery, user: delivery.endpoint.is_enabled),
)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(AgentsReadMixin, ReadOnlyAdminMixin, ConsoleActionsMixin, admin.ModelAdmin):
    console_actions = DELIVERY_ACTIONS
    change_form_template = "admin/integrations/change_form.html"
    inlines = [WebhookAttemptInline]
    list_display = ["event_type", "claim", "endpoint_host", "status", "attempts", "last_answer_short",
                    "next_attempt_at", "delivered_at", "created_at"]
    list_display_links = ["event_type"]
    list_filter = ["status", DeliveryOwnerFilter, "event__type"]
    list_select_related = ["event", "endpoint", "endpoint__seller"]
    search_fields = ["=event__claim_number", "=event__msg_id", "endpoint__url"]
    search_help_text = gettext_lazy("Exact claim number or message id, or part of the endpoint's URL.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = ("event_link", "claim", "endpoint_link", "status", "attempts", "next_attempt_at", "last_answer",
              "delivered_at", "created_at", "payload")
    readonly_fields = fields
    actions = ["redeliver_selected"]

    class Media:
        css = {"all": ["css/admin-console.css"]}

    def has_console_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.is_agent(request.user)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        return lookup == "endpoint__id__exact" or super().lookup_allowed(lookup, value, request)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("event", "endpoint", "endpoint__seller")

    @admin.display(description=gettext_lazy("event"), ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.display(description=gettext_lazy("claim"), ordering="event__claim_number")
    def claim(self, delivery: WebhookDelivery) -> str:
        return _claim_link(delivery.event.claim_number)

    @admin.display(description=gettext_lazy("endpoint"))
    def endpoint_host(self, delivery: WebhookDelivery) -> str:
        """Whose endpoint, and its host: the whole URL is on the delivery's page."""
        return format_html("{}<br><span class=\"console-host\">{}</span>", _owner_label(delivery.endpoint.seller),
                           urlsplit(delivery.endpoint.url).hostname or delivery.endpoint.url)

    @admin.display(description=gettext_lazy("last answer"))
    def last_answer_short(self, delivery: WebhookDelivery) -> str:
        return Truncator(self.last_answer(delivery)).chars(60)

    @admin.display(description=gettext_lazy("last answer"))
    def last_answer(self, delivery: WebhookDelivery) -> str:
        # integrations.webhooks writes "HTTP <status>" as the error of an answer that was not a 2xx: the status says it
        if delivery.last_status_code:
            return f"HTTP {delivery.last_status_code}"
        return delivery.last_error or "—"

    @admin.display(description=gettext_lazy("event"))
    def event_link(self, delivery: WebhookDelivery) -> str:
        url = reverse("admin:integrations_webhookevent_change", args=[delivery.event_id])
        return format_html('<a href="{}">{}</a> <code>{}</code>', url, delivery.event.get_type_display(),
                           delivery.event.msg_id)

    @admin.display(description=gettext_lazy("endpoint"))
    def endpoint_link(self, delivery: WebhookDelivery) -> str:
        url = reverse("admin:integrations_webhookendpoint_change", args=[delivery.endpoint_id])
        state = "" if delivery.endpoint.is_enabled else format_html(" ({})", _("off"))
        return format_html('<a href="{}">{}</a> · {}{}', url, delivery.endpoint.url,
                           _owner_label(delivery.endpoint.seller), state)

    @admin.display(description=gettext_lazy("what was sent"))
    def payload(self, delivery: WebhookDelivery) -> str:
        return _payload(delivery.event)

    @admin.action(description=gettext_lazy("Redeliver the selected deliveries now"))
    def redeliver_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Each through integrations.webhooks.redeliver (an HTTP request each, so a few at a time), each logged."""
        if not self.has_console_permission(request):
            self.message_user(request, _("Only support agents redeliver webhooks."), messages.ERROR)
            return
        ids = list(queryset.values_list("pk", flat=True)[:MAX_REDELIVERIES + 1])
        if len(ids) > MAX_REDELIVERIES:
            self.message_user(request, _("Select at most %(count)d deliveries at a time: each is sent while you "
                                         "wait.") % {"count": MAX_REDELIVERIES}, messages.ERROR)
            return
        done = 0
        for delivery in WebhookDelivery.objects.filter(pk__in=ids).select_related("event", "endpoint"):
            outcome = self.run_service(request, delivery, functools.partial(_redeliver, delivery, request.user, {}))
            done += outcome.done
        if done:
            self.message_user(request, ngettext("%(count)d delivery was sent again; its attempt is on its page.",
                                                "%(count)d deliveries were sent again; their attempts are on their "
                                                "pages.", done) % {"count": done}, messages.SUCCESS)

    def get_urls(self) -> list[Any]:
        return [*self.console_action_urls(), *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = dict(extra_context or {})
        delivery = self.get_object(request, unquote(object_id))
        if delivery is not None and self.has_view_permission(request, delivery):
            extra.update({"integrations_page": True, "buttons": self.offered_actions(request, delivery)})
        return super().change_view(request, object_id, form_url, extra)


class DeliveryInline(AgentsReadMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookDelivery
    fields = ("endpoint", "status", "attempts", "last_status_code", "delivered_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    verbose_name_plural = gettext_lazy("deliveries")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("endpoint")


@admin.register(WebhookEvent)
class WebhookEventAdmin(AgentsReadMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    inlines = [DeliveryInline]
    list_display = ["created_at", "type", "claim", "whose", "msg_id"]
    list_filter = ["type", OwnerFilter]
    list_select_related = ["seller"]
    search_fields = ["=claim_number", "=msg_id"]
    search_help_text = gettext_lazy("Exact claim number or message id.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    date_hierarchy = "created_at"
    fields = ("msg_id", "type", "whose", "claim", "created_at", "dedupe_key", "payload")
    readonly_fields = fields

    class Media:
        css = {"all": ["css/admin-console.css"]}

    @admin.display(description=gettext_lazy("claim"), ordering="claim_number")
    def claim(self, event: WebhookEvent) -> str:
        return _claim_link(event.claim_number)

    @admin.display(description=gettext_lazy("whose"))
    def whose(self, event: WebhookEvent) -> str:
        return event.seller.display_name if event.seller is not None else "—"

    @admin.display(description=gettext_lazy("what was sent"))
    def payload(self, event: WebhookEvent) -> str:
        return _payload(event)

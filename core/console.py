"""What the support console's admin pages share: service-backed action pages and masking of personal data.

An action page follows django.contrib.auth's password page: a URL from `get_urls()` wrapped in
`admin_site.admin_view` (staff only, CSRF-protected, never cached); GET shows a form and changes nothing;
POST re-checks permission, validates, calls one service, writes a LogEntry (`log_change`) and says what
happened in a message. A service's refusal (ClaimError, or the ValidationError of the seller services) is an
error message and nothing changes.

django-fsm-2's FSMAdminMixin is deliberately not used: its button path calls the transition and saves without
re-checking `permission=`, without the row lock, the transition log and the notifications the services add,
so no transition of Claim or Seller is side-effect free in the sense our style guide requires.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import formatting

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    # The mixins below are mixed into ModelAdmins only: checked as one, plain classes at run time.
    _ModelAdmin = ModelAdmin[Any]
else:
    _ModelAdmin = object


def escaped(value: Any) -> str:
    """django.utils.html.conditional_escape without its lazy-string wrapper: the console's list writes thousands of
    values per page (claims/admin/rows.py, the list filters)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def moment_html(moment: Any) -> str:
    """A moment in a console cell as every page writes it ("Tue 1 Dec, 10:48 CET", core.formatting.moment), machine
    readable in its <time> and to the second in its title; "—" when there is none."""
    if not moment:
        return "—"
    local = timezone.localtime(moment)
    return format_html('<time datetime="{}" title="{}">{}</time>', local.isoformat(timespec="seconds"),
                       local.strftime("%Y-%m-%d %H:%M:%S %Z"), formatting.moment(local))


def person_label(user: Any) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


class ActionForm(forms.Form):
    """An action page's form. `obj` is what is acted on (None on pages such as recording a dispute)."""

    def __init__(self, *args: Any, obj: Any = None, user: Any = None, **kwargs: Any) -> None:
        self.obj = obj
        self.user = user
        super().__init__(*args, **kwargs)


class ConfirmForm(ActionForm):
    """No input: pressing the button is the decision."""


class ReadOnlyAdminMixin:
    """Shown in the console, never added, changed or deleted through the admin's forms: every write goes through a
    service (claims, refunds, the ledger) or comes from the shop (orders). Works for ModelAdmins and inlines."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SuperuserOnlyMixin:
    """Seen by superusers only, whatever permissions a group was given on the table (the audit log, the two-factor
    apps)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


def mask_email(email: str) -> str:
    """a***@e***.com: enough to tell people apart in a list, not enough to contact or identify them."""
    local, at, domain = (email or "").rpartition("@")
    if not at or not local:
        return "—"
    name, dot, tld = domain.rpartition(".")
    masked_domain = f"{name[:1]}***{dot}{tld}" if name else "***"
    return f"{local[:1]}***@{masked_domain}"


def buyer_label(user: Any) -> str:
    """A buyer in a console list: "Anna B. · a***@e***.com". The first name and the initial of the last name tell
    agents buyers apart without spelling out who they are; just the masked email when no name is known."""
    email = mask_email(getattr(user, "email", "") or "")
    first = (getattr(user, "first_name", "") or "").strip()
    last = (getattr(user, "last_name", "") or "").strip()
    name = f"{first} {last[:1]}." if first and last else first
    return f"{name} · {email}" if name else email


def yes_no(value: bool | None) -> str:
    """A yes/no fact in words: the admin's ticks and crosses read as "no" or "wrong" depending on the reader."""
    if value is None:
        return "—"
    return str(_("Yes") if value else _("No"))


def boolean_words(model: Any, name: str) -> Callable[[Any, Any], str]:
    """A read-only admin column or field for a model's boolean in words (`yes_no`), labelled with the field's
    verbose name: `rejected_words = boolean_words(Claim, "rejected")`, then "rejected_words" in the fields."""
    from django.contrib import admin

    @admin.display(description=model._meta.get_field(name).verbose_name, ordering=name)
    def show(model_admin: Any, obj: Any) -> str:
        return yes_no(getattr(obj, name))

    show.__name__ = f"{name}_words"
    return show


@dataclasses.dataclass(frozen=True)
class ConsoleAction:
    """One action of an admin page that calls a service.

    `run(obj, user, cleaned_data)` calls the service and returns the sentence for the LogEntry.
    `available(obj, user)` decides whether the page offers the action to the user; with `guard=True` a POST is
    refused when it is not available (for services that would not refuse it themselves)."""

    name: str
    label: Any
    run: Callable[[Any, Any, dict[str, Any]], str]
    success: Any
    form: type[ActionForm] = ConfirmForm
    available: Callable[[Any, Any], bool] = lambda obj, user: True
    intro: Any = ""
    permission: str = ""  # a model permission needed on top of the page's own
    guard: bool = False
    danger: bool = False
    # A page of its own (a template extending admin/console/action_form.html) and what it shows besides the form:
    # `context(obj, request)` returns the template's extra context.
    template: str = ""
    context: Callable[[Any, HttpRequest], dict[str, Any]] | None = None


@dataclasses.dataclass(frozen=True)
class ServiceOutcome:
    done: bool
    error_code: str | None = None


class ConsoleActionsMixin(_ModelAdmin):
    """Service-backed action pages for a ModelAdmin: add `console_action_urls()` to `get_urls()`."""

    console_actions: tuple[ConsoleAction, ...] = ()
    console_action_template = "admin/console/action_form.html"

    # --- permission -------------------------------------------------------------------------------------

    def has_console_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Who may use the action pages at all; each ModelAdmin says. Nobody, unless it does."""
        return False

    def may_run(self, request: HttpRequest, action: ConsoleAction, obj: Any = None) -> bool:
        if not self.has_console_permission(request, obj):
            return False
        return not action.permission or request.user.has_perm(action.permission)

    def offered_actions(self, request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
        """The actions the page shows for `obj` now, with their URLs."""
        return [
            # confirm: no input, so the page can POST it with one button; otherwise the button opens the form.
            {"action": action, "url": self.console_action_url(obj, action.name), "confirm": action.form is ConfirmForm}
            for action in self.console_actions
            if action.available(obj, request.user) and self.may_run(request, action, obj)
        ]

    # --- URLs -------------------------------------------------------------------------------------------

    def console_url_name(self, suffix: str) -> str:
        opts = self.opts
        return f"{opts.app_label}_{opts.model_name}_{suffix}"

    def console_action_urls(self) -> list[Any]:
        from django.urls import path

        return [path("<path:object_id>/act/<slug:action>/",
                     self.admin_site.admin_view(self.console_action_view),
                     name=self.console_url_name("act"))]

    def console_action_url(self, obj: Any, action: str) -> str:
        return reverse(f"admin:{self.console_url_name('act')}", kwargs={"object_id": obj.pk, "action": action})

    def change_url(self, obj: Any) -> str:
        return reverse(f"admin:{self.console_url_name('change')}", args=[obj.pk])

    # --- the page ---------------------------------------------------------------------------------------

    def console_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        spec = next((a for a in self.console_actions if a.name == action), None)
        if spec is None:
            raise Http404
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.may_run(request, spec, obj):
            raise PermissionDenied
        if spec.guard or request.method != "POST":
            if not spec.available(obj, request.user):
                self.message_user(request, _("“%(action)s” is not possible on %(obj)s now.")
                                  % {"action": spec.label, "obj": obj}, messages.WARNING)
                return HttpResponseRedirect(self.change_url(obj))
        # Forms with a file (an expert's report) get the uploads; the others ignore them.
        data = (request.POST, request.FILES) if request.method == "POST" else (None,)
        form = spec.form(*data, obj=obj, user=request.user)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                outcome = self.run_service(request, obj, lambda: spec.run(obj, request.user, form.cleaned_data),
                                           success=spec.success)
                # Bad input stays on the form so nothing typed is lost; anything else (state, permission,
                # conflict) goes back to the page, which shows how things are now.
                if outcome.done or outcome.error_code != "invalid":
                    return HttpResponseRedirect(self.change_url(obj))
        return self.render_action_form(request, form, title=spec.label, intro=spec.intro, obj=obj, status=status,
                                       danger=spec.danger, template=spec.template or None,
                                       extra=spec.context(obj, request) if spec.context else None)

    def run_service(self, request: HttpRequest, obj: Any, call: Callable[[], str], *, success: Any = "",
                    log: Callable[[HttpRequest, Any, str], Any] | None = None) -> ServiceOutcome:
        """Call the service; on success log it (LogEntry) and say so, on refusal show why. A refusal comes from
        inside the service's transaction, which rolled back: nothing changed."""
        try:
            sentence = call()
        except ValidationError as error:
            for text in error.messages:
                self.message_user(request, text, messages.ERROR)
            return ServiceOutcome(done=False, error_code=getattr(error, "code", None))
        (log or self.log_change)(request, obj, sentence)
        if success:
            self.message_user(request, success, messages.SUCCESS)
        return ServiceOutcome(done=True)

    def render_action_form(self, request: HttpRequest, form: forms.Form, *, title: Any, obj: Any = None,
                           intro: Any = "", status: int = 200, danger: bool = False,
                           template: str | None = None, extra: dict[str, Any] | None = None) -> HttpResponse:
        opts = self.opts
        # AdminForm and AdminErrorList use only what every Form has; the stubs ask for a ModelForm.
        as_model_form = cast("forms.ModelForm[Any]", form)
        admin_form = helpers.AdminForm(as_model_form, [(None, {"fields": list(form.fields)})], {})
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": str(obj) if obj is not None else None,
            "intro": intro,
            "adminform": admin_form,
            "form": form,
            "errors": helpers.AdminErrorList(as_model_form, []) if form.is_bound else None,
            "opts": opts,
            "original": obj,
            "danger": danger,
            "media": self.media + admin_form.media,
            "cancel_url": self.change_url(obj) if obj is not None else
            reverse(f"admin:{self.console_url_name('changelist')}"),
            **(extra or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, template or self.console_action_template, context, status=status)


if TYPE_CHECKING:
    # The base of the mixins that make up one console ModelAdmin (ClaimAdmin's page, queue and disputes): checked as
    # a ModelAdmin with console actions, plain classes at run time.
    ConsoleMixinBase = ConsoleActionsMixin
else:
    ConsoleMixinBase = object

"""Accounts in the console: Django's user admin, with usernames compared in their one spelling (core.usernames) and
password changes audited; the console's own "Change password" page checks the current password as a login is.

Every save stores the normalized username (accounts.receivers), so a form that compared the name as typed let
"Bob" or "ｂｏｂ" (full-width) past the uniqueness check when "bob" existed, and the save failed with an
IntegrityError. The username field here normalizes first; the model's unique check then compares what is stored
and answers with the usual form error. A password set here, for another account, goes to the audit log, as one
changed on the site (config.views) and on the console's own "Change password" page (below)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    ReadOnlyPasswordHashWidget,
    UserChangeForm,
    UsernameField,
)
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse

from core import audit
from core.usernames import normalize_username

from .forms import PasswordChangeForm
from .views import PasswordChangeView

User = get_user_model()


class NormalizedUsernameField(UsernameField):
    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if self.max_length is not None and len(value) > self.max_length:
            return value  # too long anyway (as Django's field: no normalizing of invalid data)
        return normalize_username(value)


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        field_classes = {"username": NormalizedUsernameField}


class PasswordHashWidget(ReadOnlyPasswordHashWidget):
    """Django's summary of the stored password, with its id for the admin's label and help text: the stock widget has
    none, so the help text got no id and the widget's aria-describedby named nothing."""

    def id_for_label(self, id_: str) -> str:
        return id_


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        field_classes = {"username": NormalizedUsernameField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "password" in self.fields:
            self.fields["password"].widget = PasswordHashWidget()


def _stored_password(pk: Any) -> str | None:
    # What is stored, before and after the page ran: Django's password pages redirect on other paths too.
    return User._default_manager.filter(pk=pk).values_list("password", flat=True).first()


class AccountAdmin(UserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    # When the person last logged in and joined are facts, not inputs (the stock page's split date and time inputs
    # have no label of their own either).
    readonly_fields = ("last_login", "date_joined")

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        before = _stored_password(id) if request.method == "POST" else None
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and _stored_password(id) != before:
            subject = User._default_manager.get(pk=id)
            audit.record("password_changed", actor=request.user, subject=subject, request=request, path="admin")
        return response


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, AccountAdmin)


class ConsolePasswordChangeForm(PasswordChangeForm):
    required_css_class = "required"  # as Django's AdminPasswordChangeForm


def own_password_change(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponseBase:
    """The console's "Change password" page: Django's AdminSite.password_change, whose form checks the current
    password with a bare check_password(), here with the site's form (the current password checked as a login is:
    accounts.forms.PasswordChangeForm), and audited."""
    site = admin.site
    defaults: dict[str, Any] = {
        "form_class": ConsolePasswordChangeForm,
        "success_url": reverse("admin:password_change_done", current_app=site.name),
        "extra_context": {**site.each_context(request), **(extra_context or {})},
    }
    if site.password_change_template is not None:
        defaults["template_name"] = site.password_change_template
    request.current_app = site.name
    pk = request.user.pk
    before = _stored_password(pk) if request.method == "POST" else None
    response = PasswordChangeView.as_view(**defaults)(request)
    if request.method == "POST" and _stored_password(pk) != before:
        audit.record("password_changed", actor=request.user, request=request, path="admin")
    return response


# Set on the site before its URLs are built (config.urls reads admin.site.urls after every admin module loaded).
admin.site.password_change = own_password_change  # type: ignore[assignment]  # replaced on the one site object

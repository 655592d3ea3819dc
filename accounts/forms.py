"""The forms of the account security pages: they check what was typed; accounts.two_factor decides. And "Change
password", whose current password is checked as a login is (accounts.lockout)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import lockout, two_factor


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's, with the current password checked through the login's guard (lockout.check_current_password) instead
    of Django's bare check_password(): the site's page (config.views) and the console's (accounts.admin_users)."""

    def __init__(self, user: Any, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        if not lockout.check_current_password(request=self.request, user=self.user, password=old_password):
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


def _code_widget(**attrs: str) -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off",
                                  "autocorrect": "off", "class": "code-input", **attrs})


class ConfirmItIsYouForm(forms.Form):
    """Issue 18: "changing anything needs the current password or a current code"."""

    confirm = forms.CharField(max_length=128, strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password"}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        field = self.fields["confirm"]
        if two_factor.has_two_factors(user):
            field.label = _("Your password, or a code from your authenticator app")
            field.help_text = _("To make sure it is you.")
        else:
            field.label = _("Your password")
            field.help_text = _("To make sure it is you.")
        field.error_messages["required"] = _("Enter your current password to confirm.")


class SetupForm(ConfirmItIsYouForm):
    code = forms.CharField(label=_("The 6-digit code your app shows"), max_length=20,
                           widget=_code_widget(inputmode="numeric"),
                           error_messages={"required": _("Enter the code your app shows for this account.")})
    field_order = ["code", "confirm"]

    def clean_code(self) -> str:
        code = two_factor.normalize_code(self.cleaned_data["code"])
        if not (len(code) == 6 and code.isdigit()):
            raise forms.ValidationError(_("The code is 6 digits, for example 123 456."))
        return code


class VerifyForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=20, widget=_code_widget(),
                           help_text=_("The 6-digit code from your authenticator app, or one of your recovery codes."),
                           error_messages={"required": _("Enter the code from your authenticator app.")})

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if not two_factor.looks_like_code(code):
            raise forms.ValidationError(_("Enter the 6-digit code from your app, or one of your recovery codes "
                                          "(8 letters and digits, for example abcd-2345)."))
        return two_factor.normalize_code(code)

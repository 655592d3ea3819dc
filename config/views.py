import unicodedata
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from accounts import lockout
from accounts import views as account_views
from core import audit, emails, ratelimit

# Logging in needs no view of ours: the site's login and the console's both call authenticate(), where the address
# ceiling and axes refuse before any password is checked (accounts.lockout, AUTHENTICATION_BACKENDS); successful
# logins are never counted.


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, which also sends the link to a buyer whose account the shop made with their order
    (orders.services.buyer_for_email): no usable password yet and never logged in. Choosing a password through the
    link is how that buyer gets in. Django leaves out every account without a usable password; one that has logged
    in before and then lost it (made unusable on purpose) still gets nothing."""

    def get_users(self, email: str) -> Iterator[Any]:
        user_model = get_user_model()
        email_field = user_model.get_email_field_name()
        users = user_model._default_manager.filter(**{f"{email_field}__iexact": email, "is_active": True})
        for user in users:
            # As Django compares: the address exactly, up to Unicode case (an __iexact match alone is not enough).
            same = (unicodedata.normalize("NFKC", email).casefold()
                    == unicodedata.normalize("NFKC", getattr(user, email_field)).casefold())
            if same and (user.has_usable_password() or user.last_login is None):
                yield user


class PasswordResetView(auth_views.PasswordResetView):
    """Password reset limited (issue 18): per address (PASSWORD_RESET_ADDRESS_LIMIT: the 429 page) and per email
    address asked for (PASSWORD_RESET_EMAIL_LIMIT: the same "check your inbox" page as always, but no email, so
    that nobody learns whether the address has an account), each per PASSWORD_RESET_WINDOW_SECONDS."""

    form_class = PasswordResetForm

    @property
    def from_email(self) -> str:  # type: ignore[override]  # a read-only property for an attribute
        """From the marketplace by name, like every other email (core.emails.sender)."""
        return emails.sender()

    @property
    def extra_email_context(self) -> dict[str, str]:  # type: ignore[override]  # as from_email
        """The marketplace's name, and the site's address that the link starts with: SITE_URL, as in every email,
        never the host the request came in on."""
        return {"site_name": settings.MARKETPLACE_NAME, "site_url": settings.SITE_URL.rstrip("/")}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = lockout.reset_refusal_seconds(request)
        if wait is not None:
            return ratelimit.too_many(request, lockout.reset_refused_message(wait), retry_after=wait)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: auth_forms.PasswordResetForm) -> HttpResponse:
        email = form.cleaned_data["email"]
        users = list(form.get_users(email))
        sent = lockout.reset_email_allowed(email)
        lockout.record_reset_request(request=self.request, users=users, sent=sent)
        if sent:
            return super().form_valid(form)
        return HttpResponseRedirect(self.get_success_url())


class PasswordChangeView(account_views.PasswordChangeView):
    """Django's, the current password checked as a login is (accounts.views); the change goes to the audit log."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit.record("password_changed", actor=form.user, request=self.request, path="site")
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's; a password chosen through a reset link goes to the audit log (by the account's owner: the link was
    theirs)."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit.record("password_changed", actor=form.user, request=self.request, path="reset")
        return response

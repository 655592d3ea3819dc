"""Model bases every app may use."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import formatting


def max_length(model: type[models.Model], name: str) -> int:
    """The max_length of one of `model`'s text fields: the longest value that fits, for a check before writing."""
    length = getattr(model._meta.get_field(name), "max_length", None)
    if length is None:
        raise TypeError(f"{model.__name__}.{name} has no max_length.")
    return length


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError(f"{self.model.__name__} rows are append-only; add a correcting row instead.")

    def delete(self) -> NoReturn:
        raise TypeError(f"{self.model.__name__} rows are append-only; add a correcting row instead.")

    def redact(self, **values: Any) -> int:
        """The one change an append-only row allows: a person's words or names taken out of the free-text fields the
        model names in REDACTABLE_FIELDS, when that person's data is erased (GDPR art. 17: accounts.erasure). What
        happened, when, by whom and for how much stays as it was written."""
        allowed = set(getattr(self.model, "REDACTABLE_FIELDS", ()))
        if not values or not set(values) <= allowed:
            raise TypeError(f"{self.model.__name__}: only {sorted(allowed) or 'nothing'} may be redacted.")
        return super().update(**values)


class AppendOnlyModel(models.Model):
    """Rows are written once. Corrections are new rows, never edits."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are append-only; add a correcting row instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} rows are append-only; add a correcting row instead.")


class AuditKind(models.TextChoices):
    """What the audit log records (issue 18): who got in or was kept out, second factors, keys, money, personal
    data."""

    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Login failed")
    LOCKOUT = "lockout", _("Locked out after failed logins")
    LOCKOUT_CLEARED = "lockout_cleared", _("Lockout cleared")
    PASSWORD_RESET = "password_reset", _("Password reset requested")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    MFA_ENABLED = "mfa_enabled", _("Two-factor authentication turned on")
    MFA_DISABLED = "mfa_disabled", _("Two-factor authentication turned off")
    MFA_RECOVERY_CODES = "mfa_recovery_codes", _("New recovery codes made")
    MFA_RECOVERY_CODE_USED = "mfa_recovery_code_used", _("Recovery code used")
    MFA_FAILED = "mfa_failed", _("Wrong two-factor code")
    API_KEY_CREATED = "api_key_created", _("API key created")
    API_KEY_REVOKED = "api_key_revoked", _("API key revoked")
    REFUND = "refund", _("Refund")
    PAYOUT = "payout", _("Payout")
    LEDGER_ADJUSTMENT = "ledger_adjustment", _("Ledger adjustment")
    DATA_EXPORT = "data_export", _("Personal data exported")
    ERASURE_REQUESTED = "erasure_requested", _("Erasure requested")
    ERASURE_DONE = "erasure_done", _("Personal data erased")
    ERASURE_REFUSED = "erasure_refused", _("Erasure refused")
    EVIDENCE_PURGED = "evidence_purged", _("Evidence deleted after the retention period")


class AuditEvent(AppendOnlyModel):
    """One line of the append-only audit log (core.audit.record). It names people by their account, never by name or
    email, so that erasing a buyer (pseudonymisation) leaves the log intact and free of their personal data; an
    attempted username that matches no account is kept as a digest only. On PostgreSQL a trigger refuses UPDATE and
    DELETE as well (core migration 0002)."""

    at = models.DateTimeField(_("when"), default=timezone.now)
    kind = models.CharField(_("what"), max_length=40, choices=AuditKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("by"))
    subject_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("account concerned"))
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object"), max_length=64, blank=True)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_at_idx"),
            models.Index(fields=["kind", "-at"], name="audit_kind_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
            models.Index(fields=["subject_user", "-at"], name="audit_subject_idx"),
        ]

    def __str__(self) -> str:
        # The kind and the moment as the console's pages write it, in the reader's language and the site's zone.
        return f"{self.get_kind_display()} · {formatting.moment(self.at)}"

"""A person's account beyond Django's user: their requests to be forgotten (GDPR art. 17), which agents process in
the console (accounts.erasure)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ErasureState(models.TextChoices):
    PENDING = "pending", _("Waiting for support")
    DONE = "done", _("Erased")
    REFUSED = "refused", _("Refused")


class ErasureRequest(models.Model):
    """A buyer's request to erase their personal data. Processing pseudonymises the account and everything that names
    them (accounts.erasure.erase); amounts, the ledger and the transition log stay, as the law requires them kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="erasure_requests",
                             verbose_name=_("account"))
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    state = models.CharField(_("state"), max_length=10, choices=ErasureState.choices, default=ErasureState.PENDING)
    processed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("processed by"))
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    # Why a request was refused (open claims, a legal hold), in words the buyer is sent.
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("erasure request")
        verbose_name_plural = _("erasure requests")
        permissions = [("process_erasure", _("Can erase a person's data at their request"))]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(state="pending"), name="one_pending_erasure"),
        ]
        indexes = [models.Index(fields=["requested_at"], condition=Q(state="pending"), name="erasure_pending_idx")]

    def __str__(self) -> str:
        return f"erasure {self.pk} ({self.state})"

"""What connects other systems to the support site: API keys (a seller's, or the shop's platform keys), the stored
answers of idempotent API requests, and outbound webhooks (endpoints, the outbox of events, one delivery per endpoint
and event, every attempt of it).

A key acts as a user of its own (`ApiKey.user`): for a seller's key a member of that seller's staff, so every request
is authorized by the same role functions (claims.roles, sellers.selectors) as that seller's staff on the dashboard;
for a platform key a user who works for no seller. The key's user has no usable password and gets no emails."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


class ApiKey(models.Model):
    """A secret shown once: `<prefix>_<secret>`; only the prefix (to find it) and the SHA-256 of the whole key are
    stored. `seller` empty: a platform key, for the shop."""

    name = models.CharField(_("name"), max_length=100)
    seller = models.ForeignKey("sellers.Seller", verbose_name=_("seller"), null=True, blank=True,
                               on_delete=models.CASCADE, related_name="api_keys")
    scope = models.CharField(_("scope"), max_length=10, choices=ApiScope.choices, default=ApiScope.READ)
    prefix = models.CharField(_("prefix"), max_length=20, unique=True)
    hashed_key = models.CharField(_("hashed key"), max_length=64)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT,
                                related_name="api_key")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("revoked by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_platform(self) -> bool:
        return self.seller_id is None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def may_write(self) -> bool:
        return self.scope == ApiScope.WRITE


class IdempotencyRecord(models.Model):
    """The first answer to a POST with an `Idempotency-Key`, returned again for API_IDEMPOTENCY_HOURS. A row whose
    `status_code` is empty is a request still running: the unique key makes a second one at the same moment wait."""

    api_key = models.ForeignKey(ApiKey, verbose_name=_("API key"), on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("key"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    request_hash = models.CharField(_("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    response_body = models.BinaryField(_("response body"), default=b"")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="one_idempotency_record_per_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"


class WebhookEventType(models.TextChoices):
    CLAIM_OPENED = "claim.opened", _("A claim was opened")
    CLAIM_MESSAGE_POSTED = "claim.message_posted", _("A message was posted")
    OFFER_MADE = "offer.made", _("An offer was made")
    OFFER_ACCEPTED = "offer.accepted", _("An offer was accepted")
    OFFER_DECLINED = "offer.declined", _("An offer was declined")
    CLAIM_ESCALATED = "claim.escalated", _("A claim went to the platform")
    CLAIM_INFO_REQUESTED = "claim.info_requested", _("Information was asked for")
    CLAIM_DECIDED = "claim.decided", _("The platform decided a claim")
    CLAIM_RESOLVED = "claim.resolved", _("A claim was resolved")
    DEADLINE_REMINDER = "deadline.reminder", _("A deadline is near")
    REFUND_PAID = "refund.paid", _("A refund was paid")


class WebhookEndpoint(models.Model):
    """Where a seller (or, with `seller` empty, the shop) wants the events it chose. Signed with `secret`; during a
    rotation with `previous_secret` too, until `previous_secret_expires_at`."""

    seller = models.ForeignKey("sellers.Seller", verbose_name=_("seller"), null=True, blank=True,
                               on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("secret"), max_length=100)
    previous_secret = models.CharField(_("previous secret"), max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(_("previous secret expires at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # The first failure since the last success: WEBHOOK_DISABLE_AFTER_DAYS of failures disable the endpoint.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    @property
    def is_platform(self) -> bool:
        return self.seller_id is None

    @property
    def is_enabled(self) -> bool:
        return self.disabled_at is None


class WebhookEvent(models.Model):
    """The outbox: one row per event, written in the transaction of the change; `msg_id` is the Standard Webhooks
    `webhook-id`, the same on every delivery and retry of it."""

    msg_id = models.CharField(_("message ID"), max_length=40, unique=True)
    type = models.CharField(_("type"), max_length=40, choices=WebhookEventType.choices)
    seller = models.ForeignKey("sellers.Seller", verbose_name=_("seller"), null=True, blank=True,
                               on_delete=models.CASCADE, related_name="+")
    claim_number = models.CharField(_("claim number"), max_length=32, blank=True, db_index=True)
    payload = models.JSONField(_("payload"))
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.type} {self.claim_number} ({self.msg_id})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")  # every retry used, or the endpoint was disabled


class WebhookDelivery(models.Model):
    """One event to one endpoint: retried at `next_attempt_at` (WEBHOOK_RETRY_SCHEDULE) until it succeeds or fails."""

    event = models.ForeignKey(WebhookEvent, verbose_name=_("event"), on_delete=models.CASCADE,
                              related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE,
                                 related_name="deliveries")
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # Set while a worker is sending it, so a second worker (or the beat's catch-up) leaves it alone until then.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last response"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_endpoint")]
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(status="pending"),
                                name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """The delivery log: every request sent, with what came back."""

    delivery = models.ForeignKey(WebhookDelivery, verbose_name=_("delivery"), on_delete=models.CASCADE,
                                 related_name="attempt_log")
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    response_excerpt = models.CharField(_("response excerpt"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    redelivery_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("redelivery by"), null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at}: {self.status_code or self.error}"

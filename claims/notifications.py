"""Email notifications through an outbox (SPEC section 5).

`notify()` is called by the services inside their transaction: it renders one email per recipient into an
`OutboundEmail` row and, once the transaction commits, asks Celery to send it. If the broker is down the
row simply waits: `deliver_pending()` (a periodic task) sends whatever is still unsent. `deliver()` sets
`sent_at` under a row lock, so a row is never sent twice by two workers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from . import presenters
from .choices import Party
from .models import Claim, OutboundEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


@dataclasses.dataclass(frozen=True)
class Event:
    subject: Any
    intro: Any
    template: str = "claim_event"
    # Builds the email's detail paragraph from the context, in the recipient's language.
    detail: Callable[[dict[str, Any]], str] | None = None


def _refund_detail(ctx: dict[str, Any]) -> str:
    from .selectors import refund_sentence

    return refund_sentence(ctx["refund"])


# The words of every notification. %(number)s, %(order)s and the numbers of the claim's policy snapshot
# (claims.presenters.terms: %(reply_hours)d, %(resolve_days)d, ...) are filled in when rendered; a counted msgid
# picks its plural form by the number it names.
EVENTS: dict[str, Event] = {
    "receipt": Event(_("We received your claim %(number)s"),
                     ngettext_lazy("This is the written confirmation of your claim. We have passed it to the seller, "
                                   "who has %(reply_hours)d hour to reply. You don't need to chase them: we keep an "
                                   "eye on the deadlines.",
                                   "This is the written confirmation of your claim. We have passed it to the seller, "
                                   "who has %(reply_hours)d hours to reply. You don't need to chase them: we keep an "
                                   "eye on the deadlines.", "reply_hours"),
                     template="claim_receipt"),
    "opened": Event(ngettext_lazy("New claim %(number)s: please reply within %(reply_hours)d hour",
                                  "New claim %(number)s: please reply within %(reply_hours)d hours", "reply_hours"),
                    _("A buyer opened a claim on order %(order)s. Please reply %(reply_within)s and resolve it "
                      "%(resolve_within)s; after that the platform takes over.")),
    "message": Event(_("New message on claim %(number)s"), _("There is a new message on the claim.")),
    "offer": Event(_("The seller made an offer on claim %(number)s"),
                   _("You can accept or decline the offer on the claim page.")),
    "offer_accepted": Event(_("Your offer on claim %(number)s was accepted"), _("The buyer accepted your offer.")),
    "offer_declined": Event(_("Your offer on claim %(number)s was declined"), _("The buyer declined your offer.")),
    "rejected": Event(_("The seller rejected claim %(number)s"),
                      _("The seller rejected your claim. If you disagree, you can ask the platform to step in now.")),
    "escalated": Event(_("Claim %(number)s is now with the platform"),
                       _("Our support team now handles this claim and will decide it.")),
    "takeover": Event(_("Claim %(number)s: the platform has taken over"),
                      ngettext_lazy("The claim was not resolved within %(resolve_days)d business day, so our "
                                    "support team now handles it.",
                                    "The claim was not resolved within %(resolve_days)d business days, so our "
                                    "support team now handles it.", "resolve_days")),
    "info_requested": Event(ngettext_lazy("Claim %(number)s: we need information within %(info_days)d day",
                                          "Claim %(number)s: we need information within %(info_days)d days",
                                          "info_days"),
                            ngettext_lazy("Our support team asks for information. Please answer on the claim page "
                                          "within %(info_days)d calendar day; without an answer we may decide with "
                                          "what we have.",
                                          "Our support team asks for information. Please answer on the claim page "
                                          "within %(info_days)d calendar days; without an answer we may decide with "
                                          "what we have.", "info_days")),
    "info_provided": Event(_("Claim %(number)s: information received"), _("The party asked has answered.")),
    "info_missed": Event(_("Claim %(number)s: information not received in time"),
                         _("The information requested was not provided in time. This is recorded on the claim.")),
    "decided": Event(_("Claim %(number)s has been decided"), _("Our support team decided the claim.")),
    "awaiting_return": Event(_("Claim %(number)s: waiting for the item"),
                             _("The claim will be completed when the item is back with the seller.")),
    "return_received": Event(_("Claim %(number)s: the returned item arrived"),
                             _("The seller confirmed that the returned item arrived.")),
    "closed": Event(_("Claim %(number)s was closed by the buyer"), _("The buyer closed the claim as resolved.")),
    "delivered": Event(_("Claim %(number)s closed: tracking shows delivery"),
                       _("The carrier's tracking shows the order was delivered to the order's address, so the "
                         "claim for non-delivery has been closed.")),
    "forced_refund": Event(_("Claim %(number)s: full refund"),
                           ngettext_lazy("The claim stayed unresolved for %(final_days)d day, so the buyer receives "
                                         "a full refund.",
                                         "The claim stayed unresolved for %(final_days)d days, so the buyer receives "
                                         "a full refund.", "final_days")),
    "reopened": Event(_("Claim %(number)s was reopened"), _("Our support team reopened the claim to look into it.")),
    "reminder_first_reply": Event(ngettext_lazy("Reminder: claim %(number)s needs your reply within "
                                                "%(reminder_hours)d hour",
                                                "Reminder: claim %(number)s needs your reply within "
                                                "%(reminder_hours)d hours", "reminder_hours"),
                                  _("The buyer is waiting for your first reply. Please answer before the deadline.")),
    "reminder_resolution": Event(ngettext_lazy("Reminder: claim %(number)s must be resolved within "
                                               "%(reminder_hours)d hour",
                                               "Reminder: claim %(number)s must be resolved within "
                                               "%(reminder_hours)d hours", "reminder_hours"),
                                 _("If the claim is not resolved by the deadline, the platform takes over.")),
    "refund_paid": Event(_("Claim %(number)s: your refund has been sent"),
                         _("Your refund has been sent to you."), detail=_refund_detail),
    "refund_failed": Event(_("Claim %(number)s: we could not send your refund"),
                           _("Your refund could not be paid out. You don't need to do anything: our finance team "
                             "is on it."), detail=_refund_detail),
    "first_reply_breached": Event(ngettext_lazy("Claim %(number)s: no reply from the seller in %(reply_hours)d hour",
                                                "Claim %(number)s: no reply from the seller in %(reply_hours)d hours",
                                                "reply_hours"),
                                  ngettext_lazy("The seller did not reply within %(reply_hours)d hour. This is "
                                                "recorded, and the buyer may now ask the platform to step in.",
                                                "The seller did not reply within %(reply_hours)d hours. This is "
                                                "recorded, and the buyer may now ask the platform to step in.",
                                                "reply_hours")),
}


def _recipients(claim: Claim, parties: Iterable[str]) -> list[tuple[str, Any]]:
    user_model = get_user_model()
    found: list[tuple[str, Any]] = []
    for party in parties:
        if party == Party.BUYER:
            found.append((party, claim.buyer))
        elif party == Party.SELLER:
            staff = user_model.objects.filter(seller_memberships__seller_id=claim.seller_id, is_active=True)
            found.extend((party, user) for user in staff.order_by("pk"))
        elif party == Party.AGENT and claim.assigned_to_id:
            found.append((party, claim.assigned_to))
    return [(party, user) for party, user in found if user.email]


def _link(claim: Claim, party: str) -> str:
    """Where the recipient follows the claim: the buyer's claim page, the seller dashboard's claim page, the claim
    in the support console."""
    if party == Party.BUYER:
        path = reverse("claims:detail", kwargs={"number": claim.number})
    elif party == Party.AGENT:
        path = reverse("admin:claims_claim_change", args=[claim.pk])
    else:
        path = reverse("sellers:claim", kwargs={"number": claim.number})
    return settings.SITE_URL.rstrip("/") + path


def notify(claim: Claim, event: str, *, to: Sequence[str], key: str, context: dict[str, Any] | None = None) -> None:
    """Write the emails of one event to the outbox and send them after commit. `key` makes the event unique
    (e.g. the id of the transition log row), so the same event is never queued twice."""
    spec = EVENTS[event]
    ids = []
    languages = {Party.BUYER: claim.order.language, Party.SELLER: claim.seller.language}
    policy = presenters.policy_of(claim)
    for party, user in _recipients(claim, to):
        language = languages.get(party) or settings.LANGUAGE_CODE
        with translation.override(language):
            values = {"number": claim.number, "order": claim.order.number, **presenters.terms(policy)}
            ctx = {"claim": claim, "recipient": user, "party": party, "site_url": _link(claim, party),
                   "intro": spec.intro % values, **(context or {})}
            if spec.detail is not None:
                ctx["detail"] = spec.detail(ctx)
            subject = spec.subject % values
            text = render_to_string(f"emails/{spec.template}.txt", ctx)
            html = render_to_string(f"emails/{spec.template}.html", ctx)
        try:
            with transaction.atomic():
                row = OutboundEmail.objects.create(
                    claim=claim, recipient=user, to_email=user.email, event=event,
                    dedupe_key=f"{event}:{claim.pk}:{key}:{user.pk}"[:200], language=language,
                    subject=subject[:300], body_text=text, body_html=html,
                )
        except IntegrityError:
            continue  # already queued: same event, same recipient
        ids.append(row.pk)
    if ids:
        transaction.on_commit(lambda: enqueue(ids))


def enqueue(ids: Iterable[int]) -> None:
    """Hand the emails to Celery. A broker that is down loses nothing: deliver_pending sends them later."""
    from .tasks import deliver_email

    for pk in ids:
        try:
            deliver_email.apply_async((pk,), retry=False)
        except Exception:  # noqa: BLE001 - any broker failure; the outbox keeps the email
            logger.warning("broker unavailable: emails %s stay in the outbox for the re-send task", list(ids))
            return


def deliver(pk: int) -> bool:
    """Send one outbox row if it is still unsent; True when this call sent it."""
    with transaction.atomic():
        row = (OutboundEmail.objects.select_for_update(skip_locked=True)
               .filter(pk=pk, sent_at__isnull=True).first())
        if row is None:
            return False  # sent already, or being sent by another worker right now
        message = EmailMultiAlternatives(row.subject, row.body_text, to=[row.to_email])
        message.attach_alternative(row.body_html, "text/html")
        try:
            message.send()
        except Exception as exc:  # noqa: BLE001 - SMTP and network errors of every kind
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            row.save(update_fields=["attempts", "last_error"])
            logger.warning("email %s not sent (attempt %s): %s", pk, row.attempts, exc)
            return False
        row.sent_at = timezone.now()
        row.attempts += 1
        row.save(update_fields=["sent_at", "attempts"])
        return True


def deliver_pending(*, older_than: dt.timedelta = dt.timedelta(seconds=30), limit: int = 500) -> int:
    """Send outbox rows that the after-commit task did not (broker down, worker lost). Returns how many."""
    cutoff = timezone.now() - older_than
    ids = list(OutboundEmail.objects.filter(sent_at__isnull=True, created_at__lte=cutoff, attempts__lt=MAX_ATTEMPTS)
               .order_by("created_at").values_list("pk", flat=True)[:limit])
    return sum(1 for pk in ids if deliver(pk))

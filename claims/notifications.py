"""Email notifications through an outbox (SPEC section 5).

`notify()` is called by the services inside their transaction: it renders one email per recipient into an
`OutboundEmail` row and, once the transaction commits, asks Celery to send it. If the broker is down the
row simply waits: `deliver_pending()` (a periodic task) sends whatever is still unsent. `send_row()` claims a row
before it talks to the SMTP server and marks it sent after, so a row is never sent twice by two workers, and no lock
is held while the server answers (EMAIL_TIMEOUT bounds each wait).

A burst of messages becomes one digest per recipient (issue 18: "a burst of messages becomes one digest email per
recipient"): a message to someone who got an email about new messages on the claim less than MESSAGE_DIGEST_MINUTES
ago joins their digest of the claim (`_into_digest`), one outbox row listing every message of the window, sent when
the window ends (`send_after`). Their list of notifications and the webhooks still get one entry per message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import logging
import smtplib
import uuid
from collections.abc import Callable, Iterable, Sequence
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, models, transaction
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from core import emails

from . import batching, presenters, unsubscribe
from .batching import Notice
from .choices import EmailKind, Party
from .models import Claim, EmailPreference, Message, Notification, OutboundEmail
from .webhook_events import emit_for as emit_webhook

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
MESSAGE = "message"  # the event of a new message on the thread (claims.services.parties)
DIGEST = "message_digest"  # the outbox event of a digest of messages (no notify() event: its rows come from MESSAGE)


@dataclasses.dataclass(frozen=True)
class Event:
    subject: Any
    intro: Any
    template: str = "claim_event"
    # Builds the email's detail paragraph from the context, in the recipient's language.
    detail: Callable[[dict[str, Any]], str] | None = None
    # Adds what the event's own template reads, in the recipient's language.
    context: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # The kind of email a person may turn off (claims.keeping_up). The default is the safe one: a new event is always
    # sent until someone decides that it carries no deadline, no decision and nothing the law requires in writing.
    kind: str = EmailKind.ALWAYS


def _refund_detail(ctx: dict[str, Any]) -> str:
    from .selectors import refund_sentence

    return refund_sentence(ctx["refund"])


def _expert_detail(ctx: dict[str, Any]) -> str:
    """An expert assessment's news in the recipient's language: who the expert is, the result and its note."""
    from .experts import assessment_detail

    return assessment_detail(ctx["assessment"]) if ctx.get("assessment") else ""


def _expert_costs_detail(ctx: dict[str, Any]) -> str:
    from .experts import costs_due_sentence

    return costs_due_sentence(ctx["assessment"]) if ctx.get("assessment") else ""


def _decision_context(ctx: dict[str, Any]) -> dict[str, Any]:
    """The decision in the recipient's words: outcome, amount, who pays, reasons, what happens next
    (claims.decision). `recover` (decide's recover_from_seller) says whether the platform recovers what it pays."""
    from .decision import decision_news

    return {"decision": decision_news(ctx["claim"], ctx["party"], recover=ctx.get("recover", True),
                                      user=ctx["recipient"])}


def _offer_words(detail: str, ctx: dict[str, Any]) -> str:
    """An offer's news in the recipient's language (claims.offers: the offer, the answer and the reason given)."""
    from . import offers

    return getattr(offers, detail)(ctx["offer"]) if ctx.get("offer") else ""


def _appeal_detail(ctx: dict[str, Any]) -> str:
    """Who appealed, and why, in the recipient's language (claims.appeals)."""
    appeal = ctx.get("appeal")
    if appeal is None:
        return ""
    from .appeals import appellant_words

    return f"{appellant_words(appeal)}: {appeal.reason}"


def _appeal_context(ctx: dict[str, Any]) -> dict[str, Any]:
    """The appeal's decision in the recipient's words: the decision as a decided email gives it, its money said as
    what is paid now and what the buyer keeps of what the appealed decision paid (claims.appeals)."""
    from .appeals import appeal_news

    news = _decision_context(ctx)["decision"]
    return {"decision": appeal_news(news, ctx["claim"], ctx["party"], paid=ctx.get("paid"), added=ctx.get("added"))}


def _return_detail(ctx: dict[str, Any]) -> str:
    """The return in the recipient's words: its number, address, postage, tracking and deadline (claims.presenters)."""
    return presenters.return_detail(ctx["claim"], to_buyer=ctx["party"] == Party.BUYER)


def _defect_detail(ctx: dict[str, Any]) -> str:
    """The type of defect and what the buyer is entitled to, in the buyer's language (claims.remedies)."""
    from .remedies import remedies_for

    claim = ctx["claim"]
    return f"{claim.get_defect_type_display()}. {remedies_for(claim).for_buyer}"


def _escalation_detail(ctx: dict[str, Any]) -> str:
    """The reason the buyer gave for asking the platform to step in: the seller reads it as the buyer wrote it."""
    reason = ctx.get("buyer_reason")
    if not reason:
        return ""
    if ctx["party"] == Party.BUYER:
        return _("Your reason: %(reason)s") % {"reason": reason}
    return _("The buyer's reason: %(reason)s") % {"reason": reason}


# The words of every notification. %(number)s, %(order)s and the numbers of the claim's policy snapshot
# (claims.presenters.terms: %(reply_hours)d, %(resolve_days)d, ...) are filled in when rendered; a counted msgid
# picks its plural form by the number it names.
# An event without a `kind` cannot be turned off (claims.choices.EmailKind.ALWAYS): the written receipt ("will be sent
# via email immediately upon receiving the claim"), the outcome ("The seller will notify the buyer of the outcome of
# the warranty claim within the statutory period, in writing (via email or postal mail)"), the written resolution,
# every question with its deadline ("you must respond within 2 calendar days"), reminders, rejections, decisions, the
# platform taking over, refunds, returns and the collection notices. Only news without any of that has a kind.
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
    "message": Event(_("New message on claim %(number)s"), _("There is a new message on the claim."),
                     kind=EmailKind.MESSAGES),
    # Offers both ways (claims.offers words the details): the seller's or the platform's offer to the buyer, and the
    # buyer's counter-offer to the seller.
    "offer": Event(_("The seller made an offer on claim %(number)s"),
                   _("You can accept or decline the offer on the claim page."), kind=EmailKind.OFFERS,
                   detail=lambda ctx: _offer_words("offer_detail", ctx)),
    # An agent's offer on the platform's behalf (claims.services.make_offer): the platform pays if it is accepted.
    "platform_offer": Event(_("We made you an offer on claim %(number)s"),
                            _("Our support team proposes this solution on the platform's behalf. You can accept or "
                              "decline it on the claim page."), kind=EmailKind.OFFERS,
                            detail=lambda ctx: _offer_words("offer_detail", ctx)),
    "offer_accepted": Event(_("Your offer on claim %(number)s was accepted"), _("The buyer accepted your offer."),
                            kind=EmailKind.OFFERS, detail=lambda ctx: _offer_words("answered_detail", ctx)),
    "offer_declined": Event(_("Your offer on claim %(number)s was declined"), _("The buyer declined your offer."),
                            kind=EmailKind.OFFERS, detail=lambda ctx: _offer_words("answered_detail", ctx)),
    "counter_offer": Event(_("Claim %(number)s: the buyer proposes another solution"),
                           _("The buyer made a counter-offer. Please accept or decline it on the claim page; you can "
                             "make another offer once you have declined it."), kind=EmailKind.OFFERS,
                           detail=lambda ctx: _offer_words("counter_detail", ctx)),
    "counter_offer_accepted": Event(_("Claim %(number)s: the seller accepted your counter-offer"),
                                    _("The seller accepted what you proposed."), kind=EmailKind.OFFERS,
                                    detail=lambda ctx: _offer_words("answered_detail", ctx)),
    "counter_offer_declined": Event(_("Claim %(number)s: the seller declined your counter-offer"),
                                    _("The seller declined what you proposed."), kind=EmailKind.OFFERS,
                                    detail=lambda ctx: _offer_words("counter_declined_detail", ctx)),
    "rejected": Event(_("The seller rejected claim %(number)s"),
                      _("The seller rejected your claim. If you disagree, you can ask the platform to step in now.")),
    "escalated": Event(_("Claim %(number)s is now with the platform"),
                       _("Our support team now handles this claim and will decide it."), kind=EmailKind.PROGRESS,
                       detail=_escalation_detail),
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
    "info_provided": Event(_("Claim %(number)s: information received"), _("The party asked has answered."),
                           kind=EmailKind.PROGRESS),
    "info_missed": Event(_("Claim %(number)s: information not received in time"),
                         _("The information requested was not provided in time. This is recorded on the claim.")),
    "decided": Event(_("Claim %(number)s has been decided"), _("Our support team decided the claim."),
                     template="claim_decided", context=_decision_context),
    "defect_classified": Event(_("Claim %(number)s: what kind of defect it is"),
                               _("The defect of your item was classified. This is what it means for you:"),
                               detail=_defect_detail),
    "awaiting_return": Event(_("Claim %(number)s: waiting for the item"),
                             _("The claim will be completed when the item is back with the seller.")),
    # The return of the goods (claims.returns, claims.services.returns): the authorization with its number, address
    # and ship deadline; the reminder and the expiry; the parcel sent and delivered; the seller's confirmation missed.
    "return_authorized": Event(_("Claim %(number)s: please send the item back"),
                               ngettext_lazy("Here is your return authorization. Print the return slip from the claim "
                                             "page and put it in the parcel, send the item within %(return_days)d "
                                             "day, and enter the carrier and the tracking number on the claim page.",
                                             "Here is your return authorization. Print the return slip from the claim "
                                             "page and put it in the parcel, send the item within %(return_days)d "
                                             "days, and enter the carrier and the tracking number on the claim page.",
                                             "return_days"),
                               detail=_return_detail),
    "return_reminder": Event(_("Reminder: the item of claim %(number)s has not been sent back yet"),
                             _("The item of this claim has not been sent back yet, and its time to be sent runs out "
                               "soon."), detail=_return_detail),
    "return_expired": Event(_("Claim %(number)s closed: the item was not sent back"),
                            _("The item was not sent back in time, so the claim has been closed as withdrawn.")),
    "return_shipped": Event(_("Claim %(number)s: the item is on its way back to you"),
                            _("The buyer sent the item back. When it arrives, confirm it on the claim page with the "
                              "result of your inspection."), kind=EmailKind.PROGRESS,
                            detail=_return_detail),
    "return_delivered": Event(_("Claim %(number)s: the returned item was delivered to you"),
                              ngettext_lazy("The carrier delivered the returned item. Please confirm receipt on the "
                                            "claim page within %(return_confirm_days)d business day.",
                                            "The carrier delivered the returned item. Please confirm receipt on the "
                                            "claim page within %(return_confirm_days)d business days.",
                                            "return_confirm_days"),
                              detail=_return_detail),
    "return_refunded": Event(_("Claim %(number)s: refunded by the platform"),
                             _("The returned item was delivered to the seller, who did not confirm receiving it in "
                               "time, so the platform has refunded the buyer in the seller's place.")),
    "return_not_confirmed": Event(_("Claim %(number)s is now with the platform"),
                                  _("The returned item was delivered to the seller, who did not confirm receiving "
                                    "it in time. Our support team now handles the claim and will decide it.")),
    "return_received": Event(_("Claim %(number)s: the returned item arrived"),
                             _("The seller confirmed that the returned item arrived."), kind=EmailKind.PROGRESS),
    "closed": Event(_("Claim %(number)s was closed by the buyer"), _("The buyer closed the claim as resolved."),
                    kind=EmailKind.PROGRESS),
    "delivered": Event(_("Claim %(number)s closed: tracking shows delivery"),
                       _("The carrier's tracking shows the order was delivered to the order's address, so the "
                         "claim for non-delivery has been closed.")),
    "forced_refund": Event(_("Claim %(number)s: full refund"),
                           ngettext_lazy("The claim stayed unresolved for %(final_days)d day, so the buyer receives "
                                         "a full refund.",
                                         "The claim stayed unresolved for %(final_days)d days, so the buyer receives "
                                         "a full refund.", "final_days")),
    "reopened": Event(_("Claim %(number)s was reopened"), _("Our support team reopened the claim to look into it.")),
    # Appeals (claims.appeals): to the other party and the agent the appeal is assigned to, then the appeal's final
    # decision to both parties.
    "appealed": Event(_("Claim %(number)s: the platform's decision was appealed"),
                      _("The platform's decision on this claim was appealed. Another member of our support team than "
                        "the one who decided looks at the claim again; their decision is final."),
                      detail=_appeal_detail),
    "appeal_decided": Event(_("Claim %(number)s: the appeal has been decided"),
                            _("Our support team decided the appeal against its decision. This decision is final: it "
                              "cannot be appealed again."), template="claim_decided", context=_appeal_context),
    # The platform's decision target (claims.decision_target), to the agent the claim is assigned to.
    "decision_reminder": Event(_("Reminder: claim %(number)s is due for a decision"),
                               _("The platform's target for deciding this escalated claim is close. Please decide it, "
                                 "or ask for the information you still need."),
                               detail=lambda ctx: presenters.decision_due_detail(ctx["claim"])),
    "decision_breached": Event(_("Claim %(number)s: the decision target passed"),
                               ngettext_lazy("We aim to decide an escalated claim within %(decision_days)d business "
                                             "day of it reaching us or of the answer to our question. This claim's "
                                             "target passed without a decision: please decide it now.",
                                             "We aim to decide an escalated claim within %(decision_days)d business "
                                             "days of it reaching us or of the answer to our question. This claim's "
                                             "target passed without a decision: please decide it now.",
                                             "decision_days"),
                               detail=lambda ctx: presenters.decision_due_detail(ctx["claim"])),
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
    # The written resolution (claims.resolution): the buyer's confirmation of how, when and after how many days the
    # claim was resolved, with the reasons of a denial and the new warranty end.
    "resolution": Event(_("Claim %(number)s: written confirmation of the resolution"),
                        _("This is the written confirmation of how your claim was resolved. Please keep it: it also "
                          "states how long your warranty now runs."), template="claim_resolution"),
    # The satisfaction survey (claims.satisfaction): once per claim and person, with signed one-click links.
    "satisfaction": Event(_("Claim %(number)s: how did we do?"),
                          _("Your claim has been resolved. Would you tell us how satisfied you are with how it was "
                            "handled? One click is enough, and you do not need to log in."),
                          template="claim_satisfaction", kind=EmailKind.SURVEYS),
    # Expert assessments (claims.services.experts).
    "expert_started": Event(_("Claim %(number)s: an expert is assessing the defect"),
                            _("An expert assessment of the defect has started. The time the expert needs does not "
                              "count towards the time limit for resolving the claim."), detail=_expert_detail),
    "expert_requested": Event(_("Claim %(number)s: expert assessment requested"),
                              _("The buyer asked for an expert assessment of the denied claim. Our support team "
                                "records the expert's result, and both sides are told."), detail=_expert_detail,
                              kind=EmailKind.PROGRESS),
    "expert_concluded": Event(_("Claim %(number)s: the expert's result"),
                              _("The expert assessment is finished."), detail=_expert_detail),
    "expert_costs": Event(_("Claim %(number)s: the costs of the expert assessment"),
                          _("The expert found the claim unjustified. As the warranty terms say, the costs of the "
                            "assessment are yours to pay; here is the list, with the day they are due."),
                          template="claim_expert_costs", detail=_expert_costs_detail),
    # The warranty-claim clock (claims.services.warranty): "The seller must resolve the warranty claim within 30 days
    # from the start of the claims process ... must not take longer than 60 days".
    "goods_received": Event(_("Claim %(number)s: your item reached the seller"),
                            _("The seller confirmed that the item you claimed for reached them."),
                            detail=lambda ctx: presenters.goods_received_detail(ctx["claim"])),
    "warranty_reminder": Event(ngettext_lazy("Reminder: warranty claim %(number)s must be resolved within "
                                             "%(warranty_reminder_days)d day",
                                             "Reminder: warranty claim %(number)s must be resolved within "
                                             "%(warranty_reminder_days)d days", "warranty_reminder_days"),
                               _("The law limits how long a warranty claim may take. If the claim is not resolved by "
                                 "the limit, the platform takes over."),
                               detail=lambda ctx: presenters.warranty_due_detail(ctx["claim"])),
    "warranty_limit": Event(_("Claim %(number)s was not resolved within the legal time limit"),
                            ngettext_lazy("The warranty claim was not resolved within %(warranty_days)d day of the "
                                          "claim and the goods reaching the seller, the limit the law sets. Our "
                                          "support team now handles it.",
                                          "The warranty claim was not resolved within %(warranty_days)d days of the "
                                          "claim and the goods reaching the seller, the limit the law sets. Our "
                                          "support team now handles it.", "warranty_days")),
    "warranty_max": Event(_("Claim %(number)s: you may now choose a replacement or a full refund"),
                          ngettext_lazy("Your warranty claim was not resolved within %(warranty_max_days)d day. You "
                                        "now have the same rights as for a defect that cannot be remedied: choose a "
                                        "replacement or withdraw from the purchase with a full refund on the claim "
                                        "page.",
                                        "Your warranty claim was not resolved within %(warranty_max_days)d days. You "
                                        "now have the same rights as for a defect that cannot be remedied: choose a "
                                        "replacement or withdraw from the purchase with a full refund on the claim "
                                        "page.", "warranty_max_days")),
    "warranty_max_reached": Event(_("Claim %(number)s: the warranty claim's maximum duration passed"),
                                  ngettext_lazy("The warranty claim was not resolved within %(warranty_max_days)d day. "
                                                "The buyer may now choose a replacement or withdrawal with a full "
                                                "refund.",
                                                "The warranty claim was not resolved within %(warranty_max_days)d "
                                                "days. The buyer may now choose a replacement or withdrawal with a "
                                                "full refund.", "warranty_max_days")),
    "warranty_rights_exercised": Event(_("Claim %(number)s: the buyer chose how it is resolved"),
                                       _("The warranty claim passed its maximum duration, and the buyer chose:"),
                                       detail=lambda ctx: presenters.warranty_rights_detail(ctx["claim"])),
    # Goods collected in person (claims.collection): "the seller is entitled to charge a storage fee of €0.50 per day"
    # and "The seller will inform the buyer about the intended sale".
    "collection_ready": Event(_("Claim %(number)s: your item is ready for collection"),
                              _("Your item is waiting for you at the seller. Please collect it, bringing the claim "
                                "confirmation and an identity document."),
                              detail=lambda ctx: presenters.storage_terms(ctx["claim"])),
    "storage_notice": Event(_("Claim %(number)s: please collect the item"),
                            _("The free storage of the item at the seller has ended."),
                            detail=lambda ctx: presenters.storage_terms(ctx["claim"])),
    "sale_notice": Event(_("Claim %(number)s: the seller intends to sell the uncollected item"),
                         ngettext_lazy("The item has not been collected %(sale_months)d month after the free storage "
                                       "ended.",
                                       "The item has not been collected %(sale_months)d months after the free storage "
                                       "ended.", "sale_months"),
                         detail=lambda ctx: presenters.sale_terms(ctx["claim"])),
    "collected": Event(_("Claim %(number)s: item collected"),
                       _("The seller recorded that you collected the item."),
                       detail=lambda ctx: presenters.collected_detail(ctx["claim"]), kind=EmailKind.PROGRESS),
    "first_reply_breached": Event(ngettext_lazy("Claim %(number)s: no reply from the seller in %(reply_hours)d hour",
                                                "Claim %(number)s: no reply from the seller in %(reply_hours)d hours",
                                                "reply_hours"),
                                  ngettext_lazy("The seller did not reply within %(reply_hours)d hour. This is "
                                                "recorded, and the buyer may now ask the platform to step in.",
                                                "The seller did not reply within %(reply_hours)d hours. This is "
                                                "recorded, and the buyer may now ask the platform to step in.",
                                                "reply_hours")),
}


def _recipients(notices: Sequence[Notice]) -> list[list[tuple[str, Any]]]:
    """Who each notice goes to, read for all of them at once: the buyers and assigned agents in one query (or from the
    claim when loaded), the seller's active staff in another."""
    user_model = get_user_model()
    wanted: set[int] = set()
    sellers: set[int] = set()
    for notice in notices:
        claim = notice.claim
        if Party.BUYER in notice.to and not Claim.buyer.is_cached(claim):
            wanted.add(claim.buyer_id)
        if Party.AGENT in notice.to and claim.assigned_to_id and not Claim.assigned_to.is_cached(claim):
            wanted.add(claim.assigned_to_id)
        if Party.SELLER in notice.to:
            sellers.add(claim.seller_id)
    users = user_model.objects.in_bulk(wanted) if wanted else {}
    staff: dict[int, list[Any]] = {}
    if sellers:
        # An API key's own user (integrations.ApiKey) is staff too, but reads its news through the API.
        for user in (user_model.objects.filter(seller_memberships__seller_id__in=sellers, is_active=True,
                                               api_key__isnull=True)
                     .annotate(member_of=F("seller_memberships__seller_id")).order_by("pk")):
            staff.setdefault(user.member_of, []).append(user)
    found: list[list[tuple[str, Any]]] = []
    for notice in notices:
        claim = notice.claim
        mine: list[tuple[str, Any]] = []
        for party in notice.to:
            if party == Party.BUYER:
                mine.append((party, claim.buyer if Claim.buyer.is_cached(claim) else users[claim.buyer_id]))
            elif party == Party.SELLER:
                mine.extend((party, user) for user in staff.get(claim.seller_id, ()))
            elif party == Party.AGENT and claim.assigned_to_id:
                agent = claim.assigned_to if Claim.assigned_to.is_cached(claim) else users.get(claim.assigned_to_id)
                if agent is not None:
                    mine.append((party, agent))
        found.append(mine)
    return found


def _link(claim: Claim, party: str) -> str:
    """Where the recipient follows the claim: the buyer's claim page, the seller dashboard's claim page, the claim
    in the support console."""
    if party == Party.BUYER:
        path = reverse("claims:detail", kwargs={"number": claim.number})
    elif party == Party.AGENT:
        path = reverse("admin:claims_claim_change", args=[claim.pk])
    else:
        path = reverse("sellers:claim", kwargs={"number": claim.number})
    return emails.site_link(path)


def kind_of(event: str) -> str:
    """The kind of email an outbox row's event is (claims.choices.EmailKind): a digest of messages is about messages;
    a mail outside the claims' events (an erasure refused, a webhook endpoint turned off) is always sent."""
    if event == DIGEST:
        return EmailKind.MESSAGES
    spec = EVENTS.get(event)
    return spec.kind if spec is not None else EmailKind.ALWAYS


def notify(claim: Claim, event: str, *, to: Sequence[str], key: Any, context: dict[str, Any] | None = None) -> None:
    """Write the emails of one event to the outbox and send them after commit, and put the news in each recipient's
    list of notifications (claims.keeping_up) in the same transaction. `key` makes the event unique (e.g. the
    transition log row, `key=log`), so the same event is never queued, nor listed, twice. A person who turned this kind
    of email off gets the notification without the email; a person without an email address gets the notification.
    A new message (`context["message"]`) to someone emailed about messages on the claim a moment ago joins their
    digest instead of an email of its own (`_into_digest`).

    In the deadline sweep's batch (claims.batching) the event is gathered, with a copy of the claim as it is now, and
    written with the batch's others at its end (`write_notices`)."""
    batch = batching.current()
    if batch is not None and event != MESSAGE:
        batch.notices.append(Notice(_as_it_is_now(claim), event, tuple(to), key, context))
        return
    ids, digests = _write([Notice(claim, event, tuple(to), key, context)], render_later=False)
    if ids:
        transaction.on_commit(lambda: enqueue(ids))
    for digest in digests:  # a new digest goes out when its window ends; deliver_pending catches what Celery drops
        assert digest.send_after is not None  # noqa: S101 - a digest always has its window's end
        transaction.on_commit(functools.partial(enqueue_at, digest.pk, digest.send_after))


def _as_it_is_now(claim: Claim) -> Claim:
    """A copy of the claim's columns as they are at the event, for the batch to write its notices from; its loaded
    relations (order, seller, people) are the claim's own."""
    twin = Claim.__new__(Claim)
    twin.__dict__.update(claim.__dict__)
    return twin


def write_notices(notices: Sequence[Notice]) -> list[int]:
    """Write the gathered notices of a batch (claims.batching): their webhook events, notifications and outbox rows,
    each kind in one statement; the outbox rows' bodies are rendered by the worker that sends them. The ids of the
    outbox rows, to hand to the broker after commit."""
    ids, _digests = _write(notices, render_later=True)
    return ids


def _key(key: Any) -> Any:
    """A notification's key as written: a log row (`key=log`) by its id."""
    return key.pk if isinstance(key, models.Model) else key


def _deferrable(spec: Event, notice: Notice) -> bool:
    """Whether the email can be rendered when it is sent from what the outbox row keeps (`_facts`): the claim's own
    words and the facts of the event. An event with a context of its own (a decision, a refund, an offer) is rendered
    at once, so that it says what was true when it happened."""
    return spec.template == "claim_event" and spec.context is None and not notice.context


def _write(notices: Sequence[Notice], *, render_later: bool) -> tuple[list[int], list[OutboundEmail]]:
    """The notifications and emails of these notices; what a single `notify` and a batch both write. Returns the ids of
    the outbox rows to send now and the digests started (sent at the end of their window)."""
    for notice in notices:
        emit_webhook(notice.claim, notice.event, key=_key(notice.key), context=notice.context)
    everyone = _recipients(notices)
    muted = _turned_off({(EVENTS[notice.event].kind, user.pk)
                         for notice, people in zip(notices, everyone, strict=True) for _party, user in people})
    listed: list[Notification] = []
    queued: list[OutboundEmail] = []
    one_by_one: list[tuple[Notice, str, Any, Notification, OutboundEmail | None, str]] = []
    for notice, people in zip(notices, everyone, strict=True):
        claim, event, spec = notice.claim, notice.event, EVENTS[notice.event]
        languages: dict[str, str] = {Party.BUYER: claim.order.language, Party.SELLER: claim.seller.language}
        policy = presenters.policy_of(claim)
        key = _key(notice.key)
        for party, user in people:
            language = languages.get(party) or settings.LANGUAGE_CODE
            emailed = bool(user.email) and (spec.kind, user.pk) not in muted
            dedupe_key = _dedupe_key(event, claim, key, user)
            row = None
            with translation.override(language):
                values = {"number": claim.number, "order": claim.order.number, **presenters.terms(policy)}
                subject = (spec.subject % values)[:300]
                if emailed:
                    row = OutboundEmail(claim=claim, recipient=user, to_email=user.email, event=event,
                                        dedupe_key=dedupe_key, language=language, subject=subject)
                    if render_later and _deferrable(spec, notice):
                        row.facts = _facts(spec, claim, user, party, values)
                    else:
                        row.body_text, row.body_html = _render_event(spec, claim, user, party, values,
                                                                     notice.context)
            note = Notification(user=user, claim=claim, event=event, text=subject, dedupe_key=dedupe_key)
            if event == MESSAGE:  # a message may join a digest: written one at a time (`_into_digest`)
                one_by_one.append((notice, party, user, note, row, language))
            else:
                listed.append(note)
                if row is not None:
                    queued.append(row)
    ids = [row.pk for row in _insert_new(listed, queued)]
    digests: list[OutboundEmail] = []
    for notice, party, user, note, row, language in one_by_one:
        try:
            with transaction.atomic():
                note.save(force_insert=True)
                digest, started = None, False
                if row is not None:
                    digest, started = _into_digest(notice.claim, user, party=party, language=language,
                                                   message=(notice.context or {}).get("message"))
                if row is not None and digest is None:
                    row.save(force_insert=True)
        except IntegrityError:
            continue  # already listed (and queued, if emailed): same event, same recipient
        if started and digest is not None:
            digests.append(digest)
        elif row is not None and digest is None:
            ids.append(row.pk)
    return ids, digests


def _notified(keys: Iterable[str]) -> set[str]:
    """Which of these keys a notification already has. The key's unique index leaves the keyless rows out
    (notification_dedupe_key, `dedupe_key <> ''`), and PostgreSQL proves that `dedupe_key IN (…)` stays within it for
    at most 100 keys: a sweep's batch asks for hundreds, and without the index's condition written here each batch read
    every notification ever written (a sequential scan, 36 ms at 300,000 rows)."""
    return set(Notification.objects.exclude(dedupe_key="").filter(dedupe_key__in=keys)
               .values_list("dedupe_key", flat=True))


def _emailed(keys: Iterable[str]) -> set[str]:
    """Which of these keys an outbox row already has (its key is unique on every row)."""
    return set(OutboundEmail.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))


def _insert_new(listed: list[Notification], queued: list[OutboundEmail]) -> list[OutboundEmail]:
    """Insert the notifications and outbox rows whose dedupe key is new, each kind in one statement; the outbox rows
    written. A key already there is the same event to the same person: skipped. Should another transaction write one of
    the keys in between, the rows are written one by one instead, each skipped if it is there."""
    if not listed:
        return []
    keys = [note.dedupe_key for note in listed]
    seen = _notified(keys) | _emailed(keys)
    listed = [note for note in listed if note.dedupe_key not in seen]
    queued = [row for row in queued if row.dedupe_key not in seen]
    try:
        with transaction.atomic():
            Notification.objects.bulk_create(listed)
            return OutboundEmail.objects.bulk_create(queued)
    except IntegrityError:
        written = []
        emails_by_key = {row.dedupe_key: row for row in queued}
        for note in listed:
            try:
                with transaction.atomic():
                    note.save(force_insert=True)
                    if (row := emails_by_key.get(note.dedupe_key)) is not None:
                        row.save(force_insert=True)
                        written.append(row)
            except IntegrityError:
                continue
        return written


def _context(spec: Event, claim: Claim, user: Any, party: str, values: dict[str, Any],
             extra: dict[str, Any] | None, *, facts: dict[str, Any] | None = None) -> dict[str, Any]:
    """The context of an event's email; from the `facts` an outbox row kept when it is rendered later (`render_row`)."""
    ctx = {"claim": claim, "recipient": user, "party": party, "site_url": _link(claim, party),
           "intro": spec.intro % values,
           "unsubscribe": unsubscribe.footer_links(user_id=user.pk, kind=spec.kind) if user.pk else None,
           **(extra or {})}
    if facts is not None:
        if "detail" in facts:
            ctx["detail"] = facts["detail"]
    elif spec.detail is not None:
        ctx["detail"] = spec.detail(ctx)
    return ctx


def _render_event(spec: Event, claim: Claim, user: Any, party: str, values: dict[str, Any],
                  extra: dict[str, Any] | None) -> tuple[str, str]:
    """The email's bodies in the current language."""
    ctx = _context(spec, claim, user, party, values, extra)
    if spec.context is not None:
        ctx.update(spec.context(ctx))
    return emails.render(spec.template, ctx)


# The claim's columns that an email rendered later shows as they were at the event (templates/emails/claim_event.*).
FACT_FIELDS = ("state",)


def _facts(spec: Event, claim: Claim, user: Any, party: str, values: dict[str, Any]) -> dict[str, Any]:
    """What an outbox row keeps to be rendered when it is sent (`render_row`): the recipient's side, the claim's state
    at the event, and the event's detail, worded now in the recipient's language (it may read the claim's deadlines)."""
    facts: dict[str, Any] = {"party": party, **{name: getattr(claim, name) for name in FACT_FIELDS}}
    if spec.detail is not None:
        facts["detail"] = str(spec.detail(_context(spec, claim, user, party, values, None)))
    return facts


def render_row(row: OutboundEmail) -> None:
    """Render an outbox row written without its bodies (a batch of the deadline sweep) from the facts it keeps, in its
    recipient's language: the claim's number, order and reason, and the state and detail of the event."""
    spec = EVENTS[row.event]
    claim = Claim.objects.select_related("order", "seller").get(pk=row.claim_id)
    for name in FACT_FIELDS:
        if name in row.facts:
            claim.__dict__[name] = row.facts[name]
    user = row.recipient if row.recipient_id else get_user_model()(email=row.to_email)
    with translation.override(row.language):
        values = {"number": claim.number, "order": claim.order.number,
                  **presenters.terms(presenters.policy_of(claim))}
        ctx = _context(spec, claim, user, row.facts.get("party", Party.BUYER), values, None, facts=row.facts)
        row.body_text, row.body_html = emails.render(spec.template, ctx)


def _dedupe_key(event: str, claim: Claim, key: Any, user: Any) -> str:
    """One event about one thing (`key`) to one person: the outbox's and the list's unique key."""
    return f"{event}:{claim.pk}:{key}:{user.pk}"[:200]


# --- digests of messages ----------------------------------------------------------------------------------------


def _into_digest(claim: Claim, user: Any, *, party: str, language: str,
                 message: Message | None) -> tuple[OutboundEmail | None, bool]:
    """Put a new message for `user` into their digest of the claim: the digest, and whether it was started now; or
    (None, False) when the message gets an email of its own.

    Their pending digest (not sent yet) takes it, locked while it is rendered again, so two messages at once both
    land in it. Otherwise, if their last email about messages on this claim went out less than
    MESSAGE_DIGEST_MINUTES ago, a new digest starts, sent that long after that email. Otherwise the message is news
    on its own."""
    window = dt.timedelta(minutes=settings.MESSAGE_DIGEST_MINUTES)
    if not window or message is None:  # no window, or no message to list: the news goes out on its own
        return None, False
    about_messages = OutboundEmail.objects.filter(claim=claim, recipient=user, event__in=(MESSAGE, DIGEST))
    now = timezone.now()
    # Not one in a worker's hands (its claim token), even once its claim ran out: what the worker sends was read
    # already, and it marks the row sent by its token, so a message written into it now would never be emailed. The
    # message starts the next digest instead (a worker killed mid-way leaves its row to deliver_pending, as it was).
    pending = (about_messages.select_for_update()
               .filter(event=DIGEST, sent_at__isnull=True, claim_token="", attempts__lt=MAX_ATTEMPTS)
               .order_by("-pk").first())
    if pending is not None:
        _render_digest(pending, claim, user, party)
        pending.save(update_fields=["subject", "body_text", "body_html"])
        return pending, False
    last = about_messages.order_by("-pk").first()
    if last is None:
        return None, False
    went_out = last.sent_at or last.send_after or last.created_at
    if went_out <= now - window:
        return None, False
    digest = OutboundEmail(
        claim=claim, recipient=user, to_email=user.email, event=DIGEST, language=language,
        dedupe_key=f"{DIGEST}:{claim.pk}:{user.pk}:{last.pk}",  # one digest per window: the email it follows
        # The window's first message: the digest lists the messages from it on.
        created_at=message.created_at,
        send_after=went_out + window,
    )
    _render_digest(digest, claim, user, party)
    digest.save()
    return digest, True


@dataclasses.dataclass(frozen=True)
class DigestLine:
    who: str  # the author's side in the recipient's words, never a person's name or address
    at: str
    body: str
    files: int


def _digest_messages(claim: Claim, user: Any, *, since: dt.datetime) -> list[Message]:
    """The messages a digest lists: those the recipient was told of (a notification of a new message) since the
    window began, except any that had an email of their own."""
    candidates = list(Message.objects.filter(claim=claim, is_internal=False, created_at__gte=since)
                      .annotate(files=Count("attachments")).order_by("created_at", "pk"))
    keys = {_dedupe_key(MESSAGE, claim, m.pk, user): m for m in candidates}  # a message's event is keyed by its id
    told = _notified(keys)
    emailed = _emailed(keys)
    return [m for key, m in keys.items() if key in told and key not in emailed]


def _author_words(party: str) -> str:
    words: dict[str, Any] = {Party.BUYER: _("The buyer"), Party.SELLER: _("The seller")}
    return str(words.get(party, _("Our support team")))


def _render_digest(row: OutboundEmail, claim: Claim, user: Any, party: str) -> None:
    """The digest's subject and bodies in its recipient's language, listing every message of its window."""
    messages = _digest_messages(claim, user, since=row.created_at)
    policy = presenters.policy_of(claim)
    with translation.override(row.language):
        count = len(messages)
        values = {"number": claim.number, "count": count, "minutes": settings.MESSAGE_DIGEST_MINUTES}
        row.subject = (ngettext("%(count)d new message on claim %(number)s",
                                "%(count)d new messages on claim %(number)s", count) % values)[:300]
        ctx = {
            "claim": claim, "recipient": user, "party": party, "site_url": _link(claim, party),
            "intro": ngettext("Messages that arrive within %(minutes)d minute of our last email about a claim are "
                              "collected into one email, so that a busy conversation does not fill your inbox. These "
                              "are the new ones:",
                              "Messages that arrive within %(minutes)d minutes of our last email about a claim are "
                              "collected into one email, so that a busy conversation does not fill your inbox. These "
                              "are the new ones:", settings.MESSAGE_DIGEST_MINUTES) % values,
            "lines": [DigestLine(who=str(_author_words(m.party)), at=presenters.market_moment(m.created_at, policy),
                                 body=m.body, files=m.files)  # type: ignore[attr-defined]  # annotated count
                      for m in messages],
            "unsubscribe": unsubscribe.footer_links(user_id=user.pk, kind=EmailKind.MESSAGES),
        }
        row.body_text, row.body_html = emails.render("message_digest", ctx)


def drop_unsent(*, user: Any, kind: str) -> int:
    """The person turned this kind of email off (claims.services.set_email_preferences): what of that kind still
    waits in the outbox for them is not sent either (a digest waits for the end of its window, so the first email's
    one-click unsubscribe would otherwise be followed by the digest). A row in a worker's hands goes out as it is.
    Their list of notifications keeps every entry. How many rows were dropped."""
    if kind == EmailKind.ALWAYS:
        return 0
    events = [event for event in (*EVENTS, DIGEST) if kind_of(event) == kind]
    dropped, _per_model = OutboundEmail.objects.filter(recipient=user, event__in=events, sent_at__isnull=True,
                                                       claim_token="").delete()
    return dropped


def _turned_off(wanted: set[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which of these (kind of email, person) the person turned off (claims.models.EmailPreference), in one query;
    nobody can turn off the mails that carry a deadline or a decision (EmailKind.ALWAYS), so those ask nothing."""
    wanted = {(kind, pk) for kind, pk in wanted if kind != EmailKind.ALWAYS}
    if not wanted:
        return set()
    rows = EmailPreference.objects.filter(kind__in={kind for kind, _pk in wanted}, enabled=False,
                                          user_id__in={pk for _kind, pk in wanted}).values_list("kind", "user_id")
    return {row for row in rows if row in wanted}


EMAILS_PER_TASK = 50  # a task sends this many outbox rows over one SMTP connection (deliver_many)


def enqueue(ids: Iterable[int]) -> None:
    """Hand the emails to Celery in one go: one task per EMAILS_PER_TASK rows, published over one broker connection,
    so that the workers share a batch's emails. A broker that is down loses nothing: deliver_pending sends them
    later."""
    from .tasks import deliver_emails

    ids = list(ids)
    try:
        with deliver_emails.app.producer_or_acquire() as producer:
            for start in range(0, len(ids), EMAILS_PER_TASK):
                deliver_emails.apply_async((ids[start:start + EMAILS_PER_TASK],), producer=producer, retry=False)
    except Exception:  # noqa: BLE001 - any broker failure; the outbox keeps the email
        logger.warning("broker unavailable: emails %s stay in the outbox for the re-send task", ids)


def enqueue_at(pk: int, eta: dt.datetime) -> None:
    """Hand one email to Celery to send at `eta` (a digest at the end of its window). A broker that is down, or a
    worker lost meanwhile, loses nothing: deliver_pending sends it once it is due."""
    from .tasks import deliver_email

    try:
        deliver_email.apply_async((pk,), eta=eta, retry=False)
    except Exception:  # noqa: BLE001 - any broker failure; the outbox keeps the email
        logger.warning("broker unavailable: email %s stays in the outbox for the re-send task", pk)


def _due(now: dt.datetime) -> Q:
    """Rows that may be sent now: a digest not before the end of its window, a failed row not before its back-off
    ended, and no row another worker is sending (its claim not expired)."""
    return ((Q(send_after__isnull=True) | Q(send_after__lte=now))
            & (Q(retry_after__isnull=True) | Q(retry_after__lte=now))
            & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)))


def retry_delay(attempts: int) -> dt.timedelta:
    """How long a row waits after its `attempts`-th failed attempt: 1, 2, 4 … minutes, at most 6 hours, so that the
    MAX_ATTEMPTS attempts of a row the server keeps refusing span about eight hours before it is given up."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 6 * 60))


# The server, the network or our account failed, not this email: the attempt is not held against the row, and the
# rest of a batch waits for the next run instead of each trying the same dead server (up to EMAIL_TIMEOUT each).
# smtplib's errors are OSErrors; these are the ones about one message.
_MESSAGE_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPNotSupportedError)


class Sent(enum.Enum):
    SENT = "sent"
    SKIPPED = "skipped"  # sent already, another worker's, not due yet, or given up
    FAILED = "failed"  # this email failed; the others may go on
    SERVER_DOWN = "server down"  # the connection failed: the others would fail the same way


def message_id(row: OutboundEmail) -> str:
    """The row's Message-ID, the same on every attempt: a mail server or reader that gets it twice shows it once."""
    domain = (parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost").strip("<>") or "localhost"
    return f"<outbox-{row.pk}.{int(row.created_at.timestamp())}@{domain}>"


def _claim(pk: int, now: dt.datetime) -> str | None:
    """Take the row for this worker until now + EMAIL_CLAIM_SECONDS, in one conditional UPDATE (atomic on every
    database, SQLite included); the attempt is counted now, so a row that kills its worker is given up in the end.
    The token, or None when the row is not this worker's to send."""
    token = uuid.uuid4().hex
    taken = (OutboundEmail.objects.filter(_due(now), pk=pk, sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
             .update(claimed_until=now + dt.timedelta(seconds=settings.EMAIL_CLAIM_SECONDS), claim_token=token,
                     attempts=F("attempts") + 1))
    return token if taken else None


def send_row(pk: int, *, connection: Any = None) -> Sent:
    """Send one outbox row if it is still unsent and due. The row is claimed first (`_claim`), the SMTP conversation
    holds no lock and no transaction, and the row is marked sent after it, by the claim's token. A row written without
    its bodies (a batch of the deadline sweep) is rendered now (`render_row`), and the bodies sent are kept on it."""
    token = _claim(pk, timezone.now())
    if token is None:
        return Sent.SKIPPED
    row = OutboundEmail.objects.filter(pk=pk).first()
    if row is None:  # deleted since: an erasure of its recipient (accounts.erasure), or an unsubscribe's drop_unsent
        return Sent.SKIPPED
    mine = OutboundEmail.objects.filter(pk=pk, claim_token=token)
    fields: dict[str, Any] = {}
    try:
        if not row.body_text and row.facts:
            render_row(row)
            fields = {"body_text": row.body_text, "body_html": row.body_html}
        # From the marketplace by name; one-click unsubscribe (RFC 8058) on the kinds of email a person may turn off.
        headers = {"Message-ID": message_id(row),
                   **unsubscribe.headers(user_id=row.recipient_id, kind=kind_of(row.event))}
        message = EmailMultiAlternatives(row.subject, row.body_text, from_email=emails.sender(),
                                         to=[row.to_email], connection=connection, headers=headers)
        message.attach_alternative(row.body_html, "text/html")
        message.send()
    except Exception as exc:  # noqa: BLE001 - SMTP and network errors of every kind
        error = f"{type(exc).__name__}: {exc}"[:1000]
        now = timezone.now()
        if isinstance(exc, OSError) and not isinstance(exc, _MESSAGE_REFUSED):
            mine.update(attempts=F("attempts") - 1, last_error=error, claimed_until=None, claim_token="",
                        retry_after=now + dt.timedelta(minutes=1), **fields)
            logger.warning("email %s not sent, the mail server failed: %s", pk, exc)
            return Sent.SERVER_DOWN
        mine.update(last_error=error, claimed_until=None, claim_token="", retry_after=now + retry_delay(row.attempts),
                    **fields)
        logger.warning("email %s not sent (attempt %s of %s): %s", pk, row.attempts, MAX_ATTEMPTS, exc)
        return Sent.FAILED
    if not mine.update(sent_at=timezone.now(), claimed_until=None, claim_token="", **fields):
        if not OutboundEmail.objects.filter(pk=pk).exists():
            # Deleted during the conversation: its recipient's data was erased (accounts.erasure deletes unsent rows,
            # held or not, so that nothing of theirs stays); this one had reached the mail server already.
            logger.info("email %s was deleted while it was being sent", pk)
        else:
            # Our claim ran out during the conversation and another worker took the row: EMAIL_CLAIM_SECONDS is
            # shorter than a conversation lasts (EMAIL_TIMEOUT).
            logger.error("email %s was sent after its claim ran out; EMAIL_CLAIM_SECONDS is too short", pk)
    return Sent.SENT


def deliver(pk: int, *, connection: Any = None) -> bool:
    """Send one outbox row (`send_row`); True when this call sent it."""
    return send_row(pk, connection=connection) is Sent.SENT


def deliver_many(ids: Iterable[int]) -> int:
    """Send these outbox rows over one SMTP connection (`send_row` each), stopping at the first failure of the server
    itself: the rest wait for deliver_pending. How many this call sent."""
    from django.core.mail import get_connection

    connection = get_connection()
    sent = 0
    try:
        for pk in ids:
            outcome = send_row(pk, connection=connection)
            if outcome is Sent.SERVER_DOWN:
                break
            sent += outcome is Sent.SENT
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a connection the server already dropped
            logger.debug("the email connection did not close cleanly", exc_info=True)
    return sent


def deliver_pending(*, older_than: dt.timedelta = dt.timedelta(seconds=30), limit: int = 500) -> int:
    """Send outbox rows that the after-commit task did not (broker down, worker lost, a failed attempt whose back-off
    ended), and digests whose window ended. Returns how many."""
    now = timezone.now()
    cutoff = now - older_than
    # A row the after-commit task may still be sending is left to it for `older_than`; a digest is due at the end of
    # its window (its eta task may race this one: the claim sends it once).
    waited = Q(send_after__isnull=True, created_at__lte=cutoff) | Q(send_after__lte=now)
    ids = list(OutboundEmail.objects.filter(waited, _due(now), sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
               .order_by("created_at").values_list("pk", flat=True)[:limit])
    return deliver_many(ids)

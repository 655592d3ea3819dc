"""Every number a person reads comes from the claim's policy snapshot, or from the current settings where no claim
exists yet (issue 13).

With every policy setting changed to a value used nowhere else, the pages and emails of claims in every main state
never say a default number (the phrases are derived from the defaults) and say the changed ones where they should.
A claim opened before the change keeps the numbers of its own snapshot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings as django_settings
from django.urls import reverse

from claims import services
from claims.choices import Party
from claims.models import Claim, OutboundEmail
from claims.notifications import EVENTS, notify
from claims.policy import Policy, current_policy
from claims.tests.admin_factories import make_console_agent, make_finance
from claims.tests.factories import OPENED_AT, delivered_order, photo
from core import formatting
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers.models import SellerMembership, WarrantyPolicy
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)

# Every policy setting, changed to a value that appears nowhere else in the pages and emails.
CHANGED = {
    "CLAIM_FIRST_REPLY_HOURS": 72,
    "CLAIM_RESOLUTION_BUSINESS_DAYS": 7,
    "CLAIM_INFO_DAYS": 3,
    "CLAIM_HARD_DEADLINE_DAYS": 200,
    "CLAIM_REMINDER_HOURS": 20,
    "CLAIM_NON_DELIVERY_BUFFER_BUSINESS_DAYS": 4,
    "CLAIM_DEFECT_REPORT_MONTHS": 2,
    "CLAIM_DISPUTE_FINE": "31.50",
    "TRIAL_DAYS_DEFAULT": 31,
    "TRIAL_DAYS_AFTER_REPAIR": 17,
    "WARRANTY_MONTHS_AFTER_REPAIR": 9,
    "REFUND_ARRIVAL_BUSINESS_DAYS": [6, 11],
    "CLAIM_DISPUTE_WINDOW_DAYS": 120,
    "CLAIM_REOPEN_DAYS": 21,
    "EXPERT_COSTS_DAYS": 33,
    "COLLECTION_FREE_MONTHS": 2,
    "COLLECTION_SALE_MONTHS": 7,
    "COLLECTION_SALE_NOTICE_DAYS": 23,
    "WARRANTY_CLAIM_REMINDER_DAYS": 6,
    "WARRANTY_MONTHS_MINIMUM": 13,
    "CLAIM_DECISION_BUSINESS_DAYS": 8,
    "APPEAL_DAYS": 16,
    "RETURN_SHIP_DAYS": 12,
    "RETURN_REMINDER_DAYS": 4,
    "RETURN_CONFIRM_BUSINESS_DAYS": 9,
    # not a claim policy, but a number of days the survey email says (claims.satisfaction)
    "SATISFACTION_LINK_DAYS": 19,
}
# The market's law comes from markets.Market, not from settings (tests/test_markets.py changes those per market).
NOT_NUMBERS = {"time_zone", "country", "subdivision", "market", "warranty_claim_days", "warranty_claim_max_days"}


@dataclasses.dataclass(frozen=True)
class Terms:
    """The policy numbers people read: the claim policy, the default trial and when a paid refund arrives."""

    policy: Policy
    trial_days: int
    arrival: tuple[int, int]

    @classmethod
    def now(cls) -> Terms:
        low, high = django_settings.REFUND_ARRIVAL_BUSINESS_DAYS
        return cls(current_policy(), django_settings.TRIAL_DAYS_DEFAULT, (low, high))

    def phrases(self) -> dict[str, re.Pattern[str]]:
        """How a sentence would say each number ("48 hours", "48-hour", "5 business days", "one month", ...)."""
        p = self.policy

        def said(number: object, *units: str) -> re.Pattern[str]:
            return re.compile(rf"(?<![\d.,]){re.escape(str(number))}[ -](?:{'|'.join(units)})")

        found = {
            "first_reply_hours": said(p.first_reply_hours, "hour"),
            "resolution_business_days": said(p.resolution_business_days, "business day"),
            "info_days": said(p.info_days, "day", "calendar day"),
            "hard_deadline_days": said(p.hard_deadline_days, "day"),
            "reminder_hours": said(p.reminder_hours, "hour"),
            "non_delivery_buffer_business_days": said(p.non_delivery_buffer_business_days, "business day"),
            "defect_report_months": said(p.defect_report_months, "month"),
            "dispute_fine": re.compile(rf"(?<![\d.,]){re.escape(str(p.dispute_fine))}(?!\d)"),
            "trial_days_after_repair": said(p.trial_days_after_repair, "day"),
            "warranty_months_after_repair": said(p.warranty_months_after_repair, "month"),
            "warranty_reminder_days": said(p.warranty_reminder_days, "day"),
            "decision_business_days": said(p.decision_business_days, "business day"),
            "return_ship_days": said(p.return_ship_days, "day"),
            "return_confirm_business_days": said(p.return_confirm_business_days, "business day"),
            "trial_days": said(self.trial_days, "day"),
            "arrival": re.compile(rf"(?<![\d.,]){self.arrival[0]}–{self.arrival[1]} business day"),
        }
        if p.defect_report_months == 1:
            found["defect_report_months (one)"] = re.compile(r"\bone month\b")
        return found


# Sentences that carry a number that is no policy of ours: the period choices of the performance page and the
# statutory right of withdrawal (the law's 14 days, which the default 14 trial days after a repair would match).
NOT_POLICY = re.compile(r"Last \d+ (?:days|months)|[^.<>\n]*withdraw[^.<>\n]*")
# Count-downs ("2 days, 3 hours left") are computed from the deadlines, not sentences with a policy number.
COUNTDOWNS = re.compile(r"<time\b[^>]*>.*?</time>", re.S)


def readable(text: str) -> str:
    text = COUNTDOWNS.sub(" ", text)
    text = html.unescape(text)
    text = NOT_POLICY.sub(" ", text)
    return re.sub(r"\s+", " ", text)


def defaults_said(texts: dict[str, str], terms: Terms) -> list[str]:
    """Where a default number is said: '<where>: <setting> in "...<context>..."'."""
    found = []
    for where, text in texts.items():
        readable_text = readable(text)
        for name, pattern in terms.phrases().items():
            for match in pattern.finditer(readable_text):
                context = readable_text[max(match.start() - 60, 0):match.end() + 60]
                found.append(f'{where}: {name} in "…{context}…"')
    return found


@pytest.fixture
def defaults() -> Terms:
    return Terms.now()


@pytest.fixture
def changed(settings, defaults) -> Terms:
    for name, value in CHANGED.items():
        setattr(settings, name, value)
    terms = Terms.now()
    return terms


def test_every_policy_number_is_changed(changed, defaults):
    numbers = {f.name for f in dataclasses.fields(Policy)} - NOT_NUMBERS
    assert {name for name in numbers if getattr(changed.policy, name) == getattr(defaults.policy, name)} == set()
    assert (changed.trial_days, changed.arrival) != (defaults.trial_days, defaults.arrival)
    # No changed number is said the way a default one would be.
    assert not defaults_said({"changed phrases": " ".join(changed_examples(changed))}, defaults)


def changed_examples(terms: Terms) -> list[str]:
    p = terms.policy
    return [f"{p.first_reply_hours} hours", f"{p.resolution_business_days} business days",
            f"{p.info_days} calendar days", f"{p.hard_deadline_days} days", f"{p.reminder_hours} hours",
            f"{p.non_delivery_buffer_business_days} business days", f"{p.defect_report_months} months",
            f"{terms.trial_days}-day", f"{terms.arrival[0]}–{terms.arrival[1]} business days",
            f"{p.decision_business_days} business days"]


# --- one seller's claims in every main state ------------------------------------------------------------------


class Marketplace:
    """One seller with staff, one buyer, an agent and finance, and claims reached through the services."""

    def __init__(self) -> None:
        self.seller = SellerFactory()
        self.staff = UserFactory()
        SellerMembership.objects.create(user=self.staff, seller=self.seller, role="owner")
        self.buyer = UserFactory()
        self.agent = make_console_agent()
        self.finance = make_finance()
        self.claims: dict[str, Claim] = {}
        self.opened = 0

    def open(self, name: str) -> Claim:
        """A defect claim on a new order, a minute after the previous one."""
        order = delivered_order(seller=self.seller, buyer=self.buyer)
        at = OPENED_AT + self.opened * MINUTE
        self.opened += 1
        with time_machine.travel(at, tick=False):
            claim = services.open_claim(order=order, buyer=self.buyer, reason="defective",
                                        description="The screen flickers.", desired_outcome="repair",
                                        discovered_on=at.date(), evidence=[photo()])
        self.claims[name] = claim
        return claim

    def fresh(self, name: str) -> Claim:
        self.claims[name] = Claim.objects.get(pk=self.claims[name].pk)
        return self.claims[name]


def main_states(market: Marketplace) -> None:
    """Claims waiting for the seller, in progress, rejected, escalated, waiting for information, waiting for a
    return, resolved with a paid refund, and a lost payment-provider dispute."""
    for name in ("waiting", "breached", "progress", "rejected", "taken_over", "escalated", "info", "return",
                 "refunded"):
        market.open(name)
    m, c = market, market.claims
    with time_machine.travel(OPENED_AT + H, tick=False):
        for name in ("progress", "taken_over"):
            services.reply(claim=c[name], by=m.staff, body="Sorry about that, let us sort it out.")
        services.reject(claim=c["rejected"], by=m.staff, code="buyer_damage", body="Dropped, see the photo.",
                        evidence=[photo()])
        for name in ("escalated", "info", "return", "refunded"):
            services.escalate(claim=c[name], by=m.agent, reason="Seller inaction")
        services.request_info(claim=c["info"], by=m.agent, party=Party.BUYER, question="When did it start?")
        services.classify_defect(claim=c["return"], by=m.agent, defect_type="removable")  # a repair needs it
        services.decide(claim=c["return"], by=m.agent, outcome="repair", funded_by="seller")
        services.decide(claim=c["refunded"], by=m.agent, outcome="refund", funded_by="platform")
        refund = m.fresh("refunded").refunds.get()
        services.mark_refund_paid(refund=refund, reference="re_policy", by=m.finance)
        dispute_order = delivered_order(seller=m.seller, buyer=m.buyer)
        c["dispute"] = services.record_provider_dispute(order=dispute_order, by=m.agent, reference="pp-1",
                                                        description="Chargeback: not as described")
        services.record_provider_verdict(claim=c["dispute"], by=m.agent, buyer_won=True)
    for name in list(c):
        m.fresh(name)


def sweep_through(market: Marketplace, policy: Policy) -> None:
    """Let the deadlines pass: reminders, the missed first reply, the information not given, the take-overs and,
    at the final deadline, the forced refunds."""
    first = market.claims["waiting"].first_reply_due_at
    resolution = market.claims["progress"].resolution_due_at
    final = max(claim.hard_deadline_at for claim in market.claims.values() if claim.hard_deadline_at)
    remind = dt.timedelta(hours=policy.reminder_hours)
    for moment in (first - remind, first, first + H, resolution - remind, resolution, resolution + H, final):
        with time_machine.travel(moment + 10 * MINUTE, tick=False):
            services.enforce_deadlines()
    for name in list(market.claims):
        market.fresh(name)


def render(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def claim_pages(client, market: Marketplace, claim: Claim) -> dict[str, str]:
    pages = {
        "buyer page": render(client, market.buyer, reverse("claims:detail", kwargs={"number": claim.number})),
        "seller page": render(client, market.staff, reverse("sellers:claim", kwargs={"number": claim.number})),
        "console page": render(client, market.agent, reverse("admin:claims_claim_change", args=[claim.pk])),
        "order page": render(client, market.buyer, reverse("orders:detail", kwargs={"number": claim.order.number})),
    }
    if claim.state == "escalated":
        pages["console request-info page"] = render(client, market.agent, reverse(
            "admin:claims_claim_act", kwargs={"object_id": claim.pk, "action": "request-info"}))
    return {f"{where} of {claim.number} ({claim.state})": text for where, text in pages.items()}


def dashboard_pages(client, market: Marketplace) -> dict[str, str]:
    slug = market.seller.slug
    return {
        "seller queue": render(client, market.staff, f"{reverse('sellers:queue')}?seller={slug}&state=all"),
        "performance page": render(client, market.staff, f"{reverse('sellers:performance')}?seller={slug}&period=all"),
        "order list": render(client, market.buyer, reverse("orders:list")),
    }


def every_page(client, market: Marketplace) -> dict[str, str]:
    pages = dashboard_pages(client, market)
    for claim in market.claims.values():
        pages.update(claim_pages(client, market, claim))
    return pages


def emails(queryset=None) -> dict[str, str]:
    rows = (queryset if queryset is not None else OutboundEmail.objects.all()).order_by("pk")
    return {f"email {row.event} #{row.pk} to {row.to_email} ({part})": text for row in rows
            for part, text in (("subject", row.subject), ("text", row.body_text), ("html", row.body_html))}


def every_event(market: Marketplace, claim: Claim) -> None:
    """Each event of claims.notifications written once more, to the buyer and the seller's staff, so that no
    email is left out."""
    refund = market.claims["refunded"].refunds.get()
    for event in EVENTS:
        notify(claim, event, to=[Party.BUYER, Party.SELLER], key="every-event", context={"refund": refund})


def said_in(texts: dict[str, str], where: str, phrase: str) -> None:
    matching = {name: readable(text) for name, text in texts.items() if where in name}
    assert matching, f"nothing rendered for {where!r}"
    assert any(phrase in text for text in matching.values()), f"{phrase!r} not in {where!r}"


def test_the_pages_and_emails_of_claims_say_the_changed_numbers(client, changed, defaults,
                                                                django_capture_on_commit_callbacks):
    market = Marketplace()
    with django_capture_on_commit_callbacks(execute=True):
        main_states(market)
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        before = every_page(client, market)
    sweep_through(market, changed.policy)
    with time_machine.travel(max(c.hard_deadline_at for c in market.claims.values() if c.hard_deadline_at)
                             + H, tick=False):
        after = every_page(client, market)
        every_event(market, market.claims["escalated"])
    sent = emails()
    assert {row.split()[1] for row in sent} >= set(EVENTS), "an event was not written"

    everything = {**{f"{k} (before the deadlines)": v for k, v in before.items()},
                  **{f"{k} (after the deadlines)": v for k, v in after.items()}, **sent}
    found = defaults_said(everything, defaults)
    assert not found, "default numbers said:\n" + "\n".join(found)

    p = changed.policy
    waiting = market.claims["waiting"].number
    # Pages: the buyer's escalation hint, the footer on every page, the timeline, the console's question form.
    said_in(before, f"buyer page of {waiting}", f"({p.first_reply_hours} hours after you opened the claim)")
    for where in ("buyer page", "seller page", "seller queue", "order list", "performance page"):
        said_in(before, where, f"doesn't respond within {p.resolution_business_days} business days")
    said_in(before, "performance page", f"first replies within {p.first_reply_hours} hours")
    said_in(before, "console request-info page", f"They have {p.info_days} calendar days to answer.")
    for where in ("buyer page", "seller page", "console page"):
        said_in(after, f"{where} of {waiting}", f"The seller missed the {p.first_reply_hours}-hour reply deadline")
        said_in(after, f"{where} of {market.claims['escalated'].number}",
                f"Full refund after {p.hard_deadline_days} days")
    said_in(before, "performance page", str(p.dispute_fine))  # the lost dispute's fine in the ledger
    # Emails: the snapshot's numbers, with their plural forms.
    said_in(sent, "email receipt", f"who has {p.first_reply_hours} hours to reply")
    said_in(sent, "email opened", f"please reply within {p.first_reply_hours} hours")
    said_in(sent, "email opened", f"Please reply within {p.first_reply_hours} hours and resolve it within "
                                  f"{p.resolution_business_days} business days")
    said_in(sent, "email reminder_first_reply", f"within {p.reminder_hours} hours")
    said_in(sent, "email reminder_resolution", f"within {p.reminder_hours} hours")
    said_in(sent, "email first_reply_breached", f"no reply from the seller in {p.first_reply_hours} hours")
    said_in(sent, "email first_reply_breached", f"did not reply within {p.first_reply_hours} hours")
    said_in(sent, "email takeover", f"not resolved within {p.resolution_business_days} business days")
    said_in(sent, "email info_requested", f"we need information within {p.info_days} days")
    said_in(sent, "email info_requested", f"within {p.info_days} calendar days")
    said_in(sent, "email forced_refund", f"unresolved for {p.hard_deadline_days} days")
    said_in(sent, "email warranty_reminder", f"must be resolved within {p.warranty_reminder_days} days")
    said_in(sent, "email decision_breached", f"within {p.decision_business_days} business days of it reaching us")
    said_in(sent, "email refund_paid", f"{changed.arrival[0]}–{changed.arrival[1]} business days")
    said_in(sent, "email return_authorized", f"send the item within {p.return_ship_days} days")
    said_in(sent, "email return_delivered", f"within {p.return_confirm_business_days} business days")


# --- before a claim: the get-help form, its refusals and the order page -------------------------------------


def test_the_get_help_form_and_the_order_page_say_the_current_numbers(client, changed, defaults):
    seller = SellerFactory()
    WarrantyPolicy.objects.filter(seller=seller).delete()  # the marketplace's default trial applies
    order = delivered_order(seller=seller)
    client.force_login(order.buyer)
    url = reverse("claims:get_help", kwargs={"number": order.number})
    p = changed.policy
    with time_machine.travel(OPENED_AT, tick=False):
        pages = {"get-help form": render(client, order.buyer, url),
                 "order page": render(client, order.buyer, reverse("orders:detail", kwargs={"number": order.number}))}
        undelivered = OrderFactory(seller=seller, buyer=order.buyer, estimated_delivery=OPENED_AT.date())
        OrderItemFactory(order=undelivered)
        ShipmentFactory(order=undelivered)
        other_url = reverse("claims:get_help", kwargs={"number": undelivered.number})
        other_item = str(undelivered.items.get().pk)
        pages["not received yet"] = client.post(other_url, {
            "items": [other_item], "reason": "not_received", "description": "Nothing came.",
            "desired_outcome": "refund"}).content.decode()
        pages["trial before delivery"] = client.post(other_url, {
            "items": [other_item], "reason": "trial_return", "description": "Not for me.",
            "desired_outcome": "refund"}).content.decode()

    # Discovered after the delivery, reported a day after the changed window.
    discovered = dt.date(2026, 3, 20)
    with time_machine.travel(dt.datetime(2026, 3 + p.defect_report_months, 21, 9, tzinfo=dt.UTC), tick=False):
        client.force_login(order.buyer)
        pages["defect reported too late"] = client.post(url, {
            "items": [str(order.items.get().pk)], "reason": "defective", "description": "It died.",
            "desired_outcome": "repair", "discovered_on": discovered.isoformat(), "photos": [photo()]}).content.decode()

    found = defaults_said(pages, defaults)
    assert not found, "default numbers said:\n" + "\n".join(found)
    said_in(pages, "get-help form", f"who has {p.first_reply_hours} hours to reply and "
                                    f"{p.resolution_business_days} business days to solve it")
    said_in(pages, "get-help form", f"Report it within {p.defect_report_months} months of noticing.")
    said_in(pages, "get-help form", f"Defects must be reported within {p.defect_report_months} months.")
    said_in(pages, "get-help form", f"doesn't respond within {p.resolution_business_days} business days")
    said_in(pages, "defect reported too late", f"reported within {p.defect_report_months} months of discovering")
    said_in(pages, "not received yet", f"we allow {p.non_delivery_buffer_business_days} business days for delays")
    said_in(pages, "trial before delivery", f"The {changed.trial_days}-day trial starts when you receive the item")
    delivered_on = dt.date(2026, 3, 5)
    with time_machine.travel(OPENED_AT, tick=False):  # the page wrote the day as of then (the year when another)
        changed_end, default_end = (formatting.day(delivered_on + dt.timedelta(days=terms.trial_days))
                                    for terms in (changed, defaults))
    said_in(pages, "order page", changed_end)
    assert default_end not in pages["order page"]


# --- a claim opened before the change -------------------------------------------------------------------------


def test_a_claim_opened_before_the_change_keeps_its_numbers(client, settings, defaults,
                                                            django_capture_on_commit_callbacks):
    market = Marketplace()
    with django_capture_on_commit_callbacks(execute=True):
        old = market.open("old")
    for name, value in CHANGED.items():
        setattr(settings, name, value)
    changed = Terms.now()
    with django_capture_on_commit_callbacks(execute=True):
        new = market.open("new")
    old_pages = {}
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        old_pages.update(claim_pages(client, market, old))
    first = old.first_reply_due_at
    for moment in (first - dt.timedelta(hours=defaults.policy.reminder_hours), first):
        with time_machine.travel(moment + MINUTE, tick=False), django_capture_on_commit_callbacks(execute=True):
            services.enforce_deadlines()
    with time_machine.travel(first + H, tick=False):
        old_pages.update({f"{k} (breached)": v for k, v in claim_pages(client, market, market.fresh("old")).items()})
        footer_now = render(client, market.buyer, reverse("orders:list"))
    old_emails = emails(OutboundEmail.objects.filter(claim=old))
    new_emails = emails(OutboundEmail.objects.filter(claim=new))

    d, p = defaults.policy, changed.policy
    # The old claim's own words keep its snapshot's numbers: the changed ones are said nowhere about it (the order
    # page is no claim's page: its footer says the current numbers).
    found = defaults_said({**{k: v for k, v in old_pages.items() if not k.startswith("order page")}, **old_emails},
                          changed)
    assert not found, "the old claim says the new numbers:\n" + "\n".join(found)
    said_in(old_pages, "buyer page", f"({d.first_reply_hours} hours after you opened the claim)")
    said_in(old_pages, "buyer page", f"doesn't respond within {d.resolution_business_days} business days")
    said_in(old_pages, "console page", f"The seller missed the {d.first_reply_hours}-hour reply deadline")
    said_in(old_emails, "email receipt", f"who has {d.first_reply_hours} hours to reply")
    said_in(old_emails, "email reminder_first_reply", f"within {d.reminder_hours} hours")
    said_in(old_emails, "email first_reply_breached", f"no reply from the seller in {d.first_reply_hours} hours")
    assert old.first_reply_due_at == old.opened_at + dt.timedelta(hours=d.first_reply_hours)
    # A claim opened after the change, and pages that are no claim's, say the current numbers.
    said_in(new_emails, "email receipt", f"who has {p.first_reply_hours} hours to reply")
    assert not defaults_said(new_emails, defaults)
    said_in({"order list": footer_now}, "order list",
            f"doesn't respond within {p.resolution_business_days} business days")
    assert Decimal(old.policy["dispute_fine"]) == d.dispute_fine


# --- the quotas of a claim and the message digest (issue 18): settings read when said -------------------------

QUOTAS_CHANGED = {"MESSAGES_PER_CLAIM_PER_HOUR": 7, "CLAIM_MAX_FILES": 13, "CLAIM_MAX_BYTES": 17 * 1024 * 1024,
                  "MESSAGE_DIGEST_MINUTES": 9}


def test_the_quotas_and_the_digest_say_the_current_settings(client, settings, django_capture_on_commit_callbacks):
    """The upload fields' help, the refusals and the digest say the changed numbers and never the defaults."""
    from django.template.defaultfilters import filesizeformat

    from claims.errors import ClaimError
    from claims.tests.factories import claim_world

    defaults = {name: getattr(settings, name) for name in QUOTAS_CHANGED}
    for name, value in QUOTAS_CHANGED.items():
        setattr(settings, name, value)
    world = claim_world("in_progress")
    start = OPENED_AT + 3 * H
    texts: dict[str, str] = {}
    with time_machine.travel(start, tick=False), django_capture_on_commit_callbacks(execute=True):
        texts["buyer page"] = render(client, world.buyer, reverse("claims:detail",
                                                                  kwargs={"number": world.claim.number}))
        texts["seller page"] = render(client, world.staff, reverse("sellers:claim",
                                                                   kwargs={"number": world.claim.number}))
        for n in range(7):
            services.post_message(claim=world.claim, by=world.buyer, body=f"Message {n}")
        with pytest.raises(ClaimError) as refusal:
            services.post_message(claim=world.claim, by=world.buyer, body="One too many")
        with pytest.raises(ClaimError) as file_refusal:  # the seller's side holds none of the claim's files yet
            services.post_message(claim=world.claim, by=world.staff, body="Our photos",
                                  attachments=[photo(f"p{n}.jpg") for n in range(14)])
    texts["message refusal"] = str(refusal.value)
    texts["file refusal"] = str(file_refusal.value)
    digest = OutboundEmail.objects.get(recipient=world.staff, event="message_digest")
    texts["digest"] = digest.body_text
    assert digest.send_after == start + 9 * MINUTE
    help_text = readable(f"You can add up to 13 files and {filesizeformat(17 * 1024 * 1024)} in all to a claim.")
    said_in(texts, "buyer page", help_text)
    said_in(texts, "seller page", help_text)
    said_in(texts, "message refusal", "You can post 7 messages an hour on a claim")
    said_in(texts, "file refusal", "Each side of a claim can add 13 files and you have added 0 already, so only 13 "
                                   "more files can be added.")
    said_in(texts, "digest", "within 9 minutes of our last email")
    default_phrases = [f"{defaults['MESSAGES_PER_CLAIM_PER_HOUR']} messages", f"{defaults['CLAIM_MAX_FILES']} files",
                       readable(filesizeformat(defaults["CLAIM_MAX_BYTES"])),
                       f"{defaults['MESSAGE_DIGEST_MINUTES']} minutes"]
    found = [f"{where}: {phrase}" for where, text in texts.items() for phrase in default_phrases
             if phrase in readable(text)]
    assert not found, found

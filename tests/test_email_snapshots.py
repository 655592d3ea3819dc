"""Every kind of email, word for word, in every language of the site, compared with its stored snapshot (issue 19:
"every email snapshot-tested in every language, HTML and text saying the same").

One world of fixed people, orders and moments (time-machine, frozen) is played through the services in each language
(en, de, pt, sk): the buyer and the seller's staff read that language. Each email it writes is rendered by the code
that sends it (the outbox rows of claims.notifications, the webhook and erasure emails, Django's password reset), and
its text and HTML part are compared with tests/email_snapshots/<kind>.<language>.txt and .html.

What changes from one run to the next is replaced before the comparison, so that the snapshots hold only what the
code writes: the random claim and return numbers (C-SNAP-1 …, R-SNAP-1 …), the signed tokens of links (TOKEN) and
database ids in links (ID).

When an email changes on purpose (or a translation arrives), write the snapshots again and review the diff:

    UPDATE_EMAIL_SNAPSHOTS=1 .venv/bin/python -m pytest -p no:cacheprovider tests/test_email_snapshots.py

Besides the snapshots, the HTML and the text part of every email must say the same (`test_html_and_text_say_the_same`)
and every email must carry what the issue found missing (`test_what_every_email_carries`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html as html_lib
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import erasure
from claims import services
from claims.models import Claim, OutboundEmail, ReturnAuthorization
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import photo
from claims.webhook_events import tell_endpoint_owners
from integrations.endpoints import new_secret
from integrations.models import WebhookEndpoint
from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
from sellers.models import MembershipRole, SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "de", "pt", "sk"]
SNAPSHOTS = Path(__file__).parent / "email_snapshots"
UPDATE = os.environ.get("UPDATE_EMAIL_SNAPSHOTS") == "1"

OPENED_AT = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 in Berlin
H, D = dt.timedelta(hours=1), dt.timedelta(days=1)

# Every kind of email, and the template it is written with: a template without a kind here fails
# `test_every_email_template_has_a_snapshot`.
KINDS = {
    "receipt": "claim_receipt",
    "opened": "claim_event",
    "message": "claim_event",
    "message_digest": "message_digest",
    "offer": "claim_event",
    "decided_refund.buyer": "claim_decided",
    "decided_refund.seller": "claim_decided",
    "decided_denied.buyer": "claim_decided",
    "decided_return.buyer": "claim_decided",
    "decided_return.seller": "claim_decided",
    "resolution": "claim_resolution",
    "satisfaction": "claim_satisfaction",
    "expert_costs": "claim_expert_costs",
    "webhook_disabled": "webhook_disabled",
    "erasure_refused": "erasure_refused",
    "password_reset": "registration/password_reset_email",
}


@dataclasses.dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str  # '' for an email without an HTML part (the password reset)
    claim_number: str = ""  # the claim it is about, as the snapshot writes it


# --- the world ---------------------------------------------------------------------------------------------------


class World:
    """The people and orders of the snapshots, with nothing left to chance: names, addresses, numbers and prices."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.buyer = UserFactory(username="erika", first_name="Erika", last_name="Mustermann",
                                 email="erika@example.org")
        self.seller = SellerFactory(display_name="Weber Electronics", slug="weber-electronics",
                                    legal_name="Weber Electronics GmbH", language=language)
        self.staff = UserFactory(username="jonas", first_name="Jonas", last_name="Weber", email="jonas@example.com")
        SellerMembership.objects.create(user=self.staff, seller=self.seller, role=MembershipRole.OWNER)
        self.agent = make_console_agent(username="alex", first_name="Alex", last_name="Agent", email="alex@example.net")
        self.orders = 0

    def order(self, title: str = "Refurbished phone X200") -> object:
        self.orders += 1
        order = OrderFactory(number=f"O-2026-000{self.orders}", buyer=self.buyer, seller=self.seller,
                             language=self.language, total=Decimal("199.00"), card_last4="4242",
                             payment_reference=f"pay_snap_{self.orders}")
        OrderItemFactory(order=order, title=title, sku=f"X200-{self.orders}", unit_price=Decimal("199.00"))
        ShipmentFactory(order=order, tracking_number=f"JJD000{self.orders}", delivered_to_order_address=True,
                        delivered_at=dt.datetime(2026, 3, 5, 12, 0, tzinfo=dt.UTC))
        return order

    def open(self, at: dt.datetime, description: str) -> Claim:
        order = self.order()
        with time_machine.travel(at, tick=False):
            return services.open_claim(order=order, buyer=self.buyer, reason="defective", description=description,
                                       desired_outcome="refund", discovered_on=at.date(), evidence=[photo()])


def row(claim: Claim, event: str, user: object) -> OutboundEmail:
    return OutboundEmail.objects.get(claim=claim, event=event, recipient=user)


def play(language: str) -> dict[str, Email]:
    """Every kind of email of the world in `language`, normalized (see the module's docstring)."""
    w = World(language)
    rows: dict[str, OutboundEmail] = {}

    # A: opened, answered in two messages a minute apart (the second joins the buyer's digest), an offer made.
    a = w.open(OPENED_AT, "The screen flickers after a few minutes.")
    rows["receipt"], rows["opened"] = row(a, "receipt", w.buyer), row(a, "opened", w.staff)
    with time_machine.travel(OPENED_AT + 2 * H, tick=False):
        services.reply(claim=a, by=w.staff, body="Sorry to hear that. Could you send a short video of it?")
    with time_machine.travel(OPENED_AT + 2 * H + dt.timedelta(minutes=1), tick=False):
        services.post_message(claim=Claim.objects.get(pk=a.pk), by=w.staff,
                              body="A photo of the label on the back would help too.")
    with time_machine.travel(OPENED_AT + 3 * H, tick=False):
        services.make_offer(claim=Claim.objects.get(pk=a.pk), by=w.staff, kind="full_refund")
    rows["message"] = row(a, "message", w.buyer)
    rows["message_digest"] = row(a, "message_digest", w.buyer)
    rows["offer"] = row(a, "offer", w.buyer)

    # B: escalated and refunded by the platform, which recovers it from the seller; resolved, so the written
    # resolution and the survey follow.
    b = w.open(OPENED_AT + 10 * H, "It does not charge any more.")
    with time_machine.travel(OPENED_AT + D, tick=False):
        services.escalate(claim=b, by=w.agent, reason="Seller inaction")
        services.decide(claim=Claim.objects.get(pk=b.pk), by=w.agent, outcome="refund", funded_by="platform")
    rows["decided_refund.buyer"] = row(b, "decided", w.buyer)
    rows["decided_refund.seller"] = row(b, "decided", w.staff)
    rows["resolution"] = row(b, "resolution", w.buyer)
    rows["satisfaction"] = row(b, "satisfaction", w.buyer)

    # C: denied; the buyer asks for an expert, who finds the claim unjustified: the costs are the buyer's.
    c = w.open(OPENED_AT + 11 * H, "The glass cracked on its own.")
    with time_machine.travel(OPENED_AT + D + H, tick=False):
        services.escalate(claim=c, by=w.agent, reason="Seller inaction")
        services.decide(claim=Claim.objects.get(pk=c.pk), by=w.agent, outcome="denied",
                        denial_reason="damage_after_receipt", note="The photos show an impact on the corner.")
    rows["decided_denied.buyer"] = row(c, "decided", w.buyer)
    with time_machine.travel(OPENED_AT + 2 * D, tick=False):
        assessment = services.request_expert_assessment(claim=Claim.objects.get(pk=c.pk), by=w.buyer)
    with time_machine.travel(OPENED_AT + 9 * D, tick=False):
        services.conclude_expert_assessment(assessment=assessment, by=w.agent, result="unjustified",
                                            expert="Lab Nord")
        services.add_expert_cost(assessment=assessment, by=w.agent, description="Expert's fee",
                                 amount="80.00")
        services.add_expert_cost(assessment=assessment, by=w.agent, description="Transport", amount="12.50")
        services.send_expert_costs(assessment=assessment, by=w.agent)
    rows["expert_costs"] = row(c, "expert_costs", w.buyer)

    # D: a repair decided: the item goes back to the seller first.
    d = w.open(OPENED_AT + 12 * H, "The camera does not focus.")
    with time_machine.travel(OPENED_AT + D + 2 * H, tick=False):
        services.escalate(claim=d, by=w.agent, reason="Seller inaction")
        services.classify_defect(claim=Claim.objects.get(pk=d.pk), by=w.agent, defect_type="removable")
        services.decide(claim=Claim.objects.get(pk=d.pk), by=w.agent, outcome="repair", funded_by="seller")
    rows["decided_return.buyer"] = row(d, "decided", w.buyer)
    rows["decided_return.seller"] = row(d, "decided", w.staff)

    # The seller's webhook endpoint, turned off; the buyer's erasure, refused while claims are open.
    endpoint = WebhookEndpoint.objects.create(seller=w.seller, url="https://erp.example.com/hooks",
                                              events=["claim.opened"], secret=new_secret(),
                                              disabled_at=OPENED_AT + 3 * D, disabled_reason="410 Gone")
    with time_machine.travel(OPENED_AT + 3 * D, tick=False):
        [rows["webhook_disabled"]] = OutboundEmail.objects.filter(
            pk__in=tell_endpoint_owners(endpoint, reason=endpoint.disabled_reason))
        request = erasure.request_erasure(user=w.buyer)
        erasure.refuse(request, by=w.agent, note="Claim A is still open; we keep its records until it is closed.")
    [rows["erasure_refused"]] = OutboundEmail.objects.filter(event=erasure.REFUSED_EMAIL_EVENT, recipient=w.buyer)

    claims = [Claim.objects.get(pk=claim.pk) for claim in (a, b, c, d)]
    numbers = {claim.number: f"C-SNAP-{n}" for n, claim in enumerate(claims, 1)}
    returns = ReturnAuthorization.objects.filter(claim__in=claims).order_by("pk").values_list("rma_number", flat=True)
    numbers |= {rma: f"R-SNAP-{n}" for n, rma in enumerate(returns, 1)}
    emails = {kind: Email(r.subject, r.body_text, r.body_html,
                          numbers.get(r.claim.number, "") if r.claim_id else "") for kind, r in rows.items()}
    emails["password_reset"] = password_reset(w)
    return {kind: normalized(email, numbers) for kind, email in emails.items()}


def password_reset(w: World) -> Email:
    """Django's password reset email as the site sends it (config.views.PasswordResetView), in the buyer's language."""
    mail.outbox.clear()
    with time_machine.travel(OPENED_AT + 4 * D, tick=False):
        response = Client(HTTP_ACCEPT_LANGUAGE=w.language).post(reverse("password_reset"),
                                                                 {"email": w.buyer.email})
    assert response.status_code == 302, response.status_code
    [message] = mail.outbox
    assert not message.alternatives and message.from_email.endswith("<support@localhost>")
    return Email(message.subject, message.body, "")


TOKEN_PATHS = [
    (re.compile(r"/claims/survey/[^/\s\"'<>]+/"), "/claims/survey/TOKEN/"),
    (re.compile(r"/email/unsubscribe/[^/\s\"'<>]+/"), "/email/unsubscribe/TOKEN/"),
    (re.compile(r"/accounts/reset/[^/\s\"'<>]+/[^/\s\"'<>]+/"), "/accounts/reset/UID/TOKEN/"),
    (re.compile(r"/admin/([a-z_]+)/([a-z_]+)/\d+/"), r"/admin/\1/\2/ID/"),
]


def normalized(email: Email, numbers: dict[str, str]) -> Email:
    def clean(text: str) -> str:
        for real, fixed in numbers.items():
            text = text.replace(real, fixed)
        for pattern, fixed in TOKEN_PATHS:
            text = pattern.sub(fixed, text)
        return text

    return Email(clean(email.subject), clean(email.text), clean(email.html), email.claim_number)


_PLAYED: dict[str, dict[str, Email]] = {}


def emails_in(language: str) -> dict[str, Email]:
    """The world's emails in `language`: played once per run (its emails are plain text, kept for the other tests of
    the same language; each test's database is rolled back as usual)."""
    if language not in _PLAYED:
        _PLAYED[language] = play(language)
    return _PLAYED[language]


# --- the snapshots ---------------------------------------------------------------------------------------------


def snapshot_text(email: Email) -> str:
    return f"Subject: {email.subject}\n\n{email.text}"


def compare(path: Path, actual: str, problems: list[str]) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        problems.append(f"{path.name}: no snapshot (write it with UPDATE_EMAIL_SNAPSHOTS=1)")
    elif path.read_text(encoding="utf-8") != actual:
        expected = path.read_text(encoding="utf-8").splitlines()
        got = actual.splitlines()
        first = next((i for i, (e, g) in enumerate(zip(expected, got, strict=False)) if e != g),
                     min(len(expected), len(got)))
        problems.append(f"{path.name}, line {first + 1}:\n  stored: {expected[first:first + 1]}\n"
                        f"  now:    {got[first:first + 1]}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_email_matches_its_snapshot(language):
    emails = emails_in(language)
    assert set(emails) == set(KINDS)
    problems: list[str] = []
    for kind, email in emails.items():
        compare(SNAPSHOTS / f"{kind}.{language}.txt", snapshot_text(email), problems)
        if email.html:
            compare(SNAPSHOTS / f"{kind}.{language}.html", email.html, problems)
    assert not problems, ("emails differ from their snapshots (if on purpose, write them again with "
                          "UPDATE_EMAIL_SNAPSHOTS=1 and review the diff):\n" + "\n".join(problems))


def test_every_email_template_has_a_snapshot():
    """A new email template fails here until it is given a kind above (and so a snapshot in every language)."""
    templates = {path.stem for path in (Path(__file__).parents[1] / "templates" / "emails").glob("*.html")}
    assert templates - {"base"} == {t for t in KINDS.values() if not t.startswith("registration/")}


def test_the_snapshots_are_of_every_language():
    for kind, template in KINDS.items():
        for language in LANGUAGES:
            assert (SNAPSHOTS / f"{kind}.{language}.txt").exists(), (kind, language)
            if not template.startswith("registration/"):
                assert (SNAPSHOTS / f"{kind}.{language}.html").exists(), (kind, language)


# --- the HTML and the text say the same ------------------------------------------------------------------------

LINK = re.compile(r"<a\s[^>]*href=\"([^\"]*)\"[^>]*>(.*?)</a>", re.S)
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.U)


def visible(html: str) -> str:
    """What a person reads of an HTML email, one line: the body without its tags, each link as "label address"
    (the text part writes "label: address"), entities decoded, whitespace collapsed."""
    body = re.sub(r"(?is)<head>.*?</head>", " ", html)
    body = LINK.sub(lambda m: f" {m.group(2)} {html_lib.unescape(m.group(1))} ", body)
    body = re.sub(r"<[^>]+>", " ", body)
    body = re.sub(r"\s+", " ", html_lib.unescape(body)).strip()
    return re.sub(r" ([,.;:!?])", r"\1", body)  # "<strong>The seller</strong>, …": no space before the comma


def pieces(text: str) -> list[str]:
    """The text part in the pieces the HTML must show each of: every line, without a list's "- ", cut at ": " (a
    label and its value are a table row, a link's words and its address an <a>)."""
    found = []
    for line in text.splitlines():
        line = re.sub(r"\s+", " ", line).strip()
        line = line[2:] if line.startswith("- ") else line
        found += [piece.strip().rstrip(":") for piece in line.split(": ") if piece.strip().rstrip(":")]
    return found


def differences(email: Email) -> list[str]:
    """What one part says that the other does not: each piece of the text missing from the HTML, and each word of
    the HTML's visible text missing from the text part."""
    shown = visible(email.html)
    missing = [f"text only: {piece!r}" for piece in pieces(email.text) if piece not in shown]
    text_words = set(WORD.findall(email.text))
    missing += [f"HTML only: {word!r}" for word in dict.fromkeys(WORD.findall(shown)) if word not in text_words]
    return missing


@pytest.mark.parametrize("language", LANGUAGES)
def test_html_and_text_say_the_same(language):
    problems = [f"{kind}: {problem}" for kind, email in emails_in(language).items() if email.html
                for problem in differences(email)]
    assert not problems, "\n".join(problems)


def test_the_comparison_finds_a_sentence_missing_from_either_part():
    """The check above can fail: a sentence left out of the text, or out of the HTML, is found."""
    html = ("<html><head><title>Claim C-1</title></head><body><p>Hello Erika,</p><p>The claim was decided.</p>"
            "<table><tr><th>Amount</th><td>€199.00</td></tr></table><p><a href=\"https://x.test/c/\">Open the claim"
            "</a></p></body></html>")
    text = "Hello Erika,\n\nThe claim was decided.\n\nAmount: €199.00\n\nOpen the claim: https://x.test/c/\n"
    assert differences(Email("s", text, html)) == []
    assert differences(Email("s", text + "Keep this email.\n", html)) == ["text only: 'Keep this email.'"]
    assert differences(Email("s", text, html.replace("</body>", "<p>Appeal until Friday.</p></body>"))) == [
        "HTML only: 'Appeal'", "HTML only: 'until'", "HTML only: 'Friday'"]
    assert differences(Email("s", text.replace("https://x.test/c/", "https://x.test/d/"), html)) == [
        "text only: 'https://x.test/d/'", "HTML only: 'c'"]


# --- what every email carries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_what_every_email_carries(language, settings):
    """The claim's number in the footer of every email about a claim (the issue: "…take part in claim ."), the
    marketplace's name, the page's language, and links that all start with SITE_URL."""
    site = settings.SITE_URL.rstrip("/")
    for kind, email in emails_in(language).items():
        # the footer: the HTML's <div id="footer">, the text's last paragraph
        footers = {"text": [p for p in email.text.split("\n\n") if p.strip()][-1],
                   "html": email.html.partition('id="footer"')[2]}
        for part, body in (("text", email.text), ("html", email.html)):
            if not body:
                continue
            if email.claim_number:
                assert email.claim_number in footers[part], (kind, part, footers[part])
            assert settings.MARKETPLACE_NAME in body, (kind, part)
            assert not re.search(r"\b(claim|Reklamation|reclamação|reklamácii?)\s+\.", body, re.I), (kind, part)
            links = re.findall(r"https?://[^\s\"'<>]+", body) + re.findall(r"href=\"([^\"]*)\"", body)
            # (the webhook email names the endpoint it turned off: the seller's own address, not a link of ours)
            ours = [link for link in links if link != "https://erp.example.com/hooks"]
            assert ours and all(link.startswith(site) for link in ours), (kind, part, links)
        if email.html:
            assert f'<html lang="{language}">' in email.html, kind

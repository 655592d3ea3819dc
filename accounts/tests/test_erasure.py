"""Erasure (issue 18): "personal data pseudonymized (name, email, addresses, personal content of messages) while
amounts, the ledger and the transition log stay", "erasure leaves the ledger and log intact and no personal data in
any table or email row (checked by searching the database for the buyer's name and email)".

A buyer with a rich history (three claims: offers declined and countered, messages with files, an escalation, the
platform's question answered, a platform-funded refund paid, a denial appealed and upheld, a return with its tracking,
survey comments, emails sent and waiting, notifications, login counters, a session, an email setting, a stored API
answer, a console log line about the account) is erased; then every text column of every table is searched for their
first name, last name, email and username. The ledger, refunds and their lines, the transition log and the audit log
are compared row for row before and after.

The transition log keeps every step; only its `reason` loses the person: their own reasons replaced, their names
blanked out of others' (the one redaction that append-only log allows).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.files.storage import default_storage
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import erasure
from accounts.models import ErasureRequest, ErasureState
from claims import notifications, services
from claims.models import (
    Claim,
    ClaimTransition,
    EmailPreference,
    Evidence,
    ExpertAssessment,
    Message,
    OutboundEmail,
    Refund,
    RefundEvent,
    RefundLine,
)
from claims.tests.admin_factories import make_console_agent, make_finance
from claims.tests.factories import delivered_order, open_defective_claim, photo
from core.models import AuditEvent, AuditKind
from core.usernames import normalize_username
from integrations.keys import create_api_key
from integrations.models import IdempotencyRecord
from sellers.models import LedgerEntry, SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

FIRST, LAST = "Zelphine", "Quarrington"
EMAIL = "zelphine.quarrington@example.net"
USERNAME = "zelphine.q"
STREET = "Quarrington Hof 7"
NEEDLES = (FIRST, LAST, EMAIL, USERNAME)
T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in Berlin
H, D = dt.timedelta(hours=1), dt.timedelta(days=1)
SIGNED = f"Regards, {FIRST} {LAST} ({EMAIL})"


def at(moment: dt.datetime) -> Any:
    return time_machine.travel(moment, tick=False)


class World:
    """The buyer and everything around them (module docstring)."""

    def __init__(self) -> None:
        self.buyer = UserFactory(username=USERNAME, email=EMAIL, first_name=FIRST, last_name=LAST)
        self.seller = SellerFactory()
        self.staff = UserFactory(first_name="Sam", last_name="Seller")
        SellerMembership.objects.create(user=self.staff, seller=self.seller, role="staff")
        self.agent = make_console_agent(first_name="Ada", last_name="Agent")
        self.colleague = make_console_agent(first_name="Carl", last_name="Colleague")
        self.finance = make_finance()
        self.other_buyer = UserFactory(first_name="Otto", last_name="Other")
        self.escalated_claim()
        self.appealed_claim()
        self.returned_claim()
        self.surroundings()

    def order(self, at_: dt.datetime) -> Any:
        return delivered_order(seller=self.seller, buyer=self.buyer, delivered_at=at_ - 5 * D,
                               delivery_name=f"{FIRST} {LAST}", delivery_line1=STREET, delivery_line2="c/o Quarrington",
                               delivery_postal_code="10115", delivery_city="Berlin")

    def escalated_claim(self) -> None:
        """Offer declined, counter-offer declined, messages with files, escalated, question answered, refunded by the
        platform (the ledger recovers it from the seller), paid, both survey comments."""
        claim = open_defective_claim(at=T0, order=self.order(T0), reason="not_as_described",
                                     description=f"The hinge is cracked. {SIGNED}",
                                     evidence=[photo(f"{FIRST.lower()}-{LAST.lower()}-hinge.jpg")])
        with at(T0 + H):
            services.reply(claim=claim, by=self.staff, body=f"Dear Ms {LAST}, sorry to hear that.")
            offer = services.make_offer(claim=claim, by=self.staff, kind="partial_refund", amount=Decimal("20.00"),
                                        note=f"{FIRST}, we can offer this.")
        with at(T0 + 2 * H):
            services.decline_offer(offer=offer, by=self.buyer, reason=f"Too little. {FIRST}")
            counter = services.counter_offer(claim=claim, by=self.buyer, kind="full_refund",
                                             note=f"A full refund, please. {SIGNED}")
        with at(T0 + 3 * H):
            services.decline_counter_offer(offer=counter, by=self.staff, reason=f"Sorry {FIRST}, no.")
            services.post_message(claim=claim, by=self.buyer, body=f"Here is another photo. {SIGNED}",
                                  attachments=[photo("IMG_0001.jpg")])
        with at(T0 + 3 * D):  # past the first-reply deadline: the buyer may ask the platform
            services.escalate(claim=claim, by=self.buyer, reason=f"The seller will not help. {FIRST} {LAST}")
            services.request_info(claim=claim, by=self.agent, party="buyer", question=f"Ms {LAST}, when did it start?")
        with at(T0 + 3 * D + H):
            services.provide_info(claim=claim, by=self.buyer, body=f"On the first day. {SIGNED}",
                                  attachments=[photo("receipt.jpg")])
            services.post_message(claim=claim, by=self.agent, body=f"Note: {FIRST} called us.", internal=True)
        with at(T0 + 4 * D):
            services.decide(claim=claim, by=self.agent, outcome="refund", funded_by="platform",
                            note=f"Refund for {FIRST} {LAST}, the photos are clear.")
        refund = Refund.objects.get(claim=claim)
        with at(T0 + 5 * D):
            services.mark_refund_paid(refund=refund, reference="PAY-77", by=self.finance)
            services.record_satisfaction(claim=claim, party="buyer", rating=2, comment=f"Slow. {SIGNED}")
            services.record_satisfaction(claim=claim, party="seller", rating=4, comment=f"{LAST} was polite.")
        self.first = Claim.objects.get(pk=claim.pk)

    def appealed_claim(self) -> None:
        """Denied, appealed by the buyer, upheld by another agent."""
        start = T0 + 10 * D
        claim = open_defective_claim(at=start, order=self.order(start), reason="not_as_described",
                                     description=f"Wrong colour. {SIGNED}")
        with at(start + H):
            services.escalate(claim=claim, by=self.agent, reason="Seller inaction")
            services.decide(claim=claim, by=self.agent, outcome="denied", denial_reason="as_described")
        with at(start + 2 * D):
            services.appeal(claim=claim, by=self.buyer, reason=f"The listing said red. {FIRST} {LAST}")
        claim = Claim.objects.get(pk=claim.pk)
        with at(start + 3 * D):
            services.uphold_appeal(claim=claim, by=claim.assigned_to, note=f"Ms {LAST}, the listing said maroon.")
        self.second = Claim.objects.get(pk=claim.pk)

    def returned_claim(self) -> None:
        """A return for a refund: the seller's address, the buyer's tracking, received, refunded by the seller."""
        start = T0 + 20 * D
        claim = open_defective_claim(at=start, order=self.order(start), description=f"Broken. {SIGNED}")
        with at(start + H):
            offer = services.make_offer(claim=claim, by=self.staff, kind="return_for_refund",
                                        return_instructions=f"Returns desk, attn. {LAST} case, Depot St 1, Berlin")
            services.accept_offer(offer=offer, by=self.buyer)
        with at(start + D):
            services.add_return_tracking(claim=claim, by=self.buyer, carrier="DHL", tracking_number="JJD000390007")
        with at(start + 4 * D):
            services.receive_return(claim=claim, by=self.staff, inspection_result="as_expected",
                                    note=f"Received from {FIRST} {LAST}.")
        with at(start + 5 * D):
            services.mark_refund_paid(refund=Refund.objects.get(claim=claim), reference="PAY-78", by=self.finance)
        self.third = Claim.objects.get(pk=claim.pk)

    def surroundings(self) -> None:
        """Emails (most sent, some waiting), a login counter, a session, an email setting, a stored API answer with
        the shop's order, a console log line, and the buyer's own audit lines."""
        waiting = list(OutboundEmail.objects.filter(sent_at__isnull=True).order_by("id").values_list("pk", flat=True))
        for pk in waiting[:-3]:  # the last three stay in the outbox
            notifications.deliver(pk)
        assert OutboundEmail.objects.filter(sent_at__isnull=False, to_email=EMAIL).exists()
        assert OutboundEmail.objects.filter(sent_at__isnull=True).exists()
        AccessAttempt.objects.create(username=USERNAME, ip_address="203.0.113.9", user_agent="Firefox",
                                     get_data="", post_data=f"username={USERNAME}", http_accept="*/*",
                                     path_info="/accounts/login/", failures_since_start=2)
        self.client = Client()
        self.client.force_login(self.buyer)
        EmailPreference.objects.create(user=self.buyer, kind="surveys", enabled=False)
        shop_key = create_api_key(name="Shop", seller=None, scope="write")[0]
        IdempotencyRecord.objects.create(
            api_key=shop_key, key="order-1", method="POST", path="/api/v1/shop/orders", request_hash="x" * 64,
            status_code=201, content_type="application/json",
            response_body=f'{{"buyer": {{"email": "{EMAIL}", "name": "{FIRST} {LAST}"}}}}'.encode())
        IdempotencyRecord.objects.create(api_key=shop_key, key="other", method="POST", path="/api/v1/shop/orders",
                                         request_hash="y" * 64, status_code=201, response_body=b'{"buyer": {}}')
        LogEntry.objects.create(user=self.agent, content_type=ContentType.objects.get_for_model(get_user_model()),
                                object_id=str(self.buyer.pk), object_repr=USERNAME, action_flag=CHANGE,
                                change_message=f"Changed email to {EMAIL}.")
        self.request = erasure.request_erasure(user=self.buyer)


# --- the search ----------------------------------------------------------------------------------------------------


def text_fields(model: type[models.Model]) -> list[models.Field]:
    return [field for field in model._meta.concrete_fields
            if isinstance(field, (models.CharField, models.TextField, models.JSONField, models.BinaryField))]


def occurrences(needles: tuple[str, ...] = NEEDLES) -> list[tuple[str, str, str]]:
    """(model, field, needle) for every text, JSON or binary column of every table that contains a needle (any
    case)."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in text_fields(model):
            for needle in needles:
                if isinstance(field, models.BinaryField):
                    hit = any(needle.lower().encode() in bytes(value).lower()
                              for value in model._base_manager.values_list(field.attname, flat=True) if value)
                else:
                    hit = model._base_manager.filter(**{f"{field.attname}__icontains": needle}).exists()
                if hit:
                    found.append((model._meta.label_lower, field.name, needle))
    return found


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """The rows the erasure must leave exactly as they were."""
    return {model._meta.label: list(model.objects.order_by("pk").values())
            for model in (LedgerEntry, Refund, RefundLine, RefundEvent, ClaimTransition, AuditEvent)}


def stored_files(claims: list[Claim]) -> list[str]:
    return [name for e in Evidence.objects.filter(claim__in=claims) for name in (e.file.name, e.thumbnail.name)
            if name]


def test_erasure_leaves_no_trace_of_the_person_but_keeps_money_and_the_logs():
    world = World()
    claims = [world.first, world.second, world.third]
    before = snapshot()
    assert {needle for _model, _field, needle in occurrences()} == set(NEEDLES)  # the search finds what is there
    buyer_files = [name for e in Evidence.objects.filter(uploaded_by=world.buyer)
                   for name in (e.file.name, e.thumbnail.name) if name]
    others_files = [name for e in Evidence.objects.filter(claim__in=claims).exclude(uploaded_by=world.buyer)
                    for name in (e.file.name, e.thumbnail.name) if name]
    assert len(buyer_files) >= 4 and all(default_storage.exists(name) for name in buyer_files)
    unsent = OutboundEmail.objects.filter(sent_at__isnull=True).count()

    with at(T0 + 40 * D):
        counts = erasure.erase(world.request, by=world.agent)

    # Nothing names the person any more, the transition log's reasons included.
    assert occurrences() == []
    # The steps themselves stay; the buyer's own reasons are replaced as a whole, others' keep their words.
    reasons = dict(ClaimTransition.objects.filter(claim__in=claims).values_list("pk", "reason"))
    for row in before["claims.ClaimTransition"]:
        if row["actor_id"] == world.buyer.pk and row["reason"]:
            assert reasons[row["id"]] == erasure._erased_text()
        elif row["reason"] and not any(needle.lower() in row["reason"].lower() for needle in NEEDLES):
            assert reasons[row["id"]] == row["reason"]
        row["reason"] = reasons[row["id"]]
    # A decision's note addressed to the buyer by name keeps its words, without the name.
    assert any("[erased]" in reason for reason in ClaimTransition.objects.filter(claim__in=claims, name="decide")
               .values_list("reason", flat=True))

    # The money and the logs: every row as it was; the audit log has one line more, the erasure's.
    after = snapshot()
    new_audit = after["core.AuditEvent"][len(before["core.AuditEvent"]):]
    after["core.AuditEvent"] = after["core.AuditEvent"][:len(before["core.AuditEvent"])]
    assert after == before
    assert [(row["kind"], row["subject_user_id"], row["actor_id"]) for row in new_audit] == [
        (AuditKind.ERASURE_DONE, world.buyer.pk, world.agent.pk)]
    assert new_audit[0]["details"]["files"] == counts.files == Evidence.objects.filter(uploaded_by=world.buyer).count()

    # The account: pseudonymous, unusable, logged out everywhere.
    buyer = get_user_model().objects.get(pk=world.buyer.pk)
    assert (buyer.username, buyer.email, buyer.first_name, buyer.last_name, buyer.is_active) == (
        f"erased-{buyer.pk}", "", "", "", False)
    assert not buyer.has_usable_password()
    assert not Session.objects.filter(session_key=world.client.session.session_key).exists()
    assert world.client.get("/orders/").status_code == 302  # the session is gone: the login page
    assert not AccessAttempt.objects.exists() and not EmailPreference.objects.filter(user=buyer).exists()
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["other"]

    # Files: the buyer's are gone from the storage, the rows say so; the seller's stay.
    assert not any(default_storage.exists(name) for name in buyer_files)
    assert all(default_storage.exists(name) for name in others_files)
    assert not Evidence.objects.filter(uploaded_by=buyer, purged_at__isnull=True).exists()
    assert set(Evidence.objects.filter(uploaded_by=buyer).values_list("file", "thumbnail", "original_name")) == {
        ("", "", "")}

    # Orders keep their numbers, amounts and country.
    for order in buyer.orders.all():
        assert (order.delivery_name, order.delivery_city, order.delivery_country) == ("[erased]", "[erased]", "DE")
        assert order.total == Decimal("199.00")

    # The buyer's texts are replaced; others' texts keep their content without the name.
    assert set(Message.objects.filter(author=buyer).values_list("body", flat=True)) == {
        "This message was deleted at its author's request."}
    assert not Message.objects.filter(author=buyer, erased_at__isnull=True).exists()
    reply = Message.objects.get(claim=world.first, author=world.staff, body__startswith="Dear")
    assert reply.body == "Dear Ms [erased], sorry to hear that."
    assert Claim.objects.get(pk=world.first.pk).decision_note == "Refund for [erased], the photos are clear."

    # Emails: those waiting were deleted, those sent keep who got which event when, not the content or the address.
    assert OutboundEmail.objects.filter(sent_at__isnull=True).count() < unsent
    sent = OutboundEmail.objects.filter(claim__in=claims)
    assert sent.exists() and not sent.filter(sent_at__isnull=True).exists()
    assert set(sent.filter(recipient=buyer).values_list("to_email", flat=True)) == {""}
    assert set(sent.values_list("body_text", flat=True)) == {
        "The content of this email was deleted when the buyer's personal data was erased."}
    assert sent.exclude(recipient=buyer).filter(to_email=world.staff.email).exists()

    request = ErasureRequest.objects.get(pk=world.request.pk)
    assert (request.state, request.processed_by, request.processed_at) == (ErasureState.DONE, world.agent,
                                                                           T0 + 40 * D)


def test_erasing_twice_is_refused_and_changes_nothing():
    world = World()
    erasure.erase(world.request, by=world.agent)
    before = snapshot()
    with pytest.raises(erasure.ErasureError, match="already processed") as refused:
        erasure.erase(world.request, by=world.agent)
    assert refused.value.code == "state"
    assert snapshot() == before


# --- what stands in the way ----------------------------------------------------------------------------------------


def test_an_open_claim_refuses_the_erasure_and_names_the_claim():
    buyer = UserFactory(first_name=FIRST, last_name=LAST)
    claim = open_defective_claim(order=delivered_order(buyer=buyer))
    resolved = open_defective_claim(order=delivered_order(buyer=buyer))
    with at(T0 + H):
        services.close(claim=resolved, by=buyer)
    request = erasure.request_erasure(user=buyer)
    agent = make_console_agent()
    with pytest.raises(erasure.ErasureError) as refused:
        erasure.erase(request, by=agent)
    assert refused.value.code == "state"
    assert f"Claim {claim.number} is not closed yet." in str(refused.value)
    assert resolved.number not in str(refused.value)
    buyer.refresh_from_db()
    assert (buyer.first_name, buyer.is_active) == (FIRST, True)
    assert ErasureRequest.objects.get(pk=request.pk).state == ErasureState.PENDING
    assert not AuditEvent.objects.filter(kind=AuditKind.ERASURE_DONE).exists()


def test_an_unpaid_refund_and_unsettled_expert_costs_refuse_the_erasure():
    buyer = UserFactory(first_name=FIRST, last_name=LAST)
    agent = make_console_agent()
    claim = open_defective_claim(at=T0, order=delivered_order(buyer=buyer), reason="not_as_described")
    with at(T0 + H):
        services.escalate(claim=claim, by=agent, reason="Seller inaction")
        services.decide(claim=claim, by=agent, outcome="refund", funded_by="seller")
    claim = Claim.objects.get(pk=claim.pk)
    assert claim.state == "resolved" and claim.refunds.get().status == "pending"
    assert erasure.blockers(buyer) == [f"A refund on claim {claim.number} has not been paid yet."]
    services.mark_refund_paid(refund=claim.refunds.get(), reference="PAY-1", by=make_finance())
    assert erasure.blockers(buyer) == []
    ExpertAssessment.objects.create(claim=claim, stage="after_denial", requested_by=buyer, requested_by_party="buyer",
                                    costs_sent_at=T0 + 2 * D, costs_due_on=(T0 + 32 * D).date())
    assert erasure.blockers(buyer) == [f"The expert's costs on claim {claim.number} are not settled yet."]
    with pytest.raises(erasure.ErasureError, match="expert's costs"):
        erasure.erase(erasure.request_erasure(user=buyer), by=agent)


def test_staff_accounts_are_not_erased_through_the_form():
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=SellerFactory(), role="owner")
    with pytest.raises(erasure.ErasureError) as refused:
        erasure.request_erasure(user=staff)
    assert refused.value.code == "forbidden"
    assert erasure.blockers(staff)[0].startswith("This account works for a seller or for the platform.")
    assert not ErasureRequest.objects.exists()


def test_only_the_support_team_processes_requests():
    buyer = UserFactory()
    request = erasure.request_erasure(user=buyer)
    for person in (buyer, UserFactory(is_staff=True), make_finance()):
        with pytest.raises(erasure.ErasureError) as refused:
            erasure.erase(request, by=person)
        assert refused.value.code == "forbidden"
        with pytest.raises(erasure.ErasureError):
            erasure.refuse(request, by=person, note="No.")
    assert ErasureRequest.objects.get(pk=request.pk).state == ErasureState.PENDING


# --- asking, and refusing ------------------------------------------------------------------------------------------


def test_one_pending_request_per_person_with_a_clear_message():
    buyer = UserFactory()
    with at(T0):
        first = erasure.request_erasure(user=buyer)
        with pytest.raises(erasure.ErasureError) as again:
            erasure.request_erasure(user=buyer)
    assert again.value.code == "conflict"
    assert str(again.value) == ("You already asked on Tue 10 Mar. Our support team will process that request by "
                                "Fri 10 Apr; there is no need to ask again.")
    assert erasure.answer_due(first) == dt.date(2026, 4, 10)
    assert list(AuditEvent.objects.values_list("kind", "actor", "subject_user", "object_id")) == [
        (AuditKind.ERASURE_REQUESTED, buyer.pk, buyer.pk, str(first.pk))]


def test_a_refusal_needs_a_note_emails_it_and_the_person_may_ask_again():
    buyer = UserFactory(first_name=FIRST, email=EMAIL)
    delivered_order(buyer=buyer, language="de")
    agent = make_console_agent()
    request = erasure.request_erasure(user=buyer)
    with pytest.raises(erasure.ErasureError, match="Please write why"):
        erasure.refuse(request, by=agent, note="   ")
    assert ErasureRequest.objects.get(pk=request.pk).state == ErasureState.PENDING
    refused = erasure.refuse(request, by=agent, note="Your claim C-1 is still open.")
    assert (refused.state, refused.processed_by, refused.note) == (ErasureState.REFUSED, agent,
                                                                   "Your claim C-1 is still open.")
    [email] = OutboundEmail.objects.filter(event=erasure.REFUSED_EMAIL_EVENT)
    assert (email.to_email, email.recipient, email.language, email.claim) == (EMAIL, buyer, "de", None)
    assert "Your claim C-1 is still open." in email.body_text and "Your claim C-1 is still open." in email.body_html
    assert FIRST in email.body_text  # greeted by name, in the language they shopped in
    assert AuditEvent.objects.filter(kind=AuditKind.ERASURE_REFUSED, actor=agent, subject_user=buyer).count() == 1
    with pytest.raises(erasure.ErasureError, match="already processed"):
        erasure.refuse(refused, by=agent, note="Again.")
    assert erasure.request_erasure(user=buyer).state == ErasureState.PENDING  # asked again


# --- the privacy page ----------------------------------------------------------------------------------------------


def test_the_buyer_asks_on_their_privacy_page_and_is_told_when(client):
    buyer = UserFactory()
    client.force_login(buyer)
    url = reverse("accounts:erasure_request")
    with at(T0):
        assert client.get(url).status_code == 405
        response = client.post(url, follow=True)
    page = response.content.decode()
    assert response.redirect_chain == [(reverse("accounts:privacy"), 302)]
    assert "Our support team will erase your personal data by Fri 10 Apr" in page
    assert "You asked us to erase your data on Tue 10 Mar." in page and url not in page  # no second button
    with at(T0 + D):
        again = client.post(url, follow=True).content.decode()
    assert "You already asked on Tue 10 Mar." in again
    assert ErasureRequest.objects.filter(user=buyer).count() == 1
    [event] = AuditEvent.objects.filter(kind=AuditKind.ERASURE_REQUESTED)
    assert (event.actor, event.ip_address) == (buyer, "127.0.0.1")


def test_a_refused_request_is_shown_with_its_note_and_may_be_asked_again(client):
    buyer = UserFactory()
    request = erasure.request_erasure(user=buyer)
    erasure.refuse(request, by=make_console_agent(), note="Your claim is still open.\nAsk again once it is closed.")
    client.force_login(buyer)
    page = client.get(reverse("accounts:privacy")).content.decode()
    assert "was refused on" in page and "Your claim is still open." in page
    assert reverse("accounts:erasure_request") in page


# --- the console ---------------------------------------------------------------------------------------------------


def console_list(client: Client) -> list[int]:
    page = client.get(reverse("admin:accounts_erasurerequest_changelist")).content.decode()
    return [int(pk) for pk in re.findall(r'href="/admin/accounts/erasurerequest/(\d+)/change/', page)]


def test_the_console_lists_waiting_requests_first_with_the_persons_claims(client):
    agent = make_console_agent()
    people = [UserFactory(first_name="Ann", last_name=f"Person{n}", email=f"ann{n}@example.org") for n in range(3)]
    with at(T0):
        done = erasure.request_erasure(user=people[0])
    erasure.erase(done, by=agent)
    with at(T0 + D):
        later = erasure.request_erasure(user=people[1])
    with at(T0 + H):
        sooner = erasure.request_erasure(user=people[2])
    open_defective_claim(order=delivered_order(buyer=people[1]))
    client.force_login(agent)
    assert console_list(client) == [sooner.pk, later.pk, done.pk]
    page = client.get(reverse("admin:accounts_erasurerequest_changelist")).content.decode()
    assert "ann1@example.org" not in page and "Ann P. · a***@e***.org" in page  # masked in the list
    assert f"erased-{people[0].pk}" in page

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("admin:accounts_erasurerequest_changelist")).status_code == 200
        return len(captured)

    before = queries()
    for n in range(5):
        erasure.request_erasure(user=UserFactory(email=f"more{n}@example.org"))
    assert queries() == before
    found = client.get(reverse("admin:accounts_erasurerequest_changelist"), {"q": "ANN1@example.org"})
    assert re.findall(r'href="/admin/accounts/erasurerequest/(\d+)/change/', found.content.decode()) == [
        str(later.pk)]


def test_an_agent_erases_from_the_console_and_is_told_what_stands_in_the_way(client):
    agent = make_console_agent()
    buyer = UserFactory(first_name=FIRST, last_name=LAST, email=EMAIL)
    claim = open_defective_claim(order=delivered_order(buyer=buyer))
    request = erasure.request_erasure(user=buyer)
    client.force_login(agent)
    page = client.get(reverse("admin:accounts_erasurerequest_change", args=[request.pk])).content.decode()
    assert f"Claim {claim.number} is not closed yet." in page and EMAIL in page
    act = reverse("admin:accounts_erasurerequest_act", kwargs={"object_id": request.pk, "action": "erase"})
    assert act in page
    assert client.post(act, {}).status_code == 400  # the confirmation box is required
    refused = client.post(act, {"confirm": "on"}, follow=True).content.decode()
    assert f"Claim {claim.number} is not closed yet." in refused
    assert ErasureRequest.objects.get(pk=request.pk).state == ErasureState.PENDING
    with at(T0 + H):
        services.close(claim=claim, by=buyer)
    response = client.post(act, {"confirm": "on"}, follow=True)
    assert "personal data was erased. Their account can no longer be used." in response.content.decode()
    assert ErasureRequest.objects.get(pk=request.pk).state == ErasureState.DONE
    assert get_user_model().objects.get(pk=buyer.pk).username == f"erased-{buyer.pk}"
    assert LogEntry.objects.filter(object_id=str(request.pk), change_message__startswith="Erased").exists()
    # processed: no more buttons, and the action refuses
    page = client.get(reverse("admin:accounts_erasurerequest_change", args=[request.pk])).content.decode()
    assert act not in page and EMAIL not in page


def test_an_agent_refuses_with_a_note(client):
    agent = make_console_agent()
    request = erasure.request_erasure(user=UserFactory())
    client.force_login(agent)
    act = reverse("admin:accounts_erasurerequest_act", kwargs={"object_id": request.pk, "action": "refuse"})
    assert client.post(act, {"note": ""}).status_code == 400
    client.post(act, {"note": "A refund to you is still on its way."})
    request.refresh_from_db()
    assert (request.state, request.note, request.processed_by) == (ErasureState.REFUSED,
                                                                   "A refund to you is still on its way.", agent)


def test_nobody_adds_edits_or_deletes_requests_and_finance_sees_none(client):
    request = erasure.request_erasure(user=UserFactory())
    client.force_login(make_console_agent())
    assert client.get(reverse("admin:accounts_erasurerequest_add")).status_code == 403
    assert client.post(reverse("admin:accounts_erasurerequest_delete", args=[request.pk]),
                       {"post": "yes"}).status_code == 403
    page = client.get(reverse("admin:accounts_erasurerequest_change", args=[request.pk])).content.decode()
    assert 'name="note"' not in page  # read-only
    client.force_login(make_finance())
    assert client.get(reverse("admin:accounts_erasurerequest_changelist")).status_code == 403
    act = reverse("admin:accounts_erasurerequest_act", kwargs={"object_id": request.pk, "action": "erase"})
    assert client.post(act, {"confirm": "on"}).status_code == 403
    assert ErasureRequest.objects.get(pk=request.pk).state == ErasureState.PENDING


# --- what the first search did not reach -----------------------------------------------------------------------------


def test_failed_logins_typed_with_the_email_are_forgotten_too():
    """People type their email into the username field: django-axes counts those failures under the email as typed
    (accounts.lockout.username_of: in its one spelling), a row that names the person as much as the username does."""
    buyer = UserFactory(username=USERNAME, email=EMAIL, first_name=FIRST, last_name=LAST)
    for typed in (EMAIL.upper(), USERNAME):
        AccessAttempt.objects.create(username=normalize_username(typed), ip_address="203.0.113.9",
                                     user_agent="Firefox", get_data="", post_data=f"username={typed}",
                                     http_accept="*/*", path_info="/accounts/login/", failures_since_start=1)
    stranger = AccessAttempt.objects.create(username="someone.else@example.org", ip_address="203.0.113.9",
                                            user_agent="Firefox", get_data="", post_data="", http_accept="*/*",
                                            path_info="/accounts/login/", failures_since_start=1)
    counts = erasure.erase(erasure.request_erasure(user=buyer), by=make_console_agent())
    assert list(AccessAttempt.objects.values_list("pk", flat=True)) == [stranger.pk]
    assert counts.login_records == 2
    assert occurrences() == []


def test_a_former_seller_staff_member_is_erased_without_destroying_the_sellers_records():
    """Someone who once answered claims for a seller (the membership since removed) and bought there too: their own
    claims are erased as any buyer's; what they wrote and sent for the seller on other buyers' claims is the seller's
    record of an open dispute, so it stays (their names blanked out of it), and so do the seller's files."""
    seller = SellerFactory()
    person = UserFactory(username=USERNAME, email=EMAIL, first_name=FIRST, last_name=LAST)
    membership = SellerMembership.objects.create(user=person, seller=seller, role="staff")
    customer = UserFactory(first_name="Otto", last_name="Other")
    theirs = open_defective_claim(at=T0, order=delivered_order(seller=seller, buyer=customer))
    with at(T0 + H):
        services.reply(claim=theirs, by=person, body=f"We will look into it. Regards, {FIRST} {LAST}",
                       attachments=[photo("packing-list.jpg")])
        offer = services.make_offer(claim=theirs, by=person, kind="replacement",
                                    note=f"Our offer. {FIRST}")
    seller_reply = Message.objects.get(claim=theirs, author=person)
    seller_file = Evidence.objects.get(claim=theirs, uploaded_by=person)
    seller_names = [name for name in (seller_file.file.name, seller_file.thumbnail.name) if name]
    membership.delete()  # left the seller's team; later, a buyer of the same seller
    own = open_defective_claim(at=T0 + D, order=delivered_order(seller=SellerFactory(), buyer=person),
                               description=f"Broken. {SIGNED}", evidence=[photo("mine.jpg")])
    with at(T0 + D + H):
        services.close(claim=own, by=person)
    own_names = [name for e in Evidence.objects.filter(claim=own) for name in (e.file.name, e.thumbnail.name) if name]
    request = erasure.request_erasure(user=person)

    with at(T0 + 2 * D):
        erasure.erase(request, by=make_console_agent())

    # The seller's record on the other buyer's open claim: the words and the file stay, without the person's name.
    seller_reply.refresh_from_db()
    assert (seller_reply.body, seller_reply.erased_at) == ("We will look into it. Regards, [erased]", None)
    offer.refresh_from_db()
    assert offer.note == "Our offer. [erased]"
    seller_file.refresh_from_db()
    assert seller_file.purged_at is None and all(default_storage.exists(name) for name in seller_names)
    # The other buyer's emails quoting the reply keep it, without the name.
    [email] = OutboundEmail.objects.filter(claim=theirs, recipient=customer, event="message")
    assert "We will look into it. Regards, [erased]" in email.body_text
    assert "We will look into it. Regards, [erased]" in email.body_html
    # Their own claim as a buyer: erased as any buyer's.
    assert Claim.objects.get(pk=own.pk).description == erasure._erased_text()
    assert not any(default_storage.exists(name) for name in own_names)
    assert occurrences() == []

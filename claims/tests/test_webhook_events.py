"""The claims side of outbound webhooks (claims.webhook_events): claims driven through the services write each
webhook event once, with minimal, non-personal data, to the right endpoints; an endpoint that turns itself off has
its owners emailed through the outbox."""

from __future__ import annotations

import collections
import datetime as dt
import json

import pytest
import time_machine
from django.core import mail

from claims import services
from claims.choices import Party
from claims.models import Message, OutboundEmail, Refund
from claims.notifications import notify
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim
from claims.tests.test_appeals import appealed, decided
from claims.tests.test_deadlines import RESOLUTION_DUE
from claims.tests.test_returns import (
    CONFIRM_BY,
    DELIVERED_AT,
    REMINDED,
    carrier_secret,  # noqa: F401 - the carrier's webhook secret, for its delivery scan
    deliver_by_webhook,
    repair_decided,
    ship,
)
from claims.webhook_events import ENDPOINT_DISABLED_EVENT, EVENT_TYPES, tell_endpoint_owners
from integrations import webhooks
from integrations.endpoints import new_secret
from integrations.keys import create_api_key
from integrations.models import WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookEventType
from integrations.tests.receiver import running_receiver
from sellers.models import MembershipRole, SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
LATER = OPENED_AT + 2 * H


@pytest.fixture(autouse=True)
def shop():
    """The platform's endpoint, subscribed to everything: it receives every event of every seller."""
    return WebhookEndpoint.objects.create(seller=None, url="https://shop.example.com/hooks",
                                          events=list(WebhookEventType.values), secret=new_secret())


def kinds(claim) -> collections.Counter:
    return collections.Counter(WebhookEvent.objects.filter(claim_number=claim.number).values_list("type", flat=True))


def latest(claim, type: str) -> dict:
    return WebhookEvent.objects.filter(claim_number=claim.number, type=type).order_by("-id").first().payload["data"]


def test_every_notification_event_that_is_a_webhook_maps_to_a_known_type():
    assert set(EVENT_TYPES.values()) == set(WebhookEventType.values)  # every type has a source
    from claims.notifications import EVENTS

    assert set(EVENT_TYPES) <= set(EVENTS)


def test_a_claim_settled_between_buyer_and_seller(shop):
    world = claim_world("awaiting_seller")
    claim = world.claim
    assert kinds(claim) == {"claim.opened": 1}
    opened = latest(claim, "claim.opened")
    assert opened == {"claim": {"number": claim.number, "state": "awaiting_seller", "reason": "defective",
                                "order": claim.order.number, "seller": claim.seller.slug,
                                "updated_at": "2026-03-10T09:00:00Z"}}
    assert WebhookDelivery.objects.filter(endpoint=shop).count() == 1

    with time_machine.travel(LATER, tick=False):
        message = services.reply(claim=claim, by=world.staff, body="Sorry about that, let us sort it out.")
        services.post_message(claim=claim, by=world.agent, body="Internal: watch this seller.", internal=True)
        first = services.make_offer(claim=claim, by=world.staff, kind="full_refund")
        services.decline_offer(offer=first, by=world.buyer, reason="I want it repaired.")
        second = services.make_offer(claim=claim, by=world.staff, kind="full_refund")
        services.accept_offer(offer=second, by=world.buyer)
        services.mark_refund_paid(refund=Refund.objects.get(claim=claim), reference="PAY-1", by=None)

    assert kinds(claim) == {"claim.opened": 1, "claim.message_posted": 1, "offer.made": 2, "offer.declined": 1,
                            "offer.accepted": 1, "claim.resolved": 1, "refund.paid": 1}
    posted = latest(claim, "claim.message_posted")
    assert posted["message"] == {"id": message.pk, "party": "seller", "created_at": "2026-03-10T11:00:00Z"}
    assert (posted["claim"]["state"], posted["claim"]["updated_at"]) == ("in_progress", "2026-03-10T11:00:00Z")
    declined = WebhookEvent.objects.get(claim_number=claim.number, type="offer.declined").payload["data"]["offer"]
    assert declined == {"id": first.pk, "kind": "full_refund", "amount": "199.00", "currency": "EUR",
                        "status": "declined", "by": "seller", "counter_to": None}
    assert latest(claim, "offer.accepted")["offer"]["id"] == second.pk
    assert latest(claim, "claim.resolved")["resolution"] == {
        "outcome": "refund", "funded_by": "seller", "refund_amount": "199.00", "currency": "EUR",
        "resolved_at": "2026-03-10T11:00:00Z"}
    refund = Refund.objects.get(claim=claim)
    assert latest(claim, "refund.paid")["refund"] == {"id": refund.pk, "amount": "199.00", "currency": "EUR",
                                                       "funded_by": "seller", "status": "paid",
                                                       "paid_at": "2026-03-10T11:00:00Z"}
    # Nothing personal and no text anyone wrote: no names, addresses, descriptions, messages or notes.
    everything = json.dumps(list(WebhookEvent.objects.values_list("payload", flat=True)))
    order = claim.order
    for private in (world.buyer.email, world.buyer.username, world.staff.email, claim.description,
                    "Sorry about that", "Internal: watch", "I want it repaired", order.delivery_name,
                    order.delivery_line1, order.delivery_city):
        assert private and private not in everything, private


def test_internal_notes_emit_nothing():
    world = claim_world("escalated")
    before = kinds(world.claim)
    with time_machine.travel(LATER, tick=False):
        note = services.post_message(claim=world.claim, by=world.agent, body="Between us agents.", internal=True)
    assert kinds(world.claim) == before
    # Even if a notification were asked for it, an internal note is not news for anyone's systems.
    notify(world.claim, "message", to=[Party.AGENT], key=note.pk)
    assert kinds(world.claim) == before


def test_the_platform_steps_in_decides_reopens_and_decides_again():
    world = claim_world("escalated")
    claim = world.claim
    assert kinds(claim) == {"claim.opened": 1, "claim.escalated": 1}
    assert latest(claim, "claim.escalated")["escalation"] == {"cause": "agent", "at": "2026-03-10T10:00:00Z"}
    with time_machine.travel(LATER, tick=False):
        services.request_info(claim=claim, by=world.agent, party="buyer", question="When did it start?")
    assert latest(claim, "claim.info_requested")["info_request"] == {"from": "buyer",
                                                                    "due_at": "2026-03-12T11:00:00Z"}
    with time_machine.travel(LATER + H, tick=False):
        services.provide_info(claim=world.refresh(), by=world.buyer, body="Since the first day.")
        services.decide(claim=world.refresh(), by=world.agent, outcome="refund", funded_by="seller")
    assert kinds(claim)["claim.escalated"] == 1  # back with the platform after the answer: not a new escalation
    decision = latest(claim, "claim.decided")["decision"]
    assert decision == {"outcome": "refund", "funded_by": "seller", "refund_amount": "199.00", "currency": "EUR",
                        "denial_reason": None, "decided_at": "2026-03-10T12:00:00Z", "appeal": False}
    with time_machine.travel(LATER + 2 * H, tick=False):
        services.reopen(claim=world.refresh(), by=world.agent, reason="The buyer sent new photos.")
    with time_machine.travel(LATER + 3 * H, tick=False):
        services.decide(claim=world.refresh(), by=world.agent, outcome="denied", denial_reason="as_described")
    assert kinds(claim) == {"claim.opened": 1, "claim.escalated": 2, "claim.info_requested": 1,
                            "claim.decided": 2, "claim.resolved": 2}
    assert latest(claim, "claim.escalated")["escalation"]["cause"] == "reopened"
    assert latest(claim, "claim.resolved")["resolution"]["outcome"] == "denied"


def test_an_appeal_goes_to_the_platform_and_its_decision_is_a_decision():
    world = decided("denied")
    before = kinds(world.claim)
    appealed(world)
    assert kinds(world.claim)["claim.escalated"] == before["claim.escalated"] + 1
    assert latest(world.claim, "claim.escalated")["escalation"]["cause"] == "appeal"
    with time_machine.travel(world.claim.escalated_at + H, tick=False):
        services.uphold_appeal(claim=world.claim, by=world.colleague)
    after = kinds(world.claim)
    assert after["claim.decided"] == before["claim.decided"] + 1
    assert latest(world.claim, "claim.decided")["decision"]["appeal"] is True
    assert after["claim.resolved"] == before["claim.resolved"] + 1  # resolved again, at a new moment


def test_the_sweep_reminds_takes_over_and_the_decision_target_is_the_platforms_own(shop):
    seller_endpoint = WebhookEndpoint.objects.create(events=list(WebhookEventType.values), secret=new_secret(),
                                                     url="https://erp.example.com/hooks", seller=SellerFactory())
    order = delivered_order(seller=seller_endpoint.seller)
    claim = open_defective_claim(order=order)

    def sweep(moment):
        with time_machine.travel(moment, tick=False):
            services.enforce_deadlines()
        claim.refresh_from_db()

    sweep(OPENED_AT + 24 * H)
    assert latest(claim, "deadline.reminder")["deadline"] == {"kind": "first_reply",
                                                              "due_at": webhooks.utc_iso(claim.first_reply_due_at)}
    sweep(OPENED_AT + 48 * H)  # the breach is recorded: no webhook of its own
    sweep(RESOLUTION_DUE - 24 * H)
    assert latest(claim, "deadline.reminder")["deadline"] == {"kind": "resolution",
                                                              "due_at": webhooks.utc_iso(RESOLUTION_DUE)}
    sweep(RESOLUTION_DUE)
    assert latest(claim, "claim.escalated")["escalation"] == {"cause": "takeover",
                                                              "at": webhooks.utc_iso(RESOLUTION_DUE)}
    sweep(claim.decision_due_at - 24 * H)
    assert latest(claim, "deadline.reminder")["deadline"]["kind"] == "decision"
    sweep(claim.decision_due_at - 23 * H)  # a sweep again changes nothing
    assert kinds(claim) == {"claim.opened": 1, "deadline.reminder": 3, "claim.escalated": 1}

    decision_reminder = WebhookEvent.objects.get(claim_number=claim.number, payload__data__deadline__kind="decision")
    assert decision_reminder.seller_id is None
    assert [d.endpoint for d in decision_reminder.deliveries.all()] == [shop]
    seller_types = set(WebhookDelivery.objects.filter(endpoint=seller_endpoint).values_list("event__type", flat=True))
    assert seller_types == {"claim.opened", "deadline.reminder", "claim.escalated"}
    assert WebhookDelivery.objects.filter(endpoint=seller_endpoint).count() == 4  # opened, 2 reminders, takeover


def test_a_return_reminder_and_an_unconfirmed_repair_going_to_the_platform(client):
    world = repair_decided()
    claim = world.claim
    with time_machine.travel(REMINDED, tick=False):
        services.enforce_deadlines()
    claim.refresh_from_db()
    assert latest(claim, "deadline.reminder")["deadline"] == {"kind": "return_shipment",
                                                              "due_at": webhooks.utc_iso(claim.return_due_at)}
    ship(world, REMINDED + H)
    deliver_by_webhook(client, at=DELIVERED_AT)
    escalations = kinds(claim)["claim.escalated"]
    with time_machine.travel(CONFIRM_BY, tick=False):
        services.enforce_deadlines()
    assert kinds(claim)["claim.escalated"] == escalations + 1
    assert latest(claim, "claim.escalated")["escalation"] == {"cause": "takeover", "at": webhooks.utc_iso(CONFIRM_BY)}
    assert latest(claim, "claim.escalated")["claim"]["state"] == "escalated"


def test_a_counter_offer_is_an_offer_by_the_buyer_and_declines_the_one_it_counters():
    world = claim_world("in_progress")
    claim = world.claim
    with time_machine.travel(LATER, tick=False):
        offered = services.make_offer(claim=claim, by=world.staff, kind="full_refund")
        counter = services.counter_offer(claim=claim, by=world.buyer, kind="replacement", countered=offered,
                                         reason="I would rather have a new one.")
        services.decline_counter_offer(offer=counter, by=world.staff, reason="Out of stock.")
    assert kinds(claim) == {"claim.opened": 1, "claim.message_posted": 1, "offer.made": 2, "offer.declined": 2}
    made = [e.payload["data"]["offer"] for e in WebhookEvent.objects.filter(claim_number=claim.number,
                                                                             type="offer.made").order_by("id")]
    assert [(o["id"], o["by"], o["counter_to"]) for o in made] == [(offered.pk, "seller", None),
                                                                    (counter.pk, "buyer", offered.pk)]
    declined = {e.payload["data"]["offer"]["id"] for e in WebhookEvent.objects.filter(claim_number=claim.number,
                                                                                       type="offer.declined")}
    assert declined == {offered.pk, counter.pk}


def test_the_platforms_offer_and_the_seller_accepting_a_counter_offer():
    world = claim_world("escalated")
    with time_machine.travel(LATER, tick=False):
        offer = services.make_offer(claim=world.claim, by=world.agent, kind="full_refund")
    assert latest(world.claim, "offer.made")["offer"]["id"] == offer.pk
    assert latest(world.claim, "offer.made")["offer"]["by"] == "platform"

    world = claim_world("in_progress")
    with time_machine.travel(LATER, tick=False):
        offered = services.make_offer(claim=world.claim, by=world.staff, kind="replacement")
        counter = services.counter_offer(claim=world.claim, by=world.buyer, kind="full_refund", countered=offered)
        services.accept_counter_offer(offer=counter, by=world.staff)
    accepted = latest(world.claim, "offer.accepted")["offer"]
    assert (accepted["id"], accepted["by"], accepted["status"]) == (counter.pk, "buyer", "accepted")
    assert kinds(world.claim)["claim.resolved"] == 1


def test_the_warranty_clocks_news_is_one_escalation_and_a_reminder_of_its_limit():
    world = claim_world("escalated")
    claim = world.claim
    before = kinds(claim)
    claim.warranty_due_at = OPENED_AT + dt.timedelta(days=30)
    with time_machine.travel(LATER, tick=False):
        # The limit and the maximum reached on a claim the platform has already: no new move to the platform.
        notify(claim, "warranty_limit", to=[Party.BUYER, Party.AGENT], key="w1")
        notify(claim, "warranty_max_reached", to=[Party.SELLER, Party.AGENT], key="w2")
        notify(claim, "warranty_reminder", to=[Party.AGENT], key="w3")
        notify(claim, "warranty_reminder", to=[Party.AGENT], key="w3")
    assert kinds(claim) == before + collections.Counter({"deadline.reminder": 1})
    assert latest(claim, "deadline.reminder")["deadline"] == {"kind": "warranty_limit",
                                                              "due_at": "2026-04-09T09:00:00Z"}


def test_one_event_notified_to_several_groups_is_one_webhook():
    world = claim_world("in_progress")
    message = Message.objects.filter(claim=world.claim).latest("id")
    before = kinds(world.claim)
    with time_machine.travel(LATER, tick=False):
        notify(world.claim, "message", to=[Party.BUYER], key=message.pk)
        notify(world.claim, "message", to=[Party.AGENT], key=message.pk)
    assert kinds(world.claim) == before


def test_only_the_claims_own_sellers_endpoints_receive_its_events(shop):
    mine, theirs = SellerFactory(), SellerFactory()
    wanted = WebhookEndpoint.objects.create(seller=mine, url="https://mine.example.com/", events=["claim.opened"],
                                            secret=new_secret())
    WebhookEndpoint.objects.create(seller=theirs, url="https://theirs.example.com/", events=["claim.opened"],
                                   secret=new_secret())
    claim = open_defective_claim(order=delivered_order(seller=mine))
    event = WebhookEvent.objects.get(claim_number=claim.number)
    assert {d.endpoint for d in event.deliveries.all()} == {wanted, shop}


def test_an_opened_claim_reaches_a_real_endpoint_signed(settings, django_capture_on_commit_callbacks, shop):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    with running_receiver() as receiver:
        WebhookEndpoint.objects.filter(pk=shop.pk).update(url=receiver.url)
        order = delivered_order()
        with django_capture_on_commit_callbacks(execute=True):
            claim = open_defective_claim(order=order)
        [request] = receiver.received
    payload = request.verify(shop.secret)
    assert payload["type"] == "claim.opened" and payload["data"]["claim"]["number"] == claim.number
    assert request.headers["webhook-id"] == WebhookEvent.objects.get(claim_number=claim.number).msg_id


# --- telling an endpoint's owners ---------------------------------------------------------------------------------


def test_the_owners_of_a_seller_get_the_email_in_the_sellers_language(django_capture_on_commit_callbacks):
    seller = SellerFactory(language="de")
    owner = UserFactory(email="owner@example.com", first_name="Olga")
    SellerMembership.objects.create(user=owner, seller=seller, role=MembershipRole.OWNER)
    staff = UserFactory(email="staff@example.com")
    SellerMembership.objects.create(user=staff, seller=seller, role=MembershipRole.STAFF)
    key, _secret = create_api_key(name="ERP", seller=seller)
    SellerMembership.objects.filter(user=key.user).update(role=MembershipRole.OWNER)  # even then: a key reads no mail
    endpoint = WebhookEndpoint.objects.create(seller=seller, url="https://erp.example.com/hooks",
                                              events=["claim.opened"], secret=new_secret(),
                                              disabled_at=OPENED_AT, disabled_reason="Antwortete 410 Gone.")

    with django_capture_on_commit_callbacks(execute=True):
        ids = tell_endpoint_owners(endpoint, reason=endpoint.disabled_reason)
        assert tell_endpoint_owners(endpoint, reason=endpoint.disabled_reason) == []  # told once

    row = OutboundEmail.objects.get(pk__in=ids)
    assert (row.recipient, row.to_email, row.language, row.claim, row.event) == (
        owner, "owner@example.com", "de", None, ENDPOINT_DISABLED_EVENT)
    assert "https://erp.example.com/hooks" in row.subject
    assert "Antwortete 410 Gone." in row.body_text and "Olga" in row.body_text
    assert f"/seller/webhooks/?seller={seller.slug}" in row.body_text
    assert "weil Sie diesen Webhook-Endpoint betreuen" in row.body_html and "take part in claim" not in row.body_html
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]  # sent by the outbox's worker after the commit
    assert row.sent_at is not None


def test_a_410_from_a_sellers_endpoint_writes_the_owners_email_into_the_outbox(settings,
                                                                              django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    world = claim_world("awaiting_seller")
    owner = UserFactory(email="boss@example.com")
    SellerMembership.objects.create(user=owner, seller=world.claim.seller, role=MembershipRole.OWNER)
    with running_receiver() as receiver:
        receiver.answer(410)
        endpoint = WebhookEndpoint.objects.create(seller=world.claim.seller, url=receiver.url,
                                                  events=["claim.message_posted"], secret=new_secret())
        with time_machine.travel(LATER, tick=False), django_capture_on_commit_callbacks(execute=True):
            services.reply(claim=world.claim, by=world.staff, body="On it.")
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    row = OutboundEmail.objects.get(event=ENDPOINT_DISABLED_EVENT)
    assert row.to_email == "boss@example.com" and row.sent_at is not None

"""Quotas on one claim (claims.quotas; issue 18: "Messages and attachments have no limit or quota: 12 requests stored
60 files (120 MB) in about a second and emailed every seller staff member each time").

Messages per person per claim per hour, counted from the database to the microsecond of the window's end; files and
bytes per side of a claim (the buyer; the seller's staff and keys) on every path that stores a file, refused before a
file is written, with nothing changed, and never because of the other side's files (a buyer filling the claim must not
keep the seller from the evidence a rejection needs); the pages and the API say it as they say other refusals (the
API: 429 with Retry-After, 422 file-quota). The races run on PostgreSQL: two requests for the last slot, exactly one
wins.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.checks import run_checks
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone

from claims import evidence as evidence_files
from claims import quotas, services
from claims.choices import Party
from claims.errors import ClaimError
from claims.models import Claim, Evidence, ExpertAssessment, Message, Notification, Offer, OutboundEmail
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim, photo
from claims.tests.test_concurrency import everything
from claims.tests.test_deadlines import not_received_claim
from integrations.keys import create_api_key
from integrations.models import WebhookEndpoint, WebhookEvent, WebhookEventType
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
MINUTE = dt.timedelta(minutes=1)
# An hour after claim_world's own messages (its reply at 10:00 UTC): 12:00 UTC is 13:00 in the claim's zone (Berlin).
NOON = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
API = "/api/v1/claims"


def seller_key(seller) -> tuple[object, str]:
    return create_api_key(name="ERP", seller=seller, scope="write")


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}", "HTTP_HOST": "127.0.0.1"}


def post(client, path: str, key: str, body: dict, *, idempotency_key: str = ""):  # type: ignore[no-untyped-def]
    """A JSON POST to the API, with a new Idempotency-Key unless one is given."""
    return client.post(path, data=json.dumps(body), content_type="application/json", **auth(key),
                       HTTP_IDEMPOTENCY_KEY=idempotency_key or str(uuid.uuid4()))


def stored_files(settings) -> int:
    return sum(1 for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file())


def say(world, by, at: dt.datetime, body: str = "Any news?", files=()) -> Message:
    with time_machine.travel(at, tick=False):
        return services.post_message(claim=world.claim, by=by, body=body, attachments=list(files))


def refused(code: str, call) -> ClaimError:  # type: ignore[no-untyped-def]
    with pytest.raises(ClaimError) as caught:
        call()
    assert caught.value.code == code, (caught.value.code, str(caught.value))
    return caught.value


# --- messages per person per claim per hour ---------------------------------------------------------------------


def test_a_message_counts_until_exactly_an_hour_after_it_was_posted():
    """20 messages an hour (the default): the first at 10:00:00 frees its slot at 11:00:00 and not a microsecond
    before. The refusal names the limit and the moment in the claim's zone, and changes nothing."""
    world = claim_world("in_progress")
    say(world, world.buyer, NOON)
    for minute in range(19):
        say(world, world.buyer, NOON + dt.timedelta(minutes=30, seconds=minute))
    before = everything()
    with time_machine.travel(NOON + dt.timedelta(hours=1) - dt.timedelta(microseconds=1), tick=False):
        error = refused("message_quota", lambda: services.post_message(claim=world.claim, by=world.buyer,
                                                                       body="Hello?"))
    assert str(error) == ("You can post 20 messages an hour on a claim; please wait until Tue 10 Mar, 14:00 CET "
                          "before posting again.")
    assert error.retry_after == 1  # a microsecond left, said in whole seconds
    assert everything() == before
    say(world, world.buyer, NOON + dt.timedelta(hours=1))  # the 10:00:00 message left the window
    with time_machine.travel(NOON + dt.timedelta(hours=1), tick=False):
        error = refused("message_quota", lambda: services.post_message(claim=world.claim, by=world.buyer,
                                                                       body="Hello?"))
    # Now the 10:30 ones are the oldest counted: 30 minutes to wait.
    assert "wait until Tue 10 Mar, 14:30 CET" in str(error) and error.retry_after == 30 * 60


def test_the_limit_comes_from_the_settings_and_each_person_and_claim_count_apart(settings):
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 2
    world = claim_world("in_progress")
    colleague = UserFactory()
    SellerMembership.objects.create(user=colleague, seller=world.claim.seller, role="staff")
    other = open_defective_claim(order=delivered_order(seller=world.claim.seller, buyer=world.buyer))
    for minute in range(2):
        say(world, world.buyer, NOON + minute * MINUTE)
    error = refused("message_quota", lambda: say(world, world.buyer, NOON + 2 * MINUTE))
    assert str(error).startswith("You can post 2 messages an hour on a claim; please wait until Tue 10 Mar, 14:00 CET")
    # The seller's staff, each on their own, and the same buyer on another claim are not held back.
    say(world, world.staff, NOON + 3 * MINUTE)
    say(world, world.staff, NOON + 4 * MINUTE)
    say(world, colleague, NOON + 5 * MINUTE)
    with time_machine.travel(NOON + 6 * MINUTE, tick=False):
        services.post_message(claim=other, by=world.buyer, body="And this one?")
    refused("message_quota", lambda: say(world, world.staff, NOON + 7 * MINUTE))


def test_agents_are_not_counted(settings):
    """The platform's own staff: a quota on them protects nobody, and the console must always be able to answer."""
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 1
    world = claim_world("in_progress")
    for minute in range(4):
        with time_machine.travel(NOON + minute * MINUTE, tick=False):
            services.post_message(claim=world.claim, by=world.agent, body="We are looking into it.")
            services.post_message(claim=world.claim, by=world.agent, body="Note to self", internal=True)
    assert Message.objects.filter(claim=world.claim, author=world.agent).count() == 8


def test_messages_posted_by_a_transition_count_and_tracking_updates_are_counted(settings):
    """add_tracking posts on the thread like a message (and emails the buyer): it is counted too."""
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 2
    claim, _shipment = not_received_claim()
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=claim.seller, role="staff")
    at = OPENED_AT + dt.timedelta(hours=1)
    with time_machine.travel(at, tick=False):
        services.add_tracking(claim=claim, by=staff, evidence=[photo("slip.jpg")])
        services.post_message(claim=claim, by=staff, body="Sent on Monday.")
        before = Evidence.objects.filter(claim=claim).count()
        error = refused("message_quota", lambda: services.add_tracking(claim=claim, by=staff,
                                                                       evidence=[photo("slip2.jpg")]))
    assert "You can post 2 messages an hour" in str(error)
    assert Evidence.objects.filter(claim=claim).count() == before


def test_the_api_answers_the_message_quota_with_429_and_retry_after(client, settings):
    """A seller's API key acts as its own staff user: counted like any member of the staff."""
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 2
    world = claim_world("in_progress")
    _key, key = seller_key(world.claim.seller)
    path = f"{API}/{world.claim.number}/messages"
    with time_machine.travel(NOON, tick=False):
        for _ in range(2):
            assert post(client, path, key, {"body": "Checking."}).status_code == 201
    with time_machine.travel(NOON + 20 * MINUTE, tick=False):
        response = post(client, path, key, {"body": "Checking again."}, idempotency_key="retry-me")
    assert response.status_code == 429 and response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == str(40 * 60)
    body = response.json()
    assert (body["type"], body["code"], body["status"]) == ("/api/problems/message-quota", "message-quota", 429)
    assert "You can post 2 messages an hour on a claim; please wait until Tue 10 Mar, 14:00 CET" in body["detail"]
    # A 429 is not kept for the Idempotency-Key (api.idempotency): the same request once the hour passed goes through.
    with time_machine.travel(NOON + 60 * MINUTE, tick=False):
        assert post(client, path, key, {"body": "Checking again."}, idempotency_key="retry-me").status_code == 201


def test_the_pages_say_the_message_quota_as_they_say_other_refusals(client, settings):
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 1
    world = claim_world("in_progress")
    say(world, world.buyer, NOON)
    say(world, world.staff, NOON)
    with time_machine.travel(NOON + MINUTE, tick=False):
        client.force_login(world.buyer)
        response = client.post(reverse("claims:message", kwargs={"number": world.claim.number}),
                               {"body": "Hello again"})
        assert response.status_code == 429  # the page again, with the text kept and the refusal at the form
        page = response.content.decode()
        assert "You can post 1 message an hour on a claim; please wait until Tue 10 Mar, 14:00 CET" in page
        assert "Hello again</textarea>" in page
        client.force_login(world.staff)
        response = client.post(reverse("sellers:reply", kwargs={"number": world.claim.number}),
                               {"reply-body": "One more thing"})
        assert response.status_code == 429
        assert "You can post 1 message an hour on a claim" in response.content.decode()
    assert Message.objects.filter(claim=world.claim, body__in=["Hello again", "One more thing"]).count() == 0


def test_offers_count_with_messages_and_say_so(settings, client, django_capture_on_commit_callbacks):
    """An offer is words to the buyer and an email to them, like a message: without a count a seller's staff member
    (or key) could replace their pending offer all day, emailing the buyer each time. Offers and messages count
    together, on the pages and the API (429 with Retry-After); the platform's agents are not counted."""
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 2
    world = claim_world("in_progress")
    with time_machine.travel(NOON, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.make_offer(claim=world.claim, by=world.staff, kind="full_refund", note="Offer 1")
        services.post_message(claim=world.claim, by=world.staff, body="See the offer.")
    before = everything()
    with time_machine.travel(NOON + 10 * MINUTE, tick=False):
        error = refused("message_quota", lambda: services.make_offer(claim=world.claim, by=world.staff,
                                                                     kind="full_refund", note="Offer 2"))
        assert str(error) == ("You can send 2 messages and offers an hour on a claim (they count together); please "
                              "wait until Tue 10 Mar, 14:00 CET before making another offer.")
        assert error.retry_after == 50 * 60
        refused("message_quota", lambda: services.post_message(claim=world.claim, by=world.staff, body="Hello?"))
        _key, key = seller_key(world.claim.seller)
        services.post_message(claim=world.claim, by=_key.user, body="From the ERP.")
        services.make_offer(claim=world.claim, by=_key.user, kind="full_refund", note="From the ERP")  # its own count
        response = post(client, f"{API}/{world.claim.number}/offers", key, {"kind": "full_refund", "note": "Again"})
    # The key's own count: its message and offer at 10 past, so an hour from then.
    assert response.status_code == 429 and response["Retry-After"] == str(60 * 60)
    assert response.json()["code"] == "message-quota"
    assert OutboundEmail.objects.filter(recipient=world.buyer, event="offer").count() == 2  # the staff's, the key's
    assert Offer.objects.filter(claim=world.claim).count() == 2
    assert len(before["claims.Offer"]) == 1
    with time_machine.travel(NOON + 60 * MINUTE, tick=False):
        services.make_offer(claim=world.claim, by=world.staff, kind="full_refund", note="Offer 3")
    agent_world = claim_world("escalated")
    with time_machine.travel(NOON, tick=False):
        for n in range(4):  # the platform's offers are the agent's: never counted
            services.make_offer(claim=agent_world.claim, by=agent_world.agent, kind="full_refund", note=f"{n}")


def test_a_buyers_counter_offers_count_with_their_messages(settings, client):
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 2
    world = claim_world("in_progress")
    with time_machine.travel(NOON, tick=False):
        offer = services.make_offer(claim=world.claim, by=world.staff, kind="replacement")
    say(world, world.buyer, NOON + MINUTE, "Too little.")
    say(world, world.buyer, NOON + 2 * MINUTE, "Really.")
    before = everything()
    with time_machine.travel(NOON + 3 * MINUTE, tick=False):
        error = refused("message_quota", lambda: services.counter_offer(
            claim=world.claim, by=world.buyer, kind="full_refund", note="My money back, please.", countered=offer))
    assert "You can send 2 messages and offers an hour on a claim (they count together); please wait until " \
           "Tue 10 Mar, 14:01 CET" in str(error)
    assert everything() == before
    # The page answers it as it answers the message quota: 429, the sentence at the form, nothing changed.
    client.force_login(world.buyer)
    with time_machine.travel(NOON + 3 * MINUTE, tick=False):
        response = client.post(reverse("claims:counter_offer", kwargs={"number": world.claim.number}), {
            "counter-kind": "full_refund", "counter-note": "My money back, please.", "counter-countered": offer.pk})
    assert response.status_code == 429
    assert "(they count together); please wait until Tue 10 Mar, 14:01 CET" in response.content.decode()
    assert everything() == before


def test_a_rejection_posts_on_the_thread_and_counts(settings, django_capture_on_commit_callbacks):
    """A rejection may be repeated while the claim is with the seller, and each one posts its words on the thread and
    emails the buyer an email they cannot turn off: counted as a message, so not without end."""
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 2
    world = claim_world("in_progress")
    with time_machine.travel(NOON, tick=False), django_capture_on_commit_callbacks(execute=True):
        for n in range(2):
            services.reject(claim=Claim.objects.get(pk=world.claim.pk), by=world.staff, code="buyer_damage",
                            body=f"Dropped {n}.", evidence=[photo()])
    before, on_disk = everything(), stored_files(settings)
    with time_machine.travel(NOON + MINUTE, tick=False):
        error = refused("message_quota", lambda: services.reject(
            claim=Claim.objects.get(pk=world.claim.pk), by=world.staff, code="buyer_damage", body="Dropped again.",
            evidence=[photo()]))
    assert str(error).startswith("You can post 2 messages an hour on a claim; please wait until Tue 10 Mar, 14:00 CET")
    assert everything() == before and stored_files(settings) == on_disk
    assert OutboundEmail.objects.filter(recipient=world.buyer, event="rejected").count() == 2


# --- files and bytes per claim ------------------------------------------------------------------------------------


def test_files_per_side_of_a_claim(settings):
    settings.CLAIM_MAX_FILES = 4
    world = claim_world("in_progress")  # opened with one photo: the buyer's
    say(world, world.buyer, NOON, files=[photo("a.jpg"), photo("b.jpg")])
    on_disk, before = stored_files(settings), everything()
    error = refused("file_quota", lambda: say(world, world.buyer, NOON + MINUTE,
                                              files=[photo("c.jpg"), photo("d.jpg")]))
    assert str(error) == ("Each side of a claim can add 4 files and you have added 3 already, so only 1 more file can "
                          "be added. Please attach fewer files.")
    assert everything() == before and stored_files(settings) == on_disk  # nothing written, nothing left behind
    # The seller's files take none of the buyer's room: 4 of theirs, and the buyer still has the one slot left.
    say(world, world.staff, NOON + 2 * MINUTE, files=[photo(f"s{n}.jpg") for n in range(4)])
    say(world, world.buyer, NOON + 3 * MINUTE, files=[photo("e.jpg")])
    error = refused("file_quota", lambda: say(world, world.buyer, NOON + 4 * MINUTE, files=[photo("f.jpg")]))
    assert str(error) == ("You have added 4 files to this claim, the most each side of a claim may add, so no more "
                          "files can be added. Please go on without files (describe it in words), or contact our "
                          "support team if a file is essential.")
    error = refused("file_quota", lambda: say(world, world.staff, NOON + 5 * MINUTE, files=[photo("g.jpg")]))
    assert str(error).startswith("You have added 4 files to this claim, the most each side of a claim may add")
    say(world, world.buyer, NOON + 6 * MINUTE, body="Without files it goes through.")
    assert (quotas.file_room(world.claim, Party.BUYER).files, quotas.file_room(world.claim, Party.SELLER).files) \
        == (4, 4)


def test_bytes_per_side_of_a_claim(settings):
    world = claim_world("in_progress")
    size = evidence_files.prepare(photo("x.jpg")).size
    room = quotas.file_room(world.claim, Party.BUYER)
    settings.CLAIM_MAX_BYTES = room.size + size + size // 2  # one more photo fits, two do not
    before = everything()
    error = refused("file_quota", lambda: say(world, world.buyer, NOON, files=[photo("x.jpg"), photo("y.jpg")]))
    words = {name: filesizeformat(value) for name, value in (
        ("size", 2 * size), ("limit", settings.CLAIM_MAX_BYTES), ("used", room.size), ("left", size + size // 2))}
    assert str(error) == ("These files ({size}) would take your files on this claim over the limit of {limit}: yours "
                          "take {used} already, so {left} are left. Please attach smaller or fewer files."
                          ).format(**words)
    assert everything() == before
    say(world, world.buyer, NOON, files=[photo("x.jpg")])
    settings.CLAIM_MAX_BYTES = quotas.file_room(world.claim, Party.BUYER).size
    error = refused("file_quota", lambda: say(world, world.buyer, NOON + MINUTE, files=[photo("z.jpg")]))
    assert str(error) == (f"Your files on this claim take {filesizeformat(settings.CLAIM_MAX_BYTES)}, the most each "
                          "side of a claim may add, so no more files can be added. Please go on without files "
                          "(describe it in words), or contact our support team if a file is essential.")
    # The seller's side has its own bytes: a photo of theirs still fits.
    say(world, world.staff, NOON + MINUTE, files=[photo("z.jpg")])
    assert quotas.file_room(world.claim, Party.SELLER).size == size


def test_a_buyer_filling_their_side_never_keeps_the_seller_from_rejecting(settings):
    """The reason the quota counts per side: a buyer who used up the files a claim may take must not leave the seller
    without the evidence a rejection needs (claims.services.reject refuses a rejection without any). The seller's own
    side is limited all the same."""
    settings.CLAIM_MAX_FILES = 3
    world = claim_world("in_progress")
    say(world, world.buyer, NOON, files=[photo("a.jpg"), photo("b.jpg")])  # with the opening photo: 3, full
    refused("file_quota", lambda: say(world, world.buyer, NOON + MINUTE, files=[photo("c.jpg")]))
    say(world, world.staff, NOON + 2 * MINUTE, files=[photo("s1.jpg"), photo("s2.jpg")])
    before = everything()
    with time_machine.travel(NOON + 3 * MINUTE, tick=False):
        error = refused("file_quota", lambda: services.reject(claim=world.claim, by=world.staff, code="buyer_damage",
                                                              body="Dropped.", evidence=[photo(), photo()]))
    assert str(error) == ("Each side of a claim can add 3 files and you have added 2 already, so only 1 more file can "
                          "be added. Please attach fewer files.")
    assert everything() == before
    with time_machine.travel(NOON + 4 * MINUTE, tick=False):
        services.reject(claim=world.claim, by=world.staff, code="buyer_damage", body="Dropped.",
                        evidence=[photo("proof.jpg")])
    world.refresh()
    assert world.claim.rejected and world.claim.rejection_code == "buyer_damage"
    assert (quotas.file_room(world.claim, Party.BUYER).files, quotas.file_room(world.claim, Party.SELLER).files) \
        == (3, 3)
    assert Evidence.objects.filter(claim=world.claim, message__body="Dropped.", party=Party.SELLER).count() == 1


def test_a_buyer_filling_their_sides_bytes_never_keeps_the_seller_from_rejecting(settings):
    """The same with CLAIM_MAX_BYTES: the buyer's bytes used up, the seller's side still has all of its own."""
    world = claim_world("in_progress")
    size = evidence_files.prepare(photo()).size
    say(world, world.buyer, NOON, files=[photo("a.jpg")])
    settings.CLAIM_MAX_BYTES = quotas.file_room(world.claim, Party.BUYER).size  # the buyer's bytes: full
    assert size <= settings.CLAIM_MAX_BYTES < 3 * size  # one photo of the seller's fits, three do not
    refused("file_quota", lambda: say(world, world.buyer, NOON + MINUTE, files=[photo("b.jpg")]))
    before = everything()
    with time_machine.travel(NOON + 2 * MINUTE, tick=False):
        error = refused("file_quota", lambda: services.reject(claim=world.claim, by=world.staff, code="buyer_damage",
                                                              body="Dropped.",
                                                              evidence=[photo(f"p{n}.jpg") for n in range(3)]))
        assert everything() == before
        assert str(error).startswith(f"These files ({filesizeformat(3 * size)}) would take your files on this claim "
                                     f"over the limit of {filesizeformat(settings.CLAIM_MAX_BYTES)}: yours take "
                                     f"{filesizeformat(0)} already")
        services.reject(claim=world.claim, by=world.staff, code="buyer_damage", body="Dropped.",
                        evidence=[photo("proof.jpg")])
    world.refresh()
    assert world.claim.rejected and quotas.file_room(world.claim, Party.SELLER).size == size


def test_a_purged_file_takes_no_room(settings):
    settings.CLAIM_MAX_FILES = 2
    world = claim_world("in_progress")
    say(world, world.buyer, NOON, files=[photo()])
    refused("file_quota", lambda: say(world, world.buyer, NOON + MINUTE, files=[photo()]))
    first = Evidence.objects.filter(claim=world.claim).order_by("pk").first()
    Evidence.objects.filter(pk=first.pk).update(purged_at=timezone.now())  # as claims.retention leaves the row
    assert quotas.file_room(world.claim, Party.BUYER).files == 1
    say(world, world.buyer, NOON + 2 * MINUTE, files=[photo()])


def _conclude(w, by):  # type: ignore[no-untyped-def]
    assessment = ExpertAssessment.objects.get(claim=w.claim)
    return services.conclude_expert_assessment(assessment=assessment, by=by, result="justified",
                                               report=photo("report.jpg"))


# Every path that stores a file on a claim (claims.services._base._store_evidence): (state, side, action).
PATHS = {
    "buyer's message": ("in_progress", Party.BUYER,
                        lambda w: services.post_message(claim=w.claim, by=w.buyer, body="See this",
                                                        attachments=[photo()])),
    "seller's first reply": ("awaiting_seller", Party.SELLER,
                             lambda w: services.reply(claim=w.claim, by=w.staff, body="Look", attachments=[photo()])),
    "rejection": ("in_progress", Party.SELLER,
                  lambda w: services.reject(claim=w.claim, by=w.staff, code="buyer_damage", body="Dropped.",
                                            evidence=[photo()])),
    "answer to a question": ("awaiting_info", Party.BUYER,
                             lambda w: services.provide_info(claim=w.claim, by=w.buyer, body="Since May.",
                                                             attachments=[photo()])),
    "return received": ("awaiting_return", Party.SELLER,
                        lambda w: services.receive_return(claim=w.claim, by=w.staff, inspection_result="as_expected",
                                                          note="Fine.", evidence=[photo()])),
    "expert's report by the seller": ("expert", Party.SELLER, lambda w: _conclude(w, w.staff)),
}


def fill_side(world, party: str, files: int) -> None:  # type: ignore[no-untyped-def]
    """Rows for `party` until its side of the claim holds `files` files: the opening photo's file again, so nothing
    new on disk (as if the side had uploaded it that often)."""
    opening = Evidence.objects.filter(claim=world.claim).earliest("pk")
    by = world.buyer if party == Party.BUYER else world.staff
    missing = files - quotas.file_room(world.claim, party).files
    assert missing >= 0
    Evidence.objects.bulk_create([
        Evidence(claim=world.claim, kind=opening.kind, uploaded_by=by, party=party, file=opening.file.name,
                 content_type=opening.content_type, size=opening.size, sha256=opening.sha256)
        for _ in range(missing)])


@pytest.mark.parametrize("path", list(PATHS))
def test_every_path_that_stores_a_file_is_refused_when_its_side_is_full(settings, path):
    """Each side full at 3 files: the action is refused with nothing changed; with room for one more on the acting
    side, the same action goes through although the claim holds more than the limit in all (the other side's 3)."""
    state, side, action = PATHS[path]
    world = claim_world("in_progress" if state == "expert" else state)
    if state == "expert":
        with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
            services.start_expert_assessment(claim=world.claim, by=world.staff, expert="Phone lab")
    world.refresh()
    settings.CLAIM_MAX_FILES = 3
    other = Party.SELLER if side == Party.BUYER else Party.BUYER
    fill_side(world, side, 3)
    fill_side(world, other, 3)
    on_disk, before = stored_files(settings), everything()
    with time_machine.travel(OPENED_AT + dt.timedelta(days=1), tick=False):
        error = refused("file_quota", lambda: action(world))
    assert str(error).startswith("You have added 3 files to this claim, the most each side of a claim may add, so no "
                                 "more files can be added.")
    assert everything() == before and stored_files(settings) == on_disk
    settings.CLAIM_MAX_FILES = 4
    with time_machine.travel(OPENED_AT + dt.timedelta(days=1), tick=False):
        action(world)  # with room for it on its side, the same action goes through
    assert quotas.file_room(world.claim, side).files == 4
    assert quotas.file_room(world.claim, other).files == 3


def test_opening_a_claim_with_more_files_than_a_side_may_add_is_refused(settings):
    settings.CLAIM_MAX_FILES = 2
    order = delivered_order()
    before, on_disk = Claim.objects.count(), stored_files(settings)
    error = refused("file_quota", lambda: open_defective_claim(order=order, evidence=[photo(), photo(), photo()]))
    assert str(error) == ("Each side of a claim can add 2 files and you have added 0 already, so only 2 more files can "
                          "be added. Please attach fewer files.")
    assert Claim.objects.count() == before and stored_files(settings) == on_disk


def test_tracking_with_proof_is_refused_when_the_claim_is_full(settings):
    claim, _shipment = not_received_claim()
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=claim.seller, role="staff")
    settings.CLAIM_MAX_FILES = 1
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=1), tick=False):
        services.add_tracking(claim=claim, by=staff, evidence=[photo("slip.jpg")])
        before = everything()
        refused("file_quota", lambda: services.add_tracking(claim=claim, by=staff, evidence=[photo("slip2.jpg")]))
    assert everything() == before


def test_an_agents_files_are_never_refused_and_take_neither_sides_room(settings):
    """An agent recording the expert's report on a claim whose sides are full: the platform must be able to. The
    report is the platform's file, not the buyer's nor the seller's: it takes neither side's room."""
    world = claim_world("in_progress")
    with time_machine.travel(OPENED_AT + dt.timedelta(hours=2), tick=False):
        services.start_expert_assessment(claim=world.claim, by=world.staff, expert="Phone lab")
    settings.CLAIM_MAX_FILES = 1
    fill_side(world, Party.SELLER, 1)  # both sides full: the buyer's opening photo, one of the seller's
    with time_machine.travel(OPENED_AT + dt.timedelta(days=1), tick=False):
        _conclude(world, world.agent)
    assert quotas.file_room(world.claim, Party.AGENT).files == 1
    assert (quotas.file_room(world.claim, Party.BUYER).files, quotas.file_room(world.claim, Party.SELLER).files) \
        == (1, 1)
    refused("file_quota", lambda: say(world, world.buyer, OPENED_AT + dt.timedelta(days=1), files=[photo()]))
    settings.CLAIM_MAX_FILES = 2  # one more each, whatever the agent stored
    say(world, world.buyer, OPENED_AT + dt.timedelta(days=1), files=[photo()])
    say(world, world.staff, OPENED_AT + dt.timedelta(days=1), files=[photo()])


def _post_files(client, path: str, key: str, data: dict):  # type: ignore[no-untyped-def]
    headers = auth(key)
    headers["HTTP_IDEMPOTENCY_KEY"] = str(uuid.uuid4())
    return client.post(path, data=data, **headers)


def test_the_api_answers_the_file_quota_with_422(client, settings):
    world = claim_world("in_progress")
    _key, key = seller_key(world.claim.seller)
    upload = f"{API}/{world.claim.number}/evidence"
    with time_machine.travel(NOON, tick=False):
        first = _post_files(client, upload, key, {"files": [photo("a.jpg")]})
        assert first.status_code == 201, first.content
        earlier = Evidence.objects.filter(claim=world.claim).latest("pk")
        settings.CLAIM_MAX_FILES = quotas.file_room(world.claim, Party.SELLER).files  # the seller's side: full
        before = everything()
        response = _post_files(client, upload, key, {"files": [photo("b.jpg")]})
        # A copy of a file uploaded before is a new file on the claim too.
        rejection = post(client, f"{API}/{world.claim.number}/reject", key,
                         {"code": "normal_wear", "body": "Wear.", "evidence_ids": [earlier.pk]})
    for answer in (response, rejection):
        assert answer.status_code == 422 and "Retry-After" not in answer
        body = answer.json()
        assert (body["type"], body["code"]) == ("/api/problems/file-quota", "file-quota")
        assert body["detail"].startswith("You have added 1 file to this claim, the most each side of a claim may add, "
                                         "so no more files can be added.")
    assert everything() == before


def test_the_upload_fields_say_how_much_each_side_may_add(client, settings):
    settings.CLAIM_MAX_FILES = 33
    settings.CLAIM_MAX_BYTES = 99 * 1024 * 1024
    world = claim_world("in_progress")
    sentence = f"You can add up to 33 files and {filesizeformat(99 * 1024 * 1024)} in all to a claim."
    client.force_login(world.buyer)
    buyer_page = client.get(reverse("claims:detail", kwargs={"number": world.claim.number})).content.decode()
    assert sentence in buyer_page and 'aria-describedby="id_attachments_helptext"' in buyer_page
    client.force_login(world.staff)
    seller_page = client.get(reverse("sellers:claim", kwargs={"number": world.claim.number})).content.decode()
    assert seller_page.count(sentence) >= 2  # the reply's files and the rejection's evidence at least


def test_a_limit_below_one_is_a_configuration_error(settings):
    settings.CLAIM_MAX_FILES = 0
    settings.MESSAGE_DIGEST_MINUTES = -1
    errors = [e for e in run_checks() if e.id == "claims.E003"]
    assert sorted(e.msg.split()[0] for e in errors) == ["CLAIM_MAX_FILES", "MESSAGE_DIGEST_MINUTES"]


# --- the scenario -------------------------------------------------------------------------------------


def test_twelve_requests_with_five_files_each(client, settings, django_capture_on_commit_callbacks):
    """What was seen: "12 requests stored 60 files (120 MB) in about a second and emailed every seller staff member
    each time". With the default limits (20 messages an hour, 40 files each side of a claim may add), the buyer's page
    stores the files of the first seven requests (the buyer's side then holds 36: the opening photo and 7 x 5),
    refuses the other five with the files limit and its numbers (5 more would make 41), and each member of the
    seller's staff gets one email and one digest, not twelve."""
    world = claim_world("awaiting_seller")
    staff = [world.staff]
    for _ in range(2):
        member = UserFactory()
        SellerMembership.objects.create(user=member, seller=world.claim.seller, role="staff")
        staff.append(member)
    WebhookEndpoint.objects.create(seller=world.claim.seller, url="https://erp.example.com/hooks",
                                   events=[WebhookEventType.CLAIM_MESSAGE_POSTED], secret="s" * 32)
    mail.outbox.clear()
    start = OPENED_AT + dt.timedelta(hours=2)
    client.force_login(world.buyer)
    url = reverse("claims:message", kwargs={"number": world.claim.number})
    answers = []
    with time_machine.travel(start, tick=False) as clock, django_capture_on_commit_callbacks(execute=True):
        for request in range(12):  # in about a second
            clock.move_to(start + request * dt.timedelta(milliseconds=80))
            response = client.post(url, {"body": f"Request {request + 1}",
                                         "attachments": [photo(f"r{request}-{n}.jpg") for n in range(5)]},
                                   follow=True)
            answers.append(response.content.decode())
    assert all("Your message was sent." in answer for answer in answers[:7])
    refusal = ("Each side of a claim can add 40 files and you have added 36 already, so only 4 more files can be "
               "added. Please attach fewer files.")
    assert all(refusal in answer and "Your message was sent." not in answer for answer in answers[7:])
    assert Evidence.objects.filter(claim=world.claim).count() == 36
    assert (quotas.file_room(world.claim, Party.BUYER).files, quotas.file_room(world.claim, Party.SELLER).files) \
        == (36, 0)
    assert Evidence.objects.filter(claim=world.claim, party=Party.BUYER, message__isnull=False).count() == 35
    assert Message.objects.filter(claim=world.claim, party="buyer").count() == 7
    # One line per message in every list, one webhook per message, and per person one email plus one digest.
    for member in staff:
        assert Notification.objects.filter(user=member, claim=world.claim, event="message").count() == 7
        assert sorted(OutboundEmail.objects.filter(recipient=member, claim=world.claim,
                                                   event__in=["message", "message_digest"])
                      .values_list("event", flat=True)) == ["message", "message_digest"]
    assert WebhookEvent.objects.filter(claim_number=world.claim.number,
                                       type=WebhookEventType.CLAIM_MESSAGE_POSTED).count() == 7
    assert sorted(m.to[0] for m in mail.outbox) == sorted(member.email for member in staff), \
        [(m.to, m.subject) for m in mail.outbox]  # the immediate ones
    from claims.notifications import deliver_pending

    with time_machine.travel(start + dt.timedelta(minutes=15), tick=False):
        deliver_pending()
    assert not OutboundEmail.objects.filter(event="message_digest", sent_at__isnull=True).exists()
    digests = [m for m in mail.outbox if m.subject == f"6 new messages on claim {world.claim.number}"]
    assert len(digests) == 3 and all(f"Request {n}" in d.body for d in digests for n in range(2, 8))
    assert all(d.body.count("5 files attached") == 6 for d in digests)


def test_a_person_past_the_quotas_is_refused_before_their_files_are_read(client, settings, monkeypatch):
    """Checking and re-encoding a file is the costly part of a request (a second for a large photo, more for a video):
    a buyer at their hourly message quota, or a side with no room for the files, is refused before any file is read,
    on the pages and in the API (claims.quotas.check_before_reading); a request the quotas let through reads them."""
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 1
    world = claim_world("in_progress")
    read = []
    real_prepare = evidence_files.prepare
    monkeypatch.setattr(evidence_files, "prepare", lambda upload, **kw: read.append(upload.name) or real_prepare(
        upload, **kw))
    client.force_login(world.buyer)
    url = reverse("claims:message", kwargs={"number": world.claim.number})
    with time_machine.travel(NOON, tick=False):
        assert client.post(url, {"body": "One", "attachments": [photo("one.jpg")]}).status_code == 302
        assert read == ["one.jpg"]
        response = client.post(url, {"body": "Two", "attachments": [photo(f"two-{n}.jpg") for n in range(5)]})
    assert response.status_code == 429 and "You can post 1 message an hour on a claim" in response.content.decode()
    assert read == ["one.jpg"]
    # The seller's side with no room for five more files: the API refuses the upload unread.
    _key, key = seller_key(world.claim.seller)
    settings.MESSAGES_PER_CLAIM_PER_HOUR = 20
    settings.CLAIM_MAX_FILES = quotas.file_room(world.claim, Party.SELLER).files + 4
    before = everything()
    with time_machine.travel(NOON, tick=False):
        answer = _post_files(client, f"{API}/{world.claim.number}/evidence", key,
                             {"files": [photo(f"s{n}.jpg") for n in range(5)]})
        assert answer.status_code == 422 and answer.json()["code"] == "file-quota"
        assert read == ["one.jpg"] and everything() == before
        # Nor does a service read them: a rejection's evidence on a full side.
        settings.CLAIM_MAX_FILES = quotas.file_room(world.claim, Party.SELLER).files
        refused(quotas.FILE_QUOTA, lambda: services.reject(claim=world.claim, by=world.staff, code="normal_wear",
                                                            body="Wear.", evidence=[photo("r.jpg")]))
        assert read == ["one.jpg"]
        # Room for four: four are read and stored.
        settings.CLAIM_MAX_FILES += 4
        answer = _post_files(client, f"{API}/{world.claim.number}/evidence", key,
                             {"files": [photo(f"s{n}.jpg") for n in range(4)]})
    assert answer.status_code == 201 and read == ["one.jpg", "s0.jpg", "s1.jpg", "s2.jpg", "s3.jpg"]


# --- races on PostgreSQL --------------------------------------------------------------------------------------
# Two connections waiting on one row lock; tests/test_races_postgres.py's machinery (each contender's claim lock
# held in turn, or both released at once).

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="needs PostgreSQL: two connections waiting on one row lock (SQLite locks "
                                          "the whole database file); run with DATABASE_URL=postgres://...")
ORDERS = ["first wins the row", "second wins the row", "at once"]


@on_postgresql
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("order", ORDERS)
def test_two_messages_for_the_last_slot_exactly_one_wins(monkeypatch, settings, order):
    from tests.test_races_postgres import race

    settings.MESSAGES_PER_CLAIM_PER_HOUR = 3
    world = claim_world("in_progress")
    for minute in range(2):
        say(world, world.buyer, NOON + minute * MINUTE)
    with time_machine.travel(NOON + 5 * MINUTE, tick=False):
        outcomes = race(monkeypatch, {
            name: (lambda body=name: services.post_message(claim=Claim.objects.get(pk=world.claim.pk),
                                                           by=world.buyer, body=body))
            for name in ("left", "right")}, order)
    assert sum(outcome.ok for outcome in outcomes.values()) == 1, {k: repr(o.error) for k, o in outcomes.items()}
    loser = next(outcome for outcome in outcomes.values() if not outcome.ok)
    assert isinstance(loser.error, ClaimError) and loser.error.code == "message_quota", repr(loser.error)
    assert Message.objects.filter(claim=world.claim, author=world.buyer, created_at__gte=NOON).count() == 3


@on_postgresql
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("order", ORDERS)
def test_two_uploads_for_the_last_files_exactly_one_wins(monkeypatch, settings, order):
    """Two uploads by the same side (the quota counts per side: the seller's files never compete with the buyer's)
    for the room left on it: the second one counts after the first one committed."""
    from tests.test_races_postgres import race

    world = claim_world("in_progress")
    settings.CLAIM_MAX_FILES = quotas.file_room(world.claim, Party.BUYER).files + 2  # room for one of the uploads
    on_disk, before = stored_files(settings), set(Evidence.objects.values_list("pk", flat=True))
    with time_machine.travel(NOON, tick=False):
        outcomes = race(monkeypatch, {
            name: (lambda body=name: services.post_message(claim=Claim.objects.get(pk=world.claim.pk),
                                                           by=world.buyer, body=body,
                                                           attachments=[photo(), photo()]))
            for name in ("left", "right")}, order)
    assert sum(outcome.ok for outcome in outcomes.values()) == 1, {k: repr(o.error) for k, o in outcomes.items()}
    loser = next(outcome for outcome in outcomes.values() if not outcome.ok)
    assert isinstance(loser.error, ClaimError) and loser.error.code == "file_quota", repr(loser.error)
    assert loser.error.messages == ["You have added 3 files to this claim, the most each side of a claim may add, so "
                                    "no more files can be added. Please go on without files (describe it in words), "
                                    "or contact our support team if a file is essential."]
    assert quotas.file_room(world.claim, Party.BUYER).files == settings.CLAIM_MAX_FILES
    new = Evidence.objects.exclude(pk__in=before)
    assert new.count() == 2
    # On disk: the winner's files and thumbnails, nothing of the loser's.
    assert stored_files(settings) == on_disk + sum(1 + bool(e.thumbnail) for e in new)

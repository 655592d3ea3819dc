"""The data export (issue 18): "Buyers download their data (a ZIP of JSON and their evidence)".

The archive's files and what they hold for a buyer with a claim in each kind of state; only this person's data (the
seller's staff get their account, never their customers' claims); the platform's internal notes never; their own
files byte for byte, never the seller's and never one deleted; the same number of queries for one claim as for
several; the audit line; POST only, for logged-in people, a few times an hour; and the privacy page.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import services
from claims.models import Evidence, Notification
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import OPENED_AT, claim_world, delivered_order, open_defective_claim, photo
from core.models import AuditEvent, AuditKind
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = OPENED_AT + dt.timedelta(days=1)
SECRET_NOTE = "Internal: the buyer seems to have dropped it."


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def download(client: Any, user: Any) -> tuple[Any, zipfile.ZipFile]:
    client.force_login(user)
    response = client.post(reverse("accounts:export"))
    assert response.status_code == 200, response.status_code
    body = b"".join(response.streaming_content)
    return response, zipfile.ZipFile(io.BytesIO(body))


def read(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name))


@pytest.fixture
def world():
    """A resolved claim (a refund), with a message and a file from the buyer, a message from the seller, an internal
    note of the platform with a file, and a second claim still open."""
    world = claim_world("escalated")
    claim = world.claim
    services.post_message(claim=claim, by=world.buyer, body="Thanks, here is the receipt.",
                          attachments=[photo("my receipt.jpg")])
    services.post_message(claim=claim, by=world.staff, body="We shipped it well packed.",
                          attachments=[photo("label.jpg")])
    services.post_message(claim=claim, by=world.agent, body=SECRET_NOTE, internal=True,
                          attachments=[photo("internal.jpg")])
    services.decide(claim=claim, by=world.agent, outcome="refund", funded_by="seller")
    world.refresh()
    world.open_claim = open_defective_claim(order=delivered_order(buyer=world.buyer, seller=claim.seller),
                                            description="The battery dies.")
    return world


def test_the_archive_holds_the_buyers_data_as_their_pages_show_it(client, world):
    response, archive = download(client, world.buyer)
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="my-data-2026-03-11.zip"'
    assert response["Cache-Control"] == "private, no-store"
    names = set(archive.namelist())
    documents = {"README.txt", "account.json", "orders.json", "claims.json", "notifications.json",
                 "email_preferences.json", "audit.json"}
    assert documents <= names

    account = read(archive, "account.json")
    assert (account["username"], account["email"]) == (world.buyer.username, world.buyer.email)
    assert account["two_factor_authentication"] is False and account["seller_roles"] == []

    orders = {order["number"]: order for order in read(archive, "orders.json")}
    assert set(orders) == {world.claim.order.number, world.open_claim.order.number}
    order = orders[world.claim.order.number]
    assert order["delivery_address"]["name"] == world.claim.order.delivery_name
    assert order["items"][0]["title"] == world.claim.order.items.get().title and order["shipments"]

    claims = {claim["number"]: claim for claim in read(archive, "claims.json")}
    assert set(claims) == {world.claim.number, world.open_claim.number}
    resolved = claims[world.claim.number]
    assert resolved["description"] == world.claim.description and resolved["outcome"].startswith("Resolved")
    texts = [message["text"] for message in resolved["messages"]]
    assert "Thanks, here is the receipt." in texts and "We shipped it well packed." in texts
    assert SECRET_NOTE not in json.dumps(read(archive, "claims.json"))  # never the platform's internal notes
    [refund] = resolved["refunds"]
    assert Decimal(refund["amount"]) == world.claim.refunds.get().amount and refund["what_happens"]
    assert [entry["kind"] for entry in resolved["timeline"]][:1] == ["event"]
    assert claims[world.open_claim.number]["state"] == "Waiting for the seller"

    # the buyer's own files, byte for byte; the seller's and the agent's files are listed only (not internal ones)
    mine = Evidence.objects.filter(uploaded_by=world.buyer).order_by("pk")
    assert mine.count() == 3  # two opening photos, one with the message
    for evidence in mine:
        [path] = [e["in_archive"] for c in claims.values() for e in c["evidence"] if e["id"] == evidence.pk]
        assert path.startswith(f"evidence/{evidence.claim.number}/{evidence.pk}-")
        with default_storage.open(evidence.file.name, "rb") as stored:
            assert archive.read(path) == stored.read()
    assert any(path.endswith("-my receipt.jpg") for path in names)
    listed = {e["id"]: e for e in resolved["evidence"]}
    seller_file = Evidence.objects.get(original_name="label.jpg")
    assert listed[seller_file.pk]["in_archive"] is None
    assert Evidence.objects.get(original_name="internal.jpg").pk not in listed
    assert {name for name in names if name.startswith("evidence/")} == {
        e["in_archive"] for c in claims.values() for e in c["evidence"] if e["in_archive"]}

    notifications = read(archive, "notifications.json")
    assert notifications and {n["claim"] for n in notifications} <= set(claims)
    assert read(archive, "email_preferences.json")["messages"] is True


def test_only_the_persons_own_data_and_never_another_buyers(client, world):
    _response, archive = download(client, world.other_buyer)
    everything = b"".join(archive.read(name) for name in archive.namelist())
    for secret in (world.claim.number, world.buyer.email, world.claim.description, world.claim.order.number):
        assert secret.encode() not in everything
    assert read(archive, "claims.json") == [] and read(archive, "orders.json") == []


def test_seller_staff_get_their_account_and_not_their_customers_claims(client, world):
    _response, archive = download(client, world.staff)
    account = read(archive, "account.json")
    assert [role["role"] for role in account["seller_roles"]] == ["Staff"]
    assert read(archive, "claims.json") == [] and read(archive, "orders.json") == []
    # their own list of notifications (news of their seller's claims), nothing of the buyer's
    assert len(read(archive, "notifications.json")) == Notification.objects.filter(user=world.staff).count()
    assert world.buyer.email.encode() not in b"".join(archive.read(name) for name in archive.namelist())


def test_deleted_files_are_listed_not_included(client, world):
    evidence = Evidence.objects.filter(uploaded_by=world.buyer, claim=world.claim).first()
    Evidence.objects.filter(pk=evidence.pk).update(purged_at=NOW, file="", thumbnail="")
    _response, archive = download(client, world.buyer)
    [listed] = [e for c in read(archive, "claims.json") for e in c["evidence"] if e["id"] == evidence.pk]
    assert listed["in_archive"] is None and listed["deleted_at"] is not None
    assert not any(name.startswith(f"evidence/{world.claim.number}/{evidence.pk}-") for name in archive.namelist())


def test_the_queries_do_not_grow_with_the_claims(client):
    buyer = UserFactory()
    seller = SellerFactory()
    first = open_defective_claim(order=delivered_order(buyer=buyer, seller=seller))
    services.post_message(claim=first, by=buyer, body="More.", attachments=[photo()])
    client.force_login(buyer)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(reverse("accounts:export"))
            b"".join(response.streaming_content)
        return len(queries)

    with_one = count()
    for n in range(3):
        claim = open_defective_claim(order=delivered_order(buyer=buyer, seller=seller),
                                     at=OPENED_AT + dt.timedelta(minutes=n + 1))
        services.post_message(claim=claim, by=buyer, body="More.", attachments=[photo()])
    assert count() == with_one


def test_the_audit_log_records_the_download(client, world):
    download(client, world.buyer)
    [event] = AuditEvent.objects.filter(kind=AuditKind.DATA_EXPORT)
    assert (event.actor, event.subject_user, event.ip_address) == (world.buyer, world.buyer, "127.0.0.1")
    assert event.details["files"] == 3 and event.details["bytes"] > 0
    assert world.buyer.email not in json.dumps(event.details) + event.summary
    _response, archive = download(client, world.buyer)
    lines = read(archive, "audit.json")
    [earlier] = [line for line in lines if line["kind"] == AuditKind.DATA_EXPORT]  # the first download
    assert earlier["by"] == "you" and earlier["what"] == "Personal data exported"
    [refund] = [line for line in lines if line["kind"] == AuditKind.REFUND]  # the agent's decision refunded them
    assert refund["by"] == "our team" and world.agent.username not in json.dumps(lines)


def test_post_only_for_logged_in_people_a_few_times_an_hour(client, world):
    url = reverse("accounts:export")
    response = client.post(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(world.buyer)
    assert client.get(url).status_code == 405
    for _attempt in range(5):
        assert client.post(url).status_code == 200
    refused = client.post(url)
    assert refused.status_code == 429 and b"several times in the last hour" in refused.content
    assert AuditEvent.objects.filter(kind=AuditKind.DATA_EXPORT).count() == 5


# --- the privacy page ----------------------------------------------------------------------------------------------


def test_the_privacy_page_offers_the_download_and_the_erasure(client, world):
    client.force_login(world.buyer)
    page = client.get(reverse("accounts:privacy")).content.decode()
    assert f'action="{reverse("accounts:export")}"' in page
    assert f'action="{reverse("accounts:erasure_request")}"' in page
    assert f"Claim {world.open_claim.number} is not closed yet." in page  # said before asking
    assert reverse("privacy") in page


def test_staff_see_no_erasure_button(client):
    staff = UserFactory()
    SellerMembership.objects.create(user=staff, seller=SellerFactory(), role="staff")
    client.force_login(staff)
    page = client.get(reverse("accounts:privacy")).content.decode()
    assert reverse("accounts:erasure_request") not in page and reverse("accounts:export") in page
    client.force_login(make_console_agent())
    assert reverse("accounts:erasure_request") not in client.get(reverse("accounts:privacy")).content.decode()


def test_the_public_privacy_notice_states_the_periods_from_the_settings(client, settings):
    settings.EVIDENCE_RETENTION_MONTHS = 18
    settings.LOGIN_FAILURE_MEMORY_HOURS = 36
    response = client.get(reverse("privacy"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Until 18 months after the claim was closed" in page
    assert "Failed logins are forgotten 36 hours after the last one" in page
    assert "within 1 month" in page
    assert reverse("privacy") in client.get(reverse("login")).content.decode()  # linked from every page's footer

"""Evidence retention (issue 18): "files of claims closed more than N months ago (setting, default 24) are deleted by
beat, with a log entry"; "the retention job deletes files once and only of claims past the limit".

The limit counted in calendar months on Berlin's wall clock, exactly at its boundary and with a change to summer time
between the claim's resolution and the run; once per claim (a second run finds nothing); never a claim reopened or
still open; one audit line per claim; the storage emptied, the rows kept; the pages, the evidence view (410), the
seller API (410, purged_at) and the console saying the file was deleted; the beat entry; and on PostgreSQL the due
claims read through the index of claims whose files are still kept.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import retention, services, tasks
from claims.models import Claim, Evidence
from claims.tests.admin_factories import make_console_agent
from claims.tests.factories import delivered_order, open_defective_claim, photo
from core.models import AuditEvent, AuditKind
from integrations.keys import create_api_key

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def closed_at(moment: dt.datetime, *, files: int = 1) -> Claim:
    """A claim the buyer closed at `moment` (resolved_at), with `files` photos of theirs (each with a thumbnail)."""
    order = delivered_order(delivered_at=moment - dt.timedelta(days=10))
    claim = open_defective_claim(at=moment - dt.timedelta(days=2), order=order,
                                 evidence=[photo(f"p{n}.jpg") for n in range(files)])
    with time_machine.travel(moment, tick=False):
        services.close(claim=claim, by=claim.buyer)
    claim = Claim.objects.get(pk=claim.pk)
    assert claim.resolved_at == moment
    return claim


def names(claim: Claim) -> list[str]:
    return [name for e in Evidence.objects.filter(claim=claim) for name in (e.file.name, e.thumbnail.name) if name]


def purge_at(moment: dt.datetime) -> retention.Purged:
    with time_machine.travel(moment, tick=False):
        return retention.purge_expired_evidence()


# --- the limit -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("resolved", "now"), [
    # The example: 24 months before 30 Nov 2026 10:00 in Berlin (winter time at both ends).
    (berlin(2024, 11, 30, 10, 0), berlin(2026, 11, 30, 10, 0)),
    # Resolved in winter time (09:00 UTC), the run in summer time (08:00 UTC: Berlin moved its clocks on 29 March
    # 2026). The limit is 10:00 on Berlin's clock both times; counted in UTC it would be an hour late.
    (berlin(2024, 3, 30, 10, 0), berlin(2026, 3, 30, 10, 0)),
])
def test_files_go_exactly_when_the_months_have_passed_on_the_wall_clock(settings, resolved, now):
    settings.EVIDENCE_RETENTION_MONTHS = 24
    claim = closed_at(resolved)
    files = names(claim)
    assert len(files) == 2 and all(default_storage.exists(name) for name in files)
    assert retention.retention_limit(now) == resolved
    assert purge_at(now) == retention.Purged(claims=0, files=0)  # exactly at the limit: not more than 24 months
    assert all(default_storage.exists(name) for name in files)
    assert purge_at(now + dt.timedelta(seconds=1)) == retention.Purged(claims=1, files=1)
    assert not any(default_storage.exists(name) for name in files)
    evidence = Evidence.objects.get(claim=claim)
    assert (evidence.file.name, evidence.thumbnail.name, evidence.original_name) == ("", "", "p0.jpg")
    assert evidence.purged_at == now + dt.timedelta(seconds=1)


def test_a_second_run_deletes_nothing_and_writes_no_second_log_line():
    claim = closed_at(berlin(2024, 1, 15, 12, 0), files=3)
    later = berlin(2026, 6, 1, 3, 0)
    assert purge_at(later) == retention.Purged(claims=1, files=3)
    assert list(AuditEvent.objects.values_list("kind", "object_type", "object_id", "details", "actor")) == [
        (AuditKind.EVIDENCE_PURGED, "claims.claim", str(claim.pk), {"files": 3}, None)]
    first = dict(Evidence.objects.values_list("pk", "purged_at"))
    assert purge_at(later + dt.timedelta(hours=6)) == retention.Purged()
    assert dict(Evidence.objects.values_list("pk", "purged_at")) == first
    assert AuditEvent.objects.count() == 1


def test_only_claims_past_the_limit_and_never_a_reopened_or_open_one():
    now = berlin(2026, 11, 30, 10, 0)
    old = closed_at(berlin(2024, 6, 1, 10, 0))
    recent = closed_at(berlin(2025, 6, 1, 10, 0))
    reopened = closed_at(berlin(2024, 6, 1, 11, 0))
    with time_machine.travel(berlin(2024, 6, 2, 10, 0), tick=False):
        services.reopen(claim=reopened, by=make_console_agent(), reason="The buyer sent a new photo.")
    still_open = open_defective_claim(at=berlin(2024, 5, 1, 10, 0), order=delivered_order(
        delivered_at=berlin(2024, 4, 20, 10, 0)))
    assert Claim.objects.get(pk=reopened.pk).resolved_at is None
    assert purge_at(now) == retention.Purged(claims=1, files=1)
    purged = set(Evidence.objects.filter(purged_at__isnull=False).values_list("claim_id", flat=True))
    assert purged == {old.pk}
    for kept in (recent, reopened, still_open):
        assert all(default_storage.exists(name) for name in names(kept)), kept


def test_the_runs_cost_follows_what_is_due_not_the_claims_kept():
    now = berlin(2026, 11, 30, 10, 0)
    for day in range(1, 6):
        closed_at(berlin(2025, 1, day, 10, 0))  # kept: within 24 months
    with CaptureQueriesContext(connection) as nothing_due:
        assert purge_at(now) == retention.Purged()
    assert len(nothing_due) == 1  # the one read of due claims
    for day in range(1, 4):
        closed_at(berlin(2024, 1, day, 10, 0))
    with CaptureQueriesContext(connection) as three_due:
        assert purge_at(now) == retention.Purged(claims=3, files=3)
    closed_at(berlin(2024, 2, 1, 10, 0))
    with CaptureQueriesContext(connection) as one_due:
        assert purge_at(now) == retention.Purged(claims=1, files=1)
    per_claim = (len(three_due) - len(one_due)) // 2
    assert len(one_due) == len(nothing_due) + per_claim  # a fixed number of queries per claim due


def test_the_beat_runs_the_task(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["purge-expired-evidence"]
    assert entry["task"] == "claims.tasks.purge_expired_evidence"
    claim = closed_at(berlin(2024, 1, 15, 12, 0))
    with time_machine.travel(berlin(2026, 6, 1, 3, 0), tick=False):
        assert tasks.purge_expired_evidence.delay().get() == {"claims": 1, "files": 1}
    assert not Evidence.objects.filter(claim=claim, purged_at__isnull=True).exists()
    assert settings.EVIDENCE_RETENTION_MONTHS == 24  # the default the privacy page states


# --- how a deleted file looks ----------------------------------------------------------------------------------------


def purged_claim() -> tuple[Claim, Evidence]:
    claim = closed_at(berlin(2024, 1, 15, 12, 0))
    purge_at(berlin(2026, 6, 1, 3, 0))
    return claim, Evidence.objects.get(claim=claim)


WORDS = "Photo deleted after the retention period (24 months after the claim closed)."


def test_the_buyer_page_and_the_evidence_view_say_the_file_was_deleted(client):
    claim, evidence = purged_claim()
    client.force_login(claim.buyer)
    page = client.get(reverse("claims:detail", kwargs={"number": claim.number})).content.decode()
    assert WORDS in page
    assert reverse("claims:evidence", kwargs={"pk": evidence.pk}) not in page
    for name in ("claims:evidence", "claims:evidence_thumbnail"):
        response = client.get(reverse(name, kwargs={"pk": evidence.pk}))
        assert response.status_code == 410 and WORDS in response.content.decode()
    # a file deleted because its uploader's data was erased is said so
    Evidence.objects.filter(pk=evidence.pk).update(purged_at=claim.resolved_at + dt.timedelta(days=3))
    page = client.get(reverse("claims:detail", kwargs={"number": claim.number})).content.decode()
    assert "Photo deleted at the request of the person who sent it." in page


def test_the_seller_page_the_console_and_the_api_say_so_too(client):
    claim, evidence = purged_claim()
    staff = claim.seller.memberships.create(user=make_console_agent(), role="staff").user
    client.force_login(staff)
    assert WORDS in client.get(reverse("sellers:claim", kwargs={"number": claim.number})).content.decode()
    client.force_login(make_console_agent())
    page = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert WORDS in page and reverse("claims:evidence", kwargs={"pk": evidence.pk}) not in page
    _key, key = create_api_key(name="ERP", seller=claim.seller)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}", "HTTP_HOST": "127.0.0.1"}
    detail = client.get(reverse("api:claim", kwargs={"number": claim.number}), **headers).json()
    [listed] = detail["evidence"]
    assert listed["id"] == evidence.pk and listed["purged_at"] is not None
    gone = client.get(listed["url"], **headers)
    assert gone.status_code == 410 and gone["Content-Type"] == "application/problem+json"
    assert gone.json()["code"] == "gone" and gone.json()["detail"] == WORDS


def test_the_due_claims_are_read_through_the_kept_evidence_index(requires_postgresql):
    """Three years of claims, a file each, those older than the limit dealt with already, the planner's statistics up
    to date: the run reads claim_evidence_kept_idx (resolved claims whose files are still kept), so its cost follows
    what is due, not the history of claims resolved long ago."""
    template = closed_at(berlin(2024, 1, 15, 12, 0))
    row = Claim.objects.filter(pk=template.pk).values().get()
    evidence = Evidence.objects.filter(claim=template).values().get()
    start = berlin(2023, 6, 1, 10, 0)
    limit = retention.retention_limit(berlin(2026, 6, 1, 3, 0))
    claims = Claim.objects.bulk_create([Claim(**{
        **row, "id": None, "number": f"C-T{n:03d}-{n:04d}", "resolved_at": start + dt.timedelta(hours=13 * n),
        "evidence_purged_at": limit if start + dt.timedelta(hours=13 * n) < limit else None}) for n in range(2000)])
    Evidence.objects.bulk_create([Evidence(**{**evidence, "id": None, "claim_id": claim.pk,
                                              "purged_at": claim.evidence_purged_at})
                                  for claim in claims])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE claims_claim, claims_evidence")
    plan = retention.due_claims(limit).values("pk")[:retention.BATCH].explain()
    assert "claim_evidence_kept_idx" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_a_claim_reopened_after_its_files_went_has_its_new_files_go_in_their_turn():
    """Reopening clears the mark, so a file added then is deleted once the claim has been closed long enough again;
    a claim without files is dealt with once and never read again."""
    claim = closed_at(berlin(2024, 1, 10, 10, 0))
    empty = closed_at(berlin(2024, 1, 11, 10, 0))
    Evidence.objects.filter(claim=empty).update(purged_at=berlin(2024, 2, 1, 10, 0))  # its uploader's data erased
    assert purge_at(berlin(2026, 1, 20, 10, 0)) == retention.Purged(claims=1, files=1)
    assert Claim.objects.get(pk=empty.pk).evidence_purged_at is not None
    with time_machine.travel(berlin(2026, 2, 1, 10, 0), tick=False):
        services.reopen(claim=claim, by=make_console_agent(), reason="A new photo arrived.")
        assert Claim.objects.get(pk=claim.pk).evidence_purged_at is None
        services.post_message(claim=Claim.objects.get(pk=claim.pk), by=claim.buyer, body="Here it is.",
                              attachments=[photo("late.jpg")])
    with time_machine.travel(berlin(2026, 2, 2, 10, 0), tick=False):
        services.close(claim=Claim.objects.get(pk=claim.pk), by=claim.buyer)
    late = Evidence.objects.get(claim=claim, purged_at__isnull=True)
    assert purge_at(berlin(2028, 2, 1, 10, 0)) == retention.Purged()  # a day short of 24 months
    assert default_storage.exists(late.file.name)
    assert purge_at(berlin(2028, 2, 2, 10, 1)) == retention.Purged(claims=1, files=1)
    assert not default_storage.exists(late.file.name)


def test_a_file_added_to_a_claim_whose_files_went_already_goes_in_its_turn():
    """An agent may still write on a resolved claim, with a file, long after its files were deleted (its mark set, the
    claim off the index of claims whose files are kept): that file too is a file of a claim closed more than the
    retention period ago, so the next run deletes it, once."""
    claim = closed_at(berlin(2024, 1, 10, 10, 0))
    assert purge_at(berlin(2026, 1, 20, 10, 0)) == retention.Purged(claims=1, files=1)
    with time_machine.travel(berlin(2026, 3, 2, 10, 0), tick=False):
        services.post_message(claim=Claim.objects.get(pk=claim.pk), by=make_console_agent(),
                              body="The carrier's report, for the record.", attachments=[photo("report.jpg")])
    late = Evidence.objects.get(claim=claim, purged_at__isnull=True)
    late_names = [late.file.name, late.thumbnail.name]
    assert all(default_storage.exists(name) for name in late_names)
    assert purge_at(berlin(2026, 3, 2, 16, 0)) == retention.Purged(claims=1, files=1)
    assert not any(default_storage.exists(name) for name in late_names)
    assert Evidence.objects.get(pk=late.pk).purged_at == berlin(2026, 3, 2, 16, 0)
    assert AuditEvent.objects.filter(kind=AuditKind.EVIDENCE_PURGED, object_id=str(claim.pk)).count() == 2
    assert purge_at(berlin(2026, 3, 2, 22, 0)) == retention.Purged()  # once

"""How long evidence is kept: the files of a claim closed more than EVIDENCE_RETENTION_MONTHS ago are deleted (the
privacy page says so), by beat (claims.tasks.purge_expired_evidence, every few hours).

"Closed" is a claim in its final state (claims.choices: resolved) with its `resolved_at`; a reopened or appealed claim
has none, so its files stay while it is open again. The months are calendar months in the marketplace's time zone
(settings.TIME_ZONE): with 24 months, a claim resolved before 30 Nov 2024 10:00 in Berlin is due on 30 Nov 2026 at
10:00 in Berlin, whichever side of a clock change either moment is.

Each claim is done in its own transaction, under its row lock, state and moment checked again: its files and
thumbnails are deleted from the storage, the rows stay (the claim's record of what was sent) with `purged_at` set,
and one audit line (core.audit, "evidence_purged") says how many files. Files are deleted before the commit: if the
commit fails, the next run finds the rows unpurged and deletes what is left, so no file outlives its rows' mark. A
second run finds nothing to do.

Which claims are due is read on `claim_evidence_kept_idx`: the partial index on resolved_at of the resolved claims
whose files are still kept (`evidence_purged_at` unset). A claim dealt with leaves it (`evidence_purged_at` set, with or
without files), so a run costs what is due, not the history; reopening or appealing a claim clears the mark, and so
does a file stored on it later (`file_stored`: an agent may still write on a resolved claim), so that file goes in its
turn too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import cast

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import audit
from core.models import AuditKind

from .choices import ClaimState
from .models import Claim, Evidence

logger = logging.getLogger(__name__)

BATCH = 200


@dataclasses.dataclass
class Purged:
    claims: int = 0
    files: int = 0


def retention_limit(now: dt.datetime | None = None) -> dt.datetime:
    """The moment before which a claim must have been resolved for its files to go: EVIDENCE_RETENTION_MONTHS
    calendar months before `now`, counted on the marketplace's wall clock."""
    local = timezone.localtime(now or timezone.now())
    wall = local.replace(tzinfo=None) - relativedelta(months=settings.EVIDENCE_RETENTION_MONTHS)
    return timezone.make_aware(wall)


def file_stored(claim: Claim) -> None:
    """A file was just stored on `claim` (claims.services._base._store_evidence, under the claim's lock). If the
    claim's files were dealt with already, it goes back on the index of claims whose files are kept: the new file is
    deleted by the first run once the claim has been closed longer than the retention period, at once if it has."""
    if claim.evidence_purged_at is not None:
        Claim.objects.filter(pk=claim.pk).update(evidence_purged_at=None)
        claim.evidence_purged_at = None


def due_claims(limit: dt.datetime) -> QuerySet[Claim]:
    """Claims resolved before `limit` that still have a file, oldest first. Only a resolved claim has a
    `resolved_at` (reopening and appealing clear it), so the range on the claims whose files are kept is what
    `claim_evidence_kept_idx` serves; the state is checked again under each claim's lock."""
    return (Claim.objects.filter(resolved_at__isnull=False, resolved_at__lt=limit, evidence_purged_at__isnull=True)
            .order_by("resolved_at", "id"))


def purge_expired_evidence(now: dt.datetime | None = None, batch: int = BATCH) -> Purged:
    """Delete the files of every claim past the retention limit; returns how many claims and files. Idempotent."""
    limit = retention_limit(now)
    done = Purged()
    skipped: set[int] = set()
    while True:
        ids = list(due_claims(limit).exclude(pk__in=skipped).values_list("pk", flat=True)[:batch])
        for pk in ids:
            files = _purge_claim(pk, limit)
            if files is None:
                skipped.add(pk)  # locked by someone else, or no longer due: the next run looks again
                continue
            done.claims += 1 if files else 0
            done.files += files
        if len(ids) < batch:
            break
    if done.claims:
        logger.info("evidence retention: %s files of %s claims deleted", done.files, done.claims)
    return done


def _purge_claim(pk: int, limit: dt.datetime) -> int | None:
    with transaction.atomic():
        claim = (Claim.objects.select_for_update(skip_locked=True, of=("self",))
                 .filter(pk=pk, state=ClaimState.RESOLVED, resolved_at__lt=limit).first())
        if claim is None:
            return None
        now = timezone.now()
        Claim.objects.filter(pk=claim.pk).update(evidence_purged_at=now)  # dealt with: off the index
        evidence = list(Evidence.objects.select_for_update().filter(claim=claim, purged_at__isnull=True))
        if not evidence:
            return 0
        names = [(field.storage, field.name) for e in evidence for field in (e.file, e.thumbnail) if field.name]
        Evidence.objects.filter(pk__in=[e.pk for e in evidence]).update(purged_at=now, file="", thumbnail="")
        audit.record(AuditKind.EVIDENCE_PURGED, obj=claim, files=len(evidence))
        for storage, name in names:
            storage.delete(name)
    return len(evidence)


# --- how a deleted file is named on the pages and in the API ------------------------------------------------------


def purged_by_retention(evidence: Evidence, claim: Claim | None = None) -> bool:
    """Deleted because its claim (given when the page has it: no query) closed long enough ago; else because its
    uploader's data was erased, which may happen as soon as the claim is closed."""
    resolved_at = (claim if claim is not None else evidence.claim).resolved_at
    purged_at = cast(dt.datetime, evidence.purged_at)  # asked of a deleted file only
    return resolved_at is None or purged_at >= resolved_at + relativedelta(
        months=settings.EVIDENCE_RETENTION_MONTHS) - dt.timedelta(days=1)


def purged_words(evidence: Evidence, claim: Claim | None = None) -> str:
    """What the pages show in place of a deleted file."""
    if purged_by_retention(evidence, claim):
        months = settings.EVIDENCE_RETENTION_MONTHS
        return ngettext("%(kind)s deleted after the retention period (%(months)d month after the claim closed).",
                        "%(kind)s deleted after the retention period (%(months)d months after the claim closed).",
                        months) % {"kind": evidence.get_kind_display(), "months": months}
    return _("%(kind)s deleted at the request of the person who sent it.") % {"kind": evidence.get_kind_display()}

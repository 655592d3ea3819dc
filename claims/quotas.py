"""Quotas on one claim (issue 18: "Messages per user per claim per hour, files and bytes per claim (settings), with
clear errors"), seen as "12 requests stored 60 files (120 MB) in about a second and emailed every seller staff member
each time".

- Messages: a buyer or a seller's staff member (a seller's API key acts as its own staff user, so it counts too) may
  post MESSAGES_PER_CLAIM_PER_HOUR messages on one claim in any hour, counted from the claim's Message rows by that
  author in the last hour (whatever posted them: a message, a rejection, tracking, an inspection note) and the offers
  they made (a seller's offer, a buyer's counter-offer): words to the other side and an email to them each, which
  without a count a seller could replace all day. Agents are exempt: they are the platform's own trusted staff, a
  limit on them protects nobody, and the console must always be able to answer. Answers the platform waits for with a
  deadline (information asked for, an appeal, an escalation's reason) are never refused: they come once each.
- Files: each side of a claim (the buyer, the seller's staff and keys) may add at most CLAIM_MAX_FILES files and
  CLAIM_MAX_BYTES bytes to it in all (every Evidence row of the claim that side uploaded; a purged file takes no room
  any more). Per side, so that one side filling the claim can never keep the other from the evidence it needs (a
  rejection needs some). Every path that stores a file on a claim goes through claims.services._base._store_evidence,
  which asks `check_files` before the first file is written. Files an agent stores are never refused, for the same
  reason as their messages.

The services ask under the claim's row lock (claims.services._base._lock), so two requests at once cannot both take
the last slot: the second one counts after the first one committed. Settings are read at call time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db.models import Count, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import presenters, roles
from .choices import Party
from .errors import ClaimError
from .models import Claim, Evidence, Message, Offer

WINDOW = dt.timedelta(hours=1)
MESSAGE_QUOTA = "message_quota"
FILE_QUOTA = "file_quota"


def counts_messages(party: str) -> bool:
    """Whose messages are counted: the claim's two sides, not the platform's agents (nor the system)."""
    return party in (Party.BUYER, Party.SELLER)


def counts_files(party: str) -> bool:
    """Whose files may be refused: everyone's but the platform's agents (see the module's docstring)."""
    return party != Party.AGENT


# --- messages per person per claim per hour ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MessageRoom:
    limit: int
    used: int  # this author's messages on the claim in the last hour
    free_at: dt.datetime | None  # when the next message may be posted; None while one may be posted now


def message_room(claim: Claim, author: Any, *, now: dt.datetime | None = None) -> MessageRoom:
    """The author's messages and offers on the claim in the hour before `now`. A message posted at 10:00:00 counts
    until 10:59:59.999999 and no longer at 11:00:00."""
    now = now or timezone.now()
    limit = settings.MESSAGES_PER_CLAIM_PER_HOUR
    since = now - WINDOW
    times = sorted([
        *Message.objects.filter(claim=claim, author=author, created_at__gt=since).values_list("created_at", flat=True),
        *Offer.objects.filter(claim=claim, made_by=author, created_at__gt=since).values_list("created_at", flat=True),
    ])
    # Below the limit once enough of the oldest left the window (more than one if the limit was lowered meanwhile).
    free_at = times[len(times) - limit] + WINDOW if len(times) >= limit else None
    return MessageRoom(limit=limit, used=len(times), free_at=free_at)


def check_message(claim: Claim, *, by: Any, party: str | None, offer: bool = False,
                  now: dt.datetime | None = None) -> None:
    """Refuse a message (or, `offer`, an offer) past the hourly quota, saying when the next one may be posted; the API
    answers it with 429 and Retry-After (api.api). The caller holds the claim's row lock."""
    if party is None or not counts_messages(party):
        return
    now = now or timezone.now()
    room = message_room(claim, by, now=now)
    if room.free_at is None:
        return
    when = presenters.market_moment(room.free_at, presenters.policy_of(claim))
    if offer:
        sentence = ngettext(
            "You can send %(limit)d message or offer an hour on a claim (they count together); please wait until "
            "%(when)s before making another offer.",
            "You can send %(limit)d messages and offers an hour on a claim (they count together); please wait until "
            "%(when)s before making another offer.", room.limit)
    else:
        sentence = ngettext(
            "You can post %(limit)d message an hour on a claim; please wait until %(when)s before posting again.",
            "You can post %(limit)d messages an hour on a claim; please wait until %(when)s before posting again.",
            room.limit)
    error = ClaimError(sentence % {"limit": room.limit, "when": when}, code=MESSAGE_QUOTA)
    error.retry_after = max(math.ceil((room.free_at - now).total_seconds()), 1)
    raise error


# --- files and bytes per claim ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FileRoom:
    files: int  # files this side of the claim added (purged ones left out)
    size: int  # their bytes
    max_files: int
    max_size: int

    @property
    def files_left(self) -> int:
        return max(self.max_files - self.files, 0)

    @property
    def size_left(self) -> int:
        return max(self.max_size - self.size, 0)


def file_room(claim: Claim, party: str) -> FileRoom:
    totals = Evidence.objects.filter(claim=claim, party=party, purged_at__isnull=True).aggregate(files=Count("pk"),
                                                                                    size=Sum("size"))
    return FileRoom(files=totals["files"] or 0, size=totals["size"] or 0, max_files=settings.CLAIM_MAX_FILES,
                    max_size=settings.CLAIM_MAX_BYTES)


def file_refusal(room: FileRoom, sizes: Sequence[int]) -> ClaimError | None:
    """Why these files do not fit in the claim's room, or None. The sentence names the limit, the numbers and what to
    do instead."""
    count, size = len(sizes), sum(sizes)
    if not count:
        return None
    if room.files_left == 0:
        message = ngettext(
            "You have added %(count)d file to this claim, the most each side of a claim may add, so no more files "
            "can be added. Please go on without files (describe it in words), or contact our support team if a file "
            "is essential.",
            "You have added %(count)d files to this claim, the most each side of a claim may add, so no more files "
            "can be added. Please go on without files (describe it in words), or contact our support team if a file "
            "is essential.",
            room.files) % {"count": room.files}
    elif count > room.files_left:
        message = ngettext(
            "Each side of a claim can add %(limit)d files and you have added %(count)d already, so only %(left)d more "
            "file can be added. Please attach fewer files.",
            "Each side of a claim can add %(limit)d files and you have added %(count)d already, so only %(left)d more "
            "files can be added. Please attach fewer files.",
            room.files_left) % {"limit": room.max_files, "count": room.files, "left": room.files_left}
    elif size > room.size_left:
        words = {"size": filesizeformat(size), "limit": filesizeformat(room.max_size),
                 "used": filesizeformat(room.size), "left": filesizeformat(room.size_left)}
        if room.size_left == 0:
            message = _("Your files on this claim take %(used)s, the most each side of a claim may add, so no more "
                        "files can be added. Please go on without files (describe it in words), or contact our "
                        "support team if a file is essential.") % words
        else:
            message = ngettext(
                "This file (%(size)s) would take your files on this claim over the limit of %(limit)s: yours take "
                "%(used)s already, so %(left)s are left. Please attach a smaller file.",
                "These files (%(size)s) would take your files on this claim over the limit of %(limit)s: yours take "
                "%(used)s already, so %(left)s are left. Please attach smaller or fewer files.", count) % words
    else:
        return None
    return ClaimError(message, code=FILE_QUOTA)


def check_files(claim: Claim, sizes: Sequence[int], *, party: str) -> None:
    """Refuse files that would take this side's files on the claim past CLAIM_MAX_FILES or CLAIM_MAX_BYTES, before
    any is written. The caller holds the claim's row lock (or is creating the claim)."""
    if not sizes or not counts_files(party):
        return
    if (refusal := file_refusal(file_room(claim, party), sizes)) is not None:
        raise refusal


def check_before_reading(claim: Claim, *, by: Any, files: int, message: bool = True) -> None:
    """A first look before any upload is read: checking and re-encoding a file costs a second of CPU for a large photo
    and more for a video, so a person at their hourly message quota (`message`: the upload goes with a message that
    counts), or whose side of the claim has no room for this many files, is refused before the work, not after it.
    Read without the claim's lock: the services check again under it (check_message, check_files). Both rules only
    tighten as the claim fills, and a stored file has at least one byte, so this refuses nothing those would let
    through."""
    if not files:
        return
    party = roles.party_of(claim, by)
    if message:
        check_message(claim, by=by, party=party)
    if not counts_files(party):
        return
    room = file_room(claim, party)
    if files > room.files_left or room.size_left == 0:
        # the count alone decides, or no byte is left: `sizes` of one byte each say so in file_refusal's words
        if (refusal := file_refusal(room, [max(room.size_left, 1)] * files)) is not None:
            raise refusal


def files_help() -> str:
    """The upload fields' help: how much one claim may hold (the current settings)."""
    return ngettext("You can add up to %(files)d file and %(size)s in all to a claim.",
                    "You can add up to %(files)d files and %(size)s in all to a claim.", settings.CLAIM_MAX_FILES) % {
        "files": settings.CLAIM_MAX_FILES, "size": filesizeformat(settings.CLAIM_MAX_BYTES)}

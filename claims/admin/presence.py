"""Who else has a claim open in the console, and whether it changed since the page was loaded (the collision warning).

The claim page records its viewer when it loads (one upsert and one read), and its script
(static/js/console-presence.js) sends a heartbeat every CONSOLE_PRESENCE_POLL_SECONDS while the page is visible: a
person counts as here while their latest heartbeat is younger than settings.CONSOLE_PRESENCE_SECONDS. The page
carries the claim's version as it showed it (`loaded_version`); the heartbeat answers with the current one
(`claim_version`) and, when they differ, what changed, by whom and when. The services refuse a write on a claim that
changed under them only where the state no longer allows it; this tells the agent before they submit, while their
text is still on the page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import OperationalError, connection, transaction
from django.db.models import Max, OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import formatting
from core.console import ConsoleMixinBase, person_label

from ..models import Claim, ClaimPresence, ClaimTransition, Message
from ..policy import Policy
from ..presenters import transition_words

logger = logging.getLogger(__name__)

FORGET_AFTER = dt.timedelta(days=1)  # rows older than this are deleted by beat ("forget-old-presence", hourly)


@dataclasses.dataclass(frozen=True)
class Version:
    """What changes on every write to a claim that matters to the agent reading it. `updated_at` moves on every save
    of the claim (a transition, an assignment, the sweep's reminders), `last_activity_at` on a message, an offer or a
    classified defect (written without a save), the newest transition's id on every logged moment (a recorded breach
    saves nothing), the newest message's id on every message and internal note (a note changes no claim column)."""

    updated_at: int  # microseconds since the epoch
    last_activity_at: int
    assigned_to_id: int
    transition_id: int
    message_id: int

    @classmethod
    def of(cls, *, updated_at: dt.datetime, last_activity_at: dt.datetime, assigned_to_id: int | None,
           transition_id: int | None, message_id: int | None) -> Version:
        return cls(_micros(updated_at), _micros(last_activity_at), assigned_to_id or 0, transition_id or 0,
                   message_id or 0)

    @property
    def token(self) -> str:
        return ".".join(str(part) for part in dataclasses.astuple(self))

    @classmethod
    def parse(cls, token: str) -> Version | None:
        parts = (token or "").split(".")
        if len(parts) != len(dataclasses.fields(cls)) or not all(part.isdigit() and len(part) < 20 for part in parts):
            return None
        return cls(*(int(part) for part in parts))


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


def _micros(moment: dt.datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def loaded_version(claim: Claim) -> Version:
    """The version of the claim as a page loaded it (console_claim prefetches its transitions and messages): what the
    page shows, so a change made while it was being read still counts as a change."""
    return Version.of(updated_at=claim.updated_at, last_activity_at=claim.last_activity_at,
                      assigned_to_id=claim.assigned_to_id,
                      transition_id=max((t.pk for t in claim.transitions.all()), default=None),
                      message_id=max((m.pk for m in claim.messages.all()), default=None))


def claim_version(claim_id: int | None) -> Version | None:
    """The claim's version now, in one query (the newest transition and message by the claim's own rows); None when
    there is no such claim."""
    newest_transition = (ClaimTransition.objects.filter(claim=OuterRef("pk")).order_by().values("claim")
                         .annotate(newest=Max("id")).values("newest"))
    newest_message = (Message.objects.filter(claim=OuterRef("pk")).order_by().values("claim")
                      .annotate(newest=Max("id")).values("newest"))
    row = (Claim.objects.filter(pk=claim_id)
           .annotate(transition_id=Subquery(newest_transition), message_id=Subquery(newest_message))
           .values("updated_at", "last_activity_at", "assigned_to_id", "transition_id", "message_id")
           .order_by("pk").first())
    return Version.of(**row) if row is not None else None


# --- who is here --------------------------------------------------------------------------------------------------


def window() -> dt.timedelta:
    return dt.timedelta(seconds=settings.CONSOLE_PRESENCE_SECONDS)


def poll_seconds() -> int:
    return settings.CONSOLE_PRESENCE_POLL_SECONDS


def record_presence(claim_id: int, user: Any, *, now: dt.datetime | None = None) -> bool:
    """The viewer is on the claim now: one upsert, and nothing else (old rows are beat's work), so a page's queries
    are the same on every request.

    A heartbeat the database cannot take right now (SQLite, used in development and tests, locks the whole table
    while another request writes) is skipped and logged: the next one, seconds later, records the viewer, and the
    answer (who else is here, what changed) must not be lost for it. False when skipped."""
    now = now or timezone.now()
    own_transaction = not connection.in_atomic_block
    try:
        with transaction.atomic():
            if own_transaction and connection.vendor == "postgresql":
                # A heartbeat lost in a crash is harmless (the next one comes seconds later): its commit does not wait
                # for the disk, so the claim page does not wait for it on every view. Only when the heartbeat is a
                # transaction of its own: SET LOCAL would hold for everything else a surrounding transaction writes.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            ClaimPresence.objects.bulk_create([ClaimPresence(claim_id=claim_id, user=user, seen_at=now)],
                                              update_conflicts=True, unique_fields=["claim", "user"],
                                              update_fields=["seen_at"])
    except OperationalError as exc:
        logger.warning("presence of user %s on claim %s not recorded (the next heartbeat will): %s",
                       user.pk, claim_id, exc)
        return False
    return True


def forget_old_presence(*, now: dt.datetime | None = None) -> int:
    """Rows of pages closed long ago say nothing any more (beat: claims.tasks.forget_old_presence)."""
    deleted, _by_model = ClaimPresence.objects.filter(seen_at__lt=(now or timezone.now()) - FORGET_AFTER).delete()
    return deleted


def others_here(claim_id: int, user: Any, *, now: dt.datetime | None = None) -> list[str]:
    """The other people whose page of this claim sent a heartbeat within the presence window, by name."""
    now = now or timezone.now()
    rows = (ClaimPresence.objects.filter(claim_id=claim_id, seen_at__gte=now - window())
            .exclude(user=user).select_related("user").order_by("seen_at", "id"))
    return sorted((person_label(row.user) for row in rows), key=str.casefold)


def others_sentence(names: list[str]) -> str:
    if not names:
        return _("Nobody else has this claim open.")
    return ngettext("%(names)s also has this claim open.", "%(names)s also have this claim open.",
                    len(names)) % {"names": get_text_list(names, _("and"))}


# --- what changed -------------------------------------------------------------------------------------------------


def _when(moment: dt.datetime) -> str:
    return formatting.moment(moment)


def what_changed(claim_id: int, seen: Version, now: Version) -> str:
    """The newest change since `seen`, in words, with who made it and when; how many more there were. Reads only the
    claim's rows written since (a few at most)."""
    # (when, rank, id, words): at the same moment a transition says most, then an assignment, then a message.
    moments: list[tuple[dt.datetime, int, int, str]] = []
    transitions = list(ClaimTransition.objects.filter(claim_id=claim_id, pk__gt=seen.transition_id)
                       .select_related("actor").order_by("created_at", "id"))
    if transitions:
        policy = Policy.from_snapshot(Claim.objects.values_list("policy", flat=True).get(pk=claim_id))
        for log in transitions:
            moments.append((log.created_at, 2, log.pk,
                            _by(transition_words(log.name, policy), log.actor, log.created_at)))
    for message in (Message.objects.filter(claim_id=claim_id, pk__gt=seen.message_id)
                    .select_related("author").order_by("created_at", "id")):
        what = _("New internal note") if message.is_internal else _("New message")
        moments.append((message.created_at, 0, message.pk, _by(what, message.author, message.created_at)))
    if now.assigned_to_id != seen.assigned_to_id:
        moment = _from_micros(now.updated_at)
        if now.assigned_to_id:
            agent = get_user_model().objects.filter(pk=now.assigned_to_id).first()
            words = _("Assigned to %(who)s (%(when)s)") % {"who": person_label(agent), "when": _when(moment)}
        else:
            words = _("No longer assigned to anyone (%(when)s)") % {"when": _when(moment)}
        moments.append((moment, 1, 0, words))
    if not moments:
        moment = _from_micros(max(now.updated_at, now.last_activity_at))
        return _("Details or deadlines updated (%(when)s)") % {"when": _when(moment)}
    moments.sort(key=lambda moment: moment[:3])
    newest = moments[-1][3]
    if len(moments) == 1:
        return newest
    more = len(moments) - 1
    return ngettext("%(change)s and %(count)d more change", "%(change)s and %(count)d more changes",
                    more) % {"change": newest, "count": more}


def _by(what: str, person: Any, moment: dt.datetime) -> str:
    if person is None:  # the system: the deadline sweep, a carrier's tracking
        return _("%(what)s (%(when)s)") % {"what": what, "when": _when(moment)}
    return _("%(what)s by %(who)s (%(when)s)") % {"what": what, "who": person_label(person), "when": _when(moment)}


def _from_micros(micros: int) -> dt.datetime:
    return EPOCH + micros * MICROSECOND


# --- the page and its heartbeat -----------------------------------------------------------------------------------


def presence_context(request: HttpRequest, claim: Claim, *, can_act: bool) -> dict[str, Any]:
    """For _presence.html: records the viewer and lists who else is here."""
    now = timezone.now()
    record_presence(claim.pk, request.user, now=now)
    others = others_here(claim.pk, request.user, now=now)
    return {
        "presence": {
            "url": reverse("admin:claims_claim_presence", args=[claim.pk]),
            "claim_url": reverse("admin:claims_claim_change", args=[claim.pk]).removesuffix("change/"),
            "claim_id": claim.pk,
            "version": loaded_version(claim).token,
            "others": others,
            "others_text": others_sentence(others),
            "poll_seconds": poll_seconds(),
            "can_act": can_act,
        }
    }


class PresenceMixin(ConsoleMixinBase):
    """For ClaimAdmin: the heartbeat of the claim page (`<id>/presence/`). POST only (CSRF-checked by admin_view); for
    whoever may view claims in the console."""

    def presence_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            claim_id = int(unquote(object_id))
        except ValueError:
            raise Http404 from None
        current = claim_version(claim_id)
        if current is None:
            raise Http404
        now = timezone.now()
        record_presence(claim_id, request.user, now=now)
        others = others_here(claim_id, request.user, now=now)
        seen = Version.parse(request.POST.get("version", ""))
        changed = seen is not None and seen != current
        return JsonResponse({
            "others": others,
            "others_text": others_sentence(others),
            "version": current.token,
            "changed": changed,
            "change": what_changed(claim_id, seen, current) if changed and seen is not None else "",
        })

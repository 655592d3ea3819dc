"""One-click unsubscribe (RFC 8058) from a kind of email a person may turn off (claims.keeping_up, EmailPreference).

An email of such a kind carries, in its `List-Unsubscribe` header and in its footer, a link that names the person and
the kind, signed with the site's secret (django.core.signing, a salt of its own) and valid for UNSUBSCRIBE_LINK_DAYS
days. No login is needed: a mail program POSTs to the link (`List-Unsubscribe-Post: List-Unsubscribe=One-Click`),
and a person who opens it sees a page that asks before anything changes. A link that was changed, has expired, or
names a kind that cannot be turned off is refused (400); one whose person is gone, 404. Either way nothing changes.
Mails that cannot be turned off (EmailKind.ALWAYS: deadlines, decisions, what the law requires in writing) and mails
outside the claims (a password reset, an erasure refused, a webhook endpoint turned off) carry no link.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from core import signed_links
from core.emails import site_link
from core.signed_links import SignedLinkError

from .choices import EmailKind

SALT = "claims.unsubscribe"
# The kinds a person may turn off (claims.keeping_up.KINDS without the always-sent one).
OPTIONAL_KINDS = tuple(kind for kind in EmailKind.values if kind != EmailKind.ALWAYS)
ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclasses.dataclass(frozen=True)
class Unsubscribe:
    user: Any
    kind: str

    @property
    def kind_label(self) -> str:
        return str(EmailKind(self.kind).label)


def make_token(*, user_id: int, kind: str) -> str:
    if kind not in OPTIONAL_KINDS:
        raise ValueError(f"emails of the kind {kind!r} cannot be turned off")
    return signed_links.dump({"u": user_id, "k": kind}, salt=SALT)


def read_token(token: str) -> Unsubscribe:
    """The link's person and kind of email, or SignedLinkError ("invalid" also for a kind that cannot be turned off,
    "foreign" when its person no longer has an active account); nothing is changed here."""
    data = signed_links.load(token, salt=SALT, days=settings.UNSUBSCRIBE_LINK_DAYS)
    if not (isinstance(data.get("u"), int) and data.get("k") in OPTIONAL_KINDS):
        raise SignedLinkError("invalid")
    user = get_user_model().objects.filter(pk=data["u"], is_active=True).first()
    if user is None:
        raise SignedLinkError("foreign")
    return Unsubscribe(user=user, kind=data["k"])


def unsubscribe_url(*, user_id: int, kind: str) -> str:
    return site_link(reverse("claims:unsubscribe", kwargs={"token": make_token(user_id=user_id, kind=kind)}))


def footer_links(*, user_id: int, kind: str) -> dict[str, str] | None:
    """What an email's footer offers (templates/emails/base.html, _footer.txt): its kind, the one-click link and the
    email preferences page; None for a mail that cannot be turned off."""
    if kind not in OPTIONAL_KINDS:
        return None
    return {"kind": str(EmailKind(kind).label), "url": unsubscribe_url(user_id=user_id, kind=kind),
            "preferences": site_link(reverse("claims:email_preferences"))}


def headers(*, user_id: int | None, kind: str) -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers of an email of `kind` to this person: none for a mail that cannot be turned
    off, or that has no account behind it."""
    if user_id is None or kind not in OPTIONAL_KINDS:
        return {}
    return {"List-Unsubscribe": f"<{unsubscribe_url(user_id=user_id, kind=kind)}>",
            "List-Unsubscribe-Post": ONE_CLICK}

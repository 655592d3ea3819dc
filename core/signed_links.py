"""Links that carry who they are for, signed with the site's secret (django.core.signing), so that a person acts
from an email without logging in: the satisfaction survey (claims.satisfaction) and one-click unsubscribe
(claims.unsubscribe). Each kind of link has a salt of its own, so one kind's token is never another's."""

from __future__ import annotations

from typing import Any

from django.core import signing


class SignedLinkError(Exception):
    """A link that is refused: `code` is "invalid" (changed, not ours, or not what this kind of link carries),
    "expired", or "foreign" (what it names no longer matches: the person or the claim)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def dump(data: dict[str, Any], *, salt: str) -> str:
    return signing.dumps(data, salt=salt, compress=False)


def load(token: str, *, salt: str, days: int) -> dict[str, Any]:
    """The data a link signed with `salt` carries, if it is at most `days` days old; SignedLinkError otherwise."""
    try:
        data = signing.loads(token, salt=salt, max_age=days * 24 * 3600)
    except signing.SignatureExpired as exc:
        raise SignedLinkError("expired") from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise SignedLinkError("invalid") from exc
    if not isinstance(data, dict):
        raise SignedLinkError("invalid")
    return data

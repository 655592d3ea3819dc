"""One spelling per username: NFKC-normalized and case-folded, at login, in the login limits and when an account is
made. Django normalizes with NFKC alone, so "ＡＤＭＩＮ" (full-width) or "𝐚𝐝𝐦𝐢𝐧" (mathematical bold) became a
different key for the limits than "admin" while logging in as the same user."""

from __future__ import annotations

import unicodedata


def normalize_username(username: object) -> str:
    text = "" if username is None else str(username)
    # NFKC, then case-folding, then NFKC again: folding can produce characters that compose differently.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold()).strip()

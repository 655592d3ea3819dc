"""What the console's claim page adds for the agent at work: the buyer's and the seller's history
(claims/admin/history.py), who else has the case open (claims/admin/presence.py) and the canned replies
(claims.macros). Each part returns the template context its partial reads."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ..macros import macro_context
from ..models import Claim
from ..money import RefundRoom
from .history import history_context
from .presence import presence_context


def workspace_context(request: HttpRequest, claim: Claim, *, can_act: bool,
                      room: RefundRoom | None = None) -> dict[str, Any]:
    return {
        **history_context(claim),
        **presence_context(request, claim, can_act=can_act),
        **(macro_context(request, claim, room=room) if can_act else {}),
    }

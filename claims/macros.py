"""Canned replies (macros) for agents: a text per language with variables such as {buyer_name} and {decision_due},
filled in for one claim; inserted into messages, internal notes and decision notes, and counted when the text that
used one is saved.

The console's claim page and the decide page embed every active macro already filled in for the claim, in every
language (`macro_context`: two queries and the refund room, however many macros there are); the picker
(templates/admin/claims/claim/_macro_picker.html, static/js/console-macros.js) inserts the chosen one at the cursor.
Which language it preselects: for a message to the buyer the order's language, to the seller the seller's, for
internal notes and decision notes the agent's own.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import formatting
from core.console import person_label

from . import decision_target
from .models import Claim, Macro, MacroText

if TYPE_CHECKING:
    from .money import RefundRoom

# Every variable a macro may use, with what it stands for (the admin shows this list).
VARIABLES = {
    "buyer_name": gettext_lazy("the buyer's name"),
    "seller_name": gettext_lazy("the seller's name"),
    "claim_number": gettext_lazy("the claim number"),
    "order_number": gettext_lazy("the order number"),
    "decision_due": gettext_lazy("when the platform's decision is due (“as soon as possible” while none is set)"),
    "agent_name": gettext_lazy("your name"),
    "reason": gettext_lazy("the reason for the claim"),
    "refundable": gettext_lazy("the most that may still be refunded, with the currency"),
}
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def unknown_variables(body: str, known: Collection[str] = VARIABLES.keys()) -> list[str]:
    """The {names} in a text that are not variables (of `known`: the sellers' replies know fewer), in order of
    appearance, once each."""
    return list(dict.fromkeys(name for name in _VARIABLE.findall(body or "") if name not in known))


def allowed_variables(known: Collection[str] = VARIABLES.keys()) -> str:
    return ", ".join(f"{{{name}}}" for name in known)


def fill(body: str, values: Mapping[str, str]) -> str:
    """The text with each known {variable} replaced; anything else in braces stays as written."""
    return _VARIABLE.sub(lambda match: values.get(match.group(1), match.group(0)), body)


def claim_values(claim: Claim, *, agent: Any, refundable: Decimal | None = None) -> dict[str, str]:
    """The variables' values for a claim, in the active language (dates in the claim's market's time zone, amounts
    as the language writes them). `refundable`, the amount left to refund, may be given when already computed."""
    from .money import refund_room
    from .presenters import market_moment, policy_of

    if refundable is None:
        refundable = refund_room(claim).total
    due = decision_target.current(claim)  # none while the platform waits for an answer, or once decided
    return {
        "buyer_name": person_label(claim.buyer),
        "seller_name": claim.seller.display_name,
        "claim_number": claim.number,
        "order_number": claim.order.number,
        "decision_due": market_moment(due, policy_of(claim)) if due else _("as soon as possible"),
        "agent_name": person_label(agent),
        "reason": str(claim.get_reason_display()),
        "refundable": formatting.money_text(refundable, claim.currency),
    }


def _text_for(texts: Mapping[str, str], language: str) -> str | None:
    """The text in `language`, else in the site's default language, else the first there is (None: no text)."""
    return texts.get(language) or texts.get(settings.LANGUAGE_CODE) or next(
        (texts[code] for code in sorted(texts)), None)


def render(macro: Macro, claim: Claim, language: str, *, agent: Any) -> str | None:
    """One macro for a claim in a language (falling back to the default language's text), with the values written
    as that language writes them. None when the macro has no text at all."""
    body = _text_for({t.language: t.body for t in macro.texts.all()}, language)
    if body is None:
        return None
    with translation.override(language):
        return fill(body, claim_values(claim, agent=agent))


@dataclasses.dataclass(frozen=True)
class MacroPicker:
    options: list[tuple[int, str]]  # (id, name) of the active macros, by name
    languages: list[tuple[str, str]]
    # {macro id: {language: filled-in text}}: what the picker inserts (json_script)
    texts: dict[str, dict[str, str]]
    # The language to preselect for each audience (agent, buyer, seller)
    preselect: dict[str, str]


def macro_picker(claim: Claim, *, agent: Any, room: RefundRoom | None = None) -> MacroPicker:
    """Every active macro filled in for the claim in every language. One query for the texts and the refund room's,
    whatever the number of macros; `room`, the claim's refund room when the page has it already."""
    from .money import refund_room

    by_macro: dict[int, dict[str, str]] = {}
    names: dict[int, str] = {}
    for text in MacroText.objects.filter(macro__is_active=True).select_related("macro").order_by("macro__name",
                                                                                                   "macro_id"):
        by_macro.setdefault(text.macro_id, {})[text.language] = text.body
        names[text.macro_id] = text.macro.name
    refundable = (room if room is not None else refund_room(claim)).total
    languages = [(code, str(name)) for code, name in settings.LANGUAGES]
    rendered: dict[str, dict[str, str]] = {}
    for code, _name in languages:
        with translation.override(code):
            values = claim_values(claim, agent=agent, refundable=refundable)
        for macro_id, texts in by_macro.items():
            body = _text_for(texts, code) or ""
            rendered.setdefault(str(macro_id), {})[code] = fill(body, values)
    codes = {code for code, _name in languages}

    def known(code: str | None) -> str:
        return code if code in codes else settings.LANGUAGE_CODE

    return MacroPicker(
        options=list(names.items()),
        languages=languages,
        texts=rendered,
        preselect={"agent": known(translation.get_language()), "buyer": known(claim.order.language),
                   "seller": known(claim.seller.language)},
    )


def macro_context(request: HttpRequest, claim: Claim, *, room: RefundRoom | None = None) -> dict[str, Any]:
    """What the picker partial reads; the claim page asks only when the user may act."""
    return {"macro_picker": macro_picker(claim, agent=request.user, room=room)}


def count_use(macro_id: Any) -> bool:
    """A saved message, note or decision used this macro: one more use, now. An unknown or inactive macro (or no id)
    is ignored."""
    try:
        pk = int(macro_id)
    except (TypeError, ValueError):
        return False
    return Macro.objects.filter(pk=pk, is_active=True).update(usage_count=F("usage_count") + 1,
                                                              last_used_at=timezone.now()) == 1

"""The satisfaction survey after a claim is resolved: the signed links of the survey email, reading them back, and
the results the console shows per agent and per reason.

A link carries the claim, the party (buyer or seller) and the person it was sent to, signed with the site's secret
(django.core.signing, a salt of its own) and valid for SATISFACTION_LINK_DAYS days. No login is needed: whoever holds
the link answers for that party, once per claim (the seller's staff share one answer: the first one counts). A link
that was changed, has expired, or names a person who is no longer that party is refused and stores nothing.
The answer itself is written by claims.services.satisfaction.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core import signed_links
from core.emails import site_link
from core.signed_links import SignedLinkError

from .choices import Party, Reason
from .models import Claim, ClaimTransition, SatisfactionResponse

SALT = "claims.satisfaction"
RATINGS = (1, 2, 3, 4, 5)
# The words of each point of the scale: the survey page, the email's one-click links, the console.
RATING_WORDS = {1: _("very poor"), 2: _("poor"), 3: _("okay"), 4: _("good"), 5: _("excellent")}
COMMENT_MAX_LENGTH = 2000
SURVEY_PARTIES = (Party.BUYER, Party.SELLER)
# The transitions in which an agent decided a claim: the agent the answer is counted for.
DECIDING_TRANSITIONS = ("decide", "record_provider_verdict")


@dataclasses.dataclass(frozen=True)
class SurveyLink:
    claim_id: int
    party: str
    user_id: int


def rating_label(rating: int) -> str:
    """"4 – good": the number first, so the scale reads the same in every language."""
    return f"{rating} – {RATING_WORDS[rating]}"


def make_token(*, claim: Claim, party: str, user: Any) -> str:
    if party not in SURVEY_PARTIES:
        raise ValueError(f"no survey for the party {party!r}")
    return signed_links.dump({"c": claim.pk, "p": party, "u": user.pk}, salt=SALT)


def read_token(token: str) -> SurveyLink:
    """The link's claim, party and person, or SignedLinkError. Only the signature is checked here."""
    data = signed_links.load(token, salt=SALT, days=settings.SATISFACTION_LINK_DAYS)
    if not (isinstance(data.get("c"), int) and isinstance(data.get("u"), int) and data.get("p") in SURVEY_PARTIES):
        raise SignedLinkError("invalid")
    return SurveyLink(claim_id=data["c"], party=data["p"], user_id=data["u"])


def survey_claim(link: SurveyLink) -> Claim:
    """The claim a valid link is about, with its order and seller; SignedLinkError("foreign") when the claim is gone
    or the person is not (or no longer) that party of it: a buyer's link for the claim's buyer, a seller's for a
    member of the claim's seller."""
    claim = Claim.objects.select_related("order", "seller").filter(pk=link.claim_id).first()
    if claim is None:
        raise SignedLinkError("foreign")
    if link.party == Party.BUYER:
        belongs = claim.buyer_id == link.user_id
    else:
        belongs = claim.seller.memberships.filter(user_id=link.user_id).exists()
    if not belongs:
        raise SignedLinkError("foreign")
    return claim


def survey_path(token: str) -> str:
    return reverse("claims:satisfaction", kwargs={"token": token})


def survey_links(*, claim: Claim, party: str, user: Any) -> dict[str, Any]:
    """What the survey email links to: the survey page, and one link per rating that opens it with that rating
    chosen (opening a link never stores anything: the answer is sent from the page)."""
    url = site_link(survey_path(make_token(claim=claim, party=party, user=user)))
    return {"url": url, "days": settings.SATISFACTION_LINK_DAYS,
            "ratings": [{"rating": n, "label": rating_label(n), "url": f"{url}?rating={n}"} for n in RATINGS]}


def answer_of(claim: Claim, party: str) -> SatisfactionResponse | None:
    return SatisfactionResponse.objects.filter(claim=claim, party=party).first()


def deciding_agent_id(claim: Claim) -> int | None:
    """The agent an answer is counted for: who decided the claim last (a decision, or a payment provider's verdict
    recorded), else the agent it is assigned to, else nobody (resolved between buyer and seller, or by the
    system)."""
    decided_by = (ClaimTransition.objects.filter(claim=claim, name__in=DECIDING_TRANSITIONS, actor__isnull=False)
                  .order_by("-created_at", "-id").values_list("actor_id", flat=True).first())
    return decided_by or claim.assigned_to_id


# --- the results ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Result:
    label: str
    average: Decimal
    count: int


def average(value: float | Decimal | None) -> Decimal:
    """An average rating as people read it: one decimal (4.3)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def results_by_agent(responses: QuerySet[SatisfactionResponse]) -> list[Result]:
    """Average rating and number of answers per agent, most answers first: one query."""
    rows = (responses.order_by().values("agent", "agent__first_name", "agent__last_name", "agent__username")
            .annotate(average=Avg("rating"), count=Count("pk")).order_by("-count", "agent__username"))
    results = []
    for row in rows:
        if row["agent"] is None:
            label = str(_("No agent (resolved without the platform)"))
        else:
            name = f"{row['agent__first_name']} {row['agent__last_name']}".strip()
            label = name or row["agent__username"]
        results.append(Result(label, average(row["average"]), row["count"]))
    return results


def results_by_reason(responses: QuerySet[SatisfactionResponse]) -> list[Result]:
    """Average rating and number of answers per reason of the claim, most answers first: one query."""
    rows = (responses.order_by().values("reason").annotate(average=Avg("rating"), count=Count("pk"))
            .order_by("-count", "reason"))
    labels = dict(Reason.choices)
    return [Result(str(labels.get(row["reason"], row["reason"])), average(row["average"]), row["count"])
            for row in rows]

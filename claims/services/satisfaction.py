"""The satisfaction survey: its email after a resolution, and storing an answer (claims.satisfaction has the links
and the results)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ..choices import ClaimState, Party
from ..errors import ClaimError
from ..models import Claim, Notification, OutboundEmail, SatisfactionResponse
from ..satisfaction import COMMENT_MAX_LENGTH, RATINGS, SURVEY_PARTIES, deciding_agent_id
from ._base import _clean_text

# One survey per claim and person, ever: the dedupe key is the same at every resolution, so a reopened claim that is
# resolved again sends no second one (claims.notifications.notify skips a key already in the outbox).
SURVEY_KEY = "survey"
SURVEY_EVENT = "satisfaction"


def send_satisfaction_survey(claim: Claim) -> None:
    """Part of every resolution (claims.services._base._after_resolution): the buyer and the seller's staff get the
    survey email, once per claim: a party that was sent it at an earlier resolution is not sent it again (nor is a
    colleague who joined the seller since). The marketplace's own shop is not asked about the marketplace."""
    from ..notifications import notify

    parties = [Party.BUYER] if claim.seller.is_platform else [Party.BUYER, Party.SELLER]
    # Asked already: emailed, or listed in their notifications with survey emails turned off (claims.notifications).
    sent_to = set(OutboundEmail.objects.filter(claim=claim, event=SURVEY_EVENT).values_list("recipient_id", flat=True))
    sent_to |= set(Notification.objects.filter(claim=claim, event=SURVEY_EVENT).values_list("user_id", flat=True))
    if claim.buyer_id in sent_to:
        parties.remove(Party.BUYER)
    if sent_to - {claim.buyer_id} and Party.SELLER in parties:
        parties.remove(Party.SELLER)
    if parties:
        notify(claim, SURVEY_EVENT, to=parties, key=SURVEY_KEY)


def _answered(claim: Claim, party: str) -> bool:
    return SatisfactionResponse.objects.filter(claim=claim, party=party).exists()


def already_answered() -> ClaimError:
    return ClaimError(_("Thank you: this survey has already been answered for this claim."), code="conflict")


def record_satisfaction(*, claim: Claim, party: str, rating: Any, comment: str = "") -> SatisfactionResponse:
    """Store the party's answer: a rating from 1 to 5 and an optional comment, once per claim and party (the first
    answer counts; the database refuses a second one, also when two arrive at the same moment). The agent who
    decided the claim and its reason are kept with it for the results."""
    if party not in SURVEY_PARTIES:
        raise ClaimError(_("This survey is for the buyer and the seller."), code="invalid")
    try:
        value = int(rating)
    except (TypeError, ValueError):
        value = 0
    if value not in RATINGS or str(rating).strip() != str(value):
        raise ClaimError(_("Please choose a rating from 1 to 5."), code="invalid")
    comment = _clean_text(comment, what=_("your comment"), required=False, limit=COMMENT_MAX_LENGTH)
    with transaction.atomic():
        claim = Claim.objects.get(pk=claim.pk)
        if claim.state != ClaimState.RESOLVED:
            raise ClaimError(_("Claim %(number)s was reopened. You can rate it with the same link once it is "
                               "resolved again.") % {"number": claim.number}, code="state")
        if _answered(claim, party):
            raise already_answered()
        try:
            with transaction.atomic():
                return SatisfactionResponse.objects.create(
                    claim=claim, party=party, rating=value, comment=comment, agent_id=deciding_agent_id(claim),
                    reason=claim.reason)
        except IntegrityError as exc:  # the same party answered at the same moment: the first answer counts
            raise already_answered() from exc

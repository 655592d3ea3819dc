"""What buyer protection does not cover, said once (claims.presenters.DENIAL_WORDS): the Get help page warns of each
exclusion before a claim is submitted, and a denial tells the buyer the same sentence on the claim page and in the
email."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from claims import presenters, services
from claims.choices import DenialReason
from claims.models import OutboundEmail
from claims.tests.factories import OPENED_AT, claim_world, delivered_order

pytestmark = pytest.mark.django_db

NEW_EXCLUSIONS = [DenialReason.BATTERY_WEAR, DenialReason.FRAGILE_PARTS, DenialReason.EXPANDABLE_PARTS,
                  DenialReason.COSMETIC_WEAR, DenialReason.DEFECT_COMPENSATED, DenialReason.CONSUMABLE_LIFETIME]


def test_every_denial_reason_has_a_sentence_for_the_buyer():
    assert set(presenters.DENIAL_WORDS) == set(DenialReason)
    assert presenters.denial_words("") == ""
    with translation.override("en"):
        sentences = [str(words) for words in presenters.DENIAL_WORDS.values()]
    assert len(set(sentences)) == len(sentences)
    assert all(sentence.endswith(".") for sentence in sentences)


def test_the_get_help_page_lists_every_exclusion_including_the_new_ones(client):
    order = delivered_order()
    client.force_login(order.buyer)
    page = client.get(reverse("claims:get_help", kwargs={"number": order.number})).content.decode()
    for reason in presenters.NOT_COVERED_REASONS:
        assert str(presenters.DENIAL_WORDS[reason]).replace("'", "&#x27;") in page, reason
    assert set(NEW_EXCLUSIONS) <= set(presenters.NOT_COVERED_REASONS)
    assert "memory cards" in page and "glass, displays and lenses" in page


# a denial for a defect already compensated needs the defect's history first (claims/remedies.py has its own tests)
@pytest.mark.parametrize("reason", [r for r in NEW_EXCLUSIONS if r != DenialReason.DEFECT_COMPENSATED])
def test_a_denial_says_the_same_sentence_on_the_page_and_in_the_email(client, reason,
                                                                      django_capture_on_commit_callbacks):
    world = claim_world("escalated")
    with time_machine.travel(OPENED_AT + dt.timedelta(days=1), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        services.decide(claim=world.claim, by=world.agent, outcome="denied", denial_reason=reason)
    sentence = str(presenters.DENIAL_WORDS[reason])
    email = OutboundEmail.objects.get(claim=world.claim, event="decided", recipient=world.buyer)
    assert sentence in email.body_text
    client.force_login(world.buyer)
    page = client.get(reverse("claims:detail", kwargs={"number": world.claim.number})).content.decode()
    assert sentence.replace("'", "&#x27;") in page

"""The forms of offers both ways: the buyer declining an offer or countering it, the seller declining a counter-offer.
They check the shape of the input; the services (claims.services.parties, .counter_offers) decide what is allowed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from core import formatting

from .choices import OFFER_KINDS_WITH_AMOUNT, OfferKind
from .eligibility import MAX_DESCRIPTION_LENGTH
from .models import Claim
from .money import refund_room
from .offers import DECLINE_REASON_LENGTH, counter_kinds


def _reason_field(label: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=DECLINE_REASON_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 3}))


class DeclineOfferForm(forms.Form):
    """The buyer declines the pending offer, with a reason if they like."""

    prefix = "decline"
    reason = _reason_field(_("Why do you decline it? (optional)"))


class DeclineCounterOfferForm(forms.Form):
    """The seller's staff decline the buyer's counter-offer, with a reason if they like."""

    prefix = "decline-counter"
    reason = _reason_field(_("Why do you decline it? (optional; the buyer reads it)"))


class AcceptCounterOfferForm(forms.Form):
    """Accepting the buyer's counter-offer takes no input: the offer says it all."""

    prefix = "accept-counter"


class CounterOfferForm(forms.Form):
    """The buyer's counter-offer: a kind the policy allows on the claim (claims.offers.counter_kinds), an amount for a
    partial refund or a discount, what they propose in their words, and why they decline the offer they counter.
    `countered` carries the id of the seller's offer the buyer saw (empty when none was pending)."""

    prefix = "counter"
    kind = forms.ChoiceField(label=_("What do you propose instead?"), choices=OfferKind.choices,
                             widget=forms.RadioSelect,
                             error_messages={"required": _("Please choose what you propose.")})
    amount = forms.DecimalField(label=_("Amount"), required=False, min_value=Decimal("0.01"), max_digits=12,
                                decimal_places=2, widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01",
                                                                                  "inputmode": "decimal"}))
    note = forms.CharField(label=_("Anything you want to add (optional)"), required=False,
                           max_length=MAX_DESCRIPTION_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
    reason = _reason_field(_("Why does the seller's offer not work for you? (optional)"))
    countered = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, claim: Claim, countering: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = set(counter_kinds(claim))
        cast(forms.ChoiceField, self.fields["kind"]).choices = [(kind, label) for kind, label in OfferKind.choices
                                                                if kind in allowed]
        self.fields["amount"].help_text = _(
            "For a partial refund or a price discount only: less than %(max)s, what is left to refund on the items of "
            "this claim.") % {"max": formatting.money_text(refund_room(claim).total, claim.currency)}
        if not countering:
            del self.fields["reason"]  # nothing pending to decline

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("kind") in OFFER_KINDS_WITH_AMOUNT:
            if data.get("amount") is None and "amount" not in self.errors:
                self.add_error("amount", _("Please enter the amount of the partial refund or discount."))
        else:
            data["amount"] = None  # the other kinds are worth what is left to refund, or no money at all
        return data

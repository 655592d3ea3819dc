"""Forms of the support console's action pages. They check the shape of the input; the services decide what is
allowed (and say why not)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from core.console import ActionForm, person_label
from orders.models import Order

from . import decision, presenters, roles
from .appeals import first_decision_words, open_appeal
from .choices import DECIDE_OUTCOMES, DefectType, DenialReason, InspectionResult, OfferKind, Party
from .models import Claim
from .remedies import defect_label, defect_overview, remedies_for


def agents() -> QuerySet:
    """Everyone roles.is_agent() accepts: active staff with claims.act_as_agent, given directly, through a group
    or as a superuser."""
    permission = Permission.objects.filter(codename=roles.AGENT_PERMISSION.split(".")[1],
                                           content_type__app_label="claims")
    return (get_user_model().objects.filter(is_active=True, is_staff=True)
            .filter(Q(is_superuser=True) | Q(user_permissions__in=permission) | Q(groups__permissions__in=permission))
            .distinct().order_by("first_name", "last_name", "username"))


class _ReadInOneQuery(forms.models.ModelChoiceIterator):
    """The choices from one plain query: Django's iterator reads them through QuerySet.iterator(), on PostgreSQL a
    server-side cursor (DECLARE … WITH HOLD, FETCH and CLOSE: three round trips, the rows copied at commit) for the
    handful of agents the claim page's assign form lists."""

    def __iter__(self) -> Iterator[tuple[forms.models.ModelChoiceIteratorValue | str, Any]]:  # labels may be lazy
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class AgentChoiceField(forms.ModelChoiceField):
    iterator = _ReadInOneQuery

    def label_from_instance(self, obj: Any) -> str:
        return person_label(obj)


def _offered(field: forms.ChoiceField) -> list[tuple[Any, Any]]:
    """What a choice field offers now: Django keeps set choices as a list of (value, label); their type says anything
    choices may be set to."""
    return cast("list[tuple[Any, Any]]", field.choices)


def _text(label: Any, *, required: bool = True, rows: int = 4, help_text: Any = "") -> forms.CharField:
    return forms.CharField(label=label, required=required, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": rows, "cols": 60}))


def _amount(label: Any = None, *, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(label=label or _("Amount"), required=False, max_digits=12, decimal_places=2,
                              min_value=0, help_text=help_text)


# --- claim actions -----------------------------------------------------------------------------------------


class AssignForm(ActionForm):
    agent = AgentChoiceField(label=_("Agent"), queryset=get_user_model().objects.none(), required=False,
                             empty_label=_("Nobody (unassign)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(AgentChoiceField, self.fields["agent"]).queryset = agents()
        if self.obj is not None:
            self.fields["agent"].initial = self.obj.assigned_to_id or (self.user.pk if self.user else None)


class EscalateForm(ActionForm):
    reason = _text(_("Why the platform steps in"), help_text=_(
        "For example seller inaction, harassment or manipulation. The buyer and the seller are told the claim is "
        "now with the platform."))


class RequestInfoForm(ActionForm):
    party = forms.ChoiceField(label=_("Ask"), widget=forms.RadioSelect,
                              choices=[(Party.BUYER, _("the buyer")), (Party.SELLER, _("the seller"))])
    question = _text(_("Question"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["question"].help_text = presenters.info_question_help(presenters.policy_of(self.obj))


class ProvideInfoForm(ActionForm):
    body = _text(_("The answer"), help_text=_(
        "An answer that reached us another way (phone, mail). Recording it ends the wait for information."))


UPHOLD = "uphold"  # the decide page's outcome that upholds an appealed decision


class DecideForm(ActionForm):
    """The decision. Which fields apply follows the outcome (claims/admin/decide page; without JavaScript all show);
    claims.services.decide ignores those that do not apply and refuses what is missing. Who pays is one choice of
    three (claims.decision.PAYERS), handed to the service as funded_by and recover_from_seller."""

    outcome = forms.ChoiceField(label=_("Outcome"), choices=[(o.value, o.label) for o in DECIDE_OUTCOMES])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _allowed_only(self, "outcome", lambda remedies: remedies.outcomes)
        first: list[tuple[str, Any]] = [("", _("Choose the outcome"))]
        # The decision on an appeal may uphold the appealed one as it stood (claims.services.uphold_appeal).
        if self.obj is not None and (appeal := open_appeal(self.obj)) is not None:
            first.append((UPHOLD, _("Uphold the decision (%(decision)s)") % {"decision": first_decision_words(appeal)}))
        outcome = cast(forms.ChoiceField, self.fields["outcome"])
        outcome.choices = [*first, *_offered(outcome)]
    funded_by = forms.ChoiceField(label=_("Who pays"), required=False, widget=forms.RadioSelect,
                                  choices=decision.PAYERS, help_text=_(
                                      "Who pays the buyer, and whether the seller's ledger gets the amount. Not "
                                      "needed for a denial."))
    amount = _amount(help_text=_("Required for a partial refund or a discount, and less than the maximum refundable. "
                                 "A refund is everything still refundable."))
    denial_reason = forms.ChoiceField(label=_("Denial reason"), required=False,
                                      choices=[("", "—"), *DenialReason.choices],
                                      help_text=_("Required for a denial: what the buyer protection does not cover."))
    needs_return = forms.BooleanField(label=_("The buyer sends the item back first"), required=False, help_text=_(
        "The money is then paid when the return arrives. Replacement and repair always wait for the item."))
    note = _text(_("Note to the buyer and the seller"), required=False,
                 help_text=_("Optional. Shown to both parties as the platform's explanation."))
    # The canned reply inserted into the text, if any (claims.macros counts it once the form is saved).
    macro = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["funded_by"], data["recover_from_seller"] = decision.funding(data.get("funded_by") or "")
        return data


def _allowed_only(form: ActionForm, field: str, allowed: Any) -> None:
    """Offer only the remedies the warranty claim policy allows on the claim now (claims.remedies), with why."""
    if form.obj is None:
        return
    remedies = remedies_for(form.obj)
    if not remedies.applies:
        return
    keep = set(allowed(remedies))
    choice_field = cast(forms.ChoiceField, form.fields[field])
    choice_field.choices = [(value, label) for value, label in _offered(choice_field) if value in keep]
    choice_field.help_text = remedies.why


class ClassifyDefectForm(ActionForm):
    """What kind of defect it is (claims.services.classify_defect), which decides the remedies (claims.remedies)."""

    defect_type = forms.ChoiceField(label=_("Type of defect"), widget=forms.RadioSelect, choices=DefectType.choices)
    summary = forms.CharField(label=_("The defect in a few words"), required=False, max_length=200, help_text=_(
        "For the item's defect history. Empty: the start of the buyer's description (or the earlier defect's)."))
    same_as = forms.TypedChoiceField(label=_("The same defect as an earlier one"), required=False, coerce=int,
                                     empty_value=None, choices=[("", _("No, a new defect"))], help_text=_(
                                         "Its earlier repairs count; a defect compensated by a discount cannot be "
                                         "claimed again."))
    item = forms.TypedChoiceField(label=_("Item with the defect"), required=False, coerce=int, empty_value=None,
                                  choices=[("", "—")], help_text=_("Needed only when the claim has several items."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        overview = defect_overview(self.obj) if self.obj is not None else None
        if overview is None:
            return
        same_as = cast(forms.TypedChoiceField, self.fields["same_as"])
        same_as.choices = [*_offered(same_as), *((d.pk, defect_label(d)) for d in overview.earlier_defects(self.obj))]
        item = cast(forms.TypedChoiceField, self.fields["item"])
        item.choices = [*_offered(item), *((ci.order_item_id, ci.order_item.title)
                                           for ci in self.obj.items.select_related("order_item"))]
        self.fields["defect_type"].initial = self.obj.defect_type or None
        self.fields["same_as"].initial = self.obj.defect_id if self.obj.defect_id in {
            d.pk for d in overview.earlier_defects(self.obj)} else ""


class ReopenForm(ActionForm):
    reason = _text(_("Why the claim is reopened"), help_text=_("The buyer and the seller are told."))


class MessageForm(ActionForm):
    INTERNAL, PUBLIC = "internal", "public"
    visibility = forms.ChoiceField(
        label=_("Visible to"), widget=forms.RadioSelect, initial=INTERNAL,
        choices=[(INTERNAL, _("Agents only (internal note)")), (PUBLIC, _("The buyer and the seller (message)"))])
    body = _text(_("Text"))
    # The canned reply inserted into the text, if any (claims.macros counts it once the form is saved).
    macro = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)


class OfferForm(ActionForm):
    kind = forms.ChoiceField(label=_("Offer"), choices=OfferKind.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _allowed_only(self, "kind", lambda remedies: remedies.offer_kinds)
    amount = _amount(help_text=_("For a partial refund or a price discount only."))
    note = _text(_("Note to the buyer"), required=False)
    return_instructions = _text(_("Return address or label reference"), required=False, rows=3, help_text=_(
        "For a return for refund. Empty: the seller's return address."))


class ReturnReceivedForm(ActionForm):
    inspection_result = forms.ChoiceField(label=_("Inspection result"), choices=InspectionResult.choices,
                                          widget=forms.RadioSelect)
    note = _text(_("Inspection note"), required=False, rows=3)


class ProviderVerdictForm(ActionForm):
    BUYER, SELLER = "buyer", "seller"
    winner = forms.ChoiceField(label=_("The provider decided for"), widget=forms.RadioSelect,
                               choices=[(BUYER, _("the buyer")), (SELLER, _("the seller"))])
    amount = _amount(help_text=_(
        "What the provider took back, if the buyer won. Empty: everything still refundable. The seller's ledger "
        "gets this amount and the fixed dispute fine."))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["buyer_won"] = data.get("winner") == self.BUYER
        return data


# --- pages without one claim -------------------------------------------------------------------------------


class ProviderDisputeForm(ActionForm):
    order = forms.CharField(label=_("Order number"), max_length=32)
    reference = forms.CharField(label=_("Provider's case reference"), max_length=100,
                                help_text=_("For example the PayPal case id or the bank's chargeback reference."))
    description = _text(_("What the dispute is about"))
    items = forms.MultipleChoiceField(label=_("Items disputed"), required=False, widget=forms.CheckboxSelectMultiple,
                                      help_text=_("None ticked: the whole order."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        number = (self.data.get("order") if self.is_bound else self.initial.get("order")) or ""
        self.order_obj = Order.objects.filter(number=number.strip()).first() if number else None
        if self.order_obj is not None:
            cast(forms.MultipleChoiceField, self.fields["items"]).choices = [
                (str(item.pk), f"{item.quantity} × {item.title}") for item in self.order_obj.items.all()]
        else:
            del self.fields["items"]

    def clean_order(self) -> Order:
        order = Order.objects.select_related("seller").filter(number=self.cleaned_data["order"].strip()).first()
        if order is None:
            raise forms.ValidationError(_("There is no order with this number."))
        return order

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["items"] = [int(pk) for pk in data.get("items") or []] or None
        return data


class BulkAssignForm(ActionForm):
    claims = forms.ModelMultipleChoiceField(queryset=Claim.objects.all(), error_messages={
        "required": _("Tick the claims to assign first.")})
    agent = AgentChoiceField(label=_("Assign to"), queryset=get_user_model().objects.none(), required=False,
                             empty_label=_("Nobody (unassign)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(AgentChoiceField, self.fields["agent"]).queryset = agents()

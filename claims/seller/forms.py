"""Forms of the seller dashboard. They check the shape of the input; the claim services decide what is allowed.

Several forms share the claim page, so each has its own prefix (field ids and names never collide) and its
own preview box for the files chosen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from claims.choices import (
    OFFER_KINDS_WITH_AMOUNT,
    DefectType,
    EvidenceKind,
    ExpertResult,
    InspectionResult,
    OfferKind,
    Reason,
    RejectionCode,
)
from claims.eligibility import MAX_DESCRIPTION_LENGTH
from claims.forms import ATTACHMENT_TYPES, FILES_HELP, MAX_ATTACHMENTS, MultipleFileField, MultipleFileInput
from claims.models import Claim
from claims.remedies import DefectOverview, defect_label, defect_overview
from integrations import endpoints
from integrations.models import ApiKey, ApiScope, DeliveryStatus, WebhookEventType

from . import exports, replies, selectors

# What a seller may say a PDF is. Photos and videos are labelled as what their bytes are (claims.evidence.kind_for).
SELLER_FILE_KINDS = [
    ("", EvidenceKind.DOCUMENT.label),
    (EvidenceKind.INVOICE, EvidenceKind.INVOICE.label),
    (EvidenceKind.PROOF_OF_SHIPMENT, EvidenceKind.PROOF_OF_SHIPMENT.label),
    (EvidenceKind.CUSTOMS_FORM, EvidenceKind.CUSTOMS_FORM.label),
    (EvidenceKind.INSPECTION_REPORT, EvidenceKind.INSPECTION_REPORT.label),
]
DOCUMENT_KIND_LABEL = _("If you attach a PDF, what is it?")
DOCUMENT_KIND_HELP = _("Photos and videos are shown as photos and videos.")


def _files(previews: str, *, label: Any, required: bool = False, help_text: Any = "") -> MultipleFileField:
    # Every upload field also says how much one claim may hold (claims.quotas).
    help_text = format_lazy("{} {}", help_text, FILES_HELP) if help_text else FILES_HELP
    return MultipleFileField(label=label, required=required, max_files=MAX_ATTACHMENTS, help_text=help_text,
                             widget=MultipleFileInput(attrs={"accept": ATTACHMENT_TYPES,
                                                             "data-previews": previews}))


def _with_kind(files: list[Any], kind: str) -> list[Any]:
    """The services take (file, kind) pairs from forms that let the uploader say what a file is."""
    return [(upload, kind) for upload in files] if kind else list(files)


class QueueFilterForm(forms.Form):
    """GET filters of the queue. Invalid values are ignored field by field, never an error page."""

    state = forms.ChoiceField(label=_("Show"), required=False, choices=selectors.STATE_FILTERS)
    reason = forms.ChoiceField(label=_("Reason"), required=False,
                               choices=[("", _("Any reason")), *Reason.choices])
    q = forms.CharField(label=_("Claim or order number"), required=False, max_length=40,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off",
                                                      "placeholder": "C-1234-ABCD"}))
    unread = forms.BooleanField(label=_("Only claims with new activity"), required=False)

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"state": data.get("state") or "", "reason": data.get("reason") or "",
                "search": data.get("q") or "", "unread": bool(data.get("unread"))}


class ReplyForm(forms.Form):
    prefix = "reply"
    body = forms.CharField(label=_("Your message to the buyer"), widget=forms.Textarea(attrs={"rows": 5}),
                           max_length=MAX_DESCRIPTION_LENGTH)
    attachments = _files("reply-previews", label=_("Attach photos, a video or PDFs (optional)"))
    attachment_kind = forms.ChoiceField(label=DOCUMENT_KIND_LABEL, required=False, choices=SELLER_FILE_KINDS,
                                        help_text=DOCUMENT_KIND_HELP)

    def attachments_with_kind(self) -> list[Any]:
        return _with_kind(self.cleaned_data["attachments"], self.cleaned_data.get("attachment_kind") or "")


class OfferForm(forms.Form):
    prefix = "offer"
    kind = forms.ChoiceField(label=_("What do you offer?"), choices=OfferKind.choices, widget=forms.RadioSelect,
                             error_messages={"required": _("Please choose what you offer.")})
    amount = forms.DecimalField(label=_("Amount"), required=False, min_value=Decimal("0.01"), max_digits=12,
                                decimal_places=2, widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01",
                                                                                  "inputmode": "decimal"}),
                                help_text=_("For a partial refund or a discount: less than what is claimed."))
    return_instructions = forms.CharField(
        label=_("Return address or prepaid label reference"), required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Where the buyer sends the item for a return, repair or replacement. Leave it empty to use "
                    "the return address of your warranty policy."))
    note = forms.CharField(label=_("Note to the buyer (optional)"), required=False, max_length=MAX_DESCRIPTION_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 3}))

    takes_claim = True  # the seller views pass the claim: the kinds the policy allows for its defect

    def __init__(self, *args: Any, claim: Claim | None = None, overview: DefectOverview | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        overview = overview or (defect_overview(claim) if claim is not None else None)
        self.classifies = False
        if overview is None or claim is None:  # an overview is the claim's
            return
        if overview.remedies.classified:
            # Only what the warranty claim policy allows for this defect now (claims.remedies).
            allowed = set(overview.remedies.offer_kinds)
            cast(forms.ChoiceField, self.fields["kind"]).choices = [(k, label) for k, label in OfferKind.choices
                                                                    if k in allowed]
        else:
            # An unclassified defect: the seller may classify it in the same step (a repair, a discount or a partial
            # refund needs it).
            self.classifies = True
            add_defect_fields(self, claim, overview, required=False)
            self.fields["defect_type"].help_text = _(
                "A repair, a discount or a partial refund needs the type of defect; a replacement, a full refund or a "
                "return for refund can be offered without it.")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("kind")
        if kind in OFFER_KINDS_WITH_AMOUNT:
            if data.get("amount") is None and "amount" not in self.errors:
                self.add_error("amount", _("Please enter the amount of the partial refund or discount."))
        else:
            data["amount"] = None  # the other kinds have no amount of the seller's choosing
        return data


def add_defect_fields(form: forms.Form, claim: Claim, overview: DefectOverview, *, required: bool) -> None:
    """The classification's fields (claims.services.classify_defect): the type, what it is, or which earlier defect
    of the item it is again; which item when the claim has several."""
    form.fields["defect_type"] = forms.ChoiceField(
        label=_("What kind of defect is it?"), required=required, widget=forms.RadioSelect,
        choices=DefectType.choices if required else [("", _("Not classified yet")), *DefectType.choices],
        error_messages={"required": _("Please choose the type of defect.")})
    form.fields["defect_summary"] = forms.CharField(
        label=_("The defect in a few words (optional)"), required=False, max_length=200,
        help_text=_("For the item's defect history, e.g. “display flickers”. Empty: the start of the buyer's "
                    "description."))
    earlier = overview.earlier_defects(claim)
    if earlier:
        form.fields["same_as"] = forms.TypedChoiceField(
            label=_("Is it the same defect as an earlier one of this item?"), required=False, coerce=int,
            empty_value=None, choices=[("", _("No, a new defect")), *[(d.pk, defect_label(d)) for d in earlier]],
            initial=claim.defect_id if claim.defect_id in {d.pk for d in earlier} else "",
            help_text=_("The same defect again counts its earlier repairs; a defect already compensated by a price "
                        "discount cannot be claimed again."))
    items = [ci.order_item for ci in claim.items.all()]
    if len(items) > 1:
        form.fields["defect_item"] = forms.TypedChoiceField(
            label=_("Which item has the defect?"), required=False, coerce=int, empty_value=None,
            choices=[("", "—"), *[(item.pk, item.title) for item in items]])


class ClassifyDefectForm(forms.Form):
    """The seller says what kind of defect a defective claim is about, which decides the remedies (claims.remedies)."""

    prefix = "defect"
    takes_claim = True

    def __init__(self, *args: Any, claim: Claim | None = None, overview: DefectOverview | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        overview = overview or (defect_overview(claim) if claim is not None else None)
        if overview is not None and claim is not None:  # an overview is the claim's
            add_defect_fields(self, claim, overview, required=True)
            self.initial.setdefault("defect_type", claim.defect_type or None)

    def classification(self) -> dict[str, Any]:
        """The keyword arguments of classify_defect."""
        return classification(self.cleaned_data)


def classification(data: dict[str, Any]) -> dict[str, Any]:
    return {"defect_type": data["defect_type"], "summary": data.get("defect_summary") or "",
            "same_as": data.get("same_as"), "item": data.get("defect_item")}


class RejectForm(forms.Form):
    prefix = "reject"
    code = forms.ChoiceField(label=_("Why do you reject the claim?"), choices=RejectionCode.choices,
                             widget=forms.RadioSelect,
                             error_messages={"required": _("Please choose the reason for rejecting the claim.")})
    body = forms.CharField(label=_("Explain it to the buyer"), widget=forms.Textarea(attrs={"rows": 5}),
                           max_length=MAX_DESCRIPTION_LENGTH)
    evidence = _files("reject-previews", label=_("Evidence"), required=True,
                      help_text=_("At least one photo or PDF that supports the rejection, for example a photo "
                                  "before dispatch, a test report or proof of delivery."))
    evidence_kind = forms.ChoiceField(label=DOCUMENT_KIND_LABEL, required=False, choices=SELLER_FILE_KINDS,
                                      help_text=DOCUMENT_KIND_HELP)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["evidence"].error_messages["required"] = _("A rejection needs evidence: attach at least one "
                                                               "photo or document.")

    def evidence_with_kind(self) -> list[Any]:
        return _with_kind(self.cleaned_data["evidence"], self.cleaned_data.get("evidence_kind") or "")


class TrackingForm(forms.Form):
    """A not-received claim answered with the shipment's tracking number, proof of shipment, or both."""

    prefix = "tracking"
    carrier = forms.CharField(label=_("Carrier"), required=False, max_length=50,
                              widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "DHL"}))
    tracking_number = forms.CharField(label=_("Tracking number"), required=False, max_length=64,
                                      widget=forms.TextInput(attrs={"autocomplete": "off"}))
    shipped_on = forms.DateField(label=_("Handed to the carrier on"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    proof = _files("tracking-previews", label=_("Proof of shipment"),
                   help_text=_("The carrier's receipt, a customs form or a photo of the posting slip (PDF or "
                               "photo)."))

    def clean_shipped_on(self) -> dt.date | None:
        shipped_on = self.cleaned_data.get("shipped_on")
        if shipped_on and shipped_on > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        return shipped_on

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        carrier, number = data.get("carrier", ""), data.get("tracking_number", "")
        if number and not carrier:
            self.add_error("carrier", _("Please name the carrier of this tracking number."))
        if carrier and not number and "tracking_number" not in self.errors:
            self.add_error("tracking_number", _("Please enter the tracking number."))
        if not number and not carrier and not data.get("proof") and not self.errors:
            raise forms.ValidationError(_("Enter a tracking number or attach a proof of shipment."))
        return data

    def shipped_at(self, *, not_before: dt.datetime | None = None) -> dt.datetime | None:
        """The day entered as a moment. `not_before` (the order's placing) keeps a hand-over on the day of the
        order after it; a day before it stays before it and is refused by the shipment service."""
        shipped_on = self.cleaned_data.get("shipped_on")
        if not shipped_on:
            return None
        # A date without a time: noon local time keeps it on the same calendar day in every zone we show; on the
        # day of the order or today it is moved inside what is possible (after the order, not in the future).
        moment = min(timezone.make_aware(dt.datetime.combine(shipped_on, dt.time(12, 0))), timezone.now())
        if not_before is not None and timezone.localdate(not_before) == shipped_on:
            moment = max(moment, not_before)
        return moment

    def proof_files(self) -> list[Any]:
        return _with_kind(self.cleaned_data.get("proof") or [], EvidenceKind.PROOF_OF_SHIPMENT)


class ReturnReceivedForm(forms.Form):
    prefix = "return"
    inspection_result = forms.ChoiceField(label=_("Result of your inspection"), choices=InspectionResult.choices,
                                          widget=forms.RadioSelect,
                                          error_messages={"required": _("Please choose the result of your "
                                                                        "inspection.")})
    note = forms.CharField(label=_("Inspection note (optional)"), required=False, max_length=MAX_DESCRIPTION_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("What you found. The buyer sees it."))


class InfoAnswerForm(forms.Form):
    """The seller's answer to the platform's question (the buyer sees it too, like every public message)."""

    prefix = "info"
    body = forms.CharField(label=_("Your answer"), widget=forms.Textarea(attrs={"rows": 4}),
                           max_length=MAX_DESCRIPTION_LENGTH)
    attachments = _files("info-previews", label=_("Attach photos, a video or PDFs (optional)"))
    attachment_kind = forms.ChoiceField(label=DOCUMENT_KIND_LABEL, required=False, choices=SELLER_FILE_KINDS,
                                        help_text=DOCUMENT_KIND_HELP)

    def attachments_with_kind(self) -> list[Any]:
        return _with_kind(self.cleaned_data["attachments"], self.cleaned_data.get("attachment_kind") or "")


class PerformancePeriodForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), required=False,
                               choices=[(key, label) for key, (_days, label) in selectors.PERIODS.items()])

    def chosen(self) -> str:
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("period") or selectors.DEFAULT_PERIOD


class StartExpertForm(forms.Form):
    """An expert assesses the defect (claims.services.start_expert_assessment); the warranty-claim clock pauses."""

    prefix = "expert"
    expert = forms.CharField(label=_("Expert (optional)"), required=False, max_length=200,
                             help_text=_("The person or laboratory assessing the defect. The time the expert needs "
                                         "does not count towards the time limit for resolving the claim."))


class ConcludeExpertForm(forms.Form):
    """The expert's result and report (claims.services.conclude_expert_assessment)."""

    prefix = "expert_result"
    result = forms.ChoiceField(label=_("The expert's result"), choices=ExpertResult.choices, widget=forms.RadioSelect,
                               error_messages={"required": _("Please choose the expert's result.")})
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=MAX_DESCRIPTION_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 3}), help_text=_("The buyer sees it."))
    report = forms.FileField(label=_("The expert's report (optional)"), required=False,
                             widget=forms.FileInput(attrs={"accept": ATTACHMENT_TYPES}),
                             help_text=_("A PDF or a photo of the report."))


class GoodsReceivedForm(forms.Form):
    """No input: pressing the button confirms the claimed goods reached the seller (claims.services.warranty)."""

    prefix = "goods"


class CollectedForm(forms.Form):
    """No input: pressing the button records that the buyer collected the goods (claims.services.warranty)."""

    prefix = "collected"


class ClaimsExportForm(forms.Form):
    """The days of the claims CSV (claims.seller.exports): `?from=YYYY-MM-DD&to=YYYY-MM-DD`, both included, on the
    marketplace's calendar; without them the last 30 days."""

    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            input_formats=["%Y-%m-%d"],
                            error_messages={"invalid": _("Enter the first day as a date, like 2026-06-01.")})
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                          input_formats=["%Y-%m-%d"],
                          error_messages={"invalid": _("Enter the last day as a date, like 2026-06-30.")})

    NAMES = {"start": "from", "end": "to"}  # the parameters' names in the URL ("from" is a Python keyword)

    def add_prefix(self, field_name: str) -> str:
        return self.NAMES.get(field_name, field_name)

    @classmethod
    def for_period(cls, figures: selectors.Performance) -> ClaimsExportForm:
        """Unbound, showing the days of the performance period (the last 30 days for all time)."""
        start, end = exports.default_days()
        if figures.since is not None:
            start = timezone.localdate(figures.since)
        return cls(initial={"start": start, "end": end})

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if self.errors:
            return data
        default_start, default_end = exports.default_days()
        end = end or default_end
        start = start or (end - (default_end - default_start))
        if start > end:
            raise forms.ValidationError(_("The first day must not be after the last day."), code="order")
        data["start"], data["end"] = start, end
        return data


class CannedReplyForm(forms.Form):
    """A seller's canned reply (claims.seller.replies checks the variables and that the title is free)."""

    title = forms.CharField(label=_("Title"), max_length=replies.MAX_TITLE_LENGTH,
                            help_text=_("Shown in the list you pick from, for example “Asking for a photo”."),
                            error_messages={"required": _("Please give the reply a title.")})
    body = forms.CharField(label=_("Text"), max_length=MAX_DESCRIPTION_LENGTH, widget=forms.Textarea(attrs={"rows": 8}),
                           error_messages={"required": _("Please write the reply's text.")})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].help_text = _("Filled in when you insert it: %(variables)s.") % {
            "variables": "; ".join(f"{{{name}}} {words}" for name, words in replies.variables())}


# --- API keys and webhook endpoints (claims.seller.integrations) --------------------------------------------------


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=ApiKey._meta.get_field("name").max_length,
                           help_text=_("What uses the key, for example “Warehouse system”."),
                           error_messages={"required": _("Give the key a name, so you know later what uses it.")})
    scope = forms.ChoiceField(label=_("What may the key do?"), choices=ApiScope.choices, initial=ApiScope.READ,
                              widget=forms.RadioSelect,
                              help_text=_("“Read” sees your claims; “Read and write” also answers them, as your staff "
                                          "would."))


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label=_("URL"), max_length=endpoints.URL_MAX_LENGTH, assume_scheme="https",
                         help_text=_("Where we send the events: an address of your system reachable from the "
                                     "internet, best with https://."),
                         widget=forms.URLInput(attrs={"autocomplete": "url", "inputmode": "url",
                                                      "placeholder": "https://example.com/webhooks"}))
    description = forms.CharField(label=_("Description (optional)"), required=False,
                                  max_length=endpoints.DESCRIPTION_MAX_LENGTH,
                                  help_text=_("For you, for example which system receives them."))
    events = forms.MultipleChoiceField(label=_("Events to send"), choices=WebhookEventType.choices,
                                       widget=forms.CheckboxSelectMultiple,
                                       error_messages={"required": _("Choose at least one event to receive.")})


class WebhookToggleForm(forms.Form):
    action = forms.ChoiceField(choices=[("disable", _("Turn off")), ("enable", _("Turn on"))])


class DeliveryFilterForm(forms.Form):
    """GET filter of the delivery log; an unknown value shows everything."""

    status = forms.ChoiceField(label=_("Show"), required=False,
                               choices=[("", _("All deliveries")), *DeliveryStatus.choices])

    def chosen(self) -> str:
        return self.cleaned_data.get("status", "") if self.is_valid() else ""

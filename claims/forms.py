"""Forms check the shape of the input; the services decide what is allowed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from core import formatting
from orders.models import Order

from . import evidence as evidence_files
from . import presenters, quotas, satisfaction
from .choices import DesiredOutcome, EvidenceKind, Reason
from .eligibility import MAX_DESCRIPTION_LENGTH, ItemEligibility, already_claimed
from .errors import ClaimError
from .policy import Policy, policy_for_order
from .remedies import same_defect_choices

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile
    from django.forms.boundfield import BoundField, BoundWidget

    from .keeping_up import KindOfEmail

    # PossibleNowMixin is mixed into choice fields only: checked as a Field, a plain class at run time.
    _Field = forms.Field
else:
    _Field = object

MAX_PHOTOS = 8
MAX_ATTACHMENTS = 5
# What the file pickers offer (claims.evidence decides by the bytes). The extensions too: not every system knows
# HEIC's content type, and without them its picker would hide an iPhone's photos.
PHOTO_TYPES = "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif"
VIDEO_TYPES = "video/mp4,video/quicktime,.mp4,.mov"
ATTACHMENT_TYPES = f"{PHOTO_TYPES},{VIDEO_TYPES},application/pdf"
# The upload fields of a claim say how much one claim may hold (claims.quotas), from the settings when shown.
FILES_HELP = lazy(quotas.files_help, str)()

# The defect's line carries the policy's reporting window: GetHelpForm adds it (claims.presenters).
REASON_HELP = {
    Reason.NOT_RECEIVED: _("Nothing arrived by the estimated delivery date, it went to an address not on the order, "
                           "it is held at customs with no delivery date, or a digital product cannot be downloaded."),
    Reason.WRONG_ITEM: _("You received a different product, configuration, colour, size or quantity."),
    Reason.NOT_AS_DESCRIBED: _("Condition, contents, authenticity or specifications differ materially from the "
                               "listing, or damage or missing parts were not disclosed."),
    Reason.TRIAL_RETURN: _("Within the trial period after receipt you can return it for any reason; the seller pays "
                           "the return."),
}

# The denial reasons in the buyer's words, shown before submitting: one source with the denials (claims.presenters).
NOT_COVERED = presenters.not_covered()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, max_files: int, **kwargs: Any) -> None:
        self.max_files = max_files
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if not files:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        if len(files) > self.max_files:
            raise forms.ValidationError(_("Please choose at most %(max)d files.") % {"max": self.max_files})
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class PossibleNowMixin(_Field):
    """A choice field whose choices are what is possible now. A value that exists but is not possible now (a reason
    that cannot be used yet, an item with an open claim) is refused with the sentence that says why, not with
    "Select a valid choice"."""

    refusals: dict[str, str]

    def validate(self, value: Any) -> None:
        refusals = getattr(self, "refusals", {})
        for chosen in value if isinstance(value, (list, tuple)) else [value]:
            if str(chosen) in refusals:
                raise forms.ValidationError(refusals[str(chosen)], code="not_possible_now")
        super().validate(value)


class PossibleItemsField(PossibleNowMixin, forms.MultipleChoiceField):
    pass


class PossibleReasonField(PossibleNowMixin, forms.ChoiceField):
    pass


class GetHelpForm(forms.Form):
    items = PossibleItemsField(label=_("Which items?"), widget=forms.CheckboxSelectMultiple,
                               error_messages={"required": _("Please choose at least one item.")})
    reason = PossibleReasonField(label=_("What went wrong?"), choices=Reason.choices, widget=forms.RadioSelect,
                                 error_messages={"required": _("Please choose what went wrong.")})
    description = forms.CharField(label=_("Describe the problem"), widget=forms.Textarea(attrs={"rows": 6}),
                                  max_length=MAX_DESCRIPTION_LENGTH,
                                  help_text=_("What happened, when, and what you already tried."))
    desired_outcome = forms.ChoiceField(label=_("What would solve it for you?"), choices=DesiredOutcome.choices,
                                        widget=forms.RadioSelect)
    discovered_on = forms.DateField(label=_("When did you notice the defect?"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    photos = MultipleFileField(label=_("Photos"), required=False, max_files=MAX_PHOTOS,
                               widget=MultipleFileInput(attrs={"accept": PHOTO_TYPES,
                                                               "data-previews": "photo-previews"}),
                               help_text=_("JPEG, PNG, WebP or HEIC. Required for a wrong, not-as-described or "
                                           "defective item. Location data is removed from your photos."))
    video = forms.FileField(label=_("A short video (optional)"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": VIDEO_TYPES,
                                                                   "data-previews": "video-previews"}),
                            help_text=lazy(evidence_files.video_limits, str)())

    def __init__(self, *args: Any, order: Order, eligibility: Sequence[ItemEligibility], policy: Policy | None = None,
                 chosen_item: str | None = None, **kwargs: Any) -> None:
        """`eligibility`: each item's reasons now (claims.eligibility.order_eligibility): only the items with a reason
        usable now can be chosen, only the reasons usable for one of them are offered. `chosen_item`: the item the
        order page's "Get help" link of an item chose."""
        super().__init__(*args, **kwargs)
        self.order = order
        policy = policy or policy_for_order(order)  # no claim yet: the terms a claim opened now gets
        self.fields["discovered_on"].help_text = presenters.defect_report_help(policy)
        self.reason_help = {**REASON_HELP, Reason.DEFECTIVE: presenters.defective_reason_help(policy)}
        self.eligibility = list(eligibility)
        self.order_items = [row.item for row in self.eligibility if row.claimable]
        self._offer_only_what_is_possible_now()
        for item in self.order_items:
            if item.quantity > 1:
                self.fields[f"quantity_{item.pk}"] = forms.TypedChoiceField(
                    label=_("How many of “%(item)s”?") % {"item": item.title}, coerce=int,
                    choices=[(n, n) for n in range(1, item.quantity + 1)], initial=item.quantity, required=False)
        claimable = [str(item.pk) for item in self.order_items]
        if not self.is_bound and (len(claimable) == 1 or chosen_item in claimable):
            self.initial.setdefault("items", [claimable[0] if len(claimable) == 1 else chosen_item])
        # The items' earlier defects: a defect already compensated by a discount cannot be claimed again, and the same
        # defect after two repairs entitles the buyer to a replacement (claims.remedies).
        earlier = same_defect_choices([item.pk for item in self.order_items])
        if earlier:
            self.fields["same_defect"] = forms.TypedChoiceField(
                label=_("Is it one of these earlier problems? (optional)"), required=False, coerce=int,
                empty_value=None, widget=forms.RadioSelect,
                choices=[("", _("No, or I am not sure")), *earlier], initial="",
                help_text=_("Only for a defect. Choose it if the same problem came back after an earlier claim."))
        # A seller that offers it: the buyer may bring a defective item and collect it there (claims.collection).
        terms = getattr(order.seller, "warranty_policy", None)
        self.offers_collection = bool(terms and terms.offers_collection)
        if terms is not None and self.offers_collection:
            self.fields["collect_in_person"] = forms.BooleanField(
                label=_("I will bring the item to the seller and collect it there"), required=False,
                help_text=_("Only for a defective item. Storage is free for a while after the claim is resolved; "
                            "after that the seller may charge %(fee)s a day.")
                % {"fee": formatting.money_text(terms.storage_fee_per_day, order.currency)})

    def _offer_only_what_is_possible_now(self) -> None:
        """The items with a reason usable now, and the reasons usable now for at least one of them; what was left out
        is refused, when posted anyway, with the sentence that says why."""
        claimable = {item.pk for item in self.order_items}
        items = cast(PossibleItemsField, self.fields["items"])
        items.choices = [(str(item.pk), item.title) for item in self.order_items]
        items.refusals = {
            str(row.item.pk): str(already_claimed(row.item, row.open_claim)) if row.open_claim
            else " ".join(dict.fromkeys(status.why for status in row.reasons))
            for row in self.eligibility if row.item.pk not in claimable}
        usable = {status.reason for row in self.eligibility for status in row.usable}
        self.offered_reasons = [value for value in Reason.values if value in usable]
        reason = cast(PossibleReasonField, self.fields["reason"])
        reason.choices = [(value, label) for value, label in Reason.choices if value in usable]
        reason.refusals = {
            value: " ".join(dict.fromkeys(why for row in self.eligibility if (why := row.status(value).why)))
            or str(_("Nothing on this order can be reported now."))
            for value in Reason.values if value not in usable}

    @property
    def blocked_rows(self) -> list[ItemEligibility]:
        """The items that cannot be chosen now: a claim is open on them, or no reason can be used for them yet."""
        return [row for row in self.eligibility if not row.claimable]

    @property
    def offers_defect_fields(self) -> bool:
        """The defect's discovery date (and the earlier defects, collecting in person) are asked for a defect only."""
        return Reason.DEFECTIVE in self.offered_reasons

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        reason = cleaned.get("reason")
        chosen = {pk for pk in cleaned.get("items") or []}
        refused = [row.status(reason).why for row in self.eligibility
                   if reason and str(row.item.pk) in chosen and not row.status(reason).allowed]
        for why in dict.fromkeys(refused):
            self.add_error("reason", why)
        if reason != Reason.DEFECTIVE:
            # asked for a defect only: another reason's claim ignores it (open_claim would too)
            cleaned["discovered_on"] = None
        return cleaned

    def clean_photos(self) -> list[evidence_files.PreparedFile]:
        return self._prepared(self.cleaned_data.get("photos") or [], kind=EvidenceKind.PHOTO)

    def clean_video(self) -> evidence_files.PreparedFile | None:
        video = self.cleaned_data.get("video")
        return self._prepared([video], kind=EvidenceKind.VIDEO)[0] if video else None

    @staticmethod
    def _prepared(uploads: list[UploadedFile], *, kind: str) -> list[evidence_files.PreparedFile]:
        """Each file checked by its bytes (claims.evidence) here, so that a bad one is named at its own field, not
        among the reasons a claim cannot be opened; open_claim takes the checked files as they are."""
        prepared: list[evidence_files.PreparedFile] = []
        errors: list[forms.ValidationError] = []
        for upload in uploads:
            try:
                prepared.append(evidence_files.prepare(upload, kind=kind))
            except ClaimError as refusal:
                errors.append(forms.ValidationError(_("This file cannot be used: %(why)s") % {"why": refusal},
                                                    code="bad_file"))
        if errors:
            raise forms.ValidationError(errors)
        return prepared

    def reason_refusals(self) -> dict[str, dict[str, str]]:
        """For the page's script: why each offered reason cannot be used for a chosen item, by reason and item id."""
        return {reason: {str(row.item.pk): row.status(reason).why for row in self.eligibility
                         if row.claimable and not row.status(reason).allowed}
                for reason in self.offered_reasons}

    def wants_collection(self) -> bool:
        """Collect in person: asked only of a defective item's claim (open_claim refuses it for anything else)."""
        return bool(self.cleaned_data.get("collect_in_person")) and self.cleaned_data.get("reason") == Reason.DEFECTIVE

    def chosen_same_defect(self) -> int | None:
        """The earlier defect the buyer recognised, for a defective claim only."""
        if self.cleaned_data.get("reason") != Reason.DEFECTIVE:
            return None
        return self.cleaned_data.get("same_defect")

    def item_rows(self) -> list[tuple[ItemEligibility, BoundWidget | None, BoundField | None]]:
        """Each item with its reasons now, its checkbox and quantity field when it can be chosen, for the template."""
        checkboxes = {str(cb.data["value"]): cb for cb in self["items"]}
        return [(row, checkboxes.get(str(row.item.pk)),
                 self[f"quantity_{row.item.pk}"] if row.claimable and row.item.quantity > 1 else None)
                for row in self.eligibility]

    def reason_rows(self) -> list[tuple[BoundWidget, Any, str]]:
        """Each offered reason's radio, its explanation and the items it can be used for now."""
        return [(radio, self.reason_help[radio.data["value"]],
                 " ".join(str(row.item.pk) for row in self.eligibility
                          if row.claimable and row.status(radio.data["value"]).allowed))
                for radio in self["reason"]]

    def chosen_items(self) -> dict[int, int]:
        chosen = {}
        for pk in self.cleaned_data["items"]:
            quantity = self.cleaned_data.get(f"quantity_{pk}") or None
            item = next(i for i in self.order_items if str(i.pk) == pk)
            chosen[item.pk] = quantity or item.quantity
        return chosen

    def evidence(self) -> list[evidence_files.PreparedFile]:
        files = list(self.cleaned_data.get("photos") or [])
        if self.cleaned_data.get("video"):
            files.append(self.cleaned_data["video"])
        return files


class MessageForm(forms.Form):
    body = forms.CharField(label=_("Your message"), widget=forms.Textarea(attrs={"rows": 4}),
                           max_length=MAX_DESCRIPTION_LENGTH)
    attachments = MultipleFileField(label=_("Attach photos, a video or PDFs"), required=False,
                                    max_files=MAX_ATTACHMENTS, help_text=FILES_HELP,
                                    widget=MultipleFileInput(attrs={"accept": ATTACHMENT_TYPES,
                                                                    "data-previews": "attachment-previews"}))


class InfoForm(MessageForm):
    """Shown beside the message form on the same page, hence its own prefix and preview box."""

    prefix = "info"
    body = forms.CharField(label=_("Your answer"), widget=forms.Textarea(attrs={"rows": 4}),
                           max_length=MAX_DESCRIPTION_LENGTH)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].widget.attrs["data-previews"] = "info-previews"


class EscalateForm(forms.Form):
    reason = forms.CharField(label=_("Why do you need our help? (optional)"), required=False,
                             widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class AppealForm(forms.Form):
    """The buyer's or the seller's appeal against the platform's decision (claims.services.appeal): the reason is
    required. The seller's claim page has several forms, hence the prefix."""

    prefix = "appeal"
    reason = forms.CharField(label=_("Why should the decision change?"), widget=forms.Textarea(attrs={"rows": 4}),
                             max_length=MAX_DESCRIPTION_LENGTH, help_text=_(
                                 "What the decision missed or got wrong. Another member of our support team looks at "
                                 "the claim again, and their decision is final."),
                             error_messages={"required": _("Please say why the decision should change.")})


class WarrantyRightsForm(forms.Form):
    """Past the warranty claim's maximum: "the buyer will have the same rights as if the defect were one that cannot be
    remedied" (claims.services.exercise_warranty_rights)."""

    prefix = "rights"
    choice = forms.ChoiceField(label=_("What do you choose?"), widget=forms.RadioSelect,
                               choices=[("replacement", _("A replacement: the seller provides a new item")),
                                        ("refund", _("Withdraw from the purchase: a full refund"))],
                               error_messages={"required": _("Please choose a replacement or a full refund.")})


class SatisfactionForm(forms.Form):
    """The satisfaction survey's page (claims.satisfaction): a rating from 1 to 5 and an optional comment. The
    one-click links of the email open it with their rating chosen (`?rating=`)."""

    rating = forms.TypedChoiceField(
        label=_("Your rating"), widget=forms.RadioSelect, coerce=int,
        choices=lambda: [(n, satisfaction.rating_label(n)) for n in satisfaction.RATINGS],
        error_messages={"required": _("Please choose a rating from 1 to 5."),
                        "invalid_choice": _("Please choose a rating from 1 to 5.")})
    comment = forms.CharField(label=_("Anything you would like to tell us? (optional)"), required=False,
                              max_length=satisfaction.COMMENT_MAX_LENGTH,
                              widget=forms.Textarea(attrs={"rows": 4}))


class EmailPreferencesForm(forms.Form):
    """One checkbox per kind of email (claims.keeping_up.KINDS). The always-sent kind is a disabled field: Django keeps
    its initial value (on) whatever is posted, so it cannot be turned off from here; the service refuses it too."""

    def __init__(self, *args: Any, kinds: Sequence[KindOfEmail], enabled: dict[str, bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in kinds:
            self.fields[kind.kind] = forms.BooleanField(label=kind.label, help_text=kind.examples, required=False,
                                                        disabled=kind.always, initial=enabled[kind.kind])

    def chosen(self) -> dict[str, bool]:
        """The kinds the person may choose, on or off."""
        return {name: value for name, value in self.cleaned_data.items() if not self.fields[name].disabled}


class ReturnTrackingForm(forms.Form):
    """The buyer's return parcel (claims.services.add_return_tracking, which normalises and checks the number). The
    claim page has several forms, hence the prefix."""

    prefix = "return"
    carrier = forms.CharField(label=_("Carrier"), max_length=50,
                              widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "DHL"}))
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64,
                                      widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))

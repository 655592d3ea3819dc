"""Forms check the shape of the input; the services decide what is allowed."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import Order

from . import presenters, satisfaction
from .choices import DesiredOutcome, Reason
from .eligibility import MAX_DESCRIPTION_LENGTH
from .policy import policy_for_order
from .remedies import same_defect_choices

MAX_PHOTOS = 8
MAX_ATTACHMENTS = 5
PHOTO_TYPES = "image/jpeg,image/png,image/webp"
ATTACHMENT_TYPES = "image/jpeg,image/png,image/webp,video/mp4,video/quicktime,application/pdf"

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
    def __init__(self, *args, max_files: int, **kwargs):  # type: ignore[no-untyped-def]
        self.max_files = max_files
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):  # type: ignore[no-untyped-def]
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if not files:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        if len(files) > self.max_files:
            raise forms.ValidationError(_("Please choose at most %(max)d files.") % {"max": self.max_files})
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class GetHelpForm(forms.Form):
    items = forms.MultipleChoiceField(label=_("Which items?"), widget=forms.CheckboxSelectMultiple,
                                      error_messages={"required": _("Please choose at least one item.")})
    reason = forms.ChoiceField(label=_("What went wrong?"), choices=Reason.choices, widget=forms.RadioSelect,
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
                               help_text=_("JPEG, PNG or WebP. Required for a wrong, not-as-described or defective "
                                           "item. Location data is removed from your photos."))
    video = forms.FileField(label=_("A short video (optional)"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "video/mp4,video/quicktime",
                                                                   "data-previews": "video-previews"}),
                            help_text=_("MP4 or MOV, up to 50 MB."))

    def __init__(self, *args, order: Order, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.order = order
        policy = policy_for_order(order)  # no claim yet: the terms a claim opened now gets
        self.fields["discovered_on"].help_text = presenters.defect_report_help(policy)
        self.reason_help = {**REASON_HELP, Reason.DEFECTIVE: presenters.defective_reason_help(policy)}
        self.order_items = list(order.items.all())
        self.fields["items"].choices = [(str(item.pk), item.title) for item in self.order_items]
        for item in self.order_items:
            if item.quantity > 1:
                self.fields[f"quantity_{item.pk}"] = forms.TypedChoiceField(
                    label=_("How many of “%(item)s”?") % {"item": item.title}, coerce=int,
                    choices=[(n, n) for n in range(1, item.quantity + 1)], initial=item.quantity, required=False)
        if len(self.order_items) == 1 and not self.is_bound:
            self.initial.setdefault("items", [str(self.order_items[0].pk)])
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
        if self.offers_collection:
            self.fields["collect_in_person"] = forms.BooleanField(
                label=_("I will bring the item to the seller and collect it there"), required=False,
                help_text=_("Only for a defective item. Storage is free for a while after the claim is resolved; "
                            "after that the seller may charge %(fee)s %(currency)s a day.")
                % {"fee": terms.storage_fee_per_day, "currency": order.currency})

    def wants_collection(self) -> bool:
        """Collect in person: asked only of a defective item's claim (open_claim refuses it for anything else)."""
        return bool(self.cleaned_data.get("collect_in_person")) and self.cleaned_data.get("reason") == Reason.DEFECTIVE

    def chosen_same_defect(self) -> int | None:
        """The earlier defect the buyer recognised, for a defective claim only."""
        if self.cleaned_data.get("reason") != Reason.DEFECTIVE:
            return None
        return self.cleaned_data.get("same_defect")

    def item_rows(self):  # type: ignore[no-untyped-def]
        """Each item's checkbox with its quantity field (if it has one), for the template."""
        checkboxes = {str(cb.data["value"]): cb for cb in self["items"]}
        return [(item, checkboxes[str(item.pk)], self[f"quantity_{item.pk}"] if item.quantity > 1 else None)
                for item in self.order_items]

    def reason_rows(self):  # type: ignore[no-untyped-def]
        return [(radio, self.reason_help[radio.data["value"]]) for radio in self["reason"]]

    def chosen_items(self) -> dict[int, int]:
        chosen = {}
        for pk in self.cleaned_data["items"]:
            quantity = self.cleaned_data.get(f"quantity_{pk}") or None
            item = next(i for i in self.order_items if str(i.pk) == pk)
            chosen[item.pk] = quantity or item.quantity
        return chosen

    def evidence(self) -> list:  # type: ignore[type-arg]
        files = list(self.cleaned_data.get("photos") or [])
        if self.cleaned_data.get("video"):
            files.append(self.cleaned_data["video"])
        return files


class MessageForm(forms.Form):
    body = forms.CharField(label=_("Your message"), widget=forms.Textarea(attrs={"rows": 4}),
                           max_length=MAX_DESCRIPTION_LENGTH)
    attachments = MultipleFileField(label=_("Attach photos, a video or PDFs"), required=False,
                                    max_files=MAX_ATTACHMENTS,
                                    widget=MultipleFileInput(attrs={"accept": ATTACHMENT_TYPES,
                                                                    "data-previews": "attachment-previews"}))


class InfoForm(MessageForm):
    """Shown beside the message form on the same page, hence its own prefix and preview box."""

    prefix = "info"
    body = forms.CharField(label=_("Your answer"), widget=forms.Textarea(attrs={"rows": 4}),
                           max_length=MAX_DESCRIPTION_LENGTH)

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["attachments"].widget.attrs["data-previews"] = "info-previews"


class EscalateForm(forms.Form):
    reason = forms.CharField(label=_("Why do you need our help? (optional)"), required=False,
                             widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


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

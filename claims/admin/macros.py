"""Canned replies (claims.macros) in the console: agents add and change them, with a text per language; a macro is
never deleted by an agent (they deactivate it), so its use stays counted. A text with a {variable} the macros do
not know is refused with the list of those they do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from .. import macros
from ..models import Macro, MacroText


class MacroTextForm(forms.ModelForm):
    class Meta:
        model = MacroText
        fields = ["language", "body"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].help_text = gettext_lazy("Variables: %(variables)s.") % {"variables": "; ".join(
            f"{{{name}}} {words}" for name, words in macros.VARIABLES.items())}

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        unknown = macros.unknown_variables(body)
        if unknown:
            raise forms.ValidationError(
                gettext_lazy("Unknown variables: %(unknown)s. The variables are: %(allowed)s."),
                code="unknown_variable",
                params={"unknown": ", ".join(f"{{{name}}}" for name in unknown),
                        "allowed": macros.allowed_variables()})
        return body


class MacroTextInline(admin.StackedInline):
    model = MacroText
    form = MacroTextForm
    max_num = len(settings.LANGUAGES)
    verbose_name = gettext_lazy("text")
    verbose_name_plural = gettext_lazy("texts, one per language")

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        """A row for each language without a text yet."""
        present = len({t.language for t in obj.texts.all()}) if obj is not None else 0
        return max(len(settings.LANGUAGES) - present, 0)


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    inlines = [MacroTextInline]
    list_display = ["name", "languages", "usage_count", "last_used_at", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    fields = ["name", "is_active", "usage_count", "last_used_at"]
    readonly_fields = ["usage_count", "last_used_at"]

    class Media:
        css = {"all": ["css/admin-console.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Macro]:
        return super().get_queryset(request).prefetch_related("texts")

    @admin.display(description=gettext_lazy("languages"))
    def languages(self, macro: Macro) -> str:
        return ", ".join(sorted(t.language for t in macro.texts.all())) or "—"

    def get_formset_kwargs(self, request: HttpRequest, obj: Any, inline: Any, prefix: str) -> dict[str, Any]:
        """The empty rows start with the languages that have no text yet, in the order of settings.LANGUAGES."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, MacroTextInline):
            present = {t.language for t in obj.texts.all()} if obj is not None and obj.pk else set()
            kwargs["initial"] = [{"language": code} for code, _name in settings.LANGUAGES if code not in present]
        return kwargs

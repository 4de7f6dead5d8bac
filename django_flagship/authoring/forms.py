"""Admin forms: JSON typed as text, and a variation group checked as a whole.

A variation group's page holds its targeting rows and its variations; the
formsets refuse what the engine would (no targeting, no variation,
allocations over 100, two references, an operator that does not fit its
value) before anything is saved, and the admin saves the page in one
transaction.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model

from . import document
from .models import BucketSettings, Campaign, Targeting, Variation

__all__ = [
    "BucketSettingsForm",
    "CampaignForm",
    "TargetingFormSet",
    "VariationFormSet",
]


class _Typed(str):
    """Text as the person typed it, shown back unchanged."""


class StrictJSONField(forms.CharField):
    """JSON text; a key twice in one object, ``NaN`` or bad syntax is a clear error.

    ``empty`` is the value of an empty field (``None``: the file leaves the key out).
    """

    widget = forms.Textarea(attrs={"rows": 2, "cols": 60})

    def __init__(self, *, empty: Any = None, **kwargs: Any) -> None:
        self.empty = empty
        kwargs.setdefault("required", False)
        super().__init__(strip=True, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, _Typed):
            return str(value)
        if value is None:
            return ""
        return json.dumps(value, ensure_ascii=False)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if text in ("", None):
            return self.empty() if callable(self.empty) else self.empty
        try:
            return document.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ValidationError(f"not JSON: {exc}") from None

    def has_changed(self, initial: Any, data: Any) -> bool:
        if initial is None and not (data or "").strip():
            return False  # an extra form left empty
        try:
            return json.dumps(self.to_python(data)) != json.dumps(initial)
        except ValidationError:
            return True

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Shown again as typed, not re-encoded (a bare word would gain quotes).
        return _Typed(data if isinstance(data, str) else "")


class ValueField(StrictJSONField):
    """A targeting value: JSON when it is JSON, otherwise the text (``gold``)."""

    # One line: Django takes any widget here, the stubs only JSONField's Textarea.
    widget = forms.TextInput(attrs={"size": 24})  # type: ignore[assignment]

    def to_python(self, value: Any) -> Any:
        text = value if isinstance(value, str) else ""
        return document.parse_value(text) if text.strip() else ""


def _help_text(model: type[Model], name: str) -> Any:
    """The model field's help text, still lazy (translated where it is shown)."""
    return getattr(model._meta.get_field(name), "help_text", "")


class CampaignForm(forms.ModelForm):
    bucket_ranges = StrictJSONField(
        label="bucketRanges",
        help_text=_help_text(Campaign, "bucket_ranges"),
    )

    class Meta:
        model = Campaign
        fields = ("campaign_id", "name", "slug", "type", "enabled", "position", "bucket_ranges")


class BucketSettingsForm(forms.ModelForm):
    account_settings = StrictJSONField(
        label="accountSettings",
        help_text=_help_text(BucketSettings, "account_settings"),
    )

    class Meta:
        model = BucketSettings
        fields = ("panic", "visitor_consolidation", "account_settings", "generated_at")


class TargetingForm(forms.ModelForm):
    value = ValueField(help_text=_help_text(Targeting, "value"))

    class Meta:
        model = Targeting
        fields = ("group", "key", "operator", "value", "provider", "position")


class VariationForm(forms.ModelForm):
    flags = StrictJSONField(empty=dict, help_text=_help_text(Variation, "flags"))

    class Meta:
        model = Variation
        fields = (
            "variation_id",
            "name",
            "reference",
            "allocation",
            "modification_type",
            "flags",
            "position",
        )


def _kept(formset: forms.BaseInlineFormSet) -> list[forms.ModelForm]:
    return [
        form
        for form in formset.forms
        if form.has_changed() or form.instance.pk is not None
        # Django's own test of the DELETE box; the stubs leave it out.
        if not (formset.can_delete and formset._should_delete_form(form))  # type: ignore[attr-defined]
        if getattr(form, "cleaned_data", None)
    ]


class TargetingFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not _kept(self):
            raise ValidationError(
                "A variation group needs at least one targeting (it never matches without "
                f"one): key {document.ALL_USERS}, EQUALS, empty value for everyone."
            )


class VariationFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = _kept(self)
        if not kept:
            raise ValidationError("A variation group needs at least one variation.")
        problems = document.allocation_problems(
            [(f.cleaned_data.get("allocation"), f.cleaned_data.get("reference")) for f in kept]
        )
        if problems:
            raise ValidationError(problems)

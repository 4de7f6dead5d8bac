from django import forms

from .context import COUNTRIES


class VisitorContextForm(forms.Form):
    """The context values a visitor may change on the Flagship page."""

    country = forms.ChoiceField(choices=COUNTRIES)
    is_vip = forms.BooleanField(label="VIP customer", required=False)
    age = forms.IntegerField(min_value=0, max_value=120, required=False)

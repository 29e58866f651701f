"""Entry forms of the safety records for nurses. As every form here, validation is the
model's (`full_clean` names the field: an unconvertible unit under "unit")."""

from __future__ import annotations

from typing import Any

from django import forms

from clinic.forms import DateInput
from monitoring.clinical.safety import BRAIN_MRI, JCV_INDEX
from monitoring.models import AdverseEvent, Analyte, Comorbidity, LabResult, Pregnancy
from monitoring.safety_records import ResultText

SEROSTATUS = [
    ("", "choose…"),
    (ResultText.NEGATIVE, "Negative"),
    (ResultText.POSITIVE, "Positive"),
    (ResultText.INDETERMINATE, "Indeterminate"),
]


class JcvResultForm(forms.ModelForm):
    """The anti-JCV antibody test of natalizumab patients: serostatus and index."""

    text = forms.ChoiceField(label="Serostatus", choices=SEROSTATUS)

    class Meta:
        model = LabResult
        fields = ["date", "text", "value", "lab"]
        labels = {"value": "Antibody index"}
        widgets = {"date": DateInput(attrs={"autofocus": True})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.analyte_id:
            self.instance.analyte = Analyte.objects.get(code=JCV_INDEX)
            self.instance.unit = self.instance.analyte.unit


class LabResultForm(forms.ModelForm):
    class Meta:
        model = LabResult
        fields = ["analyte", "date", "value", "unit", "text", "lower_limit", "upper_limit", "lab"]
        widgets = {"date": DateInput()}
        help_texts = {"unit": "Empty: the analyte's catalogue unit; others are converted"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Not offered: the model refuses it (a brain MRI is an MRI scan record).
        field = self.fields["analyte"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Analyte.objects.exclude(code=BRAIN_MRI)


class AdverseEventForm(forms.ModelForm):
    class Meta:
        model = AdverseEvent
        fields = ["date", "term", "serious", "suspected_therapy", "outcome"]
        widgets = {"date": DateInput(attrs={"autofocus": True})}


class PregnancyForm(forms.ModelForm):
    class Meta:
        model = Pregnancy
        fields = ["start", "due_date", "end", "outcome", "therapy_action"]
        widgets = {
            "start": DateInput(attrs={"autofocus": True}),
            "due_date": DateInput(),
            "end": DateInput(),
        }


class ComorbidityForm(forms.ModelForm):
    class Meta:
        model = Comorbidity
        fields = ["condition", "code", "onset", "resolved", "notes"]
        widgets = {
            "condition": forms.TextInput(attrs={"autofocus": True}),
            "onset": DateInput(),
            "resolved": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

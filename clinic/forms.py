"""Data-entry forms. Validation is the model's (`full_clean` names the field); the forms only
choose widgets that make a wrong value hard to type."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db import models

from monitoring.clinical import thresholds as t
from monitoring.models import MriScan, NflSample, Relapse, Visit
from patients.models import Patient, Site, TherapyCourse

EDSS_CHOICES = [("", "choose…")] + [(f"{v:.1f}", f"{v:.1f}") for v in t.EDSS_VALUES]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        # A date input shows only ISO dates: the locale's 02/05/2024 would leave it empty
        # when a record is opened for correction.
        super().__init__(attrs, format="%Y-%m-%d")


class VisitForm(forms.ModelForm):
    edss = forms.TypedChoiceField(label="EDSS", choices=EDSS_CHOICES, coerce=Decimal)

    class Meta:
        model = Visit
        fields = ["date", "edss", "t25fw", "nhpt", "sdmt", "scheduled"]
        widgets = {"date": DateInput(attrs={"autofocus": True})}


class RelapseForm(forms.ModelForm):
    class Meta:
        model = Relapse
        fields = ["onset", "end", "severity", "steroids", "confirmed_by_clinician"]
        widgets = {"onset": DateInput(attrs={"autofocus": True}), "end": DateInput()}


class MriScanForm(forms.ModelForm):
    class Meta:
        model = MriScan
        fields = ["date", "new_t2", "gd_enhancing", "total_t2", "pbvc", "field_strength"]
        widgets = {"date": DateInput(attrs={"autofocus": True})}


class NflSampleForm(forms.ModelForm):
    class Meta:
        model = NflSample
        fields = ["date", "matrix", "value", "assay", "lab", "lab_upper_limit", "z_score"]
        widgets = {"date": DateInput(attrs={"autofocus": True})}


class TherapyStartForm(forms.ModelForm):
    class Meta:
        model = TherapyCourse
        fields = ["therapy", "start"]
        widgets = {"start": DateInput()}


class TherapyStopForm(forms.ModelForm):
    class Meta:
        model = TherapyCourse
        fields = ["end", "stop_reason"]
        widgets = {"end": DateInput(attrs={"autofocus": True})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["end"].required = True
        self.fields["stop_reason"].required = True


class TherapyEditForm(forms.ModelForm):
    class Meta:
        model = TherapyCourse
        fields = ["therapy", "start", "end", "stop_reason"]
        widgets = {"start": DateInput(), "end": DateInput()}


class EnteredInErrorForm(forms.Form):
    reason = forms.CharField(
        label="Why is this record in error?",
        max_length=500,
        widget=forms.TextInput(attrs={"autofocus": True}),
        help_text="e.g. entered for the wrong patient; typed 5.0 for 3.5",
    )


class PatientForm(forms.ModelForm):
    """Registration and demographics; the site is one of the user's, fixed once registered."""

    class Meta:
        model = Patient
        fields = [
            "site",
            "mrn",
            "display_name",
            "birth_date",
            "sex",
            "phenotype",
            "symptom_onset",
            "diagnosis_date",
        ]
        widgets = {
            "mrn": forms.TextInput(attrs={"autofocus": True}),
            "birth_date": DateInput(),
            "symptom_onset": DateInput(),
            "diagnosis_date": DateInput(),
        }

    def __init__(self, *args, sites: models.QuerySet[Site], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["site"]
        else:
            site = self.fields["site"]
            assert isinstance(site, forms.ModelChoiceField)
            site.queryset = sites
            if len(sites) == 1:
                site.initial = sites[0]

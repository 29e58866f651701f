"""The registry's forms: an upload, an export request, a pseudonym lookup, a consent."""

from __future__ import annotations

from typing import Any

from django import forms

from monitoring.clinical.definitions import DEFAULT_PRESET, PRESETS
from patients.models import Consent, Site
from registry.imports import KINDS


class DateInput(forms.DateInput):
    input_type = "date"


class SiteChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Site) -> str:
        return f"{obj.code} · {obj.name}"


class SiteForm(forms.Form):
    """A form about one of the sites the user administers."""

    site = SiteChoice(queryset=Site.objects.none())

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if len(sites) == 1:
            self.fields["site"].initial = sites[0]


class UploadForm(SiteForm):
    kind = forms.ChoiceField(choices=[(name, name) for name in KINDS], label="Record kind")
    file = forms.FileField(help_text="CSV (UTF-8) or XLSX, one record kind per file")
    dry_run = forms.BooleanField(
        required=False, initial=True, label="Dry run: check every row, store nothing"
    )


class ExportForm(SiteForm):
    definitions = forms.MultipleChoiceField(
        choices=[(name, name) for name in PRESETS],
        initial=[DEFAULT_PRESET],
        widget=forms.CheckboxSelectMultiple,
        label="Progression definitions to compute CDW/RAW/PIRA under",
    )


class LookupForm(SiteForm):
    pseudonym = forms.CharField(max_length=64, strip=True)


class ConsentForm(forms.ModelForm):
    class Meta:
        model = Consent
        fields = ["date", "research_export", "withdrawn"]
        widgets = {"date": DateInput(attrs={"autofocus": True}), "withdrawn": DateInput()}

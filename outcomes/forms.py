"""The outcome report's filters, checked once for the page and the API: an unknown value is
an error naming its field, never silently dropped."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from monitoring.clinical.cohort import Filters
from outcomes.cohort import FILTER_CHOICES
from patients.models import Phenotype, Sex, Therapy

FIRST_YEAR = 1950


def _choices(
    values: tuple[str, ...], labels: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    return [("", "all"), *((v, (labels or {}).get(v, v)) for v in values)]


class OutcomeFilters(forms.Form):
    therapy = forms.ChoiceField(required=False)
    phenotype = forms.ChoiceField(
        required=False, choices=_choices(FILTER_CHOICES["phenotype"], dict(Phenotype.choices))
    )
    sex = forms.ChoiceField(
        required=False, choices=_choices(FILTER_CHOICES["sex"], dict(Sex.choices))
    )
    age_band = forms.ChoiceField(
        required=False, label="age (years)", choices=_choices(FILTER_CHOICES["age_band"])
    )
    disease_duration = forms.ChoiceField(
        required=False,
        label="disease duration (years)",
        choices=_choices(FILTER_CHOICES["disease_duration"]),
    )
    period_from = forms.IntegerField(required=False, label="from year", min_value=FIRST_YEAR)
    period_to = forms.IntegerField(required=False, label="to year", min_value=FIRST_YEAR)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        therapy = self.fields["therapy"]
        assert isinstance(therapy, forms.ChoiceField)
        therapy.choices = [
            ("", "all"),
            *Therapy.objects.order_by("name").values_list("code", "name"),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        first, last = data.get("period_from"), data.get("period_to")
        this_year = timezone.localdate().year
        for name, year in (("period_from", first), ("period_to", last)):
            if year is not None and year > this_year:
                self.add_error(name, f"{year} is in the future (this year is {this_year})")
        if first is not None and last is not None and first > last:
            self.add_error("period_to", f"the period ends ({last}) before it begins ({first})")
        return data

    def filters(self) -> Filters:
        """The valid form's filters (call after is_valid())."""
        data = self.cleaned_data
        first, last = data.get("period_from"), data.get("period_to")
        period = None
        if first is not None or last is not None:
            period = (first or FIRST_YEAR, last or timezone.localdate().year)
        return Filters(
            therapy=data.get("therapy") or None,
            phenotype=data.get("phenotype") or None,
            sex=data.get("sex") or None,
            age_band=data.get("age_band") or None,
            disease_duration=data.get("disease_duration") or None,
            period=period,
        )

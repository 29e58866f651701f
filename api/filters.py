"""Query filters: by patient UUID and date range for records; by site, MRN and phenotype
for patients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django_filters
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

from monitoring.models import MriScan, NflSample, Relapse, Visit
from patients.models import Patient, TherapyCourse


class StrictOrderingFilter(OrderingFilter):
    """`?ordering=` with a field the list cannot be sorted by is a 400 naming the sortable
    fields, not silently the default order."""

    def remove_invalid_fields(
        self, queryset: Any, fields: Iterable[str], view: Any, request: Any
    ) -> list[str]:
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        unknown = [term for term in fields if term and term not in valid]
        if unknown:
            context = {"request": request}
            known = [name for name, _ in self.get_valid_fields(queryset, view, context)]
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"cannot sort by {', '.join(map(repr, unknown))}; "
                        f"sort by {', '.join(known)} (- for descending)"
                    ]
                }
            )
        return valid

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """The terms a list sorts by, as an enum, so that a generated client cannot send
        one the server refuses."""
        fields = list(getattr(view, "ordering_fields", None) or [])
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort by these, comma-separated; - for descending",
                "schema": {
                    "type": "array",
                    "items": {"type": "string", "enum": fields + [f"-{f}" for f in fields]},
                },
                "style": "form",
                "explode": False,
            }
        ]


class PatientFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code", help_text="Site code")

    class Meta:
        model = Patient
        fields = ["site", "mrn", "phenotype", "source_system", "source_id"]


def record_filter(record_model: type, date_field: str) -> type[django_filters.FilterSet]:
    """patient=<UUID>, <date>_from / <date>_to (inclusive), source identifiers."""

    class Meta:
        model = record_model
        fields = ["source_system", "source_id"]

    attrs = {
        "Meta": Meta,
        "patient": django_filters.UUIDFilter(field_name="patient__public_id"),
        f"{date_field}_from": django_filters.DateFilter(field_name=date_field, lookup_expr="gte"),
        f"{date_field}_to": django_filters.DateFilter(field_name=date_field, lookup_expr="lte"),
    }
    return type(f"{record_model.__name__}Filter", (django_filters.FilterSet,), attrs)


TherapyCourseFilter = record_filter(TherapyCourse, "start")
VisitFilter = record_filter(Visit, "date")
RelapseFilter = record_filter(Relapse, "onset")
MriScanFilter = record_filter(MriScan, "date")
NflSampleFilter = record_filter(NflSample, "date")

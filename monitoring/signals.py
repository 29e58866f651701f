"""The patient's latest visit, stored on the patient for the dashboard's sort orders."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery

from monitoring.models import Visit
from patients.models import Patient


def latest_visit_columns(patients: Any) -> int:
    """Rewrite `last_visit` and `last_edss` of these patients from their visits in use."""
    latest = Visit.objects.filter(patient=OuterRef("pk")).order_by("-date")
    return patients.update(
        last_visit=Subquery(latest.values("date")[:1]),
        last_edss=Subquery(latest.values("edss")[:1]),
    )


def on_patients_data_changed(sender: Any, *, patient_ids: list[int], **kwargs: Any) -> None:
    # Sent after commit by every write path (forms, admin, API, FHIR, imports, entered in
    # error), for every patient a write touched, whatever its record kind.
    latest_visit_columns(Patient.objects.filter(pk__in=patient_ids))

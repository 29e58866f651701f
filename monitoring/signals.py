"""The patient's latest visit, stored on the patient for the dashboard's sort orders; kept by
the evaluation of every patient a write touched (`alerts.evaluation`)."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery

from monitoring.models import Visit


def latest_visit_columns(patients: Any) -> int:
    """Rewrite `last_visit` and `last_edss` of these patients from their visits in use."""
    latest = Visit.objects.filter(patient=OuterRef("pk")).order_by("-date")
    return patients.update(
        last_visit=Subquery(latest.values("date")[:1]),
        last_edss=Subquery(latest.values("edss")[:1]),
    )

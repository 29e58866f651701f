"""The dashboard's "safety" column: each listed patient's unresolved safety alerts, counted
in one query for the page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Count

from alerts.models import Alert, AlertState, Rule

OVERDUE = (Rule.JCV_OVERDUE, Rule.SAFETY_TEST_OVERDUE)
OUT_OF_RANGE = (Rule.LAB_OUT_OF_RANGE, Rule.PML_HIGH_RISK, Rule.CLADRIBINE_YEAR2_BLOCKED)


def annotate_safety(patients: Sequence[Any]) -> None:
    """Set `safety_overdue` and `safety_out_of_range` (tests overdue; results out of range,
    high PML risk, cladribine year 2 blocked) on each patient."""
    counts = {
        (patient_id, rule): n
        for patient_id, rule, n in Alert.objects.filter(
            patient__in=[p.pk for p in patients], rule__in=[*OVERDUE, *OUT_OF_RANGE]
        )
        .exclude(state=AlertState.RESOLVED)
        .order_by()
        .values_list("patient_id", "rule")
        .annotate(n=Count("id"))
    }
    for patient in patients:
        patient.safety_overdue = sum(counts.get((patient.pk, r), 0) for r in OVERDUE)
        patient.safety_out_of_range = sum(counts.get((patient.pk, r), 0) for r in OUT_OF_RANGE)

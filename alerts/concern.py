"""The dashboard's sort columns kept on each patient row: the order of concern, the next
due date and the current therapy.

The dashboard ranks patients by their open alerts (high, then medium), then NEDA-3 lost or
unknown, then low alerts. Counting every patient's alerts per page view took over a second
at 100,000 patients, so the rank is stored (`Patient.concern`, indexed) and rewritten
whenever its inputs change: by the evaluation, which raises and clears alerts and stores
NEDA-3, the due dates and the current course, and when a neurologist resolves an alert.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping

from django.db.models import Count

from alerts.models import Alert, AlertState, Severity
from mstrack.db import update_many
from outcomes.models import NedaState, PatientStatus
from patients.models import Patient

# Each part counts up to CAP, so that one part never reaches into the next one's digits.
CAP = 99


def _open_alerts(ids: list[int]) -> dict[int, Counter[str]]:
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    rows = (
        Alert.objects.filter(patient_id__in=ids)
        .exclude(state=AlertState.RESOLVED)
        .order_by()
        .values_list("patient_id", "severity")
        .annotate(n=Count("pk"))
    )
    for patient_id, severity, n in rows:
        counts[patient_id][severity] = n
    return counts


COLUMNS = ("concern", "next_due", "therapy_name")
NEDA3_WEIGHT: dict[str, int] = {NedaState.NOT_MET: 2, NedaState.UNKNOWN: 1}  # else 0


def concern(*, high: int, medium: int, low: int, neda3: str | None) -> int:
    """One number that sorts as (high, medium, NEDA-3 lost > unknown > met, low), descending."""
    return (
        min(high, CAP) * 1_000_000
        + min(medium, CAP) * 10_000
        + NEDA3_WEIGHT.get(neda3 or "", 0) * 100
        + min(low, CAP)
    )


# What the rank reads of a patient's status: NEDA-3 of the last 12 months, the next due
# date (MRI or EDSS) and the current therapy's name.
StatusColumns = tuple[str | None, dt.date | None, str | None]


def status_columns(
    neda3: str | None, due: Collection[dt.date | None], therapy: str | None
) -> StatusColumns:
    return neda3, min((d for d in due if d), default=None), therapy


def _statuses(ids: list[int]) -> dict[int, StatusColumns]:
    return {
        patient_id: status_columns(state, (mri_due, edss_due), name)
        for patient_id, state, mri_due, edss_due, name in (
            PatientStatus.objects.filter(patient_id__in=ids)
            .order_by()
            .values_list(
                "patient_id", "neda3", "mri_due", "edss_due", "therapy_course__therapy__name"
            )
        )
    }


def rank(
    patient_ids: Collection[int],
    *,
    open_alerts: Mapping[int, Counter[str]] | None = None,
    statuses: Mapping[int, StatusColumns] | None = None,
) -> int:
    """Rewrite `concern`, `next_due` and `therapy_name` of these patients where they
    changed; returns how many rows were written (none on a night when nothing changed).
    The evaluation gives the unresolved alerts it has just settled and the statuses it has
    just stored; else they are read."""
    ids = list(patient_ids)
    if not ids:
        return 0
    if open_alerts is None:
        open_alerts = _open_alerts(ids)
    if statuses is None:
        statuses = _statuses(ids)
    changed = []
    # Unordered: the patients' default order joins their sites.
    for pk, *was in (
        Patient.objects.filter(pk__in=ids)
        .order_by()
        .values_list("pk", "concern", "next_due", "therapy_name")
    ):
        counts = open_alerts.get(pk, Counter())
        neda3, due, therapy = statuses.get(pk, (None, None, None))
        now = concern(
            high=counts[Severity.HIGH],
            medium=counts[Severity.MEDIUM],
            low=counts[Severity.LOW],
            neda3=neda3,
        )
        if [now, due, therapy] != was:
            changed.append(Patient(pk=pk, concern=now, next_due=due, therapy_name=therapy))
    update_many(changed, COLUMNS)
    return len(changed)

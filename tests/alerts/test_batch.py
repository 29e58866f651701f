"""The batched evaluation gives what evaluating each patient alone gives, on a demo cohort."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.evaluation import evaluate
from alerts.models import Alert, PatientStatus
from patients.models import AuditEvent, Patient

pytestmark = pytest.mark.django_db

ALERT_FIELDS = ("patient_id", "rule", "severity", "evidence_key", "evidence", "explanation")


def stored() -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    statuses = [
        {k: v for k, v in row.items() if k != "computed_at"}
        for row in PatientStatus.objects.order_by("pk").values()
    ]
    alerts = sorted(
        Alert.objects.values_list(*ALERT_FIELDS, "state"), key=lambda a: (a[0], a[1], a[3])
    )
    return statuses, alerts


def forget() -> None:
    AuditEvent.objects.filter(model="alerts.alert").delete()
    Alert.objects.all().delete()
    PatientStatus.objects.all().delete()


def test_one_batch_equals_one_patient_at_a_time(today):
    call_command("seed_demo", patients=200, seed=3, stdout=io.StringIO(), stderr=io.StringIO())
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))

    for pk in ids:
        evaluate([pk])
    alone = stored()
    forget()
    outcome = evaluate(ids)
    together = stored()

    assert len(alone[0]) == 200
    assert alone[1], "the cohort raises alerts"
    assert together == alone
    assert len(outcome.raised) == len(alone[1])

    # A sparse batch (read by id list) and the rest (read by id range, skipping the others).
    forget()
    sparse = ids[::7]
    evaluate(sparse)
    evaluate([pk for pk in ids if pk not in sparse])
    assert stored() == alone

    # Again on the same data and day: nothing raised or resolved, no content rewritten.
    digests = dict(PatientStatus.objects.values_list("pk", "digest"))
    again = evaluate(ids)
    assert (again.raised, again.resolved) == ([], [])
    assert stored() == together
    assert dict(PatientStatus.objects.values_list("pk", "digest")) == digests


def test_a_batch_reads_each_table_by_its_own_patient_column(today):
    """Nothing the evaluation reads joins the patients' sites (the records' default ordering
    does) or sorts alerts: on 100,000 patients each such query cost a scan of a whole table
    per batch, more than the batch's own rows."""
    call_command("seed_demo", patients=20, seed=3, stdout=io.StringIO(), stderr=io.StringIO())
    ids = list(Patient.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        evaluate(ids)
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(reads) >= 8
    assert not [sql for sql in reads if "patients_site" in sql]
    assert not [sql for sql in reads if "alerts_alert" in sql and "ORDER BY" in sql]

"""The batched evaluation gives what evaluating each patient alone gives, on a demo cohort."""

from __future__ import annotations

import datetime as dt
import gc
import io
import json
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.evaluation import SYSTEM, evaluate
from alerts.models import Alert
from monitoring.models import MriScan, Relapse
from outcomes.assessment import assess_patient, config
from outcomes.models import PatientStatus
from outcomes.records import load
from outcomes.store import status_row
from patients.actions import mark_entered_in_error
from patients.models import AuditEvent, Patient
from tests.alerts.conftest import add
from tests.conftest import require_postgres
from tests.factories import make_patient, visit

D = dt.date

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


def test_kept_closed_years_equal_the_recomputed_ones(today):
    """Day after day (across a new year, through the weeks a closed year may still be
    provisional, and after records of closed years change), a status whose closed calendar
    years were kept from an earlier evaluation stores exactly what computing every window
    afresh gives; and most evaluations after the first do keep them."""
    call_command("seed_demo", patients=60, seed=5, stdout=io.StringIO(), stderr=io.StringIO())
    # Its 2024 is provisional until 12 weeks after the visit of 2024-12-10 (2025-03-04).
    late = make_patient(Patient.objects.first().site)
    for day, edss in ((D(2023, 6, 1), "2.0"), (D(2024, 12, 10), "2.0"), (D(2025, 5, 1), "2.0")):
        add(visit(late, date=day, edss=Decimal(edss)))
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    settings = config()
    days = [D(2024, 12, 30), D(2024, 12, 31), D(2025, 1, 1), D(2025, 1, 2), D(2025, 2, 10)]
    days += [D(2025, 3, 20), D(2025, 3, 28), D(2025, 6, 1), D(2025, 6, 2)]
    kept_statements = 0
    late_keys: dict[dt.date, str] = {}
    for number, day in enumerate(days):
        if number == 5:  # records of closed years change: a back-dated relapse, a scan withdrawn
            add(Relapse(patient_id=ids[0], onset=D(2022, 5, 3)))
            scan = MriScan.objects.filter(patient_id__in=ids[1:], date__year=2023).first()
            assert scan is not None
            mark_entered_in_error(scan, actor=SYSTEM, reason="wrong patient")
        with CaptureQueriesContext(connection) as queries:
            evaluate(ids, as_of=day)
        kept_statements += sum(map(_keeps_closed_years, queries.captured_queries))
        if number:  # only what changed is written: the definition never does
            updates = [q["sql"] for q in queries.captured_queries if "UPDATE" in q["sql"][:40]]
            assert updates and not [sql for sql in updates if '"definition" =' in sql]
        fresh = {
            pk: status_row(assess_patient(records, as_of=day, config=settings))
            for pk, records in load(ids).items()
        }
        for status in PatientStatus.objects.filter(pk__in=ids):
            expected = fresh[status.pk]
            assert status.as_of == day
            assert msgspec.to_builtins(status.documents.calendar_years) == _json(
                expected.closed_years + expected.neda["calendar_years"]
            ), (day, status.pk)
            assert status.neda == _json(expected.neda)
            assert status.closed_years_key == expected.closed_years_key
        late_keys[day] = PatientStatus.objects.get(pk=late.pk).closed_years_key
    assert kept_statements >= len(days) - 3  # all but the first day and the new year
    # Its 2024 is kept from the first day of 2025 on, through the weeks it is provisional.
    assert len({late_keys[day] for day in days if day.year == 2025}) == 1


def _keeps_closed_years(query: dict[str, str]) -> bool:
    sql = query["sql"]  # an executemany is logged as "N times: ..."
    return (
        'UPDATE "outcomes_patientstatus"' in sql
        and '"closed_years" =' not in sql
        and ('"closed_years_key" =' in sql)
    )


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_prepared_and_client_bound_writes_store_the_same(today, settings):
    """`DATABASE_PREPARED_STATEMENTS` off (behind an old pooler) writes what it writes on."""
    call_command("seed_demo", patients=30, seed=4, stdout=io.StringIO(), stderr=io.StringIO())
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    settings.DATABASE_PREPARED_STATEMENTS = True
    evaluate(ids)
    evaluate(ids, as_of=D(2025, 6, 2))  # closed years kept: the UPDATE statement
    prepared = stored()
    forget()
    settings.DATABASE_PREPARED_STATEMENTS = False
    evaluate(ids)
    evaluate(ids, as_of=D(2025, 6, 2))
    assert stored() == prepared
    assert prepared[1], "the cohort raises alerts"


@pytest.mark.postgres
def test_status_storage_suits_a_nightly_rewrite(db):
    """Pages keep room for the next version of a row (updates stay on the page, nothing
    for autovacuum to chase) and JSON is compressed with lz4 (built into the servers we
    support: Debian's and the official image)."""
    require_postgres()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'outcomes_patientstatus'")
        assert "fillfactor=60" in cursor.fetchone()[0]
        cursor.execute(
            "SELECT attname, attcompression FROM pg_attribute "
            "WHERE attrelid = 'outcomes_patientstatus'::regclass AND attname = 'neda'"
        )
        assert cursor.fetchone() == ("neda", "l")


def test_a_batch_is_freed_before_the_cycle_collector_resumes(monkeypatch):
    """The collector, paused for a batch, resumes once the batch's records and assessments
    are freed: alive then, every one of them would be walked by the collection that the next
    allocation starts."""
    call_command("seed_demo", patients=20, seed=3, stdout=io.StringIO(), stderr=io.StringIO())
    ids = list(Patient.objects.values_list("pk", flat=True))
    evaluate(ids)  # first evaluation, caches warm
    tracked_at_resume = []
    resume = gc.enable

    def enable() -> None:
        tracked_at_resume.append(len(gc.get_objects()))
        resume()

    monkeypatch.setattr(gc, "enable", enable)
    before = len(gc.get_objects())
    evaluate(ids, as_of=dt.date.today() + dt.timedelta(days=1))
    # Alive, 20 demo patients' records and assessments were ~2,400 tracked objects more.
    [tracked] = tracked_at_resume
    assert tracked - before < 500

"""The safety catalogue as loaded by its data migration, and JcvTest folded into lab
results with every row kept."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from monitoring.clinical.protocols import ANALYTES, SPEC_PROTOCOL
from monitoring.models import Analyte, LabResult, MonitoringItem
from monitoring.safety_records import protocol

BEFORE = [("monitoring", "0007_fill_patient_latest_visit")]
AFTER = [("monitoring", "0011_drop_jcv_test_table")]


@pytest.mark.django_db
def test_the_catalogue_holds_the_spec_rows_as_the_engine_reads_them():
    assert sorted(Analyte.objects.values_list("code", flat=True)) == sorted(
        a.code for a in ANALYTES
    )
    assert Analyte.objects.get(code="platelets").loinc == "777-3"
    by_code = {i.code: i for i in protocol().items}
    assert by_code == {i.code: i for i in SPEC_PROTOCOL}
    assert MonitoringItem.objects.get(code="alemtuzumab-platelets").until_months == 48


# serialized_rollback: the flush after a transactional test would otherwise recreate the
# content types under new ids, and a later serialized-rollback test could not restore its own.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_jcv_test_becomes_a_lab_result():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Site = apps.get_model("patients", "Site")
    Patient = apps.get_model("patients", "Patient")
    JcvTest = apps.get_model("monitoring", "JcvTest")
    site = Site.objects.create(code="MIG", name="Migration")
    patient = Patient.objects.create(
        site=site, mrn="1", birth_date=dt.date(1980, 1, 1), phenotype="RRMS", public_id=uuid.uuid4()
    )
    kept = JcvTest.objects.create(
        patient=patient,
        date=dt.date(2024, 3, 1),
        result="positive",
        index=Decimal("1.20"),
        source_system="ehr",
        source_id="j-1",
    )
    JcvTest.objects.create(
        patient=patient,
        date=dt.date(2024, 9, 1),
        result="negative",
        entered_in_error_at=dt.datetime(2024, 9, 2, tzinfo=dt.UTC),
        entered_in_error_reason="typo",
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    results = LabResult.all_records.filter(patient_id=patient.pk).order_by("date")
    assert [(r.analyte.code, r.date, r.value, r.text) for r in results] == [
        ("jcv-index", dt.date(2024, 3, 1), Decimal("1.2000"), "positive"),
        ("jcv-index", dt.date(2024, 9, 1), None, "negative"),
    ]
    first, second = results
    assert first.public_id == kept.public_id and (first.source_system, first.source_id) == (
        "ehr",
        "j-1",
    )
    assert first.created_at == kept.created_at
    assert second.is_entered_in_error and second.entered_in_error_reason == "typo"
    assert LabResult.objects.filter(patient_id=patient.pk).count() == 1

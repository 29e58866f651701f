"""The dashboard's new patient columns are filled for the patients already stored, and the
migration keeps the database's triggers (SQLite rebuilds the patient table)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("patients", "0010_consent"), ("monitoring", "0006_mri_gd_enhancing_optional")]
AFTER = [
    ("patients", "0011_dashboard_sort_and_search_columns"),
    ("monitoring", "0007_fill_patient_latest_visit"),
]


def _triggers() -> int:
    if connection.vendor != "sqlite":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_patients_get_their_search_text_and_latest_visit():
    executor = MigrationExecutor(connection)
    triggers = _triggers()
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    site = old.get_model("patients", "Site").objects.create(code="OLD", name="Old clinic")
    patient = old.get_model("patients", "Patient").objects.create(
        site=site,
        mrn="OLD-1",
        display_name="Zoë Müller",
        birth_date=dt.date(1980, 1, 1),
        sex="female",
        phenotype="RRMS",
    )
    visits = old.get_model("monitoring", "Visit").objects
    visits.create(patient=patient, date=dt.date(2023, 1, 1), edss=Decimal("2.0"))
    visits.create(patient=patient, date=dt.date(2024, 1, 1), edss=Decimal("3.5"))
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    migrated = new.get_model("patients", "Patient").objects.get(pk=patient.pk)
    assert migrated.search_text == "old-1 zoe muller"
    assert (migrated.last_visit, migrated.last_edss) == (dt.date(2024, 1, 1), Decimal("3.5"))
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest for the rest
    # Every trigger is there again (SQLite's rebuild of the patient table kept them); the later
    # migrations undone on the way back (safety records) put theirs back too.
    assert _triggers() == triggers

"""Bulk writes: up to 1,000 records in one transaction, all or nothing, errors by index."""

from __future__ import annotations

import datetime as dt

import pytest

from api.views import BULK_LIMIT
from monitoring.models import Visit
from patients.models import AuditEvent

pytestmark = pytest.mark.django_db


def visits(patient, count, start=dt.date(2010, 1, 1)):
    return [
        {
            "patient": str(patient.public_id),
            "date": str(start + dt.timedelta(days=i)),
            "edss": 2.0,
            "source_system": "epic",
            "source_id": f"v{i}",
        }
        for i in range(count)
    ]


def test_bulk_saves_every_record_with_an_audit_row_each(integration_a, patient):
    response = integration_a.post(
        "/api/v1/visits/bulk/", {"records": visits(patient, 300)}, format="json"
    )
    assert response.status_code == 201
    assert [r["index"] for r in response.json()["results"]] == list(range(300))
    assert Visit.objects.count() == 300
    assert AuditEvent.objects.filter(model="monitoring.visit", action="create").count() == 300
    again = integration_a.post(
        "/api/v1/visits/bulk/", {"records": visits(patient, 300)}, format="json"
    )
    assert again.status_code == 201 and Visit.objects.count() == 300
    assert not any(r["created"] for r in again.json()["results"])


def test_one_bad_record_saves_nothing_and_is_named_by_index(nurse, patient):
    records = visits(patient, 5)
    records[1]["edss"] = 3.25
    records[3]["date"] = "2999-01-01"
    records[4]["patient"] = "00000000-0000-0000-0000-000000000000"
    response = nurse.post("/api/v1/visits/bulk/", {"records": records}, format="json")
    assert response.status_code == 400
    errors = {e["index"]: e["errors"] for e in response.json()["errors"]}
    assert set(errors) == {1, 3, 4}
    assert "edss" in errors[1] and "date" in errors[3] and "patient" in errors[4]
    assert Visit.objects.count() == 0 and not AuditEvent.objects.exists()


def test_two_visits_on_one_day_in_a_batch_are_refused_by_index(nurse, patient):
    records = visits(patient, 2)
    records[1]["date"] = records[0]["date"]
    response = nurse.post("/api/v1/visits/bulk/", {"records": records}, format="json")
    assert response.status_code == 400
    message = f"this patient already has a visit on {records[0]['date']}"
    assert response.json()["errors"] == [{"index": 1, "errors": {"date": [message]}}]


def test_bulk_size_is_bounded(nurse, patient):
    too_many = nurse.post(
        "/api/v1/visits/bulk/", {"records": [{}] * (BULK_LIMIT + 1)}, format="json"
    )
    assert too_many.status_code == 400 and "at most" in too_many.json()["records"][0]
    assert nurse.post("/api/v1/visits/bulk/", {"records": []}, format="json").status_code == 400
    assert nurse.post("/api/v1/visits/bulk/", [1, 2], format="json").status_code == 400


def test_bulk_errors_have_the_documented_shape_whatever_the_record(nurse, patient):
    """BulkError.errors is messages by field, also for a record that is null or not an
    object (the schema says so; a generated client parses it)."""
    good = visits(patient, 1)[0]
    response = nurse.post(
        "/api/v1/visits/bulk/", {"records": [good, None, "visit", [1]]}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["index"] for e in errors] == [1, 2, 3]
    for error in errors:
        assert list(error["errors"]) == ["non_field_errors"]
        assert all(isinstance(m, str) for m in error["errors"]["non_field_errors"])

"""The permission matrix: a neurologist and a nurse of site A, an integration token of site
B, against every endpoint and action. B must see nothing of A and change nothing of A."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest

from patients.models import AuditEvent
from tests.factories import mri_scan, nfl_sample, relapse, therapy_course, visit

pytestmark = pytest.mark.django_db

# endpoint, a saved record of site A's patient, a valid new record, a valid change
RECORDS = {
    # The saved course stops before the new one starts: one therapy at a time (spec §1).
    "therapy-courses": (
        partial(therapy_course, end=dt.date(2024, 5, 1)),
        {"therapy": "natalizumab", "start": "2024-06-01"},
        {"end": "2024-05-15"},
    ),
    "visits": (visit, {"date": "2024-06-01", "edss": 2.5}, {"edss": 3.0}),
    "relapses": (relapse, {"onset": "2024-06-01"}, {"severity": "mild"}),
    "mri-scans": (mri_scan, {"date": "2024-06-01", "new_t2": 1, "gd_enhancing": 0}, {"new_t2": 2}),
    "nfl-samples": (
        nfl_sample,
        {"date": "2024-06-01", "matrix": "serum", "value": 9.1, "assay": "simoa"},
        {"value": 10.2},
    ),
}
ACTORS_OF_A = ["neurologist", "nurse"]


@pytest.fixture(params=[*ACTORS_OF_A, "integration_b"])
def actor(request):
    return request.param, request.getfixturevalue(request.param)


@pytest.mark.parametrize("endpoint", RECORDS)
def test_clinical_record_endpoints(actor, endpoint, patient):
    name, client = actor
    make, new, change = RECORDS[endpoint]
    record = make(patient)
    record.save()
    url = f"/api/v1/{endpoint}/"
    detail = f"{url}{record.public_id}/"
    payload = {**new, "patient": str(patient.public_id), "source_system": "ehr", "source_id": "1"}
    listed = client.get(url).json()
    created = client.post(url, payload, format="json")
    bulk = client.post(f"{url}bulk/", {"records": [payload]}, format="json")
    if name in ACTORS_OF_A:
        assert listed["count"] == 1
        assert client.get(detail).status_code == 200
        assert client.patch(detail, change, format="json").status_code == 200
        assert created.status_code == 201, created.json()
        assert bulk.status_code == 201  # the same source identifiers: updated, not doubled
        assert bulk.json()["results"] == [
            {"index": 0, "id": created.json()["id"], "created": False}
        ]
        withdrawn = client.post(f"{detail}entered-in-error/", {"reason": "test"}, format="json")
        assert withdrawn.status_code == 200
    else:
        assert listed["count"] == 0 and listed["results"] == []
        assert client.get(detail).status_code == 404
        assert client.get(url, {"patient": str(patient.public_id)}).json()["count"] == 0
        assert client.patch(detail, change, format="json").status_code == 404
        assert client.put(detail, payload, format="json").status_code == 404
        assert (
            client.post(f"{detail}entered-in-error/", {"reason": "x"}, format="json").status_code
            == 404
        )
        assert created.status_code == 400 and "patient" in created.json()
        assert bulk.status_code == 400
        assert bulk.json()["errors"][0]["index"] == 0
        assert "patient" in bulk.json()["errors"][0]["errors"]
        assert (
            not AuditEvent.objects.exclude(actor_label="system")
            .exclude(action="read")  # its reads (of nothing) are audited; it wrote nothing
            .filter(actor_label__startswith="token:")
            .exists()
        )
    assert client.delete(detail).status_code in (404, 405)


def test_patient_endpoint(actor, patient):
    name, client = actor
    detail = f"/api/v1/patients/{patient.public_id}/"
    new = {"mrn": "NEW1", "birth_date": "1990-02-03", "phenotype": "RRMS", "site": "A"}
    listed = client.get("/api/v1/patients/").json()
    created = client.post("/api/v1/patients/", new, format="json")
    if name in ACTORS_OF_A:
        assert listed["count"] == 1
        assert client.get(detail).status_code == 200
        assert client.patch(detail, {"display_name": "J. Doe"}, format="json").status_code == 200
        assert created.status_code == 201
    else:
        assert listed["count"] == 0
        assert client.get(detail).status_code == 404
        assert client.patch(detail, {"display_name": "x"}, format="json").status_code == 404
        assert created.status_code == 400 and "site" in created.json()
        assert not AuditEvent.objects.filter(patient=patient, action="read").exists()
    assert client.delete(detail).status_code in (404, 405)


def test_anonymous_callers_are_asked_to_authenticate(client, patient):
    for endpoint in ["patients", *RECORDS]:
        response = client.get(f"/api/v1/{endpoint}/")
        assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"

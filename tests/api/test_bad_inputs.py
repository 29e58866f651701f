"""Bad inputs are answered with a 4xx naming the problem, never a 500 and never rounded."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import time_machine

pytestmark = pytest.mark.django_db


def post_visit(client, patient, **fields):
    payload = {"patient": str(patient.public_id), "date": "2024-05-02", "edss": 2.0, **fields}
    return client.post("/api/v1/visits/", payload, format="json")


def test_edss_between_steps_is_refused_by_the_model_not_rounded(nurse, patient):
    response = post_visit(nurse, patient, edss=3.25)
    assert response.status_code == 400
    assert "not an EDSS step" in response.json()["edss"][0]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"edss": "three"}, "edss"),
        ({"edss": True}, "edss"),
        ({"date": "02/05/2024"}, "date"),
        ({"sdmt": 12.5}, "sdmt"),
        ({"sdmt": 200}, "sdmt"),
        ({"t25fw": -3}, "t25fw"),
        ({"scheduled": "perhaps"}, "scheduled"),
        ({"edss": 3.255}, "edss"),
    ],
)
def test_wrong_types_and_values_name_the_field(nurse, patient, fields, field):
    response = post_visit(nurse, patient, **fields)
    assert response.status_code == 400
    assert field in response.json()


@time_machine.travel(dt.datetime(2025, 1, 10, 12, tzinfo=dt.UTC), tick=False)
def test_future_dates_are_refused(nurse, patient):
    response = post_visit(nurse, patient, date="2025-01-12")
    assert response.status_code == 400 and "future" in response.json()["date"][0]
    relapse = nurse.post(
        "/api/v1/relapses/",
        {"patient": str(patient.public_id), "onset": "2026-01-01"},
        format="json",
    )
    assert relapse.status_code == 400 and "onset" in relapse.json()


def test_date_before_birth_is_refused(nurse, patient):
    response = post_visit(nurse, patient, date="1970-01-01")
    assert response.status_code == 400 and "date" in response.json()


def test_unknown_and_cross_site_patients_get_the_same_answer(nurse, patient_b):
    unknown = post_visit(nurse, type("P", (), {"public_id": uuid.uuid4()}))
    cross_site = post_visit(nurse, patient_b)
    assert unknown.status_code == cross_site.status_code == 400
    assert "no patient" in unknown.json()["patient"][0]
    assert "no patient" in cross_site.json()["patient"][0]
    malformed = nurse.post(
        "/api/v1/visits/", {"patient": "nope", "date": "2024-05-02", "edss": 2}, format="json"
    )
    assert malformed.status_code == 400 and "patient" in malformed.json()


def test_missing_fields_are_named(nurse, patient):
    response = nurse.post("/api/v1/mri-scans/", {"patient": str(patient.public_id)}, format="json")
    assert response.status_code == 400
    # Gd-enhancing is optional: empty when no contrast was given (spec §1).
    assert {"date", "new_t2"} <= set(response.json())
    assert "gd_enhancing" not in response.json()


def test_malformed_json_is_400(nurse):
    response = nurse.generic(
        "POST", "/api/v1/visits/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_ten_megabyte_body_is_refused_without_a_500(nurse, patient):
    body = json.dumps(
        {
            "patient": str(patient.public_id),
            "date": "2024-05-02",
            "edss": 2,
            "lab": "x" * 10 * 1024 * 1024,
        }
    )
    response = nurse.generic("POST", "/api/v1/visits/", body, content_type="application/json")
    assert response.status_code == 413 and "larger than" in response.json()["detail"]
    bulk = nurse.generic("POST", "/api/v1/visits/bulk/", body, content_type="application/json")
    assert bulk.status_code == 413


def test_duplicate_mrn_is_named(nurse, patient):
    response = nurse.post(
        "/api/v1/patients/",
        {"mrn": patient.mrn, "birth_date": "1990-01-01", "phenotype": "RRMS"},
        format="json",
    )
    assert response.status_code == 400 and "already used" in response.json()["mrn"][0]


def test_course_ending_before_it_starts_is_named(nurse, patient):
    response = nurse.post(
        "/api/v1/therapy-courses/",
        {
            "patient": str(patient.public_id),
            "therapy": "ocrelizumab",
            "start": "2024-03-01",
            "end": "2024-01-01",
        },
        format="json",
    )
    assert response.status_code == 400 and "end" in response.json()
    unknown = nurse.post(
        "/api/v1/therapy-courses/",
        {"patient": str(patient.public_id), "therapy": "snake-oil", "start": "2024-03-01"},
        format="json",
    )
    assert unknown.status_code == 400 and "therapy" in unknown.json()


@pytest.mark.parametrize(
    ("url", "sortable"),
    [
        ("/api/v1/visits/", "-date"),
        ("/api/v1/patients/", "-updated_at"),
        ("/api/v1/status/", "-as_of"),
    ],
)
def test_unknown_ordering_is_named_not_ignored(nurse, patient, url, sortable):
    response = nurse.get(url, {"ordering": "nonsense,-created_at"})
    assert response.status_code == 400
    assert "'nonsense'" in response.json()["ordering"][0]
    assert nurse.get(url, {"ordering": sortable}).status_code == 200


def test_an_api_address_no_route_matches_is_a_json_404(neurologist):
    response = neurologist.get("/api/v1/alerts/not-a-uuid/")
    assert response.status_code == 404
    assert response.json() == {"detail": "no such address: /api/v1/alerts/not-a-uuid/"}
    fhir = neurologist.get("/fhir/Nothing/here")
    assert fhir.status_code == 404 and fhir.json()["resourceType"] == "OperationOutcome"
    assert neurologist.get("/no-such-page/")["Content-Type"].startswith("text/html")

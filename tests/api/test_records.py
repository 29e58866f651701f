"""Reading and writing through /api/v1/: upsert by source identifiers, ETag/If-Match,
entered-in-error instead of delete, audit rows for every write and every patient read."""

from __future__ import annotations

import pytest

from monitoring.models import Visit
from patients.models import AuditEvent, Patient
from tests.factories import visit

pytestmark = pytest.mark.django_db

VISIT = {"date": "2024-05-02", "edss": 3.5, "t25fw": "6.1", "sdmt": 52}


def test_create_read_and_list_a_visit(nurse, patient):
    response = nurse.post(
        "/api/v1/visits/", {**VISIT, "patient": str(patient.public_id)}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["edss"] == 3.5 and body["patient"] == str(patient.public_id)
    assert response["ETag"]
    detail = nurse.get(f"/api/v1/visits/{body['id']}/")
    assert detail.status_code == 200 and detail["ETag"] == response["ETag"]
    listing = nurse.get("/api/v1/visits/", {"patient": str(patient.public_id)}).json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == body["id"]


def test_create_is_audited_with_the_user(nurse, nurse_a, patient):
    response = nurse.post(
        "/api/v1/visits/", {**VISIT, "patient": str(patient.public_id)}, format="json"
    )
    event = AuditEvent.objects.get(model="monitoring.visit")
    assert event.action == "create" and event.actor == nurse_a
    assert event.object_id == response.json()["id"] and event.after["edss"] == "3.50"


def test_token_writes_are_audited_under_the_token_name(integration_a, patient):
    integration_a.post(
        "/api/v1/visits/", {**VISIT, "patient": str(patient.public_id)}, format="json"
    )
    event = AuditEvent.objects.get(model="monitoring.visit")
    assert event.actor is None and event.actor_label == "token:ehr-a"


def test_reading_a_patient_is_audited(neurologist, neurologist_a, patient):
    assert neurologist.get(f"/api/v1/patients/{patient.public_id}/").status_code == 200
    event = AuditEvent.objects.get(action="read")
    assert event.patient == patient and event.actor == neurologist_a


def test_retried_post_with_source_ids_updates_instead_of_duplicating(integration_a, patient):
    payload = {
        **VISIT,
        "patient": str(patient.public_id),
        "source_system": "epic",
        "source_id": "enc-1",
    }
    first = integration_a.post("/api/v1/visits/", payload, format="json")
    again = integration_a.post("/api/v1/visits/", {**payload, "edss": 4.0}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Visit.objects.get().edss == 4
    assert [e.action for e in AuditEvent.objects.order_by("id")] == ["create", "update"]


def test_retried_patient_post_does_not_duplicate(integration_a):
    payload = {
        "mrn": "X1",
        "birth_date": "1980-01-02",
        "phenotype": "RRMS",
        "source_system": "epic",
        "source_id": "p-1",
    }
    assert integration_a.post("/api/v1/patients/", payload, format="json").status_code == 201
    assert integration_a.post("/api/v1/patients/", payload, format="json").status_code == 200
    assert Patient.objects.count() == 1


def test_update_with_stale_etag_is_412(nurse, patient):
    record = visit(patient)
    record.save()
    url = f"/api/v1/visits/{record.public_id}/"
    etag = nurse.get(url)["ETag"]
    fresh = nurse.patch(url, {"edss": 2.5}, format="json", HTTP_IF_MATCH=etag)
    assert fresh.status_code == 200 and fresh["ETag"] != etag
    stale = nurse.patch(url, {"edss": 3.0}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    record.refresh_from_db()
    assert record.edss == 2.5


def test_delete_is_not_allowed_entered_in_error_is(nurse, nurse_a, patient):
    record = visit(patient)
    record.save()
    url = f"/api/v1/visits/{record.public_id}/"
    assert nurse.delete(url).status_code == 405
    assert nurse.post(f"{url}entered-in-error/", {}, format="json").status_code == 400
    response = nurse.post(f"{url}entered-in-error/", {"reason": "wrong patient"}, format="json")
    assert response.status_code == 200
    assert nurse.get(url).status_code == 404
    record.refresh_from_db()
    assert record.entered_in_error_by == nurse_a
    assert AuditEvent.objects.filter(action="entered_in_error").count() == 1


def test_post_with_source_id_of_a_withdrawn_record_is_409(nurse, patient):
    record = visit(patient, source_system="epic", source_id="enc-9")
    record.save()
    nurse.post(
        f"/api/v1/visits/{record.public_id}/entered-in-error/", {"reason": "dup"}, format="json"
    )
    payload = {
        **VISIT,
        "patient": str(patient.public_id),
        "source_system": "epic",
        "source_id": "enc-9",
    }
    assert nurse.post("/api/v1/visits/", payload, format="json").status_code == 409


def test_filters_ordering_and_pagination(nurse, patient):
    for day in ("2024-01-05", "2024-03-05", "2024-02-05"):
        nurse.post(
            "/api/v1/visits/",
            {**VISIT, "date": day, "patient": str(patient.public_id)},
            format="json",
        )
    body = nurse.get("/api/v1/visits/", {"date_from": "2024-02-01", "ordering": "-date"}).json()
    assert [r["date"] for r in body["results"]] == ["2024-03-05", "2024-02-05"]
    assert nurse.get("/api/v1/visits/").json()["count"] == 3
    assert nurse.get("/api/v1/visits/", {"page": 2}).status_code == 404  # 50 a page

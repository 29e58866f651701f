"""FHIR conformance: the CapabilityStatement lists what the server does, and the searches
it lists answer valid searchset Bundles of the caller's sites only, audited as reads."""

from __future__ import annotations

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from api.models import IntegrationToken
from patients.models import AuditEvent
from tests.api.conftest import signed_in, with_token
from tests.factories import make_patient, mri_scan, nfl_sample, visit

pytestmark = pytest.mark.django_db
M = "https://mstrack.example/fhir/CodeSystem/ms-measures"


def valid_bundle(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    Bundle.model_validate(body)
    for entry in body.get("entry", []):
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    assert body["type"] == "searchset" and body["total"] == len(body.get("entry", []))
    return body


@pytest.fixture
def records(site_a):
    patient = make_patient(site_a, mrn="F-100")
    for day, edss in (("2023-01-10", "2.0"), ("2023-07-10", "3.5"), ("2024-02-01", "3.0")):
        visit(patient, date=day, edss=edss, sdmt=50).save()
    mri_scan(patient, date="2023-03-01").save()
    nfl_sample(patient, date="2023-03-02").save()
    return patient


def test_metadata_lists_what_is_supported_and_is_open(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    body = response.json()
    CapabilityStatement.model_validate(body)
    rest = body["rest"][0]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert {p["name"] for p in by_type["Patient"]["searchParam"]} == {"identifier"}
    assert {p["name"] for p in by_type["Observation"]["searchParam"]} == {
        "patient",
        "code",
        "date",
    }
    assert {o["name"] for o in by_type["Patient"]["operation"]} == {"everything", "export"}
    assert [o["name"] for o in rest["operation"]] == ["export"]
    assert [o["name"] for o in by_type["Group"]["operation"]] == ["export"]
    assert [i["code"] for i in rest["interaction"]] == ["transaction"]
    # Only what is searchable says so.
    assert {t for t, r in by_type.items() if r.get("interaction")} == {"Patient", "Observation"}


def test_patient_search_by_mrn_sees_only_your_sites_and_audits(records, nurse_a, user_b):
    nurse = signed_in(nurse_a)
    body = valid_bundle(nurse.get("/fhir/Patient", {"identifier": "F-100"}))
    assert [e["resource"]["id"] for e in body["entry"]] == [str(records.public_id)]
    assert body["entry"][0]["search"]["mode"] == "match"
    system = f"https://mstrack.example/fhir/sid/mrn/{records.site.code}"
    assert valid_bundle(nurse.get("/fhir/Patient", {"identifier": f"{system}|F-100"}))["total"] == 1
    other = "https://mstrack.example/fhir/sid/mrn/ELSEWHERE|F-100"
    assert valid_bundle(nurse.get("/fhir/Patient", {"identifier": other}))["total"] == 0
    assert valid_bundle(nurse.get("/fhir/Patient", {"identifier": "|F-100"}))["total"] == 0
    assert AuditEvent.objects.filter(action="read", patient=records).count() == 2

    assert (
        valid_bundle(signed_in(user_b).get("/fhir/Patient", {"identifier": "F-100"}))["total"] == 0
    )


def test_observation_search_by_code_and_date(records, site_a):
    token = with_token(IntegrationToken.issue(site=site_a, name="ehr", days=1)[1])

    def search(**query) -> list[tuple[str, str]]:
        body = valid_bundle(token.get("/fhir/Observation", {"patient": records.public_id, **query}))
        return [
            (e["resource"]["code"]["coding"][0]["code"], e["resource"]["effectiveDateTime"])
            for e in body["entry"]
        ]

    everything = search()
    assert len(everything) == 3 * 2 + 2  # EDSS and SDMT per visit, an MRI, an NfL
    assert search(code="edss") == [
        ("edss", "2023-01-10"),
        ("edss", "2023-07-10"),
        ("edss", "2024-02-01"),
    ]
    assert search(code=f"{M}|edss", date="2023") == [("edss", "2023-01-10"), ("edss", "2023-07-10")]
    assert search(code="edss,sdmt", date=["ge2023-02", "lt2024"]) == [
        ("edss", "2023-07-10"),
        ("sdmt", "2023-07-10"),
    ]
    assert search(code="http://loinc.org|edss") == []
    assert search(code="mri-activity", date="le2023-03-01") == [("mri-activity", "2023-03-01")]
    assert search(date="gt2023-12-31") == [("edss", "2024-02-01"), ("sdmt", "2024-02-01")]
    prefixed = token.get("/fhir/Observation", {"patient": f"Patient/{records.public_id}"})
    assert valid_bundle(prefixed)["total"] == len(everything)
    assert AuditEvent.objects.filter(action="read", patient=records).count() == 8


@pytest.mark.parametrize(
    "query, message",
    [
        ({}, "say which patient"),
        ({"patient": "nope"}, "patient 'nope' is not a patient id"),
        (
            {"patient": "Patient/x", "subject": "y"},
            "unsupported search parameter(s) subject; this server searches by code, date, patient",
        ),
        (
            {"patient": "0b8f8a34-5c1e-4f1c-9a57-000000000001", "date": "2023-02-30"},
            "date '2023-02-30' is not a calendar date",
        ),
        (
            {"patient": "0b8f8a34-5c1e-4f1c-9a57-000000000001", "date": "sa2023"},
            "date 'sa2023': a prefix",
        ),
    ],
)
def test_bad_searches_are_refused_with_an_operation_outcome(nurse_a, query, message):
    response = signed_in(nurse_a).get("/fhir/Observation", query)
    assert response.status_code == 400
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "invalid"
    assert body["issue"][0]["diagnostics"].startswith(message)


def test_another_sites_patient_gives_an_empty_bundle_and_no_audit(records, user_b):
    body = valid_bundle(signed_in(user_b).get("/fhir/Observation", {"patient": records.public_id}))
    assert body["total"] == 0
    assert not AuditEvent.objects.filter(action="read", patient=records).exists()


def test_searches_need_a_caller(client, records):
    response = client.get("/fhir/Patient", {"identifier": "F-100"})
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"

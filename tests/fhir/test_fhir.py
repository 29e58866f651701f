"""FHIR R4: a transaction Bundle in (same validation and audit as the API, all or nothing,
idempotent), `$everything` out (validated with fhir.resources R4B), site scope, and an
OperationOutcome naming the problem for each malformed bundle."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from alerts.models import Alert
from api.models import IntegrationToken
from monitoring.models import MriScan, NflSample, Relapse, Visit
from patients.models import AuditEvent, Patient, TherapyCourse
from tests.api.conftest import signed_in, with_token
from tests.factories import make_patient

pytestmark = pytest.mark.django_db

M = "https://mstrack.example/fhir/CodeSystem/ms-measures"
PATIENT = "urn:uuid:0b8f8a34-5c1e-4f1c-9a57-000000000001"


def coded(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}


def measure(n: int, code: str, day: str, value, unit: str = "{score}") -> dict:
    return {
        "fullUrl": f"urn:uuid:0b8f8a34-5c1e-4f1c-9a57-0000000001{n:02d}",
        "resource": {
            "resourceType": "Observation",
            "id": f"obs-{n}",
            "identifier": [{"value": f"obs-{n}"}],
            "status": "final",
            "code": coded(M, code),
            "subject": {"reference": PATIENT},
            "effectiveDateTime": day,
            "valueQuantity": {"value": value, "unit": unit},
        },
        "request": {"method": "POST", "url": "Observation"},
    }


def full_bundle() -> dict:
    entry = lambda resource, n: {  # noqa: E731
        "fullUrl": f"urn:uuid:0b8f8a34-5c1e-4f1c-9a57-0000000002{n:02d}",
        "resource": {**resource, "identifier": [{"value": resource["id"]}]},
        "request": {"method": "POST", "url": resource["resourceType"]},
    }
    subject = {"reference": PATIENT}
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "meta": {"source": "ehr-a"},
        "entry": [
            {
                "fullUrl": PATIENT,
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "identifier": [
                        {
                            "type": coded("http://terminology.hl7.org/CodeSystem/v2-0203", "MR"),
                            "system": "urn:hospital:mrn",
                            "value": "F-100",
                        }
                    ],
                    "name": [{"given": ["Ada"], "family": "Byron"}],
                    "gender": "female",
                    "birthDate": "1984-05-06",
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            entry(
                {
                    "resourceType": "Condition",
                    "id": "dx1",
                    "code": coded("http://snomed.info/sct", "426373005"),
                    "subject": subject,
                    "onsetDateTime": "2015-03-01",
                    "recordedDate": "2016-02-01",
                },
                1,
            ),
            measure(1, "edss", "2023-01-10", 2.0),
            measure(2, "t25fw", "2023-01-10", 5.4, "s"),
            measure(3, "nhpt", "2023-01-10", 21.3, "s"),
            measure(4, "sdmt", "2023-01-10", 55),
            measure(5, "edss", "2023-07-10", 3.5),
            entry(
                {
                    "resourceType": "Observation",
                    "id": "mri1",
                    "status": "final",
                    "code": coded(M, "mri-activity"),
                    "subject": subject,
                    "effectiveDateTime": "2023-03-01",
                    "component": [
                        {"code": coded(M, "new-t2"), "valueQuantity": {"value": 2}},
                        {"code": coded(M, "gd-enhancing"), "valueQuantity": {"value": 1}},
                        {"code": coded(M, "pbvc"), "valueQuantity": {"value": -0.35}},
                    ],
                },
                2,
            ),
            entry(
                {
                    "resourceType": "Observation",
                    "id": "nfl1",
                    "status": "final",
                    "code": coded("http://loinc.org", "101281-4"),
                    "subject": subject,
                    "effectiveDateTime": "2023-03-02",
                    "valueQuantity": {"value": 12.5, "unit": "pg/mL"},
                    "specimen": {"display": "serum"},
                    "method": coded("https://mstrack.example/fhir/CodeSystem/nfl-assays", "simoa"),
                },
                3,
            ),
            entry(
                {
                    "resourceType": "Condition",
                    "id": "rel1",
                    "code": coded(
                        "https://mstrack.example/fhir/CodeSystem/ms-conditions", "relapse"
                    ),
                    "severity": coded("http://snomed.info/sct", "6736007"),
                    "subject": subject,
                    "onsetDateTime": "2023-05-02",
                },
                4,
            ),
            entry(
                {
                    "resourceType": "MedicationStatement",
                    "id": "med1",
                    "status": "active",
                    "medicationCodeableConcept": coded(
                        "https://mstrack.example/fhir/CodeSystem/ms-therapies", "ocrelizumab"
                    ),
                    "subject": subject,
                    "effectivePeriod": {"start": "2023-02-01"},
                },
                5,
            ),
        ],
    }


def post(client, body) -> tuple[int, dict]:
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post("/fhir/", data, content_type="application/fhir+json")
    return response.status_code, response.json()


def counts() -> tuple[int, ...]:
    return tuple(
        m.all_records.count() if hasattr(m, "all_records") else m.objects.count()
        for m in (Patient, Visit, MriScan, NflSample, Relapse, TherapyCourse)
    )


@pytest.fixture
def nurse(nurse_a):
    return signed_in(nurse_a)


@pytest.fixture
def neurologist(neurologist_a):
    return signed_in(neurologist_a)


@pytest.fixture
def token_a(site_a):
    return with_token(IntegrationToken.issue(site=site_a, name="ehr-a", days=30)[1])


@pytest.fixture
def token_b(site_b):
    return with_token(IntegrationToken.issue(site=site_b, name="ehr-b", days=30)[1])


def test_transaction_creates_audited_records_and_a_retry_creates_nothing(token_a, site_a):
    status, body = post(token_a, full_bundle())
    assert status == 200, body
    Bundle.model_validate(body)
    assert body["type"] == "transaction-response"
    assert len(body["entry"]) == len(full_bundle()["entry"])
    assert {e["response"]["status"] for e in body["entry"]} == {"201 Created"}
    assert counts() == (1, 2, 1, 1, 1, 1)
    patient = Patient.objects.get(site=site_a, mrn="F-100")
    assert (patient.phenotype, patient.display_name) == ("RRMS", "Ada Byron")
    assert (patient.symptom_onset, patient.diagnosis_date) == (
        dt.date(2015, 3, 1),
        dt.date(2016, 2, 1),
    )
    first = Visit.objects.get(patient=patient, date=dt.date(2023, 1, 10))
    assert (float(first.edss), float(first.t25fw), float(first.nhpt), first.sdmt) == (
        2.0,
        5.4,
        21.3,
        55,
    )
    assert (first.source_system, first.source_id) == ("ehr-a", "obs-1")
    creates = AuditEvent.objects.filter(action="create", actor_label="token:ehr-a")
    assert creates.count() == 7
    assert body["entry"][0]["response"]["location"] == f"Patient/{patient.public_id}"

    audited = AuditEvent.objects.count()
    status, again = post(token_a, full_bundle())
    assert status == 200
    assert {e["response"]["status"] for e in again["entry"]} == {"200 OK"}
    assert [e["response"]["location"] for e in again["entry"]] == [
        e["response"]["location"] for e in body["entry"]
    ]
    assert counts() == (1, 2, 1, 1, 1, 1)
    assert AuditEvent.objects.count() == audited  # nothing changed, nothing written


def test_round_trip_through_everything(nurse, site_a):
    assert post(nurse, full_bundle())[0] == 200
    patient = Patient.objects.get(mrn="F-100")
    Alert.objects.create(
        patient=patient,
        rule="confirmed_pira",
        severity="high",
        evidence_key="k",
        evidence={},
        explanation="x",
        raised_at=timezone.now(),
    )
    response = nurse.get(f"/fhir/Patient/{patient.public_id}/$everything")
    assert response.status_code == 200
    body = response.json()
    bundle = Bundle.model_validate(body)
    for entry in body["entry"]:
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    assert bundle.type == "searchset"
    by_type: dict[str, list[dict]] = {}
    for entry in body["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    assert by_type["Patient"][0]["identifier"][0]["value"] == "F-100"
    values = {
        (o["code"]["coding"][0]["code"], o["effectiveDateTime"]): o.get("valueQuantity", {}).get(
            "value"
        )
        for o in by_type["Observation"]
    }
    assert values[("edss", "2023-01-10")] == 2
    assert values[("edss", "2023-07-10")] == 3.5
    assert values[("t25fw", "2023-01-10")] == 5.4
    assert values[("sdmt", "2023-01-10")] == 55
    assert values[("101281-4", "2023-03-02")] == 12.5
    mri = next(
        o for o in by_type["Observation"] if o["code"]["coding"][0]["code"] == "mri-activity"
    )
    assert {
        x["code"]["coding"][0]["code"]: x["valueQuantity"]["value"] for x in mri["component"]
    } == {"new-t2": 2, "gd-enhancing": 1, "pbvc": -0.35}
    conditions = {c["code"]["coding"][0]["code"]: c for c in by_type["Condition"]}
    assert conditions["relapse"]["onsetDateTime"] == "2023-05-02"
    assert conditions["426373005"]["onsetDateTime"] == "2015-03-01"
    assert by_type["MedicationStatement"][0]["effectivePeriod"] == {"start": "2023-02-01"}
    assert [(f["status"], f["code"]["coding"][0]["code"]) for f in by_type["Flag"]] == [
        ("active", "confirmed_pira")
    ]
    assert AuditEvent.objects.filter(action="read", patient=patient).count() == 1


def test_exported_bundle_posts_back_unchanged(nurse, site_a):
    """What $everything gives, sent back as a transaction, changes nothing."""
    post(nurse, full_bundle())
    patient = Patient.objects.get(mrn="F-100")
    body = nurse.get(f"/fhir/Patient/{patient.public_id}/$everything").json()
    entries = [
        {
            "fullUrl": e["fullUrl"],
            "resource": e["resource"],
            "request": {"method": "PUT", "url": f"{e['resource']['resourceType']}"},
        }
        for e in body["entry"]
        if e["resource"]["resourceType"] != "Flag"
    ]
    before = counts()
    status, answer = post(
        nurse, {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    )
    assert status == 200, answer
    assert {e["response"]["status"] for e in answer["entry"]} == {"200 OK"}
    assert counts() == before


def bad(bundle_change) -> dict:
    bundle = full_bundle()
    bundle_change(bundle)
    return bundle


def set_value(index: int, value):
    def change(bundle):
        bundle["entry"][index]["resource"]["valueQuantity"]["value"] = value

    return change


MALFORMED = {
    "not json": ("{not json", None, "JSON"),
    "not a bundle": ({"resourceType": "Patient"}, None, "Bundle"),
    "not a transaction": (bad(lambda b: b.update(type="collection")), None, "transaction"),
    "fails R4B parsing": (
        bad(lambda b: b["entry"][0]["resource"].update(birthDate="6 May 1984")),
        0,
        "birthDate",
    ),
    "unknown element": (bad(lambda b: b["entry"][2]["resource"].update(edss=3)), 2, "edss"),
    "edss 3.25": (bad(set_value(2, 3.25)), 2, "EDSS"),
    "future date": (
        bad(
            lambda b: b["entry"][6]["resource"].update(
                effectiveDateTime=(timezone.localdate() + dt.timedelta(days=3)).isoformat()
            )
        ),
        6,
        "future",
    ),
    "unresolvable reference": (
        bad(lambda b: b["entry"][8]["resource"].update(subject={"reference": "urn:uuid:nope"})),
        8,
        "urn:uuid:nope",
    ),
    "unsupported resource": (
        bad(lambda b: b["entry"].append({"resource": {"resourceType": "Practitioner"}})),
        11,
        "Practitioner",
    ),
    "unknown therapy": (
        bad(
            lambda b: b["entry"][10]["resource"]["medicationCodeableConcept"]["coding"][0].update(
                code="aspirin"
            )
        ),
        10,
        "aspirin",
    ),
    "no MRN": (bad(lambda b: b["entry"][0]["resource"].pop("identifier")), 0, "MRN"),
    "SDMT not whole": (bad(set_value(5, 40.5)), 5, "whole number"),
    "a record without identifier": (
        bad(lambda b: b["entry"][9]["resource"].pop("identifier")),
        9,
        "needs an identifier",
    ),
    "an unsupported condition": (
        bad(lambda b: b["entry"][9]["request"].update(ifNoneExist="date=2023-05-02")),
        None,
        "only identifier=system|value",
    ),
    "partial date": (
        bad(lambda b: b["entry"][7]["resource"].update(effectiveDateTime="2023")),
        7,
        "not a full date",
    ),
    "partial birth date": (
        bad(lambda b: b["entry"][0]["resource"].update(birthDate="1984-05")),
        0,
        "not a full date",
    ),
    "two EDSS on one day": (
        bad(lambda b: b["entry"].append(measure(9, "edss", "2023-01-10", 2.5))),
        11,
        "a second edss",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_bundles_are_refused_with_an_operation_outcome(nurse, case):
    body, index, words = MALFORMED[case]
    status, answer = post(nurse, copy.deepcopy(body))
    assert status == 400, answer
    OperationOutcome.model_validate(answer)
    text = json.dumps(answer["issue"])
    assert words in text, text
    if index is not None:
        assert f"entry[{index}]" in text or f"entry {index}" in text
    assert counts() == (0, 0, 0, 0, 0, 0)
    assert not AuditEvent.objects.exists()


def test_other_site_is_404_and_cannot_be_written_into(token_b, nurse, site_a):
    post(nurse, full_bundle())
    patient = Patient.objects.get(mrn="F-100")
    response = token_b.get(f"/fhir/Patient/{patient.public_id}/$everything")
    assert response.status_code == 404
    OperationOutcome.model_validate(response.json())
    assert token_b.get("/fhir/Patient/not-a-uuid/$everything").status_code == 404
    # Site B's token names site A's patient: unknown to it.
    bundle = full_bundle()
    del bundle["entry"][0:2]
    for entry in bundle["entry"]:
        entry["resource"]["subject"] = {"reference": f"Patient/{patient.public_id}"}
    before = counts()
    status, answer = post(token_b, bundle)
    assert status == 400 and "resolves to no patient" in json.dumps(answer)
    # Naming site A as the managing organisation is refused too.
    bundle = full_bundle()
    bundle["entry"][0]["resource"]["managingOrganization"] = {"identifier": {"value": "A"}}
    status, answer = post(token_b, bundle)
    assert status == 400 and "no site 'A'" in json.dumps(answer)
    assert counts() == before
    assert not AuditEvent.objects.filter(actor_label="token:ehr-b").exists()


def test_records_for_an_existing_patient_by_reference(token_a, site_a):
    patient = make_patient(site_a)
    bundle = full_bundle()
    del bundle["entry"][0]
    bundle["entry"][0]["resource"]["code"] = coded("http://snomed.info/sct", "425500002")
    for entry in bundle["entry"]:
        entry["resource"]["subject"] = {"reference": f"Patient/{patient.public_id}"}
    with CaptureQueriesContext(connection) as queries:
        status, body = post(token_a, bundle)
    # The patient all entries name is looked up once, not once per entry (the other query
    # by its UUID is the model's uniqueness check when its diagnosis is saved).
    lookups = [
        q["sql"]
        for q in queries
        if 'FROM "patients_patient"' in q["sql"]
        and str(patient.public_id).replace("-", "") in q["sql"].replace("-", "")
        and "NOT (" not in q["sql"]
    ]
    assert len(lookups) == 1, lookups
    assert status == 200, body
    assert patient.visits.count() == 2 and patient.relapses.count() == 1
    patient.refresh_from_db()
    assert (patient.phenotype, patient.diagnosis_date) == ("SPMS", dt.date(2016, 2, 1))


def test_anonymous_is_refused_with_an_operation_outcome(client):
    response = client.post("/fhir/", "{}", content_type="application/fhir+json")
    assert response.status_code == 401
    OperationOutcome.model_validate(response.json())


def small_bundle(mrn: str, day: str, edss: float, identifier: str | None) -> dict:
    """A new patient `Patient/p1` and one EDSS `Observation/edss`: the ids every EHR reuses."""
    observation = {
        "resourceType": "Observation",
        "id": "edss",
        "status": "final",
        "code": coded(M, "edss"),
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": day,
        "valueQuantity": {"value": edss, "unit": "{score}"},
    }
    if identifier:
        observation["identifier"] = [{"system": "urn:ehr-a:obs", "value": identifier}]
    patient = copy.deepcopy(full_bundle()["entry"][0]["resource"])
    patient["identifier"][0]["value"] = mrn
    diagnosis = {
        "resourceType": "Condition",
        "id": "dx",
        "code": coded("http://snomed.info/sct", "426373005"),
        "subject": {"reference": "Patient/p1"},
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
            for r in (patient, diagnosis, observation)
        ],
    }


def test_a_resource_id_names_the_resource_within_its_bundle_only(token_a, site_a):
    first = post(token_a, small_bundle("F-1", "2023-01-10", 2.0, "visit-1"))
    again = post(token_a, small_bundle("F-1", "2023-07-10", 3.5, "visit-2"))
    assert first[0] == again[0] == 200, (first, again)
    patient = Patient.objects.get(site=site_a, mrn="F-1")
    assert [(v.date.isoformat(), float(v.edss)) for v in patient.visits.order_by("date")] == [
        ("2023-01-10", 2.0),
        ("2023-07-10", 3.5),
    ]
    # Another new patient, again `Patient/p1` in its bundle: created, not refused.
    status, body = post(token_a, small_bundle("F-2", "2023-01-10", 1.5, "visit-3"))
    assert status == 200, body
    assert body["entry"][0]["response"]["status"] == "201 Created"
    assert Patient.objects.filter(site=site_a).count() == 2
    # The same bundle again, identifiers and all: nothing new, nothing changed.
    audited = AuditEvent.objects.count()
    status, body = post(token_a, small_bundle("F-2", "2023-01-10", 1.5, "visit-3"))
    assert status == 200 and {e["response"]["status"] for e in body["entry"]} == {"200 OK"}
    assert Visit.objects.count() == 3 and AuditEvent.objects.count() == audited


def test_a_record_without_identifier_is_refused_rather_than_entered_twice(token_a):
    status, body = post(token_a, small_bundle("F-1", "2023-01-10", 2.0, None))
    assert status == 400 and "needs an identifier" in json.dumps(body)
    assert counts() == (0, 0, 0, 0, 0, 0)


def test_conditional_create_leaves_an_existing_record_as_it_is(token_a, site_a):
    bundle = small_bundle("F-1", "2023-01-10", 2.0, None)
    bundle["entry"][2]["request"]["ifNoneExist"] = "identifier=urn:ehr-a:obs|visit-1"
    assert post(token_a, bundle)[0] == 200
    visit = Visit.objects.get()
    assert (visit.source_system, visit.source_id) == ("urn:ehr-a:obs", "visit-1")
    bundle["entry"][2]["resource"]["valueQuantity"]["value"] = 6.5
    status, body = post(token_a, bundle)
    assert status == 200 and body["entry"][2]["response"]["status"] == "200 OK"
    visit.refresh_from_db()
    assert float(visit.edss) == 2.0 and Visit.objects.count() == 1


def test_a_bundle_evaluates_each_patient_it_touches_once(
    token_a, django_capture_on_commit_callbacks
):
    from patients.signals import patients_data_changed

    received: list[int] = []

    def listener(sender, patient_ids, **kwargs):
        received.extend(patient_ids)

    patients_data_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert post(token_a, full_bundle())[0] == 200
    finally:
        patients_data_changed.disconnect(listener)
    assert received == [Patient.objects.get().pk]

"""Lab results, adverse events, pregnancies and comorbidities in through a FHIR transaction:
mapped to the records, converted by the model, matched by identifier as every record is,
refused with an OperationOutcome naming the entry and element; and what `$everything` gives
out comes back in, at another site, as the same records."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from api.models import IntegrationToken
from monitoring.models import AdverseEvent, Comorbidity, LabResult, NflSample, Pregnancy
from patients.actions import Actor, save_record
from patients.models import AuditEvent, Patient, Therapy
from tests.api.conftest import signed_in, with_token
from tests.factories import lab_result

pytestmark = pytest.mark.django_db

PATIENT = "urn:uuid:5d7c0c2e-8f0e-4c1e-9a57-000000000001"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
LOCAL = "https://mstrack.example/fhir/CodeSystem/safety-analyte"
LAB = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory",
        }
    ]
}
EXTENSIONS = "https://mstrack.example/fhir/StructureDefinition"
SNOMED = "http://snomed.info/sct"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
PROBLEM_LIST = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
            "code": "problem-list-item",
        }
    ]
}


def coded(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}


def entry(n: int, resource: dict) -> dict:
    return {
        "fullUrl": f"urn:uuid:5d7c0c2e-8f0e-4c1e-9a57-0000000001{n:02d}",
        "resource": {
            "id": f"r{n}",
            "identifier": [{"system": "urn:lab-system", "value": f"r{n}"}],
            "subject": {"reference": PATIENT},
            **resource,
        },
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


def lab(n: int, code: dict, day: str = "2025-01-05", **elements: Any) -> dict:
    return entry(
        n,
        {
            "resourceType": "Observation",
            "status": "final",
            "category": [LAB],
            "code": code,
            "effectiveDateTime": day,
            **elements,
        },
    )


def quantity(value: Any, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def safety_bundle() -> dict:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": PATIENT,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [
                        {
                            "type": coded("http://terminology.hl7.org/CodeSystem/v2-0203", "MR"),
                            "value": "S-100",
                        }
                    ],
                    "gender": "female",
                    "birthDate": "1988-04-02",
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "code": coded("http://snomed.info/sct", "426373005"),
                    "subject": {"reference": PATIENT},
                },
                "request": {"method": "POST", "url": "Condition"},
            },
            # 2: a lymphocyte count in 10^9/L, kept in cells/mm³, with the lab's range.
            lab(
                2,
                coded(LOINC, "731-0"),
                valueQuantity=quantity(0.65, "10*9/L"),
                referenceRange=[{"low": quantity(1.0, "10*9/L"), "high": quantity(4.0, "10*9/L")}],
                performer=[{"display": "City lab"}],
            ),
            # 3: the anti-JCV index (local code) with its serostatus as the interpretation.
            lab(
                3,
                coded(LOCAL, "jcv-index"),
                day="2025-01-06",
                valueQuantity={"value": 1.8, "unit": "index"},
                interpretation=[
                    coded(
                        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                        "POS",
                    )
                ],
            ),
            # 4: a urinalysis read from a SNOMED CT qualifier.
            lab(
                4,
                coded(LOINC, "5794-3"),
                day="2025-01-07",
                valueCodeableConcept=coded("http://snomed.info/sct", "260385009"),
            ),
            # 5: NfL, category laboratory or not, is an NfL sample.
            lab(
                5,
                coded(LOINC, "101281-4"),
                valueQuantity={"value": 12.5, "unit": "pg/mL"},
                specimen={"display": "serum"},
                method=coded("https://mstrack.example/fhir/CodeSystem/nfl-assays", "simoa"),
            ),
            entry(
                6,
                {
                    "resourceType": "AdverseEvent",
                    "identifier": {"system": "urn:lab-system", "value": "r6"},
                    "actuality": "actual",
                    "date": "2025-02-01",
                    "event": {"text": "Infusion reaction"},
                    "seriousness": coded(
                        "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
                        "serious",
                    ),
                    "outcome": coded(
                        "http://terminology.hl7.org/CodeSystem/adverse-event-outcome", "resolved"
                    ),
                    "suspectEntity": [
                        {
                            "instance": {
                                "identifier": {
                                    "system": "https://mstrack.example/fhir/CodeSystem/"
                                    "ms-therapies",
                                    "value": "natalizumab",
                                }
                            }
                        }
                    ],
                },
            ),
            entry(
                7,
                {
                    "resourceType": "Condition",
                    "extension": [
                        {"url": f"{EXTENSIONS}/pregnancy-due-date", "valueDate": "2024-12-06"},
                        {"url": f"{EXTENSIONS}/pregnancy-outcome", "valueCode": "live_birth"},
                        {"url": f"{EXTENSIONS}/pregnancy-therapy-action", "valueCode": "paused"},
                    ],
                    "code": coded("http://snomed.info/sct", "77386006"),
                    "onsetDateTime": "2024-03-01",
                    "abatementDateTime": "2024-12-01",
                },
            ),
            # 8: a comorbidity from the problem list, SNOMED CT coded, with a note.
            entry(
                8,
                {
                    "resourceType": "Condition",
                    "clinicalStatus": coded(CLINICAL_STATUS, "active"),
                    "category": [PROBLEM_LIST],
                    "code": {
                        "coding": [
                            {"system": SNOMED, "code": "44054006", "display": "Diabetes type 2"}
                        ],
                        "text": "Type 2 diabetes",
                    },
                    "onsetDateTime": "2019-06-01",
                    "note": [{"text": "on metformin"}],
                },
            ),
        ],
    }


def post(client, body) -> tuple[int, dict]:
    response = client.post("/fhir/", json.dumps(body), content_type="application/fhir+json")
    return response.status_code, response.json()


def counts() -> tuple[int, ...]:
    return tuple(
        m._base_manager.count()
        for m in (Patient, LabResult, NflSample, AdverseEvent, Pregnancy, Comorbidity)
    )


@pytest.fixture
def token_a(site_a):
    return with_token(IntegrationToken.issue(site=site_a, name="lab-a", days=30)[1])


@pytest.fixture
def token_b(site_b):
    return with_token(IntegrationToken.issue(site=site_b, name="lab-b", days=30)[1])


def test_labs_adverse_events_pregnancies_and_comorbidities_come_in_and_a_retry_writes_nothing(
    token_a,
):
    status, body = post(token_a, safety_bundle())
    assert status == 200, body
    Bundle.model_validate(body)
    assert {e["response"]["status"] for e in body["entry"]} == {"201 Created"}
    assert counts() == (1, 3, 1, 1, 1, 1)
    patient = Patient.objects.get(mrn="S-100")
    lymphocytes, jcv, urine = patient.lab_results.order_by("date")
    assert (lymphocytes.analyte.code, lymphocytes.value, lymphocytes.unit) == (
        "lymphocytes",
        Decimal("650"),
        "/mm3",
    )
    assert (lymphocytes.lower_limit, lymphocytes.upper_limit) == (Decimal(1000), Decimal(4000))
    assert (lymphocytes.reported_as, lymphocytes.lab) == ("0.65 10*9/L", "City lab")
    assert (lymphocytes.source_system, lymphocytes.source_id) == ("urn:lab-system", "r2")
    assert (jcv.analyte.code, jcv.value, jcv.text) == ("jcv-index", Decimal("1.8"), "positive")
    assert (urine.analyte.code, urine.value, urine.text) == ("urine-blood", None, "negative")
    assert patient.nfl_samples.get().value == Decimal("12.5")
    event = patient.adverse_events.get()
    assert (event.date, event.term, event.serious, event.outcome) == (
        dt.date(2025, 2, 1),
        "Infusion reaction",
        True,
        "resolved",
    )
    assert event.suspected_therapy == Therapy.objects.get(code="natalizumab")
    pregnancy = patient.pregnancies.get()
    assert (pregnancy.start, pregnancy.due_date, pregnancy.end) == (
        dt.date(2024, 3, 1),
        dt.date(2024, 12, 6),
        dt.date(2024, 12, 1),
    )
    assert (pregnancy.outcome, pregnancy.therapy_action) == ("live_birth", "paused")
    assert body["entry"][6]["response"]["location"] == f"AdverseEvent/{event.public_id}"
    assert body["entry"][7]["response"]["location"] == f"Condition/{pregnancy.public_id}"
    comorbidity = patient.comorbidities.get()
    assert (comorbidity.condition, comorbidity.code, comorbidity.onset) == (
        "Type 2 diabetes",
        "44054006",
        dt.date(2019, 6, 1),
    )
    assert (comorbidity.resolved, comorbidity.notes) == (None, "on metformin")
    assert (comorbidity.source_system, comorbidity.source_id) == ("urn:lab-system", "r8")
    assert body["entry"][8]["response"]["location"] == f"Condition/{comorbidity.public_id}"
    # The diagnosis is the patient's phenotype, not a comorbidity.
    assert patient.phenotype == "RRMS"
    assert body["entry"][1]["response"]["location"] == f"Condition/{patient.public_id}-diagnosis"
    assert AuditEvent.objects.filter(action="create", actor_label="token:lab-a").count() == 8

    # Sent again, in 10^9/L again: converted, it is what is stored, so nothing is written.
    audited = AuditEvent.objects.count()
    status, again = post(token_a, safety_bundle())
    assert status == 200, again
    assert {e["response"]["status"] for e in again["entry"]} == {"200 OK"}
    assert counts() == (1, 3, 1, 1, 1, 1)
    assert AuditEvent.objects.count() == audited

    # A changed value updates the record it named, converted as before.
    changed = safety_bundle()
    changed["entry"][2]["resource"]["valueQuantity"]["value"] = 0.45
    assert post(token_a, changed)[0] == 200
    lymphocytes.refresh_from_db()
    assert (lymphocytes.value, lymphocytes.reported_as) == (Decimal(450), "0.45 10*9/L")
    update = AuditEvent.objects.get(action="update")
    assert (update.before["value"], update.after["value"]) == ("650.0000", "450.0000")


def test_method_less_lymphocyte_code_and_conditional_create(token_a):
    bundle = safety_bundle()
    bundle["entry"][2]["resource"]["code"] = coded(LOINC, "26474-7")
    del bundle["entry"][2]["resource"]["identifier"]
    bundle["entry"][2]["request"]["ifNoneExist"] = "identifier=urn:lab-system|lymph-1"
    assert post(token_a, bundle)[0] == 200
    stored = LabResult.objects.get(analyte__code="lymphocytes")
    assert (stored.source_system, stored.source_id) == ("urn:lab-system", "lymph-1")
    # Conditional create: an existing record is left as it is.
    bundle["entry"][2]["resource"]["valueQuantity"]["value"] = 2.5
    status, body = post(token_a, bundle)
    assert status == 200 and body["entry"][2]["response"]["status"] == "200 OK"
    stored.refresh_from_db()
    assert stored.value == Decimal(650)


def future() -> str:
    return (timezone.localdate() + dt.timedelta(days=3)).isoformat()


def change(index: int, path: str, value: Any):
    """Set (or with value None, remove) one element of one entry's resource."""

    def apply(bundle: dict) -> None:
        *parents, last = path.split(".")
        node = bundle["entry"][index]["resource"]
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value

    return apply


def both(*changes):
    def apply(bundle: dict) -> None:
        for one in changes:
            one(bundle)

    return apply


INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
BAD = {
    "unknown analyte": (change(2, "code", coded(LOINC, "9999-9")), 2, "code", "unknown analyte"),
    "two analytes": (
        change(
            2,
            "code",
            {"coding": [*coded(LOINC, "731-0")["coding"], *coded(LOCAL, "alt")["coding"]]},
        ),
        2,
        "code",
        "the codes name alt and lymphocytes",
    ),
    "unit that cannot be converted": (
        both(change(2, "valueQuantity", quantity(0.65, "mg")), change(2, "referenceRange", None)),
        2,
        "valueQuantity.code",
        "'mg' cannot be converted to /mm3",
    ),
    "unit text only": (
        both(
            change(2, "valueQuantity", {"value": 0.65, "unit": "furlongs"}),
            change(2, "referenceRange", None),
        ),
        2,
        "valueQuantity.unit",
        "'furlongs' cannot be converted",
    ),
    "negative count": (
        change(2, "valueQuantity.value", -3),
        2,
        "valueQuantity.value",
        "cannot be negative",
    ),
    "negative range": (
        change(2, "referenceRange.0.low.value", -1),
        2,
        "referenceRange[0].low.value",
        "cannot be negative",
    ),
    "lab date in the future": (
        change(2, "effectiveDateTime", future()),
        2,
        "effectiveDateTime",
        "in the future",
    ),
    "range in another unit": (
        change(2, "referenceRange.0.high", quantity(4000, "/mm3")),
        2,
        "referenceRange[0].high.code",
        "the range is in /mm3, the value in 10*9/L",
    ),
    "a limit, not a value": (
        change(2, "valueQuantity.comparator", "<"),
        2,
        "valueQuantity.comparator",
        "a limit",
    ),
    "text result not ours": (
        change(4, "valueCodeableConcept", {"text": "Detected"}),
        4,
        "valueCodeableConcept",
        "a text result is one of",
    ),
    "JCV index without serostatus": (
        change(3, "interpretation", None),
        3,
        "valueCodeableConcept",
        "serostatus",
    ),
    "serostatus both ways": (
        change(3, "interpretation", [coded(INTERPRETATION, "POS"), {"text": "negative"}]),
        3,
        "interpretation",
        "both negative and positive",
    ),
    "adverse event in the future": (change(6, "date", future()), 6, "date", "in the future"),
    "adverse event without a term": (change(6, "event", {"coding": []}), 6, "event", "say what"),
    "unknown suspected therapy": (
        change(6, "suspectEntity", [{"instance": {"display": "Aspirin"}}]),
        6,
        "suspectEntity[0].instance",
        "unknown therapy 'Aspirin'",
    ),
    "unknown adverse event outcome": (
        change(
            6,
            "outcome",
            coded("http://terminology.hl7.org/CodeSystem/adverse-event-outcome", "better"),
        ),
        6,
        "outcome",
        "not a valid choice",
    ),
    "pregnancy in the future": (
        change(7, "onsetDateTime", future()),
        7,
        "onsetDateTime",
        "in the future",
    ),
    "pregnancy ends before it starts": (
        change(7, "abatementDateTime", "2024-01-01"),
        7,
        "abatementDateTime",
        "before it starts",
    ),
    "unknown pregnancy outcome": (
        change(7, "extension.1.valueCode", "twins"),
        7,
        "extension[1].valueCode",
        "not a valid choice",
    ),
    "comorbidity in the future": (
        change(8, "onsetDateTime", future()),
        8,
        "onsetDateTime",
        "in the future",
    ),
    "comorbidity before birth": (
        change(8, "onsetDateTime", "1980-01-01"),
        8,
        "onsetDateTime",
        "before the patient's birth (1988-04-02)",
    ),
    "comorbidity without onset": (
        change(8, "onsetDateTime", None),
        8,
        "onsetDateTime",
        "a comorbidity needs its onset",
    ),
    "comorbidity onset a month": (
        change(8, "onsetDateTime", "2019-06"),
        8,
        "onsetDateTime",
        "not a full date",
    ),
    "comorbidity resolves before onset": (
        both(
            change(8, "abatementDateTime", "2019-05-01"),
            change(8, "clinicalStatus", coded(CLINICAL_STATUS, "resolved")),
        ),
        8,
        "abatementDateTime",
        "before its onset (2019-06-01)",
    ),
    "comorbidity resolved without the day": (
        change(8, "clinicalStatus", coded(CLINICAL_STATUS, "resolved")),
        8,
        "abatementDateTime",
        "the condition is resolved: send the day it resolved",
    ),
    "comorbidity active with an abatement": (
        change(8, "abatementDateTime", "2024-01-31"),
        8,
        "clinicalStatus",
        "active, yet abatementDateTime says it resolved",
    ),
    "comorbidity code not SNOMED CT": (
        change(8, "code.coding.0.code", "E11"),
        8,
        "code.coding",
        "'E11' is not a SNOMED CT code",
    ),
    "comorbidity with two SNOMED CT codes": (
        change(
            8,
            "code.coding",
            [*coded(SNOMED, "44054006")["coding"], *coded(SNOMED, "73211009")["coding"]],
        ),
        8,
        "code.coding",
        "name the one SNOMED CT code, not 44054006 and 73211009",
    ),
    "comorbidity without a name": (
        change(8, "code", coded("http://hl7.org/fhir/sid/icd-10", "E11")),
        8,
        "code.text",
        "say which condition",
    ),
    "comorbidity with a name too long": (
        change(8, "code.text", "x" * 201),
        8,
        "code.text",
        "at most 200 characters",
    ),
    "MS itself on the problem list": (
        change(8, "code", {**coded(SNOMED, "24700007"), "text": "Multiple sclerosis"}),
        8,
        "code",
        "MS is the patient's diagnosis, not a comorbidity",
    ),
    "a condition neither on the problem list nor ours": (
        change(8, "category", None),
        8,
        "code",
        "or a comorbidity (category problem-list-item)",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_safety_entries_are_refused_naming_entry_and_element(token_a, case):
    apply, index, element, words = BAD[case]
    bundle = safety_bundle()
    apply(bundle)
    status, answer = post(token_a, bundle)
    assert status == 400, answer
    OperationOutcome.model_validate(answer)
    issues = [
        i
        for i in answer["issue"]
        if i.get("expression") == [f"Bundle.entry[{index}].resource.{element}"]
    ]
    assert issues, answer
    assert any(words in i["diagnostics"] for i in issues), answer
    assert counts() == (0, 0, 0, 0, 0, 0)
    assert not AuditEvent.objects.exists()


def everything(client, patient: Patient) -> list[dict]:
    response = client.get(f"/fhir/Patient/{patient.public_id}/$everything")
    assert response.status_code == 200
    return response.json()["entry"]


def kept(patient: Patient) -> dict[str, list[tuple]]:
    """The patient's safety records as their values (no ids, no source ids)."""
    return {
        "labs": [
            (r.analyte.code, r.date, r.value, r.unit, r.text, r.lower_limit, r.upper_limit, r.lab)
            for r in patient.lab_results.order_by("date", "analyte__code")
        ],
        "events": [
            (e.date, e.term, e.serious, e.suspected_therapy_id, e.outcome)
            for e in patient.adverse_events.order_by("date")
        ],
        "pregnancies": [
            (p.start, p.due_date, p.end, p.outcome, p.therapy_action)
            for p in patient.pregnancies.order_by("start")
        ],
        "comorbidities": [
            (m.condition, m.code, m.onset, m.resolved, m.notes)
            for m in patient.comorbidities.order_by("onset")
        ],
    }


@pytest.fixture
def source(token_a, site_a) -> Patient:
    """A patient of site A with safety records of every shape, sent in and entered."""
    assert post(token_a, safety_bundle())[0] == 200
    patient = Patient.objects.get(site=site_a, mrn="S-100")
    system = Actor.system("test")
    for record in (
        lab_result(patient, "urine-protein", date=dt.date(2025, 3, 1), text="trace"),
        lab_result(patient, "tb-igra", date=dt.date(2025, 3, 2), text="indeterminate"),
        lab_result(
            patient,
            "creatinine",
            date=dt.date(2025, 3, 3),
            value=Decimal("1.1"),
            unit="mg/dL",
            upper_limit=Decimal("1.2"),
        ),
        lab_result(patient, "alt", date=dt.date(2025, 3, 4), value=Decimal("35"), text="normal"),
        lab_result(patient, "platelets", date=dt.date(2025, 3, 5), value=Decimal("210")),
        AdverseEvent(patient=patient, date=dt.date(2025, 3, 6), term="Headache"),
        Pregnancy(patient=patient, start=dt.date(2025, 4, 1)),
        Comorbidity(
            patient=patient,
            condition="Asthma",
            onset=dt.date(1995, 5, 1),
            resolved=dt.date(2005, 1, 1),
        ),
    ):
        save_record(record, actor=system)
    return patient


def test_everything_out_of_one_site_comes_back_in_at_another_as_the_same_records(
    source, nurse_a, token_b, site_b
):
    entries = everything(signed_in(nurse_a), source)
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    for exported in entries:
        resource = exported["resource"]
        kind = resource["resourceType"]
        if kind == "Flag":
            continue  # alerts are ours to raise, not to receive
        request = {"method": "POST", "url": kind}
        if kind == "Patient":
            # The one change: the patient is site B's now.
            resource = copy.deepcopy(resource)
            resource["managingOrganization"] = {"identifier": {"value": "B"}}
        elif not resource["id"].endswith("-diagnosis"):
            request["ifNoneExist"] = f"identifier=urn:site-a|{resource['id']}"
        bundle["entry"].append(
            {"fullUrl": exported["fullUrl"], "resource": resource, "request": request}
        )
    status, answer = post(token_b, bundle)
    assert status == 200, answer
    copied = Patient.objects.get(site=site_b)
    assert copied.mrn == source.mrn and copied.pk != source.pk
    assert kept(copied) == kept(source)
    assert len(kept(copied)["labs"]) == 8
    assert [m[0] for m in kept(copied)["comorbidities"]] == ["Asthma", "Type 2 diabetes"]
    for lab_copy in copied.lab_results.all():
        assert lab_copy.source_system == "urn:site-a"

    # The same bundle again: matched by those identifiers, nothing written.
    audited = AuditEvent.objects.count()
    status, again = post(token_b, bundle)
    assert status == 200 and {e["response"]["status"] for e in again["entry"]} == {"200 OK"}
    assert AuditEvent.objects.count() == audited
    assert kept(copied) == kept(source)


def test_everything_put_back_at_the_same_patient_changes_nothing(source, nurse_a):
    client = signed_in(nurse_a)
    entries = [
        {
            "fullUrl": e["fullUrl"],
            "resource": e["resource"],
            "request": {"method": "PUT", "url": e["resource"]["resourceType"]},
        }
        for e in everything(client, source)
        if e["resource"]["resourceType"] != "Flag"
    ]
    before, audited = kept(source), AuditEvent.objects.exclude(action="read").count()
    status, answer = post(
        client, {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    )
    assert status == 200, answer
    assert {e["response"]["status"] for e in answer["entry"]} == {"200 OK"}
    assert kept(source) == before
    assert AuditEvent.objects.exclude(action="read").count() == audited


def test_labs_are_searched_as_observations(source, nurse_a):
    client = signed_in(nurse_a)
    response = client.get(
        "/fhir/Observation",
        {"patient": str(source.public_id), "code": f"{LOINC}|731-0", "date": "ge2025"},
    )
    assert response.status_code == 200
    [found] = [e["resource"] for e in response.json()["entry"]]
    assert found["valueQuantity"]["value"] == 650


def test_metadata_lists_the_safety_resources(client):
    body = client.get("/fhir/metadata").json()
    rest = body["rest"][0]
    types = {r["type"]: r for r in rest["resource"]}
    assert "AdverseEvent" in types and "pregnancies" in types["Condition"]["documentation"]
    assert "comorbidities" in types["Condition"]["documentation"]
    assert "laboratory" in types["Observation"]["documentation"]
    assert "AdverseEvent" in rest["interaction"][0]["documentation"]


def test_the_ms_diagnosis_on_the_problem_list_stays_the_diagnosis(token_a):
    bundle = safety_bundle()
    bundle["entry"][1]["resource"]["category"] = [PROBLEM_LIST]
    bundle["entry"][1]["resource"]["code"] = coded(SNOMED, "425500002")  # SPMS
    status, body = post(token_a, bundle)
    assert status == 200, body
    patient = Patient.objects.get(mrn="S-100")
    assert patient.phenotype == "SPMS"
    assert [m.condition for m in patient.comorbidities.all()] == ["Type 2 diabetes"]


def test_a_comorbidity_for_another_sites_patient_is_refused(token_a, token_b):
    assert post(token_a, safety_bundle())[0] == 200
    patient = Patient.objects.get(mrn="S-100")
    sent = copy.deepcopy(safety_bundle()["entry"][8])
    sent["resource"]["subject"] = {"reference": f"Patient/{patient.public_id}"}
    sent["resource"]["identifier"][0]["value"] = "from-b"
    status, answer = post(
        token_b, {"resourceType": "Bundle", "type": "transaction", "entry": [sent]}
    )
    assert status == 400
    assert (
        "resolves to no patient of this bundle or of your sites"
        in answer["issue"][0]["diagnostics"]
    )
    assert patient.comorbidities.count() == 1
    assert token_b.get(f"/fhir/Patient/{patient.public_id}/$everything").status_code == 404

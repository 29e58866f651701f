"""Lab results, adverse events, pregnancies and comorbidities in `$everything`, each resource
valid R4B."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from fhir.resources.R4B import get_fhir_model_class

from monitoring.models import AdverseEvent, Comorbidity, Pregnancy
from patients.actions import Actor, mark_entered_in_error, save_record
from patients.models import Therapy
from tests.api.conftest import signed_in
from tests.factories import lab_result

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
D = dt.date


def test_everything_holds_labs_adverse_events_and_pregnancies(nurse_a, patient):
    for record in (
        lab_result(
            patient,
            date=D(2025, 1, 5),
            value=Decimal("0.65"),
            unit="10*9/L",
            lower_limit=Decimal("1.0"),
            upper_limit=Decimal("4.0"),
        ),
        lab_result(patient, "jcv-index", date=D(2025, 1, 6), value=Decimal("1.8"), text="positive"),
        lab_result(patient, "urine-blood", date=D(2025, 1, 7), text="negative"),
        AdverseEvent(
            patient=patient,
            date=D(2025, 2, 1),
            term="Infusion reaction",
            serious=False,
            suspected_therapy=Therapy.objects.get(code="natalizumab"),
            outcome="resolved",
        ),
        Pregnancy(
            patient=patient,
            start=D(2024, 3, 1),
            due_date=D(2024, 12, 6),
            end=D(2024, 12, 1),
            outcome="live_birth",
            therapy_action="paused",
        ),
    ):
        save_record(record, actor=SYSTEM)
    body = signed_in(nurse_a).get(f"/fhir/Patient/{patient.public_id}/$everything").json()
    resources = [e["resource"] for e in body["entry"]]
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    labs = [
        r
        for r in resources
        if r["resourceType"] == "Observation"
        and r.get("category", [{}])[0].get("coding", [{}])[0].get("code") == "laboratory"
    ]
    lymphocytes, jcv, urine = labs
    assert lymphocytes["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "731-0",
        "display": "Lymphocytes",
    }
    assert lymphocytes["valueQuantity"] == {
        "value": 650,
        "unit": "/mm3",
        "system": "http://unitsofmeasure.org",
        "code": "/mm3",
    }
    assert lymphocytes["referenceRange"][0]["low"]["value"] == 1000
    assert jcv["code"]["coding"][0]["system"].endswith("/safety-analyte")
    assert jcv["valueQuantity"] == {"value": 1.8, "unit": "index"}
    assert jcv["interpretation"][0]["coding"][0]["code"] == "POS"
    assert urine["valueCodeableConcept"] == {"text": "Negative"}
    [event] = [r for r in resources if r["resourceType"] == "AdverseEvent"]
    assert event["seriousness"]["coding"][0]["code"] == "non-serious"
    assert event["suspectEntity"][0]["instance"]["display"] == "Natalizumab"
    [pregnancy] = [
        r
        for r in resources
        if r["resourceType"] == "Condition" and r["code"]["coding"][0]["code"] == "77386006"
    ]
    assert pregnancy["abatementDateTime"] == "2024-12-01"
    assert "due date: 2024-12-06" in pregnancy["note"][0]["text"]


def test_everything_holds_comorbidities_as_problem_list_conditions(nurse_a, patient):
    for record in (
        Comorbidity(
            patient=patient,
            condition="Type 2 diabetes",
            code="44054006",
            onset=D(2019, 6, 1),
            notes="on metformin",
        ),
        Comorbidity(
            patient=patient, condition="Asthma", onset=D(1995, 5, 1), resolved=D(2005, 1, 1)
        ),
    ):
        save_record(record, actor=SYSTEM)
    withdrawn = save_record(
        Comorbidity(patient=patient, condition="Migraine", onset=D(2020, 1, 1)), actor=SYSTEM
    )
    mark_entered_in_error(withdrawn, actor=SYSTEM, reason="another patient's")
    body = signed_in(nurse_a).get(f"/fhir/Patient/{patient.public_id}/$everything").json()
    conditions = [
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Condition"
    ]
    for resource in conditions:
        get_fhir_model_class("Condition").model_validate(resource)
    diagnosis, asthma, diabetes = conditions
    assert diagnosis["id"] == f"{patient.public_id}-diagnosis" and "category" not in diagnosis
    problem_list = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                "code": "problem-list-item",
                "display": "Problem List Item",
            }
        ],
        "text": "Problem List Item",
    }
    assert diabetes["category"] == asthma["category"] == [problem_list]
    assert diabetes["code"] == {
        "coding": [
            {"system": "http://snomed.info/sct", "code": "44054006", "display": "Type 2 diabetes"}
        ],
        "text": "Type 2 diabetes",
    }
    assert diabetes["clinicalStatus"]["coding"][0]["code"] == "active"
    assert diabetes["onsetDateTime"] == "2019-06-01" and "abatementDateTime" not in diabetes
    assert diabetes["note"] == [{"text": "on metformin"}]
    assert asthma["code"] == {"text": "Asthma"} and "note" not in asthma
    assert asthma["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert asthma["abatementDateTime"] == "2005-01-01"

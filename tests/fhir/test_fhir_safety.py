"""Lab results, adverse events and pregnancies in `$everything`, each resource valid R4B."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from fhir.resources.R4B import get_fhir_model_class

from monitoring.models import AdverseEvent, Pregnancy
from patients.actions import Actor, save_record
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

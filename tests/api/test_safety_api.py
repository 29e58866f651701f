"""Lab results, adverse events, pregnancies and comorbidities through /api/v1/: written,
converted to the catalogue unit, audited, upserted by source ids, in bulk, filtered, scoped
to the caller's sites; bad input refused with the field named."""

from __future__ import annotations

import pytest

from monitoring.models import LabResult
from patients.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/lab-results/"


def lab(patient, **fields):
    return {
        "patient": str(patient.public_id),
        "analyte": "lymphocytes",
        "date": "2025-03-01",
        "value": "1.2",
        "unit": "10*9/L",
        "lower_limit": "1.0",
        "upper_limit": "4.0",
        **fields,
    }


def test_a_result_in_another_unit_is_kept_in_the_catalogue_unit(nurse, patient):
    response = nurse.post(URL, lab(patient), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["value"], body["unit"], body["lower_limit"]) == (1200, "/mm3", 1000)
    assert body["reported_as"] == "1.2 10*9/L" and body["loinc"] == "731-0"
    event = AuditEvent.objects.get(model="monitoring.labresult")
    assert event.action == "create" and event.after["value"] == "1200.0000"


def test_jcv_result_with_index_and_serostatus(nurse, patient):
    response = nurse.post(
        URL,
        lab(
            patient,
            analyte="jcv-index",
            value="0.85",
            unit="",
            lower_limit=None,
            upper_limit=None,
            text="positive",
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["unit"] == "index" and response.json()["text"] == "positive"


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"analyte": "unobtainium"}, "analyte", "unknown analyte unobtainium"),
        ({"unit": "mg/dL"}, "unit", "'mg/dL' cannot be converted to /mm3"),
        ({"value": "-5", "unit": "/mm3"}, "value", "cannot be negative"),
        ({"lower_limit": "-1"}, "lower_limit", "cannot be negative"),
        ({"date": "2999-01-01"}, "date", "is in the future"),
        ({"value": "abc"}, "value", "number"),
        ({"analyte": "urine-blood", "unit": ""}, "value", "reported as text"),
        ({"lower_limit": "5.0"}, "upper_limit", "below the lower limit"),
        ({"analyte": "jcv-index", "unit": "", "lower_limit": None}, "text", "serostatus"),
    ],
)
def test_bad_input_is_refused_naming_the_field(nurse, patient, fields, field, words):
    response = nurse.post(URL, lab(patient, **fields), format="json")
    assert response.status_code == 400, response.json()
    assert words in " ".join(response.json()[field])
    assert not LabResult.all_records.exists()


def test_upsert_by_source_ids_bulk_and_filter(integration_a, patient):
    payload = lab(patient, source_system="lims", source_id="r-1")
    first = integration_a.post(URL, payload, format="json")
    again = integration_a.post(URL, {**payload, "value": "0.9"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert LabResult.objects.get().value == 900
    bulk = integration_a.post(
        f"{URL}bulk/",
        {
            "records": [
                lab(
                    patient,
                    analyte="platelets",
                    value="250",
                    unit="10*9/L",
                    lower_limit="150",
                    upper_limit="400",
                    date="2025-03-02",
                ),
                lab(
                    patient,
                    analyte="tsh",
                    value="2.1",
                    unit="mIU/L",
                    lower_limit="0.4",
                    upper_limit="4.0",
                    date="2025-03-02",
                ),
            ]
        },
        format="json",
    )
    assert bulk.status_code == 201, bulk.json()
    listed = integration_a.get(URL, {"patient": str(patient.public_id), "analyte": "platelets"})
    assert [r["value"] for r in listed.json()["results"]] == [250]


def test_bulk_refuses_all_when_one_unit_cannot_be_converted(integration_a, patient):
    bulk = integration_a.post(
        f"{URL}bulk/",
        {
            "records": [
                lab(patient),
                lab(patient, analyte="platelets", unit="mmol/L"),
            ]
        },
        format="json",
    )
    assert bulk.status_code == 400
    assert bulk.json()["errors"][0]["index"] == 1
    assert "unit" in bulk.json()["errors"][0]["errors"]
    assert not LabResult.objects.exists()


def test_another_sites_results_are_not_there(integration_b, nurse, patient):
    created = nurse.post(URL, lab(patient), format="json").json()
    assert integration_b.get(f"{URL}{created['id']}/").status_code == 404
    assert integration_b.get(URL).json()["count"] == 0
    assert integration_b.post(URL, lab(patient), format="json").status_code == 400


def test_adverse_event_and_pregnancy(nurse, patient):
    event = nurse.post(
        "/api/v1/adverse-events/",
        {
            "patient": str(patient.public_id),
            "date": "2025-02-01",
            "term": "Immune thrombocytopenia",
            "serious": True,
            "suspected_therapy": "alemtuzumab",
            "outcome": "recovering",
        },
        format="json",
    )
    assert event.status_code == 201, event.json()
    blank = nurse.post(
        "/api/v1/adverse-events/",
        {"patient": str(patient.public_id), "date": "2025-02-01", "term": "  "},
        format="json",
    )
    assert blank.status_code == 400 and "term" in blank.json()
    pregnancy = nurse.post(
        "/api/v1/pregnancies/",
        {
            "patient": str(patient.public_id),
            "start": "2025-01-01",
            "due_date": "2025-10-08",
            "therapy_action": "paused",
        },
        format="json",
    )
    assert pregnancy.status_code == 201, pregnancy.json()
    wrong = nurse.post(
        "/api/v1/pregnancies/",
        {
            "patient": str(patient.public_id),
            "start": "2025-01-01",
            "due_date": "2024-12-01",
        },
        format="json",
    )
    assert wrong.status_code == 400 and "due_date" in wrong.json()


def test_catalogues_are_listed(nurse):
    analytes = nurse.get("/api/v1/analytes/").json()
    assert any(a["code"] == "jcv-index" and a["loinc"] == "" for a in analytes["results"])
    item = nurse.get("/api/v1/monitoring-items/alemtuzumab-platelets/").json()
    assert item["until_months"] == 48 and "Lemtrada" in item["source"]


def test_a_retry_in_another_unit_writes_nothing(integration_a, patient):
    """Converted, the retried result is what is stored: an update that changes nothing."""
    payload = lab(patient, source_system="lims", source_id="r-1")
    assert integration_a.post(URL, payload, format="json").status_code == 201
    audited = AuditEvent.objects.count()
    again = integration_a.post(URL, payload, format="json")
    assert again.status_code == 200 and again.json()["value"] == 1200
    bulk = integration_a.post(f"{URL}bulk/", {"records": [payload]}, format="json")
    assert bulk.json()["results"][0]["created"] is False, bulk.json()
    assert AuditEvent.objects.count() == audited


COMORBIDITIES = "/api/v1/comorbidities/"


def comorbidity(patient, **fields):
    return {
        "patient": str(patient.public_id),
        "condition": "Type 2 diabetes",
        "code": "44054006",
        "onset": "2019-06-01",
        **fields,
    }


def test_a_comorbidity_is_written_audited_listed_filtered_and_withdrawn(nurse, patient):
    created = nurse.post(
        COMORBIDITIES,
        comorbidity(patient, condition=" Type 2 diabetes ", notes="on metformin"),
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["condition"], body["code"], body["resolved"]) == (
        "Type 2 diabetes",
        "44054006",
        None,
    )
    event = AuditEvent.objects.get(model="monitoring.comorbidity")
    assert (event.action, event.actor_label) == ("create", "nurse-a")
    assert event.after["notes"] == "on metformin"
    asthma = comorbidity(patient, condition="Asthma", code="", onset="2001-03-01")
    asthma["resolved"] = "2010-01-01"
    assert nurse.post(COMORBIDITIES, asthma, format="json").status_code == 201
    listed = nurse.get(
        COMORBIDITIES, {"patient": str(patient.public_id), "onset_from": "2015-01-01"}
    )
    assert [r["condition"] for r in listed.json()["results"]] == ["Type 2 diabetes"]
    ordered = nurse.get(COMORBIDITIES, {"ordering": "onset"}).json()["results"]
    assert [r["condition"] for r in ordered] == ["Asthma", "Type 2 diabetes"]

    url = f"{COMORBIDITIES}{body['id']}/"
    withdrawn = nurse.post(
        f"{url}entered-in-error/", {"reason": "another patient's"}, format="json"
    )
    assert withdrawn.status_code == 200
    assert nurse.get(url).status_code == 404
    assert [r["condition"] for r in nurse.get(COMORBIDITIES).json()["results"]] == ["Asthma"]
    assert AuditEvent.objects.filter(
        model="monitoring.comorbidity", action="entered_in_error"
    ).exists()


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"condition": "  "}, "condition", "may not be blank"),
        ({"code": "E11.9"}, "code", "'E11.9' is not a SNOMED CT code (6 to 18 digits)"),
        ({"code": "44054"}, "code", "6 to 18 digits"),
        ({"code": "1" * 19}, "code", "no more than 18"),
        ({"onset": "2999-01-01"}, "onset", "is in the future"),
        ({"onset": "1980-01-01"}, "onset", "before the patient's birth"),
        ({"onset": "June 2019"}, "onset", "Date has wrong format"),
        ({"resolved": "2019-05-31"}, "resolved", "before its onset (2019-06-01)"),
        ({"resolved": "2999-01-01"}, "resolved", "is in the future"),
    ],
)
def test_bad_comorbidities_are_refused_naming_the_field(nurse, patient, fields, field, words):
    response = nurse.post(COMORBIDITIES, comorbidity(patient, **fields), format="json")
    assert response.status_code == 400, response.json()
    assert words in " ".join(response.json()[field])
    assert not AuditEvent.objects.filter(model="monitoring.comorbidity").exists()


def test_comorbidities_upsert_by_source_ids_and_in_bulk_all_or_nothing(integration_a, patient):
    payload = comorbidity(patient, source_system="ehr", source_id="problem-1")
    first = integration_a.post(COMORBIDITIES, payload, format="json")
    again = integration_a.post(COMORBIDITIES, {**payload, "resolved": "2024-01-31"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    update = AuditEvent.objects.get(model="monitoring.comorbidity", action="update")
    assert (update.before["resolved"], update.after["resolved"]) == (None, "2024-01-31")

    records = [
        comorbidity(patient, condition="Hypertension", code="38341003", source_id="problem-2"),
        comorbidity(patient, condition="Migraine", code="", source_id="problem-3"),
    ]
    bulk = integration_a.post(f"{COMORBIDITIES}bulk/", {"records": records}, format="json")
    assert bulk.status_code == 201, bulk.json()
    assert [r["created"] for r in bulk.json()["results"]] == [True, True]
    records[1]["onset"] = "2999-01-01"
    records.append(comorbidity(patient, condition="Depression", source_id="problem-4"))
    refused = integration_a.post(f"{COMORBIDITIES}bulk/", {"records": records}, format="json")
    assert refused.status_code == 400
    assert [(e["index"], list(e["errors"])) for e in refused.json()["errors"]] == [(1, ["onset"])]
    conditions = sorted(r["condition"] for r in integration_a.get(COMORBIDITIES).json()["results"])
    assert conditions == ["Hypertension", "Migraine", "Type 2 diabetes"]


def test_another_sites_comorbidities_are_not_there(integration_b, nurse, patient, patient_b):
    created = nurse.post(COMORBIDITIES, comorbidity(patient), format="json").json()
    assert integration_b.get(f"{COMORBIDITIES}{created['id']}/").status_code == 404
    assert integration_b.get(COMORBIDITIES).json()["count"] == 0
    refused = integration_b.post(COMORBIDITIES, comorbidity(patient), format="json")
    assert refused.status_code == 400 and "no patient" in refused.json()["patient"][0]
    withdraw = integration_b.post(
        f"{COMORBIDITIES}{created['id']}/entered-in-error/", {"reason": "x"}, format="json"
    )
    assert withdraw.status_code == 404
    assert nurse.post(COMORBIDITIES, comorbidity(patient_b), format="json").status_code == 400
    assert AuditEvent.objects.filter(model="monitoring.comorbidity").count() == 1

"""Lab results, adverse events and pregnancies through /api/v1/: written, converted to the
catalogue unit, audited, upserted by source ids, in bulk, filtered, scoped to the caller's
sites; bad input refused with the field named."""

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

"""Issue 11: clinical situations entered as a clinic enters them (API, FHIR, pages), and what
the stored status, the alerts and the refusals say. Spec §1, §3, §4, §5, §7."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from fhir.resources.R4B.observation import Observation

from alerts.evaluation import evaluate
from alerts.models import Rule
from api.models import IntegrationToken
from monitoring.models import MriScan, NflSample
from patients.models import Patient
from tests.api.conftest import signed_in, with_token
from tests.factories import make_patient
from tests.fhir.test_fhir import full_bundle, post

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2025, 6, 1)


@pytest.fixture(autouse=True)
def today() -> Iterator[dt.date]:
    noon = dt.datetime(2025, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/London"))
    with time_machine.travel(noon, tick=False):
        yield TODAY


@pytest.fixture
def client(neurologist_a):
    return signed_in(neurologist_a)


def create(client, kind: str, patient: Patient, **fields: Any) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/{kind}/", {"patient": str(patient.public_id), **fields}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def refused(client, kind: str, patient: Patient, **fields: Any) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/{kind}/", {"patient": str(patient.public_id), **fields}, format="json"
    )
    assert response.status_code == 400, response.json()
    return response.json()


def status(client, patient: Patient) -> dict[str, Any]:
    evaluate([patient.pk], as_of=TODAY)
    response = client.get(f"/api/v1/status/{patient.public_id}/")
    assert response.status_code == 200
    return response.json()


def rules(client, patient: Patient) -> list[str]:
    listed = client.get("/api/v1/alerts/", {"patient": str(patient.public_id)}).json()
    return [a["rule"] for a in listed["results"] if a["state"] != "resolved"]


# --- 1. Induction therapies: one episode from the first course [§7] ------------------------


def test_alemtuzumab_infusion_end_is_not_the_end_of_therapy(client, patient):
    first = create(
        client,
        "therapy-courses",
        patient,
        therapy="alemtuzumab",
        start="2022-01-10",
        end="2022-01-14",
    )
    relapse = create(client, "relapses", patient, onset="2024-06-20")  # month 29
    create(client, "visits", patient, date="2024-07-01", edss="2.0")
    body = status(client, patient)
    assert body["therapy_course"] == first["id"]
    assert body["rebaseline_date"] == "2024-01-10"
    assert Rule.RELAPSE_ON_THERAPY in rules(client, patient)
    listed = client.get("/api/v1/alerts/", {"patient": str(patient.public_id)}).json()
    [alert] = [a for a in listed["results"] if a["rule"] == Rule.RELAPSE_ON_THERAPY]
    assert alert["evidence"]["records"][0]["id"] == relapse["id"]


def test_cladribine_year_two_does_not_move_the_rebaseline(client, patient):
    first = create(
        client,
        "therapy-courses",
        patient,
        therapy="cladribine",
        start="2022-03-01",
        end="2022-03-05",
    )
    create(
        client,
        "therapy-courses",
        patient,
        therapy="cladribine",
        start="2023-03-01",
        end="2023-03-05",
    )
    body = status(client, patient)
    assert body["therapy_course"] == first["id"]
    assert body["rebaseline_date"] == "2024-03-01"


def test_next_therapy_or_a_stop_reason_closes_an_induction_episode(client, patient):
    course = create(
        client,
        "therapy-courses",
        patient,
        therapy="cladribine",
        start="2021-03-01",
        end="2021-03-05",
    )
    after = create(client, "therapy-courses", patient, therapy="ocrelizumab", start="2024-01-10")
    assert status(client, patient)["therapy_course"] == after["id"]
    other = make_patient(patient.site)
    create(
        client,
        "therapy-courses",
        other,
        therapy="alemtuzumab",
        start="2021-03-01",
        end="2021-03-05",
    )
    assert status(client, other)["therapy_course"] is not None
    stopped = client.patch(
        f"/api/v1/therapy-courses/{course['id']}/", {"stop_reason": "other"}, format="json"
    )
    assert stopped.status_code == 200
    closed = create(
        client,
        "therapy-courses",
        other,
        therapy="alemtuzumab",
        start="2022-03-01",
        end="2022-03-03",
        stop_reason="safety",
    )
    assert closed and status(client, other)["therapy_course"] is None


# --- 2. The reference scan's Gd-enhancing lesions are activity [§3] ------------------------


def test_gd_enhancing_lesions_on_the_reference_scan_are_activity(client, patient):
    create(client, "therapy-courses", patient, therapy="ocrelizumab", start="2023-06-01")
    create(client, "visits", patient, date="2023-06-01", edss="2.0")
    create(client, "mri-scans", patient, date="2023-05-20", new_t2=0, gd_enhancing=0)
    scan = create(client, "mri-scans", patient, date="2024-06-01", new_t2=0, gd_enhancing=2)
    create(client, "visits", patient, date="2024-06-01", edss="2.0")
    body = status(client, patient)
    since = body["neda"]["since_rebaseline"]
    assert since["reference_scan"] == scan["id"]
    assert since["mri"]["state"] == "not_met"
    assert since["neda3"] == "not_met"
    listed = client.get("/api/v1/alerts/", {"rule": Rule.MRI_ACTIVITY_ON_THERAPY}).json()
    [alert] = listed["results"]
    assert alert["evidence"]["records"][0]["id"] == scan["id"]
    assert "2 Gd-enhancing (the re-baseline reference scan" in alert["explanation"]


# --- 3. One relapse per 30 days; one MRI per patient and day [§1] --------------------------


@pytest.mark.parametrize("onset", ["2024-02-01", "2024-02-11", "2024-01-03"])
def test_a_second_onset_within_30_days_is_refused_naming_the_first(client, patient, onset):
    first = create(client, "relapses", patient, onset="2024-02-01")
    errors = refused(client, "relapses", patient, onset=onset)
    assert first["id"] in errors["onset"][0]
    create(client, "relapses", patient, onset="2024-03-02")  # 30 days later: a new relapse


def test_a_second_onset_is_refused_on_the_page_too(neurologist_a, patient):
    client = signed_in(neurologist_a)
    create(client, "relapses", patient, onset="2024-02-01")
    page = client.post(
        f"/patients/{patient.public_id}/new/relapse/", {"onset": "2024-02-10", "severity": ""}
    )
    assert page.status_code == 200
    assert "is the same relapse" in page.content.decode()


def test_a_second_scan_on_the_same_day_is_refused(client, patient):
    first = create(client, "mri-scans", patient, date="2024-03-01", new_t2=2, gd_enhancing=0)
    errors = refused(client, "mri-scans", patient, date="2024-03-01", new_t2=2, gd_enhancing=0)
    assert first["id"] in errors["date"][0]
    bulk = client.post(
        "/api/v1/mri-scans/bulk/",
        [
            {"patient": str(patient.public_id), "date": "2024-05-01", "new_t2": 0},
            {"patient": str(patient.public_id), "date": "2024-05-01", "new_t2": 1},
        ],
        format="json",
    )
    assert bulk.status_code == 400


# --- 4. Scans without contrast [§1, §3] ----------------------------------------------------


def test_a_scan_without_contrast_is_unknown_not_zero(client, patient):
    create(client, "mri-scans", patient, date="2024-07-01", new_t2=0, gd_enhancing=0)
    scan = create(client, "mri-scans", patient, date="2025-01-10", new_t2=0, gd_enhancing=None)
    assert scan["gd_enhancing"] is None
    create(client, "visits", patient, date="2024-07-01", edss="2.0")
    create(client, "visits", patient, date="2025-01-10", edss="2.0")
    rolling = status(client, patient)["neda"]["rolling_12_months"]
    assert rolling["mri"]["state"] == "unknown"
    assert "no Gd-enhancing count" in rolling["explanation"]


def test_the_form_accepts_a_scan_without_contrast(neurologist_a, patient):
    client = signed_in(neurologist_a)
    page = client.post(
        f"/patients/{patient.public_id}/new/mri/",
        {"date": "2024-07-01", "new_t2": "1", "gd_enhancing": "", "field_strength": ""},
    )
    assert page.status_code == 302
    assert MriScan.objects.get(patient=patient).gd_enhancing is None


# --- 5. Scores at year 1 of the therapy [§4] -----------------------------------------------


def test_magnims_counts_a_relapse_of_the_first_months(client, patient):
    create(client, "therapy-courses", patient, therapy="ocrelizumab", start="2024-09-01")
    create(client, "relapses", patient, onset="2024-11-01")  # before the re-baseline (month 6)
    body = status(client, patient)
    assert body["magnims"] == 1
    assert body["scores"]["start"] == "2024-09-01"
    assert body["scores"]["magnims"]["points"] is None  # provisional before month 12
    assert "provisional" in body["scores"]["explanation"]
    assert Rule.FIRST_YEAR_SCORE in rules(client, patient)


# --- 6. NfL limits [§1, §5] ----------------------------------------------------------------


def test_simoa_age_limits_are_not_applied_to_other_assays(client, patient):
    create(
        client, "nfl-samples", patient, date="2025-01-10", matrix="serum", value="150", assay="ella"
    )
    nfl = status(client, patient)["nfl"]
    assert nfl["elevated"] is None
    assert Rule.NFL not in rules(client, patient)


def test_an_implausible_z_score_is_refused(client, patient):
    errors = refused(
        client,
        "nfl-samples",
        patient,
        date="2025-01-10",
        matrix="serum",
        value="150",
        assay="simoa",
        z_score="-999",
    )
    assert list(errors) == ["z_score"]


def test_fhir_import_keeps_the_lab_z_score(site_a):
    client = with_token(IntegrationToken.issue(site=site_a, name="ehr-a", days=30)[1])
    bundle = full_bundle()
    nfl = next(e for e in bundle["entry"] if e["resource"].get("id") == "nfl1")
    nfl["resource"]["component"] = [
        {
            "code": {
                "coding": [
                    {
                        "system": "https://mstrack.example/fhir/CodeSystem/ms-measures",
                        "code": "nfl-z-score",
                    }
                ]
            },
            "valueQuantity": {"value": 2.1},
        }
    ]
    code, body = post(client, bundle)
    assert code == 200, body
    sample = NflSample.objects.get()
    assert str(sample.z_score) == "2.10"
    everything = client.get(f"/fhir/Patient/{sample.patient.public_id}/$everything").json()
    [exported] = [
        e["resource"]
        for e in everything["entry"]
        if e["resource"].get("id") == str(sample.public_id)
    ]
    Observation.model_validate(exported)
    assert exported["component"][0]["valueQuantity"]["value"] == 2.1


# --- 7. Plausibility [§1] ------------------------------------------------------------------


def test_pbvc_beyond_5_percent_is_refused(client, patient):
    errors = refused(
        client, "mri-scans", patient, date="2024-03-01", new_t2=0, gd_enhancing=0, pbvc="-15"
    )
    assert list(errors) == ["pbvc"]


@pytest.mark.parametrize("birth", ["1850-01-01", "0001-01-01"])
def test_birth_dates_before_1900_are_refused(client, site_a, birth):
    response = client.post(
        "/api/v1/patients/",
        {"site": site_a.code, "mrn": "X1", "birth_date": birth, "phenotype": "RRMS"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["birth_date"]


def test_a_visit_in_year_one_is_refused(client, site_a):
    # A birth date stored before the rule (the model bypassed): the visit is refused anyway.
    patient = make_patient(site_a, birth_date=D(1, 1, 1), symptom_onset=None, diagnosis_date=None)
    errors = refused(client, "visits", patient, date="0001-01-02", edss="2.0")
    assert list(errors) == ["date"]


def test_a_birth_date_moved_after_the_records_is_refused(client, site_a):
    patient = make_patient(site_a, symptom_onset=None, diagnosis_date=None)
    create(client, "visits", patient, date="2020-01-10", edss="2.0")
    response = client.patch(
        f"/api/v1/patients/{patient.public_id}/", {"birth_date": "2021-01-01"}, format="json"
    )
    assert response.status_code == 400
    assert "2020-01-10" in response.json()["birth_date"][0]


def test_a_second_therapy_while_one_is_open_is_refused(client, patient):
    open_one = create(client, "therapy-courses", patient, therapy="ocrelizumab", start="2023-01-10")
    errors = refused(client, "therapy-courses", patient, therapy="natalizumab", start="2024-01-10")
    assert open_one["id"] in errors["start"][0]
    stopped = client.patch(
        f"/api/v1/therapy-courses/{open_one['id']}/",
        {"end": "2024-01-10", "stop_reason": "inefficacy"},
        format="json",
    )
    assert stopped.status_code == 200
    after = create(client, "therapy-courses", patient, therapy="natalizumab", start="2024-01-10")
    late_stop = client.patch(
        f"/api/v1/therapy-courses/{open_one['id']}/", {"end": "2024-03-01"}, format="json"
    )
    assert late_stop.status_code == 400
    assert after["id"] in late_stop.json()["end"][0]


# --- The rules in words beside the results --------------------------------------------------


def test_the_patient_page_says_the_rules_in_words(neurologist_a, patient):
    page = signed_in(neurologist_a).get(f"/patients/{patient.public_id}/").content.decode()
    assert "its Gd-enhancing lesions count as activity" in page
    assert "the end of an infusion is not the end of the therapy" in page
    assert "Simrén age limits are for Simoa" in page


# --- 8. An alert cleared before a neurologist saw it -----------------------------------------


def test_an_alert_cleared_before_anyone_saw_it_stays_for_neurologists(client, nurse_a, patient):
    nurse = signed_in(nurse_a)
    create(nurse, "therapy-courses", patient, therapy="ocrelizumab", start="2023-01-10")
    relapse = create(nurse, "relapses", patient, onset="2024-06-01")
    status(client, patient)
    [alert] = client.get("/api/v1/alerts/", {"rule": Rule.RELAPSE_ON_THERAPY}).json()["results"]
    withdrawn = nurse.post(
        f"/api/v1/relapses/{relapse['id']}/entered-in-error/",
        {"reason": "another patient's relapse"},
        format="json",
    )
    assert withdrawn.status_code == 200
    status(client, patient)
    body = client.get(f"/api/v1/alerts/{alert['id']}/").json()
    assert (body["state"], body["cleared_unseen"]) == ("resolved", True)
    inbox = client.get("/alerts/").content.decode()
    row = inbox[inbox.index(f'data-alert="{alert["id"]}"') :].split("</tr>")[0]
    assert "cleared, not yet seen" in row
    unseen = client.get("/api/v1/alerts/", {"cleared_unseen": "true"}).json()
    assert alert["id"] in [a["id"] for a in unseen["results"]]
    assert nurse.post(f"/api/v1/alerts/{alert['id']}/acknowledge/").status_code == 403
    seen = client.post(f"/api/v1/alerts/{alert['id']}/acknowledge/")
    assert seen.status_code == 200
    assert (seen.json()["state"], seen.json()["cleared_unseen"]) == ("resolved", False)
    assert f'data-alert="{alert["id"]}"' not in client.get("/alerts/").content.decode()


def test_an_alert_acknowledged_before_it_cleared_is_not_unseen(client, patient):
    create(client, "therapy-courses", patient, therapy="ocrelizumab", start="2023-01-10")
    relapse = create(client, "relapses", patient, onset="2024-06-01")
    status(client, patient)
    [alert] = client.get("/api/v1/alerts/", {"rule": Rule.RELAPSE_ON_THERAPY}).json()["results"]
    assert client.post(f"/api/v1/alerts/{alert['id']}/acknowledge/").status_code == 200
    client.post(
        f"/api/v1/relapses/{relapse['id']}/entered-in-error/", {"reason": "wrong"}, format="json"
    )
    status(client, patient)
    body = client.get(f"/api/v1/alerts/{alert['id']}/").json()
    assert (body["state"], body["cleared_unseen"]) == ("resolved", False)


def test_fhir_refuses_a_second_onset_within_30_days(site_a):
    client = with_token(IntegrationToken.issue(site=site_a, name="ehr-a", days=30)[1])
    bundle = full_bundle()
    relapse = next(e for e in bundle["entry"] if e["resource"].get("id") == "rel1")
    again = json.loads(json.dumps(relapse))
    again["fullUrl"] = "urn:uuid:0b8f8a34-5c1e-4f1c-9a57-000000000999"
    again["resource"].update(id="rel2", onsetDateTime="2023-05-20")
    for identifier in again["resource"].get("identifier", []):
        identifier["value"] += "-second"  # another relapse, not the same one sent twice
    bundle["entry"].append(again)
    code, body = post(client, bundle)
    assert code == 400, body
    assert "is the same relapse" in json.dumps(body["issue"])
    assert not NflSample.objects.exists()  # all or nothing

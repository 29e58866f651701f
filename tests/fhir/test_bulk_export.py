"""FHIR Bulk Data export: kick-off, polling, manifest, NDJSON files that parse line by line
as their resource type (fhir.resources R4B), `_type` and `_since`, the caller's sites only,
audited reads, and cancel."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import TestCase
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from alerts.models import Alert
from api import tasks
from api.models import BulkExport, IntegrationToken
from patients.models import AuditEvent
from tests.alerts.test_worker import broker as broker  # the Redis fixture of the worker tests
from tests.alerts.test_worker import wait_for, worker
from tests.api.conftest import signed_in, with_token
from tests.factories import make_patient, mri_scan, nfl_sample, relapse, therapy_course, visit

pytestmark = pytest.mark.django_db
ASYNC = {"HTTP_PREFER": "respond-async"}


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.FHIR_EXPORT_DIR = tmp_path / "exports"
    return settings.FHIR_EXPORT_DIR


def full_record(site, mrn: str):
    patient = make_patient(site, mrn=mrn)
    visit(patient, date=dt.date(2023, 1, 10), sdmt=50).save()
    visit(patient, date=dt.date(2023, 7, 10)).save()
    relapse(patient).save()
    mri_scan(patient).save()
    nfl_sample(patient).save()
    therapy_course(patient).save()
    Alert.objects.create(
        patient=patient,
        rule="confirmed_pira",
        severity="high",
        evidence_key="k",
        evidence={},
        explanation="x",
        raised_at=timezone.now(),
    )
    return patient


@pytest.fixture
def cohort(site_a, site_b):
    return [full_record(site_a, "A-1"), full_record(site_a, "A-2")], full_record(site_b, "B-1")


def kick_off(client, url: str = "/fhir/$export", **query) -> str:
    # The kick-off queues the export once its row is committed: here, as the request ends.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.get(url, query, **ASYNC)
    assert response.status_code == 202, response.content
    return response["Content-Location"]


def manifest(client, status_url: str) -> dict:
    response = client.get(status_url)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def lines(client, output: dict) -> list[dict]:
    response = client.get(output["url"], HTTP_ACCEPT="application/fhir+ndjson")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+ndjson"
    text = b"".join(response.streaming_content).decode()
    resources = [json.loads(line) for line in text.splitlines()]
    assert len(resources) == output["count"]
    for resource in resources:
        assert resource["resourceType"] == output["type"]
        get_fhir_model_class(output["type"]).model_validate(resource)
    return resources


def patients_named(resources: list[dict]) -> set[str]:
    return {
        r["id"] if r["resourceType"] == "Patient" else r["subject"]["reference"].split("/")[1]
        for r in resources
    }


@pytest.mark.parametrize("url", ["/fhir/$export", "/fhir/Patient/$export", "/fhir/Group/A/$export"])
def test_export_of_your_sites_parses_line_by_line_and_is_audited(cohort, neurologist_a, url):
    mine, _ = cohort
    client = signed_in(neurologist_a)
    body = manifest(client, kick_off(client, url))
    assert body["requiresAccessToken"] is True and body["error"] == []
    assert body["request"].endswith(url)
    assert [o["type"] for o in body["output"]] == [
        "Patient",
        "Condition",
        "Observation",
        "MedicationStatement",
        "Flag",
    ]
    everything = [r for output in body["output"] for r in lines(client, output)]
    assert patients_named(everything) == {str(p.public_id) for p in mine}
    counts = {o["type"]: o["count"] for o in body["output"]}
    # Per patient: a diagnosis and a relapse; EDSS twice, SDMT, MRI, NfL.
    assert counts == {
        "Patient": 2,
        "Condition": 4,
        "Observation": 10,
        "MedicationStatement": 2,
        "Flag": 2,
    }
    # One audit row for the export, naming every patient in it (and none of another site).
    assert read_by("neuro-a") == [sorted(p.pk for p in mine)]


def test_a_user_of_another_site_gets_nothing_of_yours(cohort, user_b, neurologist_a):
    mine, theirs = cohort
    other = signed_in(user_b)
    assert other.get("/fhir/Group/A/$export", **ASYNC).status_code == 404
    body = manifest(other, kick_off(other))
    everything = [r for output in body["output"] for r in lines(other, output)]
    assert patients_named(everything) == {str(theirs.public_id)}

    # Nor another caller's export: status and files answer only who asked.
    client = signed_in(neurologist_a)
    status_url = kick_off(client)
    file_url = manifest(client, status_url)["output"][0]["url"]
    assert other.get(status_url).status_code == 404
    assert other.get(file_url).status_code == 404
    token_a = with_token(IntegrationToken.issue(site=mine[0].site, name="ehr", days=1)[1])
    assert token_a.get(file_url).status_code == 404


def test_integration_token_exports_its_site(cohort, site_a):
    mine, _ = cohort
    token = with_token(IntegrationToken.issue(site=site_a, name="ehr-a", days=1)[1])
    body = manifest(token, kick_off(token, _type="Patient"))
    assert patients_named(lines(token, body["output"][0])) == {str(p.public_id) for p in mine}
    assert read_by("token:ehr-a") == [sorted(p.pk for p in mine)]


def test_type_and_since(cohort, neurologist_a):
    mine, _ = cohort
    client = signed_in(neurologist_a)
    body = manifest(client, kick_off(client, _type="Observation,Patient"))
    assert [o["type"] for o in body["output"]] == ["Patient", "Observation"]

    since = timezone.now()
    changed = mine[0].visits.get(date=dt.date(2023, 7, 10))
    changed.edss = 3
    changed.save()
    body = manifest(client, kick_off(client, _since=since.isoformat()))
    assert [(o["type"], o["count"]) for o in body["output"]] == [("Observation", 1)]
    (edss,) = lines(client, body["output"][0])
    assert edss["valueQuantity"]["value"] == 3
    future = (since + dt.timedelta(days=1)).isoformat()
    assert manifest(client, kick_off(client, _since=future))["output"] == []


@pytest.mark.parametrize(
    "query, headers, message",
    [
        ({}, {}, "a bulk export is asynchronous: send Prefer: respond-async"),
        ({"_type": "Patient,Encounter"}, ASYNC, "_type 'Patient,Encounter': resource types"),
        ({"_since": "2026-01-01"}, ASYNC, "_since '2026-01-01': an instant with its time zone"),
        ({"_since": "yesterday"}, ASYNC, "_since 'yesterday': an instant"),
        ({"_outputFormat": "text/csv"}, ASYNC, "_outputFormat 'text/csv': NDJSON only"),
        ({"patient": "x"}, ASYNC, "unsupported parameter(s) patient"),
    ],
)
def test_bad_kick_offs_are_refused_with_an_operation_outcome(nurse_a, query, headers, message):
    response = signed_in(nurse_a).get("/fhir/$export", query, **headers)
    assert response.status_code == 400
    assert response.json()["issue"][0]["diagnostics"].startswith(message)
    assert not BulkExport.objects.exists()


def test_polling_then_cancel(cohort, neurologist_a, monkeypatch, export_dir):
    """While queued: 202 with X-Progress; DELETE cancels, and the worker then writes
    nothing."""
    queued = []
    monkeypatch.setattr(tasks.run_bulk_export, "delay", queued.append)
    client = signed_in(neurologist_a)
    status_url = kick_off(client)
    polled = client.get(status_url)
    assert polled.status_code == 202
    assert polled["X-Progress"] == "queued" and polled["Retry-After"] == "2"
    assert client.delete(status_url).status_code == 202
    assert client.get(status_url).status_code == 404
    tasks.run_bulk_export(queued[0])
    assert not export_dir.exists() or not any(export_dir.iterdir())


def test_cancel_removes_the_files_of_a_finished_export(cohort, neurologist_a, export_dir):
    client = signed_in(neurologist_a)
    status_url = kick_off(client)
    file_url = manifest(client, status_url)["output"][0]["url"]
    assert any(export_dir.iterdir())
    assert client.delete(status_url).status_code == 202
    assert client.get(file_url).status_code == 404
    assert not any(export_dir.iterdir())


def test_anonymous_is_refused(client, cohort):
    response = client.get("/fhir/$export", **ASYNC)
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_writes_the_export(cohort, neurologist_a, broker, export_dir, monkeypatch):
    """Kick-off through the API, the files written by a `celery worker` process on Redis."""
    monkeypatch.setenv("FHIR_EXPORT_DIR", str(export_dir))
    mine, _ = cohort
    client = signed_in(neurologist_a)
    with worker(broker, "export"):
        status_url = kick_off(client, "/fhir/Group/A/$export")
        wait_for(lambda: client.get(status_url).status_code == 200, 30, "the export")
    body = manifest(client, status_url)
    everything = [r for output in body["output"] for r in lines(client, output)]
    assert patients_named(everything) == {str(p.public_id) for p in mine}
    assert read_by("neuro-a") == [sorted(p.pk for p in mine)]


def read_by(label: str) -> list[list[int]]:
    """The patients named by each export read audited for `label`."""
    return [
        event.after["patients"]
        for event in AuditEvent.objects.filter(
            action="read", actor_label=label, model__startswith="fhir $export"
        )
    ]


def test_safety_records_are_exported_as_everything_gives_them(site_a, site_b, neurologist_a):
    """Lab results among the Observations, pregnancies and comorbidities among the
    Conditions, adverse events in a file of their own: each line the resource `$everything`
    gives; another site's not."""
    from api import fhir_safety
    from monitoring.models import AdverseEvent, Comorbidity, Pregnancy
    from patients.actions import Actor, save_record
    from tests.factories import lab_result

    mine, theirs = make_patient(site_a), make_patient(site_b)
    for patient in (mine, theirs):
        for record in (
            lab_result(patient, value=650),
            AdverseEvent(patient=patient, date=dt.date(2024, 2, 1), term="Headache"),
            Pregnancy(patient=patient, start=dt.date(2023, 3, 1)),
            Comorbidity(patient=patient, condition="Hypertension", onset=dt.date(2015, 1, 1)),
        ):
            save_record(record, actor=Actor.system("test"))
    client = signed_in(neurologist_a)
    body = manifest(client, kick_off(client, _type="AdverseEvent,Observation,Condition"))
    assert [o["type"] for o in body["output"]] == ["Condition", "Observation", "AdverseEvent"]
    exported = {o["type"]: lines(client, o) for o in body["output"]}
    assert exported["Observation"] == [fhir_safety.lab_resource(mine.lab_results.get())]
    assert exported["AdverseEvent"] == [
        fhir_safety.adverse_event_resource(mine.adverse_events.get())
    ]
    assert fhir_safety.pregnancy_resource(mine.pregnancies.get()) in exported["Condition"]
    assert fhir_safety.comorbidity_resource(mine.comorbidities.get()) in exported["Condition"]
    assert patients_named([r for rs in exported.values() for r in rs]) == {str(mine.public_id)}

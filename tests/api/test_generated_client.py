"""A Python client generated from the OpenAPI schema (openapi-python-client, at test time,
into a temporary directory) creates every kind of record and reads it back unchanged, and
reads the stored status and alerts, nulls included, without crashing."""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from alerts.evaluation import evaluate
from api.models import IntegrationToken
from patients.models import Patient

pytestmark = pytest.mark.django_db
PACKAGE = "mstrack_client"


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[ModuleType]:
    schema = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(schema))
    config = tmp_path / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    subprocess.run(
        [
            Path(sys.executable).with_name("openapi-python-client"),
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture
def client(generated: ModuleType, site_a, settings) -> Iterator[Any]:
    settings.ALLOWED_HOSTS = ["testserver"]
    # Called as a plain WSGI app, Django closes the database connection after each request,
    # which would end the test's transaction (Django's test client unhooks this the same way).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    _, token = IntegrationToken.issue(site=site_a, name="generated-client", days=1)
    transport = httpx.WSGITransport(app=get_wsgi_application())
    yield generated.AuthenticatedClient(
        base_url="http://testserver",
        token=token,
        prefix="Token",
        httpx_args={"transport": transport},
    )
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def operation(kind: str, verb: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.api.api.api_v1_{kind}_{verb}")


def model(name: str) -> type:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def round_trip(client: Any, kind: str, request_model: str, payload: dict[str, Any]) -> Any:
    """Create through the client's typed request model, read back: the record read is the
    record created, and holds every value sent."""
    body = model(request_model).from_dict(payload)
    created = operation(kind, "create").sync_detailed(client=client, body=body)
    assert created.status_code == 201, created.content
    read = operation(kind, "retrieve").sync(id=created.parsed.id, client=client)
    assert read == created.parsed
    sent = body.to_dict()
    assert {name: read.to_dict()[name] for name in sent} == sent
    return read


def test_generated_client_round_trips_every_record_kind(client):
    patient = round_trip(
        client,
        "patients",
        "PatientRequest",
        {
            "mrn": "GEN-1",
            "birth_date": "1984-05-06",
            "sex": "female",
            "phenotype": "RRMS",
            "display_name": "Ada B.",
            "symptom_onset": "2015-02-01",
            "diagnosis_date": "2016-03-04",
            "source_system": "ehr",
            "source_id": "p-1",
        },
    )
    of_patient = {"patient": str(patient.id), "source_system": "ehr"}
    round_trip(
        client,
        "therapy_courses",
        "TherapyCourseRequest",
        {
            **of_patient,
            "therapy": "ocrelizumab",
            "start": "2020-01-10",
            "end": None,
            "source_id": "t-1",
        },
    )
    round_trip(
        client,
        "visits",
        "VisitRequest",
        {
            **of_patient,
            "date": "2024-05-02",
            "edss": 2.5,
            "t25fw": 5.1,
            "nhpt": None,
            "sdmt": 55,
            "scheduled": True,
            "source_id": "v-1",
        },
    )
    round_trip(
        client,
        "relapses",
        "RelapseRequest",
        {
            **of_patient,
            "onset": "2023-02-01",
            "end": "2023-03-01",
            "severity": "moderate",
            "steroids": True,
            "confirmed_by_clinician": True,
            "source_id": "r-1",
        },
    )
    round_trip(
        client,
        "mri_scans",
        "MriScanRequest",
        {
            **of_patient,
            "date": "2024-03-01",
            "new_t2": 1,
            "gd_enhancing": 0,
            "total_t2": 12,
            "pbvc": -0.4,
            "field_strength": "3T",
            "source_id": "m-1",
        },
    )
    round_trip(
        client,
        "nfl_samples",
        "NflSampleRequest",
        {
            **of_patient,
            "date": "2024-03-01",
            "matrix": "serum",
            "value": 8.5,
            "assay": "simoa",
            "lab": "Central",
            "lab_upper_limit": None,
            "z_score": 1.2,
            "source_id": "n-1",
        },
    )

    untreated = round_trip(
        client,
        "patients",
        "PatientRequest",
        {"mrn": "GEN-2", "birth_date": "1990-01-01", "phenotype": "CIS", "symptom_onset": None},
    )
    ids = [patient.id, untreated.id]
    evaluate(
        list(Patient.objects.filter(public_id__in=ids).values_list("pk", flat=True)),
        as_of=dt.date(2025, 1, 1),
    )
    status_of = importlib.import_module(f"{PACKAGE}.api.api.api_v1_status_retrieve").sync
    status = status_of(patient_id=patient.id, client=client)
    assert status.patient == patient.id and status.therapy_course is not None
    assert status_of(patient_id=untreated.id, client=client).therapy_course is None
    alerts = importlib.import_module(f"{PACKAGE}.api.api.api_v1_alerts_list").sync(client=client)
    assert alerts.results, "the evaluation raises alerts for this course"
    assert all(alert.acknowledged_by is None for alert in alerts.results)

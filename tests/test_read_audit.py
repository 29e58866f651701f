"""Every read of patient data writes one audit row per request, naming the patients shown
or the query (issue 15, item 5)."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.evaluation import evaluate
from patients.models import AuditEvent
from tests import factories as f
from tests.api.conftest import signed_in

pytestmark = pytest.mark.django_db


def _reads():
    return list(AuditEvent.objects.filter(action="read").order_by("id"))


@pytest.fixture
def cohort(site_a, site_b):
    mine = [f.make_patient(site_a) for _ in range(3)]
    f.make_patient(site_b)
    for patient in mine:
        f.visit(patient, date=dt.date(2024, 1, 5)).save()
    evaluate([p.pk for p in mine], as_of=dt.date(2024, 6, 1))
    return mine


def test_an_api_list_writes_one_row_naming_every_patient_shown(neurologist_a, cohort):
    client = signed_in(neurologist_a)
    before = len(_reads())
    listed = client.get("/api/v1/status/", {"neda3": "unknown"})
    assert listed.status_code == 200 and listed.json()["count"] == 3
    rows = _reads()[before:]
    assert len(rows) == 1
    assert sorted(rows[0].after["patients"]) == sorted(p.pk for p in cohort)
    assert rows[0].after["query"] == {"neda3": "unknown"}
    assert rows[0].actor == neurologist_a and rows[0].model == "/api/v1/status/"


def test_a_detail_read_and_the_events_are_audited(neurologist_a, cohort):
    client = signed_in(neurologist_a)
    patient = cohort[0]
    before = len(_reads())
    assert client.get(f"/api/v1/status/{patient.public_id}/").status_code == 200
    assert (
        client.get("/api/v1/progression-events/", {"patient": str(patient.public_id)}).status_code
        == 200
    )
    rows = _reads()[before:]
    assert [r.patient for r in rows] == [patient, patient]


def test_an_empty_list_is_audited_with_its_query(neurologist_a, cohort):
    client = signed_in(neurologist_a)
    before = len(_reads())
    assert client.get("/api/v1/alerts/", {"severity": "high"}).json()["count"] == 0
    (row,) = _reads()[before:]
    assert row.after == {"patients": [], "query": {"severity": "high"}}


def test_the_admin_change_view_is_audited(client, patient):
    root = f.make_user("root", is_staff=True, is_superuser=True)
    client.force_login(root)
    assert client.get(f"/admin/patients/patient/{patient.pk}/change/").status_code == 200
    (row,) = _reads()
    assert row.patient == patient and row.actor == root


def test_record_lists_and_the_pages_write_one_row_each(client, neurologist_a, cohort):
    api = signed_in(neurologist_a)
    before = len(_reads())
    assert api.get("/api/v1/visits/").json()["count"] == 3
    assert api.get(f"/api/v1/patients/{cohort[0].public_id}/").status_code == 200
    client.force_login(neurologist_a)
    for url in ("/dashboard/", "/alerts/", "/patients/"):
        assert client.get(url).status_code == 200, url
    rows = _reads()[before:]
    assert [r.model for r in rows] == [
        "/api/v1/visits/",
        f"/api/v1/patients/{cohort[0].public_id}/",
        "dashboard",
        "inbox",
        "patients",
    ]
    assert sorted(rows[0].after["patients"]) == sorted(p.pk for p in cohort)
    assert rows[1].patient == cohort[0]
    assert sorted(rows[2].after["patients"]) == sorted(p.pk for p in cohort)

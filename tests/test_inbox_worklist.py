"""The alert inbox as a worklist: grouped by patient, filtered, acknowledged several at once,
evidence as links to the records, the finding's date beside the date raised."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert
from patients.models import AuditEvent, Membership
from tests import factories as f

pytestmark = pytest.mark.django_db


def _alert(patient, severity="high", rule="relapse_on_therapy", key="k", records=()):
    return Alert.objects.create(
        patient=patient,
        rule=rule,
        severity=severity,
        evidence_key=key,
        evidence={"records": list(records)},
        explanation=f"{rule} for {patient.mrn}",
        raised_at=timezone.now(),
    )


@pytest.fixture
def neuro_client(client, neurologist_a):
    client.force_login(neurologist_a)
    return client


def _groups(response) -> list[tuple[str, list[str]]]:
    return [
        (g["patient"].mrn, [a.severity for a in g["alerts"]]) for g in response.context["groups"]
    ]


def test_alerts_grouped_by_patient_most_severe_first(neuro_client, site_a):
    first, second = f.make_patient(site_a, mrn="P1"), f.make_patient(site_a, mrn="P2")
    _alert(first, "low", "mri_overdue", "a")
    _alert(second, "high", key="b")
    _alert(first, "high", key="c")
    _alert(second, "medium", "nfl", "d")
    # P1's high alert was raised last: most severe, then newest.
    assert _groups(neuro_client.get("/alerts/")) == [
        ("P1", ["high", "low"]),
        ("P2", ["high", "medium"]),
    ]


def test_filters_by_severity_rule_patient_and_site(neuro_client, neurologist_a, site_a, site_b):
    Membership.objects.create(user=neurologist_a, site=site_b, role="neurologist")
    anna = f.make_patient(site_a, mrn="P1", display_name="Anna Müller")
    bo = f.make_patient(site_b, mrn="P2", display_name="Bo Berg")
    _alert(anna, "high", key="a")
    _alert(anna, "low", "mri_overdue", "b")
    _alert(bo, "high", key="c")
    assert _groups(neuro_client.get("/alerts/", {"severity": "low"})) == [("P1", ["low"])]
    assert _groups(neuro_client.get("/alerts/", {"rule": "mri_overdue"})) == [("P1", ["low"])]
    assert _groups(neuro_client.get("/alerts/", {"patient": "muller"})) == [("P1", ["high", "low"])]
    assert _groups(neuro_client.get("/alerts/", {"site": "B"})) == [("P2", ["high"])]


@pytest.mark.parametrize(
    "params", [{"severity": "urgent"}, {"rule": "pira"}, {"state": "done"}, {"site": "ZZ"}]
)
def test_invalid_filters_are_answered(neuro_client, patient, params):
    _alert(patient)
    response = neuro_client.get("/alerts/", params)
    (message,) = [str(m) for m in response.context["messages"]]
    assert next(iter(params.values())) in message
    assert _groups(response) == [(patient.mrn, ["high"])]


def test_three_alerts_acknowledged_at_once_each_audited(neuro_client, site_a, site_b):
    patient = f.make_patient(site_a)
    mine = [_alert(patient, key=k) for k in "abc"]
    untouched = _alert(patient, key="d")
    elsewhere = _alert(f.make_patient(site_b), key="e")
    response = neuro_client.post(
        "/alerts/acknowledge/",
        {"alert": [str(a.public_id) for a in [*mine, elsewhere]], "next": "/alerts/"},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "3 alerts acknowledged.",
        "1 selected alert(s) could not be acknowledged by you.",
    ]
    states = {a.public_id: a.state for a in Alert.objects.all()}
    assert [states[a.public_id] for a in mine] == ["acknowledged"] * 3
    assert states[untouched.public_id] == states[elsewhere.public_id] == "open"
    assert AuditEvent.objects.filter(model="alerts.alert").count() == 3


def test_a_nurse_cannot_acknowledge_several(client, nurse_a, patient):
    alert = _alert(patient)
    client.force_login(nurse_a)
    assert b'form="bulk"' not in client.get("/alerts/").content
    client.post("/alerts/acknowledge/", {"alert": [str(alert.public_id)]})
    alert.refresh_from_db()
    assert alert.state == "open"
    assert client.post("/alerts/acknowledge/", {"alert": ["not-a-uuid"]}).status_code == 302


def test_evidence_as_links_and_the_finding_date(neuro_client, patient):
    relapse = {"model": "monitoring.relapse", "id": "0b7c", "date": "2024-03-01"}
    scan = {"model": "monitoring.mriscan", "id": "1c8d", "date": "2024-05-02"}
    _alert(patient, records=[relapse, scan])
    page = neuro_client.get("/alerts/").content.decode()
    assert f'href="/patients/{patient.public_id}/#r-0b7c">relapse 2024-03-01</a>' in page
    assert f'href="/patients/{patient.public_id}/#r-1c8d">MRI 2024-05-02</a>' in page
    assert "found 2 May 2024" in page and "raised " in page  # dates written alike
    assert "monitoring.relapse" not in page and "not_met" not in page


def test_worklist_queries_do_not_grow_with_filters_and_rows(neuro_client, site_a):
    def add(n):
        for _ in range(n):
            patient = f.make_patient(site_a, display_name="Same Name")
            _alert(
                patient,
                key=f"k{patient.pk}",
                records=[
                    {
                        "model": "monitoring.visit",
                        "id": "x",
                        "date": dt.date(2024, 1, 1).isoformat(),
                    }
                ],
            )

    add(2)
    params = {"patient": "same", "severity": "high"}
    with CaptureQueriesContext(connection) as few:
        neuro_client.get("/alerts/", params)
    add(8)
    with CaptureQueriesContext(connection) as many:
        neuro_client.get("/alerts/", params)
    assert len(many) == len(few)

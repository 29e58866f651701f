"""Status, progression events and alerts through the API: the permission matrix (neurologist
and nurse of site A, integration token of site B) and what each endpoint answers."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.models import Alert
from outcomes.models import PatientStatus
from patients.models import AuditEvent
from tests.factories import relapse, visit

pytestmark = pytest.mark.django_db

D = dt.date
ACTORS_OF_A = ["neurologist", "nurse"]


@pytest.fixture(params=[*ACTORS_OF_A, "integration_b"])
def actor(request):
    return request.param, request.getfixturevalue(request.param)


@pytest.fixture
def assessed(patient):
    """A PIRA under the default definition that the strict one calls undefined (a relapse
    within 90 days before the onset), assessed and stored."""
    for day, edss in [(D(2022, 1, 10), "2.0"), (D(2022, 7, 1), "3.5"), (D(2023, 1, 5), "3.5")]:
        visit(patient, date=day, edss=edss).save()
    relapse(patient, onset=D(2022, 2, 1)).save()
    evaluate([patient.pk], as_of=D(2023, 6, 1))
    return patient


def make_alert(patient, *, severity: str = "high", rule: str = "confirmed_pira", key: str = "k"):
    return Alert.objects.create(
        patient=patient,
        rule=rule,
        severity=severity,
        evidence_key=key,
        evidence={"visits": []},
        explanation=f"{rule} for {patient.mrn}",
        raised_at=timezone.now(),
    )


def test_status_matrix(actor, assessed):
    name, client = actor
    detail = f"/api/v1/status/{assessed.public_id}/"
    listed = client.get("/api/v1/status/", {"patient": str(assessed.public_id)}).json()
    if name in ACTORS_OF_A:
        assert listed["count"] == 1
        body = client.get(detail).json()
        assert body["patient"] == str(assessed.public_id)
        assert body["definition"]["name"] == "muller2023"
        assert [e["cdw_type"] for e in body["worsening"]] == ["PIRA"]
    else:
        assert listed["count"] == 0
        assert client.get(detail).status_code == 404
    for method in (client.post, client.put, client.patch, client.delete):
        assert method(detail, {}, format="json").status_code in (404, 405)


def test_progression_events_matrix(actor, assessed):
    name, client = actor
    url = "/api/v1/progression-events/"
    patient = str(assessed.public_id)
    default = client.get(url, {"patient": patient})
    strict = client.get(url, {"patient": patient, "definition": "muller2023-strict"})
    if name == "neurologist":
        assert default.json()["from_status"] is True
        assert [e["cdw_type"] for e in default.json()["events"]] == ["PIRA"]
        assert strict.status_code == 200 and strict.json()["from_status"] is False
        assert [e["cdw_type"] for e in strict.json()["events"]] == ["undefined"]
    elif name == "nurse":
        assert [e["cdw_type"] for e in default.json()["events"]] == ["PIRA"]
        assert strict.status_code == 403
    else:
        assert default.status_code == 404 and strict.status_code == 404


def test_progression_events_bad_queries(neurologist, assessed):
    url = "/api/v1/progression-events/"
    unknown = neurologist.get(url, {"patient": str(assessed.public_id), "definition": "nope"})
    assert unknown.status_code == 400 and "nope" in unknown.json()["definition"][0]
    assert neurologist.get(url).status_code == 400
    assert neurologist.get(url, {"patient": "x"}).status_code == 400
    stored = neurologist.get(url, {"patient": str(assessed.public_id), "definition": "muller2023"})
    assert stored.json()["from_status"] is True


def test_progression_events_on_another_outcome_are_computed(neurologist, assessed):
    body = neurologist.get(
        "/api/v1/progression-events/", {"patient": str(assessed.public_id), "outcome": "sdmt"}
    ).json()
    assert (body["outcome"], body["from_status"], body["events"]) == ("sdmt", False, [])


def test_alerts_matrix(actor, patient):
    name, client = actor
    alert = make_alert(patient)
    url = "/api/v1/alerts/"
    detail = f"{url}{alert.public_id}/"
    listed = client.get(url).json()
    acknowledged = client.post(f"{detail}acknowledge/")
    resolved = client.post(f"{detail}resolve/", {"resolution_note": "switched"}, format="json")
    alert.refresh_from_db()
    if name == "neurologist":
        assert listed["count"] == 1 and listed["results"][0]["id"] == str(alert.public_id)
        assert acknowledged.status_code == 200
        assert acknowledged.json()["acknowledged_by"] == "neuro-a"
        assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
        assert (alert.state, alert.resolution_note) == ("resolved", "switched")
        assert [e.actor_label for e in AuditEvent.objects.filter(model="alerts.alert")] == [
            "neuro-a",
            "neuro-a",
        ]
    elif name == "nurse":
        assert listed["count"] == 1 and client.get(detail).status_code == 200
        assert acknowledged.status_code == 403 and resolved.status_code == 403
        assert alert.state == "open"
    else:
        assert listed["count"] == 0 and client.get(detail).status_code == 404
        assert acknowledged.status_code == 404 and resolved.status_code == 404
        assert alert.state == "open"
    assert client.delete(detail).status_code in (404, 405)


def test_integration_of_the_site_reads_alerts_but_does_not_decide(integration_a, patient):
    alert = make_alert(patient)
    assert integration_a.get("/api/v1/alerts/").json()["count"] == 1
    assert integration_a.post(f"/api/v1/alerts/{alert.public_id}/acknowledge/").status_code == 403


def test_alert_filters_and_ordering(neurologist, patient):
    low = make_alert(patient, severity="low", rule="mri_overdue", key="a")
    high = make_alert(patient, severity="high", key="b")
    medium = make_alert(patient, severity="medium", rule="nfl", key="c")
    url = "/api/v1/alerts/"

    def ids(**query):
        return [a["id"] for a in neurologist.get(url, query).json()["results"]]

    assert ids() == [str(a.public_id) for a in (high, medium, low)]
    assert ids(ordering="-severity") == [str(a.public_id) for a in (low, medium, high)]
    assert ids(rule="nfl") == [str(medium.public_id)]
    assert ids(severity="low", patient=str(patient.public_id)) == [str(low.public_id)]
    assert ids(state="resolved") == []
    assert neurologist.get(url, {"severity": "extreme"}).status_code == 400


def test_resolve_needs_a_note(neurologist, patient):
    alert = make_alert(patient)
    response = neurologist.post(f"/api/v1/alerts/{alert.public_id}/resolve/", {}, format="json")
    assert response.status_code == 400 and "resolution_note" in response.json()
    blank = neurologist.post(
        f"/api/v1/alerts/{alert.public_id}/resolve/", {"resolution_note": " "}, format="json"
    )
    assert blank.status_code == 400 and "resolution_note" in blank.json()


def test_status_is_read_not_computed(neurologist, patient):
    assert neurologist.get(f"/api/v1/status/{patient.public_id}/").status_code == 404
    assert not PatientStatus.objects.exists()


def test_anonymous_callers_are_asked_to_authenticate(client, patient):
    for endpoint in ("status", "alerts", "progression-events"):
        assert client.get(f"/api/v1/{endpoint}/").status_code == 401


def test_clinic_alert_urls_keep_their_names():
    assert reverse("alert-acknowledge", args=[uuid.UUID(int=1)]).startswith("/alerts/")
    assert reverse("alert-resolve", args=[uuid.UUID(int=1)]).startswith("/alerts/")

"""The cohort dashboard and the alert inbox: scoped, sorted by concern, fixed query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.concern import rank
from alerts.evaluation import evaluate
from alerts.models import Alert
from outcomes.models import PatientStatus
from patients.actions import Actor, save_record
from patients.models import AuditEvent, Therapy, TherapyCourse
from tests import factories as f

pytestmark = pytest.mark.django_db


# Statuses and alerts are made directly here; the evaluation keeps each patient's rank of
# concern and next due date as it stores them (alerts.concern.rank), so these helpers do too.
def _status(patient, neda3="met", course=None):
    status = PatientStatus.objects.create(
        patient=patient,
        as_of=timezone.localdate(),
        computed_at=timezone.now(),
        definition={"name": "muller2023"},
        engine_version="test",
        neda3=neda3,
        neda4="unknown",
        therapy_course=course,
    )
    rank([patient.pk])
    return status


def _alert(patient, severity="high", rule="confirmed_pira", key="k", state="open"):
    now = timezone.now()
    alert = Alert.objects.create(
        patient=patient,
        rule=rule,
        severity=severity,
        evidence_key=key,
        evidence={"visits": []},
        explanation=f"{rule} for {patient.mrn}",
        raised_at=now,
        state=state,
        resolved_at=now if state == "resolved" else None,
        resolution_note="cleared" if state == "resolved" else "",
    )
    rank([patient.pk])
    return alert


@pytest.fixture
def neuro_client(client, neurologist_a):
    client.force_login(neurologist_a)
    return client


def test_dashboard_sorts_by_concern_and_hides_other_sites(neuro_client, site_a, site_b):
    calm, lost, alarming, medium = (f.make_patient(site_a, mrn=m) for m in "ABCD")
    _status(calm, "met")
    _status(lost, "not_met")
    _status(alarming, "met")
    _status(medium, "unknown")
    _alert(alarming, "high")
    _alert(medium, "medium")
    _alert(calm, "high", state="resolved")
    other = f.make_patient(site_b, mrn="Z")
    _alert(other, "high")
    rows = list(neuro_client.get("/dashboard/").context["page"])
    assert [p.mrn for p in rows] == ["C", "D", "B", "A"]


def test_dashboard_filters_and_rates(neuro_client, site_a):
    ocrelizumab = Therapy.objects.get(code="ocrelizumab")
    fingolimod = Therapy.objects.get(code="fingolimod")
    for index, (therapy, neda3) in enumerate(
        [
            (ocrelizumab, "met"),
            (ocrelizumab, "met"),
            (ocrelizumab, "not_met"),
            (fingolimod, "not_met"),
            (fingolimod, "unknown"),
        ]
    ):
        patient = f.make_patient(site_a, mrn=f"P{index}")
        course = TherapyCourse.objects.create(
            patient=patient, therapy=therapy, start=dt.date(2022, 1, 1)
        )
        _status(patient, neda3, course)
        for key in "abc":  # alerts must not multiply a patient in the rates
            _alert(patient, key=key)
    page = neuro_client.get("/dashboard/rates/")
    rates = {
        r["therapy"]: (r["rate"], r["met"], r["known"], r["unknown"]) for r in page.context["rates"]
    }
    assert rates == {"Ocrelizumab": (67, 2, 3, 0), "Fingolimod": (0, 0, 1, 1)}
    assert "67 % (2 of 3)" in page.content.decode()
    narrowed = neuro_client.get("/dashboard/rates/", {"therapy": "fingolimod"})
    assert [r["therapy"] for r in narrowed.context["rates"]] == ["Fingolimod"]
    # The dashboard's search and alert filter are kept by the rates page's own form, and
    # are there to see and to undo.
    found = neuro_client.get("/dashboard/rates/", {"q": "P3", "alert": "any"})
    assert [(r["therapy"], r["patients"]) for r in found.context["rates"]] == [("Fingolimod", 1)]
    form = found.content.decode()
    assert 'name="q" value="P3"' in form and 'name="alert" value="any"' in form
    assert '<a href="/dashboard/rates/">all patients</a>' in form
    assert 'href="/dashboard/?q=P3&amp;alert=any">back to the patients' in form
    only = neuro_client.get("/dashboard/", {"therapy": "fingolimod", "neda3": "unknown"})
    assert [p.mrn for p in only.context["page"]] == ["P4"]


def test_dashboard_and_inbox_queries_do_not_grow_with_rows(neuro_client, site_a):
    def add(n):
        for _ in range(n):
            patient = f.make_patient(site_a)
            _status(patient, "not_met")
            _alert(patient, "high", key=f"k{patient.pk}")
            _alert(patient, "low", rule="mri_overdue", key=f"o{patient.pk}")

    add(2)
    counts = {}
    for url in ("/dashboard/", "/alerts/"):
        with CaptureQueriesContext(connection) as few:
            assert neuro_client.get(url).status_code == 200
        counts[url] = len(few)
    add(10)
    for url in ("/dashboard/", "/alerts/"):
        with CaptureQueriesContext(connection) as many:
            neuro_client.get(url)
        assert len(many) == counts[url], url


def test_inbox_orders_by_severity_and_acknowledge_then_resolve(neuro_client, patient):
    low = _alert(patient, "low", rule="mri_overdue", key="a")
    high = _alert(patient, "high", key="b")
    listed = list(neuro_client.get("/alerts/").context["page"])
    assert listed == [high, low]
    neuro_client.post(f"/alerts/{high.public_id}/acknowledge/", {"next": "/alerts/"})
    high.refresh_from_db()
    assert high.state == "acknowledged" and high.acknowledged_by.username == "neuro-a"
    refused = neuro_client.post(
        f"/alerts/{high.public_id}/resolve/", {"resolution_note": " "}, follow=True
    )
    assert b"say how the alert was dealt with" in refused.content
    neuro_client.post(f"/alerts/{high.public_id}/resolve/", {"resolution_note": "therapy switched"})
    high.refresh_from_db()
    assert (high.state, high.resolution_note) == ("resolved", "therapy switched")
    assert AuditEvent.objects.filter(model="alerts.alert").count() == 2
    assert list(neuro_client.get("/alerts/").context["page"]) == [low]


def test_nurse_cannot_resolve_and_other_site_cannot_touch(client, nurse_a, user_b, patient):
    alert = _alert(patient)
    client.force_login(nurse_a)
    inbox = client.get("/alerts/")
    assert b'name="resolution_note"' not in inbox.content
    assert b">Acknowledge</button>" not in inbox.content
    client.post(f"/alerts/{alert.public_id}/resolve/", {"resolution_note": "done"})
    alert.refresh_from_db()
    assert alert.state != "resolved"
    client.force_login(user_b)
    assert client.post(f"/alerts/{alert.public_id}/acknowledge/").status_code == 404
    assert list(client.get("/alerts/").context["page"]) == []


def test_dashboard_shows_the_latest_worsening_of_the_course(neuro_client, patient):
    for day, edss in (
        (dt.date(2019, 9, 1), "2.0"),
        (dt.date(2020, 3, 1), "3.0"),
        (dt.date(2020, 6, 1), "3.0"),
        (dt.date(2023, 6, 1), "3.0"),
        (dt.date(2024, 3, 1), "4.0"),
        (dt.date(2024, 6, 1), "4.0"),
    ):
        f.visit(patient, date=day, edss=Decimal(edss)).save()
    evaluate([patient.pk], as_of=dt.date(2024, 7, 1))
    stored = PatientStatus.objects.get(patient=patient).worsening
    assert [(e["onset"]["date"], e["recent"]) for e in stored] == [
        ("2024-03-01", True),
        ("2020-03-01", False),
    ]
    row = neuro_client.get("/dashboard/").content.decode()
    assert "2024-03-01" in row and "2020-03-01" not in row


def test_dashboard_safety_column_counts_unresolved_safety_alerts(neuro_client, site_a):
    patient = f.make_patient(site_a)
    _status(patient)
    _alert(patient, "medium", "safety_test_overdue", key="a")
    _alert(patient, "medium", "jcv_overdue", key="b")
    _alert(patient, "high", "lab_out_of_range", key="c")
    _alert(patient, "high", "lab_out_of_range", key="d", state="resolved")
    page = neuro_client.get("/dashboard/").content.decode()
    cell = page.split('<td class="safety">')[1].split("</td>")[0]
    assert "1 out of range" in cell and "2 overdue" in cell


def test_the_order_of_concern_follows_the_evaluation_and_a_resolved_alert(
    neuro_client, site_a, django_capture_on_commit_callbacks
):
    """Through the user's path: visits saved (evaluated on commit), a PIRA alert raised,
    the patient first on the dashboard with its next visit due; resolved on the page, the
    patient drops back behind one whose NEDA-3 is unknown."""
    worsening, quiet = f.make_patient(site_a, mrn="W"), f.make_patient(site_a, mrn="Q")
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        for days, edss in ((400, "2.0"), (200, "3.0"), (100, "3.0")):
            save_record(
                f.visit(worsening, date=today - dt.timedelta(days=days), edss=Decimal(edss)),
                actor=Actor.system("test"),
            )
        save_record(
            f.visit(quiet, date=today - dt.timedelta(days=30), edss=Decimal("1.0")),
            actor=Actor.system("test"),
        )
    pira = Alert.objects.get(patient=worsening, rule="confirmed_pira")
    worsening.refresh_from_db()
    status = PatientStatus.objects.get(patient=worsening)
    assert worsening.next_due == min(d for d in (status.mri_due, status.edss_due) if d)
    page = neuro_client.get("/dashboard/").context["page"]
    assert next(p.mrn for p in page) == "W"
    neuro_client.post(f"/alerts/{pira.public_id}/resolve/", {"resolution_note": "discussed"})
    rows = list(neuro_client.get("/dashboard/").context["page"])
    by_mrn = {p.mrn: p for p in rows}
    expected = sorted(rows, key=lambda p: (-p.concern, p.mrn))
    assert rows == expected and by_mrn["W"].high == 0
    worsening.refresh_from_db()
    assert worsening.concern < 1_000_000  # no open high alert counted any more


def test_long_worklists_count_to_the_cap_and_say_more_than(neuro_client, site_a, monkeypatch):
    """Past the cap the dashboard and the inbox say "more than" instead of counting every
    row; under it they count exactly. Bad filters on the rates page are named, not ignored."""
    from clinic import paging

    for index in range(4):
        patient = f.make_patient(site_a, mrn=f"C{index}")
        _alert(patient, "high", key=f"c{index}")
    monkeypatch.setattr(paging, "CAP", 3)
    for url, what in (("/dashboard/", "patients"), ("/alerts/", "alerts")):
        page = neuro_client.get(url)
        assert page.context["page"].paginator.capped, url
        assert f"more than 3 {what}" in page.content.decode(), url
    monkeypatch.setattr(paging, "CAP", 10)
    exact = neuro_client.get("/dashboard/")
    assert not exact.context["page"].paginator.capped
    assert "(4 patients)" in exact.content.decode()
    refused = neuro_client.get("/dashboard/rates/", {"neda3": "maybe"}, follow=True)
    assert "NEDA-3 state “maybe” is not one of the choices" in refused.content.decode()


def test_the_evaluation_ranks_from_what_it_stored(site_a):
    """The evaluation ranks from its assessments, not from the stored rows: a rank read
    back from the database afterwards finds nothing to change (concern, next due date and
    the current therapy's name all agree)."""
    today = timezone.localdate()
    on_therapy, untreated = f.make_patient(site_a, mrn="T"), f.make_patient(site_a, mrn="U")
    f.therapy_course(on_therapy, start=today - dt.timedelta(days=900)).save()
    for patient in (on_therapy, untreated):
        for days, edss in ((800, "2.0"), (500, "3.0"), (300, "3.0")):
            f.visit(patient, date=today - dt.timedelta(days=days), edss=Decimal(edss)).save()
    evaluate([on_therapy.pk, untreated.pk])
    on_therapy.refresh_from_db()
    assert on_therapy.therapy_name and on_therapy.next_due and on_therapy.concern > 0
    assert rank([on_therapy.pk, untreated.pk]) == 0

"""Safety records in the browser-facing views: a nurse enters a JCV result and the JCV alert
clears; a lab result in a unit that cannot be converted is refused under "unit"; the
patient page lists labs with out-of-range values marked and what is due."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.models import Alert, AlertState, Rule
from monitoring.models import LabResult
from patients.actions import Actor, save_record
from patients.models import AuditEvent, Therapy, TherapyCourse
from tests import factories as f

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


@pytest.fixture
def nurse_client(client, nurse_a):
    client.force_login(nurse_a)
    return client


def on_natalizumab(patient, days: int = 400) -> None:
    today = timezone.localdate()
    therapy = Therapy.objects.get(code="natalizumab")
    start = today - dt.timedelta(days=days)
    save_record(TherapyCourse(patient=patient, therapy=therapy, start=start), actor=SYSTEM)
    old = f.lab_result(patient, "jcv-index", date=start - dt.timedelta(days=10), text="negative")
    save_record(old, actor=SYSTEM)


def test_nurse_enters_a_jcv_result_and_the_alert_clears(
    nurse_client, patient, django_capture_on_commit_callbacks
):
    on_natalizumab(patient)
    evaluate([patient.pk])
    [alert] = Alert.objects.filter(patient=patient, rule=Rule.JCV_OVERDUE)
    url = f"/patients/{patient.public_id}/new/jcv/"
    assert b"Antibody index" in nurse_client.get(url).content
    with django_capture_on_commit_callbacks(execute=True):
        response = nurse_client.post(
            url, {"date": timezone.localdate().isoformat(), "text": "positive", "value": "0.42"}
        )
    assert response.status_code == 302
    result = LabResult.objects.get(patient=patient, date=timezone.localdate())
    assert (result.analyte.code, result.value, result.text) == (
        "jcv-index",
        Decimal("0.42"),
        "positive",
    )
    assert AuditEvent.objects.filter(model="monitoring.labresult", actor_label="nurse-a").exists()
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


def test_jcv_form_names_the_field_of_bad_input(nurse_client, patient):
    url = f"/patients/{patient.public_id}/new/jcv/"
    response = nurse_client.post(url, {"date": "2999-01-01", "text": "", "value": "-1"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "is in the future" in " ".join(errors["date"])
    assert "text" in errors and "cannot be negative" in " ".join(errors["value"])
    assert not LabResult.all_records.exists()


def test_lab_form_refuses_a_unit_it_cannot_convert(nurse_client, patient):
    url = f"/patients/{patient.public_id}/new/lab/"
    platelets = f.lab_result(patient, "platelets").analyte
    response = nurse_client.post(
        url, {"analyte": platelets.pk, "date": "2025-01-10", "value": "150", "unit": "mg/dL"}
    )
    assert response.status_code == 200
    assert "cannot be converted to 10*9/L" in " ".join(response.context["form"].errors["unit"])


def test_patient_page_lists_labs_with_out_of_range_marked_and_due_tests(nurse_client, patient):
    on_natalizumab(patient, days=100)
    low = f.lab_result(
        patient, "platelets", date=timezone.localdate(), value=Decimal(90), lower_limit=Decimal(150)
    )
    save_record(low, actor=SYSTEM)
    page = nurse_client.get(f"/patients/{patient.public_id}/").content.decode()
    assert 'id="safety"' in page
    assert '<tr class="out-of-range">' in page and "90 10*9/L" in page
    assert 'data-item="natalizumab-jcv"' in page


def test_the_lab_form_does_not_offer_the_brain_mri(nurse_client, patient):
    page = nurse_client.get(f"/patients/{patient.public_id}/new/lab/").content.decode()
    assert "Platelets" in page and "Brain MRI" not in page


def test_a_pregnancy_on_the_timeline_in_the_records_and_explaining_an_overdue_test(
    nurse_client, patient, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    on_natalizumab(patient, days=400)  # the JCV test after the one before start is overdue
    start = today - dt.timedelta(days=300)
    url = f"/patients/{patient.public_id}/new/pregnancy/"
    with django_capture_on_commit_callbacks(execute=True):
        response = nurse_client.post(
            url,
            {
                "start": start.isoformat(),
                "due_date": (start + dt.timedelta(days=280)).isoformat(),
                "end": "",
                "outcome": "ongoing",
                "therapy_action": "paused",
            },
        )
    assert response.status_code == 302
    evaluate([patient.pk])
    response = nurse_client.get(f"/patients/{patient.public_id}/")
    figure = response.context["timeline"]
    [band] = [t for t in figure["data"] if t["name"] == "Pregnancy"]
    assert (band["x"][0], band["x"][1]) == (start.isoformat(), today.isoformat())
    assert band["yaxis"] == "y" and band["hoveron"] == "fills"
    assert band["text"].startswith(f"Pregnancy from {start.isoformat()}, ongoing, due ")
    assert band["text"].endswith("; therapy paused")
    dashed = [s for s in figure["layout"]["shapes"] if s["line"].get("dash") == "dash"]
    assert [s["x0"] for s in dashed] == [start.isoformat()]  # ongoing: no end line
    page = response.content.decode()
    assert 'id="pregnancies"' in page and "<td>Paused</td>" in page
    due_row = page[page.index('data-item="natalizumab-jcv"') :].split("</tr>")[0]
    assert f"during a pregnancy from {start.isoformat()}, ongoing (therapy paused)" in due_row
    [alert] = Alert.objects.filter(patient=patient, rule=Rule.JCV_OVERDUE)
    assert "A pregnancy explains the gap" in alert.explanation
    assert html.escape(alert.explanation) in page

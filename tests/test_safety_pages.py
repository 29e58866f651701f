"""Safety records in the browser-facing views: a nurse enters a JCV result and the JCV alert
clears; a lab result in a unit that cannot be converted is refused under "unit"; the
patient page lists labs with out-of-range values marked and what is due, lists adverse
events and comorbidities, and corrects and withdraws them from their rows; the timeline
shows status changes, adverse events and the onsets of comorbidities on its time axis, and
the safety labs on request."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from alerts.evaluation import evaluate
from alerts.models import Alert, AlertState, Rule
from monitoring.models import AdverseEvent, Comorbidity, LabResult
from outcomes.models import ChangeKind, StatusChange
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
    row = page[page.index(f'<tr class="out-of-range" data-record="{low.public_id}"') :]
    row = row.split("</tr>")[0]
    assert "90 10*9/L" in row
    base = f"/patients/{patient.public_id}/lab/{low.public_id}/"
    assert f'href="{base}edit/"' in row and f'href="{base}error/"' in row
    assert 'data-item="natalizumab-jcv"' in page


def test_the_lab_form_does_not_offer_the_brain_mri(nurse_client, patient):
    page = nurse_client.get(f"/patients/{patient.public_id}/new/lab/").content.decode()
    assert "Platelets" in page and "Brain MRI" not in page


@pytest.mark.parametrize(("action", "postpartum"), [("paused", True), ("continued", False)])
def test_an_ended_pregnancy_is_followed_on_the_timeline_by_its_postpartum_months(
    nurse_client, patient, action, postpartum
):
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=300), today - dt.timedelta(days=30)
    response = nurse_client.post(
        f"/patients/{patient.public_id}/new/pregnancy/",
        {
            "start": start.isoformat(),
            "due_date": (start + dt.timedelta(days=280)).isoformat(),
            "end": end.isoformat(),
            "outcome": "live_birth",
            "therapy_action": action,
        },
    )
    assert response.status_code == 302
    figure = nurse_client.get(f"/patients/{patient.public_id}/").context["timeline"]
    bands = [t for t in figure["data"] if t["name"] == "Postpartum"]
    if not postpartum:
        assert bands == []
        return
    [band] = bands
    # Three months after the end lie past today: the band stops today.
    assert (band["x"][0], band["x"][1]) == (end.isoformat(), today.isoformat())
    assert band["text"].startswith("Postpartum to ")


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
    assert f"in a pregnancy from {start.isoformat()}, ongoing (therapy paused)" in due_row
    [alert] = Alert.objects.filter(patient=patient, rule=Rule.JCV_OVERDUE)
    assert "A pregnancy explains the gap" in alert.explanation
    assert html.escape(alert.explanation) in page


def _row(page: str, record_id) -> str:
    """The patient page's table row of one record (empty when it is not listed)."""
    marker = f'data-record="{record_id}"'
    if marker not in page:
        return ""
    start = page.rindex("<tr", 0, page.index(marker))
    return page[start : page.index("</tr>", start)]


def test_nurse_enters_an_adverse_event_sees_it_listed_corrects_it_and_withdraws_it(
    nurse_client, patient
):
    today = timezone.localdate()
    ocrelizumab = Therapy.objects.get(code="ocrelizumab")
    base = f"/patients/{patient.public_id}/"
    form = nurse_client.get(base + "new/adverse-event/")
    assert "suspected_therapy" in form.context["form"].fields
    response = nurse_client.post(
        base + "new/adverse-event/",
        {
            "date": (today - dt.timedelta(days=20)).isoformat(),
            "term": "Infusion-related reaction",
            "serious": "",
            "suspected_therapy": ocrelizumab.pk,
            "outcome": "recovering",
        },
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        f"Adverse event saved for {patient.mrn}."
    ]
    event = AdverseEvent.objects.get(patient=patient)
    page = response.content.decode()
    assert 'id="adverse-events"' in page
    row = _row(page, event.public_id)
    for words in ("Infusion-related reaction", "Ocrelizumab", "Recovering", "<td>no</td>"):
        assert words in row, words
    edit = f"{base}adverse-event/{event.public_id}/edit/"
    error = f"{base}adverse-event/{event.public_id}/error/"
    assert f'href="{edit}"' in row and f'href="{error}"' in row
    # On the timeline too, in words, on the strip below the panels.
    [marker] = [t for t in response.context["timeline"]["data"] if t["name"] == "Adverse event"]
    assert marker["customdata"] == [
        "adverse event: Infusion-related reaction (not serious, suspected Ocrelizumab, "
        "outcome recovering)"
    ]

    # Corrected from the table's link: serious after all, resolved; audited.
    assert nurse_client.get(edit).context["form"].initial["term"] == "Infusion-related reaction"
    refused = nurse_client.post(edit, {"date": today.isoformat(), "term": "  ", "outcome": "x"})
    assert {"term", "outcome"} <= set(refused.context["form"].errors)
    response = nurse_client.post(
        edit,
        {
            "date": (today - dt.timedelta(days=20)).isoformat(),
            "term": "Infusion-related reaction",
            "serious": "on",
            "suspected_therapy": ocrelizumab.pk,
            "outcome": "resolved",
        },
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        f"Correction saved for {patient.mrn}."
    ]
    row = _row(response.content.decode(), event.public_id)
    assert "<strong>serious</strong>" in row and "Resolved" in row
    change = AuditEvent.objects.get(model="monitoring.adverseevent", action="update")
    assert (change.before["serious"], change.after["serious"]) == (False, True)
    assert change.actor_label == "nurse-a"

    # Marked entered in error: a reason is required; kept, audited, off the page.
    assert "reason" in nurse_client.post(error, {"reason": ""}).context["form"].errors
    response = nurse_client.post(error, {"reason": "another patient's event"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        f"Adverse event {event.date}: Infusion-related reaction marked entered in error."
    ]
    page = response.content.decode()
    assert _row(page, event.public_id) == "" and "No adverse event recorded." in page
    assert not AdverseEvent.objects.filter(pk=event.pk).exists()
    kept = AdverseEvent.all_records.get(pk=event.pk)
    assert kept.entered_in_error_reason == "another patient's event"
    assert AuditEvent.objects.filter(
        model="monitoring.adverseevent", action="entered_in_error", actor_label="nurse-a"
    ).exists()
    assert nurse_client.get(edit).status_code == 404
    assert not [t for t in response.context["timeline"]["data"] if "dverse" in t["name"]]


def test_a_lab_result_is_corrected_and_withdrawn_from_its_row(nurse_client, patient):
    lab = save_record(
        f.lab_result(patient, "platelets", value=Decimal(90), lower_limit=Decimal(150)),
        actor=SYSTEM,
    )
    base = f"/patients/{patient.public_id}/lab/{lab.public_id}/"
    response = nurse_client.post(
        base + "edit/",
        {
            "analyte": lab.analyte.pk,
            "date": lab.date.isoformat(),
            "value": "190",
            "unit": "10*9/L",
            "lower_limit": "150",
        },
        follow=True,
    )
    assert response.status_code == 200
    row = _row(response.content.decode(), lab.public_id)
    assert "190 10*9/L" in row and "out of range" not in row
    nurse_client.post(base + "error/", {"reason": "haemolysed sample"})
    page = nurse_client.get(f"/patients/{patient.public_id}/").content.decode()
    assert _row(page, lab.public_id) == ""
    assert LabResult.all_records.get(pk=lab.pk).entered_in_error_reason == "haemolysed sample"


def test_status_changes_on_the_timeline_and_safety_labs_on_request(
    nurse_client, patient, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    therapy = Therapy.objects.get(code="ocrelizumab")
    start = today - dt.timedelta(days=700)
    save_record(TherapyCourse(patient=patient, therapy=therapy, start=start), actor=SYSTEM)
    for days in (600, 400, 200, 30):
        save_record(f.visit(patient, date=today - dt.timedelta(days=days)), actor=SYSTEM)
    evaluate([patient.pk])  # the first status: a change is a flip from it
    save_record(f.relapse(patient, onset=today - dt.timedelta(days=60)), actor=SYSTEM)
    igg = save_record(
        f.lab_result(
            patient,
            "igg",
            date=today - dt.timedelta(days=90),
            value=Decimal("5.5"),
            lower_limit=Decimal(7),
            upper_limit=Decimal(16),
        ),
        actor=SYSTEM,
    )
    evaluate([patient.pk])
    [change] = StatusChange.objects.filter(patient=patient, kind=ChangeKind.NEDA3_LOST)
    url = f"/patients/{patient.public_id}/"

    figure = nurse_client.get(url).context["timeline"]
    [lost] = [t for t in figure["data"] if t["name"] == "NEDA lost or worsening seen"]
    assert lost["x"] == [change.as_of.isoformat()]
    assert lost["customdata"][0].startswith(f"NEDA-3 lost. {html.escape(change.explanation)}")
    assert figure["layout"]["xaxis"]["anchor"] == lost["yaxis"]  # the strip on the time axis
    assert not [t for t in figure["data"] if t["name"].startswith("Serum IgG")]

    response = nurse_client.get(url, {"labs": "1", "functional": "1"})
    figure = response.context["timeline"]
    [series] = [t for t in figure["data"] if t["name"] == igg.analyte.name]
    assert series["y"] == [5.5]
    assert "out of range" in series["customdata"][0]
    [marked] = [t for t in figure["data"] if t["name"] == "Lab result out of range"]
    assert marked["x"] == [igg.date.isoformat()]
    assert [t for t in figure["data"] if t["name"] == "T25FW (s)"]
    page = response.content.decode()
    # Each toggle keeps the other's state.
    functional_form, labs_form = page.split("Hide T25FW, 9HPT and SDMT")
    assert '<input type="hidden" name="labs" value="1">' in functional_form.split("<form")[-1]
    labs_form = labs_form.split("</form>")[1]
    assert "Hide safety labs" in labs_form
    assert '<input type="hidden" name="functional" value="1">' in labs_form


def test_due_next_names_the_soonest_tests_of_the_safety_protocol(
    nurse_client, patient, django_capture_on_commit_callbacks
):
    """On alemtuzumab the protocol asks for monthly blood counts, creatinine and urinalysis
    [§7.1]: the overview's "Due next" names them beside MRI and EDSS, not only the card."""
    start = timezone.localdate() - dt.timedelta(days=90)
    with django_capture_on_commit_callbacks(execute=True):
        save_record(
            TherapyCourse(
                patient=patient,
                therapy=Therapy.objects.get(code="alemtuzumab"),
                start=start,
                end=start + dt.timedelta(days=4),
            ),
            actor=SYSTEM,
        )
    response = nurse_client.get(f"/patients/{patient.public_id}/")
    due = response.context["due"]
    card = [d for d in response.context["safety"]["due"] if d.item.analyte not in ("jcv-index",)]
    assert card, "the protocol has tests due"
    soonest = {d.item.label or d.item.analyte for d in card[:3]}
    assert soonest <= {what for _, what in due}
    assert [day for day, _ in due] == sorted(day for day, _ in due)
    page = response.content.decode()
    overview = page[page.index("<h2>Due next</h2>") :].split("</ul>")[0]
    assert all(html.escape(what) in overview for what in soonest)


def test_comorbidity_form_names_the_field_of_bad_input(nurse_client, patient):
    url = f"/patients/{patient.public_id}/new/comorbidity/"
    form = nurse_client.get(url).context["form"]
    assert list(form.fields) == ["condition", "code", "onset", "resolved", "notes"]
    response = nurse_client.post(
        url, {"condition": "  ", "code": "E11.9", "onset": "2999-01-01", "resolved": ""}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"condition", "code", "onset"}
    assert "'E11.9' is not a SNOMED CT code (6 to 18 digits)" in errors["code"]
    assert "2999-01-01 is in the future" in errors["onset"]
    response = nurse_client.post(
        url,
        {"condition": "Asthma", "code": "", "onset": "2019-06-01", "resolved": "2019-05-01"},
    )
    assert response.context["form"].errors == {
        "resolved": ["resolved (2019-05-01) before its onset (2019-06-01)"]
    }
    before_birth = nurse_client.post(url, {"condition": "Asthma", "onset": "1980-01-01"})
    assert "before the patient's birth" in " ".join(before_birth.context["form"].errors["onset"])
    assert not Comorbidity.all_records.exists()


def test_nurse_enters_a_comorbidity_sees_it_listed_corrects_it_and_withdraws_it(
    nurse_client, patient
):
    today = timezone.localdate()
    onset = today - dt.timedelta(days=20)
    base = f"/patients/{patient.public_id}/"
    assert f'href="{base}new/comorbidity/"' in nurse_client.get(base).content.decode()
    response = nurse_client.post(
        base + "new/comorbidity/",
        {
            "condition": "Type 2 diabetes",
            "code": "44054006",
            "onset": onset.isoformat(),
            "resolved": "",
            "notes": "on metformin",
        },
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        f"Comorbidity saved for {patient.mrn}."
    ]
    diabetes = Comorbidity.objects.get(patient=patient)
    # One that began long before the MS: listed, but it does not stretch the time axis.
    asthma = save_record(
        Comorbidity(patient=patient, condition="Asthma", onset=dt.date(1995, 5, 1)), actor=SYSTEM
    )
    response = nurse_client.get(base)
    page = response.content.decode()
    assert 'id="comorbidities"' in page
    row = _row(page, diabetes.public_id)
    for words in ("Type 2 diabetes", "44054006", "on metformin", "<td>active</td>"):
        assert words in row, words
    assert "Asthma" in _row(page, asthma.public_id)
    edit = f"{base}comorbidity/{diabetes.public_id}/edit/"
    error = f"{base}comorbidity/{diabetes.public_id}/error/"
    assert f'href="{edit}"' in row and f'href="{error}"' in row
    figure = response.context["timeline"]
    [marker] = [t for t in figure["data"] if t["name"] == "Comorbidity"]
    assert marker["x"] == [onset.isoformat()]
    assert marker["customdata"] == ["comorbidity: Type 2 diabetes (active)"]
    assert figure["layout"]["xaxis"]["range"][0] > "1995-05-01"

    # Corrected from the table's link: resolved; audited.
    assert nurse_client.get(edit).context["form"].initial["condition"] == "Type 2 diabetes"
    response = nurse_client.post(
        edit,
        {
            "condition": "Type 2 diabetes",
            "code": "44054006",
            "onset": onset.isoformat(),
            "resolved": today.isoformat(),
            "notes": "on metformin",
        },
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        f"Correction saved for {patient.mrn}."
    ]
    row = _row(response.content.decode(), diabetes.public_id)
    assert f"<td>{date_format(today)}</td>" in row and "active" not in row
    change = AuditEvent.objects.get(model="monitoring.comorbidity", action="update")
    assert (change.before["resolved"], change.after["resolved"]) == (None, today.isoformat())
    assert change.actor_label == "nurse-a"

    # Marked entered in error: a reason is required; kept, audited, off the page.
    assert "reason" in nurse_client.post(error, {"reason": ""}).context["form"].errors
    response = nurse_client.post(error, {"reason": "another patient's"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        f"Comorbidity from {onset}: Type 2 diabetes marked entered in error."
    ]
    assert _row(response.content.decode(), diabetes.public_id) == ""
    assert (
        Comorbidity.all_records.get(pk=diabetes.pk).entered_in_error_reason == "another patient's"
    )
    assert AuditEvent.objects.filter(
        model="monitoring.comorbidity", action="entered_in_error", actor_label="nurse-a"
    ).exists()
    assert nurse_client.get(edit).status_code == 404
    assert not [t for t in response.context["timeline"]["data"] if t["name"] == "Comorbidity"]


def test_another_sites_comorbidities_cannot_be_seen_entered_or_corrected(client, user_b, patient):
    asthma = save_record(
        Comorbidity(patient=patient, condition="Asthma", onset=dt.date(1995, 5, 1)), actor=SYSTEM
    )
    client.force_login(user_b)
    base = f"/patients/{patient.public_id}/"
    assert client.get(base).status_code == 404
    new = client.post(base + "new/comorbidity/", {"condition": "Gout", "onset": "2020-01-01"})
    assert new.status_code == 404
    edit = f"{base}comorbidity/{asthma.public_id}/"
    assert (
        client.post(edit + "edit/", {"condition": "Gout", "onset": "2020-01-01"}).status_code == 404
    )
    assert client.post(edit + "error/", {"reason": "x"}).status_code == 404
    assert [m.condition for m in Comorbidity.objects.all()] == ["Asthma"]
    assert (
        not AuditEvent.objects.filter(model="monitoring.comorbidity")
        .exclude(actor_label="test")
        .exists()
    )

"""Nurse data entry and the patient page, through the browser-facing views."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.evaluation import evaluate
from monitoring.models import Relapse, Visit
from patients.models import AuditEvent, Membership, TherapyCourse
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def nurse_client(client, nurse_a):
    client.force_login(nurse_a)
    return client


def test_patient_search_finds_by_mrn_and_name_within_own_sites(nurse_client, site_a, site_b):
    f.make_patient(site_a, mrn="A-100", display_name="Ada Lovelace")
    f.make_patient(site_a, mrn="A-200", display_name="Mary Somerville")
    f.make_patient(site_b, mrn="A-300", display_name="Ada Other")
    found = nurse_client.get("/patients/", {"q": "ada"}).context["page"].object_list
    assert [p.mrn for p in found] == ["A-100"]
    found = nurse_client.get("/patients/", {"q": "A-"}).context["page"].object_list
    assert [p.mrn for p in found] == ["A-100", "A-200"]


def test_nurse_enters_a_visit(nurse_client, patient):
    url = f"/patients/{patient.public_id}/new/visit/"
    page = nurse_client.get(url)
    assert b'<option value="3.5">3.5</option>' in page.content
    assert b'<option value="0.5">' not in page.content
    response = nurse_client.post(
        url, {"date": "2024-06-01", "edss": "3.5", "sdmt": "50", "scheduled": "on"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{patient.public_id}/"
    visit = Visit.objects.get(patient=patient)
    assert (visit.edss, visit.sdmt) == (Decimal("3.5"), 50)
    assert AuditEvent.objects.get(model="monitoring.visit").actor_label == "nurse-a"


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"edss": "3.25"}, "edss", b"Select a valid choice"),
        (
            {"date": (timezone.localdate() + dt.timedelta(days=3)).isoformat()},
            "date",
            b"is in the future",
        ),
        ({"date": "1970-01-01"}, "date", b"before the patient"),
        ({"sdmt": "140"}, "sdmt", b"outside 0-110"),
        ({"date": "not a date"}, "date", b"Enter a valid date"),
    ],
)
def test_bad_visit_is_shown_beside_its_field_and_not_saved(
    nurse_client, patient, form, field, message
):
    data = {"date": "2024-06-01", "edss": "3.5", **form}
    response = nurse_client.post(f"/patients/{patient.public_id}/new/visit/", data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert message in response.content
    assert f'id="id_{field}-error"'.encode() in response.content
    assert not Visit.all_records.exists()


def test_relapse_mri_nfl_and_therapy_entry(nurse_client, patient):
    base = f"/patients/{patient.public_id}/new/"
    assert (
        nurse_client.post(
            base + "relapse/", {"onset": "2024-02-01", "severity": "moderate", "steroids": "on"}
        ).status_code
        == 302
    )
    assert (
        nurse_client.post(
            base + "mri/",
            {
                "date": "2024-03-01",
                "new_t2": "2",
                "gd_enhancing": "1",
                "pbvc": "-0.35",
                "field_strength": "3T",
            },
        ).status_code
        == 302
    )
    assert (
        nurse_client.post(
            base + "nfl/",
            {"date": "2024-03-02", "matrix": "serum", "value": "14.2", "assay": "simoa"},
        ).status_code
        == 302
    )
    from patients.models import Therapy

    therapy = Therapy.objects.get(code="natalizumab")
    assert (
        nurse_client.post(
            base + "therapy/", {"therapy": therapy.pk, "start": "2023-04-01"}
        ).status_code
        == 302
    )
    course = TherapyCourse.objects.get(patient=patient)
    stop = f"/patients/{patient.public_id}/therapy/{course.public_id}/stop/"
    refused = nurse_client.post(stop, {"end": "2023-01-01", "stop_reason": "inefficacy"})
    assert "end" in refused.context["form"].errors
    assert (
        nurse_client.post(stop, {"end": "2024-05-01", "stop_reason": "inefficacy"}).status_code
        == 302
    )
    course.refresh_from_db()
    assert (course.end, course.stop_reason) == (dt.date(2024, 5, 1), "inefficacy")
    assert Relapse.objects.get().severity == "moderate"
    assert AuditEvent.objects.filter(patient=patient).count() == 5


def test_another_sites_patient_is_not_found(client, user_b, patient):
    client.force_login(user_b)
    assert client.get(f"/patients/{patient.public_id}/").status_code == 404
    assert (
        client.post(
            f"/patients/{patient.public_id}/new/visit/", {"date": "2024-06-01", "edss": "2.0"}
        ).status_code
        == 404
    )
    assert not Visit.all_records.exists()


def _course(patient, visits):
    for day, edss in visits:
        f.visit(patient, date=day, edss=Decimal(edss)).save()


def test_patient_page_shows_the_course_and_its_events(nurse_client, patient):
    _course(
        patient,
        [
            (dt.date(2022, 1, 10), "2.0"),
            (dt.date(2022, 7, 1), "3.5"),
            (dt.date(2023, 1, 5), "4.0"),
            (dt.date(2023, 7, 1), "4.0"),
        ],
    )
    f.therapy_course(patient).save()
    evaluate([patient.pk])  # the page reads the stored course and its re-baseline
    response = nurse_client.get(f"/patients/{patient.public_id}/")
    assert response.status_code == 200
    events = response.context["events"]
    assert [(e.kind, e.cdw_type, e.onset.date) for e in events] == [
        ("worsening", "PIRA", dt.date(2022, 7, 1))
    ]
    figure = response.context["timeline"]
    pira = next(trace for trace in figure["data"] if trace["name"] == "PIRA")
    # At the confirming visit (2023-01-05, EDSS 4.0), not at the onset's 3.5.
    assert (pira["x"], pira["y"]) == (["2023-01-05"], [4.0])
    assert "re-baseline" in [note["text"] for note in figure["layout"]["annotations"]]
    assert b'id="timeline-data"' in response.content and b"plotly.min.js" in response.content
    assert AuditEvent.objects.filter(action="read", patient=patient).count() == 1


def test_definition_switch_is_the_neurologists(client, nurse_a, neurologist_a, patient):
    _course(
        patient,
        [(dt.date(2022, 1, 10), "2.0"), (dt.date(2022, 7, 1), "3.5"), (dt.date(2023, 1, 5), "3.5")],
    )
    f.relapse(patient, onset=dt.date(2022, 2, 1)).save()
    url = f"/patients/{patient.public_id}/"
    client.force_login(neurologist_a)
    page = client.get(url)
    default, default_text = page.context["events"], page.context["definition_text"]
    strict = client.get(url, {"definition": "muller2023-strict"})
    assert [e.cdw_type for e in default] == ["PIRA"]
    assert [e.cdw_type for e in strict.context["events"]] == ["undefined"]
    assert strict.context["definition_text"] != default_text
    assert b"neither RAW nor PIRA" in strict.content
    assert client.get(url, {"definition": "pira"}).status_code == 400
    client.force_login(nurse_a)
    # Refused as the API refuses it (403), not silently shown under the stored definition.
    assert client.get(url, {"definition": "muller2023-strict"}).status_code == 403
    as_nurse = client.get(url, {"definition": "muller2023"})
    assert as_nurse.context["chosen"] == "muller2023"
    assert [e.cdw_type for e in as_nurse.context["events"]] == ["PIRA"]
    assert b'id="definition"' not in as_nurse.content


def test_patient_page_query_count_does_not_grow_with_records(nurse_client, patient):
    url = f"/patients/{patient.public_id}/"
    _course(patient, [(dt.date(2020, 1, 10), "2.0")])
    with CaptureQueriesContext(connection) as few:
        nurse_client.get(url)
    _course(patient, [(dt.date(2020, m, 1) + dt.timedelta(days=400), "2.5") for m in range(1, 12)])
    f.therapy_course(patient).save()
    f.relapse(patient).save()
    with CaptureQueriesContext(connection) as many:
        nurse_client.get(url)
    assert len(many) == len(few)


def test_site_switcher_narrows_lists(client, nurse_a, site_a, site_b):
    Membership.objects.create(user=nurse_a, site=site_b, role="nurse")
    f.make_patient(site_a)
    f.make_patient(site_b)
    client.force_login(nurse_a)
    assert client.get("/patients/").context["page"].paginator.count == 2
    client.post("/site/", {"site": "B", "next": "/patients/"})
    assert [p.site.code for p in client.get("/patients/").context["page"]] == ["B"]
    client.post("/site/", {"site": "NOT-MINE"})
    assert client.get("/patients/").context["page"].paginator.count == 2


def test_unknown_record_kind_is_not_found(nurse_client, patient):
    assert nurse_client.get(f"/patients/{patient.public_id}/new/biopsy/").status_code == 404
    assert nurse_client.get("/patients/not-a-uuid/").status_code == 404

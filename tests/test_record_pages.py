"""Records read back and corrected from the patient page: registration, demographics, a
table per record kind, correction and "entered in error", each save confirmed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from monitoring.models import MriScan, Visit
from patients.actions import Actor, save_record
from patients.models import AuditEvent, Patient
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def nurse_client(client, nurse_a):
    client.force_login(nurse_a)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_nurse_registers_a_patient_and_edits_the_details(nurse_client, site_a, site_b):
    page = nurse_client.get("/patients/new/")
    assert [s.code for s in page.context["form"].fields["site"].queryset] == ["A"]
    response = nurse_client.post(
        "/patients/new/",
        {
            "site": site_a.pk,
            "mrn": "NEW-1",
            "display_name": "Müller, Anna",
            "birth_date": "1990-04-02",
            "sex": "female",
            "phenotype": "RRMS",
        },
        follow=True,
    )
    patient = Patient.objects.get(mrn="NEW-1")
    assert response.redirect_chain[-1][0] == f"/patients/{patient.public_id}/"
    assert _messages(response) == ["Patient NEW-1 registered."]
    assert AuditEvent.objects.get(model="patients.patient", action="create").actor_label == (
        "nurse-a"
    )
    response = nurse_client.post(
        f"/patients/{patient.public_id}/edit/",
        {
            "mrn": "NEW-1",
            "display_name": "Müller, Anna",
            "birth_date": "1990-04-02",
            "sex": "female",
            "phenotype": "SPMS",
            "symptom_onset": "2012-01-01",
        },
        follow=True,
    )
    patient.refresh_from_db()
    assert (patient.phenotype, patient.symptom_onset) == ("SPMS", dt.date(2012, 1, 1))
    assert _messages(response) == ["Details of NEW-1 saved."]
    assert AuditEvent.objects.filter(model="patients.patient", action="update").count() == 1


def test_registration_refuses_another_sites_patient_and_a_taken_mrn(nurse_client, site_a, site_b):
    f.make_patient(site_a, mrn="TAKEN")
    data = {"mrn": "X-1", "birth_date": "1990-04-02", "sex": "female", "phenotype": "RRMS"}
    refused = nurse_client.post("/patients/new/", {**data, "site": site_b.pk})
    assert "site" in refused.context["form"].errors
    taken = nurse_client.post("/patients/new/", {**data, "site": site_a.pk, "mrn": "TAKEN"})
    assert "mrn" in taken.context["form"].errors
    assert not Patient.objects.filter(site=site_b).exists()


def test_each_save_is_confirmed(nurse_client, patient):
    response = nurse_client.post(
        f"/patients/{patient.public_id}/new/visit/",
        {"date": "2024-06-01", "edss": "3.5"},
        follow=True,
    )
    assert _messages(response) == [f"Visit saved for {patient.mrn}."]
    response = nurse_client.post(
        f"/patients/{patient.public_id}/new/mri/",
        {"date": "2024-06-01", "new_t2": "0", "field_strength": "3T"},
        follow=True,
    )
    # The kind's own capitals, not str.capitalize's "Mri".
    assert _messages(response) == [f"MRI result saved for {patient.mrn}."]


def test_records_are_read_back_in_a_table_per_kind(nurse_client, patient):
    system = Actor.system("test")
    visit = save_record(f.visit(patient, sdmt=51), actor=system)
    scan = save_record(f.mri_scan(patient, new_t2=3), actor=system)
    sample = save_record(f.nfl_sample(patient, assay="ella"), actor=system)
    relapse = save_record(f.relapse(patient), actor=system)
    course = save_record(f.therapy_course(patient), actor=system)
    page = nurse_client.get(f"/patients/{patient.public_id}/").content.decode()
    for record, kind in (
        (visit, "visit"),
        (scan, "mri"),
        (sample, "nfl"),
        (relapse, "relapse"),
        (course, "therapy"),
    ):
        assert f'data-record="{record.public_id}"' in page
        base = f"/patients/{patient.public_id}/{kind}/{record.public_id}/"
        assert f'href="{base}edit/"' in page and f'href="{base}error/"' in page
    assert "Ella" in page and "51" in page


def test_nurse_corrects_a_visit_audited(nurse_client, patient):
    visit = save_record(f.visit(patient, edss=Decimal("5.0")), actor=Actor.system("test"))
    url = f"/patients/{patient.public_id}/visit/{visit.public_id}/edit/"
    assert nurse_client.get(url).context["form"].initial["edss"] == Decimal("5.00")
    response = nurse_client.post(url, {"date": "2024-05-02", "edss": "3.5"}, follow=True)
    assert _messages(response) == [f"Correction saved for {patient.mrn}."]
    visit.refresh_from_db()
    assert visit.edss == Decimal("3.5")
    change = AuditEvent.objects.get(model="monitoring.visit", action="update")
    assert (change.before["edss"], change.after["edss"], change.actor_label) == (
        "5.00",
        "3.50",
        "nurse-a",
    )
    bad = nurse_client.post(url, {"date": "2024-05-02", "edss": "3.25"})
    assert "edss" in bad.context["form"].errors


def test_nurse_marks_an_mri_entered_in_error_with_a_reason(nurse_client, patient):
    scan = save_record(f.mri_scan(patient, new_t2=4), actor=Actor.system("test"))
    url = f"/patients/{patient.public_id}/mri/{scan.public_id}/error/"
    refused = nurse_client.post(url, {"reason": "  "})
    assert "reason" in refused.context["form"].errors
    assert MriScan.objects.filter(pk=scan.pk).exists()
    response = nurse_client.post(url, {"reason": "another patient's scan"}, follow=True)
    assert _messages(response)[0].endswith("marked entered in error.")
    assert not MriScan.objects.filter(pk=scan.pk).exists()
    kept = MriScan.all_records.get(pk=scan.pk)
    assert kept.entered_in_error_reason == "another patient's scan"
    audit = AuditEvent.objects.get(model="monitoring.mriscan", action="entered_in_error")
    assert audit.actor_label == "nurse-a"
    # Gone from the page's table, and not correctable any more.
    assert f'data-record="{scan.public_id}"' not in response.content.decode()
    assert nurse_client.get(url).status_code == 404
    edit = f"/patients/{patient.public_id}/mri/{scan.public_id}/edit/"
    assert nurse_client.get(edit).status_code == 404


def test_another_sites_records_cannot_be_corrected(client, user_b, patient):
    visit = save_record(f.visit(patient), actor=Actor.system("test"))
    client.force_login(user_b)
    base = f"/patients/{patient.public_id}/visit/{visit.public_id}/"
    assert client.post(base + "edit/", {"date": "2024-05-02", "edss": "6.0"}).status_code == 404
    assert client.post(base + "error/", {"reason": "x"}).status_code == 404
    assert client.post(f"/patients/{patient.public_id}/edit/", {"mrn": "Z"}).status_code == 404
    visit.refresh_from_db()
    assert visit.edss == Decimal("2.0") and Visit.objects.filter(pk=visit.pk).exists()


def test_a_record_of_another_patient_is_not_found(nurse_client, site_a, patient):
    other = f.make_patient(site_a)
    visit = save_record(f.visit(other), actor=Actor.system("test"))
    url = f"/patients/{patient.public_id}/visit/{visit.public_id}/edit/"
    assert nurse_client.get(url).status_code == 404
    assert (
        nurse_client.get(
            f"/patients/{patient.public_id}/biopsy/{visit.public_id}/edit/"
        ).status_code
        == 404
    )


def test_the_correction_form_shows_the_stored_dates(nurse_client, patient):
    relapse = save_record(
        f.relapse(patient, onset=dt.date(2024, 2, 1), end=dt.date(2024, 3, 5)),
        actor=Actor.system("test"),
    )
    page = nurse_client.get(f"/patients/{patient.public_id}/relapse/{relapse.public_id}/edit/")
    assert b'value="2024-02-01"' in page.content and b'value="2024-03-05"' in page.content


def test_pages_have_no_inline_script_style_or_handler(nurse_client, patient):
    """A strict Content-Security-Policy passes: scripts and styles come from static files,
    and no control acts on change or key press alone."""
    import re

    visit = save_record(f.visit(patient), actor=Actor.system("test"))
    base = f"/patients/{patient.public_id}/"
    for url in (
        base,
        base + "edit/",
        base + "new/visit/",
        f"{base}visit/{visit.public_id}/edit/",
        f"{base}visit/{visit.public_id}/error/",
        "/patients/",
        "/patients/new/",
        "/dashboard/",
        "/alerts/",
        "/accounts/logout/",
        "/",
    ):
        page = nurse_client.get(url).content.decode()
        assert not re.search(r"\son[a-z]+=", page), url
        assert ' style="' not in page and "<style" not in page, url
        for attributes in re.findall(r"<script([^>]*)>", page):
            assert "src=" in attributes or 'type="application/json"' in attributes, url

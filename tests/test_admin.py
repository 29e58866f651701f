from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin

from alerts.evaluation import evaluate
from monitoring.models import Visit
from outcomes.models import PatientStatus
from patients.models import AuditEvent, Therapy
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return f.make_user("root", is_staff=True, is_superuser=True)


def test_every_model_has_a_working_admin(client, superuser, patient):
    f.visit(patient).save()
    f.relapse(patient).save()
    f.mri_scan(patient).save()
    f.nfl_sample(patient).save()
    f.therapy_course(patient).save()
    client.force_login(superuser)
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        assert client.get(base).status_code == 200, base
        if model_admin.has_add_permission(type("R", (), {"user": superuser})()):
            assert client.get(base + "add/").status_code == 200, base
        obj = model._base_manager.first()
        if obj is not None:
            assert client.get(f"{base}{obj.pk}/change/").status_code == 200, base


def test_admin_save_is_validated_and_audited(client, superuser, patient):
    client.force_login(superuser)
    form = {"patient": patient.pk, "date": "2024-04-02", "edss": "3.25", "scheduled": "on"}
    response = client.post("/admin/monitoring/visit/add/", form)
    assert response.status_code == 200  # the form again, with the error
    assert b"3.25 is not an EDSS step" in response.content
    assert not Visit.all_records.exists()
    client.post("/admin/monitoring/visit/add/", {**form, "edss": "3.5"})
    visit = Visit.objects.get()
    assert AuditEvent.objects.get(model="monitoring.visit").after["edss"] == "3.50"
    assert visit.edss == 3.5


def test_admin_marks_entered_in_error_with_a_reason(client, superuser, patient):
    visit = f.visit(patient)
    visit.save()
    client.force_login(superuser)
    selection = {"action": "enter_in_error", "_selected_action": [visit.pk]}
    confirm = client.post("/admin/monitoring/visit/", selection)
    assert b"Why are they in error?" in confirm.content
    client.post("/admin/monitoring/visit/", {**selection, "apply": "1", "reason": "duplicate"})
    visit.refresh_from_db()
    assert visit.entered_in_error_reason == "duplicate"
    assert AuditEvent.objects.filter(action="entered_in_error").count() == 1


def test_staff_of_one_site_has_no_admin_even_with_permissions(client, site_a, site_b):
    """The admin is the superusers' (issue 15): its generic pages reached across sites."""
    staff = f.make_user("staff-a", site=site_a, role="admin", is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_visit"))
    mine, theirs = f.make_patient(site_a), f.make_patient(site_b)
    f.visit(mine).save()
    other = f.visit(theirs)
    other.save()
    client.force_login(staff)
    listing = client.get("/admin/monitoring/visit/")
    assert listing.status_code == 302 and listing["Location"].startswith("/admin/login/")
    change = client.get(f"/admin/monitoring/visit/{other.pk}/change/")
    assert change.status_code == 302 and change["Location"].startswith("/admin/login/")


def test_therapy_catalogue_change_is_audited_and_reevaluates_its_patients(
    client, superuser, site_a, django_capture_on_commit_callbacks
):
    treated, untreated = f.make_patient(site_a), f.make_patient(site_a)
    therapy = Therapy.objects.get(code="ocrelizumab")
    f.therapy_course(treated, therapy=therapy, start=dt.date(2024, 1, 10)).save()
    f.visit(untreated, date=dt.date(2024, 2, 1)).save()
    evaluate([treated.pk, untreated.pk])
    untreated_computed = PatientStatus.objects.get(patient=untreated).computed_at
    assert PatientStatus.objects.get(patient=treated).rebaseline_date == dt.date(2024, 7, 10)

    client.force_login(superuser)
    form = {
        "code": therapy.code,
        "name": therapy.name,
        "therapy_class": "induction",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/patients/therapy/{therapy.pk}/change/", form)
    assert response.status_code == 302

    event = AuditEvent.objects.get(model="patients.therapy", object_id=str(therapy.pk))
    assert event.actor == superuser
    assert (event.before["therapy_class"], event.after["therapy_class"]) == (
        "high_efficacy",
        "induction",
    )
    # An induction therapy re-baselines 24 months after its start, not 6.
    assert PatientStatus.objects.get(patient=treated).rebaseline_date == dt.date(2026, 1, 10)
    assert PatientStatus.objects.get(patient=untreated).computed_at == untreated_computed


def test_admin_edits_a_monitoring_item_audited(client, superuser):
    from monitoring.models import MonitoringItem

    item = MonitoringItem.objects.get(code="natalizumab-jcv")
    client.force_login(superuser)
    url = f"/admin/monitoring/monitoringitem/{item.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {
        name: "" if value is None else value
        for name, value in ((n, form[n].value()) for n in form.fields)
    }
    data |= {"therapies": '["natalizumab"]', "points_months": "[]", "every_months": "4"}
    response = client.post(url, data)
    assert response.status_code == 302, response.content
    item.refresh_from_db()
    assert item.every_months == 4
    event = AuditEvent.objects.get(model="monitoring.monitoringitem")
    assert (event.action, event.before["every_months"], event.after["every_months"]) == (
        "update",
        6,
        4,
    )

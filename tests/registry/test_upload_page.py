"""The upload page: site admins only; the Celery task imports, the page polls its status."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from patients.models import AuditEvent, Patient
from registry.models import ImportRun
from tests.factories import make_user

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "docs" / "import-templates"


@pytest.fixture
def admin_a(site_a):
    return make_user("admin-a", site=site_a, role="admin")


def upload(client, site, name: str, content: bytes, kind: str = "patients", dry_run: bool = False):
    data = {"site": site.pk, "kind": kind, "file": SimpleUploadedFile(name, content)}
    if dry_run:
        data["dry_run"] = "on"
    return client.post("/registry/imports/", data)


def test_only_site_admins_may_upload(client, nurse_a, neurologist_a, site_a):
    for user in (nurse_a, neurologist_a):
        client.force_login(user)
        assert client.get("/registry/imports/").status_code == 403
        response = upload(client, site_a, "patients.csv", (TEMPLATES / "patients.csv").read_bytes())
        assert response.status_code == 403
    assert not ImportRun.objects.exists() and not Patient.objects.exists()


def test_an_admin_uploads_a_dry_run_then_the_import_and_polls_its_progress(client, admin_a, site_a):
    client.force_login(admin_a)
    assert client.get("/registry/imports/").status_code == 200
    content = (TEMPLATES / "patients.csv").read_bytes()

    response = upload(client, site_a, "patients.csv", content, dry_run=True)
    assert response.status_code == 302
    run = ImportRun.objects.get()
    status = client.get(f"/registry/imports/{run.pk}/status/").json()
    assert (status["state"], status["percent"], status["created"]) == ("done", 100, 2)
    assert not Patient.objects.exists()
    assert "nothing was stored" in client.get(response["Location"]).content.decode()

    response = upload(client, site_a, "patients.csv", content)
    run = ImportRun.objects.latest("pk")
    assert client.get(f"/registry/imports/{run.pk}/status/").json()["state"] == "done"
    assert Patient.objects.filter(site=site_a).count() == 2
    assert run.content == b""  # the upload is not kept once imported
    assert AuditEvent.objects.filter(actor_label="admin-a", model="patients.patient").count() == 2
    assert AuditEvent.objects.get(model="registry.importrun").after["created"] == 2


def test_a_refused_upload_lists_file_line_and_field(client, admin_a, site_a):
    client.force_login(admin_a)
    content = b"source_system,source_id,mrn,birth_date,sex,phenotype\nx,1,M1,1980-01-01,female,XX\n"
    response = upload(client, site_a, "patients.csv", content)
    page = client.get(response["Location"]).content.decode()
    assert "Refused: nothing was stored" in page
    assert "<td>patients.csv</td><td>2</td><td>phenotype</td>" in page
    status = client.get(response["Location"] + "status/").json()
    assert status["state"] == "refused"
    assert status["errors"][0]["field"] == "phenotype"

    response = upload(client, site_a, "patients.pdf", b"%PDF-1.7")
    page = client.get(response["Location"]).content.decode()
    assert "<td>patients.pdf</td><td>1</td><td>file</td>" in page
    assert not Patient.objects.exists()


def test_another_sites_admin_cannot_see_a_run(client, admin_a, site_a, site_b):
    client.force_login(admin_a)
    upload(client, site_a, "patients.csv", (TEMPLATES / "patients.csv").read_bytes(), dry_run=True)
    run = ImportRun.objects.get()
    client.force_login(make_user("admin-b", site=site_b, role="admin"))
    assert client.get(f"/registry/imports/{run.pk}/").status_code == 404
    assert client.get(f"/registry/imports/{run.pk}/status/").status_code == 404
    # Nor import into a site they do not administer.
    response = upload(client, site_a, "patients.csv", b"x")
    assert response.status_code == 200 and ImportRun.objects.count() == 1

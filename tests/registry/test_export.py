"""The pseudonymised research export: consenting patients only, nothing identifying in any
file, stable pseudonyms, an audited lookup, site admins only."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from django.core.exceptions import ImproperlyConfigured

from alerts.evaluation import evaluate
from patients.actions import Actor, mark_entered_in_error, save_record
from patients.models import AuditEvent, Consent, Therapy, TherapyCourse
from registry.export import TABLES, pseudonym, pseudonym_key
from registry.models import ResearchExport
from tests.factories import lab_result, make_patient, make_user, nfl_sample, relapse, visit

pytestmark = pytest.mark.django_db

NAME = "Zebulon Quixote-Ferndale"
MRN = "MRN-SECRET-4711"
BIRTH = dt.date(1983, 7, 19)
LAB = "St Elsewhere Neurochemistry"
REASON = "typed into the wrong patient by Dr Placeholder"


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.RESEARCH_EXPORT_ROOT = tmp_path / "exports"


@pytest.fixture
def admin_a(site_a):
    return make_user("admin-a", site=site_a, role="admin")


def consent(patient, **fields):
    values = {"date": dt.date(2023, 1, 1), "research_export": True, **fields}
    return save_record(Consent(patient=patient, **values), actor=Actor.system())


@pytest.fixture
def cohort(site_a):
    """A consenting patient with every record kind, one who never consented, one whose
    consent excludes research, one who withdrew."""
    actor = Actor.system()
    kept = make_patient(site_a, mrn=MRN, display_name=NAME, birth_date=BIRTH)
    consent(kept)
    ocrelizumab = Therapy.objects.get(code="ocrelizumab")
    save_record(
        TherapyCourse(patient=kept, therapy=ocrelizumab, start=dt.date(2019, 1, 10)), actor=actor
    )
    for day, edss in [
        (dt.date(2019, 1, 15), "2.0"),
        (dt.date(2019, 7, 15), "2.0"),
        (dt.date(2020, 1, 15), "3.0"),
        (dt.date(2020, 7, 15), "3.0"),
        (dt.date(2021, 1, 15), "3.0"),
    ]:
        save_record(visit(kept, date=day, edss=Decimal(edss)), actor=actor)
    save_record(relapse(kept, onset=dt.date(2018, 11, 2)), actor=actor)
    save_record(nfl_sample(kept, lab=LAB), actor=actor)
    save_record(
        lab_result(
            kept, "jcv-index", date=dt.date(2022, 3, 1), value=Decimal("0.2"), text="negative"
        ),
        actor=actor,
    )
    wrong = save_record(visit(kept, date=dt.date(2021, 6, 1), edss=Decimal("7.0")), actor=actor)
    mark_entered_in_error(wrong, actor=actor, reason=REASON)
    evaluate([kept.pk])

    never = make_patient(site_a, mrn="NEVER-1", display_name="Never Consented")
    declined = make_patient(site_a, mrn="DECLINED-1", display_name="Declined Research")
    consent(declined, research_export=False)
    withdrawn = make_patient(site_a, mrn="WITHDRAWN-1", display_name="Withdrew Later")
    consent(withdrawn, withdrawn=dt.date(2024, 5, 1))
    return {"kept": kept, "never": never, "declined": declined, "withdrawn": withdrawn}


def run_export(client, admin, site, definitions=("muller2023", "kappos2020")) -> zipfile.ZipFile:
    client.force_login(admin)
    response = client.post(
        "/registry/exports/", {"site": site.pk, "definitions": list(definitions)}
    )
    assert response.status_code == 302, response.content
    export = ResearchExport.objects.latest("pk")
    page = client.get(response["Location"])
    assert export.state == "done" or ResearchExport.objects.get(pk=export.pk).state == "done"
    assert "Download" in page.content.decode()
    download = client.get(f"/registry/exports/{export.pk}/download/")
    assert download.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))


def texts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Every file of the export as text; Parquet tables read back value by value."""
    found = {}
    for name in archive.namelist():
        data = archive.read(name)
        if name.endswith(".parquet"):
            found[name] = str(pq.read_table(io.BytesIO(data)).to_pylist())
        else:
            found[name] = data.decode()
    return found


def rows(archive: zipfile.ZipFile, table: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(f"csv/{table}.csv").decode())))


def test_no_name_mrn_exact_birth_date_or_free_text_in_any_exported_file(
    client, admin_a, site_a, cohort
):
    archive = run_export(client, admin_a, site_a)
    files = texts(archive)
    assert {f"csv/{t}.csv" for t in TABLES} | {f"parquet/{t}.parquet" for t in TABLES} <= set(files)
    assert "data_dictionary.csv" in files
    kept = cohort["kept"]
    forbidden = [
        NAME,
        "Zebulon",
        MRN,
        BIRTH.isoformat(),
        "1983-07-19",
        "19/07/1983",
        "datetime.date(1983, 7, 19)",
        LAB,
        REASON,
        str(kept.public_id),
        "Never Consented",
    ]
    for name, text in files.items():
        for secret in forbidden:
            assert secret not in text, (secret, name)
    patient = rows(archive, "patients")[0]
    assert patient["birth_year_month"] == "1983-07"
    # Every record kind and the computed events are there.
    assert len(rows(archive, "visits")) == 5  # the entered-in-error one is left out
    assert rows(archive, "therapy_courses")[0]["therapy"] == "ocrelizumab"
    assert rows(archive, "relapses") and rows(archive, "nfl_samples")
    assert rows(archive, "lab_results")[0]["result"] == "negative"
    assert "lab" not in rows(archive, "nfl_samples")[0]
    events = rows(archive, "cdw_events")
    assert {e["definition"] for e in events} == {"muller2023", "kappos2020"}
    assert all(e["cdw_type"] in ("RAW", "PIRA", "undefined") for e in events)
    assert rows(archive, "neda_windows")


def test_only_consenting_patients_who_did_not_withdraw_are_exported(
    client, admin_a, site_a, site_b, cohort
):
    other_site = make_patient(site_b, mrn="B-1")
    consent(other_site)
    archive = run_export(client, admin_a, site_a)
    key = pseudonym_key()
    exported = {row["pseudonym"] for row in rows(archive, "patients")}
    assert exported == {pseudonym(key, cohort["kept"].public_id)}
    for name in ("never", "declined", "withdrawn"):
        assert pseudonym(key, cohort[name].public_id) not in str(texts(archive))
    assert ResearchExport.objects.get().patients == 1


def test_pseudonyms_are_stable_across_exports(client, admin_a, site_a, cohort):
    first = run_export(client, admin_a, site_a)
    second = run_export(client, admin_a, site_a)
    for table in ("patients", "visits"):
        assert [(r["pseudonym"], r.get("record_id")) for r in rows(first, table)] == [
            (r["pseudonym"], r.get("record_id")) for r in rows(second, table)
        ]
    # Made and downloaded exports are audited.
    audited = AuditEvent.objects.filter(model="registry.researchexport")
    assert sorted(audited.values_list("action", flat=True)) == ["create", "create", "read", "read"]


def test_the_lookup_of_a_pseudonym_is_for_site_admins_and_audited(
    client, admin_a, nurse_a, site_a, cohort
):
    kept = cohort["kept"]
    wanted = pseudonym(pseudonym_key(), kept.public_id)
    client.force_login(nurse_a)
    assert (
        client.post("/registry/pseudonyms/", {"site": site_a.pk, "pseudonym": wanted}).status_code
        == 403
    )
    assert not AuditEvent.objects.filter(after__research_pseudonym_lookup=wanted).exists()

    client.force_login(admin_a)
    page = client.post("/registry/pseudonyms/", {"site": site_a.pk, "pseudonym": wanted})
    assert page.status_code == 200
    assert MRN in page.content.decode()
    row = AuditEvent.objects.get(after__research_pseudonym_lookup=wanted)
    assert (row.actor_label, row.action, row.patient_id) == ("admin-a", "read", kept.pk)

    page = client.post("/registry/pseudonyms/", {"site": site_a.pk, "pseudonym": "f" * 32})
    assert "No patient of this site" in page.content.decode()
    assert AuditEvent.objects.filter(after__found=False).count() == 1


def test_exports_are_for_site_admins_only(client, nurse_a, neurologist_a, user_b, admin_a, site_a):
    for user in (nurse_a, neurologist_a):
        client.force_login(user)
        assert client.get("/registry/exports/").status_code == 403
        assert client.post("/registry/exports/", {"site": site_a.pk}).status_code == 403
    client.force_login(admin_a)
    archive = run_export(client, admin_a, site_a, definitions=["muller2023"])
    export = ResearchExport.objects.get()
    client.force_login(user_b)
    assert client.get(f"/registry/exports/{export.pk}/download/").status_code == 404
    client.force_login(make_user("admin-b", site=user_b.memberships.get().site, role="admin"))
    assert client.get(f"/registry/exports/{export.pk}/download/").status_code == 404
    assert archive.namelist()


def test_the_export_refuses_to_run_without_a_key(settings):
    settings.RESEARCH_PSEUDONYM_KEY = ""
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured, match="RESEARCH_PSEUDONYM_KEY"):
        pseudonym_key()
    settings.DEBUG = True
    assert pseudonym_key()

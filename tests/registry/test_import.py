"""manage.py import: every kind, dry runs that name every bad row, all-or-nothing files,
idempotent re-imports, audited writes."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from monitoring.models import (
    AdverseEvent,
    Comorbidity,
    LabResult,
    MriScan,
    NflSample,
    Pregnancy,
    Relapse,
    Visit,
)
from patients.actions import Actor, mark_entered_in_error
from patients.models import AuditEvent, Patient, TherapyCourse
from registry.imports import KINDS

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "docs" / "import-templates"
ORDER = [
    "patients",
    "therapy-courses",
    "visits",
    "relapses",
    "mri-scans",
    "nfl-samples",
    "lab-results",
    "adverse-events",
    "pregnancies",
    "comorbidities",
]


def run(kind: str, path: Path, *options: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "import", str(path), "--kind", kind, "--site", "A", *options, stdout=out, stderr=err
        )
    except CommandError as error:
        err.write(f"\nCommandError: {error}")
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def counts() -> dict[str, int]:
    return {
        model.__name__: model._base_manager.count()
        for model in (
            Patient,
            TherapyCourse,
            Visit,
            Relapse,
            MriScan,
            NflSample,
            LabResult,
            AdverseEvent,
            Pregnancy,
            Comorbidity,
            AuditEvent,
        )
    }


def test_every_kind_has_a_documented_template_that_imports(site_a):
    docs = (TEMPLATES.parent / "import.md").read_text()
    assert sorted(ORDER) == sorted(KINDS)
    for kind in ORDER:
        out, err = run(kind, TEMPLATES / f"{kind}.csv")
        assert "refused" not in err, err
        assert "created" in out
        for column in KINDS[kind].columns:
            assert f"`{column}`" in docs
    patient = Patient.objects.get(source_id="P0001")
    assert patient.site == site_a
    assert [c.therapy.code for c in TherapyCourse.objects.filter(patient=patient)] == [
        "dimethyl-fumarate",
        "ocrelizumab",
    ]
    assert Visit.objects.get(source_id="V0003").scheduled is False
    assert Relapse.objects.get(source_id="R0001").steroids is True
    assert MriScan.objects.get(source_id="M0001").pbvc == Decimal("-0.30")
    assert NflSample.objects.get(source_id="N0001").value == Decimal("8.4")
    # Lab results in the catalogue's unit, the value as typed kept beside it.
    lymphocytes = LabResult.objects.get(source_id="L0001")
    assert (lymphocytes.analyte.code, lymphocytes.value, lymphocytes.unit) == (
        "lymphocytes",
        Decimal("900"),
        "/mm3",
    )
    assert (lymphocytes.lower_limit, lymphocytes.upper_limit) == (Decimal(1000), Decimal(4000))
    assert lymphocytes.reported_as == "0.9 10*9/L"
    creatinine = LabResult.objects.get(source_id="L0002")
    assert (creatinine.value, creatinine.upper_limit) == (Decimal("70.7360"), Decimal("97.2620"))
    jcv = LabResult.objects.get(source_id="L0003")
    assert (jcv.value, jcv.unit, jcv.text) == (Decimal("0.3"), "index", "negative")
    urine = LabResult.objects.get(source_id="L0005")  # named by its LOINC code
    assert (urine.analyte.code, urine.value, urine.text) == ("urine-blood", None, "negative")
    event = AdverseEvent.objects.get(source_id="A0002")
    assert (event.serious, event.suspected_therapy.code, event.outcome) == (
        True,
        "fingolimod",
        "resolvedWithSequelae",
    )
    assert AdverseEvent.objects.get(source_id="A0001").serious is False
    pregnancy = Pregnancy.objects.get(source_id="G0001")
    assert (pregnancy.due_date, pregnancy.outcome, pregnancy.therapy_action) == (
        dt.date(2019, 12, 6),
        "live_birth",
        "paused",
    )
    thyroid = Comorbidity.objects.get(source_id="C0001")
    assert (thyroid.patient, thyroid.condition, thyroid.code, thyroid.resolved) == (
        patient,
        "Hypothyroidism",
        "40930008",
        None,
    )
    assert thyroid.notes == "on levothyroxine"
    depression = Comorbidity.objects.get(source_id="C0002")
    assert (depression.code, depression.resolved) == ("", dt.date(2011, 6, 30))
    # Every record audited, as created by the import.
    created = AuditEvent.objects.filter(actor_label="manage.py import", action="create")
    assert created.count() == 2 + 3 + 3 + 1 + 2 + 1 + 5 + 2 + 1 + 2


def patients_file(tmp_path: Path, count: int) -> Path:
    lines = ["source_system,source_id,mrn,birth_date,sex,phenotype"]
    lines += [f"reg,P{n},M{n},1980-01-01,female,RRMS" for n in range(count)]
    return write(tmp_path, "patients.csv", lines)


def test_a_file_with_five_bad_rows_among_10000_is_refused_whole_naming_all_five(tmp_path, site_a):
    run("patients", patients_file(tmp_path, 500))
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    lines = ["source_system,source_id,patient_source_id,date,edss,t25fw"]
    bad = {
        1234: ("date", f"reg,V1234,P61,{future},2.0,"),
        2345: ("edss", "reg,V2345,P117,2020-01-01,3.25,"),
        5000: ("t25fw", "reg,V5000,P249,2020-01-01,2.0,fast"),
        7777: ("patient_source_id", "reg,V7777,NOBODY,2020-01-01,2.0,"),
        9999: ("date", "reg,V9999,P499,2000-01-01,2.0,"),  # P499 has one on line 501
        # P10's V10 is on line 12, four chunks of the file earlier.
        8888: ("source_id", "reg,V10,P10,2000-01-18,2.0,"),
    }
    for n in range(10_000):
        day = dt.date(2000, 1, 1) + dt.timedelta(days=n // 500)
        lines.append(bad[n][1] if n in bad else f"reg,V{n},P{n % 500},{day},2.0,")
    path = write(tmp_path, "visits.csv", lines)
    before = counts()

    _out, err = run("visits", path, "--dry-run")

    named = [line for line in err.splitlines() if line.startswith("visits.csv, line ")]
    assert len(named) == len(bad), err
    for n, (field, _) in bad.items():
        assert any(line.startswith(f"visits.csv, line {n + 2}, {field}: ") for line in named), (
            n,
            err,
        )
    assert "3.25 is not an EDSS step" in err  # the model's words, as the API gives them
    assert "is in the future" in err
    assert "this patient already has a visit on 2000-01-01" in err
    assert "visits.csv, line 8890, source_id: V10 is also on line 12" in err
    assert "refused, nothing stored" in err
    assert counts() == before
    # The real run refuses the same file whole.
    _out, err = run("visits", path)
    named = [line for line in err.splitlines() if line.startswith("visits.csv, line")]
    assert len(named) == len(bad)
    assert counts() == before


def test_reimporting_the_same_file_changes_nothing_and_a_changed_row_updates(tmp_path, site_a):
    run("patients", TEMPLATES / "patients.csv")
    for kind in ORDER[1:]:
        run(kind, TEMPLATES / f"{kind}.csv")
    before = counts()
    for kind in ORDER:
        out, err = run(kind, TEMPLATES / f"{kind}.csv")
        assert "created 0, updated 0" in out, (kind, out, err)
    assert counts() == before

    lines = (TEMPLATES / "visits.csv").read_text().splitlines()
    lines[2] = lines[2].replace(",2.5,", ",3.0,")
    out, err = run("visits", write(tmp_path, "visits.csv", lines))
    assert "created 0, updated 1, unchanged 2" in out
    assert Visit.objects.get(source_id="V0002").edss == Decimal("3.0")
    update = AuditEvent.objects.get(action="update", model="monitoring.visit")
    assert (update.before["edss"], update.after["edss"]) == ("2.50", "3.00")

    # A lab result in another unit: converted, it is what is stored (above); changed, the
    # stored record is updated, converted again.
    lines = (TEMPLATES / "lab-results.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",0.9,", ",0.7,")
    out, err = run("lab-results", write(tmp_path, "lab-results.csv", lines))
    assert "created 0, updated 1, unchanged 4" in out, err
    assert LabResult.objects.get(source_id="L0001").value == Decimal("700")
    update = AuditEvent.objects.get(action="update", model="monitoring.labresult")
    assert (update.before["value"], update.after["value"]) == ("900.0000", "700.0000")


def test_a_source_id_twice_in_a_file_is_refused_naming_both_lines(tmp_path, site_a):
    lines = [
        "source_system,source_id,mrn,birth_date,sex,phenotype",
        "reg,P1,M1,1980-01-01,female,RRMS",
        "reg,P2,M2,1980-01-01,female,RRMS",
        "reg,P1,M3,1980-01-01,female,RRMS",
        "reg,P\u200b2,M4,1980-01-01,female,RRMS",  # a look-alike of P2: one identifier
        "other,P1,M5,1980-01-01,female,RRMS",  # another system's P1: another patient
    ]
    before = counts()
    _out, err = run("patients", write(tmp_path, "patients.csv", lines), "--dry-run")
    named = [line for line in err.splitlines() if line.startswith("patients.csv, line ")]
    assert named == [
        "patients.csv, line 4, source_id: P1 is also on line 2",
        "patients.csv, line 5, source_id: P\u200b2 is also on line 3",
    ]
    assert counts() == before


def test_rows_are_matched_as_the_api_matches_them(tmp_path, site_a):
    """Source ids and MRNs as stored (look-alikes are one identifier, MRNs without case):
    the rules of patients.actions.upsert_records, which the API and FHIR bundles use."""
    run(
        "patients",
        write(
            tmp_path,
            "patients.csv",
            ["source_system,source_id,mrn,birth_date,phenotype", "reg,P1,BEE001,1980-01-01,RRMS"],
        ),
    )
    header = "source_system,source_id,patient_mrn,date,edss"
    out, err = run(
        "visits", write(tmp_path, "visits.csv", [header, "reg,\uff36\uff11,bee001,2020-01-01,2.0"])
    )
    assert "created 1" in out, err
    visit = Visit.objects.get()
    assert (visit.source_id, visit.patient.mrn) == ("V1", "BEE001")
    before = counts()
    out, err = run(
        "visits", write(tmp_path, "visits.csv", [header, "reg,V1,BEE001,2020-01-01,2.00"])
    )
    assert "created 0, updated 0, unchanged 1" in out, err
    assert counts() == before


def test_a_row_naming_a_record_entered_in_error_is_refused(tmp_path, site_a):
    run("patients", TEMPLATES / "patients.csv")
    run("visits", TEMPLATES / "visits.csv")
    wrong = Visit.objects.get(source_id="V0002")
    mark_entered_in_error(wrong, actor=Actor.system("test"), reason="another patient's visit")
    before = counts()
    for options in (["--dry-run"], []):
        _out, err = run("visits", TEMPLATES / "visits.csv", *options)
        assert (
            f"visits.csv, line 3, source_id: this source_id names visit {wrong.public_id}, "
            "marked entered in error"
        ) in err, err
        assert "refused, nothing stored" in err
        assert counts() == before
    assert Visit.all_records.get(pk=wrong.pk).is_entered_in_error


@pytest.mark.parametrize(
    ("name", "lines", "expected"),
    [
        (
            "visits.csv",
            ["source_system,source_id,patient_source_id,date,edsss"],
            ["visits.csv, line 1, edsss: unknown column", "visits.csv, line 1, edss: missing"],
        ),
        (
            "therapy-courses.csv",
            [
                "source_system,source_id,patient_source_id,therapy,start",
                "msbase,T9,P0001,Wonderdrug,2020-01-01",
            ],
            ["therapy-courses.csv, line 2, therapy: unknown therapy 'Wonderdrug'"],
        ),
        (
            "visits.csv",
            [
                "source_system,source_id,patient_source_id,date,edss",
                "msbase,V9,P0001,2020-01-01,3.25",
            ],
            ["visits.csv, line 2, edss: 3.25 is not an EDSS step"],
        ),
        (
            "relapses.csv",
            ["source_system,source_id,patient_source_id,onset", "msbase,R9,P0001,2999-01-01"],
            ["relapses.csv, line 2, onset: 2999-01-01 is in the future"],
        ),
        (
            "patients.csv",
            [
                "source_system,source_id,mrn,birth_date,sex,phenotype",
                "msbase,P9,M9,1980-02-30,female,RRMS",
            ],
            ["patients.csv, line 2, birth_date: "],
        ),
        (
            "lab-results.csv",
            [
                "source_system,source_id,patient_source_id,analyte,date,value,unit,lower_limit",
                "msbase,L1,P0001,Vitamin D,2023-01-12,50,nmol/L,",
                "msbase,L2,P0001,lymphocytes,2023-01-12,0.9,mg,",
                "msbase,L3,P0001,platelets,2023-01-12,-3,,",
                "msbase,L4,P0001,lymphocytes,2999-01-01,900,,",
                "msbase,L5,P0001,lymphocytes,2023-01-13,900,/mm3,-1",
                "msbase,L6,P0001,urine-blood,2023-01-13,,,",
                "msbase,L7,P0001,jcv-index,2023-01-13,1.2,,",
            ],
            [
                "lab-results.csv, line 2, analyte: unknown analyte 'Vitamin D'",
                "lab-results.csv, line 3, unit: 'mg' cannot be converted to /mm3",
                "lab-results.csv, line 4, value: cannot be negative",
                "lab-results.csv, line 5, date: 2999-01-01 is in the future",
                "lab-results.csv, line 6, lower_limit: cannot be negative",
                "lab-results.csv, line 7, text: Urinalysis: blood needs a result",
                "lab-results.csv, line 8, text: say the serostatus",
            ],
        ),
        (
            "adverse-events.csv",
            [
                "source_system,source_id,patient_source_id,date,term,suspected_therapy",
                "msbase,A1,P0001,2999-01-01,Rash,",
                "msbase,A2,P0001,2020-01-01,Rash,Wonderdrug",
                "msbase,A3,P0001,2020-01-01, ,",
            ],
            [
                "adverse-events.csv, line 2, date: 2999-01-01 is in the future",
                "adverse-events.csv, line 3, suspected_therapy: unknown therapy 'Wonderdrug'",
                "adverse-events.csv, line 4, term: ",
            ],
        ),
        (
            "pregnancies.csv",
            [
                "source_system,source_id,patient_source_id,start,end,outcome",
                "msbase,G1,P0001,2999-01-01,,",
                "msbase,G2,P0001,2020-01-01,2019-01-01,miscarriage",
                "msbase,G3,P0001,2020-01-01,,live_birth",
            ],
            [
                "pregnancies.csv, line 2, start: 2999-01-01 is in the future",
                "pregnancies.csv, line 3, end: the pregnancy ends (2019-01-01) before it starts",
                "pregnancies.csv, line 4, end: an ended pregnancy needs its end date",
            ],
        ),
        (
            "comorbidities.csv",
            [
                "source_system,source_id,patient_source_id,condition,code,onset,resolved",
                "msbase,C1,P0001,Asthma,,2999-01-01,",
                "msbase,C2,P0001, ,,2020-01-01,",
                "msbase,C3,P0001,Type 2 diabetes,E11,2020-01-01,",
                "msbase,C4,P0001,Migraine,,2020-01-01,2019-01-01",
                "msbase,C5,P0001,Asthma,,1980-01-01,",
                "msbase,C6,P0001,Asthma,,2020-13-01,",
            ],
            [
                "comorbidities.csv, line 2, onset: 2999-01-01 is in the future",
                "comorbidities.csv, line 3, condition: ",
                "comorbidities.csv, line 4, code: 'E11' is not a SNOMED CT code (6 to 18 digits)",
                "comorbidities.csv, line 5, resolved: resolved (2019-01-01) before its onset",
                "comorbidities.csv, line 6, onset: 1980-01-01 is before the patient's birth",
                "comorbidities.csv, line 7, onset: ",
            ],
        ),
    ],
)
def test_bad_files_are_answered_with_file_line_and_field(tmp_path, site_a, name, lines, expected):
    run("patients", TEMPLATES / "patients.csv")
    before = counts()
    _out, err = run(name.removesuffix(".csv"), write(tmp_path, name, lines))
    for message in expected:
        assert message in err, err
    assert counts() == before


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("visits.pdf", b"%PDF-1.7 ...", "visits.pdf, line 1, file: not a CSV or XLSX file"),
        ("visits.xlsx", b"source_system,source_id\n", "visits.xlsx, line 1, file: not an XLSX"),
        ("visits.csv", b"PK\x03\x04\x00\x00\xff\xfe binary", "visits.csv, line 1, file: not a CSV"),
    ],
)
def test_a_file_that_is_not_csv_or_xlsx_is_refused_naming_it(
    tmp_path, site_a, name, content, expected
):
    path = tmp_path / name
    path.write_bytes(content)
    _out, err = run("visits", path)
    assert expected in err


def test_xlsx_files_import_like_csv(tmp_path, site_a):
    run("patients", TEMPLATES / "patients.csv")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["source_system", "source_id", "patient_mrn", "date", "edss", "scheduled"])
    sheet.append(["clinic-xls", "row-1", "100234", dt.datetime(2022, 5, 4), 3.5, True])
    sheet.append(["clinic-xls", "row-2", "100234", dt.datetime(2022, 11, 4), 3.25, True])
    path = tmp_path / "history.xlsx"
    book.save(path)

    out, err = run("visits", path)
    assert "history.xlsx, line 3, edss: 3.25 is not an EDSS step" in err
    assert not Visit.objects.exists()

    sheet["E3"] = 4.0
    book.save(path)
    out, err = run("visits", path)
    assert "created 2" in out, err
    assert Visit.objects.get(source_id="row-1").date == dt.date(2022, 5, 4)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_import_has_its_patients_evaluated_together_once_stored(site_a):
    from outcomes.models import PatientStatus
    from patients.signals import patients_data_changed

    announced: list[list[int]] = []

    def listener(sender, patient_ids, **kwargs):
        announced.append(patient_ids)

    patients_data_changed.connect(listener)
    try:
        run("patients", TEMPLATES / "patients.csv")
        run("visits", TEMPLATES / "visits.csv")
        run("visits", TEMPLATES / "visits.csv", "--dry-run")
    finally:
        patients_data_changed.disconnect(listener)
    ids = sorted(Patient.objects.values_list("pk", flat=True))
    # One announcement per stored file naming every patient in it; the dry run none.
    assert announced == [ids, ids]
    assert PatientStatus.objects.filter(patient__in=ids).count() == 2

"""Each bad record is refused by the model with its field named, and again by the database
when code bypasses the model (raw bulk insert)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from patients.models import Patient
from tests import factories as f
from tests.conftest import require_postgres

pytestmark = pytest.mark.django_db

FUTURE = timezone.localdate() + dt.timedelta(days=10)
BEFORE_BIRTH = dt.date(1980, 1, 1)  # factories' patients are born in 1985

BAD_RECORDS = [
    ("edss 0.5", f.visit, {"edss": Decimal("0.5")}, "edss"),
    ("edss 10.5", f.visit, {"edss": Decimal("10.5")}, "edss"),
    ("edss 3.25", f.visit, {"edss": Decimal("3.25")}, "edss"),
    ("visit in the future", f.visit, {"date": FUTURE}, "date"),
    ("visit before birth", f.visit, {"date": BEFORE_BIRTH}, "date"),
    ("sdmt 111", f.visit, {"sdmt": 111}, "sdmt"),
    ("t25fw 0", f.visit, {"t25fw": Decimal("0")}, "t25fw"),
    ("relapse in the future", f.relapse, {"onset": FUTURE}, "onset"),
    ("relapse before birth", f.relapse, {"onset": BEFORE_BIRTH}, "onset"),
    ("relapse ends before onset", f.relapse, {"end": dt.date(2024, 1, 1)}, "end"),
    ("negative new T2", f.mri_scan, {"new_t2": -1}, "new_t2"),
    ("negative Gd", f.mri_scan, {"gd_enhancing": -2}, "gd_enhancing"),
    ("negative total T2", f.mri_scan, {"total_t2": -1}, "total_t2"),
    ("MRI in the future", f.mri_scan, {"date": FUTURE}, "date"),
    ("NfL zero", f.nfl_sample, {"value": Decimal("0")}, "value"),
    ("NfL negative", f.nfl_sample, {"value": Decimal("-3.2")}, "value"),
    ("NfL before birth", f.nfl_sample, {"date": BEFORE_BIRTH}, "date"),
    ("course ends before start", f.therapy_course, {"end": dt.date(2022, 12, 31)}, "end"),
    ("course starts in the future", f.therapy_course, {"start": FUTURE}, "start"),
    ("comorbidity in the future", f.comorbidity, {"onset": FUTURE}, "onset"),
    ("comorbidity before birth", f.comorbidity, {"onset": BEFORE_BIRTH}, "onset"),
    ("comorbidity without condition", f.comorbidity, {"condition": ""}, "condition"),
    ("comorbidity code with letters", f.comorbidity, {"code": "44054OO6"}, "code"),
    ("comorbidity code too short", f.comorbidity, {"code": "44054"}, "code"),
    (
        "comorbidity resolves before onset",
        f.comorbidity,
        {"resolved": dt.date(2019, 5, 31)},
        "resolved",
    ),
]


@pytest.mark.parametrize(
    ("build", "fields", "field"),
    [case[1:] for case in BAD_RECORDS],
    ids=[case[0] for case in BAD_RECORDS],
)
def test_model_refuses_bad_record_naming_the_field(patient, build, fields, field):
    record = build(patient, **fields)
    with pytest.raises(ValidationError) as refused:
        record.full_clean()
    assert field in refused.value.message_dict
    assert len(refused.value.message_dict) == 1, refused.value.message_dict


@pytest.mark.parametrize(
    ("build", "fields"), [case[1:3] for case in BAD_RECORDS], ids=[case[0] for case in BAD_RECORDS]
)
def test_database_refuses_bad_record_when_model_is_bypassed(patient, build, fields):
    record = build(patient, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        type(record).objects.bulk_create([record])


@pytest.mark.parametrize(
    "build", [f.visit, f.relapse, f.mri_scan, f.nfl_sample, f.therapy_course, f.comorbidity]
)
def test_a_good_record_passes_both(patient, build):
    record = build(patient)
    record.full_clean()
    record.save()
    assert type(record).objects.filter(pk=record.pk).exists()


def test_every_edss_step_is_accepted_and_nothing_between(patient):
    steps = [
        "0",
        "1.0",
        "1.5",
        "2",
        "2.5",
        "3.0",
        "3.5",
        "4",
        "4.5",
        "5",
        "5.5",
        "6",
        "6.5",
        "7",
        "7.5",
        "8",
        "8.5",
        "9",
        "9.5",
        "10",
    ]
    for step in steps:
        f.visit(patient, edss=Decimal(step)).full_clean()
    for wrong in ["-1", "0.5", "1.25", "4.75", "9.9", "10.5", "nan"]:
        with pytest.raises(ValidationError) as refused:
            f.visit(patient, edss=Decimal(wrong)).full_clean()
        assert "edss" in refused.value.message_dict


def test_edss_is_never_rounded(patient):
    with pytest.raises(ValidationError) as refused:
        f.visit(patient, edss=Decimal("3.25")).full_clean()
    assert "3.25 is not an EDSS step" in refused.value.message_dict["edss"][0]


def test_second_patient_with_same_mrn_in_a_site_is_refused(site_a, site_b):
    first = f.make_patient(site_a, mrn="X-1")
    duplicate = Patient(site=site_a, mrn="X-1", birth_date=dt.date(1990, 1, 1), phenotype="RRMS")
    with pytest.raises(ValidationError) as refused:
        duplicate.full_clean()
    assert "mrn" in refused.value.message_dict
    Patient(
        site=site_b, mrn=first.mrn, birth_date=dt.date(1990, 1, 1), phenotype="RRMS"
    ).full_clean()


def test_database_refuses_same_mrn_in_a_site(site_a):
    f.make_patient(site_a, mrn="X-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.bulk_create(
            [Patient(site=site_a, mrn="X-1", birth_date=dt.date(1990, 1, 1), phenotype="RRMS")]
        )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"birth_date": FUTURE}, "birth_date"),
        ({"diagnosis_date": dt.date(1970, 1, 1)}, "diagnosis_date"),
        ({"symptom_onset": FUTURE}, "symptom_onset"),
        ({"mrn": "  "}, "mrn"),
        ({"phenotype": "XX"}, "phenotype"),
    ],
)
def test_patient_rules_name_the_field(site_a, fields, field):
    values = {"mrn": "P1", "birth_date": dt.date(1985, 3, 14), "phenotype": "RRMS", **fields}
    with pytest.raises(ValidationError) as refused:
        Patient(site=site_a, **values).full_clean()
    assert field in refused.value.message_dict


@pytest.mark.postgres
def test_database_refuses_patient_born_in_the_future(site_a):
    require_postgres()  # SQLite cannot consult the clock in a CHECK constraint
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.bulk_create(
            [Patient(site=site_a, mrn="F1", birth_date=FUTURE, phenotype="RRMS")]
        )


@pytest.mark.postgres
def test_postgres_names_the_broken_rule(patient):
    require_postgres()
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        type(f.visit(patient)).objects.bulk_create([f.visit(patient, date=BEFORE_BIRTH)])
    assert "before the patient's birth" in str(refused.value)
    assert connection.vendor == "postgresql"


def test_one_visit_per_patient_and_day(patient):
    f.visit(patient).save()
    with pytest.raises(ValidationError) as refused:
        f.visit(patient).full_clean()
    assert "date" in refused.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        f.visit(patient).save()


@pytest.mark.parametrize("typed", ["2023", "1984-05", "not a date"])
def test_a_date_that_does_not_parse_is_a_field_error_not_a_crash(patient, typed):
    with pytest.raises(ValidationError) as refused:
        f.visit(patient, date=typed).full_clean()
    assert list(refused.value.message_dict) == ["date"], refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        Patient(site=patient.site, mrn="D1", birth_date=typed, phenotype="RRMS").full_clean()
    assert "birth_date" in refused.value.message_dict

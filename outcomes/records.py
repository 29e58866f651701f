"""A patient's records as the engine reads them, loaded for many patients at once.

`load()` reads the records of any number of patients in a fixed number of queries (one per
table) and turns them into the engine's dataclasses, each carrying the public id of the row
it came from so that every result can cite its evidence. Entered-in-error records are left
out by the models' default managers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, FloatField, Model, Q
from django.db.models.functions import Cast

from monitoring.clinical import records as engine
from monitoring.clinical import safety
from monitoring.clinical.frozen import direct_init
from monitoring.clinical.progression import Visit as EngineVisit
from monitoring.clinical.safety import JCV_INDEX, Lab, TherapyAction
from monitoring.models import Analyte, LabResult, MriScan, NflSample, Pregnancy, Relapse, Visit
from mstrack.db import fetch_rows
from patients.models import Patient, TherapyCourse


# Engine records that also carry the public id of the row they came from, so that every
# result can cite its evidence. The engine sees plain engine records.
@direct_init
@dataclass(frozen=True, slots=True)
class CourseRecord(engine.TherapyCourse):
    pk: int = 0
    public_id: str = ""
    code: str = ""
    immunosuppressant: bool = False  # as the therapy catalogue marks it (PML risk)


@direct_init
@dataclass(frozen=True, slots=True)
class RelapseRecord(engine.Relapse):
    public_id: str = ""


@direct_init
@dataclass(frozen=True, slots=True)
class ScanRecord(engine.MriScan):
    public_id: str = ""


@direct_init
@dataclass(frozen=True, slots=True)
class NflRecord(engine.NflSample):
    public_id: str = ""


@direct_init
@dataclass(frozen=True, slots=True)
class Dated:
    """A visit or JCV test: what the overdue rules and evidence need of it."""

    date: dt.date
    public_id: str


@dataclass(slots=True)
class PatientRecords:
    """One patient's records in use (entered-in-error ones left out), as read from the DB."""

    patient_id: int
    site_id: int
    birth_date: dt.date
    courses: list[CourseRecord] = field(default_factory=list)
    visits: list[EngineVisit] = field(default_factory=list)
    visit_ids: dict[dt.date, str] = field(default_factory=dict)
    relapses: list[RelapseRecord] = field(default_factory=list)
    scans: list[ScanRecord] = field(default_factory=list)
    nfl: list[NflRecord] = field(default_factory=list)
    jcv: list[Dated] = field(default_factory=list)
    sex: str = ""
    labs: list[Lab] = field(default_factory=list)  # safety labs, each with its public id
    pregnancies: list[safety.Pregnancy] = field(default_factory=list)


def load(patient_ids: Sequence[int], *, lock: bool = False) -> dict[int, PatientRecords]:
    """The records of these patients, in nine queries whatever their number.

    With `lock` (inside a transaction) the patient rows are locked first, in id order, so
    that evaluations of one patient run one after the other and each reads data committed
    before it started; NO KEY UPDATE leaves record inserts (which take KEY SHARE) unblocked.
    """
    patients = Patient.objects.filter(pk__in=patient_ids).order_by("pk")
    if lock:
        patients = patients.select_for_update(no_key=True)
    out = {
        pk: PatientRecords(patient_id=pk, site_id=site_id, birth_date=birth, sex=sex)
        for pk, site_id, birth, sex in patients.values_list("pk", "site_id", "birth_date", "sex")
    }
    of_these = of_patients(list(out))
    courses = _rows(
        TherapyCourse,
        of_these,
        "start",
        "pk",
        "public_id",
        "therapy__code",
        "therapy__name",
        "therapy__therapy_class",
        "therapy__immunosuppressant",
        "start",
        "end",
        "stop_reason",
    )
    for (
        patient_id,
        pk,
        public_id,
        code,
        name,
        therapy_class,
        suppressant,
        start,
        end,
        stop,
    ) in courses:
        if patient_id not in out:
            continue
        out[patient_id].courses.append(
            CourseRecord(
                name,
                therapy_class,
                start,
                end,
                bool(stop),
                pk,
                str(public_id),
                code,
                suppressant,
            )
        )
    visits = _rows(Visit, of_these, "date", "public_id", "date", _as_float("edss"), "scheduled")
    for patient_id, public_id, day, edss, scheduled in visits:
        records = out.get(patient_id)
        if records is None:
            continue
        records.visits.append(EngineVisit(day, edss, scheduled))
        records.visit_ids[day] = str(public_id)
    relapses = _rows(Relapse, of_these, "onset", "public_id", "onset")
    for patient_id, public_id, onset in relapses:
        if patient_id in out:
            out[patient_id].relapses.append(RelapseRecord(onset, str(public_id)))
    scans = _rows(
        MriScan, of_these, "date", "public_id", "date", "new_t2", "gd_enhancing", "total_t2", "pbvc"
    )
    for patient_id, public_id, day, new_t2, gd, total_t2, pbvc in scans:
        if patient_id in out:
            out[patient_id].scans.append(
                ScanRecord(day, new_t2, gd, total_t2, pbvc, str(public_id))
            )
    samples = _rows(
        NflSample,
        of_these,
        "date",
        "public_id",
        "date",
        "matrix",
        "value",
        "assay",
        "lab_upper_limit",
        "z_score",
    )
    for patient_id, public_id, day, matrix, value, assay, upper, z in samples:
        if patient_id in out:
            out[patient_id].nfl.append(
                NflRecord(day, matrix, value, assay, upper, z, str(public_id))
            )
    analytes = analyte_codes()
    labs = _rows(
        LabResult,
        of_these,
        "date",
        "public_id",
        "analyte_id",
        "date",
        _as_float("value"),
        _as_float("lower_limit"),
        _as_float("upper_limit"),
        "text",
    )
    for patient_id, public_id, analyte_id, day, value, lower, upper, text in labs:
        records = out.get(patient_id)
        if records is None:
            continue
        code = analytes[analyte_id]
        records.labs.append(Lab(code, day, value, lower, upper, text, str(public_id)))
        if code == JCV_INDEX:
            records.jcv.append(Dated(day, str(public_id)))
    pregnancies = _rows(Pregnancy, of_these, "start", "public_id", "start", "end", "therapy_action")
    for patient_id, public_id, start, end, action in pregnancies:
        if patient_id in out:
            out[patient_id].pregnancies.append(
                safety.Pregnancy(start, end, TherapyAction(action), str(public_id))
            )
    return out


def _rows(
    model: type[Model], of_these: Q, day: str, *fields: str | Cast
) -> Iterable[tuple[Any, ...]]:
    """(patient_id, *fields) of a record table, in (patient, day) order by the table's own
    columns: the models' default ordering goes through the patient to its site and MRN, a
    join with every patient of the database for PostgreSQL to hash (45 ms a query on
    100,000 patients, more than reading the records)."""
    return fetch_rows(
        model._default_manager.filter(of_these)
        .order_by("patient_id", day, "pk")
        .values_list("patient_id", *fields)
    )


def _as_float(name: str) -> Cast:
    """A decimal column read as a float: the engine computes in floats, and the database
    converting it (correctly rounded, as Python's float() of the Decimal is) spares the
    driver a Decimal per value, three per lab result."""
    return Cast(F(name), FloatField())


def analyte_codes() -> dict[int, str]:
    """Analyte codes by id: a catalogue of a few dozen rows, read once per load."""
    return dict(Analyte.objects.values_list("pk", "code"))


def of_patients(ids: Collection[int]) -> Q:
    """Rows of these patients and maybe a few others, which the caller must skip: by id
    range when the ids are dense, as the sweep's batches are, else by list. A range is one
    index scan for PostgreSQL and one parameter pair for the driver, where 500 ids cost
    both more than the rows they find."""
    if ids and max(ids) - min(ids) < 2 * len(ids):
        return Q(patient_id__gte=min(ids), patient_id__lte=max(ids))
    return Q(patient_id__in=ids)


def public_id_of(record: object) -> str:
    """The public id of an engine record built by `load()`."""
    public_id: str = getattr(record, "public_id")  # noqa: B009 - any of the *Record types
    return public_id

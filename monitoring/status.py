"""A patient's treat-to-target status: read plain data, run the engine, store the result.

`load()` reads the records of any number of patients in a fixed number of queries (one per
table); `assess()` turns one patient's rows into engine dataclasses and runs every rule of
`monitoring.clinical`; `status_row()` builds the stored `PatientStatus`. Nothing here decides
a clinical question: the engine does, and this module only carries record ids beside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import Model, Q
from django.utils import timezone
from psycopg.types.string import TextLoader

from alerts.models import PatientStatus
from monitoring.clinical import records as engine
from monitoring.clinical.atrophy import BrainVolumeChange, brain_volume_change
from monitoring.clinical.definitions import Definition, definition
from monitoring.clinical.episodes import current_episode
from monitoring.clinical.neda import NedaStatus, NedaWindow, neda_status
from monitoring.clinical.nfl import NflStatus, assess_nfl
from monitoring.clinical.progression import Compiled, Event, assess
from monitoring.clinical.progression import Visit as EngineVisit
from monitoring.clinical.rebaseline import add_months, rebaseline_date
from monitoring.clinical.scores import FirstYearScores, first_year_scores
from monitoring.models import JcvTest, MriScan, NflSample, Relapse, Visit
from patients.models import Patient, TherapyCourse

NATALIZUMAB = "natalizumab"


# Engine records that also carry the public id of the row they came from, so that every
# result can cite its evidence. The engine sees plain engine records.
@dataclass(frozen=True, slots=True)
class CourseRecord(engine.TherapyCourse):
    pk: int = 0
    public_id: str = ""
    code: str = ""


@dataclass(frozen=True, slots=True)
class RelapseRecord(engine.Relapse):
    public_id: str = ""


@dataclass(frozen=True, slots=True)
class ScanRecord(engine.MriScan):
    public_id: str = ""


@dataclass(frozen=True, slots=True)
class NflRecord(engine.NflSample):
    public_id: str = ""


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


@dataclass(frozen=True, slots=True)
class Config:
    """The settings an assessment depends on (defaults in `thresholds.py`)."""

    definition: Definition
    definition_json: dict[str, Any]  # stored beside every result; built once
    fingerprint: bytes  # of the definition and of the code that turns records into windows
    compiled: Compiled
    mri_overdue_months: int
    edss_overdue_months: int
    jcv_overdue_months: int
    lookback_months: int
    magnims_alert_points: int
    rio_alert_points: int


def config() -> Config:
    return _config(
        settings.ALERT_PROGRESSION_DEFINITION,
        tuple(sorted(settings.ALERT_PROGRESSION_SETTINGS.items())),
        settings.ALERT_MRI_OVERDUE_MONTHS,
        settings.ALERT_EDSS_OVERDUE_MONTHS,
        settings.ALERT_JCV_OVERDUE_MONTHS,
        settings.ALERT_LOOKBACK_MONTHS,
        settings.ALERT_MAGNIMS_POINTS,
        settings.ALERT_RIO_POINTS,
    )


@lru_cache(maxsize=8)
def _config(
    name: str,
    progression: tuple[tuple[str, Any], ...],
    mri: int,
    edss: int,
    jcv: int,
    lookback: int,
    magnims: int,
    rio: int,
) -> Config:
    # Compiling a definition is not free; settings change only in tests, so cache by value.
    chosen = definition(name, **dict(progression))
    as_dict = chosen.as_dict()
    fingerprint = hashlib.sha256(_code_fingerprint())
    fingerprint.update(json.dumps(as_dict, sort_keys=True).encode())
    return Config(
        chosen,
        as_dict,
        fingerprint.digest(),
        Compiled(chosen),
        mri,
        edss,
        jcv,
        lookback,
        magnims,
        rio,
    )


@lru_cache(maxsize=1)
def _code_fingerprint() -> bytes:
    """The source of the engine and of this module: kept windows are recomputed after a
    deploy that changes how they are computed, whether or not the engine version moved."""
    sources = sorted(Path(__file__).parent.joinpath("clinical").glob("*.py"))
    h = hashlib.sha256()
    for path in [*sources, Path(__file__)]:
        h.update(path.read_bytes())
    return h.digest()


def load(patient_ids: Sequence[int], *, lock: bool = False) -> dict[int, PatientRecords]:
    """The records of these patients, in seven queries whatever their number.

    With `lock` (inside a transaction) the patient rows are locked first, in id order, so
    that evaluations of one patient run one after the other and each reads data committed
    before it started; NO KEY UPDATE leaves record inserts (which take KEY SHARE) unblocked.
    """
    patients = Patient.objects.filter(pk__in=patient_ids).order_by("pk")
    if lock:
        patients = patients.select_for_update(no_key=True)
    out = {
        pk: PatientRecords(patient_id=pk, site_id=site_id, birth_date=birth)
        for pk, site_id, birth in patients.values_list("pk", "site_id", "birth_date")
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
        "start",
        "end",
        "stop_reason",
    )
    for patient_id, pk, public_id, code, name, therapy_class, start, end, stop in courses:
        if patient_id not in out:
            continue
        out[patient_id].courses.append(
            CourseRecord(name, therapy_class, start, end, bool(stop), pk, str(public_id), code)
        )
    visits = _rows(Visit, of_these, "date", "public_id", "date", "edss", "scheduled")
    for patient_id, public_id, day, edss, scheduled in visits:
        records = out.get(patient_id)
        if records is None:
            continue
        records.visits.append(EngineVisit(day, float(edss), scheduled))
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
    tests = _rows(JcvTest, of_these, "date", "public_id", "date")
    for patient_id, public_id, day in tests:
        if patient_id in out:
            out[patient_id].jcv.append(Dated(day, str(public_id)))
    return out


def _rows(model: type[Model], of_these: Q, day: str, *fields: str) -> Iterable[tuple[Any, ...]]:
    """(patient_id, *fields) of a record table, in (patient, day) order by the table's own
    columns: the models' default ordering goes through the patient to its site and MRN, a
    join with every patient of the database for PostgreSQL to hash (45 ms a query on
    100,000 patients, more than reading the records).

    On PostgreSQL public ids arrive as text: the driver's UUID objects, turned back into
    text for the evidence, were a fifth of reading a batch (26 per patient).
    """
    rows = (
        model.objects.filter(of_these)
        .order_by("patient_id", day, "pk")
        .values_list("patient_id", *fields)
    )
    if connection.vendor != "postgresql":
        return rows
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        # The loaders of this query's psycopg cursor are its own.
        cursor.cursor.adapters.register_loader("uuid", TextLoader)
        cursor.execute(sql, params)
        rows_read: list[tuple[Any, ...]] = cursor.fetchall()
        return rows_read


def of_patients(ids: Collection[int]) -> Q:
    """Rows of these patients and maybe a few others, which the caller must skip: by id
    range when the ids are dense, as the sweep's batches are, else by list. A range is one
    index scan for PostgreSQL and one parameter pair for the driver, where 500 ids cost
    both more than the rows they find."""
    if ids and max(ids) - min(ids) < 2 * len(ids):
        return Q(patient_id__gte=min(ids), patient_id__lte=max(ids))
    return Q(patient_id__in=ids)


@dataclass(frozen=True, slots=True)
class Assessment:
    """Everything the engine says about one patient on `as_of`, with the records behind it."""

    records: PatientRecords
    as_of: dt.date
    config: Config
    course: CourseRecord | None
    rebaseline: dt.date | None
    worsening: tuple[Event, ...]  # confirmed worsening (CDW) events, oldest first
    neda: NedaStatus
    scores: FirstYearScores | None
    nfl: NflStatus | None
    brain_volume: BrainVolumeChange
    last_scan: ScanRecord | None
    last_visit: Dated | None
    last_jcv: Dated | None
    mri_due: dt.date
    edss_due: dt.date
    jcv_due: dt.date | None
    closed_years_key: str  # what the closed calendar years were computed from
    closed_years_kept: bool  # left out: the stored ones were computed from the same

    @property
    def treatment_window(self) -> NedaWindow:
        """The window therapy failure is judged in: since re-baseline on a therapy, else the
        last 12 months."""
        since = self.neda.since_rebaseline
        return since if since is not None else self.neda.rolling_12_months

    @property
    def lookback_start(self) -> dt.date:
        """Events before this day are history: they raise no alert."""
        return add_months(self.as_of, -self.config.lookback_months)

    def recent_worsening(self) -> tuple[Event, ...]:
        return tuple(e for e in self.worsening if e.onset.date >= self.lookback_start)

    def visit_id(self, day: dt.date) -> str:
        return self.records.visit_ids[day]

    def scan_ids(self, days: Iterable[dt.date]) -> list[str]:
        wanted = set(days)
        return [s.public_id for s in self.records.scans if s.date in wanted]


def closed_years_key(records: PatientRecords, *, as_of: dt.date, config: Config) -> str:
    """A fingerprint of everything the stored calendar years before `as_of`'s year depend on.

    Their windows are final but for the records (and the events the definition finds in
    them): the same records give the same stored windows on any day of the year, so the
    nightly sweep keeps them instead of computing and writing them again. The one part of a
    window that depends on the date, the provisional note of a met disability component
    while its last EDSS is under 12 weeks old, is not part of the stored form (a window's
    explanation names only components not met or unknown); `tests/alerts/test_batch.py`
    holds kept years to recomputed ones through those weeks. The code that computes and
    stores them is part of the fingerprint (`Config.fingerprint`).
    """
    parts = [
        as_of.year,
        [(v.date, v.value, v.confirmable) for v in records.visits],
        sorted(records.visit_ids.items()),
        [(r.onset, r.public_id) for r in records.relapses],
        [
            (s.date, s.new_t2, s.gd_enhancing, s.total_t2, s.pbvc, s.public_id)
            for s in records.scans
        ],
    ]
    h = hashlib.sha256(config.fingerprint)
    h.update(orjson.dumps(parts, default=str))  # dates as ISO text, Decimal PBVC as written
    return h.hexdigest()


def assess_patient(
    records: PatientRecords, *, as_of: dt.date, config: Config, stored_closed_years_key: str = ""
) -> Assessment:
    """The engine's results on `as_of`. The calendar years before `as_of`'s year are left
    out when `stored_closed_years_key` says the stored ones were computed from the same."""
    d = config.definition
    relapse_days = [r.onset for r in records.relapses]
    events = assess(records.visits, relapse_days, d, config.compiled)
    worsening = tuple(e for e in events if e.kind == "worsening")
    # The therapy episode: an induction drug's courses are one, from its first course (§7).
    course = current_episode(records.courses, as_of)
    history = engine.ClinicalHistory(
        relapses=records.relapses,
        worsenings=[engine.WorseningOnset(e.onset.date, e.cdw_type) for e in worsening],
        edss_dates=[v.date for v in records.visits],
        scans=records.scans,
    )
    dates = [v.date for v in records.visits] + [s.date for s in records.scans] + relapse_days
    follow_up_start = min(dates, default=as_of)
    last_scan = max(records.scans, key=lambda s: s.date, default=None)
    last_visit_day = max(records.visit_ids, default=None)
    last_visit = (
        Dated(last_visit_day, records.visit_ids[last_visit_day]) if last_visit_day else None
    )
    last_jcv = max(records.jcv, key=lambda j: j.date, default=None)
    key = closed_years_key(records, as_of=as_of, config=config)
    kept = key == stored_closed_years_key
    jcv_due = None
    if course is not None and course.code == NATALIZUMAB:
        jcv_due = add_months(last_jcv.date, config.jcv_overdue_months) if last_jcv else course.start
    return Assessment(
        records=records,
        as_of=as_of,
        config=config,
        course=course,
        rebaseline=rebaseline_date(course) if course else None,
        worsening=worsening,
        neda=neda_status(
            history,
            as_of=as_of,
            follow_up_start=follow_up_start,
            course=course,
            since_year=as_of.year if kept else None,
        ),
        scores=(
            first_year_scores(course, relapses=records.relapses, scans=records.scans, as_of=as_of)
            if course
            else None
        ),
        nfl=assess_nfl(records.nfl, birth_date=records.birth_date, as_of=as_of),
        brain_volume=brain_volume_change(records.scans, start=None, end=as_of),
        last_scan=last_scan,
        last_visit=last_visit,
        last_jcv=last_jcv,
        # Without any MRI or EDSS on record the first one is due from the start of follow-up.
        mri_due=(
            add_months(last_scan.date, config.mri_overdue_months) if last_scan else follow_up_start
        ),
        edss_due=(
            add_months(last_visit.date, config.edss_overdue_months)
            if last_visit
            else follow_up_start
        ),
        jcv_due=jcv_due,
        closed_years_key=key,
        closed_years_kept=kept,
    )


# --- Stored form -------------------------------------------------------------------------


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _ids(records: Iterable[object]) -> list[str]:
    return [public_id_of(r) for r in records]


def public_id_of(record: object) -> str:
    """The public id of an engine record built by `load()`."""
    public_id: str = record.public_id  # type: ignore[attr-defined]
    return public_id


def _id(record: object | None) -> str | None:
    return None if record is None else public_id_of(record)


def window_json(a: Assessment, w: NedaWindow) -> dict[str, Any]:
    atrophy = w.atrophy
    return {
        "kind": str(w.kind),
        "label": w.label,
        "start": _iso(w.start),
        "end": _iso(w.end),
        "complete": w.complete,
        "neda3": str(w.neda3),
        "neda4": str(w.neda4),
        "relapse": {"state": str(w.relapse.state), "relapses": _ids(w.relapse.relapses)},
        "disability": {
            "state": str(w.disability.state),
            "worsening_onsets": [a.visit_id(x.onset) for x in w.disability.worsenings],
        },
        "mri": {"state": str(w.mri.state), "scans": _ids(w.mri.scans)},
        "atrophy": {
            "state": str(atrophy.neda4),
            "pbvc_per_year": atrophy.pbvc_per_year,
            "within_noise": atrophy.within_noise,
            "scans": a.scan_ids(p.later for p in atrophy.pairs),
        },
        "reference_scan": _id(w.reference_scan),
        "explanation": w.explanation,
    }


def event_json(a: Assessment, e: Event) -> dict[str, Any]:
    pira = e.pira_confirmation
    return {
        "cdw_type": e.cdw_type,
        "recent": e.onset.date >= a.lookback_start,
        "onset": {
            "date": _iso(e.onset.date),
            "edss": e.onset.value,
            "visit": a.visit_id(e.onset.date),
        },
        "baseline": {
            "date": _iso(e.baseline.date),
            "edss": e.baseline.value,
            "visit": a.visit_id(e.baseline.date),
        },
        "confirmation": {
            "date": _iso(e.confirmation.date),
            "visit": a.visit_id(e.confirmation.date),
        },
        "pira_confirmation": (
            {"date": _iso(pira.date), "visit": a.visit_id(pira.date)} if pira else None
        ),
        "relapses": [r.isoformat() for r in e.relapses],
        "sustained_days": e.sustained_days,
    }


def scores_json(s: FirstYearScores) -> dict[str, Any]:
    return {
        "start": _iso(s.start),
        "end": _iso(s.end),
        "complete": s.complete,
        "magnims": {"points": s.magnims.points, "at_least": s.magnims.minimum_points},
        "rio": {"points": s.rio.points, "at_least": s.rio.minimum_points},
        "relapses": _ids(s.relapses),
        "scans": _ids(s.scans),
        "reference_scan": _id(s.reference_scan),
        "closing_scan": _id(s.closing_scan),
        "new_t2": s.new_t2,
        "explanation": " ".join((s.explanation, s.magnims.explanation, s.rio.explanation)),
    }


def nfl_json(n: NflStatus) -> dict[str, Any]:
    return {
        "sample": _id(n.sample),
        "date": _iso(n.sample.date),
        "value": float(n.sample.value),
        "elevated": n.elevated,
        "upper_limit": n.upper_limit,
        "limit_source": n.limit_source,
        "rising": n.rising,
        "previous": _id(n.previous),
        "change_fraction": n.change_fraction,
        "explanation": n.explanation,
    }


def brain_volume_json(a: Assessment, b: BrainVolumeChange) -> dict[str, Any]:
    return {
        "pbvc_per_year": b.pbvc_per_year,
        "total_pbvc": b.total_pbvc,
        "years": b.years,
        "within_noise": b.within_noise,
        "neda4": str(b.neda4),
        "scans": a.scan_ids(p.later for p in b.pairs),
        "explanation": b.explanation,
    }


def status_row(a: Assessment) -> PatientStatus:
    """The `PatientStatus` of an assessment (not saved). `neda` holds the current calendar
    year, `closed_years` the earlier ones (empty when the assessment kept the stored ones)."""
    rolling = a.neda.rolling_12_months
    years = [window_json(a, w) for w in a.neda.calendar_years]
    closed = sum(w.end.year < a.as_of.year for w in a.neda.calendar_years)
    neda: dict[str, Any] = {
        "rolling_12_months": window_json(a, rolling),
        "since_rebaseline": (
            window_json(a, a.neda.since_rebaseline) if a.neda.since_rebaseline else None
        ),
        "calendar_years": years[closed:],
    }
    return PatientStatus(
        patient_id=a.records.patient_id,
        as_of=a.as_of,
        computed_at=timezone.now(),
        definition=a.config.definition_json,
        engine_version=a.config.definition.engine_version,
        therapy_course_id=a.course.pk if a.course else None,
        rebaseline_date=a.rebaseline,
        neda3=str(rolling.neda3),
        neda4=str(rolling.neda4),
        neda=neda,
        closed_years=years[:closed],
        closed_years_key=a.closed_years_key,
        worsening=[event_json(a, e) for e in reversed(a.worsening)],
        scores=scores_json(a.scores) if a.scores else None,
        magnims=a.scores.magnims.minimum_points if a.scores else None,
        rio=a.scores.rio.minimum_points if a.scores else None,
        nfl=nfl_json(a.nfl) if a.nfl else None,
        brain_volume=brain_volume_json(a, a.brain_volume),
        mri_due=a.mri_due,
        edss_due=a.edss_due,
        jcv_due=a.jcv_due,
    )

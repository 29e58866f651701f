"""One patient's assessment: the engine's answers on a date, with the records behind them.

`assess_patient()` runs every rule of `monitoring.clinical` over the plain records of
`outcomes.records`; `outcomes.documents` turns the result into the stored form and
`outcomes.store` writes it. Nothing here decides a clinical question: the engine does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings

from monitoring import clinical
from monitoring.clinical import records as engine
from monitoring.clinical.atrophy import BrainVolumeChange, brain_volume_change
from monitoring.clinical.definitions import Definition, definition
from monitoring.clinical.episodes import current_episode
from monitoring.clinical.frozen import direct_init
from monitoring.clinical.neda import NedaStatus, NedaWindow, neda_status
from monitoring.clinical.nfl import NflStatus, assess_nfl
from monitoring.clinical.progression import Compiled, Event, assess
from monitoring.clinical.rebaseline import add_months, rebaseline_date
from monitoring.clinical.safety import (
    BRAIN_MRI,
    JCV_INDEX,
    Course,
    Lab,
    Protocol,
    SafetyStatus,
    assess_safety,
)
from monitoring.clinical.scores import FirstYearScores, first_year_scores
from outcomes.records import CourseRecord, Dated, PatientRecords, ScanRecord

NO_PROTOCOL = Protocol(())


@dataclass(frozen=True, slots=True)
class Config:
    """The settings an assessment depends on (defaults in `thresholds.py`)."""

    definition: Definition
    definition_json: dict[str, Any]  # stored beside every result; built once
    fingerprint: bytes  # of the definition and of the code that turns records into windows
    compiled: Compiled
    mri_overdue_months: int
    edss_overdue_months: int
    lookback_months: int
    magnims_alert_points: int
    rio_alert_points: int


def config() -> Config:
    return _config(
        settings.ALERT_PROGRESSION_DEFINITION,
        tuple(sorted(settings.ALERT_PROGRESSION_SETTINGS.items())),
        settings.ALERT_MRI_OVERDUE_MONTHS,
        settings.ALERT_EDSS_OVERDUE_MONTHS,
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
        lookback,
        magnims,
        rio,
    )


@lru_cache(maxsize=1)
def _code_fingerprint() -> bytes:
    """The source of the engine and of the code that stores its windows: kept windows are
    recomputed after a deploy that changes how they are computed, whether or not the engine
    version moved."""
    engine_sources = sorted(Path(clinical.__file__).parent.glob("*.py"))
    here = Path(__file__).parent
    h = hashlib.sha256()
    for path in [*engine_sources, here / "assessment.py", here / "documents.py"]:
        h.update(path.read_bytes())
    return h.digest()


@direct_init
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
    mri_due: dt.date  # the yearly follow-up MRI (ALERT_MRI_OVERDUE_MONTHS after the last)
    edss_due: dt.date
    jcv_due: dt.date | None
    closed_years_key: str  # what the closed calendar years were computed from
    closed_years_kept: bool  # left out: the stored ones were computed from the same
    safety: SafetyStatus  # therapy safety monitoring [§7.1]

    @property
    def next_mri_due(self) -> dt.date:
        """The next MRI: the yearly follow-up, or sooner when a safety item asks for one
        (natalizumab at high PML risk). The stored `mri_due` the clinic's lists sort by."""
        asked = [d.due for d in self.safety.due if d.item.analyte == BRAIN_MRI]
        return min([self.mri_due, *asked])

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


def safety_status(records: PatientRecords, protocol: Protocol, *, as_of: dt.date) -> SafetyStatus:
    """The engine's safety monitoring of one patient [§7.1, §7.2]: the courses with the
    catalogue's immunosuppressant mark (PML risk), the labs and the brain MRIs of the MRI
    records (asked for at high PML risk), the pregnancies (they explain gaps)."""
    courses = [
        Course(c.code, c.therapy_class, c.start, c.end, c.immunosuppressant)
        for c in records.courses
    ]
    scans = [Lab(BRAIN_MRI, s.date, public_id=s.public_id) for s in records.scans]
    return assess_safety(
        courses,
        [*records.labs, *scans],
        protocol,
        as_of=as_of,
        sex=records.sex,
        pregnancies=records.pregnancies,
    )


def assess_patient(
    records: PatientRecords,
    *,
    as_of: dt.date,
    config: Config,
    stored_closed_years_key: str = "",
    protocol: Protocol = NO_PROTOCOL,
) -> Assessment:
    """The engine's results on `as_of`. The calendar years before `as_of`'s year are left
    out when `stored_closed_years_key` says the stored ones were computed from the same.
    Safety monitoring follows `protocol` (the catalogue, read once per batch)."""
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
    safety = safety_status(records, protocol, as_of=as_of)
    jcv_due = min((d.due for d in safety.due if d.item.analyte == JCV_INDEX), default=None)
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
        safety=safety,
    )

"""The clinic's outcomes across its patients: what each patient contributes, then counts.

Two steps, both plain Python over plain rows:
- `contribution(patient, ...)` runs the engine over one patient's records once: NEDA-3/4 of
  each calendar year and since each course's re-baseline, the time from each course's start
  to its first CDW, PIRA, RAW, relapse and therapy failure (or to the end of follow-up), the
  course's first-year MAGNIMS and modified Rio, and the worsening events under every
  definition compared;
- the `*_counts` functions add the contributions of the patients a filter keeps into
  tables of counts, each with its denominator.
Survival estimates and confidence intervals (lifelines, scipy) are made from these counts
and times by `outcomes.cohort`; the engine stays free of them.

Follow-up of a course ends at its end (stopped or replaced) or on `as_of`, and is observed
up to the last EDSS visit inside it: a worsening or a relapse can only be seen at a visit.
Therapy failure is the first CDW on the course or its stop for inefficacy, whichever is first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from monitoring.clinical.definitions import Definition
from monitoring.clinical.episodes import therapy_episodes
from monitoring.clinical.neda import neda_calendar_years, neda_since_rebaseline
from monitoring.clinical.progression import Compiled, Event, Visit, assess
from monitoring.clinical.records import (
    ClinicalHistory,
    MriScan,
    Relapse,
    State,
    TherapyCourse,
    WorseningOnset,
)
from monitoring.clinical.scores import first_year_scores

SMALL_GROUP = 10  # fewer patients than this: counts only, never a percentage
DAYS_PER_YEAR = 365.25

Endpoint = Literal["cdw", "pira", "raw", "relapse", "failure"]
ENDPOINTS: tuple[Endpoint, ...] = ("cdw", "pira", "raw", "relapse", "failure")
ENDPOINT_LABELS: dict[Endpoint, str] = {
    "cdw": "first confirmed disability worsening (CDW)",
    "pira": "first PIRA",
    "raw": "first RAW",
    "relapse": "first relapse",
    "failure": "therapy failure (first CDW or stop for inefficacy)",
}

# Bands (lower bound inclusive, upper exclusive; None: open), labels as shown.
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("<30", 0, 30),
    ("30-39", 30, 40),
    ("40-49", 40, 50),
    ("50-59", 50, 60),
    ("60+", 60, None),
)
# Disease duration in whole years since symptom onset (diagnosis when onset is unknown);
# Graf 2021 tabulates PIRA on natalizumab by these.
DURATION_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("<5", 0, 5),
    ("5-9", 5, 10),
    ("10-14", 10, 15),
    ("15-19", 15, 20),
    ("20+", 20, None),
)
UNKNOWN_BAND = "unknown"


@dataclass(frozen=True, slots=True)
class CohortCourse(TherapyCourse):
    """A therapy course with its code and whether it stopped for inefficacy."""

    code: str = ""
    stopped_for_inefficacy: bool = False


@dataclass(frozen=True, slots=True)
class CohortPatient:
    """One patient's records as the cohort reads them (entered-in-error records left out)."""

    patient_id: int
    sex: str
    phenotype: str
    birth_date: dt.date
    disease_onset: dt.date | None  # symptom onset, else diagnosis; None when neither known
    courses: Sequence[CohortCourse] = ()
    visits: Sequence[Visit] = ()
    relapses: Sequence[Relapse] = ()
    scans: Sequence[MriScan] = ()


@dataclass(frozen=True, slots=True)
class Filters:
    """Which patients and courses a report counts; None: all. `therapy` is a therapy code,
    `period` the calendar years (first, last) of NEDA years, course starts and event onsets."""

    therapy: str | None = None
    phenotype: str | None = None
    sex: str | None = None
    age_band: str | None = None
    disease_duration: str | None = None
    period: tuple[int, int] | None = None

    def keeps_year(self, year: int) -> bool:
        return self.period is None or self.period[0] <= year <= self.period[1]


@dataclass(frozen=True, slots=True)
class NedaYear:
    year: int
    therapy: str | None  # the course running the whole (observed) year, else None
    complete: bool  # the whole calendar year is in follow-up
    neda3: State
    neda4: State


@dataclass(frozen=True, slots=True)
class TimeToEvent:
    days: int  # from the course start to the event, or to the end of observation
    observed: bool  # False: censored


@dataclass(frozen=True, slots=True)
class CourseOutcome:
    """What one course contributes: its since-re-baseline NEDA, times to each endpoint,
    first-year scores (None while not final) and the disease duration at its start."""

    therapy: str
    code: str
    start: dt.date
    since_rebaseline: tuple[State, State] | None  # (NEDA-3, NEDA-4); None: not yet open
    times: Mapping[Endpoint, TimeToEvent]
    magnims: int | None
    rio: int | None
    disease_years_at_start: int | None


@dataclass(frozen=True, slots=True)
class DefinitionEvent:
    onset: dt.date
    cdw_type: str  # RAW, PIRA, undefined
    therapy_code: str | None  # the course running at onset


@dataclass(frozen=True, slots=True)
class Contribution:
    """Everything one patient adds to the cohort's tables, and what filters read."""

    patient_id: int
    sex: str
    phenotype: str
    age_band: str
    duration_band: str
    years: tuple[NedaYear, ...]
    courses: tuple[CourseOutcome, ...]
    events: Mapping[str, tuple[DefinitionEvent, ...]]  # by definition name


def band(value: int | None, bands: Sequence[tuple[str, int, int | None]]) -> str:
    if value is None:
        return UNKNOWN_BAND
    for label, low, high in bands:
        if value >= low and (high is None or value < high):
            return label
    return UNKNOWN_BAND


def whole_years(start: dt.date, end: dt.date) -> int:
    """Completed years from `start` to `end` (an age)."""
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def _episodes(courses: Sequence[CohortCourse]) -> list[CohortCourse]:
    """The therapy episodes as courses; one stopped for inefficacy when any of its courses
    was (a clinician closes an induction episode on its last course)."""
    episodes = therapy_episodes(courses)
    return [
        dataclasses.replace(
            e,
            stopped_for_inefficacy=any(
                c.stopped_for_inefficacy
                for c in courses
                if c.therapy == e.therapy
                and e.start <= c.start
                and (e.end is None or c.start <= e.end)
            ),
        )
        for e in episodes
    ]


def course_on(courses: Sequence[CohortCourse], day: dt.date) -> CohortCourse | None:
    """The latest-started course running on `day`."""
    running = [c for c in courses if c.start <= day and (c.end is None or c.end >= day)]
    return max(running, key=lambda c: c.start, default=None)


def contribution(
    patient: CohortPatient,
    *,
    as_of: dt.date,
    main: tuple[Definition, Compiled],
    compared: Sequence[tuple[Definition, Compiled]] = (),
) -> Contribution:
    """One patient's part of the cohort on `as_of`; `main` is the clinic's definition (NEDA,
    times to event, PIRA by disease duration), `compared` the definitions shown side by side."""
    relapse_days = [r.onset for r in patient.relapses]
    main_events = _worsening(assess(patient.visits, relapse_days, main[0], main[1]))
    events: dict[str, tuple[DefinitionEvent, ...]] = {}
    # Induction courses of one drug are one episode, on until another therapy starts [§7].
    episodes = _episodes(patient.courses)
    for d, compiled in compared:
        found = (
            main_events
            if d == main[0]
            else _worsening(assess(patient.visits, relapse_days, d, compiled))
        )
        events[d.name] = tuple(
            DefinitionEvent(
                e.onset.date,
                e.cdw_type or "undefined",
                _code(course_on(episodes, e.onset.date)),
            )
            for e in found
        )
    history = ClinicalHistory(
        relapses=patient.relapses,
        worsenings=[WorseningOnset(e.onset.date, e.cdw_type) for e in main_events],
        edss_dates=[v.date for v in patient.visits],
        scans=patient.scans,
    )
    dates = [v.date for v in patient.visits] + [s.date for s in patient.scans] + relapse_days
    years: tuple[NedaYear, ...] = ()
    if dates:
        windows = neda_calendar_years(history, as_of=as_of, follow_up_start=min(dates))
        years = tuple(
            NedaYear(
                w.start.year,
                _whole_window_therapy(episodes, w.start, w.end),
                w.complete,
                w.neda3,
                w.neda4,
            )
            for w in windows
        )
    onset = patient.disease_onset
    courses = tuple(
        _course_outcome(patient, c, history, main_events, as_of=as_of)
        for c in episodes
        if c.start <= as_of
    )
    return Contribution(
        patient_id=patient.patient_id,
        sex=patient.sex,
        phenotype=patient.phenotype,
        age_band=band(whole_years(patient.birth_date, as_of), AGE_BANDS),
        duration_band=band(whole_years(onset, as_of) if onset else None, DURATION_BANDS),
        years=years,
        courses=courses,
        events=events,
    )


def _worsening(events: Iterable[Event]) -> tuple[Event, ...]:
    return tuple(e for e in events if e.kind == "worsening")


def _code(course: CohortCourse | None) -> str | None:
    return course.code if course else None


def _whole_window_therapy(
    courses: Sequence[CohortCourse], start: dt.date, end: dt.date
) -> str | None:
    """The therapy of the one course running from `start` to `end`; None if none or a
    switch: a year counts for a therapy only when the patient took it all year."""
    course = course_on(courses, start)
    if course is None or (course.end is not None and course.end < end):
        return None
    if any(c is not course and start < c.start <= end for c in courses):
        return None
    return course.code


def _course_outcome(
    patient: CohortPatient,
    course: CohortCourse,
    history: ClinicalHistory,
    events: Sequence[Event],
    *,
    as_of: dt.date,
) -> CourseOutcome:
    last_day = as_of if course.end is None else min(course.end, as_of)
    seen = [v.date for v in patient.visits if course.start <= v.date <= last_day]
    observed_to = max(seen, default=course.start)

    def first(days: Iterable[dt.date]) -> TimeToEvent:
        inside = [d for d in days if course.start <= d <= observed_to]
        if inside:
            return TimeToEvent((min(inside) - course.start).days, True)
        return TimeToEvent((observed_to - course.start).days, False)

    onsets = {t: [e.onset.date for e in events if e.cdw_type == t] for t in ("PIRA", "RAW")}
    cdw = first(e.onset.date for e in events)
    failure = cdw
    if course.stopped_for_inefficacy and course.end is not None and course.end <= as_of:
        stop = TimeToEvent((course.end - course.start).days, True)
        if not cdw.observed or stop.days < cdw.days:
            failure = stop
    since = neda_since_rebaseline(history, as_of=as_of, course=course)
    scores = first_year_scores(course, relapses=patient.relapses, scans=patient.scans, as_of=as_of)
    onset = patient.disease_onset
    return CourseOutcome(
        therapy=course.therapy,
        code=course.code,
        start=course.start,
        since_rebaseline=(since.neda3, since.neda4) if since.complete else None,
        times={
            "cdw": cdw,
            "pira": first(onsets["PIRA"]),
            "raw": first(onsets["RAW"]),
            "relapse": first(r.onset for r in patient.relapses),
            "failure": failure,
        },
        magnims=scores.magnims.points if scores.complete else None,
        rio=scores.rio.points if scores.complete else None,
        disease_years_at_start=(
            whole_years(onset, course.start) if onset and onset <= course.start else None
        ),
    )


# --- Counting: the contributions a filter keeps, added into tables ---------------------


def kept(contributions: Iterable[Contribution], filters: Filters) -> list[Contribution]:
    """The patients the filters keep (therapy and period apply to courses and years)."""
    return [
        c
        for c in contributions
        if (filters.sex is None or c.sex == filters.sex)
        and (filters.phenotype is None or c.phenotype == filters.phenotype)
        and (filters.age_band is None or c.age_band == filters.age_band)
        and (filters.disease_duration is None or c.duration_band == filters.disease_duration)
    ]


def kept_courses(
    contributions: Iterable[Contribution], filters: Filters
) -> list[tuple[int, CourseOutcome]]:
    """(patient id, course) of the courses the filters keep: the therapy chosen, started
    within the period."""
    return [
        (c.patient_id, course)
        for c in contributions
        for course in c.courses
        if (filters.therapy is None or course.code == filters.therapy)
        and filters.keeps_year(course.start.year)
    ]


@dataclass(slots=True)
class StateCounts:
    """How many windows were met, not met and unknown."""

    met: int = 0
    not_met: int = 0
    unknown: int = 0

    def add(self, state: State) -> None:
        if state == State.MET:
            self.met += 1
        elif state == State.NOT_MET:
            self.not_met += 1
        else:
            self.unknown += 1

    @property
    def total(self) -> int:
        return self.met + self.not_met + self.unknown


@dataclass(slots=True)
class NedaCounts:
    patients: int = 0
    neda3: StateCounts = field(default_factory=StateCounts)
    neda4: StateCounts = field(default_factory=StateCounts)


def neda_year_counts(
    contributions: Iterable[Contribution], filters: Filters
) -> dict[tuple[str, int], NedaCounts]:
    """NEDA-3/4 per (therapy code, calendar year): one window per patient who took that
    therapy the whole year; the current year counts to `as_of` (not complete)."""
    out: dict[tuple[str, int], NedaCounts] = defaultdict(NedaCounts)
    for c in contributions:
        for y in c.years:
            if y.therapy is None or not filters.keeps_year(y.year):
                continue
            if filters.therapy is not None and y.therapy != filters.therapy:
                continue
            counts = out[(y.therapy, y.year)]
            counts.patients += 1
            counts.neda3.add(y.neda3)
            counts.neda4.add(y.neda4)
    return dict(sorted(out.items()))


def neda_since_rebaseline_counts(
    courses: Iterable[tuple[int, CourseOutcome]],
) -> dict[str, tuple[NedaCounts, int]]:
    """NEDA-3/4 since re-baseline per therapy code over its courses, and how many courses
    have not reached their re-baseline yet (not counted in the states)."""
    out: dict[str, tuple[NedaCounts, int]] = {}
    for _, course in courses:
        counts, waiting = out.get(course.code, (NedaCounts(), 0))
        if course.since_rebaseline is None:
            waiting += 1
        else:
            counts.patients += 1
            counts.neda3.add(course.since_rebaseline[0])
            counts.neda4.add(course.since_rebaseline[1])
        out[course.code] = (counts, waiting)
    return dict(sorted(out.items()))


@dataclass(slots=True)
class EventCounts:
    cdw: int = 0
    pira: int = 0
    raw: int = 0
    undefined: int = 0
    patients_with_cdw: int = 0


def definition_counts(
    contributions: Iterable[Contribution], filters: Filters, names: Sequence[str]
) -> dict[str, EventCounts]:
    """CDW events by type under each definition: onsets within the period, on the chosen
    therapy when one is chosen."""
    out = {name: EventCounts() for name in names}
    for c in contributions:
        for name in names:
            counts = out[name]
            mine = [
                e
                for e in c.events.get(name, ())
                if filters.keeps_year(e.onset.year)
                and (filters.therapy is None or e.therapy_code == filters.therapy)
            ]
            types = Counter(e.cdw_type for e in mine)
            counts.cdw += len(mine)
            counts.pira += types["PIRA"]
            counts.raw += types["RAW"]
            counts.undefined += types["undefined"]
            counts.patients_with_cdw += 1 if mine else 0
    return out


def score_groups(
    courses: Iterable[tuple[int, CourseOutcome]], score: Literal["magnims", "rio"]
) -> dict[int, list[TimeToEvent]]:
    """Time to therapy failure of the courses with a final first-year score, by score group
    (modified Rio: 0, 1 and >= 2, the published high-risk line)."""
    out: dict[int, list[TimeToEvent]] = defaultdict(list)
    for _, course in courses:
        points = course.magnims if score == "magnims" else course.rio
        if points is None:
            continue
        group = min(points, 2)
        out[group].append(course.times["failure"])
    return dict(sorted(out.items()))


@dataclass(slots=True)
class PiraByDuration:
    patients: int = 0
    with_pira: int = 0
    follow_up_days: list[int] = field(default_factory=list)


def pira_by_duration(
    courses: Iterable[tuple[int, CourseOutcome]], therapy: str
) -> dict[str, PiraByDuration]:
    """Patients with at least one PIRA on `therapy` by disease duration at its start
    (Graf 2021); a patient counts once, with the first course of that therapy."""
    first: dict[int, CourseOutcome] = {}
    for patient_id, course in courses:
        if course.code != therapy:
            continue
        if patient_id not in first or course.start < first[patient_id].start:
            first[patient_id] = course
    out = {label: PiraByDuration() for label, _, _ in DURATION_BANDS}
    out[UNKNOWN_BAND] = PiraByDuration()
    for course in first.values():
        row = out[band(course.disease_years_at_start, DURATION_BANDS)]
        row.patients += 1
        row.with_pira += 1 if course.times["pira"].observed else 0
        row.follow_up_days.append(course.times["pira"].days)
    return out

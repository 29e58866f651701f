"""The clinic's outcomes across its patients, as one JSON report (issue 17).

`compute(sites, filters)` loads the records of the sites' patients in chunks, lets the engine
(`monitoring.clinical.cohort`) work out what each patient contributes, and turns the counts
into the report's tables and curves: rates with Wilson intervals (scipy), Kaplan-Meier
estimates with their intervals and numbers at risk (lifelines). Workers compute it
(`outcomes.tasks`) and store it as a `CohortReport`; pages and the API only read it.

Every table names its denominator and definition; a group of fewer than 10 patients (or
courses, or events) is given as counts with a note, never as a percentage. Methods and
sources: docs/outcomes.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone
from lifelines import KaplanMeierFitter
from scipy.stats import binomtest

from monitoring.clinical import cohort as engine
from monitoring.clinical.definitions import PRESETS, definition
from monitoring.clinical.progression import Compiled
from monitoring.models import MriScan, Relapse, Visit
from outcomes.assessment import config
from outcomes.records import load
from patients.models import Patient, Phenotype, Sex, StopReason, Therapy, TherapyCourse

# Bump when the report's content or shape changes: stored reports are then recomputed.
REPORT_VERSION = "1"
CHUNK = 2000  # patients loaded and assessed at a time: memory stays flat on any cohort
COMPARED = tuple(PRESETS)  # muller2023, muller2023-strict, kappos2020, cagol2022, ...
PUBLISHED_MAGNIMS_RISK = {0: 17, 1: 27, 2: 48}  # Sormani 2016, 3-year risk of failure, %
AT_RISK_YEARS = (0, 1, 2, 3, 4, 5)
RISK_YEARS = (1, 2, 3)
CURVE_STEP_YEARS = 1 / 12  # curves are drawn monthly: one point a month, whatever n
CURVE_MIN_AT_RISK = 5  # a curve stops where fewer courses than this are still followed
SMALL = engine.SMALL_GROUP
SMALL_NOTE = f"fewer than {SMALL}: counts only"
RELAPSE_FREE = {
    "muller2023": "no relapse in [onset - 90 d, onset + 30 d] and [confirmation - 90 d, "
    "confirmation + 30 d]",
    "muller2023-strict": "no relapse from the baseline to the confirmation",
    "kappos2020": "no relapse in [baseline, onset + 30 d] and [confirmation +/- 30 d]",
    "cagol2022": "no relapse in [onset - 90 d, confirmation]",
    "muller2025": "no relapse from the last visit before the onset to the onset",
    "portaccio2025": "as muller2023, confirmed at 24 weeks (168 d)",
}


# --- Filters ---------------------------------------------------------------------------

FILTER_CHOICES: dict[str, tuple[str, ...]] = {
    "phenotype": tuple(Phenotype.values),
    "sex": tuple(Sex.values),
    "age_band": tuple(label for label, _, _ in engine.AGE_BANDS),
    "disease_duration": (*(label for label, _, _ in engine.DURATION_BANDS), engine.UNKNOWN_BAND),
}


def filters_key(filters: engine.Filters) -> str:
    """The canonical text of a filter set: one stored report per set and sites."""
    values = asdict(filters)
    return "&".join(
        f"{name}={'-'.join(map(str, value)) if isinstance(value, tuple) else value}"
        for name, value in sorted(values.items())
        if value is not None
    )


def filters_json(filters: engine.Filters) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(filters).items()}


def filters_from_json(data: dict[str, Any]) -> engine.Filters:
    values = dict(data)
    if values.get("period") is not None:
        values["period"] = tuple(values["period"])
    return engine.Filters(**values)


def sites_key(sites: set[int] | None) -> str:
    """The sites a report covers, as stored: "all" for a superuser's every site."""
    return "all" if sites is None else ",".join(str(s) for s in sorted(sites))


def sites_from_key(key: str) -> set[int] | None:
    return None if key == "all" else {int(s) for s in key.split(",") if s}


# --- Loading ---------------------------------------------------------------------------


def patients_of(sites: set[int] | None) -> Any:
    patients = Patient.objects.all()
    return patients if sites is None else patients.filter(site_id__in=sites)


def data_version(sites: set[int] | None, *, as_of: dt.date) -> str:
    """What a report depends on: the day, the definition, and the sites' patients and
    records in use (their number and latest change: an added or corrected record moves
    one, a record entered in error the other)."""
    patients = patients_of(sites)
    parts: list[Any] = [REPORT_VERSION, as_of, config().fingerprint.hex()]
    parts.append(patients.aggregate(n=Count("pk"), last=Max("updated_at")))
    of_sites = Q() if sites is None else Q(patient__site_id__in=sites)
    for model in (TherapyCourse, Visit, Relapse, MriScan):
        parts.append(
            model.objects.filter(of_sites).aggregate(n=Count("pk"), last=Max("updated_at"))
        )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def cohort_patients(sites: set[int] | None) -> Iterator[engine.CohortPatient]:
    """The sites' patients as the engine reads them, a chunk of records at a time."""
    ids = list(patients_of(sites).order_by("pk").values_list("pk", flat=True))
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        about = {
            pk: (sex, phenotype, onset or diagnosis)
            for pk, sex, phenotype, onset, diagnosis in Patient.objects.filter(
                pk__in=chunk
            ).values_list("pk", "sex", "phenotype", "symptom_onset", "diagnosis_date")
        }
        inefficacy = set(
            TherapyCourse.objects.filter(
                patient_id__in=chunk, stop_reason=StopReason.INEFFICACY
            ).values_list("pk", flat=True)
        )
        for pk, records in load(chunk).items():
            sex, phenotype, onset = about[pk]
            yield engine.CohortPatient(
                patient_id=pk,
                sex=sex,
                phenotype=phenotype,
                birth_date=records.birth_date,
                disease_onset=onset,
                courses=[
                    engine.CohortCourse(
                        therapy=c.therapy,
                        therapy_class=c.therapy_class,
                        start=c.start,
                        end=c.end,
                        closes_episode=c.closes_episode,
                        code=c.code,
                        stopped_for_inefficacy=c.pk in inefficacy,
                    )
                    for c in records.courses
                ],
                visits=records.visits,
                relapses=records.relapses,
                scans=records.scans,
            )


def contributions(sites: set[int] | None, *, as_of: dt.date) -> list[engine.Contribution]:
    """What each of the sites' patients adds: under the clinic's definition (`main`) and
    under every preset's defaults side by side."""
    chosen = config()
    main = (chosen.definition, chosen.compiled)
    compared = [
        main if chosen.definition == definition(name) else (definition(name), None)
        for name in COMPARED
    ]
    compiled = [(d, c or Compiled(d)) for d, c in compared]
    return [
        engine.contribution(p, as_of=as_of, main=main, compared=compiled)
        for p in cohort_patients(sites)
    ]


# --- Statistics ------------------------------------------------------------------------


def percent(value: float) -> float | None:
    """A fraction as a percentage to 0.1; None where lifelines has no interval (S = 0)."""
    return None if math.isnan(value) else round(100 * float(value), 1)


def proportion(k: int, n: int) -> tuple[float | None, float | None, float | None]:
    """k of n as a percentage with its 95 % Wilson interval; None for a small group."""
    if n < SMALL:
        return None, None, None
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return round(100 * k / n, 1), percent(ci.low), percent(ci.high)


def small_note(n: int) -> str:
    return SMALL_NOTE if n < SMALL else ""


class Fitted:
    """A Kaplan-Meier fit (lifelines) read as plain arrays: its step functions looked up with
    a binary search (lifelines' own lookups go through pandas, 10 ms each)."""

    def __init__(self, times: Sequence[engine.TimeToEvent]) -> None:
        kmf = KaplanMeierFitter()
        kmf.fit(
            np.array([t.days for t in times], dtype=float) / engine.DAYS_PER_YEAR,
            np.array([t.observed for t in times], dtype=bool),
        )
        self.durations = np.sort(np.asarray(kmf.durations, dtype=float))
        self.timeline = np.asarray(kmf.timeline, dtype=float)
        self.survival = kmf.survival_function_.to_numpy()[:, 0]
        band = kmf.confidence_interval_survival_function_.to_numpy()
        self.low, self.high = band[:, 0], band[:, 1]

    def at(self, years: Sequence[float]) -> np.ndarray:
        """Index into the timeline of the step in force at each time."""
        return np.searchsorted(self.timeline, np.asarray(years) + 1e-12, side="right") - 1

    def followed(self, years: float) -> int:
        """Courses still followed (no event, not censored) just before `years`."""
        return len(self.durations) - int(np.searchsorted(self.durations, years - 1e-9))


def fit(times: Sequence[engine.TimeToEvent]) -> Fitted:
    return Fitted(times)


def risk_at(km: Fitted, years: float) -> tuple[float | None, float | None, float | None]:
    """Cumulative incidence (1 - KM survival) by `years` with its 95 % interval (lifelines'
    exponential Greenwood); None when no one was still followed then, unless everyone had
    the event before."""
    (i,) = km.at([years])
    survival = float(km.survival[i])
    if km.durations[-1] < years and survival > 0:
        return None, None, None
    return percent(1 - survival), percent(1 - km.high[i]), percent(1 - km.low[i])


def at_risk(times: Sequence[engine.TimeToEvent], years: float) -> int:
    return sum(1 for t in times if t.days / engine.DAYS_PER_YEAR >= years)


def curve(km: Fitted) -> dict[str, Sequence[float | None]]:
    """Cumulative incidence and its band, monthly while at least `CURVE_MIN_AT_RISK`
    courses are still followed: the tail of a few courses is noise, not a finding."""
    steps = 0
    while km.followed((steps + 1) * CURVE_STEP_YEARS) >= CURVE_MIN_AT_RISK:
        steps += 1
    grid = [round(i * CURVE_STEP_YEARS, 4) for i in range(steps + 1)]
    index = km.at(grid)
    return {
        "years": grid,
        "cumulative": [percent(1 - km.survival[i]) for i in index],
        "lower": [percent(1 - km.high[i]) for i in index],
        "upper": [percent(1 - km.low[i]) for i in index],
    }


# --- The report ------------------------------------------------------------------------


def table(
    id: str,
    title: str,
    *,
    definition: str,
    denominator: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> dict[str, Any]:
    return {
        "id": id,
        "title": title,
        "definition": definition,
        "denominator": denominator,
        "columns": list(columns),
        "rows": [list(r) for r in rows],
    }


def compute(
    sites: set[int] | None, filters: engine.Filters, *, as_of: dt.date | None = None
) -> dict[str, Any]:
    """The whole report over the sites' patients that `filters` keep."""
    day = as_of or timezone.localdate()
    return report(contributions(sites, as_of=day), filters, as_of=day)


def report(
    everyone: Sequence[engine.Contribution], filters: engine.Filters, *, as_of: dt.date
) -> dict[str, Any]:
    patients = engine.kept(everyone, filters)
    courses = engine.kept_courses(patients, filters)
    names = dict(Therapy.objects.values_list("code", "name"))
    main = config().definition.name
    tables = [
        _neda_years(patients, filters, names, main),
        _neda_since_rebaseline(courses, names, main),
    ]
    km_tables, curves = _time_to_event(courses, names, main)
    tables += km_tables
    tables.append(_pira_share(patients, filters))
    tables += [_scores(courses, "magnims"), _scores(courses, "rio")]
    chosen = filters.therapy or settings.COHORT_PIRA_THERAPY
    tables.append(_pira_by_duration(courses, chosen, names.get(chosen, chosen), main))
    return {
        "report_version": REPORT_VERSION,
        "as_of": as_of.isoformat(),
        "definition": main,
        "filters": filters_json(filters),
        "patients": len(patients),
        "courses": len(courses),
        "tables": tables,
        "curves": curves,
    }


NEDA_COLUMNS = (
    "NEDA-3 met",
    "NEDA-3 not met",
    "NEDA-3 unknown",
    "NEDA-3 % met",
    "NEDA-3 95% CI low",
    "NEDA-3 95% CI high",
    "NEDA-3 % unknown",
    "NEDA-4 met",
    "NEDA-4 not met",
    "NEDA-4 unknown",
    "NEDA-4 % met",
    "NEDA-4 95% CI low",
    "NEDA-4 95% CI high",
    "NEDA-4 % unknown",
    "note",
)


def _neda_cells(counts: engine.NedaCounts) -> list[Any]:
    n = counts.patients
    cells: list[Any] = []
    for states in (counts.neda3, counts.neda4):
        rate, low, high = proportion(states.met, n)
        unknown = None if n < SMALL else percent(states.unknown / n)
        cells += [states.met, states.not_met, states.unknown, rate, low, high, unknown]
    return [*cells, small_note(n)]


def _neda_years(
    patients: Sequence[engine.Contribution],
    filters: engine.Filters,
    names: dict[str, str],
    main: str,
) -> dict[str, Any]:
    rows = [
        [names.get(code, code), year, counts.patients, *_neda_cells(counts)]
        for (code, year), counts in engine.neda_year_counts(patients, filters).items()
    ]
    return table(
        "neda_years",
        "NEDA-3 and NEDA-4 per therapy and calendar year",
        definition="NEDA-3: no relapse, no CDW (onset in the year, definition "
        f"{main}), no new/enlarging T2 or Gd-enhancing lesion; NEDA-4 adds annualized brain "
        "volume loss <= 0.4 %/year. Unknown when a component lacks data (no MRI, no EDSS): "
        "never counted as met. The current year runs to the report's date.",
        denominator="patients on that therapy for the whole calendar year (one window each)",
        columns=("therapy", "year", "patients", *NEDA_COLUMNS),
        rows=rows,
    )


def _neda_since_rebaseline(
    courses: Sequence[tuple[int, engine.CourseOutcome]], names: dict[str, str], main: str
) -> dict[str, Any]:
    rows = [
        [names.get(code, code), counts.patients, waiting, *_neda_cells(counts)]
        for code, (counts, waiting) in engine.neda_since_rebaseline_counts(courses).items()
    ]
    return table(
        "neda_since_rebaseline",
        "NEDA-3 and NEDA-4 since re-baseline, per therapy",
        definition="From the re-baseline (start + 6 months; induction: + 24 months) to the "
        f"course's end or the report's date; MRI counted from the re-baseline scan; CDW "
        f"definition {main}.",
        denominator="courses past their re-baseline; courses not yet there are counted apart",
        columns=("therapy", "courses", "courses before re-baseline", *NEDA_COLUMNS),
        rows=rows,
    )


def _time_to_event(
    courses: Sequence[tuple[int, engine.CourseOutcome]], names: dict[str, str], main: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    by_therapy: dict[str, list[engine.CourseOutcome]] = {}
    for _, course in courses:
        by_therapy.setdefault(course.code, []).append(course)
    summary: list[list[Any]] = []
    risk_rows: list[list[Any]] = []
    curves: list[dict[str, Any]] = []
    for endpoint in engine.ENDPOINTS:
        for code, outcomes in sorted(by_therapy.items()):
            times = [c.times[endpoint] for c in outcomes]
            events = sum(t.observed for t in times)
            therapy = names.get(code, code)
            risk_rows.append([endpoint, therapy, *(at_risk(times, y) for y in AT_RISK_YEARS)])
            if len(times) < SMALL:
                summary.append([endpoint, therapy, len(times), events, *([None] * 9), SMALL_NOTE])
                continue
            kmf = fit(times)
            cells = [v for y in RISK_YEARS for v in risk_at(kmf, y)]
            summary.append([endpoint, therapy, len(times), events, *cells, ""])
            curves.append(
                {
                    "endpoint": endpoint,
                    "label": engine.ENDPOINT_LABELS[endpoint],
                    "therapy": therapy,
                    "courses": len(times),
                    "events": events,
                    **curve(kmf),
                }
            )
    definition_text = (
        "Kaplan-Meier (lifelines) from the therapy start to the first event on the course "
        f"(CDW onset, definition {main}; relapse onset; failure: first CDW or stop for "
        "inefficacy), censored at the last EDSS visit on the course; 95 % intervals: "
        "exponential Greenwood. Risk: cumulative incidence 1 - S(t); empty when no course "
        "was followed that long."
    )
    risk_columns = [
        f"{y} y {part}" for y in RISK_YEARS for part in ("risk %", "95% CI low", "95% CI high")
    ]
    return [
        table(
            "time_to_event",
            "Time to first CDW, PIRA, RAW, relapse and therapy failure, per therapy",
            definition=definition_text,
            denominator="courses of the therapy (a patient may have several)",
            columns=("endpoint", "therapy", "courses", "events", *risk_columns, "note"),
            rows=summary,
        ),
        table(
            "numbers_at_risk",
            "Numbers at risk (courses still followed without the event)",
            definition=definition_text,
            denominator="courses of the therapy",
            columns=("endpoint", "therapy", *(f"{y} y" for y in AT_RISK_YEARS)),
            rows=risk_rows,
        ),
    ], curves


def _pira_share(patients: Sequence[engine.Contribution], filters: engine.Filters) -> dict[str, Any]:
    counts = engine.definition_counts(patients, filters, COMPARED)
    rows = []
    for name in COMPARED:
        c = counts[name]
        share, low, high = proportion(c.pira, c.cdw)
        rows.append(
            [
                name,
                RELAPSE_FREE[name],
                c.cdw,
                c.pira,
                c.raw,
                c.undefined,
                share,
                low,
                high,
                c.patients_with_cdw,
                small_note(c.cdw),
            ]
        )
    return table(
        "pira_share",
        "PIRA share of confirmed worsening events under each definition",
        definition="Every CDW of the patients' EDSS course (roving baseline, 12-week "
        "confirmation unless the definition says otherwise), classified RAW (onset <= 90 d "
        "after a relapse), PIRA (the definition's relapse-free intervals) or undefined. "
        "Bsteh 2025 found 56-86 % across definitions.",
        denominator="CDW events (onset within the period; on the therapy chosen)",
        columns=(
            "definition",
            "relapse-free intervals",
            "CDW events",
            "PIRA",
            "RAW",
            "undefined",
            "PIRA % of CDW",
            "95% CI low",
            "95% CI high",
            "patients with CDW",
            "note",
        ),
        rows=rows,
    )


def _scores(courses: Sequence[tuple[int, engine.CourseOutcome]], score: str) -> dict[str, Any]:
    groups = engine.score_groups(courses, score)  # type: ignore[arg-type]
    rows = []
    for group in (0, 1, 2):
        times = groups.get(group, [])
        failed = sum(1 for t in times if t.observed and t.days <= 3 * engine.DAYS_PER_YEAR)
        risk: tuple[float | None, ...] = (None, None, None)
        if len(times) >= SMALL:
            risk = risk_at(fit(times), 3)
        published = PUBLISHED_MAGNIMS_RISK.get(group) if score == "magnims" else None
        label = str(group) if score == "magnims" or group < 2 else ">= 2 (high risk)"
        rows.append([label, published, len(times), failed, *risk, small_note(len(times))])
    name = "MAGNIMS" if score == "magnims" else "modified Rio"
    source = (
        "Sormani et al., Neurology 2016 (published 3-year risk 17 / 27 / 48 %)"
        if score == "magnims"
        else "Sormani et al., Mult Scler 2013 (>= 2 points: high risk)"
    )
    return table(
        f"scores_{score}",
        f"{name} score checked on the clinic's patients: observed 3-year risk of failure",
        definition=f"{source}. Score of the first year after re-baseline, final only (year "
        "over and its MRI known); failure: first CDW or stop for inefficacy, from the therapy "
        "start; 3-year risk: Kaplan-Meier 1 - S(3 y) with its 95 % interval.",
        denominator="courses with a final first-year score",
        columns=(
            "score",
            "published 3-y risk %",
            "courses",
            "failures by 3 y",
            "observed 3-y risk %",
            "95% CI low",
            "95% CI high",
            "note",
        ),
        rows=rows,
    )


def _pira_by_duration(
    courses: Sequence[tuple[int, engine.CourseOutcome]], code: str, therapy: str, main: str
) -> dict[str, Any]:
    rows = []
    for label, row in engine.pira_by_duration(courses, code).items():
        share, low, high = proportion(row.with_pira, row.patients)
        follow_up = (
            round(float(np.median(row.follow_up_days)) / engine.DAYS_PER_YEAR, 1)
            if row.follow_up_days
            else None
        )
        rows.append(
            [
                label,
                row.patients,
                row.with_pira,
                share,
                low,
                high,
                follow_up,
                small_note(row.patients),
            ]
        )
    return table(
        "pira_by_duration",
        f"PIRA on {therapy} by disease duration at its start (as Graf 2021 tabulates)",
        definition=f"Patients with at least one PIRA (definition {main}) on their first "
        f"{therapy} course; disease duration in whole years from symptom onset (diagnosis "
        "when onset is unknown) to the start. Graf et al., 2021: 24 % of natalizumab-treated "
        "patients had PIRA, disease duration its main factor.",
        denominator=f"patients who took {therapy}",
        columns=(
            "disease duration (years)",
            "patients",
            "with PIRA",
            "% with PIRA",
            "95% CI low",
            "95% CI high",
            "median follow-up (years)",
            "note",
        ),
        rows=rows,
    )

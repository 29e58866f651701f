"""The cohort's contributions and counts, on hand-made patients worked out by hand.

Every patient starts natalizumab (high efficacy: re-baseline after 6 months) on 2020-01-01
with an EDSS of 2.0, and is seen every six months; 2020 is a leap year (366 days).
"""

from __future__ import annotations

import datetime as dt

from monitoring.clinical.cohort import (
    DURATION_BANDS,
    CohortCourse,
    CohortPatient,
    Contribution,
    Filters,
    TimeToEvent,
    band,
    contribution,
    definition_counts,
    kept,
    kept_courses,
    neda_since_rebaseline_counts,
    neda_year_counts,
    pira_by_duration,
    score_groups,
)
from monitoring.clinical.definitions import definition
from monitoring.clinical.progression import Compiled, Visit
from monitoring.clinical.records import MriScan, Relapse, State

D = dt.date
AS_OF = D(2023, 6, 30)
START = D(2020, 1, 1)
NATALIZUMAB = CohortCourse("Natalizumab", "high_efficacy", START, code="natalizumab")
MAIN = definition("muller2023")
COMPARED = [
    (MAIN, Compiled(MAIN)),
    (definition("muller2023-strict"), Compiled(definition("muller2023-strict"))),
]


def visits(*edss: float) -> list[Visit]:
    """One visit every six months from the start, with these EDSS values."""
    days = [D(2020 + i // 2, 1 + 6 * (i % 2), 1) for i in range(len(edss))]
    return [Visit(day, value) for day, value in zip(days, edss, strict=True)]


def clean_scans() -> list[MriScan]:
    """A yearly MRI without activity, with a PBVC inside the NEDA-4 limit."""
    return [MriScan(D(year, 1, 15), 0, 0, pbvc=-0.2) for year in range(2019, 2024)]


def patient(pid: int, **kwargs: object) -> CohortPatient:
    values: dict[str, object] = {
        "sex": "female",
        "phenotype": "RRMS",
        "birth_date": D(1990, 3, 1),
        "disease_onset": D(2012, 5, 1),
        "courses": [NATALIZUMAB],
        "visits": visits(2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0),
        "relapses": [],
        "scans": clean_scans(),
    }
    values.update(kwargs)
    return CohortPatient(pid, **values)  # type: ignore[arg-type]


def contribute(p: CohortPatient) -> Contribution:
    return contribution(p, as_of=AS_OF, main=(MAIN, Compiled(MAIN)), compared=COMPARED)


# EDSS 2.0 -> 3.0 on 2021-01-01, still 3.0 six months later: a CDW with onset on day 366.
WORSENING = visits(2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0)


def test_pira_without_relapse_timed_from_the_course_start() -> None:
    c = contribute(patient(1, visits=WORSENING))
    (course,) = c.courses
    assert course.times["cdw"] == TimeToEvent(366, True)
    assert course.times["pira"] == TimeToEvent(366, True)
    # No RAW and no relapse: censored at the last visit, 2023-01-01 (1096 days).
    assert course.times["raw"] == TimeToEvent(1096, False)
    assert course.times["relapse"] == TimeToEvent(1096, False)
    assert course.times["failure"] == TimeToEvent(366, True)
    assert [e.cdw_type for e in c.events["muller2023"]] == ["PIRA"]


def test_raw_after_a_relapse_and_the_strict_definition_beside_it() -> None:
    # A relapse 12 days before the onset makes the CDW RAW under every definition.
    c = contribute(patient(2, visits=WORSENING, relapses=[Relapse(D(2020, 12, 20))]))
    (course,) = c.courses
    assert course.times["raw"] == TimeToEvent(366, True)
    assert course.times["pira"].observed is False
    assert course.times["relapse"] == TimeToEvent(354, True)
    # A relapse in 2020 breaks NEDA that year; the strict definition sees the same RAW.
    assert [e.cdw_type for e in c.events["muller2023-strict"]] == ["RAW"]
    counts = definition_counts([c], Filters(), ["muller2023", "muller2023-strict"])
    assert (counts["muller2023"].cdw, counts["muller2023"].raw) == (1, 1)


def test_stop_for_inefficacy_is_a_failure_at_the_stop() -> None:
    stopped = CohortCourse(
        "Natalizumab",
        "high_efficacy",
        START,
        D(2021, 3, 1),
        code="natalizumab",
        stopped_for_inefficacy=True,
    )
    (course,) = contribute(patient(3, courses=[stopped])).courses
    assert course.times["failure"] == TimeToEvent(425, True)  # 366 + 31 + 28
    assert course.times["cdw"] == TimeToEvent(366, False)  # last visit on it: 2021-01-01


def test_calendar_years_count_for_the_therapy_taken_all_year() -> None:
    c = contribute(patient(4, visits=WORSENING, relapses=[Relapse(D(2022, 5, 1))]))
    by_year = {y.year: y for y in c.years}
    # 2019 (follow-up from the first scan) had no therapy; 2020-2023 natalizumab.
    assert by_year[2019].therapy is None
    assert by_year[2021].neda3 == State.NOT_MET  # the CDW began 2021-01-01
    assert by_year[2022].neda3 == State.NOT_MET  # the relapse
    assert by_year[2020].neda3 == State.MET
    counts = neda_year_counts([c, contribute(patient(5))], Filters())
    year_2020 = counts[("natalizumab", 2020)]
    assert (year_2020.patients, year_2020.neda3.met, year_2020.neda3.not_met) == (2, 2, 0)
    year_2021 = counts[("natalizumab", 2021)]
    assert (year_2021.neda3.met, year_2021.neda3.not_met, year_2021.neda3.unknown) == (1, 1, 0)
    # The period filter keeps its years only.
    assert set(neda_year_counts([c], Filters(period=(2021, 2021)))) == {("natalizumab", 2021)}


def test_a_year_without_mri_is_unknown_never_met() -> None:
    no_mri = contribute(patient(6, scans=[]))
    counts = neda_year_counts([no_mri], Filters())[("natalizumab", 2020)]
    assert (counts.neda3.met, counts.neda3.unknown) == (0, 1)


def test_since_rebaseline_waits_for_the_rebaseline() -> None:
    late = CohortCourse("Natalizumab", "high_efficacy", D(2023, 3, 1), code="natalizumab")
    counts = neda_since_rebaseline_counts(
        kept_courses([contribute(patient(7)), contribute(patient(8, courses=[late]))], Filters())
    )
    neda, waiting = counts["natalizumab"]
    assert (neda.patients, neda.neda3.met, waiting) == (1, 1, 1)


def test_filters_keep_patients_and_courses() -> None:
    older = contribute(patient(9, birth_date=D(1960, 1, 1), sex="male"))
    young = contribute(patient(10))
    assert [c.patient_id for c in kept([older, young], Filters(sex="male"))] == [9]
    assert [c.patient_id for c in kept([older, young], Filters(age_band="60+"))] == [9]
    assert young.age_band == "30-39" and young.duration_band == "10-14"
    assert kept_courses([young], Filters(therapy="ocrelizumab")) == []
    assert kept_courses([young], Filters(period=(2021, 2022))) == []


def test_score_groups_and_pira_by_disease_duration() -> None:
    # One relapse in the first year on therapy (months 0-12): MAGNIMS 1; the second scan
    # closes that year (month 12.6, within the published 9-15 months, spec §4).
    scans = [MriScan(D(2020, 7, 10), 0, 0), MriScan(D(2021, 1, 20), 0, 0)]
    one = contribute(patient(11, relapses=[Relapse(D(2020, 10, 1))], scans=scans))
    none = contribute(patient(12, scans=scans, visits=WORSENING, disease_onset=D(2018, 1, 1)))
    courses = kept_courses([one, none], Filters())
    groups = score_groups(courses, "magnims")
    assert {g: len(times) for g, times in groups.items()} == {0: 1, 1: 1}
    assert groups[0] == [TimeToEvent(366, True)]
    rows = pira_by_duration(courses, "natalizumab")
    # Disease duration at the start: 7 years (2012 onset), 1 year (2018 onset).
    assert (rows["5-9"].patients, rows["5-9"].with_pira) == (1, 0)
    assert (rows["<5"].patients, rows["<5"].with_pira) == (1, 1)


def test_bands() -> None:
    assert band(None, DURATION_BANDS) == "unknown"
    assert band(4, DURATION_BANDS) == "<5"
    assert band(5, DURATION_BANDS) == "5-9"
    assert band(20, DURATION_BANDS) == "20+"


def test_an_induction_episode_is_followed_from_its_first_course_to_the_last_visit() -> None:
    """Alemtuzumab's two 5-day and 3-day courses (2020-01 and 2021-01) are one episode [§7]:
    its follow-up runs to the last visit (2023-01-01, day 1,096), not to the first infusion's
    end on day 4; the worsening of 2021-01-01 (day 366) falls inside it."""
    year_1 = CohortCourse("Alemtuzumab", "induction", START, D(2020, 1, 5), code="alemtuzumab")
    year_2 = CohortCourse(
        "Alemtuzumab", "induction", D(2021, 1, 1), D(2021, 1, 3), code="alemtuzumab"
    )
    quiet = contribute(patient(1, courses=[year_1, year_2]))
    (episode,) = quiet.courses
    assert episode.start == START
    assert episode.times["cdw"] == TimeToEvent(1096, False)
    worsening = contribute(patient(2, courses=[year_1, year_2], visits=WORSENING))
    (episode,) = worsening.courses
    assert episode.times["cdw"] == TimeToEvent(366, True)
    assert {e.therapy_code for e in worsening.events["muller2023"]} == {"alemtuzumab"}

"""NEDA-3 and NEDA-4 windows from hand-worked cases, and their invariants."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.clinical.neda import (
    NedaWindow,
    WindowKind,
    neda_calendar_years,
    neda_rolling_12_months,
    neda_since_rebaseline,
    neda_status,
)
from monitoring.clinical.rebaseline import rebaseline_date, reference_scan
from monitoring.clinical.records import (
    ClinicalHistory,
    MriScan,
    Relapse,
    State,
    TherapyCourse,
    WorseningOnset,
)

D = dt.date
MET, NOT_MET, UNKNOWN = State.MET, State.NOT_MET, State.UNKNOWN


def clean(day: dt.date, pbvc: float | None = None) -> MriScan:
    return MriScan(day, new_t2=0, gd_enhancing=0, pbvc=pbvc)


# Follow-up from 2022-03-01 to 2024-05-01. Hand-worked per year:
# 2022 (from 03-01): visits 03-01, 09-01 (the second has an earlier one); first scan 03-05
#   (Gd 0, no T2 comparison) then 12-01 clean, PBVC -0.2 over 271 days -> all met.
# 2023: visits 03-01, 09-01; scan 12-01 clean, PBVC -0.3 over exactly one year -> all met.
# 2024 (to 05-01): relapse 02-01, scan 04-01 with one new T2 and no PBVC, visit 03-01 ->
#   relapse and MRI not met, disability met, atrophy unknown.
FOLLOW_UP = ClinicalHistory(
    relapses=[Relapse(D(2024, 2, 1))],
    edss_dates=[D(2022, 3, 1), D(2022, 9, 1), D(2023, 3, 1), D(2023, 9, 1), D(2024, 3, 1)],
    scans=[
        MriScan(D(2022, 3, 5), new_t2=None, gd_enhancing=0),
        clean(D(2022, 12, 1), -0.2),
        clean(D(2023, 12, 1), -0.3),
        MriScan(D(2024, 4, 1), new_t2=1, gd_enhancing=0),
    ],
)


def states(window: NedaWindow) -> tuple[State, ...]:
    return (
        window.relapse.state,
        window.disability.state,
        window.mri.state,
        window.atrophy.neda4,
        window.neda3,
        window.neda4,
    )


def test_calendar_years_across_follow_up() -> None:
    years = neda_calendar_years(FOLLOW_UP, as_of=D(2024, 5, 1), follow_up_start=D(2022, 3, 1))
    assert [(w.start, w.end, w.complete) for w in years] == [
        (D(2022, 3, 1), D(2022, 12, 31), False),
        (D(2023, 1, 1), D(2023, 12, 31), True),
        (D(2024, 1, 1), D(2024, 5, 1), False),
    ]
    assert [w.label for w in years] == ["2022 (from 2022-03-01)", "2023", "2024 (to 2024-05-01)"]
    assert states(years[0]) == (MET, MET, MET, MET, MET, MET)
    assert years[0].atrophy.pbvc_per_year == pytest.approx(-0.2 * 365 / 271)
    assert states(years[1]) == (MET, MET, MET, MET, MET, MET)
    assert years[1].atrophy.pbvc_per_year == pytest.approx(-0.3)
    assert states(years[2]) == (NOT_MET, MET, NOT_MET, UNKNOWN, NOT_MET, NOT_MET)
    assert years[2].relapse.relapses == (Relapse(D(2024, 2, 1)),)
    assert [s.date for s in years[2].mri.scans] == [D(2024, 4, 1)]
    assert "Relapse with onset 2024-02-01" in years[2].explanation
    assert "MRI 2024-04-01: 1 new/enlarging T2" in years[2].explanation


def test_relapse_on_a_year_bound_belongs_to_that_year_only() -> None:
    history = dataclasses.replace(FOLLOW_UP, relapses=[Relapse(D(2023, 12, 31))])
    years = neda_calendar_years(history, as_of=D(2024, 5, 1), follow_up_start=D(2022, 3, 1))
    assert years[1].relapse.state is NOT_MET
    assert years[2].relapse.state is MET


@pytest.mark.parametrize(
    ("onset", "inside"),
    [
        (D(2023, 6, 15), False),  # exactly 12 months before as_of: outside
        (D(2023, 6, 16), True),  # first day of the window
        (D(2024, 6, 15), True),  # as_of itself
    ],
)
def test_rolling_12_months_bounds(onset: dt.date, inside: bool) -> None:
    history = ClinicalHistory(
        relapses=[Relapse(onset)],
        edss_dates=[D(2023, 1, 1), D(2024, 1, 1)],
        scans=[clean(D(2023, 1, 1)), clean(D(2024, 1, 1))],
    )
    window = neda_rolling_12_months(history, as_of=D(2024, 6, 15))
    assert (window.start, window.end) == (D(2023, 6, 16), D(2024, 6, 15))
    assert window.kind is WindowKind.ROLLING_12_MONTHS
    assert window.neda3 is (NOT_MET if inside else MET)


def test_window_without_mri_cannot_be_neda() -> None:
    history = ClinicalHistory(
        edss_dates=[D(2023, 1, 1), D(2024, 3, 1)], scans=[clean(D(2022, 12, 1))]
    )
    window = neda_rolling_12_months(history, as_of=D(2024, 6, 1))
    assert window.relapse.state is MET and window.disability.state is MET
    assert window.mri.state is UNKNOWN
    assert window.neda3 is UNKNOWN and window.neda4 is UNKNOWN
    assert "No MRI in the window" in window.explanation


def test_no_edss_in_window_leaves_relapse_and_disability_unknown() -> None:
    history = ClinicalHistory(
        edss_dates=[D(2022, 1, 1)], scans=[clean(D(2023, 1, 1)), clean(D(2024, 1, 1), -0.1)]
    )
    window = neda_rolling_12_months(history, as_of=D(2024, 6, 1))
    assert window.relapse.state is UNKNOWN
    assert window.disability.state is UNKNOWN
    assert window.mri.state is MET
    assert window.neda3 is UNKNOWN
    assert "No EDSS in the window" in window.disability.explanation


def test_only_edss_in_window_being_the_first_is_unknown() -> None:
    history = ClinicalHistory(edss_dates=[D(2024, 1, 1)], scans=[clean(D(2024, 2, 1))])
    window = neda_rolling_12_months(history, as_of=D(2024, 6, 1))
    assert window.relapse.state is MET
    assert window.disability.state is UNKNOWN
    assert "no earlier score" in window.disability.explanation


def test_neda3_met_without_pbvc_leaves_neda4_unknown() -> None:
    history = ClinicalHistory(
        edss_dates=[D(2023, 1, 1), D(2024, 1, 1)],
        scans=[clean(D(2023, 1, 1)), clean(D(2024, 1, 1))],
    )
    window = neda_rolling_12_months(history, as_of=D(2024, 3, 1))
    assert window.neda3 is MET
    assert window.atrophy.neda4 is UNKNOWN
    assert window.neda4 is UNKNOWN


def test_neda4_lost_by_atrophy_alone() -> None:
    history = ClinicalHistory(
        edss_dates=[D(2023, 1, 1), D(2024, 1, 1)],
        scans=[clean(D(2023, 1, 1)), clean(D(2024, 1, 1), -0.9)],
    )
    window = neda_rolling_12_months(history, as_of=D(2024, 3, 1))
    assert (window.neda3, window.neda4) == (MET, NOT_MET)
    assert window.atrophy.within_noise is False  # 0.9 > 2 x 0.28


def test_scan_missing_a_count_is_unknown_unless_another_shows_activity() -> None:
    base = ClinicalHistory(
        edss_dates=[D(2023, 1, 1), D(2024, 1, 1)],
        scans=[clean(D(2022, 1, 1)), MriScan(D(2023, 9, 1), new_t2=0, gd_enhancing=None)],
    )
    window = neda_rolling_12_months(base, as_of=D(2024, 3, 1))
    assert window.mri.state is UNKNOWN
    assert "2023-09-01 has no Gd-enhancing count" in window.mri.explanation
    active = dataclasses.replace(base, scans=[*base.scans, MriScan(D(2024, 2, 1), 0, 1)])
    assert neda_rolling_12_months(active, as_of=D(2024, 3, 1)).mri.state is NOT_MET


def test_first_scan_counts_for_gd_only() -> None:
    # The first scan's "new T2" has nothing to be new against: alone it leaves MRI unknown,
    # its Gd-enhancing lesion is activity.
    quiet = ClinicalHistory(
        edss_dates=[D(2023, 1, 1), D(2024, 1, 1)], scans=[MriScan(D(2023, 9, 1), 12, 0)]
    )
    window = neda_rolling_12_months(quiet, as_of=D(2024, 3, 1))
    assert window.mri.state is UNKNOWN
    assert "is the first one" in window.mri.explanation
    enhancing = dataclasses.replace(quiet, scans=[MriScan(D(2023, 9, 1), 12, 2)])
    window = neda_rolling_12_months(enhancing, as_of=D(2024, 3, 1))
    assert window.mri.state is NOT_MET
    assert "2 Gd-enhancing" in window.mri.explanation
    assert "new/enlarging" not in window.mri.explanation


def test_cdw_onset_in_window_breaks_disability_with_its_class() -> None:
    history = ClinicalHistory(
        worsenings=[WorseningOnset(D(2023, 10, 2), "PIRA"), WorseningOnset(D(2022, 5, 1), "RAW")],
        edss_dates=[D(2023, 1, 1), D(2023, 10, 2), D(2024, 1, 5)],
        scans=[clean(D(2023, 1, 1)), clean(D(2024, 1, 1))],
    )
    window = neda_rolling_12_months(history, as_of=D(2024, 6, 1))
    assert window.disability.state is NOT_MET
    assert window.disability.worsenings == (WorseningOnset(D(2023, 10, 2), "PIRA"),)
    assert "onset 2023-10-02 (PIRA)" in window.explanation
    assert window.neda3 is NOT_MET


def test_disability_met_is_provisional_within_12_weeks_of_the_last_visit() -> None:
    history = ClinicalHistory(
        edss_dates=[D(2023, 1, 1), D(2024, 5, 1)],
        scans=[clean(D(2023, 1, 1)), clean(D(2024, 1, 1))],
    )
    recent = neda_rolling_12_months(history, as_of=D(2024, 6, 1)).disability
    assert recent.state is MET
    assert "Provisional" in recent.explanation
    later = neda_rolling_12_months(history, as_of=D(2024, 9, 1)).disability
    assert "Provisional" not in later.explanation


# Ocrelizumab from 2023-01-10: re-baseline 2023-07-10.
OCRELIZUMAB = TherapyCourse("ocrelizumab", "high_efficacy", D(2023, 1, 10))
ON_OCRELIZUMAB = ClinicalHistory(
    edss_dates=[D(2023, 1, 5), D(2023, 7, 15), D(2024, 7, 15)],
    scans=[
        MriScan(D(2023, 5, 1), new_t2=5, gd_enhancing=3),  # before re-baseline
        MriScan(D(2023, 7, 20), new_t2=4, gd_enhancing=0, pbvc=-1.5),  # reference
        clean(D(2024, 7, 15), -0.35),
    ],
)


def test_since_rebaseline_counts_activity_after_the_reference_scan_only() -> None:
    window = neda_since_rebaseline(ON_OCRELIZUMAB, as_of=D(2024, 9, 1), course=OCRELIZUMAB)
    assert (window.start, window.end) == (D(2023, 7, 10), D(2024, 9, 1))
    assert window.reference_scan == ON_OCRELIZUMAB.scans[1]
    assert window.mri.state is MET
    assert [s.date for s in window.mri.scans] == [D(2023, 7, 20), D(2024, 7, 15)]
    assert "Reference MRI 2023-07-20: its Gd-enhancing lesions count" in window.mri.explanation
    # Atrophy from the reference on: -0.35 over 361 days; the pseudo-atrophy of -1.5 % before
    # the reference is not counted.
    assert window.atrophy.pbvc_per_year == pytest.approx(-0.35 * 366 / 361)
    assert (window.neda3, window.neda4) == (MET, MET)
    # The calendar year sees what the re-baseline excludes.
    year = neda_calendar_years(ON_OCRELIZUMAB, as_of=D(2024, 9, 1), follow_up_start=D(2023, 1, 1))
    assert year[0].mri.state is NOT_MET


def test_since_rebaseline_activity_after_the_reference_is_not_met() -> None:
    history = dataclasses.replace(
        ON_OCRELIZUMAB,
        relapses=[Relapse(D(2023, 7, 10))],  # on the re-baseline day: counts
        scans=[*ON_OCRELIZUMAB.scans, MriScan(D(2024, 8, 20), new_t2=2, gd_enhancing=0)],
    )
    window = neda_since_rebaseline(history, as_of=D(2024, 9, 1), course=OCRELIZUMAB)
    assert window.relapse.state is NOT_MET
    assert window.mri.state is NOT_MET
    assert [s.date for s in window.mri.scans] == [D(2024, 8, 20)]


def test_relapse_the_day_before_rebaseline_does_not_count() -> None:
    history = dataclasses.replace(ON_OCRELIZUMAB, relapses=[Relapse(D(2023, 7, 9))])
    window = neda_since_rebaseline(history, as_of=D(2024, 9, 1), course=OCRELIZUMAB)
    assert window.relapse.state is MET


def test_gd_enhancing_lesions_of_the_reference_scan_are_activity() -> None:
    """Spec §3: enhancement lasts weeks, so Gd+ on the reference formed after re-baseline;
    its new T2 lesions may predate it and do not count."""
    reference = MriScan(D(2024, 1, 10), new_t2=0, gd_enhancing=2)
    history = dataclasses.replace(ON_OCRELIZUMAB, scans=[reference])
    window = neda_since_rebaseline(history, as_of=D(2024, 9, 1), course=OCRELIZUMAB)
    assert window.mri.state is NOT_MET
    assert window.mri.scans == (reference,)
    assert window.neda3 is NOT_MET
    t2_only = dataclasses.replace(reference, new_t2=5, gd_enhancing=0)
    history = dataclasses.replace(ON_OCRELIZUMAB, scans=[t2_only])
    window = neda_since_rebaseline(history, as_of=D(2024, 9, 1), course=OCRELIZUMAB)
    assert window.mri.state is UNKNOWN


def test_reference_scan_without_contrast_leaves_the_gd_part_unknown() -> None:
    history = dataclasses.replace(
        ON_OCRELIZUMAB,
        scans=[MriScan(D(2023, 7, 20), 0, None), clean(D(2024, 7, 15))],
    )
    window = neda_since_rebaseline(history, as_of=D(2024, 9, 1), course=OCRELIZUMAB)
    assert window.mri.state is UNKNOWN
    assert "MRI 2023-07-20 has no Gd-enhancing count" in window.mri.explanation


def test_scan_on_rebaseline_day_is_the_reference_and_alone_is_unknown() -> None:
    scans = [MriScan(D(2023, 7, 10), 3, 0)]
    assert reference_scan(scans, D(2023, 7, 10)) == scans[0]
    history = dataclasses.replace(ON_OCRELIZUMAB, scans=scans)
    window = neda_since_rebaseline(history, as_of=D(2024, 9, 1), course=OCRELIZUMAB)
    assert window.reference_scan == scans[0]
    assert window.mri.state is UNKNOWN
    assert "Only the reference MRI of 2023-07-10" in window.mri.explanation
    assert window.neda3 is UNKNOWN


def test_since_rebaseline_without_any_scan_names_the_reference_to_come() -> None:
    history = dataclasses.replace(ON_OCRELIZUMAB, scans=[])
    window = neda_since_rebaseline(history, as_of=D(2024, 9, 1), course=OCRELIZUMAB)
    assert window.mri.state is UNKNOWN
    assert "the first one will be the reference scan" in window.mri.explanation


@pytest.mark.parametrize(
    ("therapy", "therapy_class", "start", "rebaseline"),
    [
        ("cladribine", "induction", D(2022, 3, 1), D(2024, 3, 1)),
        ("alemtuzumab", "induction", D(2022, 2, 28), D(2024, 2, 28)),
        ("aHSCT", "induction", D(2022, 8, 31), D(2024, 8, 31)),
        ("fingolimod", "platform", D(2023, 8, 31), D(2024, 2, 29)),
        ("natalizumab", "high_efficacy", D(2023, 3, 31), D(2023, 9, 30)),
    ],
)
def test_rebaseline_date_by_therapy_class(
    therapy: str, therapy_class: str, start: dt.date, rebaseline: dt.date
) -> None:
    course = TherapyCourse(therapy, therapy_class, start)  # type: ignore[arg-type]
    assert rebaseline_date(course) == rebaseline


def test_induction_window_opens_after_24_months() -> None:
    course = TherapyCourse("cladribine", "induction", D(2022, 3, 1))
    history = ClinicalHistory(
        relapses=[Relapse(D(2023, 1, 1))],
        edss_dates=[D(2022, 3, 1), D(2024, 5, 1)],
        scans=[MriScan(D(2023, 6, 1), 2, 1), clean(D(2024, 3, 15)), clean(D(2025, 3, 1))],
    )
    early = neda_since_rebaseline(history, as_of=D(2023, 6, 1), course=course)
    assert not early.complete
    assert (early.start, early.end) == (D(2024, 3, 1), D(2023, 6, 1))
    assert states(early) == (UNKNOWN,) * 6
    assert "The re-baseline is on 2024-03-01 (24 months" in early.explanation
    later = neda_since_rebaseline(history, as_of=D(2025, 3, 1), course=course)
    assert later.reference_scan == history.scans[1]
    assert later.relapse.state is MET  # the 2023 relapse is before re-baseline
    assert later.neda3 is MET


def test_course_stopped_before_rebaseline_never_opens() -> None:
    course = TherapyCourse("glatiramer acetate", "platform", D(2023, 1, 1), end=D(2023, 4, 1))
    window = neda_since_rebaseline(ON_OCRELIZUMAB, as_of=D(2024, 1, 1), course=course)
    assert window.neda3 is UNKNOWN
    assert "stopped on 2023-04-01, before its re-baseline on 2023-07-01" in window.explanation


def test_since_rebaseline_ends_when_the_course_ends() -> None:
    course = dataclasses.replace(OCRELIZUMAB, end=D(2024, 8, 1))
    history = dataclasses.replace(
        ON_OCRELIZUMAB,
        relapses=[Relapse(D(2024, 8, 15))],  # after the stop
    )
    window = neda_since_rebaseline(history, as_of=D(2024, 9, 1), course=course)
    assert window.end == D(2024, 8, 1)
    assert window.relapse.state is MET


def test_neda_status_without_course_has_no_rebaseline_window() -> None:
    status = neda_status(FOLLOW_UP, as_of=D(2024, 5, 1), follow_up_start=D(2022, 3, 1), course=None)
    assert status.since_rebaseline is None
    assert len(status.calendar_years) == 3
    assert status.rolling_12_months.end == D(2024, 5, 1)


# --- properties -----------------------------------------------------------------------

days = st.dates(D(2020, 1, 1), D(2024, 12, 31))
counts = st.one_of(st.none(), st.integers(0, 3))
scans = st.builds(
    MriScan,
    date=days,
    new_t2=counts,
    gd_enhancing=counts,
    pbvc=st.one_of(st.none(), st.decimals(min_value=-2, max_value=1, places=2)),
)
histories = st.builds(
    ClinicalHistory,
    relapses=st.lists(st.builds(Relapse, days), max_size=3),
    worsenings=st.lists(st.builds(WorseningOnset, days), max_size=2),
    edss_dates=st.lists(days, max_size=5),
    scans=st.lists(scans, max_size=5),
)
courses = st.builds(
    TherapyCourse,
    therapy=st.just("drug"),
    therapy_class=st.sampled_from(["platform", "high_efficacy", "induction"]),
    start=st.dates(D(2019, 1, 1), D(2024, 6, 1)),
)
RANK = {NOT_MET: 0, UNKNOWN: 1, MET: 2}


def all_windows(
    history: ClinicalHistory, as_of: dt.date, course: TherapyCourse
) -> list[NedaWindow]:
    status = neda_status(history, as_of=as_of, follow_up_start=D(2020, 1, 1), course=course)
    assert status.since_rebaseline is not None
    return [*status.calendar_years, status.rolling_12_months, status.since_rebaseline]


@settings(max_examples=200)
@given(history=histories, as_of=st.dates(D(2021, 1, 1), D(2024, 12, 31)), course=courses)
def test_never_met_with_a_component_unknown(
    history: ClinicalHistory, as_of: dt.date, course: TherapyCourse
) -> None:
    for window in all_windows(history, as_of, course):
        components = (window.relapse.state, window.disability.state, window.mri.state)
        assert (window.neda3 is MET) == all(c is MET for c in components)
        assert (window.neda3 is NOT_MET) == (NOT_MET in components)
        assert (window.neda4 is MET) == (window.neda3 is MET and window.atrophy.neda4 is MET)
        assert RANK[window.neda4] <= RANK[window.neda3]


@settings(max_examples=200)
@given(
    history=histories,
    onset=days,
    as_of=st.dates(D(2021, 1, 1), D(2024, 12, 31)),
    course=courses,
)
def test_more_activity_never_improves_neda3(
    history: ClinicalHistory,
    onset: dt.date,
    as_of: dt.date,
    course: TherapyCourse,
) -> None:
    before = all_windows(history, as_of, course)
    with_relapse = dataclasses.replace(history, relapses=[*history.relapses, Relapse(onset)])
    with_worsening = dataclasses.replace(
        history, worsenings=[*history.worsenings, WorseningOnset(onset)]
    )
    for changed in (with_relapse, with_worsening):
        after = all_windows(changed, as_of, course)
        for old, new in zip(before, after, strict=True):
            assert RANK[new.neda3] <= RANK[old.neda3]
            if old.start <= onset <= old.end and old.start <= old.end:
                assert new.neda3 is NOT_MET

"""MAGNIMS and modified Rio from hand-worked cases, under both timings [§4].

Most cases below use the earlier reading ("after_rebaseline"): the course starts 2023-01-15
(platform): re-baseline 2023-07-15, first year 2023-07-15 to 2024-07-14, closing MRI
accepted 2024-04-14 to 2024-10-14. The published timing ("year_one", the default) has its
own cases at the end: first year 2023-01-15 to 2024-01-14, closing MRI 2023-10-15 to
2024-04-15, closest to 2024-01-15.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring.clinical.records import MriScan, Relapse, TherapyCourse
from monitoring.clinical.scores import first_year_scores, magnims_points, rio_points

after_rebaseline = partial(first_year_scores, timing="after_rebaseline")

D = dt.date
COURSE = TherapyCourse("dimethyl fumarate", "platform", D(2023, 1, 15))
# Its own lesions never count: they are the reference.
REFERENCE = MriScan(D(2023, 7, 20), new_t2=7, gd_enhancing=2)
CLOSING_DAY = D(2024, 7, 1)
RELAPSE_DAYS = (D(2023, 9, 1), D(2024, 1, 10), D(2024, 3, 1))


def closing(new_t2: int | None, day: dt.date = CLOSING_DAY) -> MriScan:
    return MriScan(day, new_t2=new_t2, gd_enhancing=0)


@pytest.mark.parametrize(
    ("relapses", "new_t2", "magnims", "rio"),
    [
        (0, 0, 0, 0),
        (0, 2, 0, 0),  # MAGNIMS: 2 new T2 is below 3
        (0, 3, 1, 0),  # MAGNIMS: 3 new T2 scores; Rio needs more than 4
        (0, 4, 1, 0),  # Rio: 4 is not more than 4
        (0, 5, 1, 1),  # Rio: 5 is more than 4
        (1, 0, 1, 1),
        (1, 2, 1, 1),
        (1, 3, 2, 1),  # MAGNIMS: one relapse and >= 3 new T2
        (1, 5, 2, 2),
        (2, 0, 2, 2),
        (2, 5, 2, 3),
        (3, 0, 2, 2),  # Rio caps relapses at 2 points
    ],
)
def test_each_row_of_the_score_tables(relapses: int, new_t2: int, magnims: int, rio: int) -> None:
    assert magnims_points(relapses, new_t2) == magnims
    assert rio_points(relapses, new_t2) == rio
    scores = after_rebaseline(
        COURSE,
        relapses=[Relapse(day) for day in RELAPSE_DAYS[:relapses]],
        scans=[REFERENCE, closing(new_t2)],
        as_of=D(2024, 12, 1),
    )
    assert scores.start == D(2023, 7, 15)
    assert scores.end == D(2024, 7, 14)
    assert scores.complete
    assert scores.reference_scan == REFERENCE
    assert scores.new_t2 == new_t2
    assert len(scores.relapses) == relapses
    assert (scores.magnims.points, scores.rio.points) == (magnims, rio)
    assert (scores.magnims.minimum_points, scores.rio.minimum_points) == (magnims, rio)
    assert f"MAGNIMS {magnims}." in scores.magnims.explanation
    assert ("High risk" in scores.rio.explanation) == (rio >= 2)


def test_relapse_bounds_of_the_first_year_are_inclusive() -> None:
    relapses = [
        Relapse(D(2023, 7, 14)),  # day before re-baseline: before the drug works
        Relapse(D(2023, 7, 15)),  # re-baseline day: counts
        Relapse(D(2024, 7, 14)),  # last day of the year: counts
        Relapse(D(2024, 7, 15)),  # second year
    ]
    scores = after_rebaseline(
        COURSE, relapses=relapses, scans=[REFERENCE, closing(0)], as_of=D(2025, 1, 1)
    )
    assert [r.onset for r in scores.relapses] == [D(2023, 7, 15), D(2024, 7, 14)]
    assert scores.magnims.points == 2


def test_new_t2_counts_between_reference_and_closing_scan_only() -> None:
    scans = [
        MriScan(D(2023, 5, 1), new_t2=9, gd_enhancing=3),  # before re-baseline
        REFERENCE,
        MriScan(D(2024, 1, 20), new_t2=1, gd_enhancing=1),  # interim: adds its new T2
        closing(2, D(2024, 5, 1)),  # first scan in the closing range closes the year
        MriScan(D(2024, 9, 1), new_t2=6, gd_enhancing=0),  # second year
    ]
    scores = after_rebaseline(COURSE, relapses=[], scans=scans, as_of=D(2025, 1, 1))
    assert [s.date for s in scores.scans] == [D(2024, 1, 20), D(2024, 5, 1)]
    assert scores.closing_scan == scans[3]
    assert scores.new_t2 == 3
    assert (scores.magnims.points, scores.rio.points) == (1, 0)


def test_a_scan_on_the_rebaseline_day_is_the_reference() -> None:
    reference = MriScan(D(2023, 7, 15), new_t2=10, gd_enhancing=4)
    scores = after_rebaseline(
        COURSE, relapses=[], scans=[reference, closing(0)], as_of=D(2024, 8, 1)
    )
    assert scores.reference_scan == reference
    assert scores.magnims.points == 0


def test_incomplete_year_gives_minimum_points_only() -> None:
    scores = after_rebaseline(
        COURSE, relapses=[Relapse(D(2023, 9, 1))], scans=[REFERENCE], as_of=D(2024, 2, 1)
    )
    assert not scores.complete
    assert scores.new_t2 is None
    assert (scores.magnims.points, scores.magnims.minimum_points) == (None, 1)
    assert (scores.rio.points, scores.rio.minimum_points) == (None, 1)
    assert "at least 1 so far" in scores.magnims.explanation
    assert "The year is not over" in scores.explanation


def test_maximum_reached_early_is_final() -> None:
    scores = after_rebaseline(
        COURSE,
        relapses=[Relapse(D(2023, 9, 1)), Relapse(D(2023, 11, 1))],
        scans=[REFERENCE],
        as_of=D(2024, 1, 1),
    )
    assert not scores.complete
    assert scores.magnims.points == 2  # MAGNIMS cannot go above 2
    assert (scores.rio.points, scores.rio.minimum_points) == (None, 2)  # Rio may still reach 3


def test_year_over_without_closing_scan_stays_incomplete() -> None:
    scores = after_rebaseline(COURSE, relapses=[], scans=[REFERENCE], as_of=D(2025, 3, 1))
    assert not scores.complete
    assert scores.magnims.points is None
    assert scores.closing_scan is None
    assert "no closing MRI" in scores.explanation


def test_no_reference_scan_is_incomplete() -> None:
    scores = after_rebaseline(
        COURSE, relapses=[], scans=[MriScan(D(2023, 6, 1), 0, 0)], as_of=D(2025, 3, 1)
    )
    assert scores.reference_scan is None
    assert not scores.complete
    assert "No reference MRI" in scores.explanation


def test_missing_new_t2_count_leaves_mri_unknown() -> None:
    scans = [REFERENCE, MriScan(D(2024, 1, 1), None, 0), closing(0)]
    scores = after_rebaseline(COURSE, relapses=[], scans=scans, as_of=D(2024, 12, 1))
    assert not scores.complete
    assert scores.new_t2 is None
    assert "2024-01-01 has no new T2 count" in scores.explanation


def test_year_not_started() -> None:
    scores = after_rebaseline(COURSE, relapses=[], scans=[], as_of=D(2023, 3, 1))
    assert not scores.complete
    assert scores.magnims.minimum_points == 0
    assert "has not started" in scores.explanation


def test_induction_first_year_starts_24_months_after_start() -> None:
    course = TherapyCourse("cladribine", "induction", D(2022, 3, 1))
    relapses = [Relapse(D(2023, 5, 1)), Relapse(D(2024, 4, 1))]
    scans = [MriScan(D(2024, 3, 10), 5, 1), MriScan(D(2025, 2, 20), 3, 0)]
    scores = after_rebaseline(course, relapses=relapses, scans=scans, as_of=D(2025, 6, 1))
    assert (scores.start, scores.end) == (D(2024, 3, 1), D(2025, 2, 28))
    assert [r.onset for r in scores.relapses] == [D(2024, 4, 1)]
    assert (scores.magnims.points, scores.rio.points) == (2, 1)


def test_course_stopped_in_the_first_year_never_completes() -> None:
    course = TherapyCourse("teriflunomide", "platform", D(2023, 1, 15), end=D(2024, 1, 1))
    scores = after_rebaseline(
        course,
        relapses=[Relapse(D(2024, 2, 1))],
        scans=[REFERENCE, closing(4)],
        as_of=D(2024, 12, 1),
    )
    assert not scores.complete
    assert scores.relapses == ()  # after the stop: not this course's failure
    assert "stopped on 2024-01-01" in scores.explanation


@given(
    onsets=st.lists(st.dates(D(2023, 7, 1), D(2024, 8, 1)), max_size=4),
    extra=st.dates(D(2023, 7, 1), D(2024, 8, 1)),
    new_t2=st.integers(0, 8),
    as_of=st.dates(D(2023, 8, 1), D(2025, 1, 1)),
)
def test_a_further_relapse_never_lowers_a_score(
    onsets: list[dt.date], extra: dt.date, new_t2: int, as_of: dt.date
) -> None:
    scans = [s for s in (REFERENCE, closing(new_t2)) if s.date <= as_of]

    def score(days: list[dt.date]) -> tuple[int, int]:
        result = after_rebaseline(
            COURSE, relapses=[Relapse(d) for d in days if d <= as_of], scans=scans, as_of=as_of
        )
        return result.magnims.minimum_points, result.rio.minimum_points

    before, after = score(onsets), score([*onsets, extra])
    assert after[0] >= before[0] and after[1] >= before[1]


# --- The published timing: year 1 from the start ------------------------------------------


def test_year_one_counts_relapses_of_months_0_to_12_and_t2_at_month_12() -> None:
    """Relapses from the start (before the re-baseline too); new T2 on the scan closest to
    month 12, against the last scan from month 3 on."""
    scans = [
        MriScan(D(2023, 1, 5), new_t2=9, gd_enhancing=1),  # before the start
        MriScan(D(2023, 5, 1), new_t2=6, gd_enhancing=0),  # month 3.5
        MriScan(D(2023, 11, 1), new_t2=1, gd_enhancing=0),  # the last from month 3: reference
        MriScan(D(2024, 1, 20), new_t2=2, gd_enhancing=0),  # closest to month 12: closing
        MriScan(D(2024, 4, 1), new_t2=5, gd_enhancing=0),  # also in 9-15 months, farther
    ]
    relapses = [Relapse(D(2023, 2, 1)), Relapse(D(2024, 1, 15))]  # the second is month 12
    scores = first_year_scores(COURSE, relapses=relapses, scans=scans, as_of=D(2024, 6, 1))
    assert (scores.start, scores.end) == (D(2023, 1, 15), D(2024, 1, 14))
    assert scores.reference_scan == scans[2]
    assert scores.closing_scan == scans[3]
    assert scores.new_t2 == 2
    assert [r.onset for r in scores.relapses] == [D(2023, 2, 1)]
    assert (scores.magnims.points, scores.rio.points) == (1, 1)
    assert "from its start" in scores.explanation


def test_year_one_falls_back_to_the_last_scan_before_the_start() -> None:
    scans = [MriScan(D(2023, 1, 5), new_t2=0, gd_enhancing=0), closing(4, D(2023, 12, 1))]
    scores = first_year_scores(COURSE, relapses=[], scans=scans, as_of=D(2024, 6, 1))
    assert scores.reference_scan == scans[0]
    assert (scores.new_t2, scores.magnims.points, scores.rio.points) == (4, 1, 0)


def test_year_one_is_provisional_before_month_12() -> None:
    scores = first_year_scores(
        COURSE, relapses=[Relapse(D(2023, 4, 1))], scans=[], as_of=D(2023, 8, 1)
    )
    assert not scores.complete
    assert (scores.magnims.points, scores.magnims.minimum_points) == (None, 1)
    assert "provisional" in scores.explanation
    assert "new T2 lesions unknown" in scores.explanation


def test_year_one_of_an_induction_therapy_runs_from_the_first_course() -> None:
    course = TherapyCourse("cladribine", "induction", D(2022, 3, 1))
    scores = first_year_scores(
        course, relapses=[Relapse(D(2022, 9, 1))], scans=[], as_of=D(2025, 6, 1)
    )
    assert (scores.start, scores.end) == (D(2022, 3, 1), D(2023, 2, 28))
    assert scores.magnims.minimum_points == 1

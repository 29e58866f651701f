"""MAGNIMS and modified Rio scores of the first year of a therapy [§4].

Two timings, chosen by name (`thresholds.SCORE_TIMING`):

- "year_one" (default, as published): the year runs from the start of the therapy (for an
  induction therapy, its first course) for 12 calendar months, bounds inclusive. Relapses
  count by onset inside the year. New T2 lesions are those of the closing scan, the scan
  closest to month 12 among those 9 to 15 months after the start, counted against the
  reference scan: the most recent earlier scan taken at least 3 months after the start (the
  re-baseline scan MAGNIMS recommends) or, failing one, the last scan on or before the start.
  Scans between the two add their new T2 (each is read against the previous scan).
- "after_rebaseline" (the earlier reading, kept as an option): the 12 months from the
  re-baseline date; the reference is the first scan on or after it, the closing scan the first
  later one within 3 months either side of the year's last day.

Gd-enhancing lesions do not score. Both scores only rise as the year fills in, so
`minimum_points` (from what is recorded so far) is safe to alert on before the year is over
(a provisional "at least"); `points` is given once it cannot change: the year is over and its
MRI known, or the maximum has been reached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from monitoring.clinical import thresholds as t
from monitoring.clinical.frozen import direct_init
from monitoring.clinical.rebaseline import add_months, rebaseline_date, reference_scan
from monitoring.clinical.records import MriScan, Relapse, TherapyCourse

ScoreName = Literal["MAGNIMS", "modified Rio"]
ScoreTiming = Literal["year_one", "after_rebaseline"]
MAGNIMS_MAX = 2
RIO_MAX = 3


@direct_init
@dataclass(frozen=True, slots=True)
class ResponseScore:
    name: ScoreName
    points: int | None
    minimum_points: int
    explanation: str


@direct_init
@dataclass(frozen=True, slots=True)
class FirstYearScores:
    """Both scores of one course, with the interval and the records they counted.

    `new_t2` is the count from the reference to the closing scan, None while unknown;
    `new_t2_so_far` sums the counts reported so far. `complete` means the year is over and
    its MRI is known.
    """

    course: TherapyCourse
    start: dt.date
    end: dt.date
    complete: bool
    reference_scan: MriScan | None
    closing_scan: MriScan | None
    relapses: tuple[Relapse, ...]
    scans: tuple[MriScan, ...]
    new_t2: int | None
    new_t2_so_far: int
    magnims: ResponseScore
    rio: ResponseScore
    explanation: str


def magnims_points(relapses: int, new_t2: int) -> int:
    """Sormani, Neurology 2016: 0, 1 (one relapse or >= 3 new T2), 2 (>= 2 relapses or both)."""
    many_lesions = new_t2 >= t.MAGNIMS_NEW_T2
    if relapses >= 2 or (relapses == 1 and many_lesions):
        return 2
    if relapses == 1 or many_lesions:
        return 1
    return 0


def rio_points(relapses: int, new_t2: int) -> int:
    """Modified Rio (Sormani, Mult Scler 2013): > 4 new T2 -> 1; relapses 0/1/>=2 -> 0/1/2."""
    return min(relapses, 2) + (1 if new_t2 > t.RIO_NEW_T2 else 0)


def first_year_scores(
    course: TherapyCourse,
    *,
    relapses: Sequence[Relapse],
    scans: Sequence[MriScan],
    as_of: dt.date,
    timing: ScoreTiming = t.SCORE_TIMING,
) -> FirstYearScores:
    start = course.start if timing == "year_one" else rebaseline_date(course)
    end = add_months(start, 12) - dt.timedelta(days=1)
    # Records after the course stopped or after as_of belong to no first year of this course.
    limit = as_of if course.end is None else min(as_of, course.end)
    seen = sorted((s for s in scans if s.date <= limit), key=lambda s: s.date)
    if timing == "year_one":
        reference, closing = _year_one_scans(seen, start)
    else:
        closing_to = add_months(end, t.SCORE_CLOSING_SCAN_GRACE_MONTHS)
        seen = [s for s in seen if s.date <= closing_to]
        reference, closing = _after_rebaseline_scans(seen, start, end)

    counted_relapses = tuple(
        sorted((r for r in relapses if start <= r.onset <= min(end, limit)), key=lambda r: r.onset)
    )
    later = [s for s in seen if reference is not None and s.date > reference.date]
    if timing == "year_one":
        # Without a scan near month 12 yet, no lesion is known to be of the year.
        counted = tuple(s for s in later if closing is not None and s.date <= closing.date)
    else:
        counted = tuple(s for s in later if s.date <= (closing or later[-1]).date)
    new_t2_so_far = sum(s.new_t2 or 0 for s in counted)
    mri_known = closing is not None and all(s.new_t2 is not None for s in counted)
    new_t2 = new_t2_so_far if mri_known else None
    year_over = limit >= end
    complete = year_over and mri_known

    relapse_count = len(counted_relapses)
    magnims_min = magnims_points(relapse_count, new_t2_so_far)
    rio_min = rio_points(relapse_count, new_t2_so_far)
    facts = _facts(counted_relapses, new_t2_so_far, mri_known)
    magnims = ResponseScore(
        name="MAGNIMS",
        points=magnims_min if complete or magnims_min == MAGNIMS_MAX else None,
        minimum_points=magnims_min,
        explanation=_score_text("MAGNIMS", magnims_min, complete or magnims_min == MAGNIMS_MAX)
        + f" {facts}",
    )
    rio = ResponseScore(
        name="modified Rio",
        points=rio_min if complete or rio_min == RIO_MAX else None,
        minimum_points=rio_min,
        explanation=_score_text("Modified Rio", rio_min, complete or rio_min == RIO_MAX)
        + (" High risk (>= 2)." if rio_min >= t.RIO_HIGH_RISK else "")
        + f" {facts}",
    )
    return FirstYearScores(
        course=course,
        start=start,
        end=end,
        complete=complete,
        reference_scan=reference,
        closing_scan=closing,
        relapses=counted_relapses,
        scans=counted,
        new_t2=new_t2,
        new_t2_so_far=new_t2_so_far,
        magnims=magnims,
        rio=rio,
        explanation=_explain(
            course,
            timing,
            start,
            end,
            limit,
            as_of,
            reference,
            closing,
            counted,
            year_over,
            mri_known,
        ),
    )


def _year_one_scans(
    seen: Sequence[MriScan], start: dt.date
) -> tuple[MriScan | None, MriScan | None]:
    """(reference, closing) as published: the scan closest to month 12 (9-15 months), read
    against the last earlier scan from month 3 on, else the last scan on or before the start."""
    month_12 = add_months(start, 12)
    near_from = add_months(start, t.SCORE_CLOSING_FROM_MONTHS)
    near_to = add_months(start, t.SCORE_CLOSING_TO_MONTHS)
    near = [s for s in seen if near_from <= s.date <= near_to]
    closing = min(near, key=lambda s: (abs((s.date - month_12).days), s.date), default=None)
    if closing is None:
        return None, None
    rebaseline_from = add_months(start, t.SCORE_REFERENCE_FROM_MONTHS)
    earlier = [s for s in seen if s.date < closing.date]
    on_therapy = [s for s in earlier if s.date >= rebaseline_from]
    before = [s for s in earlier if s.date <= start]
    reference = on_therapy[-1] if on_therapy else before[-1] if before else None
    return reference, closing if reference is not None else None


def _after_rebaseline_scans(
    seen: Sequence[MriScan], start: dt.date, end: dt.date
) -> tuple[MriScan | None, MriScan | None]:
    """(reference, closing) of the earlier reading: the first scan from the re-baseline, and
    the first later scan within 3 months either side of the year's last day."""
    grace = t.SCORE_CLOSING_SCAN_GRACE_MONTHS
    closing_from, closing_to = add_months(end, -grace), add_months(end, grace)
    reference = reference_scan([s for s in seen if s.date < closing_from], start)
    closing = next(
        (
            s
            for s in seen
            if reference is not None
            and s.date > reference.date
            and closing_from <= s.date
            and s.date <= closing_to
        ),
        None,
    )
    return reference, closing


def _score_text(name: str, points: int, final: bool) -> str:
    return f"{name} {points}." if final else f"{name} at least {points} so far."


def _facts(relapses: tuple[Relapse, ...], new_t2: int, mri_known: bool) -> str:
    onsets = ", ".join(r.onset.isoformat() for r in relapses)
    relapse_text = f"{len(relapses)} relapse(s)" + (f" ({onsets})" if onsets else "")
    lesion_text = f"{new_t2} new T2 lesion(s)" + ("" if mri_known else " reported so far")
    return f"{relapse_text}, {lesion_text}."


def _explain(
    course: TherapyCourse,
    timing: ScoreTiming,
    start: dt.date,
    end: dt.date,
    limit: dt.date,
    as_of: dt.date,
    reference: MriScan | None,
    closing: MriScan | None,
    counted: tuple[MriScan, ...],
    year_over: bool,
    mri_known: bool,
) -> str:
    since = "from its start" if timing == "year_one" else "after re-baseline"
    text = f"First year of {course.therapy} {since}: {start.isoformat()} to {end.isoformat()}."
    if as_of < start:
        return f"{text} It has not started."
    if limit < end and limit < as_of:
        text += f" {course.therapy} stopped on {limit.isoformat()}, before the year was over."
    elif not year_over:
        text += " The year is not over: the scores are provisional (at least)."
    if timing == "year_one" and closing is None:
        text += (
            f" No MRI {t.SCORE_CLOSING_FROM_MONTHS} to {t.SCORE_CLOSING_TO_MONTHS} months after "
            "the start with an earlier scan to read it against yet: new T2 lesions unknown."
        )
    elif reference is None:
        text += (
            " No reference MRI between the re-baseline date and "
            f"{add_months(end, -t.SCORE_CLOSING_SCAN_GRACE_MONTHS).isoformat()}."
        )
    elif closing is None:
        text += (
            f" Reference MRI {reference.date.isoformat()}; no closing MRI within "
            f"{t.SCORE_CLOSING_SCAN_GRACE_MONTHS} months of the year's end yet."
        )
    else:
        text += (
            f" New T2 counted from the reference MRI {reference.date.isoformat()} to the "
            f"closing MRI {closing.date.isoformat()}."
        )
        if not mri_known:
            missing = ", ".join(s.date.isoformat() for s in counted if s.new_t2 is None)
            text += f" MRI {missing} has no new T2 count."
    return text

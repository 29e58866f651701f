"""NEDA-3 and NEDA-4 per window, each component met / not met / unknown with evidence [§3].

Windows, all with both bounds inclusive (a relapse on a bound is inside):
- each calendar year of follow-up, clipped to follow-up start and to `as_of`;
- a rolling 12 months: the day after `as_of` minus 12 months, to `as_of` (12 months, no more,
  so a relapse exactly 12 calendar months before `as_of` is outside);
- since re-baseline: the re-baseline date to `as_of` (or to the end of the course).

How each component is judged, and why it can be unknown:
- relapse: not met by any relapse onset in the window. Relapses are recorded at visits, so
  without a clinical (EDSS) visit in the window their absence is unknown, not met.
- disability: not met by any CDW onset in the window (onsets from the progression engine,
  as known at `as_of`). Met only when the window holds an EDSS with an earlier EDSS to
  compare it with: a worsening can only be seen at a visit, against an earlier one. A
  worsening at the last visits needs its confirmation visit before it counts, so a window
  ending within 12 weeks of a visit is provisional and says so.
- MRI: not met by a Gd-enhancing or a new/enlarging T2 lesion on a scan in the window. Met
  only with at least one scan compared with an earlier one and every counted scan fully
  reported; a scan missing a count (a scan without contrast has no Gd count) leaves the
  component unknown unless another shows activity. The patient's first scan counts for Gd
  only (it has nothing to compare T2 with). Since re-baseline, the first scan on or after
  the re-baseline date is the reference: its Gd-enhancing lesions count (enhancement lasts
  weeks, so they formed after the re-baseline), its new T2 lesions do not; later scans
  count in full.
- atrophy (NEDA-4): annualized PBVC of the scan pairs ending in the window (since re-baseline:
  pairs after the reference scan), see `atrophy.py`; unknown without one.
A window is met only when every component is met, not met when any is not met, else unknown.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from monitoring.clinical import thresholds as t
from monitoring.clinical.atrophy import (
    BrainVolumeChange,
    ScanPair,
    all_scan_pairs,
    brain_volume_change,
    change_over,
)
from monitoring.clinical.frozen import direct_init
from monitoring.clinical.rebaseline import (
    add_months,
    rebaseline_date,
    rebaseline_months,
    reference_scan,
)
from monitoring.clinical.records import (
    ClinicalHistory,
    MriScan,
    Relapse,
    State,
    TherapyCourse,
    WorseningOnset,
)

ONE_DAY = dt.timedelta(days=1)


class WindowKind(StrEnum):
    CALENDAR_YEAR = "calendar_year"
    ROLLING_12_MONTHS = "rolling_12_months"
    SINCE_REBASELINE = "since_rebaseline"


@direct_init
@dataclass(frozen=True, slots=True)
class Component:
    """One NEDA component with the records that decided it.

    For a component not met the evidence is what broke it (the relapses, the CDW onsets,
    the active scans); otherwise it is what was looked at (visits, scans).
    """

    state: State
    explanation: str
    relapses: tuple[Relapse, ...] = ()
    worsenings: tuple[WorseningOnset, ...] = ()
    edss_dates: tuple[dt.date, ...] = ()
    scans: tuple[MriScan, ...] = ()


@direct_init
@dataclass(frozen=True, slots=True)
class NedaWindow:
    """NEDA-3 and NEDA-4 over [start, end].

    `complete` is False for a calendar year cut short by follow-up start or `as_of`, and for
    a since-re-baseline window that has not opened (then `start` is the re-baseline date and
    `end` lies before it, with every component unknown).
    """

    kind: WindowKind
    label: str
    start: dt.date
    end: dt.date
    complete: bool
    relapse: Component
    disability: Component
    mri: Component
    atrophy: BrainVolumeChange
    reference_scan: MriScan | None
    neda3: State
    neda4: State
    explanation: str


@direct_init
@dataclass(frozen=True, slots=True)
class NedaStatus:
    calendar_years: tuple[NedaWindow, ...]
    rolling_12_months: NedaWindow
    since_rebaseline: NedaWindow | None


@direct_init
@dataclass(frozen=True, slots=True)
class _Sorted:
    """One patient's history sorted once, so that each of its windows is a pair of bisects
    rather than a scan and a sort of every record (a patient has a window per year)."""

    relapses: tuple[Relapse, ...]  # by onset
    relapse_days: tuple[dt.date, ...]
    worsenings: tuple[WorseningOnset, ...]  # by onset
    worsening_days: tuple[dt.date, ...]
    edss_dates: tuple[dt.date, ...]  # distinct
    scans: tuple[MriScan, ...]  # by date; of one day, in the order given
    scan_days: tuple[dt.date, ...]
    first_scan: MriScan | None
    pairs: tuple[ScanPair, ...]  # all_scan_pairs(scans)


def _sort(history: ClinicalHistory) -> _Sorted:
    relapses = tuple(sorted(history.relapses, key=lambda r: r.onset))
    worsenings = tuple(sorted(history.worsenings, key=lambda w: w.onset))
    scans = tuple(sorted(history.scans, key=lambda s: s.date))
    return _Sorted(
        relapses=relapses,
        relapse_days=tuple(r.onset for r in relapses),
        worsenings=worsenings,
        worsening_days=tuple(w.onset for w in worsenings),
        edss_dates=tuple(sorted(set(history.edss_dates))),
        scans=scans,
        scan_days=tuple(s.date for s in scans),
        first_scan=scans[0] if scans else None,
        pairs=all_scan_pairs(scans),
    )


def _between(days: Sequence[dt.date], start: dt.date, end: dt.date) -> slice:
    """The positions of sorted `days` within [start, end]."""
    return slice(bisect_left(days, start), bisect_right(days, end))


def combine(states: Iterable[State]) -> State:
    states = tuple(states)
    if State.NOT_MET in states:
        return State.NOT_MET
    if all(state is State.MET for state in states):
        return State.MET
    return State.UNKNOWN


def neda_status(
    history: ClinicalHistory,
    *,
    as_of: dt.date,
    follow_up_start: dt.date,
    course: TherapyCourse | None,
    since_year: int | None = None,
) -> NedaStatus:
    """All windows of one patient; `since_rebaseline` is None without a therapy course.

    `since_year` leaves out the calendar years before it (a caller that kept them: a
    closed year's window depends on `as_of` only while it may be provisional).
    """
    h = _sort(history)
    first = follow_up_start.year if since_year is None else max(since_year, follow_up_start.year)
    return NedaStatus(
        calendar_years=_calendar_years(
            h, as_of=as_of, follow_up_start=follow_up_start, first_year=first
        ),
        rolling_12_months=_rolling_12_months(h, as_of=as_of),
        since_rebaseline=(
            None if course is None else _since_rebaseline(h, as_of=as_of, course=course)
        ),
    )


def neda_calendar_years(
    history: ClinicalHistory, *, as_of: dt.date, follow_up_start: dt.date
) -> tuple[NedaWindow, ...]:
    return _calendar_years(
        _sort(history),
        as_of=as_of,
        follow_up_start=follow_up_start,
        first_year=follow_up_start.year,
    )


def neda_rolling_12_months(history: ClinicalHistory, *, as_of: dt.date) -> NedaWindow:
    return _rolling_12_months(_sort(history), as_of=as_of)


def neda_since_rebaseline(
    history: ClinicalHistory, *, as_of: dt.date, course: TherapyCourse
) -> NedaWindow:
    return _since_rebaseline(_sort(history), as_of=as_of, course=course)


def _calendar_years(
    history: _Sorted, *, as_of: dt.date, follow_up_start: dt.date, first_year: int
) -> tuple[NedaWindow, ...]:
    windows = []
    for year in range(first_year, as_of.year + 1):
        start = max(dt.date(year, 1, 1), follow_up_start)
        end = min(dt.date(year, 12, 31), as_of)
        complete = start == dt.date(year, 1, 1) and end == dt.date(year, 12, 31)
        label = str(year)
        if start != dt.date(year, 1, 1):
            label += f" (from {start.isoformat()})"
        if end != dt.date(year, 12, 31):
            label += f" (to {end.isoformat()})"
        windows.append(
            _window(
                history,
                kind=WindowKind.CALENDAR_YEAR,
                label=label,
                start=start,
                end=end,
                complete=complete,
                as_of=as_of,
            )
        )
    return tuple(windows)


def _rolling_12_months(history: _Sorted, *, as_of: dt.date) -> NedaWindow:
    start = add_months(as_of, -12) + ONE_DAY
    return _window(
        history,
        kind=WindowKind.ROLLING_12_MONTHS,
        label=f"12 months to {as_of.isoformat()}",
        start=start,
        end=as_of,
        complete=True,
        as_of=as_of,
    )


def _since_rebaseline(history: _Sorted, *, as_of: dt.date, course: TherapyCourse) -> NedaWindow:
    rebaseline = rebaseline_date(course)
    end = as_of if course.end is None else min(as_of, course.end)
    label = f"since re-baseline {rebaseline.isoformat()} ({course.therapy})"
    if end < rebaseline:
        months = rebaseline_months(course.therapy_class)
        timing = f"{months} months after the start on {course.start.isoformat()}"
        if end < as_of:
            reason = (
                f"{course.therapy} stopped on {end.isoformat()}, before its re-baseline on "
                f"{rebaseline.isoformat()} ({timing})."
            )
        else:
            reason = (
                f"The re-baseline is on {rebaseline.isoformat()} ({timing}); activity before "
                "it is not counted as failure."
            )
        unknown = Component(State.UNKNOWN, reason)
        return NedaWindow(
            kind=WindowKind.SINCE_REBASELINE,
            label=label,
            start=rebaseline,
            end=end,
            complete=False,
            relapse=unknown,
            disability=unknown,
            mri=unknown,
            atrophy=brain_volume_change((), start=rebaseline, end=end),
            reference_scan=None,
            neda3=State.UNKNOWN,
            neda4=State.UNKNOWN,
            explanation=f"{label}: not assessed. {unknown.explanation}",
        )
    reference = reference_scan(history.scans[: bisect_right(history.scan_days, end)], rebaseline)
    return _window(
        history,
        kind=WindowKind.SINCE_REBASELINE,
        label=label,
        start=rebaseline,
        end=end,
        complete=True,
        as_of=as_of,
        reference=reference,
        rebaseline=True,
    )


def _window(
    history: _Sorted,
    *,
    kind: WindowKind,
    label: str,
    start: dt.date,
    end: dt.date,
    complete: bool,
    as_of: dt.date,
    reference: MriScan | None = None,
    rebaseline: bool = False,
) -> NedaWindow:
    relapse = _relapse_component(history, start, end)
    disability = _disability_component(history, start, end, as_of)
    if rebaseline:
        mri = _rebaseline_mri_component(history, reference, start, end)
        atrophy = change_over(
            history.pairs if reference else (),
            start=reference.date + ONE_DAY if reference else start,
            end=end,
        )
    else:
        mri = _mri_component(history, start, end)
        atrophy = change_over(history.pairs, start=start, end=end)
    neda3 = combine((relapse.state, disability.state, mri.state))
    neda4 = combine((neda3, atrophy.neda4))
    return NedaWindow(
        kind=kind,
        label=label,
        start=start,
        end=end,
        complete=complete,
        relapse=relapse,
        disability=disability,
        mri=mri,
        atrophy=atrophy,
        reference_scan=reference,
        neda3=neda3,
        neda4=neda4,
        explanation=_explain(label, relapse, disability, mri, atrophy, neda3, neda4),
    )


def _dates(days: Iterable[dt.date]) -> str:
    return ", ".join(day.isoformat() for day in days)


def _relapse_component(history: _Sorted, start: dt.date, end: dt.date) -> Component:
    relapses = history.relapses[_between(history.relapse_days, start, end)]
    if relapses:
        word = "Relapse" if len(relapses) == 1 else f"{len(relapses)} relapses"
        return Component(
            State.NOT_MET,
            f"{word} with onset {_dates(r.onset for r in relapses)}.",
            relapses=relapses,
        )
    visits = history.edss_dates[_between(history.edss_dates, start, end)]
    if not visits:
        return Component(
            State.UNKNOWN,
            "No relapse recorded, but no clinical visit in the window to ask about one.",
        )
    return Component(
        State.MET,
        f"No relapse recorded; clinical visits on {_dates(visits)}.",
        edss_dates=visits,
    )


def _disability_component(
    history: _Sorted, start: dt.date, end: dt.date, as_of: dt.date
) -> Component:
    worsenings = history.worsenings[_between(history.worsening_days, start, end)]
    if worsenings:
        onsets = ", ".join(
            w.onset.isoformat() + (f" ({w.cdw_type})" if w.cdw_type else "") for w in worsenings
        )
        return Component(
            State.NOT_MET,
            f"Confirmed disability worsening with onset {onsets}.",
            worsenings=worsenings,
        )
    assessments = history.edss_dates
    in_window = assessments[_between(assessments, start, end)]
    if not in_window:
        return Component(State.UNKNOWN, "No EDSS in the window: disability was not assessed.")
    if in_window[-1] == assessments[0]:
        return Component(
            State.UNKNOWN,
            f"The only EDSS in the window ({in_window[0].isoformat()}) is the first one: "
            "there is no earlier score to compare it with.",
            edss_dates=in_window,
        )
    explanation = (
        f"No confirmed disability worsening with onset in the window (EDSS on {_dates(in_window)})."
    )
    if (as_of - in_window[-1]).days < t.CONFIRM_DAYS:
        explanation += (
            f" Provisional: a worsening at the last visit would not be confirmed before "
            f"{(in_window[-1] + dt.timedelta(days=t.CONFIRM_DAYS)).isoformat()}."
        )
    return Component(State.MET, explanation, edss_dates=in_window)


def _describe_activity(scan: MriScan, *, first: bool) -> str:
    parts = []
    if (scan.gd_enhancing or 0) > 0:
        parts.append(f"{scan.gd_enhancing} Gd-enhancing")
    if not first and (scan.new_t2 or 0) > 0:
        parts.append(f"{scan.new_t2} new/enlarging T2")
    return f"MRI {scan.date.isoformat()}: {' and '.join(parts)}"


def _missing_counts(scan: MriScan, *, first: bool) -> str | None:
    missing = []
    if scan.gd_enhancing is None:
        missing.append("Gd-enhancing")
    if not first and scan.new_t2 is None:
        missing.append("new/enlarging T2")
    if not missing:
        return None
    return f"MRI {scan.date.isoformat()} has no {' or '.join(missing)} count"


def _judge_scans(
    counted: Sequence[MriScan],
    gd_only: Sequence[MriScan],
    *,
    none_reason: str,
    gd_only_reason: str,
) -> Component:
    """The MRI component over the scans that count. The scans in `gd_only` (the patient's
    first scan, the re-baseline reference scan) count for Gd-enhancing lesions only: their
    new T2 lesions have no earlier scan or may predate the re-baseline."""

    def gd_only_scan(scan: MriScan) -> bool:
        return any(scan is other for other in gd_only)

    if not counted:
        return Component(State.UNKNOWN, none_reason)
    active = tuple(
        s
        for s in counted
        if (s.gd_enhancing or 0) > 0 or (not gd_only_scan(s) and (s.new_t2 or 0) > 0)
    )
    if active:
        return Component(
            State.NOT_MET,
            "; ".join(_describe_activity(s, first=gd_only_scan(s)) for s in active) + ".",
            scans=active,
        )
    missing = [m for s in counted if (m := _missing_counts(s, first=gd_only_scan(s)))]
    if missing:
        return Component(
            State.UNKNOWN,
            "No activity reported, but " + "; ".join(missing) + ".",
            scans=tuple(counted),
        )
    if all(gd_only_scan(s) for s in counted):
        return Component(State.UNKNOWN, gd_only_reason, scans=tuple(counted))
    return Component(
        State.MET,
        f"No Gd-enhancing or new/enlarging T2 lesion on MRI {_dates(s.date for s in counted)}.",
        scans=tuple(counted),
    )


def _mri_component(history: _Sorted, start: dt.date, end: dt.date) -> Component:
    counted = history.scans[_between(history.scan_days, start, end)]
    first = history.first_scan
    return _judge_scans(
        counted,
        (first,) if first is not None else (),
        none_reason="No MRI in the window.",
        gd_only_reason=(
            f"The only MRI in the window ({counted[0].date.isoformat()}) is the first one: no "
            "earlier scan to count new T2 lesions against."
            if counted
            else ""
        ),
    )


def _rebaseline_mri_component(
    history: _Sorted, reference: MriScan | None, start: dt.date, end: dt.date
) -> Component:
    if reference is None:
        return Component(
            State.UNKNOWN,
            f"No MRI since the re-baseline on {start.isoformat()}: the first one will be the "
            "reference scan.",
        )
    days = history.scan_days
    # The reference scan counts too, for its Gd-enhancing lesions: enhancement lasts weeks,
    # so they formed after the re-baseline; its new T2 lesions may predate it [§3].
    counted = history.scans[bisect_left(days, reference.date) : bisect_right(days, end)]
    first = history.first_scan
    component = _judge_scans(
        counted,
        (reference,) if first is None else (reference, first),
        none_reason="",
        gd_only_reason=(
            f"Only the reference MRI of {reference.date.isoformat()} since the re-baseline, "
            "without Gd-enhancing lesions; new T2 lesions count from the next scan."
        ),
    )
    note = (
        f" (Reference MRI {reference.date.isoformat()}: its Gd-enhancing lesions count, its "
        "new T2 lesions do not.)"
    )
    return Component(
        component.state,
        component.explanation + (note if len(counted) > 1 else ""),
        scans=component.scans,
    )


_WORDS = {State.MET: "met", State.NOT_MET: "not met", State.UNKNOWN: "unknown"}


def _explain(
    label: str,
    relapse: Component,
    disability: Component,
    mri: Component,
    atrophy: BrainVolumeChange,
    neda3: State,
    neda4: State,
) -> str:
    named = (("relapse", relapse), ("disability", disability), ("MRI", mri))
    if neda3 is State.MET:
        text = f"{label}: NEDA-3 met (no relapse, no confirmed worsening, no MRI activity)."
    else:
        shown = State.NOT_MET if neda3 is State.NOT_MET else State.UNKNOWN
        reasons = "; ".join(
            f"{name}: {c.explanation.rstrip('.')}" for name, c in named if c.state is shown
        )
        text = f"{label}: NEDA-3 {_WORDS[neda3]} ({reasons})."
        unknown = [name for name, c in named if c.state is State.UNKNOWN]
        if shown is State.NOT_MET and unknown:
            text += f" Also unknown: {', '.join(unknown)}."
    return f"{text} NEDA-4 {_WORDS[neda4]}: {atrophy.explanation}"

"""Plain-language text of a progression definition and of an event, shown beside results."""

from __future__ import annotations

import math

from monitoring.clinical import thresholds as t
from monitoring.clinical.definitions import Definition, RelapseFreeInterval
from monitoring.clinical.progression import Event

_NAMES = {
    "edss": "EDSS",
    "t25fw": "timed 25-foot walk",
    "nhpt": "nine-hole peg test",
    "sdmt": "SDMT",
}


def _days(x: float) -> str:
    return f"{int(x)}" if float(x).is_integer() else f"{x:g}"


def _plural(x: float, unit: str = "day") -> str:
    return f"{_days(x)} {unit}{'' if x == 1 else 's'}"


def _delta_text(d: Definition) -> str:
    if d.outcome == "edss":
        return (
            f"an EDSS change of at least {t.EDSS_DELTA_FROM_ZERO:g} from a reference of 0, "
            f"{t.EDSS_DELTA_LOW:g} from a reference up to {d.edss_delta_edge:g}, and "
            f"{t.EDSS_DELTA_HIGH:g} above it; worsening is an increase"
        )
    if d.outcome == "sdmt":
        return (
            f"an SDMT change of at least {t.SDMT_DELTA_FRACTION:.0%} of the reference score or "
            f"{t.SDMT_DELTA_POINTS:g} points, whichever is smaller; worsening is a decrease"
        )
    return (
        f"a change of at least {t.TIMED_TEST_DELTA_FRACTION:.0%} of the reference "
        f"{_NAMES[d.outcome]} time; worsening is an increase (slower)"
    )


def _anchor(anchor: str, d: Definition) -> str:
    if anchor == "reference":
        return (
            "the last visit before onset"
            if d.relapse_independence.reference_visit == "last"
            else "the baseline"
        )
    return {"onset": "onset", "confirmation": "the confirmation visit"}[anchor]


def _point(anchor: str, offset: float, sign: str, d: Definition) -> str:
    name = _anchor(anchor, d)
    return name if offset == 0 else f"{name} {sign} {_plural(offset)}"


def interval_text(i: RelapseFreeInterval, d: Definition) -> str:
    return (
        f"from {_point(i.start, i.start_before_days, '-', d)} "
        f"to {_point(i.end, i.end_after_days, '+', d)}"
    )


def _window_text(d: Definition) -> str:
    left, right = d.confirm_tolerance
    parts = []
    for days in d.confirm_days:
        lo = _days(max(days - left, 0))
        span = f"{lo} days or more" if math.isinf(right) else f"{lo} to {_days(days + right)} days"
        parts.append(f"{days} days (a visit {span} after onset)")
    return " or ".join(parts)


def explain_definition(d: Definition) -> str:
    """What counts as worsening, confirmed, RAW and PIRA under `d`, in plain words."""
    rb_after, _ = d.relapse_to_baseline
    cf_after, _ = d.relapse_to_confirmation
    raw_before, raw_after = d.raw_window
    lines = [
        f"Definition {d.name!r} (engine {d.engine_version}), outcome {_NAMES[d.outcome]}.",
        f"Change: {_delta_text(d)}. Changes are always measured from the baseline value.",
    ]
    if d.baseline == "fixed":
        base = "The baseline is the first visit and does not move"
    else:
        after = {
            "roving": "every confirmed event",
            "roving-improvement": "every confirmed improvement",
            "roving-worsening": "every confirmed worsening",
        }[d.baseline]
        base = (
            "The baseline starts at the first visit and moves to the confirmation visit "
            f"after {after}"
        )
    lines.append(
        f"{base}; a visit less than {_plural(rb_after)} after a relapse onset cannot be a "
        "baseline (the next visit is taken)."
    )
    if d.relapse_rebaseline:
        lines.append(
            "After each relapse (once past its RAW window), the baseline is re-set to the first "
            "allowed visit after the relapse."
        )
    if d.sub_threshold_rebaseline != "none":
        kind = {"event": "change"}.get(d.sub_threshold_rebaseline, d.sub_threshold_rebaseline)
        lines.append(f"A confirmed {kind} smaller than the minimum change also moves the baseline.")
    every = " and at every visit in between" if d.check_intermediate else ""
    lines.append(
        f"Confirmed: the change is still present at the first confirmation visit at "
        f"{_window_text(d)}{every}. Visits less than {_plural(cf_after)} after a relapse onset, "
        "and visits marked not confirmable, cannot confirm. A change at the last visit is not "
        "an event."
    )
    if d.require_sustained_days:
        how = (
            "until the end of follow-up"
            if math.isinf(d.require_sustained_days)
            else f"for {_plural(d.require_sustained_days)} after onset "
            "(or to the last visit, if follow-up is shorter)"
        )
        lines.append(f"Sustained: an event is kept only if the change holds {how}.")
    mode = {
        "multiple": "all confirmed events, in order",
        "first-worsening": "the first confirmed worsening only",
        "first-improvement": "the first confirmed improvement only",
        "first": "the first confirmed event only",
        "first-pira": "the first PIRA only",
        "first-raw": "the first RAW only",
    }[d.events]
    lines.append(f"Reported: {mode}.")
    after_txt = f" or up to {_plural(raw_after)} before it" if raw_after else ""
    lines.append(
        f"RAW (relapse-associated worsening): a confirmed worsening whose onset is at most "
        f"{_plural(raw_before)} after a relapse onset (same day included){after_txt}."
    )
    intervals = d.relapse_independence.intervals()
    if intervals:
        free = "; ".join(interval_text(i, d) for i in intervals)
        lines.append(
            "PIRA (progression independent of relapse activity): a confirmed worsening that "
            "is not RAW, with at least one confirmation visit for which no relapse onset falls "
            f"{'in' if len(intervals) == 1 else 'in any of'}: {free} (bounds included)."
        )
    else:
        lines.append("PIRA: every confirmed worsening that is not RAW.")
    lines.append("Undefined: a confirmed worsening that is neither RAW nor PIRA.")
    return "\n".join(lines)


def explain_event(e: Event, d: Definition) -> str:
    """One paragraph on why `e` is what it is."""
    name = _NAMES[d.outcome]
    change = e.onset.value - e.baseline.value

    def v(x: float) -> str:
        return f"{x:.1f}" if d.outcome == "edss" else f"{x:g}"

    if e.kind == "worsening":
        head = f"Confirmed worsening ({e.cdw_type})"
    else:
        head = "Confirmed improvement"
    confirmations = ", ".join(
        f"{c.visit.date.isoformat()} ({v(c.visit.value)}, {c.period_days}-day period)"
        for c in e.confirmations
    )
    text = (
        f"{head}: {name} {v(e.onset.value)} on {e.onset.date.isoformat()}, "
        f"{'+' if change > 0 else ''}{change:g} from the baseline {v(e.baseline.value)} of "
        f"{e.baseline.date.isoformat()}; confirmed on {confirmations}."
    )
    rel = ", ".join(r.isoformat() for r in e.relapses)
    if e.cdw_type == "RAW":
        text += f" Relapse-associated: relapse onset {rel} within the RAW window of the onset."
    elif e.cdw_type == "PIRA":
        p = e.pira_confirmation
        assert p is not None
        text += (
            f" Independent of relapses: no relapse onset in the relapse-free intervals for the "
            f"confirmation of {p.date.isoformat()}."
        )
    elif e.cdw_type == "undefined":
        text += (
            f" Not RAW, and not PIRA because of relapse onset {rel} inside the relapse-free "
            "intervals of every confirmation visit."
        )
    return text


def explain_treatment_rules() -> str:
    """How therapy, NEDA, the first-year scores and NfL are judged, in plain words [§1-§7]."""
    timing = (
        "the first 12 months of the therapy (for an induction therapy, from its first course): "
        "relapses with onset in those months, and new T2 lesions on the scan closest to month "
        f"12 ({t.SCORE_CLOSING_FROM_MONTHS} to {t.SCORE_CLOSING_TO_MONTHS} months) against the "
        f"last earlier scan from month {t.SCORE_REFERENCE_FROM_MONTHS} on, or else the last scan "
        "before the start; before month 12 a score is provisional (at least)"
        if t.SCORE_TIMING == "year_one"
        else "the 12 months after the re-baseline date (the earlier reading, not the published one)"
    )
    return "\n".join(
        [
            "Therapy: one disease-modifying therapy at a time. The courses of one induction "
            "drug (alemtuzumab, cladribine, aHSCT) form one episode: the patient is on it from "
            "the first course until another therapy starts or a clinician closes the episode "
            "(a stop reason); the end of an infusion is not the end of the therapy.",
            f"Re-baseline: {t.REBASELINE_MONTHS_MAINTENANCE} months after the start of a "
            f"maintenance therapy, {t.REBASELINE_MONTHS_INDUCTION} months after the first course "
            "of an induction therapy; activity before it is not failure.",
            "NEDA since re-baseline: the first MRI on or after the re-baseline date is the "
            "reference; its Gd-enhancing lesions count as activity, its new T2 lesions do not. "
            "A scan without contrast leaves the Gd part unknown, never 0.",
            f"Relapses: an onset less than {t.RELAPSE_MIN_GAP_DAYS} days after another is the "
            "same relapse (refused at entry); one MRI per patient and day.",
            f"MAGNIMS and modified Rio: {timing}.",
            "NfL: a lab z-score wins (above "
            f"{t.NFL_Z_ELEVATED:g} is elevated); the Simrén age limits are for Simoa serum or "
            "plasma only; other assays and CSF need the lab's upper limit, else elevation is "
            "unknown. A rise is judged against the previous sample on the same assay and matrix.",
        ]
    )

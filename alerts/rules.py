"""Alert rules: each turns an engine assessment into findings, documented in docs/alerts.md.

A rule decides nothing clinical itself: it reads what the engine decided (`Assessment`) and
says which records it rests on. A finding's `key` names its evidence; the same key on a later
evaluation is the same alert, a new key is new evidence and a new alert.

Event rules (a relapse, an active scan, a confirmed worsening) raise one alert per event.
State rules (a score, NEDA lost, NfL, an overdue test) keep at most one unresolved alert: new
evidence supersedes the previous alert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alerts.models import Rule, Severity
from alerts.safety_rules import pregnancy_gap
from monitoring.clinical import thresholds as t
from monitoring.clinical.frozen import direct_init
from monitoring.clinical.progression import Event
from monitoring.clinical.records import State
from monitoring.clinical.safety import pregnancy_on
from outcomes.assessment import Assessment
from outcomes.records import CourseRecord, public_id_of


@direct_init
@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    severity: Severity
    key: str  # what identifies the evidence, e.g. "course=…;relapse=…"
    evidence: dict[str, Any]  # records (public ids), values, definition
    explanation: str

    @property
    def evidence_key(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()


STATE_RULES = frozenset(
    {
        Rule.FIRST_YEAR_SCORE,
        Rule.NEDA3_LOST,
        Rule.NEDA4_ATROPHY,
        Rule.NFL,
        Rule.MRI_OVERDUE,
        Rule.EDSS_OVERDUE,
    }
)

# Why an alert resolves itself when its rule no longer finds its evidence.
CLEARED: dict[Rule, str] = {
    Rule.RELAPSE_ON_THERAPY: "The relapse no longer counts: it was entered in error or its "
    "date now falls before the re-baseline.",
    Rule.MRI_ACTIVITY_ON_THERAPY: "The scan no longer shows activity after the re-baseline "
    "(entered in error or corrected).",
    Rule.FIRST_YEAR_SCORE: "The first-year scores are below the alert thresholds again.",
    Rule.CONFIRMED_RAW: "The worsening is no longer confirmed as RAW under the current data "
    "and definition, or its onset is older than the look-back period.",
    Rule.CONFIRMED_PIRA: "The worsening is no longer confirmed as PIRA under the current data "
    "and definition, or its onset is older than the look-back period.",
    Rule.NEDA3_LOST: "NEDA-3 is no longer lost in the assessment window.",
    Rule.NEDA4_ATROPHY: "Brain volume loss is no longer beyond the NEDA-4 line and noise.",
    Rule.NFL: "The latest NfL is neither elevated nor rising.",
    Rule.MRI_OVERDUE: "An MRI has been recorded.",
    Rule.EDSS_OVERDUE: "An EDSS has been recorded.",
}


def _course(c: CourseRecord) -> dict[str, Any]:
    return {"id": c.public_id, "therapy": c.code, "start": c.start.isoformat()}


def _record(model: str, public_id: str, day: Any) -> dict[str, str]:
    return {"model": model, "id": public_id, "date": day.isoformat()}


def _pregnancy_gap(a: Assessment, day: dt.date, what: str) -> tuple[str, dict[str, Any], str]:
    """When `day` falls in a pregnancy during which the therapy was not given [§7.2]."""
    p = pregnancy_on(a.records.pregnancies, day)
    return pregnancy_gap(
        p,
        f"A pregnancy explains the gap in therapy: the {what} falls in {p.words_on(day)}, "
        "when the therapy was not being given."
        if p
        else "",
    )


def _activity_in_pregnancy(
    a: Assessment, activity: list[tuple[str, dt.date]]
) -> tuple[str, dict[str, Any], str]:
    """`_pregnancy_gap` for a finding resting on several records of activity (what, day):
    the first of them that falls in a pregnancy without therapy, if any, on a therapy."""
    if a.course is not None:
        for what, day in sorted(activity, key=lambda item: item[1]):
            if (gap := _pregnancy_gap(a, day, what))[0]:
                return gap
    return "", {}, ""


def relapse_on_therapy(a: Assessment) -> list[Finding]:
    """A relapse with onset on or after the current course's re-baseline date, within the
    look-back [§3]; a pregnancy without therapy at the onset is named."""
    course, rebaseline = a.course, a.rebaseline
    if course is None or rebaseline is None:
        return []
    findings = []
    for r in a.records.relapses:
        if not max(rebaseline, a.lookback_start) <= r.onset <= a.as_of:
            continue
        key, pregnancy, note = _pregnancy_gap(a, r.onset, "onset")
        findings.append(
            Finding(
                rule=Rule.RELAPSE_ON_THERAPY,
                severity=Severity.HIGH,
                key=f"course={course.public_id};relapse={r.public_id}{key}",
                evidence={
                    "course": _course(course),
                    "rebaseline_date": rebaseline.isoformat(),
                    "records": [_record("monitoring.relapse", r.public_id, r.onset)],
                    **pregnancy,
                },
                explanation=(
                    f"Relapse with onset {r.onset.isoformat()} on {course.therapy} (started "
                    f"{course.start.isoformat()}), after its re-baseline on "
                    f"{rebaseline.isoformat()}: the therapy may be failing.{note}"
                ),
            )
        )
    return findings


def mri_activity_on_therapy(a: Assessment) -> list[Finding]:
    """Each active scan since re-baseline (Gd-enhancing lesions on the reference scan or
    later, new/enlarging T2 after it), as the NEDA since-re-baseline MRI component found it,
    within the look-back [§3]; a pregnancy without therapy at the scan is named."""
    course, window = a.course, a.neda.since_rebaseline
    if course is None or window is None or window.mri.state is not State.NOT_MET:
        return []
    reference = window.reference_scan
    findings = []
    for scan in window.mri.scans:
        if scan.date < a.lookback_start:
            continue
        public_id = public_id_of(scan)
        key, pregnancy, note = _pregnancy_gap(a, scan.date, "scan")
        findings.append(
            Finding(
                rule=Rule.MRI_ACTIVITY_ON_THERAPY,
                severity=Severity.HIGH,
                key=f"course={course.public_id};scan={public_id}{key}",
                evidence={
                    "course": _course(course),
                    "rebaseline_date": window.start.isoformat(),
                    "reference_scan": public_id_of(reference) if reference else None,
                    "records": [_record("monitoring.mriscan", public_id, scan.date)],
                    "gd_enhancing": scan.gd_enhancing,
                    "new_t2": scan.new_t2,
                    **pregnancy,
                },
                explanation=(
                    f"MRI {scan.date.isoformat()} shows {_gd_text(scan.gd_enhancing)}"
                    + (
                        " (the re-baseline reference scan: its new T2 lesions do not count)"
                        if scan is reference
                        else f" and {scan.new_t2 or 0} new/enlarging T2 lesion(s)"
                    )
                    + f" on {course.therapy}, after the re-baseline on "
                    f"{window.start.isoformat()}: the therapy may be failing.{note}"
                ),
            )
        )
    return findings


def _gd_text(count: int | None) -> str:
    return "no Gd count (no contrast)" if count is None else f"{count} Gd-enhancing"


def first_year_score(a: Assessment) -> list[Finding]:
    """MAGNIMS >= ALERT_MAGNIMS_POINTS or modified Rio >= ALERT_RIO_POINTS in the first year
    of the therapy (timing: `thresholds.SCORE_TIMING`), from what is recorded so far (scores
    only rise, so a provisional score is a lower bound) [§4]."""
    s, course = a.scores, a.course
    if s is None or course is None:
        return []
    magnims, rio = s.magnims.minimum_points, s.rio.minimum_points
    cfg = a.config
    if magnims < cfg.magnims_alert_points and rio < cfg.rio_alert_points:
        return []
    relapses = [public_id_of(r) for r in s.relapses]
    lesions = [public_id_of(sc) for sc in s.scans if (sc.new_t2 or 0) > 0]
    high = magnims >= t.MAGNIMS_HIGH_POINTS or rio >= cfg.rio_alert_points
    key, pregnancy, note = _activity_in_pregnancy(
        a,
        [*((f"relapse of {r.onset.isoformat()}", r.onset) for r in s.relapses)]
        + [(f"MRI of {sc.date.isoformat()}", sc.date) for sc in s.scans if (sc.new_t2 or 0) > 0],
    )
    return [
        Finding(
            rule=Rule.FIRST_YEAR_SCORE,
            severity=Severity.HIGH if high else Severity.MEDIUM,
            key=(
                f"course={course.public_id};relapses={','.join(relapses)};"
                f"scans={','.join(lesions)}{key}"
            ),
            evidence={
                "course": _course(course),
                "first_year": {"start": s.start.isoformat(), "end": s.end.isoformat()},
                "magnims": magnims,
                "rio": rio,
                "complete": s.complete,
                "records": [
                    *(_record("monitoring.relapse", public_id_of(r), r.onset) for r in s.relapses),
                    *(
                        _record("monitoring.mriscan", public_id_of(sc), sc.date)
                        for sc in s.scans
                        if (sc.new_t2 or 0) > 0
                    ),
                ],
                **pregnancy,
            },
            explanation=(
                f"{s.magnims.explanation} {s.rio.explanation} {s.explanation} "
                "A high first-year score predicts treatment failure (Sormani 2013, 2016)."
                f"{note}"
            ),
        )
    ]


def _worsening(a: Assessment, rule: Rule, cdw_type: str, meaning: str) -> list[Finding]:
    d = a.config.definition
    findings = []
    for e in a.recent_worsening():
        if e.cdw_type != cdw_type:
            continue
        findings.append(
            Finding(
                rule=rule,
                severity=Severity.HIGH,
                key=(
                    f"definition={d.name};baseline={a.visit_id(e.baseline.date)};"
                    f"onset={a.visit_id(e.onset.date)}"
                ),
                evidence={
                    "records": _event_visits(a, e),
                    "relapses": [day.isoformat() for day in e.relapses],
                    "baseline_edss": e.baseline.value,
                    "onset_edss": e.onset.value,
                    "definition": a.config.definition_json,
                },
                explanation=(
                    f"Confirmed disability worsening ({cdw_type}, {d.name}): EDSS "
                    f"{e.baseline.value:g} on {e.baseline.date.isoformat()} to "
                    f"{e.onset.value:g} on {e.onset.date.isoformat()}, confirmed on "
                    f"{e.confirmation.date.isoformat()}. {meaning}"
                ),
            )
        )
    return findings


def _event_visits(a: Assessment, e: Event) -> list[dict[str, str]]:
    days = sorted({e.baseline.date, e.onset.date, *(c.visit.date for c in e.confirmations)})
    return [_record("monitoring.visit", a.visit_id(day), day) for day in days]


def confirmed_raw(a: Assessment) -> list[Finding]:
    """A CDW classified RAW by the progression engine, onset within the look-back [§2.4]."""
    return _worsening(
        a,
        Rule.CONFIRMED_RAW,
        "RAW",
        "The worsening followed a relapse and did not recover: relapses are not controlled.",
    )


def confirmed_pira(a: Assessment) -> list[Finding]:
    """A CDW classified PIRA by the progression engine, onset within the look-back [§2.4]."""
    return _worsening(
        a,
        Rule.CONFIRMED_PIRA,
        "PIRA",
        "The worsening is independent of relapses: progression continues on this therapy.",
    )


def _window_evidence(a: Assessment) -> dict[str, Any]:
    w = a.treatment_window
    return {
        "window": {"kind": str(w.kind), "label": w.label, "start": w.start.isoformat()},
        "course": _course(a.course) if a.course else None,
    }


def neda3_lost(a: Assessment) -> list[Finding]:
    """NEDA-3 not met since re-baseline (on a therapy) or in the last 12 months [§3]."""
    w = a.treatment_window
    if w.neda3 is not State.NOT_MET:
        return []
    relapses = [public_id_of(r) for r in w.relapse.relapses]
    onsets = [a.visit_id(x.onset) for x in w.disability.worsenings]
    active = w.mri.scans if w.mri.state is State.NOT_MET else ()
    scans = [public_id_of(s) for s in active]
    course = a.course.public_id if a.course else "none"
    key, pregnancy, note = _activity_in_pregnancy(
        a,
        [(f"relapse of {r.onset.isoformat()}", r.onset) for r in w.relapse.relapses]
        + [(f"worsening from {x.onset.isoformat()}", x.onset) for x in w.disability.worsenings]
        + [(f"MRI of {s.date.isoformat()}", s.date) for s in active],
    )
    return [
        Finding(
            rule=Rule.NEDA3_LOST,
            severity=Severity.MEDIUM,
            key=(
                f"window={w.kind};course={course};relapses={','.join(relapses)};"
                f"onsets={','.join(onsets)};scans={','.join(scans)}{key}"
            ),
            evidence={
                **_window_evidence(a),
                "records": [
                    *(
                        _record("monitoring.relapse", public_id_of(r), r.onset)
                        for r in w.relapse.relapses
                    ),
                    *(
                        _record("monitoring.visit", a.visit_id(x.onset), x.onset)
                        for x in w.disability.worsenings
                    ),
                    *(_record("monitoring.mriscan", public_id_of(s), s.date) for s in active),
                ],
                "definition": a.config.definition_json,
                **pregnancy,
            },
            explanation=w.explanation + note,
        )
    ]


def neda4_atrophy(a: Assessment) -> list[Finding]:
    """NEDA-4 lost by brain volume loss beyond -0.4 %/year and beyond measurement noise, in
    the same window as NEDA-3 [§3, §6]."""
    w = a.treatment_window
    atrophy = w.atrophy
    if not (atrophy.neda4 is State.NOT_MET and atrophy.within_noise is False):
        return []
    scans = a.scan_ids(p.later for p in atrophy.pairs)
    course = a.course.public_id if a.course else "none"
    return [
        Finding(
            rule=Rule.NEDA4_ATROPHY,
            severity=Severity.MEDIUM,
            key=f"window={w.kind};course={course};scans={','.join(scans)}",
            evidence={
                **_window_evidence(a),
                "pbvc_per_year": atrophy.pbvc_per_year,
                "total_pbvc": atrophy.total_pbvc,
                "noise_limit": atrophy.noise_limit,
                "records": [
                    _record("monitoring.mriscan", s.public_id, s.date)
                    for s in a.records.scans
                    if s.public_id in scans
                ],
            },
            explanation=f"{w.label}: {atrophy.explanation}",
        )
    ]


def nfl(a: Assessment) -> list[Finding]:
    """The latest NfL sample elevated or rising against the previous one on the same assay
    [§5]; high severity when both."""
    n = a.nfl
    if n is None or not (n.elevated or n.rising):
        return []
    sample_id = public_id_of(n.sample)
    records = [_record("monitoring.nflsample", sample_id, n.sample.date)]
    if n.previous is not None:
        records.insert(
            0, _record("monitoring.nflsample", public_id_of(n.previous), n.previous.date)
        )
    return [
        Finding(
            rule=Rule.NFL,
            severity=Severity.HIGH if n.elevated and n.rising else Severity.MEDIUM,
            key=f"sample={sample_id};elevated={n.elevated};rising={n.rising}",
            evidence={
                "records": records,
                "elevated": n.elevated,
                "rising": n.rising,
                "upper_limit": n.upper_limit,
                "limit_source": n.limit_source,
                "change_fraction": n.change_fraction,
            },
            explanation=n.explanation,
        )
    ]


def _overdue(
    a: Assessment,
    rule: Rule,
    severity: Severity,
    *,
    due: Any,
    last: Any,
    model: str,
    what: str,
    months: int,
) -> list[Finding]:
    if due is None or a.as_of <= due:
        return []
    if last is None:
        since = "none on record"
        records = []
    else:
        since = f"the last on {last.date.isoformat()}"
        records = [_record(model, last.public_id, last.date)]
    return [
        Finding(
            rule=rule,
            severity=severity,
            key=f"last={last.public_id if last else 'none'};due={due.isoformat()}",
            evidence={"records": records, "due": due.isoformat(), "interval_months": months},
            explanation=(
                f"{what} was due on {due.isoformat()} ({since}; due every {months} months)."
            ),
        )
    ]


def mri_overdue(a: Assessment) -> list[Finding]:
    """No MRI for ALERT_MRI_OVERDUE_MONTHS (default 12) [§7, alerts]."""
    return _overdue(
        a,
        Rule.MRI_OVERDUE,
        Severity.LOW,
        due=a.mri_due,
        last=a.last_scan,
        model="monitoring.mriscan",
        what="A monitoring MRI",
        months=a.config.mri_overdue_months,
    )


def edss_overdue(a: Assessment) -> list[Finding]:
    """No EDSS for ALERT_EDSS_OVERDUE_MONTHS (default 6)."""
    return _overdue(
        a,
        Rule.EDSS_OVERDUE,
        Severity.LOW,
        due=a.edss_due,
        last=a.last_visit,
        model="monitoring.visit",
        what="A clinical visit with EDSS",
        months=a.config.edss_overdue_months,
    )


RULES: dict[Rule, Callable[[Assessment], list[Finding]]] = {
    Rule.RELAPSE_ON_THERAPY: relapse_on_therapy,
    Rule.MRI_ACTIVITY_ON_THERAPY: mri_activity_on_therapy,
    Rule.FIRST_YEAR_SCORE: first_year_score,
    Rule.CONFIRMED_RAW: confirmed_raw,
    Rule.CONFIRMED_PIRA: confirmed_pira,
    Rule.NEDA3_LOST: neda3_lost,
    Rule.NEDA4_ATROPHY: neda4_atrophy,
    Rule.NFL: nfl,
    Rule.MRI_OVERDUE: mri_overdue,
    Rule.EDSS_OVERDUE: edss_overdue,
}


def findings(a: Assessment) -> list[Finding]:
    return [finding for rule in RULES.values() for finding in rule(a)]


# The safety rules (alerts/safety_rules.py) build on Finding above; registered beside these.
from alerts.safety_rules import SAFETY_CLEARED, SAFETY_RULES  # noqa: E402

RULES.update(SAFETY_RULES)
CLEARED.update(SAFETY_CLEARED)

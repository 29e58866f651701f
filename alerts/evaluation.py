"""Evaluate patients: engine → stored status → alerts raised and resolved, in one transaction.

Idempotent by construction: evaluating a patient twice on the same data changes nothing but
`computed_at`. Two workers on one patient run one after the other (the patient row is locked
first, see `outcomes.records.load`), and the unique constraint on (patient, rule,
evidence_key) stands behind that, so one condition on one set of evidence is one alert.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from alerts.actions import audit_event
from alerts.concern import rank, status_columns
from alerts.models import Alert, AlertState, Rule, Severity
from alerts.rules import CLEARED, STATE_RULES, Finding, findings
from monitoring.safety_records import protocol
from monitoring.signals import latest_visit_columns
from mstrack.db import insert_new
from outcomes.assessment import Assessment, assess_patient, config
from outcomes.records import load, of_patients
from outcomes.store import store, stored
from patients.actions import Actor, snapshot
from patients.models import AuditAction, EvaluationRequest, Patient

SYSTEM = Actor.system("alerts")  # who raises alerts and resolves cleared ones


@dataclass(slots=True)
class Outcome:
    evaluated: int = 0
    raised: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    # Unresolved alerts by patient and severity once the evaluation is done (for the rank).
    open_alerts: dict[int, Counter[str]] = field(default_factory=dict)

    @property
    def to_notify(self) -> set[int]:
        """Patients with a new high-severity alert."""
        return {a.patient_id for a in self.raised if a.severity == Severity.HIGH}


def evaluate(patient_ids: Sequence[int], *, as_of: dt.date | None = None) -> Outcome:
    """Recompute and store the status and alerts of these patients (unknown ids are skipped).

    A fixed number of queries per call, whatever the number of patients.
    """
    # The batch's records and assessments are freed as `_evaluate` returns, while the
    # collector is still paused: alive when it resumes, every one of them would be walked
    # by the collection that its first allocation starts: 8 % of a night's CPU time.
    with _cycle_collector_paused():
        return _evaluate(sorted(set(patient_ids)), as_of or timezone.localdate())


def _evaluate(patient_ids: list[int], as_of: dt.date) -> Outcome:
    engine_config = config()
    safety_protocol = protocol()
    with transaction.atomic():
        records = load(patient_ids, lock=True)
        # Under the patients' locks: every request seen here was committed with data this
        # evaluation reads, so it is done once the transaction commits.
        asked = [
            (pk, patient_id)
            for pk, patient_id in EvaluationRequest.objects.filter(of_patients(list(records)))
            .order_by()
            .values_list("pk", "patient_id")
            if patient_id in records
        ]
        requests = [pk for pk, _ in asked]
        before = stored(list(records))
        assessments = [
            assess_patient(
                r,
                as_of=as_of,
                config=engine_config,
                stored_closed_years_key=(
                    before[r.patient_id].closed_years_key if r.patient_id in before else ""
                ),
                protocol=safety_protocol,
            )
            for r in records.values()
        ]
        store(assessments, before)
        outcome = _sync_alerts(assessments)
        rank(
            list(records),
            open_alerts=outcome.open_alerts,
            statuses={
                a.records.patient_id: status_columns(
                    str(a.neda.rolling_12_months.neda3),
                    (a.next_mri_due, a.edss_due),
                    a.course.therapy if a.course else None,
                )
                for a in assessments
            },
        )
        if requests:
            EvaluationRequest.objects.filter(pk__in=requests).delete()
            # The dashboard's latest-visit columns of the patients a write touched, under
            # the locks this evaluation holds (a writer updating them could wait on it).
            latest_visit_columns(Patient.objects.filter(pk__in={p for _, p in asked}))
    outcome.evaluated = len(assessments)
    return outcome


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for one batch.

    A batch allocates thousands of objects per patient (records, windows, JSON) and keeps
    them until its statuses are stored, so the collector, triggered every 700 allocations,
    walks them again and again: a third of a batch's CPU time in a profile. They form no
    cycles; reference counting frees them when the batch is done. The switch is process-wide:
    whoever found it on turns it back on, so overlapping calls leave it on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sync_alerts(assessments: list[Assessment]) -> Outcome:
    now = timezone.now()
    found: dict[int, list[Finding]] = {a.records.patient_id: findings(a) for a in assessments}
    ids = list(found)
    current = {(p, f.rule, f.evidence_key) for p, fs in found.items() for f in fs}
    # One query for both questions, reading no JSON: which findings were raised already
    # (any alert on the evidence, even resolved) and which unresolved alerts lost theirs.
    # Every alert of these patients, by patient alone and unordered: an OR with the
    # evidence keys hid the patient index from the planner (a sequential scan of all
    # alerts per batch), and the model's ordering added a sort.
    existing = (
        Alert.objects.filter(of_patients(ids))
        .order_by()
        .values_list("pk", "patient_id", "rule", "evidence_key", "state", "severity")
    )
    seen = set()
    stale = []
    unresolved: dict[int, tuple[int, str]] = {}
    for pk, patient_id, rule, key, state, severity in existing:
        if patient_id not in found:
            continue  # another patient's, within the id range read
        seen.add((patient_id, rule, key))
        if state != AlertState.RESOLVED:
            unresolved[pk] = (patient_id, severity)
            if (patient_id, rule, key) not in current:
                stale.append(pk)
    # A stale alert whose question is asked again with a pregnancy recorded (or taken away)
    # since is the same alert explained anew: kept, with the evidence and explanation of
    # now (audited), rather than resolved while a copy is raised.
    lost: list[Alert] = []
    explained: list[tuple[Alert, dict[str, Any]]] = []
    for alert in Alert.objects.filter(pk__in=stale) if stale else ():
        anew = _explained_anew(alert, found[alert.patient_id])
        if anew is None or (alert.patient_id, anew.rule, anew.evidence_key) in seen:
            lost.append(alert)
            continue
        before = snapshot(alert)
        alert.evidence_key = anew.evidence_key
        alert.evidence = anew.evidence
        alert.explanation = anew.explanation
        seen.add((alert.patient_id, anew.rule, anew.evidence_key))
        explained.append((alert, before))
    if explained:
        Alert.objects.bulk_update(
            [alert for alert, _ in explained], ["evidence_key", "evidence", "explanation"]
        )
    raised = [
        Alert(
            patient_id=patient_id,
            rule=f.rule,
            severity=f.severity,
            evidence_key=f.evidence_key,
            evidence=f.evidence,
            explanation=f.explanation,
            raised_at=now,
        )
        for patient_id, fs in found.items()
        for f in fs
        if (patient_id, f.rule, f.evidence_key) not in seen
    ]
    # Locked patients make a conflict impossible here; ignoring one keeps a bug elsewhere
    # from failing a whole batch, and the constraint still refuses the duplicate.
    insert_new(raised, ignore_conflicts=True)

    by_patient = {a.records.patient_id: a for a in assessments}
    resolved = []
    for alert in lost:
        before = snapshot(alert)
        alert.state = AlertState.RESOLVED
        alert.resolved_at = now
        alert.resolution_note = _cleared_reason(
            alert, found[alert.patient_id], by_patient[alert.patient_id]
        )
        # Superseded is not cleared: the newer alert of the rule is in the inbox already.
        superseded = alert.rule in STATE_RULES and any(
            f.rule == alert.rule for f in found[alert.patient_id]
        )
        alert.cleared_unseen = alert.acknowledged_at is None and not superseded
        resolved.append((alert, before))
    if resolved:
        Alert.objects.bulk_update(
            [alert for alert, _ in resolved],
            ["state", "resolved_at", "resolution_note", "cleared_unseen"],
        )
    insert_new(
        [
            audit_event(alert, actor=SYSTEM, action=AuditAction.CREATE, before=None, at=now)
            for alert in raised
        ]
        + [
            audit_event(alert, actor=SYSTEM, action=AuditAction.UPDATE, before=before, at=now)
            for alert, before in [*explained, *resolved]
        ]
    )
    for alert, _ in resolved:
        del unresolved[alert.pk]
    open_alerts: dict[int, Counter[str]] = {patient_id: Counter() for patient_id in found}
    for patient_id, severity in [
        *unresolved.values(),
        *((a.patient_id, a.severity) for a in raised),
    ]:
        open_alerts[patient_id][severity] += 1
    return Outcome(
        raised=raised, resolved=[alert for alert, _ in resolved], open_alerts=open_alerts
    )


def _explained_anew(alert: Alert, current: list[Finding]) -> Finding | None:
    """The finding that asks the alert's own question again, with a pregnancy that explains
    the gap recorded (or taken away) since [§7.2]: the same rule and evidence but for the
    pregnancy."""

    def rest(evidence: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in evidence.items() if k != "pregnancy"}

    old = rest(alert.evidence)
    for finding in current:
        if finding.rule != alert.rule:
            continue
        if "pregnancy" not in alert.evidence and "pregnancy" not in finding.evidence:
            continue
        # As stored: JSON, so that tuples and lists, ints and floats compare as they will.
        if rest(json.loads(json.dumps(finding.evidence))) == old:
            return finding
    return None


def _cleared_reason(alert: Alert, current: list[Finding], a: Assessment) -> str:
    newer = next((f for f in current if f.rule == alert.rule), None)
    if alert.rule in STATE_RULES and newer is not None:
        return f"Superseded by new evidence: {newer.explanation}"
    course_id = (alert.evidence.get("course") or {}).get("id")
    if course_id and (a.course is None or a.course.public_id != course_id):
        if a.course is None:
            return "Therapy changed: no therapy course is running now."
        return f"Therapy changed: {a.course.therapy} since {a.course.start.isoformat()}."
    return f"Condition cleared. {CLEARED[Rule(alert.rule)]}"

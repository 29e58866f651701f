"""Safety alert rules [spec §7.1]: a test overdue, a result out of range, a high natalizumab
PML risk, a year-2 cladribine course that must not be given. Documented in docs/alerts.md.

Like the rules of `alerts.rules`, these decide nothing: the engine
(`monitoring.clinical.safety`) did, and each finding names the protocol item and its source.
Each finding's key holds its evidence (the item and due date, the result), so a new result
moves the key and the old alert clears itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from alerts.models import Rule, Severity
from monitoring.clinical.safety import (
    BRAIN_MRI,
    JCV_INDEX,
    Lab,
    Phase,
    PmlRisk,
    Pregnancy,
    ProtocolItem,
)

if TYPE_CHECKING:
    from alerts.rules import Finding
    from outcomes.assessment import Assessment

LAB_MODEL = "monitoring.labresult"
SCAN_MODEL = "monitoring.mriscan"  # the brain MRI a protocol item asks for is a scan record


def _finding(**kw: Any) -> Finding:
    from alerts.rules import Finding  # rules.py registers these rules at its end

    return Finding(**kw)


def _lab(lab: Lab) -> dict[str, str]:
    model = SCAN_MODEL if lab.analyte == BRAIN_MRI else LAB_MODEL
    return {"model": model, "id": lab.public_id, "date": lab.date.isoformat()}


def _pregnancy_evidence(p: Pregnancy) -> dict[str, Any]:
    """The pregnancy that explains a gap, as an alert's evidence holds it (under its own
    key, beside the records: a pregnancy recorded later supersedes the alert, see
    `alerts.evaluation`)."""
    return {
        "model": "monitoring.pregnancy",
        "id": p.public_id,
        "start": p.start.isoformat(),
        "end": p.end.isoformat() if p.end else None,
        "therapy_action": str(p.therapy_action),
    }


def pregnancy_gap(p: Pregnancy | None, note: str) -> tuple[str, dict[str, Any], str]:
    """What a finding's key, evidence and explanation add when a pregnancy during which the
    therapy was not given explains a gap [§7.2]: nothing without one."""
    if p is None:
        return "", {}, ""
    return f";pregnancy={p.public_id}", {"pregnancy": _pregnancy_evidence(p)}, f" {note}"


def _item(item: ProtocolItem) -> dict[str, Any]:
    return {"code": item.code, "label": item.name, "analyte": item.analyte, "source": item.source}


def test_overdue(a: Assessment) -> list[Finding]:
    """A protocol item's test past its due date; the JCV index keeps its own rule. Medium on
    therapy (and for the JCV index), low for a screening before start. A pregnancy that
    explains the gap (spec §7.2) is named."""
    out = []
    for d in a.safety.overdue:
        jcv = d.item.analyte == JCV_INDEX
        since = f"the last on {d.last.date.isoformat()}" if d.last else "none on record"
        key, pregnancy, note = pregnancy_gap(
            d.pregnancy,
            f"A pregnancy explains the gap: {d.pregnancy_words}; the test may have been "
            "deferred while the therapy was not given."
            if d.pregnancy
            else "",
        )
        out.append(
            _finding(
                rule=Rule.JCV_OVERDUE if jcv else Rule.SAFETY_TEST_OVERDUE,
                severity=(
                    Severity.MEDIUM if jcv or d.item.phase is Phase.ON_THERAPY else Severity.LOW
                ),
                key=f"item={d.item.code};therapy={d.therapy};due={d.due.isoformat()}{key}",
                evidence={
                    "item": _item(d.item),
                    "therapy": d.therapy,
                    "due": d.due.isoformat(),
                    "records": [_lab(d.last)] if d.last else [],
                    **pregnancy,
                },
                explanation=(
                    f"{d.item.name} on {d.therapy} was due on {d.due.isoformat()} ({since}). "
                    f"Source: {d.item.source}.{note}"
                ),
            )
        )
    return out


def lab_out_of_range(a: Assessment) -> list[Finding]:
    """The latest result of a checked protocol item beyond its threshold; severity from the
    item (high: alemtuzumab platelets, urinalysis, TSH, creatinine; ...)."""
    return [
        _finding(
            rule=Rule.LAB_OUT_OF_RANGE,
            severity=Severity(str(o.severity)),
            key=f"item={o.item.code};lab={o.lab.public_id}",
            evidence={
                "item": _item(o.item),
                "therapy": o.therapy,
                "value": o.lab.value,
                "text": o.lab.text,
                "lower_limit": o.lab.lower,
                "upper_limit": o.lab.upper,
                "grade": o.grade,
                "since": o.since.isoformat() if o.since else None,
                "records": [_lab(o.lab)],
            },
            explanation=(
                f"{o.reason} on {o.lab.date.isoformat()} ({o.therapy}). Source: {o.item.source}."
            ),
        )
        for o in a.safety.out_of_range
    ]


def pml_high_risk(a: Assessment) -> list[Finding]:
    """Natalizumab with a high PML risk class (mapping in docs/safety.md): MRI every 3-4
    months and a talk about the risk."""
    p = a.safety.pml
    if p is None or p.risk is not PmlRisk.HIGH:
        return []
    return [
        _finding(
            rule=Rule.PML_HIGH_RISK,
            severity=Severity.HIGH,
            key=f"test={p.test.public_id};over24={p.over_24_months};prior={p.prior_immunosuppressant}",
            evidence={
                "index": p.index,
                "band": str(p.band) if p.band else None,
                "over_24_months": p.over_24_months,
                "prior_immunosuppressant": p.prior_immunosuppressant,
                "records": [_lab(p.test)],
            },
            explanation=(
                f"{p.explanation} Consider MRI every 3-4 months and discuss continuing "
                "natalizumab (extended interval dosing or a switch)."
            ),
        )
    ]


def cladribine_year2_blocked(a: Assessment) -> list[Finding]:
    """The year-2 cladribine course must not be given now (lymphocytes < 800/mm³ before it)
    or at all (not recovered within the 6 months' delay)."""
    c = a.safety.cladribine
    if c is None or not c.blocked or c.count is None:
        return []
    return [
        _finding(
            rule=Rule.CLADRIBINE_YEAR2_BLOCKED,
            severity=Severity.HIGH,
            key=f"state={c.state};count={c.count.public_id}",
            evidence={
                "state": str(c.state),
                "planned": c.planned.isoformat(),
                "deadline": c.deadline.isoformat(),
                "records": [_lab(c.count)],
            },
            explanation=c.explanation,
        )
    ]


# test_overdue raises both JCV_OVERDUE and SAFETY_TEST_OVERDUE findings: listed once.
SAFETY_RULES: dict[Rule, Callable[[Assessment], list[Finding]]] = {
    Rule.JCV_OVERDUE: test_overdue,
    Rule.LAB_OUT_OF_RANGE: lab_out_of_range,
    Rule.PML_HIGH_RISK: pml_high_risk,
    Rule.CLADRIBINE_YEAR2_BLOCKED: cladribine_year2_blocked,
}

SAFETY_CLEARED: dict[Rule, str] = {
    Rule.JCV_OVERDUE: "A JCV test has been recorded, or the patient is no longer on natalizumab.",
    Rule.SAFETY_TEST_OVERDUE: "The test has been recorded, or the protocol item no longer "
    "applies (therapy changed or its monitoring period ended).",
    Rule.LAB_OUT_OF_RANGE: "A later result is back within range, or the protocol item no "
    "longer applies.",
    Rule.PML_HIGH_RISK: "A newer JCV test or the therapy changed: the risk class is no longer "
    "high.",
    Rule.CLADRIBINE_YEAR2_BLOCKED: "Lymphocytes are at least 800/mm³ again, or the year-2 "
    "course has been recorded.",
}

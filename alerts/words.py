"""Codes in plain words: the one place the pages turn stored states and rule codes into the
clinic's language (the admin and the API keep the codes)."""

from __future__ import annotations

from typing import Any

from alerts.models import AlertState, Rule, Severity
from outcomes.documents import NedaWindowDocument
from outcomes.models import NedaState

NEDA: dict[str, str] = {
    NedaState.MET: "no evidence of disease activity",
    NedaState.NOT_MET: "disease activity",
    NedaState.UNKNOWN: "not known",
}

# A component of NEDA is "met" when nothing happened: say what happened instead.
COMPONENTS = {
    "relapse": {"met": "no relapse", "not_met": "relapse", "unknown": "relapses not known"},
    "disability": {
        "met": "no confirmed worsening",
        "not_met": "confirmed worsening",
        "unknown": "disability not known",
    },
    "mri": {"met": "no MRI activity", "not_met": "MRI activity", "unknown": "MRI not known"},
    "atrophy": {
        "met": "no atrophy beyond 0.4 %/year",
        "not_met": "brain atrophy beyond 0.4 %/year",
        "unknown": "atrophy not known",
    },
}
COMPONENT_NAMES = {
    "relapse": "relapses",
    "disability": "disability (EDSS)",
    "mri": "MRI",
    "atrophy": "brain volume",
}

CHANGES = {
    "RAW": "worsening with a relapse (RAW)",
    "PIRA": "progression independent of relapses (PIRA)",
    "undefined": "worsening, neither RAW nor PIRA",
}

SEVERITY = dict(Severity.choices)
ALERT_STATE: dict[str, str] = {
    AlertState.OPEN: "not yet seen",
    AlertState.ACKNOWLEDGED: "seen",
    AlertState.RESOLVED: "dealt with",
}
RULE = dict(Rule.choices)


def neda(state: str) -> str:
    return NEDA.get(state, state)


def component(name: str, state: str) -> str:
    return COMPONENTS.get(name, {}).get(state, f"{name} {state}")


def unknown_parts(window: NedaWindowDocument | None, components: tuple[str, ...]) -> list[str]:
    """The parts of a NEDA window that are not known, named."""
    if window is None:
        return []
    return [
        COMPONENT_NAMES[name]
        for name in components
        if getattr(window, name).state == NedaState.UNKNOWN
    ]


RECORDS = {
    "monitoring.visit": "visit",
    "monitoring.relapse": "relapse",
    "monitoring.mriscan": "MRI",
    "monitoring.nflsample": "NfL",
    "monitoring.jcvtest": "JCV test",
    "patients.therapycourse": "therapy",
}


def evidence_records(evidence: dict[str, Any]) -> list[dict[str, str]]:
    """The records an alert rests on, each named in words with its date and the anchor of
    its row on the patient page."""
    return [
        {
            "what": RECORDS.get(record.get("model", ""), "record"),
            "date": record.get("date", ""),
            "anchor": f"r-{record.get('id', '')}",
        }
        for record in evidence.get("records", [])
        if isinstance(record, dict)
    ]


def finding_date(evidence: dict[str, Any]) -> str | None:
    """The date of what was found (the latest record it rests on, or the date a test fell
    due), as opposed to when the evaluation raised it."""
    dates = [r["date"] for r in evidence_records(evidence) if r["date"]]
    if evidence.get("due"):
        return str(evidence["due"])
    return max(dates, default=None)

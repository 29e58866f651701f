"""Progression events as pages and the API show them: the stored ones of `PatientStatus`,
or, for another definition asked for, computed on request by the engine.

One conversion for both readers, so the patient page and `/api/v1/progression-events/`
cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from alerts.models import PatientStatus
from monitoring.clinical import progression
from monitoring.clinical.definitions import Definition
from monitoring.models import Relapse, Visit


@dataclass(frozen=True, slots=True)
class EventRow:
    """A worsening or improvement event, with the dates and values it rests on."""

    kind: str
    cdw_type: str | None
    onset_date: dt.date
    onset_value: float
    baseline_date: dt.date
    baseline_value: float
    confirmation_date: dt.date
    pira_date: dt.date | None
    relapses: tuple[dt.date, ...]


def stored_events(status: PatientStatus) -> list[EventRow]:
    """The confirmed worsening events the evaluation stored (its definition, EDSS)."""
    day = dt.date.fromisoformat
    return [
        EventRow(
            "worsening",
            e["cdw_type"],
            day(e["onset"]["date"]),
            e["onset"]["edss"],
            day(e["baseline"]["date"]),
            e["baseline"]["edss"],
            day(e["confirmation"]["date"]),
            day(e["pira_confirmation"]["date"]) if e["pira_confirmation"] else None,
            tuple(day(r) for r in e["relapses"]),
        )
        for e in status.worsening
    ]


def computed_events(
    visits: Sequence[Visit], relapses: Sequence[Relapse], chosen: Definition
) -> list[EventRow]:
    """Every event under `chosen`, on its outcome measure (visits without it are skipped)."""
    measured = [(v, getattr(v, chosen.outcome)) for v in visits]
    events = progression.assess(
        [
            progression.Visit(v.date, float(value), v.scheduled)
            for v, value in measured
            if value is not None
        ],
        [r.onset for r in relapses],
        chosen,
    )
    return [
        EventRow(
            e.kind,
            e.cdw_type,
            e.onset.date,
            e.onset.value,
            e.baseline.date,
            e.baseline.value,
            e.confirmation.date,
            e.pira_confirmation.date if e.pira_confirmation else None,
            e.relapses,
        )
        for e in events
    ]

"""Progression events as pages and the API show them: the stored ones of a `PatientStatus`,
or, for another definition asked for, computed on request by the engine. Both are
`outcomes.documents.ProgressionEvent`, so the patient page and
`/api/v1/progression-events/` cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitoring.clinical import progression
from monitoring.clinical.definitions import Definition
from monitoring.models import Relapse, Visit
from outcomes.documents import ProgressionEvent, event, events_of
from outcomes.models import PatientStatus


def stored_events(status: PatientStatus) -> list[ProgressionEvent]:
    """The confirmed worsening events the evaluation stored (its definition, EDSS)."""
    return events_of(status.worsening)


def computed_events(
    visits: Sequence[Visit], relapses: Sequence[Relapse], chosen: Definition
) -> list[ProgressionEvent]:
    """Every event under `chosen`, on its outcome measure (visits without it are skipped);
    none is `recent`: the look-back period belongs to the stored status's alerts."""
    measured = [(v, getattr(v, chosen.outcome)) for v in visits]
    visit_ids = {v.date: str(v.public_id) for v, value in measured if value is not None}
    events = progression.assess(
        [
            progression.Visit(v.date, float(value), v.scheduled)
            for v, value in measured
            if value is not None
        ],
        [r.onset for r in relapses],
        chosen,
    )
    return [event(e, recent=False, visit_id=visit_ids.get) for e in events]

"""Small builders for progression tests: visits and relapses as day offsets."""

from __future__ import annotations

import datetime as dt

from monitoring.clinical.definitions import Definition, definition
from monitoring.clinical.progression import Event, Visit, assess

DAY0 = dt.date(2020, 1, 1)


def day(offset: int) -> dt.date:
    return DAY0 + dt.timedelta(days=offset)


def visits(*points: tuple[int, float] | tuple[int, float, bool]) -> list[Visit]:
    return [Visit(day(p[0]), p[1], *(p[2:])) for p in points]  # type: ignore[misc]


def run(
    points: list[Visit],
    relapses: tuple[int, ...] = (),
    d: Definition | None = None,
    **settings: object,
) -> tuple[Event, ...]:
    return assess(points, [day(r) for r in relapses], d or definition(**settings))


def summary(events: tuple[Event, ...]) -> list[tuple[object, ...]]:
    """(kind, cdw_type, onset day, baseline day, first confirmation day) per event."""
    return [
        (
            e.kind,
            e.cdw_type,
            (e.onset.date - DAY0).days,
            (e.baseline.date - DAY0).days,
            (e.confirmation.date - DAY0).days,
        )
        for e in events
    ]

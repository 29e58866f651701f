"""Sent after a transaction that changed a patient's clinical data has committed.

The alerts app listens and enqueues re-evaluation; writers never wait for the engine.
A bulk writer (an import of a clinic's history) holds the announcements back with
`held()` and has its patients evaluated together once it is done, in batches, instead of
one task per patient and record kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.dispatch import Signal

_held: ContextVar[set[int] | None] = ContextVar("held_patient_announcements", default=None)


class PatientDataChanged(Signal):
    def send(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        held = _held.get()
        if held is not None:
            held.add(named["patient_id"])
            return []
        return super().send(sender, **named)


patient_data_changed = PatientDataChanged()  # sender: model class; kwargs: patient_id


@contextmanager
def held() -> Iterator[set[int]]:
    """Within: the patients whose changes commit are collected, not announced."""
    patients: set[int] = set()
    token = _held.set(patients)
    try:
        yield patients
    finally:
        _held.reset(token)

"""Reads of patient data are audited: one row per request, naming the patients shown.

A list (an API page, the dashboard, the inbox, a search) writes one `AuditEvent` with the
ids of every patient on it and the query that chose them, never one row per record: a
whole cohort cannot be read without a trace, and a page costs one INSERT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from patients.actions import Actor
from patients.models import AuditAction, AuditEvent, Patient


def patient_id_of(row: models.Model) -> int | None:
    """The patient a row belongs to (a patient is its own)."""
    if isinstance(row, Patient):
        return row.pk
    patient_id: int | None = getattr(row, "patient_id", None)
    return patient_id


def record_reads(
    rows: Iterable[models.Model] | Iterable[int],
    *,
    actor: Actor,
    what: str,
    query: Mapping[str, Any] | None = None,
) -> None:
    """Audit that `actor` was shown `rows` (records, or patient ids) by `what` (a path or a
    page's name), chosen by `query`."""
    shown: set[int] = set()
    for row in rows:
        patient_id = row if isinstance(row, int) else patient_id_of(row)
        if patient_id is not None:
            shown.add(patient_id)
    ids = sorted(shown)
    AuditEvent.objects.create(
        actor=actor.user,
        actor_label=actor.label,
        action=AuditAction.READ,
        model=what[:64],
        object_id=f"{len(ids)} patient{'s' if len(ids) != 1 else ''}",
        patient_id=ids[0] if len(ids) == 1 else None,
        after={"patients": ids, "query": _plain(query or {})},
    )


def _plain(query: Mapping[str, Any]) -> dict[str, str]:
    """The query as short text (PostgreSQL's JSON refuses NUL characters)."""
    return {str(k)[:64]: str(v).replace("\x00", "")[:200] for k, v in query.items()}

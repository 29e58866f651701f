"""Audit rows of the registry's own acts: a file imported, an export made or downloaded, a
pseudonym looked up. The records an import writes are audited by patients.actions."""

from __future__ import annotations

from typing import Any

from django.db import models

from patients.actions import Actor
from patients.models import AuditAction, AuditEvent, Patient


def audit(
    subject: models.Model,
    *,
    actor: Actor,
    action: str = AuditAction.CREATE,
    after: dict[str, Any],
    patient: Patient | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        model=subject._meta.label_lower,
        object_id=str(getattr(subject, "public_id", subject.pk)),
        patient=patient,
        after=after,
    )

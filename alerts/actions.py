"""The lifecycle of an alert: open → acknowledged → resolved, each change audited.

People acknowledge and resolve alerts here; the evaluation raises them and resolves those
whose condition cleared (`alerts.evaluation`), writing the same audit rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from alerts.concern import rank
from alerts.models import Alert, AlertState
from patients.actions import Actor, snapshot
from patients.models import AuditAction, AuditEvent
from patients.policy import Action, can, sites_where


def audit_event(
    alert: Alert, *, actor: Actor, action: str, before: dict[str, Any] | None, at: dt.datetime
) -> AuditEvent:
    """The audit row of a change to an alert (not saved: the evaluation saves in bulk)."""
    return AuditEvent(
        at=at,
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        model=Alert._meta.label_lower,
        object_id=str(alert.public_id),
        patient_id=alert.patient_id,
        before=before,
        after=snapshot(alert),
    )


def _locked(alert: Alert, actor: Actor) -> Alert:
    # Lock the alert row only: the patient row stays free for the evaluation and new records.
    visible = Alert.objects.visible_to(actor.user).select_for_update(of=("self",))
    current = visible.filter(pk=alert.pk).first()
    if current is None:
        raise PermissionDenied("this alert is not visible to you")
    return current


def mark_decidable(user: Any, alerts: Iterable[Alert]) -> None:
    """Set `decidable` on each alert so that pages offer acknowledge and resolve only to
    those who may (the actions check again)."""
    sites = sites_where(user, Action.DECIDE)
    for alert in alerts:
        alert.decidable = sites is None or alert.patient.site_id in sites


@transaction.atomic
def acknowledge_alert(alert: Alert, *, actor: Actor) -> Alert:
    """A neurologist (or site admin) has seen the alert and is on it. Acknowledging twice
    keeps the first. An alert cleared before anyone saw it stays resolved and is marked seen."""
    alert = _locked(alert, actor)
    if not can(actor.user, Action.DECIDE, alert):
        raise PermissionDenied("only a neurologist or site admin may acknowledge an alert")
    if alert.state != AlertState.OPEN and not alert.cleared_unseen:
        return alert
    before = snapshot(alert)
    if alert.state == AlertState.OPEN:
        alert.state = AlertState.ACKNOWLEDGED
    alert.cleared_unseen = False
    alert.acknowledged_by = actor.user
    alert.acknowledged_at = timezone.now()
    alert.save(update_fields=["state", "acknowledged_by", "acknowledged_at", "cleared_unseen"])
    audit_event(
        alert, actor=actor, action=AuditAction.UPDATE, before=before, at=alert.acknowledged_at
    ).save()
    return alert


@transaction.atomic
def resolve_alert(alert: Alert, *, actor: Actor, note: str) -> Alert:
    """A neurologist (or site admin) closes the alert, saying how, e.g. "therapy switched"."""
    note = note.strip()
    if not note:
        raise ValidationError({"resolution_note": "say how the alert was dealt with"})
    alert = _locked(alert, actor)
    if not can(actor.user, Action.DECIDE, alert):
        raise PermissionDenied("only a neurologist or site admin may resolve an alert")
    if alert.state == AlertState.RESOLVED:
        return alert
    before = snapshot(alert)
    alert.state = AlertState.RESOLVED
    alert.resolved_by = actor.user
    alert.resolved_at = timezone.now()
    alert.resolution_note = note
    alert.save(update_fields=["state", "resolved_by", "resolved_at", "resolution_note"])
    rank([alert.patient_id])
    audit_event(
        alert, actor=actor, action=AuditAction.UPDATE, before=before, at=alert.resolved_at
    ).save()
    return alert

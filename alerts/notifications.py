"""Email the site's neurologists about new high-severity alerts, grouped per patient.

At most one email per patient per ALERT_EMAIL_GROUP_MINUTES: the worker that wins the
conditional UPDATE of `PatientStatus.last_notified_at` sends it, with every high-severity
alert of that patient not yet emailed. Alerts raised inside the interval wait for the next
email (the beat task `send_notifications` picks them up), so nothing is lost and nothing is
sent twice by two workers. If sending fails, the claim rolls back, the failure is logged and
the other patients' emails still go out; a later run retries. A failed send never fails the
evaluation that raised the alerts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from alerts.models import Alert, AlertState, Severity
from outcomes.models import PatientStatus
from patients.models import Patient, Role

log = logging.getLogger(__name__)


def pending() -> QuerySet[Alert]:
    """High-severity alerts not yet emailed and not resolved."""
    return Alert.objects.filter(severity=Severity.HIGH, notified_at__isnull=True).exclude(
        state=AlertState.RESOLVED
    )


def notify(patient_ids: Iterable[int] | None = None) -> int:
    """Send the grouped emails that are due; returns how many were sent."""
    waiting = pending()
    if patient_ids is not None:
        waiting = waiting.filter(patient_id__in=list(patient_ids))
    sent = 0
    for patient_id in sorted(set(waiting.values_list("patient_id", flat=True))):
        try:
            sent += _notify_patient(patient_id)
        except Exception:
            # The claim and `notified_at` rolled back with the transaction: the alerts stay
            # pending for the next run (`send_notifications`, every 5 minutes).
            log.exception("could not email the alerts of patient %s", patient_id)
    return sent


@transaction.atomic
def _notify_patient(patient_id: int) -> bool:
    now = timezone.now()
    quiet_since = now - dt.timedelta(minutes=settings.ALERT_EMAIL_GROUP_MINUTES)
    claimed = (
        PatientStatus.objects.filter(patient_id=patient_id)
        .filter(Q(last_notified_at__isnull=True) | Q(last_notified_at__lte=quiet_since))
        .update(last_notified_at=now)
    )
    if not claimed:
        return False  # emailed within the interval (or claimed by another worker just now)
    alerts = list(pending().filter(patient_id=patient_id).order_by("raised_at", "id"))
    if not alerts:
        transaction.set_rollback(True)  # nothing to send: keep the interval open
        return False
    patient = Patient.objects.select_related("site").get(pk=patient_id)
    recipients = list(
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__site_id=patient.site_id,
            memberships__role=Role.NEUROLOGIST,
        )
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        # The claim stands (ask again after the interval, not every run); the alerts stay
        # pending, so the site's first neurologist with an email address gets them.
        log.warning(
            "no active neurologist with an email address at site %s: %d high-severity "
            "alert(s) of patient %s wait to be emailed",
            patient.site.code,
            len(alerts),
            patient.mrn,
        )
        return False
    Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(notified_at=now)
    count = len(alerts)
    lines = [f"- [{a.get_rule_display()}] {a.explanation}" for a in alerts]
    send_mail(
        subject=f"mstrack: {count} high-severity alert{'s' if count > 1 else ''} for "
        f"{patient.site.code} patient {patient.mrn}",
        message=(
            f"Patient {patient.mrn} ({patient.site.name}):\n\n"
            + "\n".join(lines)
            + "\n\nOpen mstrack to acknowledge or resolve these alerts."
        ),
        from_email=None,
        recipient_list=recipients,
    )
    return True

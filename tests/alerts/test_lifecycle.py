"""Acknowledge and resolve, by role and site, audited; grouped email notifications; the
fixed number of queries of an evaluation."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.actions import acknowledge_alert, resolve_alert
from alerts.evaluation import evaluate
from alerts.models import Alert, AlertState, Rule
from alerts.notifications import notify
from patients.actions import Actor
from patients.models import AuditEvent
from tests.alerts.conftest import add, alerts, course, run
from tests.factories import make_patient, make_user, mri_scan, relapse

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def alert(today, patient) -> Alert:
    course(patient)
    add(relapse(patient, onset=D(2024, 2, 1)))
    run(patient)
    return alerts(patient, Rule.RELAPSE_ON_THERAPY)[0]


def test_neurologist_acknowledges_and_resolves_nurse_may_not(alert, nurse_a, neurologist_a):
    with pytest.raises(PermissionDenied):
        acknowledge_alert(alert, actor=Actor.of(nurse_a))
    acknowledged = acknowledge_alert(alert, actor=Actor.of(neurologist_a))
    assert acknowledged.state == AlertState.ACKNOWLEDGED
    assert acknowledged.acknowledged_by == neurologist_a and acknowledged.acknowledged_at
    with pytest.raises(PermissionDenied):
        resolve_alert(alert, actor=Actor.of(nurse_a), note="seen")
    resolved = resolve_alert(alert, actor=Actor.of(neurologist_a), note=" therapy switched ")
    assert resolved.state == AlertState.RESOLVED
    assert (resolved.resolved_by, resolved.resolution_note) == (neurologist_a, "therapy switched")
    changes = AuditEvent.objects.filter(object_id=str(alert.public_id)).order_by("at", "id")
    assert [(e.actor_label, e.action) for e in changes] == [
        ("alerts", "create"),
        ("neuro-a", "update"),
        ("neuro-a", "update"),
    ]
    assert changes[2].before["state"] == "acknowledged"
    assert changes[2].after["state"] == "resolved"


def test_resolving_needs_a_note(alert, neurologist_a):
    with pytest.raises(ValidationError):
        resolve_alert(alert, actor=Actor.of(neurologist_a), note="  ")


def test_other_site_sees_nothing(alert, user_b):
    with pytest.raises(PermissionDenied):
        acknowledge_alert(alert, actor=Actor.of(user_b))
    assert not Alert.objects.visible_to(user_b).exists()


def test_resolved_alert_stays_resolved_on_the_same_evidence(alert, patient, neurologist_a):
    resolve_alert(alert, actor=Actor.of(neurologist_a), note="therapy switched")
    run(patient)
    assert alerts(patient, Rule.RELAPSE_ON_THERAPY) == []
    assert Alert.objects.filter(patient=patient, rule=Rule.RELAPSE_ON_THERAPY).count() == 1


def test_acknowledged_alert_is_not_raised_again(alert, patient, neurologist_a):
    acknowledge_alert(alert, actor=Actor.of(neurologist_a))
    run(patient)
    assert [a.state for a in alerts(patient, Rule.RELAPSE_ON_THERAPY)] == ["acknowledged"]


def test_evaluation_runs_a_fixed_number_of_queries(today, site_a):
    patients = [make_patient(site_a) for _ in range(4)]
    for p in patients:
        add(mri_scan(p, date=D(2024, 1, 1)))
        add(relapse(p, onset=D(2024, 2, 1)))
    with CaptureQueriesContext(connection) as one:
        evaluate([patients[0].pk])
    with CaptureQueriesContext(connection) as many:
        evaluate([p.pk for p in patients[1:]])
    assert len(one) == len(many)


# --- notifications ------------------------------------------------------------------------


def test_high_alerts_email_the_sites_neurologists_grouped(today, patient, nurse_a):
    neurologist = make_user("neuro-mail", site=patient.site, role="neurologist")
    neurologist.email = "neuro@example.org"
    neurologist.save()
    nurse_a.email = "nurse@example.org"
    nurse_a.save()
    course(patient)
    add(relapse(patient, onset=D(2024, 2, 1)))
    notify(run(patient).to_notify)
    [email] = mail.outbox
    assert email.to == ["neuro@example.org"]
    assert patient.mrn in email.subject and "2024-02-01" in email.body

    add(relapse(patient, onset=D(2025, 1, 5)))
    notify(run(patient).to_notify)
    assert len(mail.outbox) == 1  # within 15 minutes of the last email: it waits
    notify()
    assert len(mail.outbox) == 1

    with time_machine.travel(dt.timedelta(minutes=16)):
        assert notify() == 1
    assert "2025-01-05" in mail.outbox[1].body and "2024-02-01" not in mail.outbox[1].body
    assert notify() == 0


def test_alerts_wait_for_a_neurologist_with_an_email(today, patient, caplog):
    neurologist = make_user("neuro-later", site=patient.site, role="neurologist", email="")
    course(patient)
    add(relapse(patient, onset=D(2024, 2, 1)))
    assert notify(run(patient).to_notify) == 0
    assert "wait to be emailed" in caplog.text
    [alert] = alerts(patient, Rule.RELAPSE_ON_THERAPY)
    assert alert.notified_at is None and mail.outbox == []

    neurologist.email = "later@example.org"
    neurologist.save()
    assert notify() == 0  # asked within the interval: waits
    with time_machine.travel(dt.timedelta(minutes=16)):
        assert notify() == 1
    assert mail.outbox[0].to == ["later@example.org"] and "2024-02-01" in mail.outbox[0].body


def test_low_and_medium_alerts_send_no_email(today, patient):
    make_user("neuro-x", site=patient.site, role="neurologist", email="n@example.org")
    add(mri_scan(patient, date=D(2024, 1, 1)))  # MRI overdue: low
    assert run(patient).raised
    assert notify() == 0 and mail.outbox == []


def test_failed_email_loses_no_alert_and_fails_no_evaluation(
    today, patient, site_b, monkeypatch, caplog
):
    from smtplib import SMTPServerDisconnected

    from django.core.management import call_command

    from alerts import notifications, tasks
    from outcomes.models import PatientStatus

    other = make_patient(site_b)
    for p in (patient, other):
        make_user(site=p.site, role="neurologist", email=f"neuro@{p.site.code.lower()}.example.org")
        course(p)
        add(relapse(p, onset=D(2024, 2, 1)))
    real_send = notifications.send_mail

    def send_mail(**message):
        if patient.mrn in message["subject"]:
            raise SMTPServerDisconnected("mail server went away")
        return real_send(**message)

    monkeypatch.setattr(notifications, "send_mail", send_mail)
    assert tasks.evaluate_patient.delay(patient.pk).get() > 0  # the evaluation stands
    call_command("evaluate", str(patient.public_id), str(other.public_id))  # runs to the end
    assert "could not email the alerts of patient" in caplog.text
    assert [m.to for m in mail.outbox] == [[f"neuro@{other.site.code.lower()}.example.org"]]
    [alert] = alerts(patient, Rule.RELAPSE_ON_THERAPY)
    assert alert.notified_at is None  # still waiting for its email
    assert PatientStatus.objects.get(patient=patient).last_notified_at is None

    monkeypatch.setattr(notifications, "send_mail", real_send)  # the mail server is back
    assert notify() == 1
    assert patient.mrn in mail.outbox[1].subject and "2024-02-01" in mail.outbox[1].body
    alert.refresh_from_db()
    assert alert.notified_at is not None

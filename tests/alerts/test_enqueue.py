"""A committed write enqueues its patient's evaluation; a broker failure never fails the
write; the sweep evaluates everyone (eager Celery, and the real Redis dedupe key)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from alerts import tasks
from alerts.evaluation import evaluate
from alerts.models import Alert, Rule
from monitoring.models import Relapse
from mstrack.celery import app
from outcomes.models import PatientStatus
from patients.models import EvaluationRequest
from tests.alerts.conftest import add, alerts, course
from tests.conftest import require_redis
from tests.factories import make_patient, relapse

pytestmark = pytest.mark.django_db

D = dt.date


def test_commit_evaluates_the_patient(today, patient, django_capture_on_commit_callbacks):
    course(patient)
    with django_capture_on_commit_callbacks(execute=True):
        add(relapse(patient, onset=D(2024, 2, 1)))
    assert len(alerts(patient, Rule.RELAPSE_ON_THERAPY)) == 1
    assert PatientStatus.objects.filter(patient=patient).exists()


def test_broker_down_at_save_time(
    today, patient, settings, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    course(patient)
    with monkeypatch.context() as broker_down:
        broker_down.setitem(app.conf, "task_always_eager", False)
        broker_down.setattr(settings, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing there
        with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
            add(relapse(patient, onset=D(2024, 2, 1)))
    assert Relapse.objects.filter(patient=patient).exists()  # the data is saved
    assert "could not enqueue the evaluation" in caplog.text
    assert Alert.objects.count() == 0

    tasks.sweep.delay()  # the nightly sweep heals
    assert len(alerts(patient, Rule.RELAPSE_ON_THERAPY)) == 1


def test_sweep_covers_every_patient_in_batches(today, site_a, settings):
    settings.ALERT_SWEEP_BATCH = 2
    patients = [make_patient(site_a) for _ in range(5)]
    assert tasks.sweep.delay().get() == 3
    assert PatientStatus.objects.filter(patient__in=patients).count() == 5


def test_a_sweeps_batches_judge_the_day_it_was_queued(today, site_a):
    """The date travels with each batch, so a worker that takes one after midnight still
    judges the day the sweep was queued."""
    patients = [make_patient(site_a) for _ in range(4)]
    work = [[p.pk for p in patients[:2]], [p.pk for p in patients[2:]]]
    tasks.queue_batches(work)
    assert set(PatientStatus.objects.values_list("as_of", flat=True)) == {today}
    tasks.queue_batches(work, D(2025, 6, 3))
    assert set(PatientStatus.objects.values_list("as_of", flat=True)) == {D(2025, 6, 3)}


def test_evaluate_command(today, site_a, capsys):
    patients = [make_patient(site_a) for _ in range(3)]
    call_command("evaluate", "--all", "--batch", "2")
    assert PatientStatus.objects.count() == 3
    call_command("evaluate", str(patients[0].public_id))
    assert "3 patients" in capsys.readouterr().out


@pytest.mark.redis
def test_one_pending_task_per_patient(settings, monkeypatch):
    settings.REDIS_URL = require_redis()
    published = []
    monkeypatch.setattr(
        tasks.evaluate_patient, "apply_async", lambda args, **kw: published.append(args)
    )
    tasks._release_pending(987654)
    for _ in range(3):
        tasks.enqueue(987654)
    assert published == [(987654,)]
    tasks._release_pending(987654)  # what the task does first
    tasks.enqueue(987654)
    assert published == [(987654,), (987654,)]
    tasks._release_pending(987654)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["not-a-uuid"], "not a patient public id (a UUID): 'not-a-uuid'"),
        (["00000000-0000-4000-8000-000000000000"], "unknown patient public id: 00000000-"),
    ],
)
def test_evaluate_command_refuses_bad_public_ids(site_a, given, message):
    known = str(make_patient(site_a).public_id)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("evaluate", known, *given)
    assert PatientStatus.objects.count() == 0  # nothing evaluated on a half-valid list


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["--all", "PATIENT"], "name patients by public id or give --all, not both"),
        (["--all", "--batch", "-5"], "--batch must be at least 1, not -5"),
        (["--all", "--batch", "0"], "--batch must be at least 1, not 0"),
    ],
)
def test_evaluate_command_refuses_ambiguous_options(site_a, given, message):
    known = str(make_patient(site_a).public_id)
    arguments = [known if a == "PATIENT" else a for a in given]
    with pytest.raises(CommandError, match=message):
        call_command("evaluate", *arguments)
    assert PatientStatus.objects.count() == 0


def test_evaluate_command_takes_a_public_id_in_any_spelling(today, site_a, capsys):
    public_id = str(make_patient(site_a).public_id)
    call_command("evaluate", public_id, public_id.upper())
    assert "Evaluated 1 patients" in capsys.readouterr().out
    assert PatientStatus.objects.count() == 1


def test_transient_database_error_is_retried(today, patient, monkeypatch):
    course(patient)
    add(relapse(patient, onset=D(2024, 2, 1)))
    calls = []

    def flaky(patient_ids):
        calls.append(patient_ids)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return evaluate(patient_ids)

    monkeypatch.setattr(tasks, "evaluate", flaky)
    raised = tasks.evaluate_patient.apply((patient.pk,), throw=False).get()
    assert len(calls) == 2
    assert raised == Alert.objects.filter(patient=patient).count() > 0
    assert len(alerts(patient, Rule.RELAPSE_ON_THERAPY)) == 1


def test_other_errors_are_not_retried(patient, monkeypatch):
    calls = []

    def broken(patient_ids):
        calls.append(patient_ids)
        raise ValueError("a bug")

    monkeypatch.setattr(tasks, "evaluate", broken)
    with pytest.raises(ValueError):
        tasks.evaluate_patient.apply((patient.pk,)).get()
    assert len(calls) == 1


def test_a_write_keeps_its_evaluation_request_until_evaluated(
    today, patient, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The outbox (issue 15, item 4): a write missed by the broker is evaluated by the
    drain, not 24 hours later by the sweep; an evaluation clears the requests it saw."""
    with django_capture_on_commit_callbacks(execute=True):
        course(patient)
    assert not EvaluationRequest.objects.exists()  # the course's own was evaluated eagerly
    with monkeypatch.context() as broker_down:
        broker_down.setitem(app.conf, "task_always_eager", False)
        broker_down.setattr(settings, "REDIS_URL", "redis://127.0.0.1:1/0")
        with django_capture_on_commit_callbacks(execute=True):
            add(relapse(patient, onset=D(2024, 2, 1)))
    assert list(EvaluationRequest.objects.values_list("patient_id", flat=True)) == [patient.pk]
    assert tasks.drain_evaluation_requests.delay().get() == 0  # younger than the grace
    settings.ALERT_OUTBOX_GRACE_SECONDS = 0
    assert tasks.drain_evaluation_requests.delay().get() == 1
    assert len(alerts(patient, Rule.RELAPSE_ON_THERAPY)) == 1
    assert not EvaluationRequest.objects.exists()
    assert tasks.drain_evaluation_requests.delay().get() == 0


def test_an_evaluation_clears_only_its_own_patients_requests(today, site_a):
    first, second = make_patient(site_a), make_patient(site_a)
    EvaluationRequest.objects.bulk_create(
        [EvaluationRequest(patient=first), EvaluationRequest(patient=second)]
    )
    evaluate([first.pk])
    assert list(EvaluationRequest.objects.values_list("patient_id", flat=True)) == [second.pk]

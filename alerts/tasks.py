"""Celery tasks: evaluate a patient after a committed change, sweep every patient nightly.

Enqueueing (`enqueue`, run after commit) keeps one pending task per patient with a Redis key
set with NX: a change committed while a task is pending is covered by it, because the task
deletes the key before it reads any data. A broker failure never fails the write: it is
logged and the nightly sweep heals it.

Tasks are acknowledged late (settings), so a worker killed mid-evaluation leaves its message
to be delivered again; evaluation is idempotent, so a redelivery never doubles an alert.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache
from typing import Any

import redis
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from alerts.evaluation import evaluate
from alerts.notifications import notify
from patients.models import EvaluationRequest, Patient

log = logging.getLogger(__name__)

# Transient failures worth retrying: the database or the broker went away for a moment.
TRANSIENT = (
    OperationalError,
    InterfaceError,
    BrokerError,
    redis.ConnectionError,
    redis.TimeoutError,
)
retrying_task = shared_task(
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
)
# Redis priorities: 0 is served first. A write's evaluation overtakes the nightly sweep.
SWEEP_PRIORITY = 9
PENDING_KEY = "mstrack:alerts:pending:{}"


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)


def _claim_pending(patient_id: int) -> bool:
    """True when no evaluation of this patient is pending yet (and one now is)."""
    key = PENDING_KEY.format(patient_id)
    return bool(_redis(settings.REDIS_URL).set(key, 1, nx=True, ex=settings.ALERT_PENDING_SECONDS))


def _release_pending(patient_id: int) -> None:
    if settings.REDIS_URL:
        _redis(settings.REDIS_URL).delete(PENDING_KEY.format(patient_id))


def enqueue(patient_id: int) -> None:
    """Ask for a patient's evaluation; call after commit. Never raises for the writer."""
    try:
        if evaluate_patient.app.conf.task_always_eager:  # no broker: run it here and now
            evaluate_patient.delay(patient_id)
            return
        if not _claim_pending(patient_id):
            return  # the pending task will read this change
        try:
            evaluate_patient.apply_async((patient_id,), retry=False)
        except Exception:
            _release_pending(patient_id)
            raise
    except Exception:
        # The data is committed; only its evaluation is late: its evaluation request waits
        # in the database for `drain_evaluation_requests`.
        log.exception("could not enqueue the evaluation of patient %s", patient_id)


# A write touching more patients than this (a catalogue change, an import) is evaluated in
# the sweep's batches rather than one task per patient.
ONE_BY_ONE = 20


def on_patients_data_changed(sender: Any, *, patient_ids: list[int], **kwargs: Any) -> None:
    """A committed write asks for its patients' evaluation."""
    if len(patient_ids) <= ONE_BY_ONE:
        for patient_id in patient_ids:
            enqueue(patient_id)
        return
    size = settings.ALERT_SWEEP_BATCH
    try:
        queue_batches([patient_ids[i : i + size] for i in range(0, len(patient_ids), size)])
    except Exception:
        # As for a single patient: the requests wait in the database for the drain.
        log.exception("could not queue the evaluation of %s patients", len(patient_ids))


@retrying_task
def evaluate_patient(patient_id: int) -> int:
    """Evaluate one patient; returns the number of alerts raised."""
    # Before reading: a change committed from now on must enqueue a new task.
    _release_pending(patient_id)
    outcome = evaluate([patient_id])
    notify(outcome.to_notify)
    return len(outcome.raised)


@retrying_task
def evaluate_batch(patient_ids: list[int], as_of: str | None = None) -> int:
    """Evaluate a batch of the sweep on `as_of` (ISO date; default today); returns the
    number of alerts raised. Its emails go out with `send_notifications` (every 5 minutes)
    rather than holding up the sweep."""
    day = dt.date.fromisoformat(as_of) if as_of else None
    return len(evaluate(patient_ids, as_of=day).raised)


def batches(size: int) -> list[list[int]]:
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def queue_batches(work: list[list[int]], as_of: dt.date | None = None) -> None:
    """Queue batches for the workers, all on one day (the day they were queued, by
    default): a sweep that runs past midnight still judges every patient on the same date."""
    day = (as_of or timezone.localdate()).isoformat()
    for batch in work:
        evaluate_batch.apply_async((batch, day), priority=SWEEP_PRIORITY)


@retrying_task
def sweep(batch_size: int | None = None) -> int:
    """Queue every patient in batches for the workers (nightly: heals lost enqueues, runs
    the time-based rules). Returns the number of batches queued."""
    queued = batches(batch_size or settings.ALERT_SWEEP_BATCH)
    queue_batches(queued)
    return len(queued)


@retrying_task
def drain_evaluation_requests() -> int:
    """Queue the evaluations that writes asked for and no worker has done: the broker was
    down when they committed (their enqueue failed) or their task was lost. Runs every
    `ALERT_OUTBOX_DRAIN_SECONDS`, so a patient written during a broker outage is evaluated
    within a minute of the broker's return. Returns the number of patients queued."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.ALERT_OUTBOX_GRACE_SECONDS)
    missed = sorted(
        set(
            EvaluationRequest.objects.filter(requested_at__lte=cutoff)
            .order_by()
            .values_list("patient_id", flat=True)
        )
    )
    size = settings.ALERT_SWEEP_BATCH
    for start in range(0, len(missed), size):
        # Writes' evaluations come before the nightly sweep's batches.
        evaluate_batch.apply_async((missed[start : start + size],), priority=0)
    return len(missed)


@retrying_task
def send_notifications() -> int:
    """Send grouped emails whose quiet interval has passed."""
    return notify()

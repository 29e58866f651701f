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
from patients.models import Patient

log = logging.getLogger(__name__)

# Transient failures worth retrying: the database or the broker went away for a moment.
TRANSIENT = (
    OperationalError,
    InterfaceError,
    BrokerError,
    redis.ConnectionError,
    redis.TimeoutError,
)
RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
}
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
        # The data is committed; only its evaluation is late. The nightly sweep (or the
        # patient's next change) evaluates it.
        log.exception("could not enqueue the evaluation of patient %s", patient_id)


def on_patient_data_changed(sender: Any, *, patient_id: int, **kwargs: Any) -> None:
    enqueue(patient_id)


def on_patients_data_changed(sender: Any, *, patient_ids: list[int], **kwargs: Any) -> None:
    """Many patients at once (a catalogue change): in batches, as the sweep queues them."""
    size = settings.ALERT_SWEEP_BATCH
    try:
        queue_batches([patient_ids[i : i + size] for i in range(0, len(patient_ids), size)])
    except Exception:
        # As for a single patient: the change is committed, the nightly sweep catches up.
        log.exception("could not queue the evaluation of %s patients", len(patient_ids))


@shared_task(**RETRY)
def evaluate_patient(patient_id: int) -> int:
    """Evaluate one patient; returns the number of alerts raised."""
    # Before reading: a change committed from now on must enqueue a new task.
    _release_pending(patient_id)
    outcome = evaluate([patient_id])
    notify(outcome.to_notify)
    return len(outcome.raised)


@shared_task(**RETRY)
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


@shared_task(**RETRY)
def sweep(batch_size: int | None = None) -> int:
    """Queue every patient in batches for the workers (nightly: heals lost enqueues, runs
    the time-based rules). Returns the number of batches queued."""
    queued = batches(batch_size or settings.ALERT_SWEEP_BATCH)
    queue_batches(queued)
    return len(queued)


@shared_task(**RETRY)
def send_notifications() -> int:
    """Send grouped emails whose quiet interval has passed."""
    return notify()

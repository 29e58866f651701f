"""Real Redis, real PostgreSQL, real `celery worker` processes.

Each worker is a subprocess on the pytest test database; every wait is bounded and every
worker is killed in a `finally`. A patient row lock held by the test stands in for "the
evaluation is in progress": the worker blocks on it right after taking the task.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.utils import timezone

from alerts import tasks
from alerts.models import Alert, Rule
from monitoring.models import Visit
from mstrack.celery import worker_command
from patients.actions import Actor, save_record
from tests.conftest import require_postgres, require_redis
from tests.factories import make_patient

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_SECONDS = 2  # redeliver a dead worker's task after this long


def _database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def wait_for(check: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@pytest.fixture
def broker() -> str:
    require_postgres()
    url = require_redis()
    redis.Redis.from_url(url).flushdb()  # no task left over from an earlier run
    return url


@contextmanager
def worker(
    url: str, name: str, *, beat: bool = False, env_extra: dict[str, str] | None = None
) -> Iterator[Callable[[], str]]:
    """A `celery worker` subprocess (with beat inside it if asked); yields a function that
    reads its log so far."""
    schedule = tempfile.TemporaryDirectory(prefix="celerybeat-")
    env = {
        **os.environ,
        **(env_extra or {}),
        "DATABASE_URL": _database_url(),
        "REDIS_URL": url,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_SECONDS),
        "SECRET_KEY": "worker-test-secret-key-not-for-deployments",
        "CONN_MAX_AGE": "0",
    }
    log = tempfile.NamedTemporaryFile("w+", prefix=f"celery-{name}-", suffix=".log")
    beat_options = ["--beat", f"--schedule={schedule.name}/schedule"] if beat else []
    process = subprocess.Popen(
        [*worker_command(name), *beat_options],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        read = Path(log.name).read_text
        wait_for(lambda: "ready." in read(), 30, f"worker {name}")
        yield read
    except BaseException:
        print(Path(log.name).read_text())
        raise
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()
        schedule.cleanup()


@contextmanager
def patient_locked(patient_id: int) -> Iterator[psycopg.Connection]:
    """Hold the row lock an evaluation takes first, from another connection."""
    with psycopg.connect(_database_url().replace("postgres://", "postgresql://")) as conn:
        conn.execute(
            "SELECT id FROM patients_patient WHERE id = %s FOR NO KEY UPDATE", [patient_id]
        )
        yield conn
        conn.rollback()


def waiting_on_locks() -> int:
    """Backends of the test database blocked on a lock (read outside any transaction: the
    activity view is a snapshot per transaction)."""
    url = _database_url().replace("postgres://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        ).fetchone()
    return row[0] if row else 0


def pira_patient(site_code: str = "W"):
    """Two visits on record; a third, confirming one, makes a PIRA."""
    from tests.factories import make_site

    patient = make_patient(make_site(site_code))
    today = timezone.localdate()
    for days, edss in ((400, "2.0"), (200, "3.0")):
        # Set-up rows go straight in: only the visit under test should enqueue.
        Visit.objects.create(
            patient=patient, date=today - dt.timedelta(days=days), edss=Decimal(edss)
        )
    confirming = Visit(patient=patient, date=today - dt.timedelta(days=100), edss=Decimal("3.0"))
    return patient, confirming


def pira_alerts(patient) -> int:
    return Alert.objects.filter(patient=patient, rule=Rule.CONFIRMED_PIRA).count()


def test_saved_visit_raises_its_alert_within_seconds(broker):
    patient, confirming = pira_patient()
    with worker(broker, "w1"):
        started = time.monotonic()
        save_record(confirming, actor=Actor.system("test"))
        wait_for(lambda: pira_alerts(patient), 5, "the PIRA alert")
        assert time.monotonic() - started < 5
    assert pira_alerts(patient) == 1


def test_worker_killed_mid_evaluation_loses_and_doubles_nothing(broker):
    patient, confirming = pira_patient()
    with patient_locked(patient.pk) as lock:
        with worker(broker, "doomed"):
            save_record(confirming, actor=Actor.system("test"))
            wait_for(lambda: waiting_on_locks(), 10, "the worker to start evaluating")
        # SIGKILLed above, holding an unacknowledged task; wait out its visibility timeout.
        time.sleep(VISIBILITY_SECONDS + 1)
        with worker(broker, "restarted") as log:
            lock.rollback()  # the evaluation can proceed now
            wait_for(lambda: pira_alerts(patient), 15, "the redelivered task")
            time.sleep(1)
            assert "evaluate_patient" in log() and "succeeded" in log()
    assert pira_alerts(patient) == 1


def test_broker_down_at_save_time_then_the_sweep(broker, settings):
    patient, confirming = pira_patient()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # the broker is unreachable
    save_record(confirming, actor=Actor.system("test"))
    assert Visit.objects.filter(patient=patient).count() == 3
    settings.REDIS_URL = broker
    assert pira_alerts(patient) == 0
    with worker(broker, "w1"):
        tasks.sweep.delay()
        wait_for(lambda: pira_alerts(patient), 15, "the sweep to raise the alert")
    assert pira_alerts(patient) == 1


def test_two_workers_on_one_patient_raise_one_alert(broker):
    patient, confirming = pira_patient()
    # Set up directly: the two evaluations below are the only ones.
    confirming.save()
    with patient_locked(patient.pk) as lock, worker(broker, "w1") as w1, worker(broker, "w2") as w2:
        for _ in range(2):
            tasks.evaluate_patient.apply_async((patient.pk,))
        wait_for(lambda: waiting_on_locks() >= 2, 10, "both workers to start evaluating")
        lock.rollback()
        wait_for(lambda: pira_alerts(patient), 10, "the alert")
        wait_for(lambda: "succeeded" in w1() and "succeeded" in w2(), 10, "both evaluations")
    assert pira_alerts(patient) == 1

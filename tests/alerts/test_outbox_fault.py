"""A real Redis stopped while patients are written, and started again: every patient
written during the outage is evaluated within a minute of the restart, once (issue 15,
item 4). The broker here is a private redis-server on a free port, so that stopping it
leaves the machine's Redis alone; the worker runs Celery beat, whose drain finds the
evaluation requests the writes kept in the database."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from monitoring.models import Visit
from patients.actions import Actor, save_record
from patients.models import EvaluationRequest
from tests.alerts.test_worker import pira_alerts, pira_patient, wait_for, worker
from tests.conftest import require_postgres, require_redis

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A throw-away redis-server on 127.0.0.1:port, no persistence."""
    data = tempfile.TemporaryDirectory(prefix="redis-")
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            data.name,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _listening(port), 10, f"redis-server on {port}")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)
        data.cleanup()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def test_patients_written_while_redis_is_down_are_evaluated_after_it_returns(settings):
    require_postgres()
    require_redis()  # under CI=true a missing redis-server fails, not skips
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    settings.REDIS_URL = url  # the writes' enqueue goes to the private broker
    written = [pira_patient(f"O{n}") for n in range(4)]
    fast_drain = {"ALERT_OUTBOX_DRAIN_SECONDS": "1", "ALERT_OUTBOX_GRACE_SECONDS": "1"}
    with redis_server(port) as first:
        with worker(url, "outage", beat=True, env_extra=fast_drain) as log:
            first.terminate()
            first.wait(timeout=10)
            assert not _listening(port)
            for _, confirming in written:
                save_record(confirming, actor=Actor.system("test"))  # saved, not queued
            assert Visit.objects.filter(patient__in=[p for p, _ in written]).count() == 12
            assert EvaluationRequest.objects.count() == len(written)
            time.sleep(2)  # the outage lasts; nothing is evaluated meanwhile
            assert sum(pira_alerts(p) for p, _ in written) == 0
            with redis_server(port):
                restarted = time.monotonic()
                wait_for(
                    lambda: all(pira_alerts(p) for p, _ in written),
                    60,
                    "every patient written in the outage to be evaluated",
                )
                assert time.monotonic() - restarted < 60
                wait_for(lambda: not EvaluationRequest.objects.exists(), 10, "drained requests")
                time.sleep(3)  # further drains find nothing to do twice
                assert "drain_evaluation_requests" in log()
    assert [pira_alerts(p) for p, _ in written] == [1] * len(written)

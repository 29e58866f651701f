"""Benchmark the alert workers on the database of DATABASE_URL (PostgreSQL, demo cohort).

    python -m tools.bench.alerts [--workers 2] [--rate 20] [--seconds 30] [--sweeps 6]

1. Sweep: every patient, in batches, through `--workers` real `celery worker` processes;
   patients per second from the first batch queued to the last status stored, and the
   workers' CPU time. Sweep 1 on the database as found (on a fresh demo: every status and
   alert created); sweeps 2-4 the nightly sweeps of the next three days (every status
   rewritten, the closed calendar years kept; three, as a machine shared with other jobs
   varies by ±10 %); sweep 5 that night again (nothing changed); sweep 6 the first night
   of the next year (every window of every patient computed and written).
2. Latency under a steady write load: `--rate` audited writes per second for `--seconds`
   (an elevated serum NfL sample for a random patient, which raises a new NfL alert);
   latency is from the write's commit to the moment its alert is seen committed (polled
   every 10 ms), reported as p50 / p95 / max.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

from tools.bench import setup_django

setup_django()

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from alerts.models import Alert, Rule
from alerts.tasks import batches, queue_batches
from monitoring.models import NflSample
from mstrack.celery import worker_command
from outcomes.models import PatientStatus
from patients.actions import Actor, save_record
from patients.models import Patient

ROOT = Path(__file__).resolve().parents[2]


class Command(BaseCommand):
    help = "Sweep throughput and write-to-alert latency with real Celery workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--sweeps", type=int, default=6, help="full sweeps to time (1-6)")
        parser.add_argument("--batch", type=int, default=None)
        parser.add_argument("--rate", type=float, default=20.0, help="writes per second")
        parser.add_argument("--seconds", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql" or not settings.REDIS_URL:
            raise CommandError("needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics after a bulk demo load
        patients = Patient.objects.count()
        self.stdout.write(f"{patients} patients, {options['workers']} workers")
        with ExitStack() as stack:
            workers = [
                stack.enter_context(_Worker(f"bench{number}"))
                for number in range(options["workers"])
            ]
            today = timezone.localdate()
            night = "a new night: every status rewritten"
            sweeps = [
                ("as the database is found", today),
                (night, today + dt.timedelta(days=1)),
                (night, today + dt.timedelta(days=2)),
                (night, today + dt.timedelta(days=3)),
                ("that night again: nothing changed", today + dt.timedelta(days=3)),
                ("the first night of a year: every window computed", dt.date(today.year + 1, 1, 1)),
            ]
            for sweep, (what, as_of) in enumerate(sweeps[: options["sweeps"]], start=1):
                reference = _reference_loop()
                cpu = sum(w.cpu_seconds() for w in workers)
                database = _postgres_cpu_seconds()
                seconds = self._sweep(
                    patients, options["batch"] or settings.ALERT_SWEEP_BATCH, as_of
                )
                cpu = sum(w.cpu_seconds() for w in workers) - cpu
                database = _postgres_cpu_seconds() - database
                after = _reference_loop()
                # On a shared machine the wall-clock rate depends on what else runs; the
                # CPU time of the workers and of PostgreSQL says what the sweep costs.
                self.stdout.write(
                    f"sweep {sweep} on {as_of} ({what}): "
                    f"{patients} patients in {seconds:.1f} s = "
                    f"{patients / seconds:.0f} patients/s; workers used {cpu:.0f} CPU s "
                    f"({cpu / patients * 1e6:.0f} us per patient), PostgreSQL {database:.0f} "
                    f"CPU s ({database / patients * 1e6:.0f} us per patient); reference loop "
                    f"{reference:.2f} s before, {after:.2f} s after"
                )
            self._latency(options["rate"], options["seconds"])

    def _sweep(self, total: int, size: int, as_of: dt.date) -> float:
        started = time.perf_counter()
        since = timezone.now()
        queue_batches(batches(size), as_of)
        # Wait on the broker, not the database: counting fresh statuses scans the whole
        # status table (hundreds of MB after a few sweeps), which five times a second took
        # the CPU the workers and PostgreSQL were being measured on. Tasks are acknowledged
        # after they commit, so no message queued or unacknowledged means every batch is
        # stored; the count then only confirms it.
        broker = redis.Redis.from_url(settings.REDIS_URL)
        while any(broker.llen(key) for key in broker.scan_iter("celery*")) or broker.hlen(
            "unacked"
        ):
            time.sleep(0.05)
        while PatientStatus.objects.filter(computed_at__gte=since).count() < total:
            time.sleep(0.2)
        return time.perf_counter() - started

    def _latency(self, rate: float, seconds: float) -> None:
        today = timezone.localdate()
        # One write per patient, on patients without a sample today (from an earlier run):
        # the NfL rule judges the latest sample, and of two on one day only one is judged.
        ids = list(
            Patient.objects.exclude(
                pk__in=NflSample.objects.filter(date=today).values("patient_id")
            ).values_list("pk", flat=True)
        )
        chosen = random.sample(ids, int(rate * seconds) + 1)
        patients = iter(Patient.objects.filter(pk__in=chosen))
        actor = Actor.system("bench")
        pending: dict[str, float] = {}  # sample public id -> commit time
        waiting: set[int] = set()  # their patients
        phase_start = timezone.now()
        latencies: list[float] = []
        started = time.perf_counter()
        next_write = started
        writes = 0
        while time.perf_counter() - started < seconds or pending:
            now = time.perf_counter()
            if now >= next_write and now - started < seconds:
                patient = next(patients)
                sample = NflSample(
                    patient=patient,
                    date=today,
                    matrix="serum",
                    value=Decimal("60"),
                    assay="simoa",
                )
                save_record(sample, actor=actor)
                pending[str(sample.public_id)] = time.perf_counter()
                waiting.add(patient.pk)
                writes += 1
                next_write += 1 / rate
            if pending:
                # Only the patients still waiting: reading every recent NfL alert (the sweep
                # just raised thousands) made each poll slow enough to cap the write rate.
                for patient_id, evidence in Alert.objects.filter(
                    rule=Rule.NFL, raised_at__gte=phase_start, patient_id__in=waiting
                ).values_list("patient_id", "evidence"):
                    sample_id = evidence["records"][-1]["id"]
                    if sample_id in pending:
                        latencies.append(time.perf_counter() - pending.pop(sample_id))
                        waiting.discard(patient_id)
            if time.perf_counter() - started > seconds + 60:
                self.stdout.write(f"{len(pending)} writes without an alert after 60 s")
                break
            time.sleep(0.01)
        latencies.sort()
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
        self.stdout.write(
            f"latency at {writes / seconds:.1f} writes/s for {seconds:.0f} s ({writes} writes): "
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )


class _Worker:
    """A `celery worker --pool=solo` subprocess on this database and broker."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> _Worker:
        self.process = subprocess.Popen(
            worker_command(self.name, loglevel="WARNING"),
            cwd=ROOT,
            env={**os.environ, "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
        )
        time.sleep(3)  # worker start-up; a task queued earlier simply waits for it
        return self

    def cpu_seconds(self) -> float:
        assert self.process is not None
        return _cpu_seconds(Path(f"/proc/{self.process.pid}/stat"))

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=30)


def _reference_loop() -> float:
    """Seconds of a fixed pure-Python loop, timed while the workers are idle, before and
    after each night: this machine's speed varies with its host's other tenants (0.38 to
    0.98 s seen, on an idle VM), and every figure above varies with it."""
    started = time.perf_counter()
    sum(i * i for i in range(10**7))
    return time.perf_counter() - started


def _cpu_seconds(stat: Path) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_seconds() -> float:
    """CPU time of the local PostgreSQL server so far: every live process, and the ended
    ones (autovacuum workers, earlier backends) through the postmaster's children time."""
    processes = {}  # pid -> (parent pid, own ticks, ended children's ticks)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended between listing and reading
        name, rest = text.split(" (", 1)[1].rsplit(")", 1)
        if name == "postgres":
            f = rest.split()
            processes[int(stat.parent.name)] = (
                int(f[1]),
                int(f[11]) + int(f[12]),
                int(f[13]) + int(f[14]),
            )
    ticks = sum(own for _, own, _ in processes.values())
    ticks += sum(ended for parent, _, ended in processes.values() if parent not in processes)
    return ticks / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    Command().run_from_argv([sys.argv[0], "bench_alerts", *sys.argv[1:]])

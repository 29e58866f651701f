"""One ordinary night of the sweep for a few patients, in one process: the worker's cost per
patient without Celery, PostgreSQL's share or a shared machine's noise.

    python -m tools.bench.night [--patients 200] [--offset 61000] [--repeat 3]
    python -m tools.bench.night --instructions     # the same under valgrind (callgrind)

The patients are evaluated (and committed) on the night before, by this code, so that the
measured night keeps the closed calendar years as a real one does; then that night is
evaluated `--repeat` times, each in a transaction rolled back, and the least CPU time per
patient is printed. `--instructions` stores the night before, then runs that twice under
callgrind (with no measured night, then with two) and prints the difference per patient:
instructions executed are the same from run to run whatever else the machine does, where CPU
time on this 2-core VM varies by a third.
Needs a seeded, PostgreSQL or SQLite database (DATABASE_URL) and, for `--instructions`,
valgrind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time

from tools.bench import setup_django

NIGHT_OFFSET_DAYS = 30  # after any night a sweep benchmark stored


class _RolledBack(Exception):
    pass


def measured_night(today: dt.date) -> dt.date:
    """The night measured: `NIGHT_OFFSET_DAYS` on, or a day later when that is the 1st of
    January, whose night before is in another year (a new year recomputes every calendar
    year once; an ordinary night keeps them)."""
    night = today + dt.timedelta(days=NIGHT_OFFSET_DAYS)
    return night + dt.timedelta(days=1) if (night.month, night.day) == (1, 1) else night


def _measure(patients: int, offset: int, repeat: int) -> float | None:
    setup_django()
    from django.db import transaction
    from django.utils import timezone

    from alerts.evaluation import evaluate
    from patients.models import Patient

    ids = list(
        Patient.objects.order_by("pk").values_list("pk", flat=True)[offset : offset + patients]
    )
    if len(ids) < patients:
        raise SystemExit(f"fewer than {offset + patients} patients: seed more or lower --offset")

    night = measured_night(timezone.localdate())
    evaluate(ids, as_of=night - dt.timedelta(days=1))
    spent = []
    for _ in range(repeat + 1):  # the first is a warm-up: caches, prepared statements
        started = time.process_time()
        try:
            with transaction.atomic():
                evaluate(ids, as_of=night)
                raise _RolledBack
        except _RolledBack:
            pass
        spent.append(time.process_time() - started)
    return min(spent[1:]) / len(ids) if repeat else None


def _instructions(argv: list[str], patients: int) -> int:
    """Instructions per patient of one measured night, by callgrind."""
    # The night before is stored first, outside valgrind: the run that stored it would
    # otherwise count computing it whole, and the next one only its same-day re-evaluation.
    subprocess.run(
        [sys.executable, "-m", "tools.bench.night", *argv, "--repeat", "0"],
        capture_output=True,
        check=True,
    )
    counts = []
    for repeat in (0, 2):
        with tempfile.TemporaryDirectory() as out:
            run = subprocess.run(
                [
                    "valgrind",
                    "--tool=callgrind",
                    f"--callgrind-out-file={out}/callgrind.out",
                    sys.executable,
                    "-m",
                    "tools.bench.night",
                    *argv,
                    "--repeat",
                    str(repeat),
                ],
                env={**os.environ, "PYTHONHASHSEED": "0"},
                capture_output=True,
                text=True,
                check=True,
            )
        found = re.search(r"Collected : ([\d,]+)", run.stderr)
        if not found:
            raise SystemExit(f"no instruction count from valgrind:\n{run.stderr[-2000:]}")
        counts.append(int(found.group(1).replace(",", "")))
    return (counts[1] - counts[0]) // (2 * patients)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--offset", type=int, default=61000, help="patients skipped, by id")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--instructions", action="store_true")
    options = parser.parse_args()
    if options.instructions:
        argv = ["--patients", str(options.patients), "--offset", str(options.offset)]
        per_patient = _instructions(argv, options.patients)
        print(f"{options.patients} patients, one night: {per_patient:,} instructions per patient")
        return
    seconds = _measure(options.patients, options.offset, options.repeat)
    if seconds is not None:
        print(
            f"{options.patients} patients, one night: {seconds * 1e6:.0f} us CPU per patient "
            f"(least of {options.repeat})"
        )


if __name__ == "__main__":
    main()

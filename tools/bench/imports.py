"""Time `manage.py import` of a generated clinic history against seed_demo's COPY load of
the same synthetic cohort (docs/benchmarks.md). Needs a database without the sites
BENCHIMP and DEMO's patients beyond what it adds; run it on a throw-away database."""

from __future__ import annotations

import csv
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.bench import setup_django

setup_django()

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from patients.demo import demo_patient
from patients.models import Patient, Site
from registry.imports import KINDS

SITE = "BENCHIMP"
SOURCE = "bench"
FILES = {  # kind: (the demo's list, columns besides the source and patient columns)
    "therapy-courses": ("courses", ("therapy", "start", "end", "stop_reason")),
    "visits": ("visits", ("date", "edss", "t25fw", "nhpt", "sdmt", "scheduled")),
    "relapses": ("relapses", ("onset", "end", "severity", "steroids", "confirmed_by_clinician")),
    "mri-scans": (
        "scans",
        ("date", "new_t2", "gd_enhancing", "total_t2", "pbvc", "field_strength"),
    ),
    "nfl-samples": ("nfl", ("date", "matrix", "value", "assay", "lab")),
    "lab-results": (
        "labs",
        ("analyte", "date", "value", "unit", "text", "lower_limit", "upper_limit", "lab"),
    ),
    "adverse-events": (
        "adverse_events",
        ("date", "term", "serious", "suspected_therapy", "outcome"),
    ),
    "pregnancies": ("pregnancies", ("start", "due_date", "end", "outcome", "therapy_action")),
    "comorbidities": ("comorbidities", ("condition", "code", "onset", "resolved", "notes")),
}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def write_files(folder: Path, patients: int, seed: int) -> dict[str, Path]:
    """The synthetic cohort of seed_demo as one CSV file per record kind."""
    rng = random.Random(seed)
    today = timezone.localdate()
    paths = {kind: folder / f"{kind}.csv" for kind in ["patients", *FILES]}
    handles = {kind: path.open("w", newline="") for kind, path in paths.items()}
    writers = {kind: csv.writer(handle) for kind, handle in handles.items()}
    writers["patients"].writerow(KINDS["patients"].columns[:2] + KINDS["patients"].fields)
    for kind, (_, columns) in FILES.items():
        writers[kind].writerow(["source_system", "source_id", "patient_source_id", *columns])
    for number in range(1, patients + 1):
        p = demo_patient(rng, number, today)
        pid = f"P{number}"
        writers["patients"].writerow(
            [
                *(SOURCE, pid, p.mrn, p.display_name, p.birth_date, p.sex, p.phenotype),
                *(p.symptom_onset, p.diagnosis_date),
            ]
        )
        for kind, (attribute, columns) in FILES.items():
            for index, record in enumerate(getattr(p, attribute)):
                writers[kind].writerow(
                    [SOURCE, f"{pid}-{index}", pid, *(_text(record.get(c)) for c in columns)]
                )
    for handle in handles.values():
        handle.close()
    return paths


def _rows(path: Path) -> int:
    with path.open() as handle:
        return sum(1 for _ in handle) - 1


class Command(BaseCommand):
    help = "Time the import of a generated history against seed_demo's COPY load."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--keep", help="write the generated files into this folder")

    def handle(self, *args: Any, **options: Any) -> None:
        if Site.objects.filter(code=SITE).exists():
            raise CommandError(f"site {SITE} exists: run the benchmark on a fresh database")
        Site.objects.create(code=SITE, name="Import benchmark")
        count = options["patients"]
        with tempfile.TemporaryDirectory() as temporary:
            folder = Path(options["keep"] or temporary)
            folder.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            paths = write_files(folder, count, options["seed"])
            self.stdout.write(
                f"files of {count} patients written in {time.perf_counter() - started:.1f} s"
            )
            total_rows = 0
            total_seconds = 0.0
            for kind, path in paths.items():
                rows = _rows(path)
                started = time.perf_counter()
                call_command("import", str(path), kind=kind, site=SITE, stdout=self.stdout)
                seconds = time.perf_counter() - started
                total_rows += rows
                total_seconds += seconds
                self.stdout.write(
                    f"import {kind}: {rows} rows in {seconds:.1f} s ({rows / seconds:.0f} rows/s)"
                )
            self.stdout.write(
                f"import, all files: {total_rows} rows in {total_seconds:.1f} s "
                f"({total_rows / total_seconds:.0f} rows/s; {connection.vendor})"
            )
            started = time.perf_counter()
            call_command(
                "import",
                *[str(p) for p in paths.values()][:1],
                kind="patients",
                site=SITE,
                stdout=self.stdout,
            )
            self.stdout.write(
                f"re-import of patients (nothing changes): {time.perf_counter() - started:.1f} s"
            )
        before = Patient.objects.count()
        started = time.perf_counter()
        call_command("seed_demo", patients=count, seed=options["seed"], stdout=self.stdout)
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"COPY (seed_demo) of the same cohort: {Patient.objects.count() - before} patients "
            f"in {seconds:.1f} s; import/COPY time: {total_seconds / seconds:.1f}x"
        )


if __name__ == "__main__":
    Command().run_from_argv([sys.argv[0], "bench_import", *sys.argv[1:]])

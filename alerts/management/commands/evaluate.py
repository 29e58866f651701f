"""Evaluate patients now: `evaluate --all` (with a progress bar) or `evaluate <public id>…`.

In this process by default; with `--queue` the batches go to the Celery workers (the nightly
sweep's path) and the bar follows the statuses they store.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from alerts.evaluation import evaluate
from alerts.notifications import notify
from alerts.tasks import batches, queue_batches
from outcomes.models import PatientStatus
from patients.models import Patient


class Command(BaseCommand):
    help = "Recompute the treat-to-target status and alerts of some or all patients."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("patients", nargs="*", help="patient public ids")
        parser.add_argument("--all", action="store_true", help="every patient")
        parser.add_argument("--batch", type=int, default=None, help="patients per batch")
        parser.add_argument(
            "--queue", action="store_true", help="send the batches to the Celery workers"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] is not None and options["batch"] < 1:
            raise CommandError(f"--batch must be at least 1, not {options['batch']}")
        if options["all"] and options["patients"]:
            raise CommandError("name patients by public id or give --all, not both")
        size = options["batch"] or settings.ALERT_SWEEP_BATCH
        # One date for the whole run, as for the nightly sweep, even if it passes midnight.
        as_of = timezone.localdate()
        if options["all"]:
            work = batches(size)
        elif options["patients"]:
            ids = self._patient_ids(options["patients"])
            work = [ids[i : i + size] for i in range(0, len(ids), size)]
        else:
            raise CommandError("name patients by public id, or --all")
        total = sum(map(len, work))
        started = time.perf_counter()
        if options["queue"]:
            self._queue(work, total, as_of)
            summary = ""
        else:
            raised = resolved = 0
            with tqdm(total=total, unit="patient", desc="evaluate", file=self.stderr) as bar:
                for batch in work:
                    outcome = evaluate(batch, as_of=as_of)
                    notify(outcome.to_notify)
                    raised += len(outcome.raised)
                    resolved += len(outcome.resolved)
                    bar.update(len(batch))
            summary = f"; {raised} alerts raised, {resolved} resolved"
        seconds = time.perf_counter() - started
        rate = total / seconds if seconds else 0
        self.stdout.write(f"Evaluated {total} patients in {seconds:.1f} s ({rate:.0f}/s){summary}.")

    @staticmethod
    def _patient_ids(given: list[str]) -> list[int]:
        """The primary keys of the patients named by public id; a CommandError naming every
        id that is not a UUID or not a patient."""
        public_ids = {}
        for text in given:
            try:
                public_ids[uuid.UUID(text)] = text
            except ValueError:
                raise CommandError(f"not a patient public id (a UUID): {text!r}") from None
        found = dict(
            Patient.objects.filter(public_id__in=list(public_ids)).values_list("public_id", "pk")
        )
        unknown = [text for public_id, text in public_ids.items() if public_id not in found]
        if unknown:
            raise CommandError(f"unknown patient public id: {', '.join(unknown)}")
        return sorted(found.values())

    def _queue(self, work: list[list[int]], total: int, as_of: dt.date) -> None:
        since = timezone.now()
        queue_batches(work, as_of)
        done = 0
        with tqdm(total=total, unit="patient", desc="workers", file=self.stderr) as bar:
            while done < total:
                time.sleep(0.5)
                now_done = PatientStatus.objects.filter(computed_at__gte=since).count()
                bar.update(now_done - done)
                done = now_done

"""Time the clinic's outcome report on the seeded database: its computation (as a worker
runs it), the process's memory peak, and the outcomes page and API reading it (p50/p95).

Run it alone on an idle machine (`make bench-outcomes`); the figures go to
docs/benchmarks.md with the host's speed beside them.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from typing import Any

from tools.bench import setup_django

setup_django()

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from monitoring.clinical.cohort import Filters
from outcomes import cohort
from outcomes.models import CohortReport
from outcomes.tasks import compute_report
from patients.models import Patient
from patients.policy import Action, sites_where


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


class Command(BaseCommand):
    help = "Time the outcome report's computation, memory peak and page/API read (p50/p95)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", default="demo-neurologist", help="whose sites")
        parser.add_argument("--requests", type=int, default=50, help="page and API reads")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}: run seed_demo first")
        sites = sites_where(user, Action.VIEW)
        key = cohort.sites_key(sites)
        patients = cohort.patients_of(sites).count()
        if not patients:
            raise CommandError(f"{user} sees no patient: run seed_demo first")
        self.stdout.write(f"{patients} patients of sites {key} (of {Patient.objects.count()})")

        before = _peak_mb()
        started = time.perf_counter()
        day = timezone.localdate()
        everyone = cohort.contributions(sites, as_of=day)
        assessed = time.perf_counter()
        payload = cohort.report(everyone, Filters(), as_of=day)
        counted = time.perf_counter()
        self.stdout.write(
            f"computation: {counted - started:.1f} s (records and engine "
            f"{assessed - started:.1f} s, {1e6 * (assessed - started) / patients:.0f} us per "
            f"patient; statistics {counted - assessed:.2f} s); {len(payload['tables'])} tables, "
            f"{len(payload['curves'])} curves"
        )
        self.stdout.write(f"memory peak: {_peak_mb():.0f} MB (RSS; {before:.0f} MB before)")
        del everyone

        CohortReport.objects.filter(sites=key, filters_key="").delete()
        started = time.perf_counter()
        compute_report(key, cohort.filters_json(Filters()))
        self.stdout.write(f"as the worker stores it: {time.perf_counter() - started:.1f} s")

        # Static file URLs without a collectstatic manifest: the page's own time is measured.
        storages = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(
            ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False, STORAGES=storages
        ):
            client = Client()
            client.force_login(user)
            self.stdout.write(f"{'read':<16}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
            for name, url in (("outcomes page", "/outcomes/"), ("API", "/api/v1/outcomes/")):
                times = []
                for _ in range(options["requests"]):
                    t0 = time.perf_counter()
                    response = client.get(url)
                    times.append(1000 * (time.perf_counter() - t0))
                    if response.status_code != 200:
                        raise CommandError(f"{url}: {response.status_code}")
                times.sort()
                p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
                self.stdout.write(
                    f"{name:<16}{statistics.median(times):>9.1f}{p95:>9.1f}{times[-1]:>9.1f}"
                )


if __name__ == "__main__":
    Command().run_from_argv([sys.argv[0], "bench_outcomes", *sys.argv[1:]])

"""Server time of the clinic pages: the dashboard, a patient page and the alert inbox.

Requests go through the whole Django stack in this process (middleware, views, templates,
database) without a network hop, so the figures are the server's own time.

    python -m tools.bench.pages [--requests 100] [--user demo-neurologist] [--seed 1]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from tools.bench import setup_django

setup_django()

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

import mstrack.wsgi  # noqa: F401  (as a server loads the project: views loaded, then frozen)
from patients.models import Patient


class Command(BaseCommand):
    help = "Time the dashboard, patient page and inbox (p50/p95 server time, queries)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, default=100, help="per page (default 100)")
        parser.add_argument("--user", default="demo-neurologist")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}: run seed_demo first")
        patients = list(Patient.objects.visible_to(user).values_list("public_id", flat=True))
        if not patients:
            raise CommandError(f"{options['user']} sees no patient: run seed_demo first")
        rng = random.Random(options["seed"])
        pages = max(1, len(patients) // 50)
        urls: dict[str, Callable[[], str]] = {
            "dashboard": lambda: f"/dashboard/?page={rng.randint(1, min(pages, 20))}",
            "dashboard, filtered": lambda: rng.choice(
                [
                    "/dashboard/?neda3=not_met",
                    "/dashboard/?alert=any",
                    "/dashboard/?therapy=ocrelizumab",
                ]
            ),
            "dashboard, sorted": lambda: (
                "/dashboard/?sort="
                + rng.choice(["edss", "-last_visit", "next_due", "age", "therapy", "-concern"])
            ),
            "dashboard, search": lambda: rng.choice(
                ["/dashboard/?q=muller", "/dashboard/?q=anna+smith", "/dashboard/?q=DEMO00004"]
            ),
            "patient page": lambda: f"/patients/{rng.choice(patients)}/",
            "inbox": lambda: f"/alerts/?page={rng.randint(1, 5)}",
            "inbox, filtered": lambda: rng.choice(
                ["/alerts/?severity=high", "/alerts/?rule=nfl", "/alerts/?patient=muller"]
            ),
        }
        self.stdout.write(
            f"{len(patients)} patients visible to {user}; {options['requests']} requests per page"
        )
        self.stdout.write(f"{'page':<22}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'queries':>9}")
        with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
            client = Client()
            client.force_login(user)
            for name, url in urls.items():
                for _ in range(3):  # warm caches and connections
                    client.get(url())
                times, queries = [], set()
                for _ in range(options["requests"]):
                    with CaptureQueriesContext(connection) as captured:
                        start = time.perf_counter()
                        response = client.get(url())
                        times.append((time.perf_counter() - start) * 1000)
                    if response.status_code != 200:
                        raise CommandError(f"{name}: HTTP {response.status_code}")
                    queries.add(len(captured))
                times.sort()
                p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
                self.stdout.write(
                    f"{name:<22}{statistics.median(times):>9.1f}{p95:>9.1f}{times[-1]:>9.1f}"
                    f"{'/'.join(map(str, sorted(queries))):>9}"
                )


if __name__ == "__main__":
    Command().run_from_argv([sys.argv[0], "bench_pages", *sys.argv[1:]])

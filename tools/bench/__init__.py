"""Every benchmark, each behind a `make bench-*` target; figures in docs/benchmarks.md.

python -m tools.bench.engine   the progression engine and the CSV command (no database)
python -m tools.bench.api      the REST API behind gunicorn (PostgreSQL)
python -m tools.bench.pages    server time of the clinic pages
python -m tools.bench.alerts   sweep rate and write-to-alert latency with Celery workers
python -m tools.bench.night    one night of the sweep in one process: CPU and instructions
"""

from __future__ import annotations

import os


def setup_django() -> None:
    """Django set up for a benchmark run as a script (`python -m tools.bench...`)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mstrack.settings")
    import django

    django.setup()

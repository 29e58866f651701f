"""The Celery application. Without REDIS_URL tasks run eagerly in the web process."""

from __future__ import annotations

import os
import sys

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mstrack.settings")

app = Celery("mstrack")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def worker_command(name: str, *, loglevel: str = "INFO") -> list[str]:
    """A one-process `celery worker` as the fault tests and `tools/bench/alerts.py` start it:
    solo pool (its CPU time is the process's own), no gossip, mingle or heartbeat chatter."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "mstrack",
        "worker",
        "--pool=solo",
        f"--hostname={name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--loglevel={loglevel}",
    ]

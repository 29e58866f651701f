"""A real gunicorn on the pytest test database (PostgreSQL), for tests that talk HTTP to
the API the way a hospital's system does."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import database_url, require_postgres

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nobody holds, at random below Linux's ephemeral range (32768+), where outgoing
    connections take theirs; not 8000/8765, where people run servers."""
    while True:
        port = random.randint(20000, 32767)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@contextmanager
def gunicorn(**env: str) -> Iterator[str]:
    """Yields the server's base URL; the server sees the test's committed rows (the test
    must use a transactional database) and is killed on the way out. Bulk exports it runs
    (eagerly: no broker) go to a temporary directory."""
    require_postgres()
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log")
    exports = tempfile.TemporaryDirectory(prefix="fhir-exports-")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mstrack.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "CONN_MAX_AGE": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "REDIS_URL": "",
            "FHIR_EXPORT_DIR": exports.name,
            **env,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/api/schema/", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(Path(log.name).read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        exports.cleanup()

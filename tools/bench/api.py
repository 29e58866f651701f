"""REST API benchmark on PostgreSQL behind gunicorn (2 workers).

1. Visits per second through `POST /api/v1/visits/bulk/` (1,000 a request, two clients),
   against `COPY` of the same number of rows (mstrack.db.load_rows, the ceiling).
2. p95 latency of single `POST /api/v1/visits/` and `GET /api/v1/status/{patient id}/`
   while one writing and one reading client keep both workers busy (closed loop).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mstrack_bench make bench-api

The database is migrated and gets a BENCH site; earlier BENCH rows are left in place.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from tools.bench import setup_django

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("BENCH_PORT", "8765"))
PATIENTS = 200
BATCH = 1000
BATCHES = int(os.environ.get("BENCH_BATCHES", "20"))
LATENCY_REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))

os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-deployments-9f3b2c")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("API_TOKEN_RATE", "1000000/minute")
os.environ.setdefault("LOG_LEVEL", "WARNING")
setup_django()

from django.core.management import call_command
from django.db import connection, transaction

from alerts.evaluation import evaluate
from api.models import IntegrationToken
from monitoring.models import Visit
from mstrack.db import load_rows
from patients.models import Patient, Site


def prepare() -> tuple[str, list[Patient]]:
    call_command("migrate", verbosity=0)
    site, _ = Site.objects.get_or_create(code="BENCH", defaults={"name": "Benchmark"})
    IntegrationToken.objects.filter(site=site).delete()
    _, token = IntegrationToken.issue(site=site, name=f"bench-{time.time_ns()}", days=1)
    run = time.time_ns()
    patients = Patient.objects.bulk_create(
        Patient(site=site, mrn=f"B{run}-{i}", birth_date=dt.date(1970, 1, 1), phenotype="RRMS")
        for i in range(PATIENTS)
    )
    return token, patients


def visit_rows(patients: list[Patient], count: int, first_day: dt.date) -> list[dict]:
    """`count` visits spread over the patients, one per patient per day."""
    return [
        {
            "patient": patients[i % PATIENTS],
            "date": first_day + dt.timedelta(days=i // PATIENTS),
            "edss": random.choice(["1.0", "2.0", "2.5", "3.5", "6.0"]),
            "sdmt": random.randint(20, 70),
        }
        for i in range(count)
    ]


def as_json(row: dict) -> dict:
    return {**row, "patient": str(row["patient"].public_id), "date": str(row["date"])}


class Client:
    def __init__(self, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, body: object = None) -> tuple[int, float]:
        start = time.perf_counter()
        self.connection.request(
            method, path, body=None if body is None else json.dumps(body), headers=self.headers
        )
        response = self.connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - start


def run_clients(jobs: list) -> float:
    threads = [threading.Thread(target=job) for job in jobs]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def bench_bulk(token: str, patients: list[Patient]) -> float:
    rows = visit_rows(patients, BATCH * BATCHES, dt.date(1990, 1, 1))
    batches = [[as_json(r) for r in rows[i : i + BATCH]] for i in range(0, len(rows), BATCH)]
    failures: list[int] = []

    def client(part: list[list[dict]]) -> None:
        http_client = Client(token)
        for batch in part:
            code, _ = http_client.request("POST", "/api/v1/visits/bulk/", {"records": batch})
            if code != 201:
                failures.append(code)

    seconds = run_clients([lambda p=batches[k::2]: client(p) for k in range(2)])
    if failures:
        raise SystemExit(f"bulk requests failed: {failures[:5]}")
    return len(rows) / seconds


def bench_copy(patients: list[Patient]) -> float:
    rows = visit_rows(patients, BATCH * BATCHES, dt.date(2000, 1, 1))
    plain = [
        {"patient_id": r["patient"].pk, "date": r["date"], "edss": r["edss"], "sdmt": r["sdmt"]}
        for r in rows
    ]
    start = time.perf_counter()
    with transaction.atomic():
        load_rows(Visit, plain)
    return len(rows) / (time.perf_counter() - start)


def bench_latency(token: str, patients: list[Patient]) -> tuple[list[float], list[float]]:
    post_times: list[float] = []
    get_times: list[float] = []
    days = iter(range(10**6))
    lock = threading.Lock()

    def writer() -> None:
        http_client = Client(token)
        for _ in range(LATENCY_REQUESTS):
            with lock:
                n = next(days)
            row = {
                "patient": patients[n % PATIENTS],
                "date": dt.date(2010, 1, 1) + dt.timedelta(days=n // PATIENTS),
                "edss": "2.0",
            }
            code, seconds = http_client.request("POST", "/api/v1/visits/", as_json(row))
            assert code == 201, code
            post_times.append(seconds)

    def reader() -> None:
        http_client = Client(token)
        for _ in range(LATENCY_REQUESTS):
            patient = random.choice(patients)
            code, seconds = http_client.request("GET", f"/api/v1/status/{patient.public_id}/")
            assert code == 200, code
            get_times.append(seconds)

    run_clients([writer, reader])
    return post_times, get_times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1] * 1000


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("set DATABASE_URL to a PostgreSQL database")
    token, patients = prepare()
    connection.close()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mstrack.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    try:
        for _ in range(50):
            try:
                Client(token).request("GET", "/api/v1/visits/?page_size=1")
                break
            except OSError:
                time.sleep(0.2)
        bulk = bench_bulk(token, patients)
        copy = bench_copy(patients)
        # The statuses the readers ask for, as the workers would have stored them.
        evaluate([patient.pk for patient in patients])
        connection.close()
        post_times, get_times = bench_latency(token, patients)
    finally:
        server.terminate()
        server.wait()
    print(f"bulk POST   {bulk:10,.0f} visits/s ({BATCHES} requests of {BATCH}, 2 clients)")
    print(f"COPY        {copy:10,.0f} visits/s (the same number of rows)")
    print(f"bulk / COPY {bulk / copy:10.1%}")
    for label, times in (("single POST", post_times), ("GET status ", get_times)):
        median = statistics.median(times) * 1000
        print(
            f"{label} p95 {p95(times):6.1f} ms, median {median:.1f} ms ({len(times)} requests,"
            " 1 writer and 1 reader at once)"
        )


if __name__ == "__main__":
    main()

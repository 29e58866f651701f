"""`manage.py progression` end to end, as a user runs it: no database, no settings."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "tests" / "clinical" / "data" / "msprog-toy"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "manage.py", "progression", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _toy_visits(tmp_path: Path) -> Path:
    visits = tmp_path / "visits.csv"
    with (TOY / "toydata_visits.csv").open() as source, visits.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["patient", "date", "value"])
        for row in csv.DictReader(source):
            writer.writerow([row["id"], row["date"], row["EDSS"]])
    return visits


def test_progression_command_writes_events_without_database_or_settings(tmp_path):
    relapses = tmp_path / "relapses.csv"
    with (TOY / "toydata_relapses.csv").open() as source, relapses.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["patient", "date"])
        for row in csv.DictReader(source):
            writer.writerow([row["id"], row["date"]])
    events = tmp_path / "events.csv"
    done = run(str(_toy_visits(tmp_path)), "--relapses", str(relapses), "--out", str(events))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(events.open()))
    # Service defaults (roving, multiple, muller2023): the expected G03 events of the toy data.
    expected = list(
        csv.DictReader((TOY / "expected" / "G03_edss_multiple_roving_rawpira_results.csv").open())
    )
    assert [(r["patient"], r["onset_date"], r["cdw_type"]) for r in rows] == [
        (e["id"], e["date"], e["CDW_type"] if e["event_type"] == "CDW" else "")
        for e in expected
        if e["event_type"]
    ]


def test_bad_edss_exits_2_naming_file_and_line(tmp_path):
    visits = tmp_path / "visits.csv"
    visits.write_text("patient,date,value\n1,2020-01-01,2.0\n1,2020-06-01,3.25\n")
    out = tmp_path / "events.csv"
    done = run(str(visits), "--out", str(out))
    assert done.returncode == 2
    assert f"{visits}:3" in done.stderr and "3.25" in done.stderr
    assert not out.exists()

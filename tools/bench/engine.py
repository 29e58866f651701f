"""Speed of the progression engine on a synthetic cohort, one core.

    python -m tools.bench.engine --patients 100000        # engine alone
    python -m tools.bench.engine --command 20000          # whole CSV command
    python -m tools.bench.engine --command 20000 --manage  # ... via manage.py

The cohort is deterministic (seeded): ~17 visits per patient every 1-6 months, EDSS steps
with drift and noise, relapses for a third of the patients, a few unconfirmable visits.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from monitoring.clinical import thresholds as t
from monitoring.clinical.definitions import definition
from monitoring.clinical.progression import Compiled, search

EDSS_STEPS = [float(v) for v in t.EDSS_VALUES]
START = dt.date(2012, 1, 1).toordinal()

Patient = tuple[list[int], list[float], list[bool] | None, list[int]]


def cohort(patients: int, seed: int = 20240601, visits: int = 17) -> list[Patient]:
    rng = random.Random(seed)
    out: list[Patient] = []
    for _ in range(patients):
        n = max(2, visits + rng.randint(-3, 3))
        day = START + rng.randint(0, 2000)
        days = []
        for _ in range(n):
            days.append(day)
            day += rng.randint(30, 183)
        rel = sorted({rng.randint(days[0] - 20, days[-1]) for _ in range(rng.choice((0, 0, 1, 2)))})
        level = float(rng.randint(0, 12))
        drift = rng.choice((0.0, 0.0, 0.05, 0.1))
        values = []
        for d in days:
            level += drift + rng.gauss(0, 0.2)
            bump = 2 if any(0 <= d - r <= 90 for r in rel) else 0
            i = round(level) + rng.choice((0, 0, 0, 1, -1)) + bump
            values.append(EDSS_STEPS[max(0, min(len(EDSS_STEPS) - 1, i))])
        confirmable = [rng.random() > 0.05 for _ in days] if rng.random() < 0.2 else None
        out.append((days, values, confirmable, rel))
    return out


def bench_engine(patients: int, repeat: int = 3) -> tuple[float, float]:
    """Best of `repeat` runs: (wall, CPU) microseconds per patient."""
    data = cohort(patients)
    c = Compiled(definition())
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        for days, values, confirmable, rel in data:
            search(days, values, confirmable, rel, c)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall / patients * 1e6, best_cpu / patients * 1e6


def write_csv(directory: Path, patients: int) -> tuple[Path, Path]:
    visits_path = directory / "visits.csv"
    relapses_path = directory / "relapses.csv"
    iso: dict[int, str] = {}

    def date(d: int) -> str:
        s = iso.get(d)
        if s is None:
            s = iso[d] = dt.date.fromordinal(d).isoformat()
        return s

    with visits_path.open("w", newline="") as fv, relapses_path.open("w", newline="") as fr:
        wv = csv.writer(fv, lineterminator="\n")
        wr = csv.writer(fr, lineterminator="\n")
        wv.writerow(("patient", "date", "value", "confirmable"))
        wr.writerow(("patient", "date"))
        for k, (days, values, confirmable, rel) in enumerate(cohort(patients)):
            pid = f"P{k:06d}"
            conf = confirmable or [True] * len(days)
            for d, v, c in zip(days, values, conf, strict=True):
                wv.writerow((pid, date(d), f"{v:.1f}", 1 if c else 0))
            for r in rel:
                wr.writerow((pid, date(r)))
    return visits_path, relapses_path


def bench_command(patients: int, manage: bool, repeat: int = 3) -> tuple[float, float]:
    """Best of `repeat` runs of the whole command (a fresh process): (wall, CPU) µs/patient.

    CPU time (user + system of the child) is what one idle core would take; wall time is
    shown beside it because a busy machine inflates it.
    """
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as tmp:
        visits, relapses = write_csv(Path(tmp), patients)
        out = Path(tmp) / "events.csv"
        if manage:
            cmd = [sys.executable, str(root / "manage.py"), "progression"]
        else:
            cmd = [sys.executable, "-m", "monitoring.progression_cli"]
        cmd += [str(visits), "--relapses", str(relapses), "--out", str(out), "--quiet"]
        best_wall = best_cpu = float("inf")
        env = {**os.environ, "PYTHONPATH": str(root)}
        for _ in range(repeat):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            w0 = time.perf_counter()
            subprocess.run(cmd, cwd=root, check=True, env=env)
            wall = time.perf_counter() - w0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            best_wall = min(best_wall, wall)
            best_cpu = min(best_cpu, cpu)
    return best_wall / patients * 1e6, best_cpu / patients * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Speed of the progression engine (one core).")
    p.add_argument("--patients", type=int, default=100_000, help="engine-alone cohort size")
    p.add_argument("--command", type=int, metavar="N", help="time the whole command on N patients")
    p.add_argument("--manage", action="store_true", help="run the command through manage.py")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args(argv)
    if a.command:
        how = "manage.py progression" if a.manage else "python -m monitoring.progression_cli"
        wall, cpu = bench_command(a.command, a.manage, a.repeat)
        print(
            f"whole command ({how}), {a.command} patients: "
            f"{cpu:.1f} µs/patient CPU, {wall:.1f} µs/patient wall"
        )
    else:
        wall, cpu = bench_engine(a.patients, a.repeat)
        print(
            f"engine alone, {a.patients} patients: "
            f"{cpu:.1f} µs/patient CPU, {wall:.1f} µs/patient wall"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The benchmarks live in one place (`tools/bench/`) and every `make bench-*` target runs one
of them."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
from pathlib import Path

import pytest
from django.utils import timezone

from outcomes.models import PatientStatus
from tests import factories as f
from tools.bench import night

ROOT = Path(__file__).resolve().parents[1]


def _targets() -> dict[str, str]:
    """`make` target -> its recipe, for the bench targets."""
    text = (ROOT / "Makefile").read_text()
    return {
        name: body
        for name, body in re.findall(r"^(bench-[\w-]+):[^\n]*\n((?:\t[^\n]*\n)*)", text, re.M)
    }


def test_every_bench_target_runs_a_module_of_tools_bench() -> None:
    targets = _targets()
    assert set(targets) == {
        "bench-seed",
        "bench-pages",
        "bench-engine",
        "bench-api",
        "bench-alerts",
        "bench-night",
        "bench-import",
        "bench-outcomes",
        "bench-export",
    }
    for name, recipe in targets.items():
        if name == "bench-seed":  # loads the demo cohort the others measure
            continue
        modules = re.findall(r"\$\(PY\) -m ([\w.]+)", recipe)
        assert modules, f"{name} runs no module"
        for module in modules:
            assert module.startswith("tools.bench."), (name, module)
            assert importlib.util.find_spec(module) is not None, module


def test_no_benchmark_is_left_in_the_apps() -> None:
    leftovers = [
        str(path.relative_to(ROOT))
        for app in ("patients", "monitoring", "outcomes", "alerts", "api", "clinic", "registry")
        for path in (ROOT / app).rglob("*bench*.py")
    ]
    assert leftovers == []


def test_the_night_benchmark_measures_a_night_and_leaves_it_unstored(db) -> None:
    """`tools.bench.night` on a few patients: a CPU time per patient, the measured night
    rolled back (the statuses stay on the night before)."""
    site = f.make_site("NIGHT")
    patients = [f.make_patient(site, mrn=f"N{n}") for n in range(3)]
    for patient in patients:
        f.visit(patient, date=dt.date(2025, 3, 1)).save()
    seconds = night._measure(patients=3, offset=0, repeat=1)
    assert seconds is not None and seconds > 0
    stored = set(PatientStatus.objects.values_list("as_of", flat=True))
    assert stored == {night.measured_night(timezone.localdate()) - dt.timedelta(days=1)}


@pytest.mark.parametrize(
    ("today", "measured"),
    [
        (dt.date(2026, 11, 1), dt.date(2026, 12, 1)),
        (dt.date(2026, 12, 2), dt.date(2027, 1, 2)),  # not the 1st: its night before is 2027's
        (dt.date(2026, 12, 3), dt.date(2027, 1, 2)),
    ],
)
def test_the_measured_night_is_never_the_first_of_a_year(today, measured) -> None:
    assert night.measured_night(today) == measured

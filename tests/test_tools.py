"""The benchmarks live in one place (`tools/bench/`) and every `make bench-*` target runs one
of them."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

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

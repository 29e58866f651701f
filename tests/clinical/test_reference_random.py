"""The engine against pymsprog 1.0.7 itself, patient for patient, on random cohorts.

A few hundred synthetic patients (same generator as `tools/compare_reference.py`, which runs
thousands on every setting) under a handful of settings chosen to exercise different paths.
"""

from __future__ import annotations

import importlib.util
import sys
import zlib
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from monitoring.clinical.definitions import Definition, definition

PATIENTS = 150


def _harness() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "tools" / "compare_reference.py"
    spec = importlib.util.spec_from_file_location("compare_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


HARNESS = _harness()

SETTINGS: dict[str, Definition] = {
    "service-defaults": definition(),
    "fixed-first-worsening": definition(baseline="fixed", events="first-worsening"),
    "kappos2020-fixed-relapse-rebaseline": definition(
        "kappos2020", baseline="fixed", relapse_rebaseline=True
    ),
    "muller2025-first-pira-roving-84+168": definition(
        "muller2025",
        events="first-pira",
        confirm_days=[84, 168],
        confirm_tolerance=(0, float("inf")),
    ),
    "strict-sustained-168-no-intermediate": replace(
        definition("muller2023-strict"), require_sustained_days=168, check_intermediate=False
    ),
    "sdmt-roving-improvement-first": definition(
        outcome="sdmt", baseline="roving-improvement", events="first"
    ),
    "t25fw-cagol2022": definition("cagol2022", outcome="t25fw"),
}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_same_events_as_the_reference(name: str) -> None:
    d = SETTINGS[name]
    cohort = HARNESS.make_cohort(PATIENTS, seed=zlib.crc32(name.encode()), outcome=d.outcome)
    delta = HARNESS._timed_delta if d.outcome in ("t25fw", "nhpt") else None
    reference, crashed = HARNESS.reference_events(cohort, d, delta)
    mine = HARNESS.engine_events(cohort, d)
    assert crashed == {}
    differing = {p: (reference[p], mine[p]) for p in cohort if reference[p] != mine[p]}
    assert differing == {}
    assert sum(len(v) for v in mine.values()) > PATIENTS // 4

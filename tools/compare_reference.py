"""Differential comparison of the progression engine with pymsprog 1.0.7 on random cohorts.

    python tools/compare_reference.py --patients 2000 --seed 1 [--jobs 2] [--only NAME]

For every setting (the 13 of `shared/data/msprog-toy/expected/index.json` and many more),
a synthetic cohort is run through the reference and the engine; a patient agrees when both
give the same events with the same type, CDW class, onset date and value, baseline date,
first confirmation date per period and PIRA confirmation date per period. Differing patients
are printed. Where the reference has a bug the engine does not copy (spec §2.9), the setting
is marked and its differences are expected.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import replace
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitoring.clinical import thresholds as t  # noqa: E402
from monitoring.clinical.definitions import (  # noqa: E402
    BASELINES,
    EVENTS_MODES,
    PRESETS,
    Definition,
    definition,
)
from monitoring.clinical.progression import Visit, assess  # noqa: E402
from tools.msprog import from_msprog_arguments, to_msprog_arguments  # noqa: E402

INDEX = ROOT / "tests" / "clinical" / "data" / "msprog-toy" / "expected" / "index.json"
START = dt.date(2015, 1, 1).toordinal()

Cohort = dict[str, tuple[list[Visit], list[dt.date]]]
Key = tuple[object, ...]


# --- synthetic cohorts ------------------------------------------------------------------

EDSS_STEPS = [float(v) for v in t.EDSS_VALUES]


def _edss_walk(rng: random.Random, n: int, days: list[int], rel: list[int]) -> list[float]:
    pos = rng.choice(range(0, 14))
    drift = rng.choice([0.0, 0.0, 0.03, 0.06, 0.12])
    out = []
    level = float(pos)
    for d in days:
        level += drift + rng.gauss(0, 0.15)
        bump = 0.0
        for r in rel:
            if 0 <= d - r <= 120:
                bump = max(bump, rng.choice([1, 2, 3]))
        noise = rng.choice([0, 0, 0, 0, 1, -1, 2, -2])
        i = round(level) + noise + int(bump)
        out.append(EDSS_STEPS[max(0, min(len(EDSS_STEPS) - 1, i))])
    return out


def _sdmt_walk(rng: random.Random, days: list[int], rel: list[int]) -> list[float]:
    level = rng.uniform(25, 65)
    drift = rng.choice([0.0, -0.2, -0.5, 0.2])
    out = []
    for d in days:
        level += drift + rng.gauss(0, 1)
        dip = 6 if any(0 <= d - r <= 90 for r in rel) else 0
        out.append(float(max(0, min(110, round(level + rng.gauss(0, 3) - dip)))))
    return out


def _timed_walk(
    rng: random.Random, days: list[int], rel: list[int], lo: float, hi: float
) -> list[float]:
    level = rng.uniform(lo, hi)
    drift = rng.choice([1.0, 1.0, 1.01, 1.03, 0.99])
    out = []
    for d in days:
        level *= drift * rng.uniform(0.97, 1.03)
        bump = 1.3 if any(0 <= d - r <= 90 for r in rel) else 1.0
        value = level * bump * rng.choice([1.0, 1.0, 1.1, 0.9, 1.25, 0.8])
        out.append(round(max(1.0, value), 1))
    return out


def make_cohort(n: int, seed: int, outcome: str) -> Cohort:
    rng = random.Random(seed)
    cohort: Cohort = {}
    for p in range(n):
        nv = rng.randint(5, 30)
        day = START + rng.randint(0, 1500)
        days = []
        for _ in range(nv):
            days.append(day)
            day += rng.choice([rng.randint(30, 183), rng.randint(80, 95), rng.randint(160, 180)])
        rel: list[int] = []
        nrel = rng.choice([0, 0, 0, 1, 1, 2, 3, 5])
        for _ in range(nrel):
            how = rng.random()
            if how < 0.2:
                r = rng.choice(days)  # on a visit day
            elif how < 0.3:
                r = days[0] - rng.randint(1, 60)  # before follow-up (kept if <= 30 days)
            else:
                r = rng.randint(days[0], days[-1] + 60)
            rel.append(r)
        if outcome == "edss":
            values = _edss_walk(rng, nv, days, rel)
        elif outcome == "sdmt":
            values = _sdmt_walk(rng, days, rel)
        elif outcome == "t25fw":
            values = _timed_walk(rng, days, rel, 4.0, 20.0)
        else:
            values = _timed_walk(rng, days, rel, 15.0, 50.0)
        visits = []
        for d, v in zip(days, values, strict=True):
            confirmable = rng.random() > 0.1
            visits.append(Visit(dt.date.fromordinal(d), v, confirmable))
            if rng.random() < 0.04:  # a second visit on the same day: the last one wins
                visits.append(Visit(dt.date.fromordinal(d), rng.choice(values), confirmable))
        if rng.random() < 0.1:
            rng.shuffle(visits)
            visits.sort(key=lambda v: v.date)  # same-day order is the input order
        cohort[f"P{p:05d}"] = (visits, [dt.date.fromordinal(r) for r in sorted(set(rel))])
    return cohort


# --- running both sides -------------------------------------------------------------------


def _fmt(x: object) -> str:
    if x is None:
        return ""
    try:
        import pandas as pd

        if pd.isna(x):
            return ""
    except (TypeError, ValueError):
        pass
    if hasattr(x, "date") and callable(x.date):
        return x.date().isoformat()
    return str(x)


def engine_events(cohort: Cohort, d: Definition) -> dict[str, list[Key]]:
    out: dict[str, list[Key]] = {}
    for pid, (visits, rels) in cohort.items():
        evs = assess(visits, rels, d)
        keys: list[Key] = []
        for e in evs:
            confs = {c.period_days: c.visit.date.isoformat() for c in e.confirmations}
            piras = {c.period_days: c.visit.date.isoformat() for c in e.pira_confirmations}
            keys.append(
                (
                    "CDW" if e.kind == "worsening" else "CDI",
                    e.cdw_type or "",
                    e.onset.date.isoformat(),
                    float(e.onset.value),
                    e.baseline.date.isoformat(),
                    tuple(confs.get(m, "") for m in d.confirm_days),
                    tuple(piras.get(m, "") for m in d.confirm_days),
                )
            )
        out[pid] = keys
    return out


def patched_reference():
    """pymsprog with the two bugs of spec §2.9 fixed in its source, nothing else changed.

    Agreement with this copy shows that the differences with the released reference come
    from those bugs alone.
    """
    import importlib.util
    import re
    import types

    import pymsprog

    src = Path(pymsprog.__file__).read_text()
    fixed, n_dir = re.subn(
        r"data_id\.loc\[(change_idx|x|conf_idx\[0\]),\s*value_col\]\s*([<>])\s*bl\[value_col\]",
        lambda m: (
            f"isevent_loc(data_id.loc[{m.group(1)},value_col], bl[value_col], "
            f"type={'impr' if m.group(2) == '<' else 'wors'!r}, st=True)"
        ),
        src,
    )
    fixed, n_min = re.subn(
        r"\[np\.min\(\[x for x in conf_t\[m\] if x in conf_idx\]\) for m in\s+conf_t\.keys\(\)\]",
        "[np.min([x for x in conf_t[m] if x in conf_idx]) for m in conf_t.keys()"
        " if any(x in conf_idx for x in conf_t[m])]",
        fixed,
    )
    if (n_dir, n_min) != (6, 2):
        raise RuntimeError(f"unexpected pymsprog source ({n_dir}, {n_min} patch sites)")
    spec = importlib.util.spec_from_loader("pymsprog_fixed", loader=None)
    assert spec is not None
    module = types.ModuleType(spec.name)
    exec(compile(fixed, "pymsprog_fixed", "exec"), module.__dict__)
    return module


def _reference_call(cohort: Cohort, kwargs: dict[str, object], patched: bool = False):
    import pandas as pd
    import pymsprog

    module = patched_reference() if patched else pymsprog

    vrows = [
        (pid, v.date.isoformat(), v.value, int(v.confirmable))
        for pid, (vs, _) in cohort.items()
        for v in vs
    ]
    rrows = [(pid, r.isoformat()) for pid, (_, rs) in cohort.items() for r in rs]
    data = pd.DataFrame(vrows, columns=["id", "date", "value", "c"])
    relapse = pd.DataFrame(rrows, columns=["id", "date"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, results = module.MSprog(
            data,
            subj_col="id",
            value_col="value",
            date_col="date",
            relapse=relapse,
            validconf_col="c",
            include_dates=True,
            include_value=True,
            verbose=0,
            **kwargs,
        )
    return results


def reference_events(
    cohort: Cohort,
    d: Definition,
    delta_fun: Callable[[float], float] | None,
    patched: bool = False,
) -> tuple[dict[str, list[Key]], dict[str, str]]:
    """Events per patient, and patients on which the reference raised (with the error)."""
    kwargs = to_msprog_arguments(d)
    if delta_fun is not None:
        kwargs["delta_fun"] = delta_fun
    crashed: dict[str, str] = {}
    try:
        frames = [_reference_call(cohort, kwargs, patched)]
    except Exception:
        frames = []
        for pid, pat in cohort.items():
            try:
                frames.append(_reference_call({pid: pat}, kwargs, patched))
            except Exception as e:
                crashed[pid] = f"{type(e).__name__}: {e}"
    out: dict[str, list[Key]] = {pid: [] for pid in cohort}
    for results in frames:
        for row in results.to_dict("records"):
            if not row["event_type"]:
                continue
            out[str(row["id"])].append(
                (
                    row["event_type"],
                    row.get("CDW_type", "") or "",
                    _fmt(row["date"]),
                    float(row["value"]),
                    _fmt(row["bl_date"]),
                    tuple(_fmt(row.get(f"conf{m}_date")) for m in d.confirm_days),
                    tuple(_fmt(row.get(f"PIRA_conf{m}_date")) for m in d.confirm_days),
                )
            )
    return out, crashed


# --- settings -----------------------------------------------------------------------------


def _timed_delta(b: float) -> float:
    # The engine compares percentages with a 1e-9 slack (23.5 -> 28.2 is +20 %, spec §2.1);
    # giving the reference the same slack makes both compute the same thing.
    return b / (1 / t.TIMED_TEST_DELTA_FRACTION) - t.DELTA_TOLERANCE  # as the engine divides


def settings() -> dict[str, tuple[Definition, str]]:
    """name -> (definition, why differences are expected or '')."""
    out: dict[str, tuple[Definition, str]] = {}
    index = json.loads(INDEX.read_text())["configs"]
    for name, args in index.items():
        a = {k: v for k, v in args.items() if k != "value_col"}
        out[name] = (from_msprog_arguments(a), "")
    base = definition()
    for preset in PRESETS:
        out[f"def-{preset}"] = (definition(preset), "")
        out[f"def-{preset}-fixed-rebl"] = (
            definition(preset, baseline="fixed", relapse_rebaseline=True),
            "",
        )
    for bl in BASELINES:
        for ev in EVENTS_MODES:
            out[f"{bl}-{ev}"] = (replace(base, baseline=bl, events=ev), "")
            out[f"{bl}-{ev}-rebl"] = (
                replace(base, baseline=bl, events=ev, relapse_rebaseline=True),
                "",
            )
            bug = (
                "reference crash §2.9 (skipped event, several periods)"
                if ev in ("first-pira", "first-raw") and bl in ("fixed", "roving-improvement")
                else ""
            )
            out[f"{bl}-{ev}-conf84+168"] = (
                replace(
                    base,
                    baseline=bl,
                    events=ev,
                    confirm_days=(84, 168),
                    confirm_tolerance=(0, float("inf")),
                ),
                bug,
            )
    out["conf84+168-tol7"] = (replace(base, confirm_days=(84, 168), confirm_tolerance=(7, 7)), "")
    out["conf84-tol30"] = (replace(base, confirm_tolerance=(30, 30)), "")
    out["conf168-inf"] = (
        replace(base, confirm_days=(168,), confirm_tolerance=(0, float("inf"))),
        "",
    )
    out["sust168"] = (replace(base, require_sustained_days=168), "")
    out["sust-inf"] = (replace(base, require_sustained_days=float("inf")), "")
    out["sust168-fixed-first"] = (
        replace(base, require_sustained_days=168, baseline="fixed", events="first"),
        "",
    )
    out["sust168-conf84+168"] = (
        replace(base, require_sustained_days=168, confirm_days=(84, 168)),
        "reference crash when an unsustained improvement leaves a period unconfirmed",
    )
    out["no-intermediate"] = (replace(base, check_intermediate=False), "")
    out["no-intermediate-sust168"] = (
        replace(base, check_intermediate=False, require_sustained_days=168),
        "",
    )
    out["proceed-onset"] = (replace(base, proceed_from="onset"), "")
    out["proceed-onset-fixed"] = (replace(base, proceed_from="onset", baseline="fixed"), "")
    out["relapse-windows"] = (
        replace(
            base,
            relapse_to_baseline=(60, 10),
            relapse_to_event=(14, 0),
            relapse_to_confirmation=(45, 7),
            raw_window=(120, 30),
        ),
        "",
    )
    for outcome in ("edss", "sdmt", "t25fw", "nhpt"):
        for sub in ("event", "improvement", "worsening"):
            bug = (
                "reference sub-threshold re-baseline ignores SDMT's direction (§2.9)"
                if outcome == "sdmt"
                else ""
            )
            out[f"{outcome}-sub-{sub}"] = (
                replace(base, outcome=outcome, sub_threshold_rebaseline=sub),
                bug,
            )
        out[f"{outcome}-default"] = (replace(base, outcome=outcome), "")
        out[f"{outcome}-fixed-first-worsening"] = (
            replace(base, outcome=outcome, baseline="fixed", events="first-worsening"),
            "",
        )
        out[f"{outcome}-kappos-fixed-rebl"] = (
            definition("kappos2020", outcome=outcome, baseline="fixed", relapse_rebaseline=True),
            "",
        )
    return out


def compare(
    name: str, d: Definition, expected_bug: str, patients: int, seed: int, show: int
) -> dict[str, object]:
    cohort = make_cohort(patients, seed, d.outcome)
    delta_fun = _timed_delta if d.outcome in ("t25fw", "nhpt") else None
    try:
        ref, crashed = reference_events(cohort, d, delta_fun)
    except Exception:
        return {"name": name, "error": traceback.format_exc()}
    mine = engine_events(cohort, d)
    differing = [p for p in cohort if p not in crashed and ref[p] != mine[p]]
    compared = len(cohort) - len(crashed)
    patched_same = -1
    if expected_bug:
        fixed, fixed_crashed = reference_events(cohort, d, delta_fun, patched=True)
        patched_same = sum(1 for p in cohort if p not in fixed_crashed and fixed[p] == mine[p])
    lines = []
    for p in differing[:show]:
        lines.append(f"  {p}: reference {ref[p]}\n  {' ' * len(p)}  engine    {mine[p]}")
    return {
        "name": name,
        "compared": compared,
        "identical": compared - len(differing),
        "crashed": len(crashed),
        "crash_example": next(iter(crashed.values()), ""),
        "bug": expected_bug,
        "patched_identical": patched_same,
        "events": sum(len(v) for v in mine.values()),
        "details": lines,
    }


def _run(job: tuple[str, Definition, str, int, int, int]) -> dict[str, object]:
    return compare(*job)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", action="append", help="setting name prefix (repeatable)")
    parser.add_argument("--exclude", action="append", help="setting name prefix (repeatable)")
    parser.add_argument("--show", type=int, default=5, help="differing patients printed")
    args = parser.parse_args(list(argv) if argv is not None else None)
    chosen = {
        k: v
        for k, v in settings().items()
        if (not args.only or any(k.startswith(o) for o in args.only))
        and not any(k.startswith(x) for x in args.exclude or ())
    }
    jobs = [
        (name, d, bug, args.patients, args.seed + i, args.show)
        for i, (name, (d, bug)) in enumerate(chosen.items())
    ]
    failures = 0
    total_p = total_same = 0
    with Pool(args.jobs) as pool:
        for r in pool.imap(_run, jobs):
            if "error" in r:
                print(f"{r['name']}: ERROR\n{r['error']}")
                failures += 1
                continue
            compared, same = int(r["compared"]), int(r["identical"])  # type: ignore[call-overload]
            total_p += compared
            total_same += same
            pct = 100.0 * same / compared if compared else 100.0
            note = (
                f"  [{r['bug']}; with it fixed in the reference: "
                f"{r['patched_identical']}/{args.patients} identical]"
                if r["bug"]
                else ""
            )
            crash = (
                f", reference crashed on {r['crashed']} ({r['crash_example']})"
                if r["crashed"]
                else ""
            )
            print(
                f"{r['name']:<44} {same:>6}/{compared:<6} {pct:7.3f} %  "
                f"{r['events']} events{crash}{note}",
                flush=True,
            )
            for line in r["details"]:  # type: ignore[attr-defined]
                print(line)
            if (same != compared and not r["bug"]) or (
                r["bug"] and r["patched_identical"] != args.patients
            ):
                failures += 1
    print(
        f"TOTAL {total_same}/{total_p} patient-settings identical "
        f"({100.0 * total_same / max(total_p, 1):.4f} %) over {len(jobs)} settings; "
        f"{failures} settings with unexpected differences"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

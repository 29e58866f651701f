"""The 13 settings of pymsprog 1.0.7 on the msprog toy data, reproduced field for field.

`data/msprog-toy/` is a copy of `shared/data/msprog-toy/` (MIT, msprog authors): the
reference's own outputs, so these tests do not need the reference installed.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pytest

from monitoring.clinical.progression import Event, Visit, assess
from tools.msprog import from_msprog_arguments

TOY = Path(__file__).parent / "data" / "msprog-toy"
INDEX = json.loads((TOY / "expected" / "index.json").read_text())
CONFIGS = INDEX["configs"]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _toy(value_col: str) -> tuple[dict[str, list[Visit]], dict[str, list[dt.date]]]:
    visits: dict[str, list[Visit]] = defaultdict(list)
    for r in _rows(TOY / "toydata_visits.csv"):
        visits[r["id"]].append(Visit(dt.date.fromisoformat(r["date"]), float(r[value_col])))
    relapses: dict[str, list[dt.date]] = defaultdict(list)
    for r in _rows(TOY / "toydata_relapses.csv"):
        relapses[r["id"]].append(dt.date.fromisoformat(r["date"]))
    return visits, relapses


def _expected_row(event: Event, columns: list[str], conf_days: list[int]) -> dict[str, str]:
    """What the reference would write for `event`, restricted to the columns it wrote."""
    row = {
        "event_type": "CDW" if event.kind == "worsening" else "CDI",
        "CDW_type": event.cdw_type or "",
        "date": event.onset.date.isoformat(),
        "value": str(event.onset.value),
        "bl_date": event.baseline.date.isoformat(),
        "bl_value": str(event.baseline.value),
    }
    confs = {c.period_days: c.visit for c in event.confirmations}
    piras = {c.period_days: c.visit for c in event.pira_confirmations}
    for m in conf_days:
        for prefix, got in (("conf", confs), ("PIRA_conf", piras)):
            visit = got.get(m)
            row[f"{prefix}{m}_date"] = visit.date.isoformat() if visit else ""
            row[f"{prefix}{m}_value"] = str(visit.value) if visit else ""
    return {k: v for k, v in row.items() if k in columns}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_toy_setting_reproduced(name: str) -> None:
    args = dict(CONFIGS[name])
    rawpira = args.get("RAW_PIRA", False) or args.get("event", "firstCDW") in (
        "firstPIRA",
        "firstRAW",
    )
    definition = from_msprog_arguments(args)
    visits, relapses = _toy(args["value_col"])
    expected = _rows(TOY / "expected" / f"{name}_results.csv")
    columns = [
        c
        for c in expected[0]
        if c in ("event_type", "date", "value", "bl_date", "bl_value")
        or c.startswith(("conf", "PIRA_conf"))
        or (c == "CDW_type" and rawpira)
    ]
    conf_days = args.get("conf_days", 84)
    conf_days = conf_days if isinstance(conf_days, list) else [conf_days]

    got: list[dict[str, str]] = []
    for pid, vs in visits.items():
        events = assess(vs, relapses.get(pid, []), definition)
        got.extend({"id": pid, **_expected_row(e, columns, conf_days)} for e in events)
    want = [{"id": r["id"], **{c: r[c] for c in columns}} for r in expected if r["event_type"]]
    assert got == want
    assert len(want) > 0

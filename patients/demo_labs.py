"""Safety labs of the demo cohort [spec §7.1]: the tests each therapy's protocol asks for,
on schedule for most patients, late for some (the last test not yet done), a few out of
range; about half of the natalizumab patients anti-JCV positive, some with a high index.

Pure Python like `patients.demo`: rows keyed by analyte code, in each analyte's catalogue
unit (lymphocytes /mm3, platelets 10*9/L, creatinine umol/L, TSH mIU/L, ALT U/L, IgG g/L).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

LAB = "Demo hospital laboratory"
SCREENING = ("hbsag", "hcv-ab", "hiv-ab", "vzv-igg", "tb-igra")
HIGH_EFFICACY_AND_INDUCTION = {
    "natalizumab",
    "ocrelizumab",
    "ofatumumab",
    "rituximab",
    "cladribine",
    "alemtuzumab",
}
S1P = {"fingolimod", "siponimod", "ozanimod", "ponesimod"}
FUMARATES = {"dimethyl-fumarate", "diroximel-fumarate"}
ANTI_CD20 = {"ocrelizumab", "ofatumumab", "rituximab"}
# Reference ranges as a lab reports them: (unit, lower, upper).
RANGES = {
    "lymphocytes": ("/mm3", 1000.0, 4000.0),
    "platelets": ("10*9/L", 150.0, 400.0),
    "creatinine": ("umol/L", 45.0, 90.0),
    "tsh": ("mIU/L", 0.4, 4.0),
    "alt": ("U/L", 0.0, 40.0),
    "igg": ("g/L", 7.0, 16.0),
}


def _row(analyte: str, day: dt.date, value: float | None = None, text: str = "") -> dict:
    unit, low, high = RANGES.get(analyte, ("", None, None))
    if analyte == "jcv-index":
        unit = "index"
    return {
        "analyte": analyte,
        "date": day,
        "value": None if value is None else round(value, 2),
        "unit": unit if value is not None else "",
        "text": text,
        "lower_limit": low,
        "upper_limit": high,
        "lab": LAB,
    }


def _every(start: dt.date, end: dt.date, days: int, rng: random.Random) -> Iterator[dt.date]:
    """Test days every `days` (a few days either way) from `start` until `end`."""
    day = start + dt.timedelta(days=days + rng.randint(-5, 5))
    while day <= end:
        yield day
        day += dt.timedelta(days=days + rng.randint(-5, 5))


def demo_labs(
    rng: random.Random, courses: list[dict], sex: str, birth: dt.date, end: dt.date
) -> list[dict]:
    """The labs of a patient's therapy courses up to `end`. One patient in six is late:
    the test due last has not been done."""
    rows: list[dict] = []
    late = rng.random() < 1 / 6
    for course in courses:
        therapy, start = course["therapy"], course["start"]
        stop = min(course["end"] or end, end)
        before = max(birth + dt.timedelta(days=1), start - dt.timedelta(days=rng.randint(7, 40)))
        mine: list[dict] = []
        if therapy in HIGH_EFFICACY_AND_INDUCTION:
            mine += [_row(a, before, text="negative") for a in SCREENING]
            if sex == "female":
                mine.append(_row("pregnancy-test", start, text="negative"))
        if therapy == "natalizumab":
            mine += _natalizumab(rng, before, start, stop)
        elif therapy == "alemtuzumab":
            mine += _alemtuzumab(rng, before, start, end)
        elif therapy == "cladribine":
            mine.append(_row("lymphocytes", before, rng.uniform(1200, 2500)))
            for months, low in ((2, 500), (6, 650)):
                day = start + dt.timedelta(days=30 * months + rng.randint(-7, 7))
                if day <= stop:
                    mine.append(_row("lymphocytes", day, rng.uniform(low, low + 900)))
        elif therapy in FUMARATES:
            level = rng.choice([1600.0, 1200.0, 900.0, 700.0]) if rng.random() > 0.04 else 450.0
            mine.append(_row("lymphocytes", before, rng.uniform(1300, 2500)))
            mine += [
                _row("lymphocytes", day, level * rng.uniform(0.85, 1.15))
                for day in _every(start, stop, 91, rng)
            ]
        elif therapy in S1P:
            mine.append(_row("lymphocytes", before, rng.uniform(1300, 2500)))
            days = [
                start + dt.timedelta(days=30 * m + rng.randint(-4, 4)) for m in (1, 3, 6, 9, 12)
            ]
            days += list(_every(start + dt.timedelta(days=365), stop, 182, rng))
            floor = 150.0 if rng.random() < 0.03 else 350.0
            for day in (d for d in days if d <= stop):
                mine.append(_row("lymphocytes", day, rng.uniform(floor, floor + 600)))
                mine.append(_row("alt", day, rng.uniform(12, 55)))
        elif therapy == "teriflunomide":
            mine += [_row("alt", before, rng.uniform(10, 35)), _row("lymphocytes", before, 1800)]
            six = start + dt.timedelta(days=182)
            days = [*_every(start, min(six, stop), 28, rng), *_every(six, stop, 56, rng)]
            mine += [_row("alt", day, rng.uniform(10, 60)) for day in days]
        if therapy in ANTI_CD20:
            mine.append(_row("igg", before, rng.uniform(8, 14)))
            drift = rng.uniform(0.0, 0.6)  # g/L a year: a few fall below the range
            mine += [
                _row("igg", day, max(3.0, 11 - drift * (day - start).days / 365.25))
                for day in _every(start, stop, 182, rng)
            ]
        rows += mine
    rows.sort(key=lambda row: row["date"])
    if late and rows and rows[-1]["date"] > courses[-1]["start"]:
        last = rows[-1]["date"]
        rows = [row for row in rows if row["date"] != last]
    return rows


def _natalizumab(rng: random.Random, before: dt.date, start: dt.date, stop: dt.date) -> list:
    """Anti-JCV every 6 months; about half positive, a third of those above index 1.5 (then
    no more tests), a few turning positive on the way."""
    positive = rng.random() < 0.5
    index = rng.uniform(0.4, 3.2) if positive else rng.uniform(0.05, 0.35)
    rows = [_row("jcv-index", before, index, "positive" if positive else "negative")]
    for day in _every(start, stop, 182, rng):
        if positive and index > 1.5:
            break
        if not positive and rng.random() < 0.03:
            positive, index = True, rng.uniform(0.4, 1.2)
        index = max(0.05, index * rng.uniform(0.9, 1.15))
        rows.append(_row("jcv-index", day, index, "positive" if positive else "negative"))
    return rows


def _alemtuzumab(rng: random.Random, before: dt.date, start: dt.date, end: dt.date) -> list:
    """Monthly counts, creatinine and urinalysis, TSH every 3 months, 48 months after the
    last infusion (one course here); some develop thyroid disease or low platelets."""
    rows = [
        _row("platelets", before, rng.uniform(180, 350)),
        _row("creatinine", before, rng.uniform(55, 85)),
        _row("urine-blood", before, text="negative"),
        _row("tsh", before, rng.uniform(0.8, 3.0)),
    ]
    until = min(end, start + dt.timedelta(days=48 * 30))
    thyroid = rng.random() < 0.3
    itp = rng.random() < 0.02
    for n, day in enumerate(_every(start, until, 30, rng), start=1):
        rows.append(
            _row("platelets", day, rng.uniform(60, 95) if itp and n > 20 else rng.uniform(170, 360))
        )
        rows.append(_row("creatinine", day, rng.uniform(55, 88)))
        rows.append(_row("urine-blood", day, text="negative"))
        rows.append(_row("urine-protein", day, text="negative"))
        if n % 3 == 0:
            tsh = rng.uniform(5.5, 12) if thyroid and n > 15 else rng.uniform(0.8, 3.2)
            rows.append(_row("tsh", day, tsh))
    return rows

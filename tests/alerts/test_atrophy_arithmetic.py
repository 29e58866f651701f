"""The brain-volume arithmetic the sweep relies on, against plain Fractions (issue 4 speed-up).

`atrophy.change_over` works on unreduced integer ratios for speed; here every result is
recomputed the straightforward way, on random scan series, and must match to the bit.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal
from fractions import Fraction

from monitoring.clinical import thresholds as t
from monitoring.clinical.atrophy import brain_volume_change, exact, years_between
from monitoring.clinical.records import MriScan, State


def reference(scans: list[MriScan], start: dt.date | None, end: dt.date) -> tuple:
    ordered = sorted(scans, key=lambda s: s.date)
    pairs = [
        (p.date, s.date, exact(float(s.pbvc)))
        for p, s in itertools.pairwise(ordered)
        if s.pbvc is not None and p.date < s.date <= end and (start is None or s.date >= start)
    ]
    if not pairs:
        return None
    total = sum((v for _, _, v in pairs), Fraction(0))
    years = Fraction(0)
    chain_start = pairs[0][0]
    for i, (_, later, _) in enumerate(pairs):
        if i + 1 == len(pairs) or pairs[i + 1][0] != later:
            years += years_between(chain_start, later)
            if i + 1 < len(pairs):
                chain_start = pairs[i + 1][0]
    sd = exact(t.PBVC_NOISE_MULTIPLIER) * exact(t.PBVC_NOISE_SD)
    per_year = total / years
    neda4 = State.NOT_MET if per_year < exact(t.NEDA4_PBVC_PER_YEAR) else State.MET
    return (
        float(total),
        float(years),
        float(per_year),
        total * total <= sd * sd * len(pairs),
        neda4,
    )


def test_change_over_matches_fraction_arithmetic():
    rng = random.Random(4)
    for _ in range(3000):
        day = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 400))
        scans = []
        for _ in range(rng.randint(0, 7)):
            pbvc = rng.choice(
                [
                    None,
                    Decimal(rng.randint(-150, 50)) / 100,
                    rng.uniform(-2, 1),
                    Decimal("-0.4"),
                    Decimal("-0.56"),
                ]
            )
            scans.append(MriScan(day, None, None, pbvc=pbvc))
            day += dt.timedelta(days=rng.choice([0, 1, 181, 182, 365, 366, rng.randint(1, 900)]))
        end = day - dt.timedelta(days=rng.randint(0, 500))
        start = rng.choice([None, end - dt.timedelta(days=rng.randint(0, 1500))])
        got = brain_volume_change(scans, start=start, end=end)
        want = reference(scans, start, end)
        if want is None:
            assert got.neda4 is State.UNKNOWN and got.pairs == ()
            continue
        assert (got.total_pbvc, got.years, got.pbvc_per_year, got.within_noise, got.neda4) == want

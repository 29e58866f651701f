"""Annualized brain volume change and its measurement noise [§6].

Each scan's PBVC is measured against the patient's previous scan. The change over a span is
the sum of its pairs, annualized over the time those pairs cover, so the longest interval
available smooths the large per-pair noise (SD 0.28 %, Opfer 2018). When a scan in the middle
lacks a PBVC, its pair is left out of both the sum and the time.

Arithmetic is exact (fractions from the decimal text of each value), so a loss of exactly
0.4 % over exactly one year is on the NEDA-4 line, not a rounding error beyond it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from operator import attrgetter

from monitoring.clinical import thresholds as t
from monitoring.clinical.frozen import direct_init
from monitoring.clinical.rebaseline import add_months
from monitoring.clinical.records import MriScan, State


@direct_init
@dataclass(frozen=True, slots=True)
class ScanPair:
    earlier: dt.date
    later: dt.date
    pbvc: float


@direct_init
@dataclass(frozen=True, slots=True)
class BrainVolumeChange:
    """Brain volume change over the scan pairs whose later scan lies in [start, end].

    `neda4` is the NEDA-4 atrophy component: not met only when the annualized change is
    below -0.4 %/year, whatever the noise; `within_noise` lets an alert require more.
    The numeric fields are None, and `neda4` unknown, when no pair has a PBVC.
    """

    start: dt.date | None
    end: dt.date
    pairs: tuple[ScanPair, ...]
    total_pbvc: float | None
    years: float | None
    pbvc_per_year: float | None
    noise_limit: float | None
    within_noise: bool | None
    neda4: State
    explanation: str


def years_between(earlier: dt.date, later: dt.date) -> Fraction:
    """Whole calendar years, then the rest as a fraction of the year it falls in."""
    return Fraction(*_years_ratio(earlier, later))


# The arithmetic of a window is exact, on rationals held as (numerator, positive
# denominator) pairs of ints: Fraction reduces by a gcd after every step, which made it
# half the engine's time; only comparisons and float conversions read these, and both
# depend on the value alone (int / int is correctly rounded), so the results are the same.
Ratio = tuple[int, int]


def _years_ratio(earlier: dt.date, later: dt.date) -> Ratio:
    whole = later.year - earlier.year
    if add_months(earlier, 12 * whole) > later:
        whole -= 1
    anchor = add_months(earlier, 12 * whole)
    year_days = (add_months(earlier, 12 * (whole + 1)) - anchor).days
    return whole * year_days + (later - anchor).days, year_days


def _add(a: Ratio, b: Ratio) -> Ratio:
    return a[0] * b[1] + b[0] * a[1], a[1] * b[1]


# Parsing decimal text into a Fraction is the slowest step of a window, and the same few
# values (thresholds, PBVC to two decimals) recur across windows and patients. `typed`: a
# float and a Decimal may be equal yet written differently (0.1 and Decimal(0.1)).
@lru_cache(maxsize=4096, typed=True)
def exact(value: Decimal | float) -> Fraction:
    """The value as written (0.1 is 1/10, not the nearest binary float)."""
    return Fraction(str(value))


def all_scan_pairs(scans: Sequence[MriScan]) -> tuple[ScanPair, ...]:
    """Every pair of consecutive scans with a PBVC, in date order of the later scan (no two
    pairs share a later date: a second scan on one day pairs with nothing)."""
    ordered = sorted(scans, key=lambda scan: scan.date)
    return tuple(
        ScanPair(previous.date, scan.date, float(scan.pbvc))
        for previous, scan in itertools.pairwise(ordered)
        if scan.pbvc is not None and scan.date > previous.date
    )


_LATER = attrgetter("later")


def pairs_between(
    pairs: tuple[ScanPair, ...], *, start: dt.date | None, end: dt.date
) -> tuple[ScanPair, ...]:
    """The pairs of `all_scan_pairs` whose later scan lies in [start, end]."""
    low = 0 if start is None else bisect_left(pairs, start, key=_LATER)
    return pairs[low : bisect_right(pairs, end, key=_LATER)]


def _years_covered(pairs: tuple[ScanPair, ...]) -> Ratio:
    """Years of each unbroken chain of pairs, measured first scan to last scan.

    Measuring a chain as a whole keeps calendar years whole: 1 Jan to 1 Jul to 1 Jan is one
    year, while its two halves measured apart (181/365 + 184/366) are not.
    """
    years = (0, 1)
    chain_start = pairs[0].earlier
    for pair, following in itertools.zip_longest(pairs, pairs[1:]):
        if following is None or following.earlier != pair.later:
            years = _add(years, _years_ratio(chain_start, pair.later))
            if following is not None:
                chain_start = following.earlier
    return years


def brain_volume_change(
    scans: Sequence[MriScan], *, start: dt.date | None, end: dt.date
) -> BrainVolumeChange:
    """Annualized PBVC over the pairs ending in [start, end] (start None: all history)."""
    return change_over(all_scan_pairs(scans), start=start, end=end)


def change_over(
    all_pairs: tuple[ScanPair, ...], *, start: dt.date | None, end: dt.date
) -> BrainVolumeChange:
    """`brain_volume_change` from a patient's `all_scan_pairs`, computed once for the many
    windows of one patient."""
    pairs = pairs_between(all_pairs, start=start, end=end)
    if not pairs:
        return BrainVolumeChange(
            start=start,
            end=end,
            pairs=(),
            total_pbvc=None,
            years=None,
            pbvc_per_year=None,
            noise_limit=None,
            within_noise=None,
            neda4=State.UNKNOWN,
            explanation="No brain volume change (PBVC) between two scans in this period.",
        )
    total = (0, 1)
    for pair in pairs:
        total = _add(total, _ratio(pair.pbvc))
    tn, td = total
    yn, yd = _years_covered(pairs)  # yn > 0: every pair spans at least a day
    sd, (sd2n, sd2d) = _noise(t.PBVC_NOISE_MULTIPLIER, t.PBVC_NOISE_SD)
    # Compare squares so that the sqrt(n) of the noise rule stays exact:
    # total^2 <= sd^2 * n, multiplied out by the (positive) denominators.
    within_noise = tn * tn * sd2d <= sd2n * len(pairs) * td * td
    # total / years < line, multiplied out likewise.
    line_n, line_d = _ratio(t.NEDA4_PBVC_PER_YEAR)
    neda4 = State.NOT_MET if tn * yd * line_d < line_n * td * yn else State.MET
    noise_limit = sd * len(pairs) ** 0.5
    total_pbvc, years, per_year = tn / td, yn / yd, (tn * yd) / (td * yn)
    return BrainVolumeChange(
        start=start,
        end=end,
        pairs=pairs,
        total_pbvc=total_pbvc,
        years=years,
        pbvc_per_year=per_year,
        noise_limit=noise_limit,
        within_noise=within_noise,
        neda4=neda4,
        explanation=_explain(pairs, total_pbvc, years, per_year, neda4, within_noise, noise_limit),
    )


@lru_cache(maxsize=4096, typed=True)
def _ratio(value: Decimal | float) -> Ratio:
    """`exact(value)` as a ratio of ints."""
    fraction = exact(value)
    return fraction.numerator, fraction.denominator


@lru_cache(maxsize=8, typed=True)
def _noise(multiplier: float, sd: float) -> tuple[float, Ratio]:
    """The noise SD of one pair times the multiplier: as a float, and exactly squared."""
    noise = exact(multiplier) * exact(sd)
    square = noise * noise
    return float(noise), (square.numerator, square.denominator)


def _explain(
    pairs: tuple[ScanPair, ...],
    total: float,
    years: float,
    per_year: float,
    neda4: State,
    within_noise: bool,
    noise_limit: float,
) -> str:
    count = f"{len(pairs)} scan pair{'s' if len(pairs) > 1 else ''}"
    line = "beyond the NEDA-4 line of " if neda4 is State.NOT_MET else "within the NEDA-4 line of "
    noise = (
        f"within measurement noise (±{noise_limit:.2f} % for {count})"
        if within_noise
        else f"beyond measurement noise (±{noise_limit:.2f} % for {count})"
    )
    return (
        f"Brain volume changed {total:+.2f} % over {years:.1f} years "
        f"({count}, {pairs[0].earlier.isoformat()} to {pairs[-1].later.isoformat()}): "
        f"{per_year:+.2f} %/year, {line}{t.NEDA4_PBVC_PER_YEAR} %/year; "
        f"the total change is {noise}."
    )

"""Neurofilament light: elevated, and rising against the patient's own previous value [§5].

Elevated, in this order: a lab z-score wins (z > 1.5, Benkert 2022); else CSF, and serum or
plasma measured on another assay than Simoa, against the lab's own upper limit stored with the
value; else Simoa serum or plasma against the Simrén 2022 age limit (age in whole years on the
sample date), which was set on Simoa and holds for it only. A value equal to its limit is not
elevated. Without what a rule needs (birth date, age under 5, a lab limit for CSF or for
another assay) it is unknown; a rise on the same assay still counts.

Rising compares a sample only with the latest earlier sample of the same matrix and assay
(assays differ up to ~5x): with z-scores on both, by an increase of at least 1; otherwise by a
rise of at least 50 % and at least 2 pg/mL (see `thresholds.py`). When the only earlier
samples are on another assay or matrix, rising is unknown and the explanation says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from monitoring.clinical import thresholds as t
from monitoring.clinical.atrophy import exact
from monitoring.clinical.frozen import direct_init
from monitoring.clinical.records import NflSample

SIMREN_ASSAY = "simoa"


@direct_init
@dataclass(frozen=True, slots=True)
class NflStatus:
    """One sample judged: elevated (None: unknown) and rising (None: nothing to compare).

    `previous` is the sample it was compared with (same matrix and assay);
    `other_assay_previous` is a later-than-`previous` earlier sample on another assay or
    matrix, which was not compared.
    """

    sample: NflSample
    age_years: int | None
    upper_limit: float | None
    limit_source: str
    elevated: bool | None
    previous: NflSample | None
    other_assay_previous: NflSample | None
    rising: bool | None
    change_fraction: float | None
    z_change: float | None
    explanation: str


def age_on(birth_date: dt.date, day: dt.date) -> int:
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def simren_limit(age: int) -> float | None:
    """Serum/plasma upper reference limit (pg/mL) at this age; None below the youngest band."""
    return next((limit for low, high, limit in t.NFL_AGE_LIMITS if low <= age <= high), None)


def assess_nfl(
    samples: Sequence[NflSample], *, birth_date: dt.date | None, as_of: dt.date
) -> NflStatus | None:
    """The latest sample on or before `as_of` (None without one), judged against its history."""
    known = [s for s in samples if s.date <= as_of]
    if not known:
        return None
    latest = max(known, key=lambda s: s.date)
    return assess_sample(latest, history=known, birth_date=birth_date)


def assess_sample(
    sample: NflSample, *, history: Sequence[NflSample], birth_date: dt.date | None
) -> NflStatus:
    age = age_on(birth_date, sample.date) if birth_date is not None else None
    elevated, limit, source, elevated_text = _elevation(sample, age)
    earlier = sorted((s for s in history if s.date < sample.date), key=lambda s: s.date)
    kind = _kind(sample)
    comparable = [_kind(s) == kind for s in earlier]
    same = [s for s, alike in zip(earlier, comparable, strict=True) if alike]
    previous = same[-1] if same else None
    other = next(
        (
            s
            for s, alike in zip(reversed(earlier), reversed(comparable), strict=True)
            if not alike and (previous is None or s.date > previous.date)
        ),
        None,
    )
    rising, fraction, z_change, rising_text = _rise(sample, previous, other)
    return NflStatus(
        sample=sample,
        age_years=age,
        upper_limit=limit,
        limit_source=source,
        elevated=elevated,
        previous=previous,
        other_assay_previous=other,
        rising=rising,
        change_fraction=fraction,
        z_change=z_change,
        explanation=(
            f"{sample.matrix.capitalize()} NfL {_number(sample.value)} pg/mL ({sample.assay}) on "
            f"{sample.date.isoformat()}: {elevated_text} {rising_text}"
        ),
    )


def _kind(sample: NflSample) -> tuple[str, str]:
    """Samples of one kind (matrix and assay) are comparable; values of two are not."""
    return sample.matrix, _assay(sample)


def _assay(sample: NflSample) -> str:
    return sample.assay.strip().casefold()


def _number(value: Decimal | float) -> str:
    return f"{float(value):g}"


def _elevation(sample: NflSample, age: int | None) -> tuple[bool | None, float | None, str, str]:
    value = exact(sample.value)
    if sample.z_score is not None:
        elevated = exact(sample.z_score) > exact(t.NFL_Z_ELEVATED)
        word = "elevated" if elevated else "not elevated"
        return (
            elevated,
            None,
            "lab z-score",
            f"{word} (lab z-score {_number(sample.z_score)}; above {t.NFL_Z_ELEVATED} is "
            "elevated, Benkert 2022).",
        )
    if sample.matrix == "csf" or _assay(sample) != SIMREN_ASSAY:
        if sample.lab_upper_limit is None:
            missing = (
                "for CSF"
                if sample.matrix == "csf"
                else f"or z-score for {sample.assay}: the Simrén age limits hold for Simoa only"
            )
            return None, None, "none", f"elevation unknown (no lab upper limit stored {missing})."
        limit = exact(sample.lab_upper_limit)
        word = "elevated" if value > limit else "not elevated"
        return (
            value > limit,
            float(limit),
            "lab upper limit",
            f"{word} (lab upper limit {_number(sample.lab_upper_limit)} pg/mL).",
        )
    if age is None:
        return None, None, "none", "elevation unknown (no birth date for the age limit)."
    simren = simren_limit(age)
    if simren is None:
        return None, None, "none", f"elevation unknown (no reference limit at age {age})."
    elevated = value > exact(simren)
    word = "elevated" if elevated else "not elevated"
    return (
        elevated,
        simren,
        "Simrén 2022 age limit",
        f"{word} (limit {simren:g} pg/mL at age {age}, Simrén 2022, Simoa).",
    )


def _rise(
    sample: NflSample, previous: NflSample | None, other: NflSample | None
) -> tuple[bool | None, float | None, float | None, str]:
    if previous is None:
        if other is None:
            return None, None, None, "First sample: no previous value to compare."
        return (
            None,
            None,
            None,
            f"Not compared with the previous sample of {other.date.isoformat()} "
            f"({other.matrix}, {other.assay}): values are not compared across assays or "
            "matrices.",
        )
    old, new = exact(previous.value), exact(sample.value)
    fraction = (new - old) / old
    since = f"{_number(previous.value)} pg/mL on {previous.date.isoformat()} (same assay)"
    if sample.z_score is not None and previous.z_score is not None:
        z_change = exact(sample.z_score) - exact(previous.z_score)
        rising = z_change >= exact(t.NFL_RISE_Z)
        verdict = "Rising" if rising else "Not rising"
        return (
            rising,
            float(fraction),
            float(z_change),
            f"{verdict}: z-score {float(z_change):+g} since {since}; a rise is "
            f"+{t.NFL_RISE_Z:g} or more.",
        )
    rising = fraction >= exact(t.NFL_RISE_FRACTION) and new - old >= exact(t.NFL_RISE_MIN_PG_ML)
    verdict = "Rising" if rising else "Not rising"
    return (
        rising,
        float(fraction),
        None,
        f"{verdict}: {float(fraction):+.0%} since {since}; a rise is "
        f"+{t.NFL_RISE_FRACTION:.0%} and +{t.NFL_RISE_MIN_PG_ML:g} pg/mL or more.",
    )

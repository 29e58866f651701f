"""NfL: elevated by age limit, z-score or lab limit; rising only on the same assay."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from monitoring.clinical.nfl import NflStatus, age_on, assess_nfl, assess_sample
from monitoring.clinical.records import NflSample

D = dt.date
BIRTH = D(1970, 6, 15)


def serum(
    day: dt.date, value: float | Decimal, assay: str = "Simoa", z: float | None = None
) -> NflSample:
    return NflSample(day, "serum", value, assay, z_score=z)


def judge(sample: NflSample, *history: NflSample) -> NflStatus:
    return assess_sample(sample, history=[*history, sample], birth_date=BIRTH)


@pytest.mark.parametrize(
    ("age", "limit"),
    [
        (17, 7.0),
        (18, 10.0),
        (50, 10.0),
        (51, 15.0),
        (60, 15.0),
        (61, 20.0),
        (70, 20.0),
        (71, 35.0),
    ],
)
def test_age_band_boundaries(age: int, limit: float) -> None:
    birthday = D(BIRTH.year + age, BIRTH.month, BIRTH.day)
    at_limit = judge(serum(birthday, limit))
    assert at_limit.age_years == age
    assert at_limit.upper_limit == limit
    assert at_limit.elevated is False  # equal to the limit is not above it
    above = judge(serum(birthday, Decimal(str(limit)) + Decimal("0.1")))
    assert above.elevated is True
    assert f"limit {limit:g} pg/mL at age {age}" in above.explanation


def test_age_counts_whole_years_on_the_sample_date() -> None:
    assert age_on(BIRTH, D(1988, 6, 14)) == 17
    assert age_on(BIRTH, D(1988, 6, 15)) == 18
    # The day before the 51st birthday the limit is still 10: 12 pg/mL is elevated.
    assert judge(serum(D(2021, 6, 14), 12)).elevated is True
    assert judge(serum(D(2021, 6, 15), 12)).elevated is False


def test_no_limit_below_five_years_or_without_birth_date() -> None:
    assert judge(serum(D(1974, 6, 14), 50)).elevated is None
    status = assess_sample(serum(D(2020, 1, 1), 50), history=[], birth_date=None)
    assert status.elevated is None
    assert "no birth date" in status.explanation


@pytest.mark.parametrize(
    ("value", "z", "elevated"),
    [
        (50, 1.0, False),  # far above the age limit, but the z-score wins
        (5, 1.6, True),  # below the age limit, z above 1.5
        (5, 1.5, False),  # z must be above 1.5
    ],
)
def test_z_score_wins_over_age_limit(value: float, z: float, elevated: bool) -> None:
    status = judge(serum(D(2020, 1, 1), value, z=z))
    assert status.elevated is elevated
    assert status.limit_source == "lab z-score"


def test_csf_uses_the_lab_limit_and_is_unknown_without_one() -> None:
    with_limit = NflSample(D(2020, 1, 1), "csf", 400, "ELISA", lab_upper_limit=380)
    assert judge(with_limit).elevated is True
    assert (
        judge(NflSample(D(2020, 1, 1), "csf", 370, "ELISA", lab_upper_limit=380)).elevated is False
    )
    without = judge(NflSample(D(2020, 1, 1), "csf", 4000, "ELISA"))
    assert without.elevated is None
    assert "no lab upper limit" in without.explanation


def test_other_assays_need_the_lab_limit_or_z_score() -> None:
    """Spec §5: the Simrén limits hold for Simoa only."""
    status = judge(serum(D(2020, 1, 1), 150, assay="Ella"))
    assert status.elevated is None
    assert "Simrén age limits hold for Simoa only" in status.explanation
    with_limit = judge(
        dataclasses.replace(serum(D(2020, 1, 1), 12, assay="ECLIA"), lab_upper_limit=11)
    )
    assert (with_limit.elevated, with_limit.limit_source) == (True, "lab upper limit")
    with_z = judge(dataclasses.replace(serum(D(2020, 1, 1), 12, assay="ELISA"), z_score=0.4))
    assert with_z.elevated is False


@pytest.mark.parametrize(
    ("before", "after", "rising"),
    [
        (8, 12, True),  # +50 %, +4 pg/mL
        (8, Decimal("11.9"), False),  # +49 %
        (2, Decimal("3.5"), False),  # +75 % but only +1.5 pg/mL
        (4, 6, True),  # +50 %, +2 pg/mL exactly
        (12, 8, False),
    ],
)
def test_rising_on_the_same_assay(before: float, after: float, rising: bool) -> None:
    previous = serum(D(2021, 1, 1), before)
    status = judge(serum(D(2022, 1, 1), after), previous)
    assert status.previous == previous
    assert status.rising is rising
    assert "same assay" in status.explanation


@pytest.mark.parametrize(("z_before", "z_after", "rising"), [(0.5, 1.5, True), (0.5, 1.4, False)])
def test_rising_by_z_score_when_both_have_one(
    z_before: float, z_after: float, rising: bool
) -> None:
    # Values would say "rising" (+100 %); the z-scores decide.
    status = judge(serum(D(2022, 1, 1), 16, z=z_after), serum(D(2021, 1, 1), 8, z=z_before))
    assert status.rising is rising
    assert status.z_change == pytest.approx(z_after - z_before)


def test_never_compared_across_assays_or_matrices() -> None:
    simoa = serum(D(2021, 1, 1), 8, assay="Simoa")
    ella = serum(D(2022, 1, 1), 30, assay="Ella")
    status = judge(ella, simoa)
    assert status.rising is None
    assert status.previous is None
    assert status.other_assay_previous == simoa
    assert "not compared across assays" in status.explanation
    plasma = NflSample(D(2022, 1, 1), "plasma", 30, "Simoa")
    assert judge(plasma, simoa).rising is None


def test_assay_names_compare_without_case_or_spaces() -> None:
    status = judge(serum(D(2022, 1, 1), 16, assay="SIMOA "), serum(D(2021, 1, 1), 8))
    assert status.rising is True


def test_compares_with_the_latest_earlier_sample_on_the_same_assay() -> None:
    oldest = serum(D(2019, 1, 1), 4)
    latest_same = serum(D(2020, 1, 1), 10)
    between = serum(D(2021, 1, 1), 3, assay="Ella")
    status = judge(serum(D(2022, 1, 1), 12), oldest, latest_same, between)
    assert status.previous == latest_same
    assert status.rising is False  # +20 % against 10, although +200 % against the oldest
    assert status.other_assay_previous == between


def test_first_sample_has_no_previous() -> None:
    status = judge(serum(D(2022, 1, 1), 8))
    assert status.previous is None
    assert status.rising is None
    assert "First sample" in status.explanation


def test_assess_nfl_takes_the_latest_sample_up_to_as_of() -> None:
    samples = [serum(D(2021, 1, 1), 8), serum(D(2022, 1, 1), 16), serum(D(2023, 1, 1), 40)]
    status = assess_nfl(samples, birth_date=BIRTH, as_of=D(2022, 6, 1))
    assert status is not None
    assert status.sample == samples[1]
    assert status.rising is True
    assert assess_nfl(samples, birth_date=BIRTH, as_of=D(2020, 1, 1)) is None

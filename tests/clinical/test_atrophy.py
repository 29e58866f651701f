"""Brain volume change: annualization over the longest interval, noise flag, NEDA-4 line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring.clinical import thresholds as t
from monitoring.clinical.atrophy import brain_volume_change, years_between
from monitoring.clinical.rebaseline import add_months
from monitoring.clinical.records import MriScan, State

D = dt.date


def scan(day: dt.date, pbvc: float | Decimal | None = None) -> MriScan:
    return MriScan(date=day, new_t2=0, gd_enhancing=0, pbvc=pbvc)


@pytest.mark.parametrize(
    ("earlier", "later", "years"),
    [
        (D(2023, 1, 1), D(2024, 1, 1), Fraction(1)),
        (D(2024, 1, 1), D(2025, 1, 1), Fraction(1)),  # a leap year is still one year
        (D(2024, 2, 29), D(2025, 2, 28), Fraction(1)),  # clamped anniversary
        (D(2023, 1, 1), D(2023, 7, 2), Fraction(182, 365)),
        (D(2022, 3, 1), D(2024, 9, 1), 2 + Fraction(184, 365)),
    ],
)
def test_years_between_counts_calendar_years(
    earlier: dt.date, later: dt.date, years: Fraction
) -> None:
    assert years_between(earlier, later) == years


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2024, 8, 31), 6, D(2025, 2, 28)),
        (D(2023, 8, 31), 6, D(2024, 2, 29)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2024, 6, 15), -12, D(2023, 6, 15)),
        (D(2024, 3, 31), -1, D(2024, 2, 29)),
    ],
)
def test_add_months_clamps_to_month_end(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


def test_annualized_over_the_longest_interval() -> None:
    # Three yearly pairs: -0.2 - 0.6 - 0.7 = -1.5 % over 3 years = -0.5 %/year. The middle
    # year alone (-0.6) or the last (-0.7) would say something else.
    scans = [
        scan(D(2020, 1, 1)),
        scan(D(2021, 1, 1), -0.2),
        scan(D(2022, 1, 1), -0.6),
        scan(D(2023, 1, 1), -0.7),
    ]
    change = brain_volume_change(scans, start=None, end=D(2023, 6, 1))
    assert [(p.earlier, p.later) for p in change.pairs] == [
        (D(2020, 1, 1), D(2021, 1, 1)),
        (D(2021, 1, 1), D(2022, 1, 1)),
        (D(2022, 1, 1), D(2023, 1, 1)),
    ]
    assert change.total_pbvc == pytest.approx(-1.5)
    assert change.years == 3
    assert change.pbvc_per_year == pytest.approx(-0.5)
    assert change.neda4 is State.NOT_MET
    # Noise over 3 pairs: 2 x 0.28 x sqrt(3) = 0.970 %, and 1.5 % is beyond it.
    assert change.noise_limit == pytest.approx(0.9699, abs=1e-4)
    assert change.within_noise is False
    assert "-0.50 %/year" in change.explanation
    assert "beyond measurement noise" in change.explanation


def test_a_large_rate_over_a_short_interval_is_within_noise() -> None:
    # -0.5 % in half a year is -1 %/year, beyond the NEDA-4 line, but 0.5 < 2 x 0.28 = 0.56:
    # NEDA-4 is lost, an alert requiring "beyond noise" must not fire.
    change = brain_volume_change(
        [scan(D(2023, 1, 1)), scan(D(2023, 7, 2), -0.5)], start=None, end=D(2024, 1, 1)
    )
    assert change.pbvc_per_year == pytest.approx(-0.5 * 365 / 182)
    assert change.neda4 is State.NOT_MET
    assert change.within_noise is True
    assert "within measurement noise" in change.explanation


@pytest.mark.parametrize(
    ("total", "within"),
    [(Decimal("-0.56"), True), (Decimal("-0.57"), False), (Decimal("0.56"), True)],
)
def test_noise_limit_is_inclusive(total: Decimal, within: bool) -> None:
    change = brain_volume_change(
        [scan(D(2021, 1, 1)), scan(D(2023, 1, 1), total)], start=None, end=D(2023, 1, 1)
    )
    assert change.within_noise is within


@pytest.mark.parametrize(
    ("pbvc", "state"),
    [
        (Decimal("-0.4"), State.MET),
        (-0.4, State.MET),
        (Decimal("-0.41"), State.NOT_MET),
        (Decimal("-0.39"), State.MET),
        (Decimal("0.3"), State.MET),
    ],
)
def test_exactly_minus_0_4_per_year_is_on_the_line(pbvc: Decimal | float, state: State) -> None:
    change = brain_volume_change(
        [scan(D(2023, 3, 1)), scan(D(2024, 3, 1), pbvc)], start=None, end=D(2024, 3, 1)
    )
    assert change.neda4 is state


def test_exactly_minus_0_4_from_float_pairs_summing_to_one_year() -> None:
    # 181 + 184 days = one year; -0.1 + -0.3 is -0.4 when read as written (no float drift).
    scans = [scan(D(2023, 1, 1)), scan(D(2023, 7, 1), -0.1), scan(D(2024, 1, 1), -0.3)]
    change = brain_volume_change(scans, start=None, end=D(2024, 1, 1))
    assert change.years == 1
    assert change.neda4 is State.MET


def test_a_scan_without_pbvc_leaves_its_pair_out_of_sum_and_time() -> None:
    scans = [
        scan(D(2020, 1, 1)),
        scan(D(2021, 1, 1), -0.4),
        scan(D(2022, 1, 1)),  # PBVC not reported: 2021-2022 is unknown, not zero
        scan(D(2023, 1, 1), -0.6),
    ]
    change = brain_volume_change(scans, start=None, end=D(2023, 1, 1))
    assert len(change.pairs) == 2
    assert change.years == 2
    assert change.pbvc_per_year == pytest.approx(-0.5)


def test_window_takes_pairs_ending_inside_it_and_ignores_the_first_scan_pbvc() -> None:
    scans = [
        scan(D(2020, 1, 1), -5.0),  # the first scan has no previous one: ignored
        scan(D(2021, 1, 1), -1.0),
        scan(D(2022, 1, 1), -0.2),
        scan(D(2024, 1, 1), -0.9),  # after the window
    ]
    change = brain_volume_change(scans, start=D(2021, 6, 1), end=D(2023, 12, 31))
    assert [p.later for p in change.pairs] == [D(2022, 1, 1)]
    assert change.pbvc_per_year == pytest.approx(-0.2)


def test_no_pbvc_is_unknown() -> None:
    change = brain_volume_change(
        [scan(D(2021, 1, 1)), scan(D(2022, 1, 1))], start=None, end=D(2022, 1, 1)
    )
    assert change.neda4 is State.UNKNOWN
    assert change.pbvc_per_year is None
    assert change.within_noise is None


@given(
    gaps=st.lists(st.integers(min_value=30, max_value=800), min_size=1, max_size=6),
    changes=st.lists(st.decimals(min_value=-3, max_value=3, places=2), min_size=6, max_size=6),
)
def test_rate_times_years_is_total_and_line_is_respected(
    gaps: list[int], changes: list[Decimal]
) -> None:
    day = D(2015, 1, 1)
    scans = [scan(day)]
    for gap, pbvc in zip(gaps, changes, strict=False):
        day += dt.timedelta(days=gap)
        scans.append(scan(day, pbvc))
    change = brain_volume_change(scans, start=None, end=day)
    assert change.total_pbvc is not None and change.years is not None
    assert change.pbvc_per_year == pytest.approx(change.total_pbvc / change.years)
    # The rule itself is exact; the floats reported here carry tiny rounding, hence 1e-9.
    if change.neda4 is State.NOT_MET:
        assert change.pbvc_per_year < t.NEDA4_PBVC_PER_YEAR + 1e-9
    else:
        assert change.pbvc_per_year > t.NEDA4_PBVC_PER_YEAR - 1e-9
    assert change.within_noise == (abs(change.total_pbvc) <= change.noise_limit + 1e-9)

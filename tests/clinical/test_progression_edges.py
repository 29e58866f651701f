"""One test per edge case of spec §2, worked by hand, and the two §2.9 reference bugs."""

from __future__ import annotations

import warnings

import pandas as pd
import pymsprog
import pytest

from monitoring.clinical.definitions import definition
from tests.clinical.progression_helpers import day, run, summary, visits
from tools.msprog import to_msprog_arguments


def test_plain_worsening_is_pira_confirmed_at_first_candidate() -> None:
    events = run(visits((0, 2.0), (100, 3.0), (190, 3.0), (280, 3.0)))
    assert summary(events) == [("worsening", "PIRA", 100, 0, 190)]
    assert events[0].pira_confirmation is not None
    assert events[0].pira_confirmation.date == day(190)


def test_delta_depends_on_reference_value() -> None:
    # From 0 a change must be 1.5; from 5.5 on, 0.5 is enough.
    assert run(visits((0, 0.0), (100, 1.0), (200, 1.0))) == ()
    assert summary(run(visits((0, 0.0), (100, 1.5), (200, 1.5)))) == [
        ("worsening", "PIRA", 100, 0, 200)
    ]
    assert summary(run(visits((0, 5.5), (100, 6.0), (200, 6.0)))) == [
        ("worsening", "PIRA", 100, 0, 200)
    ]
    assert run(visits((0, 5.0), (100, 5.5), (200, 5.5))) == ()


def test_percentage_threshold_uses_exact_arithmetic() -> None:
    # 28.2 - 23.5 is 4.699999... in binary floating point, below 23.5 / 5; it is +20 %.
    events = run(visits((0, 23.5), (100, 28.2), (200, 28.2)), outcome="t25fw")
    assert summary(events) == [("worsening", "PIRA", 100, 0, 200)]
    assert run(visits((0, 23.5), (100, 28.1), (200, 28.1)), outcome="t25fw") == ()


def test_sdmt_worse_is_lower_and_delta_is_capped_at_four_points() -> None:
    # 20 % of 60 is 12, but 4 points are enough.
    events = run(visits((0, 60), (100, 56), (200, 56)), outcome="sdmt")
    assert summary(events) == [("worsening", "PIRA", 100, 0, 200)]
    up = run(visits((0, 60), (100, 64), (200, 64)), outcome="sdmt")
    assert summary(up) == [("improvement", None, 100, 0, 200)]


def test_same_day_relapse_makes_the_onset_raw() -> None:
    events = run(visits((0, 2.0), (100, 3.0), (190, 3.0)), relapses=(100,))
    assert summary(events) == [("worsening", "RAW", 100, 0, 190)]
    assert events[0].relapses == (day(100),)


def test_raw_window_is_inclusive_at_90_days() -> None:
    at_90 = run(visits((0, 2.0), (100, 3.0), (190, 3.0)), relapses=(10,))
    at_91 = run(visits((0, 2.0), (100, 3.0), (190, 3.0)), relapses=(9,))
    assert summary(at_90)[0][1] == "RAW"
    assert at_90[0].relapses == (day(10),)
    assert summary(at_91)[0][1] == "PIRA"


def test_baseline_is_not_allowed_within_30_days_after_a_relapse() -> None:
    # Relapse on the day of the first visit (0 days counts): the baseline moves on.
    events = run(visits((0, 1.0), (40, 2.0), (140, 3.0), (230, 3.0)), relapses=(0,))
    assert summary(events) == [("worsening", "PIRA", 140, 40, 230)]


def test_confirmation_window_bounds_are_inclusive() -> None:
    # 84 days - 7 = 77: confirmed at day 77 after onset, not at day 76.
    assert summary(run(visits((0, 2.0), (100, 3.0), (177, 3.0)))) == [
        ("worsening", "PIRA", 100, 0, 177)
    ]
    assert run(visits((0, 2.0), (100, 3.0), (176, 3.0))) == ()
    # With a right tolerance of 7 days, 91 days confirms and 92 does not.
    tight = {"confirm_tolerance": (7.0, 7.0)}
    assert summary(run(visits((0, 2.0), (100, 3.0), (191, 3.0)), **tight)) == [
        ("worsening", "PIRA", 100, 0, 191)
    ]
    assert run(visits((0, 2.0), (100, 3.0), (192, 3.0)), **tight) == ()


def test_a_dip_before_confirmation_breaks_it_unless_intermediate_visits_are_ignored() -> None:
    points = visits((0, 2.0), (100, 3.0), (140, 2.5), (190, 3.0), (300, 3.0))
    assert summary(run(points)) == [("worsening", "PIRA", 190, 0, 300)]
    assert summary(run(points, check_intermediate=False)) == [("worsening", "PIRA", 100, 0, 190)]


def test_a_change_at_the_last_visit_is_not_an_event() -> None:
    assert run(visits((0, 2.0), (100, 2.0), (200, 4.0))) == ()


def test_sustained_rule_drops_an_event_lost_too_soon_but_still_moves_the_baseline() -> None:
    points = visits((0, 2.0), (100, 3.0), (190, 3.0), (250, 2.0), (400, 4.0), (500, 4.0))
    # The first worsening is lost 150 days after onset: kept without the rule...
    assert summary(run(points)) == [
        ("worsening", "PIRA", 100, 0, 190),
        ("worsening", "PIRA", 400, 190, 500),
    ]
    # ...dropped with 168 days, but the roving baseline still moved to its confirmation.
    assert summary(run(points, require_sustained_days=168)) == [
        ("worsening", "PIRA", 400, 190, 500),
    ]


def test_sustained_to_the_end_of_follow_up_is_kept() -> None:
    points = visits((0, 2.0), (100, 3.0), (190, 3.0))
    assert summary(run(points, require_sustained_days=168)) == [("worsening", "PIRA", 100, 0, 190)]
    assert summary(run(points, require_sustained_days=float("inf"))) == [
        ("worsening", "PIRA", 100, 0, 190)
    ]


def test_relapse_rebaseline_measures_later_changes_from_after_the_relapse() -> None:
    points = visits(
        (0, 2.0), (100, 2.0), (160, 3.5), (260, 3.5), (360, 3.5), (460, 4.5), (560, 4.5)
    )
    # A fixed baseline measures everything from day 0: 3.5 at day 360 is a new worsening.
    fixed = run(points, relapses=(150,), baseline="fixed")
    assert summary(fixed) == [
        ("worsening", "RAW", 160, 0, 260),
        ("worsening", "PIRA", 360, 0, 460),
    ]
    # Re-baselined after the relapse (first visit >= 30 days after it: day 260), only the
    # step to 4.5 is a worsening.
    rebl = run(points, relapses=(150,), baseline="fixed", relapse_rebaseline=True)
    assert summary(rebl) == [
        ("worsening", "RAW", 160, 0, 260),
        ("worsening", "PIRA", 460, 260, 560),
    ]


def test_unconfirmable_visits_cannot_confirm() -> None:
    points = visits((0, 2.0), (100, 3.0), (190, 3.0, False), (250, 3.0))
    assert summary(run(points)) == [("worsening", "PIRA", 100, 0, 250)]
    only = visits((0, 2.0), (100, 3.0), (190, 3.0, False))
    assert run(only) == ()


def test_confirmation_within_30_days_after_a_relapse_is_not_allowed() -> None:
    points = visits((0, 2.0), (100, 3.0), (190, 3.0), (300, 3.0))
    # Day 190 is 20 days after the relapse onset of day 170: day 300 confirms instead.
    events = run(points, relapses=(170,))
    assert summary(events) == [("worsening", "PIRA", 100, 0, 300)]


def test_same_day_duplicate_visits_the_last_given_wins() -> None:
    points = visits((0, 2.0), (100, 2.0), (100, 3.0), (190, 3.0))
    assert summary(run(points)) == [("worsening", "PIRA", 100, 0, 190)]
    reversed_pair = visits((0, 2.0), (100, 3.0), (100, 2.0), (190, 3.0))
    assert run(reversed_pair) == ()


def test_relapse_more_than_30_days_before_the_first_visit_is_ignored() -> None:
    points = visits((0, 2.0), (50, 3.0), (140, 3.0))
    assert summary(run(points, relapses=(-31,)))[0][1] == "PIRA"
    assert summary(run(points, relapses=(-30,)))[0][1] == "RAW"


def test_pira_confirmation_may_be_a_later_candidate() -> None:
    # The first confirmation (day 190) has a relapse 15 days after it; day 300 is clean.
    points = visits((0, 2.0), (100, 3.0), (190, 3.0), (300, 3.0))
    events = run(points, relapses=(205,))
    assert summary(events) == [("worsening", "PIRA", 100, 0, 190)]
    assert events[0].pira_confirmation is not None
    assert events[0].pira_confirmation.date == day(300)


def test_explicit_setting_wins_over_preset() -> None:
    assert definition("portaccio2025").confirm_days == (168,)
    assert definition("portaccio2025", confirm_days=[84]).confirm_days == (84,)


# --- the two reference bugs of spec §2.9 ---------------------------------------------------


def _reference(points, relapses, d):  # type: ignore[no-untyped-def]
    data = pd.DataFrame(
        [("p", v.date.isoformat(), v.value) for v in points], columns=["id", "date", "value"]
    )
    rel = pd.DataFrame([("p", day(r).isoformat()) for r in relapses], columns=["id", "date"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pymsprog.MSprog(
            data,
            subj_col="id",
            value_col="value",
            date_col="date",
            relapse=rel,
            include_dates=True,
            verbose=0,
            **to_msprog_arguments(d),
        )[1]


def test_first_pira_fixed_baseline_several_periods_skips_the_raw_event_and_goes_on() -> None:
    # A RAW worsening (relapse day 90) confirmed at day 200 in the 84-day period only, lost at
    # day 250; then a PIRA from day 400, confirmed in both periods.
    points = visits(
        (0, 2.0),
        (100, 3.5),
        (200, 3.5),
        (250, 2.0),
        (300, 2.0),
        (400, 3.5),
        (500, 3.5),
        (600, 3.5),
    )
    d = definition(
        baseline="fixed",
        events="first-pira",
        confirm_days=[84, 168],
        confirm_tolerance=(0, float("inf")),
    )
    events = run(points, relapses=(90,), d=d)
    assert summary(events) == [("worsening", "PIRA", 400, 0, 500)]
    assert [(c.period_days, c.visit.date) for c in events[0].pira_confirmations] == [
        (84, day(500)),
        (168, day(600)),
    ]
    with pytest.raises(ValueError, match="zero-size array"):
        _reference(points, (90,), d)  # the reference crashes here (§2.9)


def test_sub_threshold_rebaseline_follows_the_direction_of_sdmt() -> None:
    # SDMT 50 -> 47 (3 points worse, below the 4-point delta), confirmed; then 46.
    points = visits((0, 50), (100, 47), (200, 47), (300, 46), (400, 46))
    d = definition(outcome="sdmt", sub_threshold_rebaseline="improvement")
    events = run(points, d=d)
    # A worsening is not an improvement: the baseline stays at 50 and 46 is a CDW.
    assert summary(events) == [("worsening", "PIRA", 300, 0, 400)]
    reference = _reference(points, (), d)
    assert (reference["event_type"] == "").all()  # the reference re-baselined on 47 (§2.9)


def test_sub_threshold_improvement_rebaselines_sdmt_upwards() -> None:
    points = visits((0, 50), (100, 52), (200, 52), (300, 56), (400, 56))
    d = definition(outcome="sdmt", sub_threshold_rebaseline="improvement")
    events = run(points, d=d)
    assert summary(events) == [("improvement", None, 300, 200, 400)]
    # Without the re-baseline the same improvement is measured from day 0.
    assert summary(run(points, outcome="sdmt")) == [("improvement", None, 300, 0, 400)]

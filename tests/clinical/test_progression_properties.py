"""Invariants of the progression search, checked on generated patients (hypothesis)."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.clinical.definitions import BASELINES, EVENTS_MODES, Definition, definition
from monitoring.clinical.progression import Event, Visit, assess
from tests.clinical.progression_helpers import DAY0

EDSS = [0.0] + [x / 2 for x in range(2, 21)]


@st.composite
def patients(draw: st.DrawFn, max_visits: int = 25) -> tuple[list[Visit], list[dt.date]]:
    n = draw(st.integers(2, max_visits))
    gaps = draw(st.lists(st.integers(1, 200), min_size=n, max_size=n))
    steps = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    unconfirmable = draw(st.sets(st.integers(0, n - 1), max_size=2))
    level = draw(st.integers(0, 19))
    visits = []
    day = 0
    for i in range(n):
        day += gaps[i]
        level = max(0, min(19, level + steps[i]))
        visits.append(Visit(DAY0 + dt.timedelta(days=day), EDSS[level], i not in unconfirmable))
    relapses = draw(st.lists(st.integers(-60, day + 60), max_size=4))
    return visits, [DAY0 + dt.timedelta(days=r) for r in relapses]


@st.composite
def definitions(draw: st.DrawFn) -> Definition:
    return definition(
        draw(
            st.sampled_from(
                ["muller2023", "muller2023-strict", "kappos2020", "cagol2022", "muller2025"]
            )
        ),
        baseline=draw(st.sampled_from(BASELINES)),
        events=draw(st.sampled_from(EVENTS_MODES)),
        relapse_rebaseline=draw(st.booleans()),
        require_sustained_days=draw(st.sampled_from([0, 0, 168])),
        confirm_days=draw(st.sampled_from([[84], [84, 168], [168]])),
    )


def _key(e: Event) -> tuple[object, ...]:
    return (e.kind, e.onset.date, e.baseline.date, e.confirmation.date)


@settings(max_examples=300, deadline=None)
@given(patients(), patients(max_visits=8), st.sampled_from(BASELINES))
def test_visits_added_later_do_not_change_earlier_events(
    p: tuple[list[Visit], list[dt.date]], q: tuple[list[Visit], list[dt.date]], baseline: str
) -> None:
    visits, relapses = p
    d = definition(baseline=baseline, events="multiple")
    before = assess(visits, relapses, d)
    shift = visits[-1].date - DAY0
    later = [Visit(v.date + shift, v.value, v.confirmable) for v in q[0]]
    after = assess(visits + later, relapses, d)
    assert [_key(e) for e in after[: len(before)]] == [_key(e) for e in before]


@settings(max_examples=400, deadline=None)
@given(patients(), definitions())
def test_event_invariants(p: tuple[list[Visit], list[dt.date]], d: Definition) -> None:
    visits, relapses = p
    events = assess(visits, relapses, d)
    onsets = [e.onset.date for e in events]
    assert onsets == sorted(onsets)
    assert len(set(onsets)) == len(onsets)
    if d.events != "multiple":
        assert len(events) <= 1
    for e in events:
        assert e.baseline.date < e.onset.date
        assert all(c.visit.date > e.onset.date for c in e.confirmations)
        assert all(c.visit.confirmable for c in e.confirmations)
        assert e.confirmations
        if e.kind == "improvement":
            assert e.cdw_type is None
            assert e.pira_confirmations == ()
            assert e.onset.value < e.baseline.value
        else:
            assert e.cdw_type in ("RAW", "PIRA", "undefined")
            assert e.onset.value > e.baseline.value
        if e.cdw_type == "RAW":
            assert any(0 <= (e.onset.date - r).days <= 90 for r in relapses), (
                "a RAW onset has a relapse onset within 90 days before it"
            )
            assert e.relapses
        if e.cdw_type == "PIRA":
            assert e.pira_confirmation is not None
            assert e.pira_confirmation.date >= e.confirmation.date
            # Relapses more than 30 days before the first visit are ignored [spec §2.2].
            considered = [r for r in relapses if (visits[0].date - r).days <= 30]
            assert all(
                0 > (e.onset.date - r).days or (e.onset.date - r).days > 90 for r in considered
            )
        else:
            assert e.pira_confirmations == ()
        if e.cdw_type == "undefined":
            assert e.relapses
        wanted = {
            "first-worsening": "worsening",
            "first-improvement": "improvement",
        }.get(d.events)
        if wanted:
            assert e.kind == wanted
        if d.events in ("first-pira", "first-raw"):
            assert e.cdw_type == d.events.removeprefix("first-").upper()


@settings(max_examples=200, deadline=None)
@given(patients(), definitions(), st.randoms())
def test_input_order_does_not_matter(
    p: tuple[list[Visit], list[dt.date]], d: Definition, rnd: random.Random
) -> None:
    visits, relapses = p
    shuffled = list(visits)
    rnd.shuffle(shuffled)
    rel = list(relapses)
    rnd.shuffle(rel)
    assert assess(shuffled, rel, d) == assess(visits, relapses, d)


@settings(max_examples=200, deadline=None)
@given(patients())
def test_fixed_first_worsening_is_the_earliest_confirmed_worsening_of_multiple(
    p: tuple[list[Visit], list[dt.date]],
) -> None:
    visits, relapses = p
    first = assess(visits, relapses, definition(baseline="fixed", events="first-worsening"))
    every = assess(visits, relapses, definition(baseline="fixed", events="multiple"))
    worsening = [e for e in every if e.kind == "worsening"]
    assert first == tuple(worsening[:1])

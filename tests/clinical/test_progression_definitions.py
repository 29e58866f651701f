"""Definitions as values, and the plain-language texts of definitions and events."""

from __future__ import annotations

from monitoring.clinical.definitions import PRESETS, Definition, definition
from monitoring.clinical.explain import explain_definition, explain_event
from tests.clinical.progression_helpers import run, visits


def test_every_preset_names_its_relapse_free_intervals() -> None:
    expected = {
        "muller2023": "from onset - 90 days to onset + 30 days; from the confirmation visit - "
        "90 days to the confirmation visit + 30 days",
        "muller2023-strict": "from the baseline to the confirmation visit",
        "kappos2020": "from the baseline to onset + 30 days; from the confirmation visit - 30 "
        "days to the confirmation visit + 30 days",
        "cagol2022": "from onset - 90 days to the confirmation visit",
        "muller2025": "from the last visit before onset to onset",
        "portaccio2025": "from onset - 90 days to onset + 30 days",
    }
    assert set(expected) == set(PRESETS)
    for name, intervals in expected.items():
        text = explain_definition(definition(name))
        assert intervals in text, name
        assert f"Definition {name!r}" in text


def test_definition_text_follows_the_settings() -> None:
    default = explain_definition(definition())
    assert "84 days (a visit 77 to 814.5 days after onset)" in default
    assert "moves to the confirmation visit after every confirmed event" in default
    assert "at most 90 days after a relapse onset" in default
    assert "Reported: all confirmed events" in default
    assert "Sustained" not in default
    other = explain_definition(
        definition(
            "portaccio2025",
            outcome="sdmt",
            baseline="fixed",
            events="first-pira",
            confirm_tolerance=(0, float("inf")),
            require_sustained_days=168,
            relapse_rebaseline=True,
        )
    )
    assert "168 days (a visit 168 days or more after onset)" in other
    assert "worsening is a decrease" in other
    assert "does not move" in other
    assert "for 168 days after onset" in other
    assert "the first PIRA only" in other
    assert "re-set to the first allowed visit after the relapse" in other


def test_event_texts_give_the_deciding_visits_and_relapses() -> None:
    d = definition()
    pira = run(visits((0, 2.0), (100, 3.0), (190, 3.0), (300, 3.0)), relapses=(205,))[0]
    text = explain_event(pira, d)
    assert text.startswith(
        "Confirmed worsening (PIRA): EDSS 3.0 on 2020-04-10, +1 from the "
        "baseline 2.0 of 2020-01-01; confirmed on 2020-07-09"
    )
    assert "for the confirmation of 2020-10-27" in text
    raw = run(visits((0, 2.0), (100, 3.0), (190, 3.0)), relapses=(100,))[0]
    assert "relapse onset 2020-04-10 within the RAW window" in explain_event(raw, d)
    undefined = run(visits((0, 2.0), (100, 3.0), (190, 3.0)), relapses=(120,))[0]
    assert undefined.cdw_type == "undefined"
    assert "because of relapse onset 2020-04-30" in explain_event(undefined, d)
    down = run(visits((0, 4.0), (100, 3.0), (190, 3.0)))[0]
    assert explain_event(down, d).startswith("Confirmed improvement: EDSS 3.0 on 2020-04-10, -1")


def test_definition_round_trips_through_json() -> None:
    import json

    d = definition(
        "muller2025",
        baseline="fixed",
        confirm_days=[168, 84],
        relapse_to_baseline=[60, 10],
        confirm_tolerance=(0, float("inf")),
    )
    assert d.confirm_days == (84, 168)
    assert d.relapse_to_baseline == (60.0, 10.0)
    again = Definition.from_dict(json.loads(json.dumps(d.as_dict())))
    assert again == d
    assert hash(again) == hash(d)

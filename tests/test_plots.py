"""The patient's timeline figure: valid Plotly, and drawn in the units it claims."""

from __future__ import annotations

import datetime as dt

from plotly import graph_objects as go

from clinic import plots

D = dt.date


def _timeline(**fields) -> plots.Timeline:
    return plots.Timeline(
        **{"start": D(2018, 1, 1), "end": D(2026, 6, 1), "birth_date": D(1975, 6, 15), **fields}
    )


def _traces(figure, name: str) -> list[dict]:
    return [trace for trace in figure["data"] if trace["name"].startswith(name)]


def test_the_figure_is_valid_plotly_with_titled_axes_sharing_time():
    data = _timeline(
        edss=[(D(2019, 1, 1), 2.0), (D(2019, 7, 1), 3.5), (D(2020, 1, 1), 4.0)],
        relapses=[D(2019, 3, 1)],
        courses=[plots.Course(D(2018, 6, 1), None, "Ocrelizumab")],
        rebaseline=D(2018, 12, 1),
        changes=[
            plots.Change("RAW", (D(2019, 1, 1), 2.0), (D(2019, 7, 1), 3.5), (D(2020, 1, 1), 4.0))
        ],
        scans=[plots.Scan(D(2019, 1, 1), 0, None, None), plots.Scan(D(2020, 1, 1), 2, 1, -0.3)],
        nfl=[plots.Nfl(D(2019, 2, 1), 9.0, "serum", "simoa")],
        functional=[plots.Functional(D(2019, 1, 1), 5.1, 20.3, 50)],
    )
    figure = plots.timeline(data, functional=True)
    go.Figure(figure)  # raises on anything Plotly does not know
    layout = figure["layout"]
    titles = [layout[f"yaxis{n if n > 1 else ''}"]["title"]["text"] for n in range(1, 6)]
    assert titles == ["EDSS", "Lesions", "PBVC %/year", "NfL pg/mL", "Tests"]
    assert {trace["xaxis"] for trace in figure["data"]} == {"x"}
    raw = _traces(figure, "RAW")[-1]
    assert (raw["x"], raw["y"], raw["text"]) == (["2020-01-01"], [4.0], ["RAW"])
    assert "Ocrelizumab" in [note["text"] for note in layout["annotations"]]
    assert "T25FW" not in str(plots.timeline(data)["data"])


def test_brain_volume_is_annualized_in_the_threshold_units():
    # -0.3 % over six months is -0.6 %/year: beyond the -0.4 %/year line, not above it.
    scans = [plots.Scan(D(2020, 1, 1), 0, 0, None), plots.Scan(D(2020, 7, 1), 0, 0, -0.3)]
    figure = plots.timeline(_timeline(scans=scans))
    (pbvc,) = _traces(figure, "Brain volume")
    assert pbvc["x"] == ["2020-07-01"] and pbvc["y"][0] < -0.59
    (limit,) = _traces(figure, "NEDA-4 limit")
    assert set(limit["y"]) == {-0.4}


def test_nfl_one_series_per_assay_and_matrix_with_the_age_limit_of_each_date():
    nfl = [
        plots.Nfl(D(2019, 1, 1), 9.0, "serum", "simoa"),
        plots.Nfl(D(2020, 1, 1), 30.0, "serum", "ella"),
        plots.Nfl(D(2021, 1, 1), 12.0, "serum", "simoa"),
        plots.Nfl(D(2021, 2, 1), 900.0, "csf", "elisa"),
    ]
    figure = plots.timeline(_timeline(nfl=nfl, end=D(2026, 12, 1)))
    series = {trace["name"]: trace["y"] for trace in _traces(figure, "NfL ")}
    assert series == {
        "NfL csf, elisa": [900.0],
        "NfL serum, ella": [30.0],
        "NfL serum, simoa": [9.0, 12.0],
    }
    (limit,) = _traces(figure, "Simoa NfL age limit")
    # Born 15 June 1975: 10 pg/mL up to 50 years, 15 from the 51st birthday to the end.
    assert list(zip(limit["x"], limit["y"], strict=True)) == [
        ("2018-01-01", 10.0),
        ("2026-06-15", 15.0),
        ("2026-12-01", 15.0),
    ]


def test_pregnancies_are_strips_on_the_edss_panel_with_their_start_and_end_across_all():
    ended = plots.Pregnancy(D(2020, 2, 1), D(2020, 10, 20), None, "Live birth", "therapy paused")
    ongoing = plots.Pregnancy(D(2026, 1, 5), None, D(2026, 10, 12), "Ongoing", "therapy washed out")
    figure = plots.timeline(_timeline(pregnancies=[ongoing, ended]))
    go.Figure(figure)
    first, second = _traces(figure, "Pregnancy")
    assert first["x"] == ["2020-02-01", "2020-10-20", "2020-10-20", "2020-02-01", "2020-02-01"]
    assert first["text"] == "Pregnancy 2020-02-01 to 2020-10-20, live birth; therapy paused"
    assert second["x"][:2] == ["2026-01-05", "2026-06-01"]  # ongoing: to the axis's end
    assert (
        second["text"] == "Pregnancy from 2026-01-05, ongoing, due 2026-10-12; therapy washed out"
    )
    assert [t["showlegend"] for t in (first, second)] == [True, False]
    assert {t["yaxis"] for t in (first, second)} == {"y"}  # the EDSS panel
    lines = [s["x0"] for s in figure["layout"]["shapes"] if s["line"].get("dash") == "dash"]
    assert sorted(lines) == ["2020-02-01", "2020-10-20", "2026-01-05"]

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
    assert second["x"][:2] == ["2026-01-05", "2026-06-01"]  # ongoing: to today
    assert (
        second["text"] == "Pregnancy from 2026-01-05, ongoing, due 2026-10-12; therapy washed out"
    )
    assert [t["showlegend"] for t in (first, second)] == [True, False]
    assert {t["yaxis"] for t in (first, second)} == {"y"}  # the EDSS panel
    lines = [s["x0"] for s in figure["layout"]["shapes"] if s["line"].get("dash") == "dash"]
    assert sorted(lines) == ["2020-02-01", "2020-10-20", "2026-01-05"]


def test_the_postpartum_months_follow_a_pregnancy_that_paused_the_therapy_fainter():
    paused = plots.Pregnancy(
        D(2020, 2, 1), D(2020, 10, 20), None, "Live birth", "therapy paused", D(2021, 1, 20)
    )
    continued = plots.Pregnancy(D(2023, 1, 1), D(2023, 9, 1), None, "Live birth", "continued")
    recent = plots.Pregnancy(
        D(2025, 6, 1), D(2026, 4, 1), None, "Live birth", "therapy paused", D(2026, 7, 1)
    )
    figure = plots.timeline(_timeline(pregnancies=[paused, continued, recent]))
    go.Figure(figure)
    first, second = _traces(figure, "Postpartum")
    assert first["x"][:2] == ["2020-10-20", "2021-01-20"]
    assert first["text"] == (
        "Postpartum to 2021-01-20: the pregnancy still explains a gap in therapy (therapy paused)"
    )
    assert second["x"][:2] == ["2026-04-01", "2026-06-01"]  # to today, not beyond
    assert first["legendgroup"] == "pregnancy" and first["yaxis"] == "y"


def _axis(figure, trace) -> dict:
    return figure["layout"]["yaxis" + trace["yaxis"][1:]]


def test_status_changes_and_adverse_events_on_a_strip_below_the_panels_in_words():
    flips = [
        plots.StatusFlip(D(2024, 3, 1), "NEDA-3 lost", "NEDA-3: met → not met.", worse=True),
        plots.StatusFlip(D(2024, 3, 1), "RAW first seen", "Confirmed worsening (RAW).", True),
        plots.StatusFlip(D(2025, 5, 2), "NEDA-3 regained", "NEDA-3: not met → met.", False),
        plots.StatusFlip(D(2010, 1, 1), "NEDA-4 lost", "before the axis", True),
    ]
    events = [
        plots.AdverseEvent(D(2023, 2, 1), "Herpes <zoster>", True, "Fingolimod", "Resolved"),
        plots.AdverseEvent(D(2022, 9, 9), "Headache", False, "", "Unknown"),
    ]
    data = _timeline(edss=[(D(2019, 1, 1), 2.0)], status_flips=flips, adverse_events=events)
    figure = plots.timeline(data)
    go.Figure(figure)
    layout = figure["layout"]
    (worse,) = _traces(figure, "NEDA lost or worsening seen")
    (better,) = _traces(figure, "NEDA regained")
    (serious,) = _traces(figure, "Serious adverse event")
    (other,) = _traces(figure, "Adverse event")
    # One marker per date, every change of that date in its hover; none off the axis.
    assert worse["x"] == ["2024-03-01"] and worse["y"] == ["status"]
    assert worse["customdata"] == [
        "NEDA-3 lost. NEDA-3: met → not met.<br>RAW first seen. Confirmed worsening (RAW)."
    ]
    assert (worse["marker"]["symbol"], better["marker"]["symbol"]) == (
        "triangle-down",
        "triangle-up",
    )
    assert better["x"] == ["2025-05-02"]
    assert serious["customdata"] == [
        "adverse event: Herpes &lt;zoster&gt; (serious, suspected Fingolimod, outcome resolved)"
    ]
    assert other["customdata"] == ["adverse event: Headache (not serious, outcome unknown)"]
    # The strip is the last panel, the one the time axis is drawn under, its rows named.
    strip = _axis(figure, worse)
    assert {t["yaxis"] for t in (worse, better, serious, other)} == {worse["yaxis"]}
    assert layout["xaxis"]["anchor"] == worse["yaxis"]
    assert strip["ticktext"] == ["Status", "Adverse<br>events"]
    assert strip["domain"][0] == 0.0 and strip["domain"][1] < layout["yaxis4"]["domain"][0]
    # Short: the four panels keep their height, the strip adds well under a panel's.
    assert 0 < layout["height"] - plots.timeline(_timeline()).get("layout")["height"] < 100


def test_comorbidities_on_a_row_of_the_strip_at_their_onset_in_words():
    comorbidities = [
        plots.Comorbidity(D(2020, 4, 1), None, "Type 2 diabetes"),
        plots.Comorbidity(D(2020, 4, 1), D(2021, 2, 1), "Depression <major>"),
        plots.Comorbidity(D(1995, 5, 1), None, "Asthma"),  # before the axis: in the table only
    ]
    events = [plots.AdverseEvent(D(2022, 9, 9), "Headache", False, "", "Unknown")]
    data = _timeline(comorbidities=comorbidities, adverse_events=events)
    figure = plots.timeline(data)
    go.Figure(figure)
    (marker,) = _traces(figure, "Comorbidity")
    assert marker["x"] == ["2020-04-01"] and marker["y"] == ["comorbidity"]
    assert marker["customdata"] == [
        "comorbidity: Type 2 diabetes (active)<br>"
        "comorbidity: Depression &lt;major&gt; (resolved 2021-02-01)"
    ]
    (event,) = _traces(figure, "Adverse event")
    assert marker["yaxis"] == event["yaxis"] == figure["layout"]["xaxis"]["anchor"]
    strip = _axis(figure, marker)
    assert strip["ticktext"] == ["Adverse<br>events", "Comor-<br>bidities"]
    assert strip["categoryarray"] == ["comorbidity", "adverse"]  # read top to bottom
    alone = plots.timeline(_timeline(comorbidities=comorbidities[2:]))
    assert "yaxis5" not in alone["layout"]  # nothing to draw: no strip


def test_no_strip_without_status_changes_or_adverse_events():
    figure = plots.timeline(_timeline(edss=[(D(2019, 1, 1), 2.0)]))
    assert figure["layout"]["xaxis"]["anchor"] == "y4" and "yaxis5" not in figure["layout"]
    assert figure["layout"]["height"] == 710
    # Room after today (the data's end): a marker of today is drawn whole.
    assert figure["layout"]["xaxis"]["range"] == ["2018-01-01", "2026-08-01"]


def test_safety_labs_on_request_one_panel_per_analyte_against_the_reference_range():
    labs = [
        plots.Lab(D(2021, 1, 5), "Lymphocytes", "/mm3", 1800.0, 1000.0, 4000.0),
        plots.Lab(D(2021, 7, 5), "Lymphocytes", "/mm3", 700.0, 1000.0, 4000.0, "", True),
        plots.Lab(D(2022, 1, 5), "Lymphocytes", "/mm3", 450.0, 1000.0, 4000.0, "", True, "grade 3"),
        plots.Lab(D(2022, 6, 1), "Lymphocytes", "/mm3", 1200.0, 900.0, 4000.0),
        plots.Lab(D(2021, 3, 3), "ALT", "U/L", 30.0, None, 40.0),
        plots.Lab(D(2020, 3, 3), "JCV antibody index", "index", 0.3, text="Negative"),
    ]
    data = _timeline(labs=labs)
    assert not _traces(plots.timeline(data), "Lymphocytes")  # not without asking
    figure = plots.timeline(data, labs=True)
    go.Figure(figure)
    layout = figure["layout"]
    labels = [n["text"] for n in layout["annotations"] if n["yref"].endswith("domain")]
    assert labels == ["ALT", "JCV antibody index", "Lymphocytes"]  # a panel each, named
    (lymphocytes,) = _traces(figure, "Lymphocytes")
    axis = _axis(figure, lymphocytes)
    assert axis["title"]["text"] == "/mm3" and axis["range"][0] == 0
    assert lymphocytes["y"] == [1800.0, 700.0, 450.0, 1200.0]
    assert lymphocytes["customdata"][0] == "Lymphocytes 1800 /mm3 (reference 1000 to 4000 /mm3)"
    assert lymphocytes["customdata"][2] == (
        "Lymphocytes 450 /mm3 (reference 1000 to 4000 /mm3), out of range: grade 3"
    )
    # The range as the lab gave it from each result on, runs of one range merged.
    bands = [
        t
        for t in figure["data"]
        if t["name"] == "Reference range (lab)" and t["yaxis"] == lymphocytes["yaxis"]
    ]
    assert [(b["x"][0], b["x"][1], b["y"][0], b["y"][2]) for b in bands] == [
        ("2021-01-05", "2022-06-01", 1000.0, 4000.0),
        ("2022-06-01", "2026-06-01", 900.0, 4000.0),
    ]
    (outside,) = _traces(figure, "Lab result out of range")
    assert outside["x"] == ["2021-07-05", "2022-01-05"] and outside["yaxis"] == lymphocytes["yaxis"]
    # A range with only an upper limit is drawn from zero; no range, no band.
    (alt,) = _traces(figure, "ALT")
    [alt_band] = [b for b in _traces(figure, "Reference range") if b["yaxis"] == alt["yaxis"]]
    assert (alt_band["y"][0], alt_band["y"][2]) == (0.0, 40.0)
    (jcv,) = _traces(figure, "JCV antibody index")
    assert jcv["customdata"] == ["JCV antibody index 0.3, negative (no reference range given)"]
    assert not [b for b in _traces(figure, "Reference range") if b["yaxis"] == jcv["yaxis"]]
    # One legend entry for all the bands, one for all the marks.
    assert [t["showlegend"] for t in _traces(figure, "Reference range")] == [True, False, False]

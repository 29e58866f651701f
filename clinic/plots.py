"""The patient's timeline: stacked Plotly panels sharing one time axis, one small function per
panel. Inputs are plain values so the figure is testable without a database; the page draws
the figure's JSON with the plotly.min.js that the `plotly` package ships (served as a static
file, nothing fetched from the internet).

The figure is built as plain Plotly JSON rather than through `plotly.graph_objects`, whose
validation took ~350 ms for one patient's figure; the tests validate it with graph_objects.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitoring.clinical import thresholds as t
from monitoring.clinical.atrophy import years_between
from monitoring.clinical.nfl import SIMREN_ASSAY, age_on, simren_limit
from monitoring.clinical.rebaseline import add_months

# Okabe & Ito's palette: told apart with every common colour-vision deficiency and in grey.
BLACK, ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILION, PURPLE = (
    "#000000",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
)
SERIES = (BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILION)
CHANGE_COLOURS = {"PIRA": VERMILION, "RAW": ORANGE, "CDI": GREEN}
PANEL_HEIGHT = 150
BAR_DAYS = 40


@dataclass(frozen=True, slots=True)
class Course:
    start: dt.date
    end: dt.date | None
    label: str


@dataclass(frozen=True, slots=True)
class Change:
    """A confirmed change: the baseline held until the confirmation, the confirming visit's
    value, labelled RAW, PIRA, undefined or CDI (improvement)."""

    label: str
    baseline: tuple[dt.date, float]
    onset: tuple[dt.date, float]
    confirmation: tuple[dt.date, float]


@dataclass(frozen=True, slots=True)
class Scan:
    date: dt.date
    new_t2: int
    gd_enhancing: int | None
    pbvc: float | None


@dataclass(frozen=True, slots=True)
class Nfl:
    date: dt.date
    value: float
    matrix: str
    assay: str


@dataclass(frozen=True, slots=True)
class Functional:
    date: dt.date
    t25fw: float | None
    nhpt: float | None
    sdmt: int | None


@dataclass(frozen=True, slots=True)
class Pregnancy:
    """A pregnancy [§7.2]; `end` None while ongoing. `outcome` and `therapy` in words
    ("Live birth", "therapy paused")."""

    start: dt.date
    end: dt.date | None
    due_date: dt.date | None
    outcome: str
    therapy: str

    @property
    def text(self) -> str:
        if self.end is None:
            due = f", due {_iso(self.due_date)}" if self.due_date else ""
            span = f"from {_iso(self.start)}, ongoing{due}"
        else:
            span = f"{_iso(self.start)} to {_iso(self.end)}, {self.outcome.lower()}"
        return f"Pregnancy {span}; {self.therapy}"


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything the timeline draws, for one patient."""

    start: dt.date
    end: dt.date
    birth_date: dt.date
    edss: Sequence[tuple[dt.date, float]] = ()
    relapses: Sequence[dt.date] = ()
    courses: Sequence[Course] = ()
    rebaseline: dt.date | None = None
    changes: Sequence[Change] = ()
    scans: Sequence[Scan] = ()
    nfl: Sequence[Nfl] = ()
    functional: Sequence[Functional] = ()
    pregnancies: Sequence[Pregnancy] = ()


@dataclass(frozen=True, slots=True)
class Panel:
    traces: list[dict[str, Any]]
    yaxis: dict[str, Any]


def _iso(day: dt.date) -> str:
    return day.isoformat()


def scatter(**fields: Any) -> dict[str, Any]:
    return {"type": "scatter", **fields}


def bar(**fields: Any) -> dict[str, Any]:
    return {"type": "bar", **fields}


def edss_panel(data: Timeline) -> Panel:
    """EDSS over time, relapses on the axis, each confirmed change with its baseline and
    the confirming visit's value."""
    traces: list[dict[str, Any]] = []
    traces.append(
        scatter(
            x=[_iso(d) for d, _ in data.edss],
            y=[v for _, v in data.edss],
            mode="lines+markers",
            name="EDSS",
            line={"color": BLUE, "width": 2},
            hovertemplate="%{x|%d %b %Y}: EDSS %{y}<extra></extra>",
        )
    )
    if data.relapses:
        traces.append(
            scatter(
                x=[_iso(d) for d in data.relapses],
                y=[0.25] * len(data.relapses),
                mode="markers",
                name="Relapse",
                marker={"symbol": "triangle-up", "size": 12, "color": VERMILION},
                hovertemplate="Relapse, onset %{x|%d %b %Y}<extra></extra>",
            )
        )
    for change in data.changes:
        (b_day, b_value), (o_day, o_value), (c_day, c_value) = (
            change.baseline,
            change.onset,
            change.confirmation,
        )
        colour = CHANGE_COLOURS.get(change.label, BLACK)
        traces.append(
            scatter(
                x=[_iso(b_day), _iso(c_day)],
                y=[b_value, b_value],
                mode="lines",
                line={"color": colour, "dash": "dot", "width": 2},
                name=f"{change.label} baseline",
                legendgroup=change.label,
                showlegend=False,
                hovertemplate=f"{change.label} baseline EDSS {b_value:g}<extra></extra>",
            )
        )
        traces.append(
            scatter(
                x=[_iso(c_day)],
                y=[c_value],
                mode="markers+text",
                text=[change.label],
                textposition="top center",
                textfont={"color": colour, "size": 13},
                marker={
                    "symbol": "diamond-open",
                    "size": 14,
                    "color": colour,
                    "line": {"width": 3},
                },
                name=change.label,
                legendgroup=change.label,
                hovertemplate=(
                    f"{change.label}: baseline {b_value:g} ({_iso(b_day)}), onset {o_value:g} "
                    f"({_iso(o_day)}), confirmed {c_value:g} ({_iso(c_day)})<extra></extra>"
                ),
            )
        )
    traces += pregnancy_traces(data)
    return Panel(traces, {"title": {"text": "EDSS"}, "range": [0, 10], "dtick": 2})


PREGNANCY_BAND = (9.3, 9.9)  # EDSS units: a strip at the top of the EDSS panel


def pregnancy_traces(data: Timeline) -> list[dict[str, Any]]:
    """Each pregnancy as a strip at the top of the EDSS panel, from its start to its end (to
    today while ongoing), that answers pointing anywhere on it; one legend entry for all."""
    low, high = PREGNANCY_BAND
    traces = []
    for index, p in enumerate(sorted(data.pregnancies, key=lambda p: p.start)):
        start, end = _iso(max(p.start, data.start)), _iso(p.end or data.end)
        traces.append(
            scatter(
                x=[start, end, end, start, start],
                y=[low, low, high, high, low],
                mode="lines",
                fill="toself",
                fillcolor="rgba(204, 121, 167, 0.45)",  # PURPLE, see-through
                line={"color": PURPLE, "width": 1},
                name="Pregnancy",
                legendgroup="pregnancy",
                showlegend=index == 0,
                hoveron="fills",
                text=p.text,
                hoverinfo="text",
            )
        )
    return traces


def mri_panel(data: Timeline) -> Panel:
    """New or enlarging T2 and Gd-enhancing lesions per scan, stacked (Gd+ unknown when the
    scan had no contrast)."""
    traces: list[dict[str, Any]] = []
    x = [_iso(s.date) for s in data.scans]
    # A date axis sizes bars by the gap between scans; a fixed width keeps them bars.
    width = [BAR_DAYS * 86_400_000] * len(data.scans)
    traces.append(
        bar(
            x=x,
            y=[s.new_t2 for s in data.scans],
            width=width,
            name="New/enlarging T2",
            marker={"color": SKY},
            hovertemplate="%{x|%d %b %Y}: %{y} new/enlarging T2<extra></extra>",
        )
    )
    traces.append(
        bar(
            x=x,
            y=[s.gd_enhancing or 0 for s in data.scans],
            customdata=[
                "no contrast" if s.gd_enhancing is None else s.gd_enhancing for s in data.scans
            ],
            width=width,
            name="Gd-enhancing",
            marker={"color": VERMILION},
            hovertemplate="%{x|%d %b %Y}: Gd-enhancing %{customdata}<extra></extra>",
        )
    )
    high = max([4, *(s.new_t2 + (s.gd_enhancing or 0) for s in data.scans)])
    return Panel(traces, {"title": {"text": "Lesions"}, "range": [0, high + 1]})


def annualized_pbvc(scans: Sequence[Scan]) -> list[tuple[dt.date, float]]:
    """Each scan pair's PBVC per year of its interval, at the later scan: the unit of the
    NEDA-4 threshold (-0.4 %/year)."""
    ordered = sorted(scans, key=lambda s: s.date)
    return [
        (later.date, later.pbvc / float(years_between(earlier.date, later.date)))
        for earlier, later in itertools.pairwise(ordered)
        if later.pbvc is not None and later.date > earlier.date
    ]


def brain_volume_panel(data: Timeline) -> Panel:
    traces: list[dict[str, Any]] = []
    points = annualized_pbvc(data.scans)
    traces.append(
        scatter(
            x=[_iso(d) for d, _ in points],
            y=[round(v, 2) for _, v in points],
            mode="markers",
            name="Brain volume change",
            marker={"color": PURPLE, "size": 9, "symbol": "square"},
            hovertemplate="%{x|%d %b %Y}: %{y:.2f} %/year<extra></extra>",
        )
    )
    traces.append(
        scatter(
            x=[_iso(data.start), _iso(data.end)],
            y=[t.NEDA4_PBVC_PER_YEAR] * 2,
            mode="lines",
            name=f"NEDA-4 limit {t.NEDA4_PBVC_PER_YEAR:g} %/year",
            line={"color": BLACK, "dash": "dash", "width": 1},
            hoverinfo="skip",
        )
    )
    values = [v for _, v in points] + [t.NEDA4_PBVC_PER_YEAR]
    low, high = min(-1.0, min(values) - 0.3), max(0.5, max(values) + 0.3)
    return Panel(traces, {"title": {"text": "PBVC %/year"}, "range": [low, high]})


def age_limit_steps(birth_date: dt.date, start: dt.date, end: dt.date) -> list[tuple[str, float]]:
    """The Simoa serum age limit as it was on each day from start to end: a step at each
    birthday where the age band changes (None below the youngest band is left out)."""
    birthdays = [
        add_months(birth_date, 12 * age)
        for age in range(age_on(birth_date, start), age_on(birth_date, end) + 1)
    ]
    days = [start, *birthdays]
    steps: list[tuple[str, float]] = []
    for day in sorted(d for d in days if start <= d <= end):
        limit = simren_limit(age_on(birth_date, day))
        if limit is not None and (not steps or steps[-1][1] != limit):
            steps.append((_iso(day), limit))
    if steps:
        steps.append((_iso(end), steps[-1][1]))
    return steps


def nfl_panel(data: Timeline) -> Panel:
    """One series per matrix and assay (their values are not comparable), and the Simoa
    age limit as it was at each date (it applies to Simoa serum and plasma only)."""
    traces: list[dict[str, Any]] = []
    kinds = sorted({(s.matrix, s.assay) for s in data.nfl})
    for index, (matrix, assay) in enumerate(kinds):
        samples = [s for s in data.nfl if (s.matrix, s.assay) == (matrix, assay)]
        traces.append(
            scatter(
                x=[_iso(s.date) for s in samples],
                y=[s.value for s in samples],
                mode="lines+markers",
                name=f"NfL {matrix}, {assay}",
                line={"color": SERIES[(index + 1) % len(SERIES)]},
                hovertemplate=f"%{{x|%d %b %Y}}: %{{y}} pg/mL ({matrix}, {assay})<extra></extra>",
            )
        )
    if any(s.assay == SIMREN_ASSAY and s.matrix != "csf" for s in data.nfl):
        steps = age_limit_steps(data.birth_date, data.start, data.end)
        traces.append(
            scatter(
                x=[day for day, _ in steps],
                y=[limit for _, limit in steps],
                mode="lines",
                line={"color": BLACK, "dash": "dash", "width": 1, "shape": "hv"},
                name="Simoa NfL age limit (serum, plasma)",
                hovertemplate="age limit %{y} pg/mL from %{x|%d %b %Y}<extra></extra>",
            )
        )
    return Panel(traces, {"title": {"text": "NfL pg/mL"}, "rangemode": "tozero"})


def functional_panel(data: Timeline) -> Panel:
    """T25FW and 9HPT in seconds; SDMT (a score, not seconds) on its own hover."""
    traces: list[dict[str, Any]] = []
    tests = (("t25fw", "T25FW (s)", GREEN), ("nhpt", "9HPT (s)", ORANGE), ("sdmt", "SDMT", PURPLE))
    for field, name, colour in tests:
        points = [(f.date, getattr(f, field)) for f in data.functional]
        points = [(d, v) for d, v in points if v is not None]
        traces.append(
            scatter(
                x=[_iso(d) for d, _ in points],
                y=[v for _, v in points],
                mode="lines+markers",
                name=name,
                line={"color": colour},
                hovertemplate=f"%{{x|%d %b %Y}}: {name} %{{y}}<extra></extra>",
            )
        )
    return Panel(traces, {"title": {"text": "Tests"}, "rangemode": "tozero"})


def _courses(data: Timeline) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Therapy bands across every panel, labelled at the top; the re-baseline as a line;
    each pregnancy's start and end as dashed lines across every panel (monitoring and
    therapy often pause in between)."""
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for index, course in enumerate(data.courses):
        start = _iso(max(course.start, data.start))
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": start,
                "x1": _iso(course.end or data.end),
                "y0": 0,
                "y1": 1,
                "fillcolor": (GREEN, SKY, YELLOW, PURPLE)[index % 4],
                "opacity": 0.12,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        notes.append(_note(start, 1.0, course.label, 12))
    if data.rebaseline is not None:
        day = _iso(data.rebaseline)
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": day,
                "x1": day,
                "y0": 0,
                "y1": 1,
                "line": {"color": BLACK, "dash": "dot", "width": 1},
            }
        )
        notes.append(_note(day, 0.0, "re-baseline", 11))
    for p in data.pregnancies:
        for edge in (p.start, p.end):
            if edge is not None and data.start <= edge <= data.end:
                shapes.append(
                    {
                        "type": "line",
                        "xref": "x",
                        "yref": "paper",
                        "x0": _iso(edge),
                        "x1": _iso(edge),
                        "y0": 0,
                        "y1": 1,
                        "line": {"color": PURPLE, "dash": "dash", "width": 1},
                    }
                )
    return shapes, notes


def _note(x: str, y: float, text: str, size: int) -> dict[str, Any]:
    return {
        "x": x,
        "y": y,
        "xref": "x",
        "yref": "paper",
        "text": text,
        "showarrow": False,
        "xanchor": "left",
        "yanchor": "bottom",
        "font": {"size": size},
    }


GAP = 0.035


def timeline(data: Timeline, *, functional: bool = False) -> dict[str, Any]:
    """The figure as Plotly JSON: stacked panels, top to bottom, sharing one time axis."""
    panels = [edss_panel(data), mri_panel(data), brain_volume_panel(data), nfl_panel(data)]
    if functional:
        panels.append(functional_panel(data))
    weights = [1.6] + [1.0] * (len(panels) - 1)
    unit = (1 - GAP * (len(panels) - 1)) / sum(weights)
    traces: list[dict[str, Any]] = []
    layout: dict[str, Any] = {}
    top = 1.0
    for number, (panel, weight) in enumerate(zip(panels, weights, strict=True), start=1):
        name = "y" if number == 1 else f"y{number}"
        bottom = max(0.0, top - weight * unit)
        layout[f"yaxis{'' if number == 1 else number}"] = {
            **panel.yaxis,
            "domain": [bottom, top],
            "gridcolor": "#e3e8ee",
            "zeroline": False,
        }
        traces += [{**trace, "xaxis": "x", "yaxis": name} for trace in panel.traces]
        top = bottom - GAP
    shapes, notes = _courses(data)
    layout.update(
        xaxis={
            "type": "date",
            "range": [_iso(data.start), _iso(data.end)],
            "anchor": f"y{len(panels)}",
            "showgrid": True,
            "gridcolor": "#e3e8ee",
        },
        shapes=shapes,
        annotations=notes,
        height=110 + PANEL_HEIGHT * len(panels),
        margin={"l": 70, "r": 10, "t": 30, "b": 30},
        barmode="stack",
        hovermode="closest",
        legend={"orientation": "h", "y": -0.06, "yanchor": "top", "font": {"size": 12}},
        font={"family": "system-ui, sans-serif", "size": 13, "color": "#1d2733"},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
    )
    return {"data": traces, "layout": layout}

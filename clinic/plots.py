"""The patient's timeline: stacked Plotly panels sharing one time axis, one small function per
panel (EDSS, MRI, brain volume, NfL; T25FW/9HPT/SDMT and the safety labs on request; a strip
of status changes, adverse events and comorbidities). Inputs are plain values so the figure
is testable without a database; the page draws the figure's JSON with the plotly.min.js that
the `plotly` package ships (served as a static file, nothing fetched from the internet).

The figure is built as plain Plotly JSON rather than through `plotly.graph_objects`, whose
validation took ~350 ms for one patient's figure; the tests validate it with graph_objects.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
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
PANEL_HEIGHT = 116  # px of a panel of weight 1
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
    # The last postpartum day of the gap in therapy it explains (None: ongoing, or the
    # therapy continued through it).
    postpartum_end: dt.date | None = None

    @property
    def text(self) -> str:
        if self.end is None:
            due = f", due {_iso(self.due_date)}" if self.due_date else ""
            span = f"from {_iso(self.start)}, ongoing{due}"
        else:
            span = f"{_iso(self.start)} to {_iso(self.end)}, {self.outcome.lower()}"
        return f"Pregnancy {span}; {self.therapy}"


@dataclass(frozen=True, slots=True)
class StatusFlip:
    """A change of the stored status (NEDA-3/NEDA-4 lost or regained, a confirmed worsening
    first seen) on the date of the status that changed, in words."""

    date: dt.date
    kind: str
    explanation: str
    worse: bool


@dataclass(frozen=True, slots=True)
class AdverseEvent:
    """An adverse event [§7.2]; `therapy` the suspected one's name ("" when none is),
    `outcome` in words."""

    date: dt.date
    term: str
    serious: bool
    therapy: str
    outcome: str

    @property
    def text(self) -> str:
        parts = ["serious" if self.serious else "not serious"]
        if self.therapy:
            parts.append(f"suspected {self.therapy}")
        parts.append(f"outcome {self.outcome.lower()}")
        return f"{self.term} ({', '.join(parts)})"


@dataclass(frozen=True, slots=True)
class Comorbidity:
    """A comorbidity [§7.2]; `resolved` None while active."""

    onset: dt.date
    resolved: dt.date | None
    condition: str

    @property
    def text(self) -> str:
        course = f"resolved {_iso(self.resolved)}" if self.resolved else "active"
        return f"{self.condition} ({course})"


@dataclass(frozen=True, slots=True)
class Lab:
    """A numeric lab result in its analyte's catalogue unit, with the lab's reference range
    and whether the page marks it out of range (the range, a text result or the engine)."""

    date: dt.date
    analyte: str
    unit: str
    value: float
    low: float | None = None
    high: float | None = None
    text: str = ""
    out_of_range: bool = False
    reason: str = ""


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
    status_flips: Sequence[StatusFlip] = ()
    adverse_events: Sequence[AdverseEvent] = ()
    comorbidities: Sequence[Comorbidity] = ()
    labs: Sequence[Lab] = ()


@dataclass(frozen=True, slots=True)
class Panel:
    """A panel's traces and y axis; `weight` is its height against a full panel's, `label`
    a name written in its top left corner (the axis title then carries the unit)."""

    traces: list[dict[str, Any]]
    yaxis: dict[str, Any]
    weight: float = 1.0
    label: str = ""


def _iso(day: dt.date) -> str:
    return day.isoformat()


def scatter(**fields: Any) -> dict[str, Any]:
    return {"type": "scatter", **fields}


def band(x0: str, x1: str, y0: float, y1: float, **fields: Any) -> dict[str, Any]:
    """A filled rectangle from x0 to x1 and y0 to y1 that can answer pointing at it."""
    return scatter(
        x=[x0, x1, x1, x0, x0], y=[y0, y0, y1, y1, y0], mode="lines", fill="toself", **fields
    )


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
    return Panel(traces, {"title": {"text": "EDSS"}, "range": [0, 10], "dtick": 2}, weight=1.6)


PREGNANCY_BAND = (9.3, 9.9)  # EDSS units: a strip at the top of the EDSS panel


def pregnancy_traces(data: Timeline) -> list[dict[str, Any]]:
    """Each pregnancy as a strip at the top of the EDSS panel, from its start to its end (to
    today while ongoing), that answers pointing anywhere on it; one legend entry for all.
    The postpartum months in which it still explains a gap in therapy follow it, fainter."""
    low, high = PREGNANCY_BAND
    traces = []
    for index, p in enumerate(sorted(data.pregnancies, key=lambda p: p.start)):
        start, end = _iso(max(p.start, data.start)), _iso(p.end or data.end)
        traces.append(
            band(
                start,
                end,
                low,
                high,
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
        if p.end is not None and p.postpartum_end is not None and p.end < data.end:
            traces.append(
                band(
                    _iso(max(p.end, data.start)),
                    _iso(min(p.postpartum_end, data.end)),
                    low,
                    high,
                    fillcolor="rgba(204, 121, 167, 0.15)",  # PURPLE, fainter
                    line={"color": PURPLE, "width": 1, "dash": "dot"},
                    name="Postpartum",
                    legendgroup="pregnancy",
                    showlegend=False,
                    hoveron="fills",
                    text=(
                        f"Postpartum to {_iso(p.postpartum_end)}: the pregnancy still explains "
                        f"a gap in therapy ({p.therapy})"
                    ),
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


def _range_words(low: float | None, high: float | None, unit: str) -> str:
    if low is not None and high is not None:
        return f"reference {low:g} to {high:g} {unit}"
    if low is not None:
        return f"reference ≥ {low:g} {unit}"
    if high is not None:
        return f"reference ≤ {high:g} {unit}"
    return "no reference range given"


def _lab_words(lab: Lab) -> str:
    """A result in words: "Lymphocytes 700 /mm3 (reference 1000 to 4000 /mm3), out of range";
    a unit the name already says is left out ("Anti-JCV antibody index 0.3, negative")."""
    unit = "" if lab.analyte.lower().endswith(lab.unit.lower()) else lab.unit
    value = f"{lab.value:g} {unit}".strip() + (f", {lab.text.lower()}" if lab.text else "")
    words = f"{lab.analyte} {value} ({_range_words(lab.low, lab.high, lab.unit)})"
    if lab.out_of_range:
        words += ", out of range" + (f": {lab.reason}" if lab.reason else "")
    return escape(words)  # Plotly reads tags in hover text


def _range_bands(
    labs: Sequence[Lab], end: dt.date, top: float
) -> list[tuple[str, str, float, float]]:
    """The lab's reference range as it was from each result to the next (the last's to
    `end`, today), runs of one range merged: (from, to, low, high). A one-sided range is
    drawn from zero or up to the panel's top."""
    bands: list[tuple[str, str, float, float]] = []
    for lab, following in itertools.zip_longest(labs, labs[1:]):
        if lab.low is None and lab.high is None:
            continue
        low = lab.low if lab.low is not None else 0.0
        high = lab.high if lab.high is not None else top
        until = _iso(following.date if following is not None else end)
        if bands and bands[-1][1] == _iso(lab.date) and bands[-1][2:] == (low, high):
            bands[-1] = (bands[-1][0], until, low, high)
        else:
            bands.append((_iso(lab.date), until, low, high))
    return bands


def lab_panels(data: Timeline) -> list[Panel]:
    """One short panel per analyte with numeric results (on request): the values in the
    catalogue unit against the lab's reference range, those out of range marked with another
    colour and shape. Text-only results (serologies, urinalysis) are in the labs table."""
    panels: list[Panel] = []
    shown: set[str] = set()  # legend groups with their one legend entry
    analytes = sorted({lab.analyte for lab in data.labs})
    for analyte in analytes:
        labs = sorted((lab for lab in data.labs if lab.analyte == analyte), key=lambda x: x.date)
        unit = labs[-1].unit
        limits = [v for lab in labs for v in (lab.low, lab.high) if v is not None]
        top = max([lab.value for lab in labs] + limits) * 1.15 or 1.0
        traces: list[dict[str, Any]] = []
        for start, until, low, high in _range_bands(labs, data.end, top):
            traces.append(
                band(
                    start,
                    until,
                    low,
                    high,
                    # Grey: the therapy bands behind are coloured.
                    fillcolor="rgba(29, 39, 51, 0.13)",
                    line={"color": "rgba(29, 39, 51, 0.45)", "width": 1, "dash": "dot"},
                    name="Reference range (lab)",
                    legendgroup="reference-range",
                    showlegend=_first("reference-range", shown),
                    hoverinfo="skip",
                )
            )
        traces.append(
            scatter(
                x=[_iso(lab.date) for lab in labs],
                y=[lab.value for lab in labs],
                customdata=[_lab_words(lab) for lab in labs],
                mode="lines+markers",
                name=analyte,
                showlegend=False,
                line={"color": BLUE, "width": 1},
                marker={"color": BLUE, "size": 7},
                hovertemplate="%{x|%d %b %Y}: %{customdata}<extra></extra>",
            )
        )
        outside = [lab for lab in labs if lab.out_of_range]
        if outside:
            traces.append(
                scatter(
                    x=[_iso(lab.date) for lab in outside],
                    y=[lab.value for lab in outside],
                    customdata=[_lab_words(lab) for lab in outside],
                    mode="markers",
                    name="Lab result out of range",
                    legendgroup="out-of-range",
                    showlegend=_first("out-of-range", shown),
                    marker={
                        "color": VERMILION,
                        "size": 11,
                        "symbol": "diamond",
                        "line": {"color": BLACK, "width": 1},
                    },
                    hovertemplate="%{x|%d %b %Y}: %{customdata}<extra></extra>",
                )
            )
        panels.append(
            Panel(
                traces,
                {"title": {"text": unit, "font": {"size": 12}}, "range": [0, top], "nticks": 4},
                weight=LAB_WEIGHT,
                label=analyte,
            )
        )
    return panels


LAB_WEIGHT = 0.7


def _first(group: str, shown: set[str]) -> bool:
    """True once per legend group: the entry that stands for all its traces."""
    first = group not in shown
    shown.add(group)
    return first


STATUS_ROW, ADVERSE_ROW, COMORBIDITY_ROW = "status", "adverse", "comorbidity"
ROW_NAMES = {
    STATUS_ROW: "Status",
    ADVERSE_ROW: "Adverse<br>events",
    COMORBIDITY_ROW: "Comor-<br>bidities",
}


# (whether it is bad news or serious, legend name, marker)
FLIP_MARKERS: tuple[tuple[bool, str, dict[str, Any]], ...] = (
    (True, "NEDA lost or worsening seen", {"symbol": "triangle-down", "color": VERMILION}),
    (False, "NEDA regained", {"symbol": "triangle-up", "color": GREEN}),
)
EVENT_MARKERS: tuple[tuple[bool, str, dict[str, Any]], ...] = (
    (True, "Serious adverse event", {"symbol": "star", "color": VERMILION, "size": 15}),
    (False, "Adverse event", {"symbol": "circle", "color": ORANGE}),
)
COMORBIDITY_MARKER = {"symbol": "square", "color": BLUE}


def _markers(
    items: Sequence[tuple[dt.date, str]], row: str, name: str, marker: dict[str, Any]
) -> dict[str, Any]:
    """One marker a date on the strip's row, its hover listing that date's items in words
    (several on one date would hide each other)."""
    days: dict[dt.date, list[str]] = {}
    for day, words in sorted(items, key=lambda item: item[0]):
        days.setdefault(day, []).append(escape(words))  # Plotly reads tags in hover text
    return scatter(
        x=[_iso(day) for day in days],
        y=[row] * len(days),
        customdata=["<br>".join(words) for words in days.values()],
        mode="markers",
        name=name,
        marker={"size": 12, "line": {"color": BLACK, "width": 1}, **marker},
        hovertemplate="%{x|%d %b %Y}: %{customdata}<extra></extra>",
    )


def events_panel(data: Timeline) -> Panel | None:
    """A strip on the time axis: changes of the stored status (NEDA lost, a worsening first
    seen; NEDA regained), adverse events and the onsets of comorbidities, in words when
    pointed at. None without any."""
    flips = [f for f in data.status_flips if data.start <= f.date <= data.end]
    events = [e for e in data.adverse_events if data.start <= e.date <= data.end]
    onsets = [m for m in data.comorbidities if data.start <= m.onset <= data.end]
    traces: list[dict[str, Any]] = []
    for worse, name, marker in FLIP_MARKERS:
        said = [(f.date, f"{f.kind}. {f.explanation}") for f in flips if f.worse is worse]
        if said:
            traces.append(_markers(said, STATUS_ROW, name, marker))
    for serious, name, marker in EVENT_MARKERS:
        said = [(e.date, f"adverse event: {e.text}") for e in events if e.serious is serious]
        if said:
            traces.append(_markers(said, ADVERSE_ROW, name, marker))
    if onsets:
        said = [(m.onset, f"comorbidity: {m.text}") for m in onsets]
        traces.append(_markers(said, COMORBIDITY_ROW, "Comorbidity", COMORBIDITY_MARKER))
    rows = [
        row
        for row, items in ((STATUS_ROW, flips), (ADVERSE_ROW, events), (COMORBIDITY_ROW, onsets))
        if items
    ]
    if not rows:
        return None
    return Panel(
        traces,
        {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": rows[::-1],
            "tickvals": rows,
            "ticktext": [ROW_NAMES[row] for row in rows],
            "range": [-0.6, len(rows) - 0.4],
            "showgrid": False,
            "fixedrange": True,
        },
        weight=0.2 + 0.18 * len(rows),
    )


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


def _panel_label(axis: str, text: str) -> dict[str, Any]:
    """A panel's name in its top left corner, over a white ground (the values may pass)."""
    return {
        "x": 0.005,
        "y": 1.0,
        "xref": "x domain",
        "yref": f"{axis} domain",
        "text": escape(text),
        "showarrow": False,
        "xanchor": "left",
        "yanchor": "top",
        "bgcolor": "rgba(255, 255, 255, 0.8)",
        "font": {"size": 12},
    }


def _margin(data: Timeline) -> dt.timedelta:
    """Room after today on the time axis, so that a marker of today is drawn whole."""
    return max(dt.timedelta(days=20), (data.end - data.start) * 0.02)


GAP = 22  # px between panels
LEGEND_AND_MARGINS = 110  # px: the legend below the axis, the labels above


def timeline(data: Timeline, *, functional: bool = False, labs: bool = False) -> dict[str, Any]:
    """The figure as Plotly JSON: stacked panels, top to bottom, sharing one time axis. The
    first four are always drawn, then T25FW/9HPT/SDMT and the safety labs on request, then
    the strip of status changes, adverse events and comorbidities when there are any."""
    panels = [edss_panel(data), mri_panel(data), brain_volume_panel(data), nfl_panel(data)]
    if functional:
        panels.append(functional_panel(data))
    if labs:
        panels += lab_panels(data)
    if (events := events_panel(data)) is not None:
        panels.append(events)
    plot = sum(p.weight for p in panels) * PANEL_HEIGHT + GAP * (len(panels) - 1)
    traces: list[dict[str, Any]] = []
    layout: dict[str, Any] = {}
    labels: list[dict[str, Any]] = []
    top = plot
    for number, panel in enumerate(panels, start=1):
        name = "y" if number == 1 else f"y{number}"
        bottom = max(0.0, top - panel.weight * PANEL_HEIGHT)
        layout[f"yaxis{'' if number == 1 else number}"] = {
            **panel.yaxis,
            "domain": [round(bottom / plot, 4), round(top / plot, 4)],
            "gridcolor": "#e3e8ee",
            "zeroline": False,
        }
        traces += [{**trace, "xaxis": "x", "yaxis": name} for trace in panel.traces]
        if panel.label:
            labels.append(_panel_label(name, panel.label))
        top = bottom - GAP
    shapes, notes = _courses(data)
    layout.update(
        xaxis={
            "type": "date",
            "range": [_iso(data.start), _iso(data.end + _margin(data))],
            "anchor": f"y{len(panels)}",
            "showgrid": True,
            "gridcolor": "#e3e8ee",
        },
        shapes=shapes,
        annotations=notes + labels,
        height=round(LEGEND_AND_MARGINS + plot),
        margin={"l": 70, "r": 10, "t": 30, "b": 30},
        barmode="stack",
        hovermode="closest",
        legend={"orientation": "h", "y": -0.06, "yanchor": "top", "font": {"size": 12}},
        font={"family": "system-ui, sans-serif", "size": 13, "color": "#1d2733"},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
    )
    return {"data": traces, "layout": layout}

"""Server-side SVG plots: no JavaScript, nothing fetched from the internet, one small
function per plot. Inputs are plain values so the plots are testable without a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 900, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 28


@dataclass(frozen=True, slots=True)
class Band:
    start: dt.date
    end: dt.date
    label: str


@dataclass(frozen=True, slots=True)
class Marker:
    day: dt.date
    label: str
    kind: str  # css class: relapse, raw, pira, undefined, improvement, rebaseline


@dataclass(frozen=True, slots=True)
class Change:
    """A confirmed change drawn on its own measurements: the baseline level held from the
    baseline visit to the confirmation, and the step at onset, labelled (RAW, PIRA, CDI)."""

    baseline: tuple[dt.date, float]
    onset: tuple[dt.date, float]
    confirmation: dt.date
    label: str
    kind: str


@dataclass(frozen=True, slots=True)
class Axis:
    start: dt.date
    end: dt.date
    low: float
    high: float

    def x(self, day: dt.date) -> float:
        span = max(1, (self.end - self.start).days)
        return LEFT + (WIDTH - LEFT - RIGHT) * (day - self.start).days / span

    def y(self, value: float) -> float:
        span = (self.high - self.low) or 1.0
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - self.low) / span)


def _frame(axis: Axis, title: str, ticks: Sequence[float], unit: str) -> list[str]:
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'class="plot" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for tick in ticks:
        y = axis.y(tick)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{tick:g}{unit}</text>"
        )
    for year in range(axis.start.year + 1, axis.end.year + 1):
        x = axis.x(dt.date(year, 1, 1))
        parts.append(
            f'<line class="year" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>'
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{year}</text>'
        )
    return parts


def _bands(axis: Axis, bands: Sequence[Band]) -> list[str]:
    parts = []
    for index, band in enumerate(bands):
        x1, x2 = axis.x(max(band.start, axis.start)), axis.x(min(band.end, axis.end))
        parts.append(
            f'<rect class="therapy therapy-{index % 4}" x="{x1:.1f}" y="{TOP}" '
            f'width="{max(1.0, x2 - x1):.1f}" height="{HEIGHT - TOP - BOTTOM}">'
            f"<title>{escape(band.label)}</title></rect>"
            f'<text class="band-label" x="{x1 + 4:.1f}" y="{TOP + 12}">{escape(band.label)}</text>'
        )
    return parts


def _markers(axis: Axis, markers: Sequence[Marker]) -> list[str]:
    parts = []
    for marker in markers:
        x = axis.x(marker.day)
        parts.append(
            f'<g class="marker {escape(marker.kind)}"><line x1="{x:.1f}" x2="{x:.1f}" '
            f'y1="{TOP}" y2="{HEIGHT - BOTTOM}"/><text x="{x + 3:.1f}" y="{TOP + 26}">'
            f"{escape(marker.label)}</text><title>{escape(marker.label)} "
            f"{marker.day.isoformat()}</title></g>"
        )
    return parts


def _changes(axis: Axis, changes: Sequence[Change]) -> list[str]:
    parts = []
    for change in changes:
        (b_day, b_value), (o_day, o_value) = change.baseline, change.onset
        x0, x1, x2 = axis.x(b_day), axis.x(o_day), axis.x(change.confirmation)
        y0, y1 = axis.y(b_value), axis.y(o_value)
        title = (
            f"{change.label}: baseline {b_day.isoformat()} ({b_value:g}), onset "
            f"{o_day.isoformat()} ({o_value:g}), confirmed {change.confirmation.isoformat()}"
        )
        parts.append(
            f'<g class="change {escape(change.kind)}"><title>{escape(title)}</title>'
            f'<line class="baseline" x1="{x0:.1f}" x2="{x2:.1f}" y1="{y0:.1f}" y2="{y0:.1f}"/>'
            f'<line class="step" x1="{x1:.1f}" x2="{x1:.1f}" y1="{y0:.1f}" y2="{y1:.1f}"/>'
            f'<circle class="confirmation" cx="{x2:.1f}" cy="{y1:.1f}" r="6"/>'
            f'<text x="{x1 + 4:.1f}" y="{min(y0, y1) - 6:.1f}">{escape(change.label)}</text></g>'
        )
    return parts


def timeline(
    points: Sequence[tuple[dt.date, float]],
    *,
    title: str,
    start: dt.date,
    end: dt.date,
    low: float,
    high: float,
    ticks: Sequence[float],
    unit: str = "",
    bands: Sequence[Band] = (),
    markers: Sequence[Marker] = (),
    changes: Sequence[Change] = (),
    reference: float | None = None,
    reference_label: str = "",
) -> str:
    """A measurement over time, with therapy bands, event markers and a reference line."""
    axis = Axis(start, end, low, high)
    parts = _frame(axis, title, ticks, unit) + _bands(axis, bands)
    if reference is not None:
        y = axis.y(reference)
        parts.append(
            f'<line class="reference" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
            f'y2="{y:.1f}"/><text class="reference-label" x="{WIDTH - RIGHT - 4}" '
            f'y="{y - 4:.1f}" text-anchor="end">{escape(reference_label)}</text>'
        )
    parts += _markers(axis, markers)
    parts += _changes(axis, changes)
    if points:
        path = " ".join(f"{axis.x(day):.1f},{axis.y(value):.1f}" for day, value in points)
        parts.append(f'<polyline class="series" points="{path}"/>')
        parts += [
            f'<circle class="point" cx="{axis.x(day):.1f}" cy="{axis.y(value):.1f}" r="3">'
            f"<title>{day.isoformat()}: {value:g}{unit}</title></circle>"
            for day, value in points
        ]
    else:
        parts.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            "No values recorded</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bars(
    values: Sequence[tuple[dt.date, float]],
    *,
    title: str,
    start: dt.date,
    end: dt.date,
    ticks: Sequence[float],
    unit: str = "",
) -> str:
    """Counts per date (MRI activity), drawn as bars from zero."""
    high = max([*ticks, *(value for _, value in values)] or [1.0])
    axis = Axis(start, end, 0.0, high)
    parts = _frame(axis, title, ticks, unit)
    for day, value in values:
        x, y = axis.x(day), axis.y(value)
        parts.append(
            f'<rect class="bar{" active" if value else ""}" x="{x - 4:.1f}" y="{y:.1f}" '
            f'width="8" height="{max(1.0, axis.y(0) - y):.1f}">'
            f"<title>{day.isoformat()}: {value:g}{unit}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)

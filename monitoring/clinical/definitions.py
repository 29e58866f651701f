"""Progression definitions as values [spec §2].

A `Definition` holds every parameter of the search and the engine version, so a stored result
says exactly how it was computed. The named presets only fix the relapse-free intervals of
PIRA (and, for portaccio2025, the 168-day confirmation); every other option is a separate
setting, and an explicit setting always wins over what a preset suggests.

Parameter names follow the clinic; the reference's (pymsprog 1.0.7) names are given beside
them so that a result can be reproduced there.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

from monitoring.clinical import thresholds as t

ENGINE_VERSION = "1.0.0"

Outcome = Literal["edss", "t25fw", "nhpt", "sdmt"]
BaselineScheme = Literal["fixed", "roving", "roving-improvement", "roving-worsening"]
EventsMode = Literal[
    "multiple", "first-worsening", "first-improvement", "first", "first-pira", "first-raw"
]
SubThreshold = Literal["none", "event", "improvement", "worsening"]
PiraReference = Literal["baseline", "last"]
ProceedFrom = Literal["first-confirmation", "onset"]

OUTCOMES: tuple[Outcome, ...] = ("edss", "t25fw", "nhpt", "sdmt")
BASELINES: tuple[BaselineScheme, ...] = (
    "fixed",
    "roving",
    "roving-improvement",
    "roving-worsening",
)
EVENTS_MODES: tuple[EventsMode, ...] = (
    "multiple",
    "first-worsening",
    "first-improvement",
    "first",
    "first-pira",
    "first-raw",
)
SUB_THRESHOLDS: tuple[SubThreshold, ...] = ("none", "event", "improvement", "worsening")

# A pair (days before, days after) around a checkpoint; None leaves that end open so that it
# joins the neighbouring checkpoint, exactly as the reference's `relapse_indep` reads it.
Span = tuple[float | None, float | None]
Anchor = Literal["reference", "onset", "confirmation"]


@dataclass(frozen=True, slots=True)
class RelapseFreeInterval:
    """No relapse onset may fall in [start anchor - start_offset, end anchor + end_offset]."""

    start: Anchor
    start_before_days: float
    end: Anchor
    end_after_days: float


@dataclass(frozen=True, slots=True)
class RelapseIndependence:
    """The PIRA relapse-free rule in the reference's shape (`relapse_indep`).

    `reference` is the visit before the onset the first span is measured from: the current
    baseline, or the last visit before the onset (`prec_type='last'`, Müller 2025).
    """

    reference: Span = (0, 0)
    onset: Span = (t.PIRA_MULLER2023_BEFORE_DAYS, t.PIRA_MULLER2023_AFTER_DAYS)
    confirmation: Span = (t.PIRA_MULLER2023_BEFORE_DAYS, t.PIRA_MULLER2023_AFTER_DAYS)
    reference_visit: PiraReference = "baseline"

    def intervals(self) -> tuple[RelapseFreeInterval, ...]:
        """The intervals this rule checks, read as the reference reads `relapse_indep`.

        A left end opens an interval, a right end closes it with the last opened left end;
        intervals of zero or negative length are not checked (so (0, 0) means "no check").
        """
        out: list[RelapseFreeInterval] = []
        opened: tuple[Anchor, float] | None = None
        points: tuple[tuple[Anchor, Span], ...] = (
            ("reference", self.reference),
            ("onset", self.onset),
            ("confirmation", self.confirmation),
        )
        for anchor, (before, after) in points:
            if before is not None:
                opened = (anchor, float(before))
            if after is not None:
                if opened is None:
                    raise ValueError("a relapse-free interval closes before any opens")
                start_anchor, start_before = opened
                same = start_anchor == anchor
                if not same or after > -start_before:
                    out.append(
                        RelapseFreeInterval(start_anchor, start_before, anchor, float(after))
                    )
        return tuple(out)


PRESETS: dict[str, RelapseIndependence] = {
    "muller2023": RelapseIndependence(),
    "muller2023-strict": RelapseIndependence(
        reference=(0, None), onset=(None, None), confirmation=(None, 0)
    ),
    "kappos2020": RelapseIndependence(
        reference=(0, None),
        onset=(None, t.PIRA_KAPPOS2020_ONSET_AFTER_DAYS),
        confirmation=(
            t.PIRA_KAPPOS2020_CONFIRMATION_DAYS,
            t.PIRA_KAPPOS2020_CONFIRMATION_DAYS,
        ),
    ),
    "cagol2022": RelapseIndependence(
        reference=(0, 0), onset=(t.PIRA_CAGOL2022_BEFORE_DAYS, None), confirmation=(None, 0)
    ),
    "muller2025": RelapseIndependence(
        reference=(0, None), onset=(None, 0), confirmation=(0, 0), reference_visit="last"
    ),
    "portaccio2025": RelapseIndependence(),
}
PRESET_CONFIRM_DAYS: dict[str, tuple[int, ...]] = {
    "portaccio2025": (t.PORTACCIO2025_CONFIRM_DAYS,),
}
DEFAULT_PRESET = "muller2023"


@dataclass(frozen=True, slots=True)
class Definition:
    """Every parameter of a progression search. Build one with `definition()`."""

    name: str = DEFAULT_PRESET
    outcome: Outcome = "edss"
    baseline: BaselineScheme = "roving"  # reference `baseline`
    events: EventsMode = "multiple"  # reference `event`
    confirm_days: tuple[int, ...] = (t.CONFIRM_DAYS,)  # sorted, unique
    confirm_tolerance: tuple[float, float] = t.CONFIRM_TOLERANCE_DAYS
    check_intermediate: bool = True
    require_sustained_days: float = 0
    # (minimum days after the last relapse onset, minimum days before the next one)
    relapse_to_baseline: tuple[float, float] = (t.RELAPSE_TO_BASELINE_DAYS, 0)
    relapse_to_event: tuple[float, float] = (t.RELAPSE_TO_EVENT_DAYS, 0)
    relapse_to_confirmation: tuple[float, float] = (t.RELAPSE_TO_CONFIRMATION_DAYS, 0)
    # RAW: onset at most this many days after (first) or before (second) a relapse onset
    raw_window: tuple[float, float] = (t.RAW_WINDOW_DAYS, 0)
    relapse_independence: RelapseIndependence = RelapseIndependence()
    relapse_rebaseline: bool = False  # reference `relapse_rebl`
    sub_threshold_rebaseline: SubThreshold = "none"  # reference `sub_threshold_rebl`
    proceed_from: ProceedFrom = "first-confirmation"
    edss_delta_edge: float = t.EDSS_DELTA_EDGE
    engine_version: str = ENGINE_VERSION

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")
        if self.baseline not in BASELINES:
            raise ValueError(f"unknown baseline scheme {self.baseline!r}")
        if self.events not in EVENTS_MODES:
            raise ValueError(f"unknown events mode {self.events!r}")
        if self.sub_threshold_rebaseline not in SUB_THRESHOLDS:
            raise ValueError(f"unknown sub-threshold re-baseline {self.sub_threshold_rebaseline!r}")
        if not self.confirm_days:
            raise ValueError("at least one confirmation period is needed")
        if tuple(sorted(set(self.confirm_days))) != self.confirm_days:
            raise ValueError("confirm_days must be sorted and unique")
        if any(d <= 0 for d in self.confirm_days):
            raise ValueError("confirmation periods must be positive")
        left, right = self.confirm_tolerance
        if left < 0 or right < 0 or math.isnan(left) or math.isnan(right):
            raise ValueError("confirmation tolerances must be >= 0")
        if self.require_sustained_days < 0:
            raise ValueError("require_sustained_days must be >= 0")
        self.relapse_independence.intervals()

    @property
    def confirm_windows(self) -> tuple[tuple[float, float], ...]:
        left, right = self.confirm_tolerance
        return tuple((d - left, d + right) for d in self.confirm_days)

    def as_dict(self) -> dict[str, object]:
        """Every parameter, for storing beside a result (JSON-friendly but for inf)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Definition:
        """The definition `as_dict()` (or its JSON round trip) describes."""
        values = dict(data)
        ri = values.pop("relapse_independence", None)
        if isinstance(ri, dict):
            values["relapse_independence"] = RelapseIndependence(
                reference=tuple(ri["reference"]),
                onset=tuple(ri["onset"]),
                confirmation=tuple(ri["confirmation"]),
                reference_visit=ri.get("reference_visit", "baseline"),
            )
        return cls(**_normalised(values))  # type: ignore[arg-type]


def definition(name: str = DEFAULT_PRESET, **settings: object) -> Definition:
    """The named preset with `settings` applied on top (explicit settings always win)."""
    if name not in PRESETS:
        raise ValueError(f"unknown definition {name!r}; known: {', '.join(PRESETS)}")
    values: dict[str, object] = {"relapse_independence": PRESETS[name]}
    if name in PRESET_CONFIRM_DAYS:
        values["confirm_days"] = PRESET_CONFIRM_DAYS[name]
    values.update({k: v for k, v in settings.items() if v is not None})
    return Definition(name=name, **_normalised(values))  # type: ignore[arg-type]


_PAIRS = (
    "confirm_tolerance",
    "relapse_to_baseline",
    "relapse_to_event",
    "relapse_to_confirmation",
    "raw_window",
)


def _normalised(values: dict[str, object]) -> dict[str, object]:
    """Lists (from JSON or a command line) as the tuples a frozen definition holds."""
    out = dict(values)
    if "confirm_days" in out:
        out["confirm_days"] = tuple(sorted({int(d) for d in out["confirm_days"]}))  # type: ignore[attr-defined]
    for key in _PAIRS:
        if key in out:
            pair = out[key]
            assert isinstance(pair, (tuple, list)), (key, pair)
            a, b = pair
            out[key] = (float(a), float(b))
    return out

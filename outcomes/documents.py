"""The stored status's JSON documents: one typed schema, one way in, one way out.

`documents(assessment)` builds them from the engine's results (the way in), msgspec encodes
them for the database, and `StatusDocuments.of(status)` reads a stored row back into the
same types (the way out) for the API, the pages and the plots alike. The OpenAPI schema of
`/api/v1/status/` is generated from these types (`schema_components`), so that a client
sees what is stored. Field names are the stored JSON keys: changing one is a migration.

Dates are ISO text in JSON and `datetime.date` here; record references are public ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from monitoring.clinical.atrophy import BrainVolumeChange
from monitoring.clinical.neda import NedaWindow
from monitoring.clinical.nfl import NflStatus
from monitoring.clinical.progression import Event
from monitoring.clinical.records import State
from monitoring.clinical.scores import FirstYearScores
from outcomes.assessment import Assessment
from outcomes.records import public_id_of


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """A stored document: frozen, keyed by name, every field present in JSON."""


class RelapseComponent(Document, frozen=True, kw_only=True):
    state: State
    relapses: list[str]


class DisabilityComponent(Document, frozen=True, kw_only=True):
    state: State
    worsening_onsets: list[str]  # visits where a confirmed worsening began


class MriComponent(Document, frozen=True, kw_only=True):
    state: State
    scans: list[str]


class AtrophyComponent(Document, frozen=True, kw_only=True):
    state: State
    pbvc_per_year: float | None
    within_noise: bool | None
    scans: list[str]


class NedaWindowDocument(Document, frozen=True, kw_only=True):
    """NEDA-3/NEDA-4 over one window (a calendar year, the last 12 months, since
    re-baseline), each component with the records it rests on."""

    kind: str
    label: str
    start: dt.date
    end: dt.date
    complete: bool
    neda3: State
    neda4: State
    relapse: RelapseComponent
    disability: DisabilityComponent
    mri: MriComponent
    atrophy: AtrophyComponent
    reference_scan: str | None
    explanation: str


class NedaDocument(Document, frozen=True, kw_only=True):
    rolling_12_months: NedaWindowDocument
    since_rebaseline: NedaWindowDocument | None
    # The current calendar year; the closed ones are stored apart (`closed_years`).
    calendar_years: list[NedaWindowDocument]


class EventVisit(Document, frozen=True, kw_only=True):
    """A visit an event rests on; `value` on its outcome measure (EDSS unless chosen)."""

    date: dt.date
    visit: str | None  # None for events computed from rows that carry no public id
    value: float | None = None


class ProgressionEvent(Document, frozen=True, kw_only=True):
    """A confirmed disability worsening (CDW) or improvement, classified RAW/PIRA.

    The one shape of an event outside the engine: stored with the status, computed under
    another definition on request, listed by the API, drawn by the patient page.
    """

    kind: Literal["worsening", "improvement"] = "worsening"
    cdw_type: Literal["RAW", "PIRA", "undefined"] | None  # None for an improvement
    recent: bool  # onset within the look-back period: only these raise alerts
    onset: EventVisit
    baseline: EventVisit
    confirmation: EventVisit
    pira_confirmation: EventVisit | None
    relapses: list[dt.date]  # the relapse onsets that decided the CDW type
    sustained_days: int


class ScorePoints(Document, frozen=True, kw_only=True):
    points: int | None  # None while the first year is not complete
    at_least: int


class ScoresDocument(Document, frozen=True, kw_only=True):
    """MAGNIMS and modified Rio over the first year of the current course."""

    start: dt.date
    end: dt.date
    complete: bool
    magnims: ScorePoints
    rio: ScorePoints
    relapses: list[str]
    scans: list[str]
    reference_scan: str | None
    closing_scan: str | None
    new_t2: int | None
    explanation: str


class NflDocument(Document, frozen=True, kw_only=True):
    sample: str
    date: dt.date
    value: float
    elevated: bool | None
    upper_limit: float | None
    limit_source: str
    rising: bool | None
    previous: str | None
    change_fraction: float | None
    explanation: str


class BrainVolumeDocument(Document, frozen=True, kw_only=True):
    pbvc_per_year: float | None
    total_pbvc: float | None
    years: float | None
    within_noise: bool | None
    neda4: State
    scans: list[str]
    explanation: str


class StatusDocuments(Document, frozen=True, kw_only=True):
    """Every JSON document of a `PatientStatus`, typed."""

    neda: NedaDocument
    closed_years: list[NedaWindowDocument]
    worsening: list[ProgressionEvent]  # the whole course, newest first
    scores: ScoresDocument | None
    nfl: NflDocument | None
    brain_volume: BrainVolumeDocument

    @classmethod
    def of(cls, status: Any) -> StatusDocuments:
        """The documents of a stored `outcomes.models.PatientStatus`."""
        return msgspec.convert(
            {
                "neda": status.neda,
                "closed_years": status.closed_years,
                "worsening": status.worsening,
                "scores": status.scores,
                "nfl": status.nfl,
                "brain_volume": status.brain_volume,
            },
            cls,
        )

    @property
    def calendar_years(self) -> list[NedaWindowDocument]:
        """Every calendar year's window, oldest first."""
        return [*self.closed_years, *self.neda.calendar_years]

    @property
    def neda_all_years(self) -> NedaDocument:
        """`neda` with every calendar year, the closed ones included."""
        return msgspec.structs.replace(self.neda, calendar_years=self.calendar_years)


def events_of(stored: list[dict[str, Any]]) -> list[ProgressionEvent]:
    """The stored worsening events of a status (its `worsening` column)."""
    return msgspec.convert(stored, list[ProgressionEvent])


# --- The way in: from an assessment ----------------------------------------------------


def _ids(records: Iterable[object]) -> list[str]:
    return [public_id_of(r) for r in records]


def _id(record: object | None) -> str | None:
    return None if record is None else public_id_of(record)


def window(a: Assessment, w: NedaWindow) -> NedaWindowDocument:
    atrophy = w.atrophy
    return NedaWindowDocument(
        kind=str(w.kind),
        label=w.label,
        start=w.start,
        end=w.end,
        complete=w.complete,
        neda3=w.neda3,
        neda4=w.neda4,
        relapse=RelapseComponent(state=w.relapse.state, relapses=_ids(w.relapse.relapses)),
        disability=DisabilityComponent(
            state=w.disability.state,
            worsening_onsets=[a.visit_id(x.onset) for x in w.disability.worsenings],
        ),
        mri=MriComponent(state=w.mri.state, scans=_ids(w.mri.scans)),
        atrophy=AtrophyComponent(
            state=atrophy.neda4,
            pbvc_per_year=atrophy.pbvc_per_year,
            within_noise=atrophy.within_noise,
            scans=a.scan_ids(p.later for p in atrophy.pairs),
        ),
        reference_scan=_id(w.reference_scan),
        explanation=w.explanation,
    )


def event(e: Event, *, recent: bool, visit_id: Any = None) -> ProgressionEvent:
    """An engine event; `visit_id(date)` names the visit of a date where rows have ids."""

    def at(v: Any, *, valued: bool = True) -> EventVisit:
        return EventVisit(
            date=v.date,
            visit=visit_id(v.date) if visit_id else None,
            value=v.value if valued else None,
        )

    pira = e.pira_confirmation
    return ProgressionEvent(
        kind=e.kind,
        cdw_type=e.cdw_type,
        recent=recent,
        onset=at(e.onset),
        baseline=at(e.baseline),
        confirmation=at(e.confirmation),
        pira_confirmation=at(pira) if pira else None,
        relapses=list(e.relapses),
        sustained_days=e.sustained_days,
    )


def scores(s: FirstYearScores) -> ScoresDocument:
    return ScoresDocument(
        start=s.start,
        end=s.end,
        complete=s.complete,
        magnims=ScorePoints(points=s.magnims.points, at_least=s.magnims.minimum_points),
        rio=ScorePoints(points=s.rio.points, at_least=s.rio.minimum_points),
        relapses=_ids(s.relapses),
        scans=_ids(s.scans),
        reference_scan=_id(s.reference_scan),
        closing_scan=_id(s.closing_scan),
        new_t2=s.new_t2,
        explanation=" ".join((s.explanation, s.magnims.explanation, s.rio.explanation)),
    )


def nfl(n: NflStatus) -> NflDocument:
    return NflDocument(
        sample=public_id_of(n.sample),
        date=n.sample.date,
        value=float(n.sample.value),
        elevated=n.elevated,
        upper_limit=n.upper_limit,
        limit_source=n.limit_source,
        rising=n.rising,
        previous=_id(n.previous),
        change_fraction=n.change_fraction,
        explanation=n.explanation,
    )


def brain_volume(a: Assessment, b: BrainVolumeChange) -> BrainVolumeDocument:
    return BrainVolumeDocument(
        pbvc_per_year=b.pbvc_per_year,
        total_pbvc=b.total_pbvc,
        years=b.years,
        within_noise=b.within_noise,
        neda4=b.neda4,
        scans=a.scan_ids(p.later for p in b.pairs),
        explanation=b.explanation,
    )


def documents(a: Assessment) -> StatusDocuments:
    """The documents of an assessment. `neda` holds the current calendar year,
    `closed_years` the earlier ones (empty when the assessment kept the stored ones)."""
    years = [window(a, w) for w in a.neda.calendar_years]
    closed = sum(w.end.year < a.as_of.year for w in a.neda.calendar_years)
    since = a.neda.since_rebaseline
    lookback = a.lookback_start
    return StatusDocuments(
        neda=NedaDocument(
            rolling_12_months=window(a, a.neda.rolling_12_months),
            since_rebaseline=window(a, since) if since else None,
            calendar_years=years[closed:],
        ),
        closed_years=years[:closed],
        worsening=[
            event(e, recent=e.onset.date >= lookback, visit_id=a.visit_id)
            for e in reversed(a.worsening)
        ],
        scores=scores(a.scores) if a.scores else None,
        nfl=nfl(a.nfl) if a.nfl else None,
        brain_volume=brain_volume(a, a.brain_volume),
    )


def schema_components() -> dict[str, Any]:
    """OpenAPI components of every document type, named as the classes are."""
    _, components = msgspec.json.schema_components(
        [StatusDocuments, ProgressionEvent], ref_template="#/components/schemas/{name}"
    )
    return components

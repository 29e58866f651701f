"""Plain inputs of the NEDA, response-score, NfL and brain-volume rules.

The Django status service builds these from the database; the rules never see a model. They
are assumed valid (see `measures.py`): counts are non-negative, dates are not in the future.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from monitoring.clinical.frozen import direct_init

TherapyClass = Literal["platform", "high_efficacy", "induction"]
THERAPY_CLASSES: tuple[TherapyClass, ...] = ("platform", "high_efficacy", "induction")

NflMatrix = Literal["serum", "plasma", "csf"]
NFL_MATRICES: tuple[NflMatrix, ...] = ("serum", "plasma", "csf")


class State(StrEnum):
    """A judgement that may lack the data it needs; `unknown` is never read as `met`."""

    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


@direct_init
@dataclass(frozen=True, slots=True)
class Relapse:
    onset: dt.date


@direct_init
@dataclass(frozen=True, slots=True)
class MriScan:
    """One brain MRI read against the patient's previous scan.

    `new_t2` (new or enlarging T2 lesions) and `pbvc` (percent brain volume change) are
    measured against the previous scan; on the patient's first scan they mean nothing and are
    ignored. None means "not reported", which is not zero.
    """

    date: dt.date
    new_t2: int | None
    gd_enhancing: int | None
    total_t2: int | None = None
    pbvc: Decimal | float | None = None

    @property
    def active(self) -> bool:
        return (self.gd_enhancing or 0) > 0 or (self.new_t2 or 0) > 0


@direct_init
@dataclass(frozen=True, slots=True)
class TherapyCourse:
    """A disease-modifying therapy from `start` until `end` (stopped or replaced).

    For an induction course `end` is the last day of dosing: its effect outlasts the last
    dose, and the courses of one drug form one episode (see `episodes.py`), which a
    clinician closes with a stop reason (`closes_episode`). The rules that judge a therapy
    take an episode as one course.
    """

    therapy: str
    therapy_class: TherapyClass
    start: dt.date
    end: dt.date | None = None
    closes_episode: bool = False

    def __post_init__(self) -> None:
        if self.therapy_class not in THERAPY_CLASSES:
            raise ValueError(f"unknown therapy class {self.therapy_class!r}")
        if self.end is not None and self.end < self.start:
            raise ValueError(f"{self.therapy} ends ({self.end}) before it starts ({self.start})")


@direct_init
@dataclass(frozen=True, slots=True)
class WorseningOnset:
    """Onset of a confirmed disability worsening (CDW) found by the progression engine.

    `cdw_type` is "RAW", "PIRA", "undefined" or None when the caller did not classify it.
    """

    onset: dt.date
    cdw_type: str | None = None


@direct_init
@dataclass(frozen=True, slots=True)
class NflSample:
    date: dt.date
    matrix: NflMatrix
    value: Decimal | float
    assay: str
    lab_upper_limit: Decimal | float | None = None
    z_score: Decimal | float | None = None

    def __post_init__(self) -> None:
        if self.matrix not in NFL_MATRICES:
            raise ValueError(f"unknown NfL matrix {self.matrix!r}")


@direct_init
@dataclass(frozen=True, slots=True)
class ClinicalHistory:
    """Everything the NEDA windows look at, for one patient, in any order.

    `edss_dates` are the dates of clinical (EDSS) assessments: without one in a window the
    engine cannot tell that no relapse or worsening went unseen there.
    """

    relapses: Sequence[Relapse] = ()
    worsenings: Sequence[WorseningOnset] = ()
    edss_dates: Sequence[dt.date] = ()
    scans: Sequence[MriScan] = ()

"""Therapy safety monitoring [spec §7.1]: what each therapy needs tested, when, and what a
result means.

Protocols are data (`ProtocolItem`, loaded from the admin-editable catalogue); the functions
here decide, over plain lab results and treatment episodes, what is due and when, what is
overdue, which results are out of range, the natalizumab PML risk class, whether the
year-2 cladribine course may be given, and which pregnancy explains a gap in a therapy
[§7.2]. Nothing here imports Django.

Values arrive in the catalogue unit of their analyte (`convert()` does that once, on entry):
lymphocytes in cells/mm³, platelets in 10⁹/L, creatinine in µmol/L, TSH in mIU/L.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from operator import attrgetter

from monitoring.clinical.frozen import direct_init
from monitoring.clinical.measures import MeasurementError
from monitoring.clinical.rebaseline import add_months
from monitoring.clinical.thresholds import POSTPARTUM_MONTHS

NATALIZUMAB = "natalizumab"
CLADRIBINE = "cladribine"
JCV_INDEX = "jcv-index"
LYMPHOCYTES = "lymphocytes"
# The brain MRI of the MRI records, fed to the protocol beside the labs: an item may ask for
# one (natalizumab at high PML risk). It is never entered as a lab result.
BRAIN_MRI = "brain-mri"
BEFORE_START_MONTHS = 12  # how long a missing screening stays overdue


class Phase(StrEnum):
    BEFORE_START = "before_start"
    ON_THERAPY = "on_therapy"


class Anchor(StrEnum):
    """What an on-therapy item's months count from."""

    START = "start"  # the first course of the episode
    LAST_COURSE = "last_course"  # the latest course (alemtuzumab: 48 months after the last)
    EACH_COURSE = "each_course"  # every course again (cladribine: 2 and 6 months after each)


class Check(StrEnum):
    """How a result of the item is judged out of range."""

    LAB_RANGE = "lab_range"  # outside the lab's own reference range (TSH)
    BELOW = "below"  # value < limit (platelets < 100 x 10⁹/L)
    LYMPHOPENIA = "lymphopenia"  # grade >= limit (grades of spec §7.1)
    PERSISTENT_BELOW = "persistent_below"  # below limit for more than persist_months
    ABOVE_UPPER = "above_upper"  # value > limit times the lab's upper limit (ALT > 3 x ULN)
    RISE = "rise"  # >= limit times the value before start, or above the lab's upper limit
    ABNORMAL = "abnormal"  # a qualitative result other than negative (urinalysis)


class Condition(StrEnum):
    """What the engine must find for a conditional item to apply."""

    PML_HIGH_RISK = "pml_high_risk"  # natalizumab, PML risk class high (see pml_risk)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class ProtocolItem:
    """One line of a therapy's monitoring protocol, with its source.

    `therapies` holds therapy codes or therapy classes ("high_efficacy"). An on-therapy item
    repeats `every_weeks`/`every_months` after the last result, or falls due on the fixed
    `points_months` after its anchor; it runs from `from_months` until `until_months` after
    the anchor (open-ended while on the therapy when None). A before-start item is met by a
    result from `window_months` before the start on. An item with a `condition` applies only
    while the engine finds it (MRI every 3-4 months at high PML risk).
    """

    code: str
    therapies: tuple[str, ...]
    analyte: str
    phase: Phase
    source: str
    anchor: Anchor = Anchor.START
    every_months: int | None = None
    every_weeks: int | None = None
    points_months: tuple[int, ...] = ()
    from_months: int = 0
    until_months: int | None = None
    window_months: int = 3
    check: Check | None = None
    limit: float | None = None
    persist_months: int | None = None
    stop_above: float | None = None
    sex: str = ""  # only for patients of this sex (pregnancy test: female)
    severity: Severity = Severity.MEDIUM
    label: str = ""
    condition: Condition | None = None

    def applies_to(self, therapy: str, therapy_class: str, sex: str = "") -> bool:
        if self.sex and sex and sex != self.sex:
            return False
        return therapy in self.therapies or therapy_class in self.therapies

    @property
    def name(self) -> str:
        return self.label or f"{self.analyte} ({self.code})"


@direct_init
@dataclass(frozen=True, slots=True)
class Lab:
    """One result in the catalogue unit. `text` holds a qualitative result (negative,
    positive, trace…); `lower`/`upper` the lab's reference range."""

    analyte: str
    date: dt.date
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    text: str = ""
    public_id: str = ""


@direct_init
@dataclass(frozen=True, slots=True)
class Course:
    """A therapy course; `immunosuppressant` as the therapy catalogue marks it (a course of one
    before natalizumab is a prior immunosuppressant in the PML risk)."""

    therapy: str
    therapy_class: str
    start: dt.date
    end: dt.date | None = None
    immunosuppressant: bool = False


@direct_init
@dataclass(frozen=True, slots=True)
class Episode:
    """The courses of one drug in a row [§7]: on it from the first course until another
    therapy starts, or until `end` (a maintenance therapy stopped)."""

    therapy: str
    therapy_class: str
    courses: tuple[dt.date, ...]
    end: dt.date | None

    @property
    def start(self) -> dt.date:
        return self.courses[0]

    def running(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def episodes(courses: Iterable[Course]) -> list[Episode]:
    """Consecutive courses of one drug as one episode. Induction courses keep the episode
    open (their end is the end of an infusion, not of the therapy); a maintenance course's
    end closes it; the next drug's start closes any."""
    ordered = sorted(courses, key=lambda c: c.start)
    out: list[Episode] = []
    for course in ordered:
        last = out[-1] if out else None
        if last is not None and last.therapy == course.therapy:
            end = None if course.therapy_class == "induction" else course.end
            out[-1] = Episode(last.therapy, last.therapy_class, (*last.courses, course.start), end)
            continue
        if last is not None and (last.end is None or last.end > course.start):
            out[-1] = Episode(last.therapy, last.therapy_class, last.courses, course.start)
        end = None if course.therapy_class == "induction" else course.end
        out.append(Episode(course.therapy, course.therapy_class, (course.start,), end))
    return out


# --- Pregnancy [§7.2] --------------------------------------------------------------------


class TherapyAction(StrEnum):
    """What was done with the therapy during a pregnancy [§7.2]."""

    NONE = "none"  # no therapy at the time
    CONTINUED = "continued"
    PAUSED = "paused"
    WASHED_OUT = "washed_out"


THERAPY_ACTION_WORDS = {
    TherapyAction.NONE: "no therapy",
    TherapyAction.CONTINUED: "therapy continued",
    TherapyAction.PAUSED: "therapy paused",
    TherapyAction.WASHED_OUT: "therapy washed out",
}


@dataclass(frozen=True, slots=True)
class Pregnancy:
    """A recorded pregnancy [§7.2]: from `start` to `end` (None while ongoing)."""

    start: dt.date
    end: dt.date | None
    therapy_action: TherapyAction
    public_id: str = ""

    @property
    def words(self) -> str:
        until = f" to {self.end.isoformat()}" if self.end else ", ongoing"
        return (
            f"a pregnancy from {self.start.isoformat()}{until} "
            f"({THERAPY_ACTION_WORDS[self.therapy_action]})"
        )

    @property
    def explains_gaps(self) -> bool:
        """The therapy was not given through it (paused, washed out, or none): on a
        continued therapy the monitoring goes on, and it explains nothing."""
        return self.therapy_action is not TherapyAction.CONTINUED

    @property
    def gap_end(self) -> dt.date | None:
        """The last day of the gap in therapy it explains: its end and the postpartum
        months after it (None while ongoing)."""
        return add_months(self.end, POSTPARTUM_MONTHS) if self.end else None

    def words_on(self, day: dt.date) -> str:
        """Where `day` falls: in the pregnancy, or in the postpartum months after it."""
        if self.end is not None and day > self.end:
            return f"the {POSTPARTUM_MONTHS} months after {self.words}"
        return self.words


def pregnancy_on(pregnancies: Iterable[Pregnancy], day: dt.date) -> Pregnancy | None:
    """The pregnancy under way on `day` (an ongoing one from its start on), or ended within
    the postpartum months before it, without the therapy going on through it (paused,
    washed out, or none): a test that fell due then, or a relapse that began then, happened
    in a gap of the therapy [§7.2]. A pregnancy on a continued therapy explains nothing: its
    monitoring goes on. The latest, if several."""
    found = None
    for pregnancy in pregnancies:
        if not pregnancy.explains_gaps:
            continue
        gap_end = pregnancy.gap_end
        if pregnancy.start <= day and (gap_end is None or day <= gap_end):
            if found is None or pregnancy.start > found.start:
                found = pregnancy
    return found


# --- Units -------------------------------------------------------------------------------


def convert(
    value: object, unit: str, *, to: str, factors: Mapping[str, str | float], field: str = "unit"
) -> Decimal:
    """`value` in `unit` expressed in the catalogue unit `to`; `factors` maps each accepted
    unit to what one of it is in `to`. A unit the catalogue cannot convert is refused,
    never guessed."""
    if unit == to:
        factor = Decimal(1)
    elif unit in factors:
        factor = Decimal(str(factors[unit]))
    else:
        accepted = ", ".join(sorted({to, *factors}))
        raise MeasurementError(field, f"{unit!r} cannot be converted to {to} (use {accepted})")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise MeasurementError("value", f"{value!r} is not a number") from None
    if not number.is_finite():
        raise MeasurementError("value", f"{value!r} is not a finite number")
    return number * factor


# --- Due and overdue ---------------------------------------------------------------------


@direct_init
@dataclass(frozen=True, slots=True)
class Due:
    """An item's next test: due on `due`, overdue once the day has passed without one. An
    overdue item names the pregnancy under way on its due day, if one paused the therapy."""

    item: ProtocolItem
    therapy: str
    due: dt.date
    overdue: bool
    last: Lab | None
    pregnancy: Pregnancy | None = None

    @property
    def pregnancy_words(self) -> str:
        """Where the due day falls in the pregnancy that explains the gap ("" without one)."""
        return self.pregnancy.words_on(self.due) if self.pregnancy else ""


def _add(day: dt.date, *, months: int = 0, weeks: int = 0) -> dt.date:
    return add_months(day, months) + dt.timedelta(weeks=weeks)


def _latest(labs: Sequence[Lab], analyte: str, since: dt.date, until: dt.date) -> Lab | None:
    """The latest result of `analyte` from `since` to `until`; `labs` oldest first."""
    for lab in reversed(labs):
        if lab.date > until or lab.analyte != analyte:
            continue
        return lab if lab.date >= since else None
    return None


def _anchors(item: ProtocolItem, episode: Episode) -> tuple[dt.date, ...]:
    if item.anchor is Anchor.EACH_COURSE:
        return episode.courses
    if item.anchor is Anchor.LAST_COURSE:
        return (episode.courses[-1],)
    return (episode.start,)


def due_items(
    episode: Episode,
    protocol: Iterable[ProtocolItem],
    by_analyte: Mapping[str, Sequence[Lab]],
    *,
    as_of: dt.date,
    sex: str = "",
    conditions: frozenset[Condition] = frozenset(),
) -> list[Due]:
    """The tests this episode's protocol asks for on `as_of`, each with its due date; an item
    with a condition only when the condition is among those found for the episode."""
    out: list[Due] = []
    screening = episode.running(as_of) and as_of <= add_months(episode.start, BEFORE_START_MONTHS)
    for item in protocol:
        if not item.applies_to(episode.therapy, episode.therapy_class, sex):
            continue
        if item.condition is not None and item.condition not in conditions:
            continue
        labs = by_analyte.get(item.analyte, ())
        if item.phase is Phase.BEFORE_START:
            if not screening:
                continue
            found = _before_start(item, episode, labs, as_of=as_of)
        elif item.points_months:
            found = _points(item, episode, labs, as_of=as_of)
        else:
            found = _interval(item, episode, labs, as_of=as_of)
        if found is not None:
            out.append(found)
    return out


def _before_start(
    item: ProtocolItem, episode: Episode, labs: Sequence[Lab], *, as_of: dt.date
) -> Due | None:
    """Due on the start; a result from `window_months` before it on meets it (a late one
    too: it clears the alert). Judged while the episode runs, in its first year (see
    `due_items`): later, a screening not on record is history, no longer a task."""
    since = add_months(episode.start, -item.window_months)
    last = _latest(labs, item.analyte, since, as_of)
    if last is not None:
        return None
    return Due(item, episode.therapy, episode.start, as_of > episode.start, None)


def _window_end(item: ProtocolItem, anchor: dt.date, episode: Episode) -> dt.date | None:
    """The last day the item runs: `until_months` after the anchor if set (alemtuzumab's
    48 months hold after the episode ends), else the episode's end."""
    if item.until_months is not None:
        end = add_months(anchor, item.until_months)
        return end if item.anchor is Anchor.LAST_COURSE else _earliest(end, episode.end)
    return episode.end


def _earliest(a: dt.date, b: dt.date | None) -> dt.date:
    return a if b is None else min(a, b)


def _interval(
    item: ProtocolItem, episode: Episode, labs: Sequence[Lab], *, as_of: dt.date
) -> Due | None:
    """Due `every` after the last result since the anchor (or after the anchor itself),
    not before the item's own window opens; stopped once the latest result is above
    `stop_above` (natalizumab: no more JCV tests once the index is above 1.5)."""
    anchor = _anchors(item, episode)[-1]
    start = add_months(anchor, item.from_months)
    end = _window_end(item, anchor, episode)
    if as_of < anchor or (end is not None and as_of > end):
        return None
    last = _latest(labs, item.analyte, anchor, as_of)
    if (
        item.stop_above is not None
        and last is not None
        and last.value is not None
        and last.value > item.stop_above
    ):
        return None
    reference = last.date if last is not None else anchor
    due = max(_add(reference, months=item.every_months or 0, weeks=item.every_weeks or 0), start)
    if end is not None and due > end:
        return None
    return Due(item, episode.therapy, due, as_of > due, last)


def _points(
    item: ProtocolItem, episode: Episode, labs: Sequence[Lab], *, as_of: dt.date
) -> Due | None:
    """Fixed points after each anchor, the latest anchor only once it has come (a new
    cladribine course starts its own points). Each result meets one point: the first
    result from halfway since the previous point on; the earliest unmet point is due."""
    anchors = [a for a in _anchors(item, episode) if a <= as_of]
    if not anchors:
        return None
    anchor = anchors[-1]
    end = _window_end(item, anchor, episode)
    if end is not None and as_of > end:
        return None
    days = sorted(
        lab.date for lab in labs if lab.analyte == item.analyte and anchor < lab.date <= as_of
    )
    last = _latest(labs, item.analyte, anchor, as_of)
    previous = used = anchor
    for months in item.points_months:
        point = add_months(anchor, months)
        if end is not None and point > end:
            break
        lower = max(previous + (point - previous) / 2, used + dt.timedelta(days=1))
        met = next((day for day in days if day >= lower), None)
        if met is None:
            return Due(item, episode.therapy, point, as_of > point, last)
        previous, used = point, met
    return None


# --- Out of range ------------------------------------------------------------------------


def lymphopenia_grade(count: float, lower_limit: float | None) -> int:
    """Grade of a lymphocyte count in cells/mm³ [§7.1]: 1 below the lower limit down to 800,
    2 below 800 down to 500, 3 below 500 down to 200, 4 below 200; 0 otherwise.
    Exactly 800 is grade 1 (when under the limit), exactly 500 grade 2, exactly 200 grade 3."""
    if count < 200:
        return 4
    if count < 500:
        return 3
    if count < 800:
        return 2
    if lower_limit is not None and count < lower_limit:
        return 1
    return 0


_NORMAL_TEXT = frozenset({"", "negative", "normal", "nil", "none"})


@dataclass(frozen=True, slots=True)
class OutOfRange:
    item: ProtocolItem
    therapy: str
    lab: Lab
    severity: Severity
    reason: str
    grade: int | None = None
    since: dt.date | None = None  # the first of a run of low results (persistent checks)


def out_of_range(
    episode: Episode,
    protocol: Iterable[ProtocolItem],
    by_analyte: Mapping[str, Sequence[Lab]],
    *,
    as_of: dt.date,
    conditions: frozenset[Condition] = frozenset(),
) -> list[OutOfRange]:
    """The latest result of each checked item, when it breaks the item's threshold. A later
    result back in range clears it."""
    out: list[OutOfRange] = []
    seen: set[tuple[str, Check]] = set()
    for item in protocol:
        if item.check is None or item.phase is not Phase.ON_THERAPY:
            continue
        if item.condition is not None and item.condition not in conditions:
            continue
        if not item.applies_to(episode.therapy, episode.therapy_class):
            continue
        key = (item.analyte, item.check)
        if key in seen:
            continue
        anchor = _anchors(item, episode)[-1]
        end = _window_end(item, anchor, episode)
        if as_of < episode.start or (end is not None and as_of > end):
            continue
        mine = [lab for lab in by_analyte.get(item.analyte, ()) if lab.date <= as_of]
        on_therapy = [lab for lab in mine if lab.date >= episode.start]
        if not on_therapy:
            continue
        found = _judge(item, episode, mine, on_therapy)
        if found is not None:
            seen.add(key)
            out.append(found)
    return out


def _judge(
    item: ProtocolItem, episode: Episode, mine: list[Lab], on_therapy: list[Lab]
) -> OutOfRange | None:
    lab = on_therapy[-1]
    check, limit, therapy = item.check, item.limit, episode.therapy
    value = lab.value
    if check is Check.ABNORMAL:
        text = lab.text.strip().lower()
        if text in _NORMAL_TEXT:
            return None
        return OutOfRange(item, therapy, lab, item.severity, f"{item.name}: {lab.text}")
    if value is None:
        return None
    if check is Check.LAB_RANGE:
        if lab.lower is not None and value < lab.lower:
            side = f"below the lab's lower limit {lab.lower:g}"
        elif lab.upper is not None and value > lab.upper:
            side = f"above the lab's upper limit {lab.upper:g}"
        else:
            return None
        return OutOfRange(item, therapy, lab, item.severity, f"{item.name} {value:g}, {side}")
    if check is Check.ABOVE_UPPER:
        if limit is None or lab.upper is None or value <= limit * lab.upper:
            return None
        return OutOfRange(
            item,
            therapy,
            lab,
            item.severity,
            f"{item.name} {value:g}, above {limit:g} times the lab's upper limit {lab.upper:g}",
        )
    if check is Check.BELOW:
        if limit is None or value >= limit:
            return None
        return OutOfRange(
            item, therapy, lab, item.severity, f"{item.name} {value:g}, below {limit:g}"
        )
    if check is Check.LYMPHOPENIA:
        grade = lymphopenia_grade(value, lab.lower)
        if grade == 0 or grade < (limit or 1):
            return None
        return OutOfRange(
            item,
            therapy,
            lab,
            item.severity,
            f"lymphocytes {value:g}/mm³: lymphopenia grade {grade}",
            grade=grade,
        )
    if check is Check.PERSISTENT_BELOW:
        return _persistent(item, therapy, on_therapy)
    if check is Check.RISE:
        before = [x for x in mine if x.date < episode.start and x.value is not None]
        baseline = before[-1].value if before else None
        if baseline is not None and limit is not None and value >= limit * baseline:
            why = f"{item.name} {value:g}, at least {limit:g} times the {baseline:g} before start"
        elif lab.upper is not None and value > lab.upper:
            why = f"{item.name} {value:g}, above the lab's upper limit {lab.upper:g}"
        else:
            return None
        return OutOfRange(item, therapy, lab, item.severity, why)
    return None


def _persistent(item: ProtocolItem, therapy: str, on_therapy: list[Lab]) -> OutOfRange | None:
    """The latest results all below the limit, the first of them more than persist_months
    before the latest (fumarates: < 500/mm³ for more than 6 months)."""
    limit, months = item.limit, item.persist_months or 0
    if limit is None:
        return None
    run: list[Lab] = []
    for lab in reversed(on_therapy):
        if lab.value is None or lab.value >= limit:
            break
        run.append(lab)
    if not run:
        return None
    first, latest = run[-1], run[0]
    if latest.date <= add_months(first.date, months):
        return None
    return OutOfRange(
        item,
        therapy,
        latest,
        item.severity,
        f"{item.name} below {limit:g} since {first.date.isoformat()} (more than {months} months)",
        since=first.date,
    )


# --- Natalizumab PML risk ----------------------------------------------------------------


class PmlRisk(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class IndexBand(StrEnum):
    LOW = "<=0.9"
    MIDDLE = "0.9-1.5"
    HIGH = ">1.5"


def index_band(index: float | None) -> IndexBand:
    """Bands of the Tysabri SmPC risk table; an unknown index of a positive test counts as
    the highest band (the conservative reading)."""
    if index is None or index > 1.5:
        return IndexBand.HIGH
    if index > 0.9:
        return IndexBand.MIDDLE
    return IndexBand.LOW


# The mapping of the Tysabri SmPC (section 4.4, risk estimates per 1,000 patients by
# exposure, index and prior immunosuppressant) to three classes, written down in
# docs/safety.md: low under about 1/1,000, moderate about 1-3/1,000, high above.
# (prior immunosuppressant, over 24 months, index band) -> class; positive patients only.
PML_CLASSES: dict[tuple[bool, bool, IndexBand], PmlRisk] = {
    (False, False, IndexBand.LOW): PmlRisk.LOW,
    (False, False, IndexBand.MIDDLE): PmlRisk.LOW,
    (False, False, IndexBand.HIGH): PmlRisk.MODERATE,
    (False, True, IndexBand.LOW): PmlRisk.LOW,
    (False, True, IndexBand.MIDDLE): PmlRisk.MODERATE,
    (False, True, IndexBand.HIGH): PmlRisk.HIGH,
    **{(True, False, band): PmlRisk.MODERATE for band in IndexBand},
    **{(True, True, band): PmlRisk.HIGH for band in IndexBand},
}

PML_SOURCE = "Tysabri SmPC section 4.4 (PML risk estimates by anti-JCV index and exposure)"


@dataclass(frozen=True, slots=True)
class PmlAssessment:
    risk: PmlRisk
    seropositive: bool
    index: float | None
    band: IndexBand | None
    over_24_months: bool
    prior_immunosuppressant: bool
    test: Lab
    explanation: str


def pml_risk(
    episode: Episode, labs: Sequence[Lab], *, as_of: dt.date, prior_immunosuppressant: bool
) -> PmlAssessment | None:
    """The PML risk class on natalizumab from the latest anti-JCV test [§7.1]. Exposure is
    counted from the episode's start: exactly 24 months is still "<= 24 months". An
    indeterminate serostatus counts as positive."""
    if episode.therapy != NATALIZUMAB or not episode.running(as_of):
        return None
    test = _latest(labs, JCV_INDEX, dt.date.min, as_of)
    if test is None:
        return None
    over_24 = as_of > add_months(episode.start, 24)
    exposure = "more than 24 months" if over_24 else "24 months or less"
    positive = test.text.strip().lower() != "negative"
    if not positive:
        return PmlAssessment(
            PmlRisk.LOW,
            False,
            test.value,
            None,
            over_24,
            prior_immunosuppressant,
            test,
            f"Anti-JCV negative on {test.date.isoformat()}: PML risk low ({PML_SOURCE}).",
        )
    band = index_band(test.value)
    risk = PML_CLASSES[(prior_immunosuppressant, over_24, band)]
    index = f"index {test.value:g}" if test.value is not None else "index not reported"
    prior = "with" if prior_immunosuppressant else "without"
    return PmlAssessment(
        risk,
        True,
        test.value,
        band,
        over_24,
        prior_immunosuppressant,
        test,
        f"Anti-JCV positive on {test.date.isoformat()} ({index}, band {band}), natalizumab "
        f"for {exposure}, {prior} prior immunosuppressant: PML risk {risk} ({PML_SOURCE}).",
    )


# --- Cladribine year 2 -------------------------------------------------------------------

CLADRIBINE_SOURCE = "Mavenclad SmPC sections 4.2 and 4.4"
YEAR2_MIN_LYMPHOCYTES = 800.0


class Year2(StrEnum):
    MAY_BE_GIVEN = "may_be_given"  # the latest count before it is at least 800/mm³
    NO_COUNT = "no_count"  # no lymphocyte count in the window before it yet
    DELAYED = "delayed"  # below 800/mm³: wait for recovery, up to 6 months
    NOT_TO_BE_GIVEN = "not_to_be_given"  # not recovered within the 6 months' delay


@dataclass(frozen=True, slots=True)
class CladribineYear2:
    state: Year2
    planned: dt.date
    deadline: dt.date
    count: Lab | None
    explanation: str

    @property
    def blocked(self) -> bool:
        return self.state in (Year2.DELAYED, Year2.NOT_TO_BE_GIVEN)


def cladribine_year2(
    episode: Episode,
    labs: Sequence[Lab],
    *,
    as_of: dt.date,
    window_months: int = 3,
    delay_months: int = 6,
) -> CladribineYear2 | None:
    """Whether the year-2 course may be given: 12 months after the year-1 course, only with
    lymphocytes >= 800/mm³ (exactly 800 is enough) in the `window_months` before it; it may
    be delayed up to `delay_months` for recovery, else it must not be given [§7.1]. None
    outside the window or once the year-2 course is recorded."""
    if episode.therapy != CLADRIBINE or len(episode.courses) != 1 or not episode.running(as_of):
        return None
    planned = add_months(episode.start, 12)
    opens = add_months(planned, -window_months)
    deadline = add_months(planned, delay_months)
    if as_of < opens:
        return None
    count = _latest(labs, LYMPHOCYTES, opens, as_of)
    if count is not None and count.value is not None and count.value >= YEAR2_MIN_LYMPHOCYTES:
        state = Year2.MAY_BE_GIVEN
        why = f"lymphocytes {count.value:g}/mm³ on {count.date.isoformat()} (at least 800)"
    elif count is None or count.value is None:
        state = Year2.NO_COUNT
        why = f"no lymphocyte count since {opens.isoformat()}"
    elif as_of > deadline:
        state = Year2.NOT_TO_BE_GIVEN
        why = (
            f"lymphocytes {count.value:g}/mm³ on {count.date.isoformat()}, still below 800 "
            f"after the 6 months' delay (to {deadline.isoformat()}): the course must not be given"
        )
    else:
        state = Year2.DELAYED
        why = (
            f"lymphocytes {count.value:g}/mm³ on {count.date.isoformat()}, below 800: the "
            f"course must not be given now; it may be delayed until {deadline.isoformat()}"
        )
    return CladribineYear2(
        state,
        planned,
        deadline,
        count,
        f"Cladribine year-2 course planned {planned.isoformat()}: {why} ({CLADRIBINE_SOURCE}).",
    )


# --- Everything for one patient ----------------------------------------------------------


class Protocol:
    """Protocol items indexed by the therapy code or class they name: a patient's episodes
    look up their few items instead of testing all of them. Built once per batch."""

    __slots__ = ("by_therapy", "items")

    def __init__(self, items: Iterable[ProtocolItem]) -> None:
        self.items = tuple(items)
        by_therapy: dict[str, list[ProtocolItem]] = {}
        for item in self.items:
            for therapy in item.therapies:
                by_therapy.setdefault(therapy, []).append(item)
        self.by_therapy = {k: tuple(v) for k, v in by_therapy.items()}

    def of(self, episode: Episode) -> tuple[ProtocolItem, ...]:
        own = self.by_therapy.get(episode.therapy, ())
        shared = self.by_therapy.get(episode.therapy_class, ())
        return shared + own if shared else own


@direct_init
@dataclass(frozen=True, slots=True)
class SafetyStatus:
    due: tuple[Due, ...]
    out_of_range: tuple[OutOfRange, ...]
    pml: PmlAssessment | None
    cladribine: CladribineYear2 | None

    @property
    def overdue(self) -> tuple[Due, ...]:
        return tuple(d for d in self.due if d.overdue)


def assess_safety(
    courses: Iterable[Course],
    labs: Sequence[Lab],
    protocol: Protocol,
    *,
    as_of: dt.date,
    sex: str = "",
    pregnancies: Sequence[Pregnancy] = (),
) -> SafetyStatus:
    """The safety status on `as_of` of every episode still monitored: the running one, and
    earlier ones whose items outlast them (alemtuzumab).

    A natalizumab episode has a prior immunosuppressant when a course marked so started
    before it. An overdue item names the pregnancy that explains its gap, if one does
    (`pregnancy_on` its due day)."""
    given = [c for c in courses if c.start <= as_of]
    eps = episodes(given)
    if not eps:
        return NOTHING
    by_analyte: dict[str, list[Lab]] = {}
    for lab in sorted(labs, key=_date):
        by_analyte.setdefault(lab.analyte, []).append(lab)
    due: list[Due] = []
    found: list[OutOfRange] = []
    pml = cladribine = None
    for episode in eps:
        conditions: frozenset[Condition] = frozenset()
        if episode.therapy == NATALIZUMAB:
            prior = any(c.immunosuppressant and c.start < episode.start for c in given)
            jcv = by_analyte.get(JCV_INDEX, [])
            risk = pml_risk(episode, jcv, as_of=as_of, prior_immunosuppressant=prior)
            if risk is not None and risk.risk is PmlRisk.HIGH:
                conditions = frozenset({Condition.PML_HIGH_RISK})
            pml = risk or pml
        elif episode.therapy == CLADRIBINE:
            lymphocytes = by_analyte.get(LYMPHOCYTES, [])
            cladribine = cladribine_year2(episode, lymphocytes, as_of=as_of) or cladribine
        items = protocol.of(episode)
        if items:
            due.extend(
                due_items(episode, items, by_analyte, as_of=as_of, sex=sex, conditions=conditions)
            )
            found.extend(
                out_of_range(episode, items, by_analyte, as_of=as_of, conditions=conditions)
            )
    if pregnancies:
        due = [
            replace(d, pregnancy=pregnancy_on(pregnancies, d.due)) if d.overdue else d for d in due
        ]
    return SafetyStatus(tuple(due), tuple(found), pml, cladribine)


NOTHING = SafetyStatus((), (), None, None)
_date = attrgetter("date")

"""Confirmed disability worsening and improvement, RAW and PIRA [spec §2].

The search is the one of the community reference (msprog, pymsprog 1.0.7 `MSprog`), event
for event, on integer day numbers (`tools/compare_reference.py` checks it on random
cohorts). Where the reference is wrong or ambiguous, this engine does what the definition
means instead:

- `first-pira`/`first-raw` with a fixed (or improvement-roving) baseline and several
  confirmation periods crash the reference when a skipped event leaves a period without a
  confirmation visit (spec §2.9); so does an unsustained improvement under
  `require_sustained_days` with several periods. Here such periods are simply empty.
- The reference's sub-threshold re-baseline compares raw values (`value < baseline` means
  improvement), which is backwards for SDMT (spec §2.9); here it follows the outcome.
- Percentage thresholds (T25FW, 9HPT, SDMT) are compared with a 1e-9 slack so that
  23.5 -> 28.2 s is +20 % (spec §2.1); the reference's plain float test says it is not.
- Confirmation periods are kept sorted, so a roving baseline moves to the first confirmation
  visit whatever order the periods were given in (the reference takes the first period's).
- Relapse onsets are sorted and de-duplicated (the reference's relapse re-baseline assumes
  sorted input).
- In first-* modes with relapse re-baseline, the reported event is the chronologically first
  of the wanted type (the reference indexes its onset-sorted list by detection position).

`assess()` takes and returns small frozen dataclasses; `search()` is the same engine on plain
lists (day numbers, values) for bulk use, returning visit indices.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from monitoring.clinical import thresholds as t
from monitoring.clinical.definitions import Definition, RelapseFreeInterval
from monitoring.clinical.frozen import direct_init

Kind = Literal["worsening", "improvement"]
CdwType = Literal["RAW", "PIRA", "undefined"]


@direct_init
@dataclass(frozen=True, slots=True)
class Visit:
    date: dt.date
    value: float
    confirmable: bool = True


@direct_init
@dataclass(frozen=True, slots=True)
class Confirmation:
    """The first visit confirming a change within one confirmation period."""

    period_days: int
    visit: Visit


@direct_init
@dataclass(frozen=True, slots=True)
class Event:
    kind: Kind
    cdw_type: CdwType | None  # None for an improvement
    onset: Visit
    baseline: Visit
    confirmations: tuple[Confirmation, ...]  # first confirmation per period, by period
    pira_confirmations: tuple[Confirmation, ...]  # first relapse-free one per period (PIRA)
    relapses: tuple[dt.date, ...]  # the relapse onsets that decided the CDW type
    sustained_days: int  # from onset to the last visit still showing the change
    sustained_to_last_visit: bool

    @property
    def confirmation(self) -> Visit:
        return min((c.visit for c in self.confirmations), key=lambda v: v.date)

    @property
    def pira_confirmation(self) -> Visit | None:
        if not self.pira_confirmations:
            return None
        return min((c.visit for c in self.pira_confirmations), key=lambda v: v.date)


@dataclass(frozen=True, slots=True)
class Found:
    """An event as visit indices into the (sorted, de-duplicated) visits of `search()`."""

    kind: Kind
    cdw_type: CdwType | None
    onset: int
    baseline: int
    confirmations: tuple[int, ...]  # per confirmation period, -1 where none
    pira_confirmations: tuple[int, ...]  # per confirmation period, -1 where none
    relapses: tuple[int, ...]  # relapse onset day numbers
    sustained_until: int  # index of the last visit still showing the change

    @property
    def confirmation(self) -> int:
        return min(i for i in self.confirmations if i >= 0)

    @property
    def pira_confirmation(self) -> int:
        found = [i for i in self.pira_confirmations if i >= 0]
        return min(found) if found else -1


_ANCHOR_CODE = {"reference": 0, "onset": 1, "confirmation": 2}


class Compiled:
    """A definition unpacked into the plain values the hot loop reads."""

    __slots__ = (
        "bl_after",
        "bl_before",
        "cf_after",
        "cf_before",
        "check_intermediate",
        "delta",
        "ev_after",
        "ev_before",
        "from_conf",
        "intervals",
        "mode",
        "prec_last",
        "raw_after",
        "raw_before",
        "rebl_assoc",
        "relapse_rebl",
        "roving_impr",
        "roving_wors",
        "sign",
        "skip_non_pira",
        "skip_non_raw",
        "sub_change",
        "sub_impr",
        "sub_wors",
        "sustained",
        "windows",
    )

    def __init__(self, d: Definition) -> None:
        self.sign = -1.0 if d.outcome == "sdmt" else 1.0
        self.delta = _delta_function(d)
        self.windows = d.confirm_windows
        self.check_intermediate = d.check_intermediate
        self.sustained = d.require_sustained_days
        self.bl_before, self.bl_after = d.relapse_to_baseline
        self.ev_before, self.ev_after = d.relapse_to_event
        self.cf_before, self.cf_after = d.relapse_to_confirmation
        self.raw_before, self.raw_after = d.raw_window
        self.intervals = tuple(_compile_interval(i) for i in d.relapse_independence.intervals())
        self.prec_last = d.relapse_independence.reference_visit == "last"
        self.relapse_rebl = d.relapse_rebaseline
        # The reference re-baselines after a relapse as soon as the search passes it when
        # looking for the first PIRA, otherwise once past its RAW window.
        self.rebl_assoc = 0.0 if d.events == "first-pira" else d.raw_window[0]
        self.sub_change = d.sub_threshold_rebaseline != "none"
        roving_impr = d.baseline in ("roving", "roving-improvement")
        roving_wors = d.baseline in ("roving", "roving-worsening")
        self.roving_impr = roving_impr
        self.roving_wors = roving_wors
        self.sub_impr = roving_impr and d.sub_threshold_rebaseline in ("event", "improvement")
        self.sub_wors = roving_wors and d.sub_threshold_rebaseline in ("event", "worsening")
        self.from_conf = d.proceed_from == "first-confirmation"
        self.mode = d.events
        # With no worsening-driven re-baseline, events of the other type are not even kept.
        self.skip_non_pira = d.events == "first-pira" and not roving_wors
        self.skip_non_raw = d.events == "first-raw" and not roving_wors


def _compile_interval(i: RelapseFreeInterval) -> tuple[int, float, int, float]:
    return (_ANCHOR_CODE[i.start], i.start_before_days, _ANCHOR_CODE[i.end], i.end_after_days)


def _delta_function(d: Definition) -> Callable[[float], float]:
    """Minimum meaningful change from a reference value [§2.1], less a float tolerance."""
    eps = t.DELTA_TOLERANCE
    if d.outcome == "edss":
        edge = d.edss_delta_edge
        zero = t.EDSS_DELTA_FROM_ZERO - eps
        low = t.EDSS_DELTA_LOW - eps
        high = t.EDSS_DELTA_HIGH - eps

        def edss(ref: float) -> float:
            if ref == 0:
                return zero
            return low if ref <= edge else high

        return edss
    if d.outcome == "sdmt":
        divisor = 1 / t.SDMT_DELTA_FRACTION
        points = t.SDMT_DELTA_POINTS

        def sdmt(ref: float) -> float:
            return min(ref / divisor, points) - eps

        return sdmt
    timed_divisor = 1 / t.TIMED_TEST_DELTA_FRACTION

    def timed(ref: float) -> float:
        return ref / timed_divisor - eps

    return timed


def search(
    days: Sequence[int],
    values: Sequence[float],
    confirmable: Sequence[bool] | None,
    relapse_days: Sequence[int],
    c: Compiled,
) -> list[Found]:
    """Events of one patient. `days` strictly increasing; `relapse_days` sorted, unique."""
    n = len(days)
    if n < 2:
        return []
    first_day = days[0]
    rel = [r for r in relapse_days if r >= first_day - c.bl_before]  # older ones are ignored
    nrel = len(rel)
    sign = c.sign
    wv = values if sign == 1.0 else [-v for v in values]

    # Per visit: may it be a baseline, an onset, a confirmation (relapse distances) [§2.2].
    # Visits within a distance of a relapse onset are found by bisection, relapse by relapse.
    bl_bad = ev_bad = cf_bad = None
    if nrel:
        bl_bad = _near(days, rel, c.bl_before, c.bl_after)
        ev_bad = _near(days, rel, c.ev_before, c.ev_after)
        cf_bad = _near(days, rel, c.cf_before, c.cf_after)
    if cf_bad is None:
        cf_ok = list(confirmable) if confirmable is not None else None
    elif confirmable is None:
        cf_ok = [not x for x in cf_bad]
    else:
        cf_ok = [y and not x for x, y in zip(cf_bad, confirmable, strict=True)]

    # nxt[i]: the first confirmable visit from i on (n if none), to find candidates by bisection.
    nxt: list[int] | None = None
    if cf_ok is not None:
        nxt = [n] * (n + 1)
        k = n
        for i in range(n - 1, -1, -1):
            if cf_ok[i]:
                k = i
            nxt[i] = k
    delta = c.delta
    windows = c.windows
    check_int = c.check_intermediate
    sustained = c.sustained
    relapse_rebl = c.relapse_rebl and nrel > 0
    rebl_assoc = c.rebl_assoc
    sub_change = c.sub_change
    mode = c.mode

    found: list[Found] = []
    bl = 0
    search_idx = 1
    proceed = True
    irel = bisect_right(rel, days[0])  # nrel stands for "none"
    n_wors = n_impr = n_raw = n_pira = 0

    while proceed:
        if bl_bad is not None:
            while proceed and bl_bad[bl]:
                bl += 1
                if bl > n - 2:
                    proceed = False
        if relapse_rebl and irel < nrel and bl < n:
            irel = bisect_right(rel, days[bl])
        if search_idx <= bl:
            search_idx = bl + 1
        if bl > n - 1:
            bl = n - 1
            proceed = False

        wb = wv[bl]
        thr = delta(values[bl])

        # The onset candidate: the first later visit that differs enough from the baseline.
        change = -1
        if sub_change:
            for x in range(search_idx, n):
                if wv[x] != wb and (ev_bad is None or not ev_bad[x]):
                    change = x
                    break
        else:
            for x in range(search_idx, n):
                s = wv[x] - wb
                if (s >= thr or s <= -thr) and (ev_bad is None or not ev_bad[x]):
                    change = x
                    break

        if change < 0:
            proceed = False
        elif relapse_rebl and irel < nrel and days[change] > rel[irel] + rebl_assoc:
            # The change lies after the next relapse (and its RAW window): re-baseline first.
            search_idx = change
        else:
            d0 = days[change]
            s = wv[change] - wb
            # Only the first confirmation candidate decides; the others are listed once the
            # change is confirmed.
            first = n
            for lo, hi in windows:
                a = bisect_left(days, d0 + lo, change + 1)
                if nxt is not None:
                    a = nxt[a]
                if a < first and days[a] <= d0 + hi:
                    first = a
            has_conf = first < n

            if has_conf and s <= -thr and _holds_impr(wv, wb, thr, change, first, check_int):
                # Confirmed improvement.
                conf_t, conf = _candidates(days, windows, d0, change, cf_ok)
                next_change = -1
                for x in range(first + 1, n):
                    if not wv[x] - wb <= -thr:
                        next_change = x
                        break
                if next_change >= 0:
                    conf = [x for x in conf if x < next_change]
                valid = True
                if sustained:
                    valid = _sustained(
                        days, wv, wb, -thr, change, next_change, sustained, check_int, False
                    )
                if valid:
                    found.append(
                        Found(
                            "improvement",
                            None,
                            change,
                            bl,
                            _firsts(conf_t, conf),
                            (),
                            (),
                            n - 1 if next_change < 0 else next_change - 1,
                        )
                    )
                    n_impr += 1
                newref = first if c.from_conf and (valid or c.roving_impr) else change
                if c.roving_impr:
                    bl = newref
                search_idx = newref + 1

            elif (
                c.sub_impr
                and has_conf
                and s < 0
                and _moved(wv, wb, change, first, check_int, False)
            ):
                # Sub-threshold improvement: the roving baseline follows it.
                bl = first if c.from_conf else change
                search_idx = bl + 1

            elif has_conf and s >= thr and _holds_wors(wv, wb, thr, change, first, check_int):
                # Confirmed worsening.
                conf_t, conf = _candidates(days, windows, d0, change, cf_ok)
                next_nonsust = -1
                for x in range(first + 1, n):
                    if not wv[x] - wb >= thr:
                        next_nonsust = x
                        break
                if next_nonsust >= 0:
                    conf = [x for x in conf if x < next_nonsust]
                valid = True
                if sustained:
                    valid = _sustained(
                        days, wv, wb, thr, change, next_nonsust, sustained, check_int, True
                    )
                include = False
                if valid:
                    include = True
                    pira_firsts: tuple[int, ...] = ()
                    deciding: tuple[int, ...] = ()
                    is_raw = nrel > 0 and _raw(rel, d0, c.raw_before, c.raw_after)
                    if is_raw:
                        cdw_type: CdwType = "RAW"
                        deciding = tuple(
                            r
                            for r in rel
                            if 0 <= d0 - r <= c.raw_before or 0 <= r - d0 <= c.raw_after
                        )
                        include = not c.skip_non_pira
                    elif c.skip_non_raw:
                        include = False
                        cdw_type = "undefined"
                    else:
                        pconf, hits = _relapse_free(
                            conf, rel, days, c, days[change - 1] if c.prec_last else days[bl], d0
                        )
                        if pconf:
                            cdw_type = "PIRA"
                            pira_firsts = _firsts(conf_t, pconf)
                        else:
                            cdw_type = "undefined"
                            deciding = hits
                            include = not c.skip_non_pira
                    if include:
                        found.append(
                            Found(
                                "worsening",
                                cdw_type,
                                change,
                                bl,
                                _firsts(conf_t, conf),
                                pira_firsts,
                                deciding,
                                n - 1 if next_nonsust < 0 else next_nonsust - 1,
                            )
                        )
                        n_wors += 1
                        if cdw_type == "RAW":
                            n_raw += 1
                        elif cdw_type == "PIRA":
                            n_pira += 1
                newref = first if c.from_conf and (include or c.roving_wors) else change
                if c.roving_wors:
                    bl = newref
                search_idx = newref + 1

            elif (
                c.sub_wors and has_conf and s > 0 and _moved(wv, wb, change, first, check_int, True)
            ):
                # Sub-threshold worsening: likewise.
                bl = first if c.from_conf else change
                search_idx = bl + 1

            else:
                search_idx = change + 1

        # Relapse re-baseline (Kappos 2020): once the search has passed a relapse (and its RAW
        # window), the baseline moves to the first visit on or after it.
        if relapse_rebl and proceed and search_idx < n:
            k = bisect_right(rel, days[bl])
            if k < nrel and rel[k] + rebl_assoc < days[search_idx]:
                r = rel[irel]
                nb = -1
                for x in range(bl, n):
                    if r <= days[x]:
                        nb = x
                        break
                if nb >= 0:
                    bl = nb
                    search_idx = nb + 1
                if nb < 0 or nb > n - 2:
                    proceed = False

        if proceed and (
            (mode == "multiple")
            or (mode == "first" and n_wors + n_impr < 2)
            or (mode == "first-worsening" and not n_wors)
            or (mode == "first-improvement" and not n_impr)
            or (mode == "first-pira" and not n_pira)
            or (mode == "first-raw" and not n_raw)
        ):
            continue
        proceed = False

    if not found:
        return found
    if relapse_rebl:
        # A relapse re-baseline can go back before an event already found and find its onset
        # again: keep the last finding of each onset, in onset order.
        by_onset: dict[int, Found] = {}
        for f in found:
            by_onset[f.onset] = f
        found = [by_onset[k] for k in sorted(by_onset)]
    if mode == "multiple":
        return found
    if mode == "first":
        return found[:1]
    wanted = {
        "first-worsening": lambda f: f.kind == "worsening",
        "first-improvement": lambda f: f.kind == "improvement",
        "first-pira": lambda f: f.cdw_type == "PIRA",
        "first-raw": lambda f: f.cdw_type == "RAW",
    }[mode]
    for f in found:
        if wanted(f):
            return [f]
    return []


def _near(
    days: Sequence[int], rel: list[int], after_onset: float, before_onset: float
) -> list[bool] | None:
    """Visits less than `after_onset` days after, or `before_onset` days before, a relapse
    onset (None when there are none)."""
    n = len(days)
    marks: list[bool] | None = None
    for r in rel:
        if after_onset > 0:
            a = bisect_left(days, r)
            b = bisect_left(days, r + after_onset, a)
            if a < b:
                if marks is None:
                    marks = [False] * n
                marks[a:b] = [True] * (b - a)
        if before_onset > 0:
            b = bisect_right(days, r)
            a = bisect_right(days, r - before_onset, 0, b)
            if a < b:
                if marks is None:
                    marks = [False] * n
                marks[a:b] = [True] * (b - a)
    return marks


def _raw(rel: list[int], onset: int, after_onset: float, before_onset: float) -> bool:
    """A relapse onset at most `after_onset` days before the onset (or `before_onset` after)."""
    k = bisect_right(rel, onset)
    if k and onset - rel[k - 1] <= after_onset:
        return True
    j = bisect_left(rel, onset)
    return j < len(rel) and rel[j] - onset <= before_onset


def _candidates(
    days: Sequence[int],
    windows: tuple[tuple[float, float], ...],
    d0: int,
    change: int,
    cf_ok: list[bool] | None,
) -> tuple[list[list[int]], list[int]]:
    """Confirmation candidates per window, and all of them in visit order."""
    conf_t = []
    for lo, hi in windows:
        a = bisect_left(days, d0 + lo, change + 1)
        b = bisect_right(days, d0 + hi, a)
        conf_t.append(list(range(a, b)) if cf_ok is None else [x for x in range(a, b) if cf_ok[x]])
    if len(conf_t) == 1:
        return conf_t, conf_t[0]
    return conf_t, sorted({x for ct in conf_t for x in ct})


def _holds_impr(
    wv: Sequence[float], wb: float, thr: float, change: int, first: int, check_int: bool
) -> bool:
    if check_int:
        for x in range(change + 1, first + 1):
            if not wv[x] - wb <= -thr:
                return False
        return True
    return wv[first] - wb <= -thr


def _holds_wors(
    wv: Sequence[float], wb: float, thr: float, change: int, first: int, check_int: bool
) -> bool:
    if check_int:
        for x in range(change + 1, first + 1):
            if not wv[x] - wb >= thr:
                return False
        return True
    return wv[first] - wb >= thr


def _moved(
    wv: Sequence[float], wb: float, change: int, first: int, check_int: bool, up: bool
) -> bool:
    """A sub-threshold change: the confirmation visit (and, with `check_int`, every visit from
    the onset on) lies above (`up`) or below the baseline."""
    xs = range(change + 1, first + 1) if check_int else (first,)
    if up:
        return all(wv[x] > wb for x in xs)
    return all(wv[x] < wb for x in xs)


def _sustained(
    days: Sequence[int],
    wv: Sequence[float],
    wb: float,
    thr: float,
    change: int,
    next_lost: int,
    sustained: float,
    check_int: bool,
    worsening: bool,
) -> bool:
    """The sustained rule [§2.3.5]; `thr` is signed (negative for improvement)."""
    n = len(days)
    d0 = days[change]
    if check_int:
        return next_lost < 0 or days[next_lost] - d0 >= sustained
    if days[n - 1] - d0 >= sustained:
        vis = next(x for x in range(change + 1, n) if days[x] - d0 >= sustained)
    else:
        vis = n - 1
    s = wv[vis] - wb
    return s >= thr if worsening else s <= thr


def _firsts(conf_t: list[list[int]], allowed: list[int]) -> tuple[int, ...]:
    """First allowed visit of each confirmation period (-1 where none)."""
    ok = set(allowed)
    return tuple(next((x for x in ct if x in ok), -1) for ct in conf_t)


def _relapse_free(
    conf: list[int],
    rel: list[int],
    days: Sequence[int],
    c: Compiled,
    prec_day: int,
    onset_day: int,
) -> tuple[list[int], tuple[int, ...]]:
    """Confirmation candidates with no relapse in any relapse-free interval, and the relapses
    that spoiled the others."""
    if not rel:
        return conf, ()
    keep: list[int] = []
    hits: set[int] = set()
    for x in conf:
        anchors = (prec_day, onset_day, days[x])
        clean = True
        for a0, before, a1, after in c.intervals:
            lo = anchors[a0] - before
            hi = anchors[a1] + after
            if hi > lo:
                k = bisect_left(rel, lo)
                while k < len(rel) and rel[k] <= hi:
                    hits.add(rel[k])
                    clean = False
                    k += 1
        if clean:
            keep.append(x)
    return keep, tuple(sorted(hits))


def prepare(visits: Sequence[Visit]) -> list[Visit]:
    """Visits sorted by date; of several on one day the last given wins [§2.3]."""
    by_day: dict[dt.date, Visit] = {}
    for v in visits:
        by_day[v.date] = v
    return [by_day[k] for k in sorted(by_day)]


def assess(
    visits: Sequence[Visit],
    relapses: Sequence[dt.date],
    definition: Definition,
    compiled: Compiled | None = None,
) -> tuple[Event, ...]:
    """The events of one patient under `definition`."""
    vs = prepare(visits)
    c = compiled or Compiled(definition)
    days = [v.date.toordinal() for v in vs]
    confirmable = None if all(v.confirmable for v in vs) else [v.confirmable for v in vs]
    rel_days = sorted({r.toordinal() for r in relapses})
    found = search(days, [float(v.value) for v in vs], confirmable, rel_days, c)
    periods = definition.confirm_days

    def confirmations(idx: tuple[int, ...]) -> tuple[Confirmation, ...]:
        return tuple(Confirmation(p, vs[i]) for p, i in zip(periods, idx, strict=False) if i >= 0)

    return tuple(
        Event(
            kind=f.kind,
            cdw_type=f.cdw_type,
            onset=vs[f.onset],
            baseline=vs[f.baseline],
            confirmations=confirmations(f.confirmations),
            pira_confirmations=confirmations(f.pira_confirmations),
            relapses=tuple(dt.date.fromordinal(r) for r in f.relapses),
            sustained_days=days[f.sustained_until] - days[f.onset],
            sustained_to_last_visit=f.sustained_until == len(vs) - 1,
        )
        for f in found
    )

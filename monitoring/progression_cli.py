"""`progression`: confirmed disability events of every patient in a CSV file, no database.

    python -m monitoring.progression_cli VISITS.csv [--relapses R.csv] [--out E.csv]

Visits have columns `patient,date,value` and optionally `confirmable` (0/1); relapses
`patient,date`; dates are ISO (YYYY-MM-DD). One output row per event. Bad input exits with
status 2, names the file, line and reason on stderr, and writes nothing.
"""

from __future__ import annotations

import _csv
import argparse
import csv
import datetime as dt
import gc
import io
import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from itertools import compress, islice
from operator import itemgetter, lt, ne
from typing import IO, TYPE_CHECKING, NoReturn

from monitoring.clinical import measures
from monitoring.clinical.definitions import (
    BASELINES,
    DEFAULT_PRESET,
    EVENTS_MODES,
    OUTCOMES,
    PRESETS,
    SUB_THRESHOLDS,
    Definition,
    definition,
)
from monitoring.clinical.progression import Compiled, search

if TYPE_CHECKING:
    from _typeshed import SupportsWrite


OUTPUT_COLUMNS = (
    "patient",
    "event",
    "cdw_type",
    "onset_date",
    "onset_value",
    "baseline_date",
    "baseline_value",
    "confirmation_date",
    "confirmation_value",
    "pira_confirmation_date",
    "pira_confirmation_value",
    "relapses",
)
# Below this many patients a progress bar is only drawn on a terminal.
LARGE_FILE_PATIENTS = 50_000

_VALIDATORS: dict[str, Callable[[object], object]] = {
    "edss": measures.edss,
    "t25fw": measures.t25fw,
    "nhpt": measures.nhpt,
    "sdmt": measures.sdmt,
}
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


class InputError(Exception):
    """Bad input: reported as `file:line: reason`."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def __init__(self, out: IO[str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._out = out

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.format_usage()}{self.prog}: error: {message}")

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            self._out.write(message)


def _tolerance(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError("expected L,R (days; inf allowed)")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not L,R in days") from None
    if any(math.isnan(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError("tolerances must be >= 0")
    return (values[0], values[-1])


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 days")
    return value


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if math.isnan(value) or value < 0:
        raise argparse.ArgumentTypeError("must be >= 0 days (inf allowed)")
    return value


def build_parser(out: IO[str]) -> argparse.ArgumentParser:
    p = _Parser(
        out,
        prog="progression",
        description="Confirmed disability worsening/improvement (CDW/CDI, RAW/PIRA) per "
        "patient, as defined in spec §2 and computed like pymsprog 1.0.7.",
    )
    p.add_argument("visits", help="CSV with patient,date,value[,confirmable]")
    p.add_argument("--relapses", help="CSV with patient,date (relapse onsets)")
    p.add_argument("--out", help="output CSV (default: standard output)")
    p.add_argument("--outcome", choices=OUTCOMES, default="edss")
    p.add_argument("--definition", choices=tuple(PRESETS), default=DEFAULT_PRESET)
    p.add_argument("--baseline", choices=BASELINES)
    p.add_argument("--events", choices=EVENTS_MODES)
    p.add_argument("--confirm-days", type=_positive_int, action="append", metavar="N")
    p.add_argument("--confirm-tolerance", type=_tolerance, metavar="L,R")
    p.add_argument("--require-sustained-days", type=_days, metavar="N")
    p.add_argument("--relapse-rebaseline", action="store_true", default=None)
    p.add_argument("--sub-threshold-rebaseline", choices=SUB_THRESHOLDS)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def definition_from_args(a: argparse.Namespace) -> Definition:
    return definition(
        a.definition,
        outcome=a.outcome,
        baseline=a.baseline,
        events=a.events,
        confirm_days=a.confirm_days,
        confirm_tolerance=a.confirm_tolerance,
        require_sustained_days=a.require_sustained_days,
        relapse_rebaseline=a.relapse_rebaseline,
        sub_threshold_rebaseline=a.sub_threshold_rebaseline,
    )


class _Table:
    """A CSV file read column-wise with the csv module; blank lines are skipped.

    `line` maps a row index back to its line in the file for error messages. Line numbers are
    only needed for a bad row, so they are found then, by reading the file again, rather than
    kept for every row of a good file.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise InputError(path, 0, f"cannot read: {e.strerror}") from None
        try:
            self._text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise InputError(path, line, "not UTF-8 text") from None
        reader = self._reader()
        try:
            rows = [row for row in reader if row]
        except csv.Error as e:
            raise InputError(path, reader.line_num, f"bad CSV ({e})") from None
        if not rows:
            raise InputError(path, 1, "empty file (no header)")
        self.header = [h.strip().lower() for h in rows[0]]
        width = len(self.header)
        body = rows[1:]
        if {len(r) for r in body} - {width}:
            bad = next(i for i, r in enumerate(body) if len(r) != width)
            raise InputError(
                path, self.line(bad), f"{len(body[bad])} fields where the header has {width}"
            )
        self.columns = [list(map(itemgetter(k), body)) for k in range(width)]

    def _reader(self) -> _csv.Reader:
        return csv.reader(io.StringIO(self._text, newline=""), strict=True)

    def line(self, row: int) -> int:
        """The line of the file on which body row `row` (0 is the first after the header) ends."""
        rows = -1  # the header is row -1
        reader = self._reader()
        for fields in reader:
            if fields:
                if rows == row:
                    return reader.line_num
                rows += 1
        raise IndexError(row)

    def column(self, name: str) -> list[str]:
        count = self.header.count(name)
        if count != 1:
            reason = "missing column" if not count else f"{count} columns named"
            raise InputError(
                self.path, 1, f"{reason} {name!r} (header is {','.join(self.header)!r})"
            )
        return self.columns[self.header.index(name)]


Problem = tuple[int, str]  # (row index, reason)


def _first_problem(column: Sequence[str], bad: dict[str, str]) -> Problem | None:
    """The first row holding one of the `bad` texts (text -> reason)."""
    if not bad:
        return None
    row = next(i for i, text in enumerate(column) if text in bad)
    return (row, bad[column[row]])


class _Dates:
    """ISO date text -> day number, each distinct text parsed and checked once."""

    def __init__(self) -> None:
        self.cache: dict[str, int] = {}
        self.iso: dict[int, str] = {}
        self.today = dt.date.today().toordinal()

    def convert(self, column: Sequence[str]) -> tuple[list[int], Problem | None]:
        bad: dict[str, str] = {}
        cache = self.cache
        for text in set(column).difference(cache):
            s = text.strip()
            try:
                if len(s) != 10 or s[4] != "-" or s[7] != "-":
                    raise ValueError
                day = dt.date.fromisoformat(s).toordinal()
            except ValueError:
                bad[text] = f"date {text!r} is not an ISO date (YYYY-MM-DD)"
                continue
            if day > self.today:
                bad[text] = f"date {s} is in the future"
                continue
            cache[text] = day
            self.iso.setdefault(day, s)
        problem = _first_problem(column, bad)
        if problem:
            return [], problem
        return list(map(cache.__getitem__, column)), None


def _convert_values(column: Sequence[str], outcome: str) -> tuple[list[float], Problem | None]:
    validate = _VALIDATORS[outcome]
    known: dict[str, float] = {}
    bad: dict[str, str] = {}
    for text in set(column):
        if not text.strip():
            bad[text] = f"missing {outcome} value"
            continue
        try:
            known[text] = float(validate(text))  # type: ignore[arg-type]
        except measures.MeasurementError as e:
            bad[text] = f"{outcome} {e.message}"
    problem = _first_problem(column, bad)
    if problem:
        return [], problem
    return list(map(known.__getitem__, column)), None


def _convert_flags(column: Sequence[str]) -> tuple[list[bool], Problem | None]:
    known: dict[str, bool] = {}
    bad: dict[str, str] = {}
    for text in set(column):
        c = text.strip().lower()
        if c in _TRUE:
            known[text] = True
        elif c in _FALSE:
            known[text] = False
        else:
            bad[text] = f"confirmable {text!r} is not 0 or 1"
    problem = _first_problem(column, bad)
    if problem:
        return [], problem
    return list(map(known.__getitem__, column)), None


def _patients_column(column: Sequence[str]) -> Problem | None:
    return _first_problem(column, {"": "empty patient"} if "" in set(column) else {})


def _raise_first(table: _Table, problems: Sequence[Problem | None]) -> None:
    found = [p for p in problems if p is not None]
    if found:
        row, reason = min(found)
        raise InputError(table.path, table.line(row), reason)


def _runs(pids: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
    """Rows of each patient as runs of consecutive rows, patients in order of appearance."""
    n = len(pids)
    if not n:
        return {}
    starts = [0, *compress(range(1, n), map(ne, islice(pids, 1, None), pids))]
    ends = [*starts[1:], n]
    runs: dict[str, list[tuple[int, int]]] = {}
    for a, b in zip(starts, ends, strict=True):
        pid = pids[a]
        if pid in runs:
            runs[pid].append((a, b))
        else:
            runs[pid] = [(a, b)]
    return runs


Patient = tuple[list[int], list[float], Sequence[str], list[bool] | None]


def read_visits(path: str, outcome: str, dates: _Dates) -> dict[str, Patient]:
    table = _Table(path)
    pids = table.column("patient")
    date_texts = table.column("date")
    value_texts = table.column("value")
    days, p_dates = dates.convert(date_texts)
    values, p_values = _convert_values(value_texts, outcome)
    flags: list[bool] | None = None
    p_flags = None
    if "confirmable" in table.header:
        flags, p_flags = _convert_flags(table.column("confirmable"))
    _raise_first(table, (_patients_column(pids), p_dates, p_values, p_flags))

    patients: dict[str, Patient] = {}
    for pid, runs in _runs(pids).items():
        if len(runs) == 1:
            a, b = runs[0]
            conf = flags[a:b] if flags is not None else None
            patients[pid] = (
                days[a:b],
                values[a:b],
                value_texts[a:b],
                conf if conf is not None and False in conf else None,
            )
        else:
            idx = [i for a, b in runs for i in range(a, b)]
            conf = [flags[i] for i in idx] if flags is not None else None
            patients[pid] = (
                [days[i] for i in idx],
                [values[i] for i in idx],
                [value_texts[i] for i in idx],
                conf if conf is not None and False in conf else None,
            )
    return patients


def read_relapses(path: str, dates: _Dates) -> dict[str, list[int]]:
    table = _Table(path)
    pids = table.column("patient")
    days, p_dates = dates.convert(table.column("date"))
    _raise_first(table, (_patients_column(pids), p_dates))
    out: dict[str, set[int]] = {}
    for pid, day in zip(pids, days, strict=True):
        out.setdefault(pid, set()).add(day)
    return {k: sorted(v) for k, v in out.items()}


def _normalise(p: Patient) -> Patient:
    """Sorted by date; of same-day visits the last in the file wins [§2.3]."""
    days, values, texts, conf = p
    if all(map(lt, days, islice(days, 1, None))):
        return p
    last: dict[int, int] = {}
    for i, d in enumerate(days):
        last[d] = i
    order = [last[d] for d in sorted(last)]
    return (
        [days[i] for i in order],
        [values[i] for i in order],
        [texts[i] for i in order],
        None if conf is None else [conf[i] for i in order],
    )


class _Progress:
    def __init__(self, stream: IO[str], total: int, enabled: bool) -> None:
        self.stream = stream
        self.total = total
        self.tty = enabled and _isatty(stream)
        self.enabled = enabled and (self.tty or total >= LARGE_FILE_PATIENTS)
        self.step = max(1, total // (100 if self.tty else 10))

    def update(self, done: int) -> None:
        pct = 100 * done // max(self.total, 1)
        if self.tty:
            bar = "#" * (pct // 4)
            self.stream.write(f"\rprogression {bar:<25} {pct:3d}% {done}/{self.total} patients")
        else:
            self.stream.write(f"progression: {pct}% ({done}/{self.total} patients)\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.update(self.total)
            if self.tty:
                self.stream.write("\n")


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def write_events(
    out: IO[str],
    patients: dict[str, Patient],
    relapses: dict[str, list[int]],
    d: Definition,
    iso: dict[int, str],
    progress: _Progress,
) -> int:
    c = Compiled(d)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    no_relapses: list[int] = []
    count = 0
    step = progress.step if progress.enabled else 0
    for k, (pid, p) in enumerate(patients.items()):
        if step and k % step == 0:
            progress.update(k)
        days, values, texts, conf = _normalise(p)
        found = search(days, values, conf, relapses.get(pid, no_relapses), c)
        for f in found:
            ci = f.confirmation
            pc = f.pira_confirmation
            worsening = f.kind == "worsening"
            writer.writerow(
                (
                    pid,
                    f.kind,
                    f.cdw_type if worsening else "",
                    iso[days[f.onset]],
                    texts[f.onset],
                    iso[days[f.baseline]],
                    texts[f.baseline],
                    iso[days[ci]],
                    texts[ci],
                    iso[days[pc]] if pc >= 0 else "",
                    texts[pc] if pc >= 0 else "",
                    " ".join(dt.date.fromordinal(r).isoformat() for r in f.relapses),
                )
            )
            count += 1
    progress.finish()
    return count


def main(argv: Sequence[str], stdout: IO[str], stderr: IO[str]) -> int:
    # Nothing here makes reference cycles, and the collector's passes over the millions of
    # small objects of a large file would otherwise cost more than the parsing itself.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _main(argv, stdout, stderr)
    finally:
        if enabled:
            gc.enable()


def _main(argv: Sequence[str], stdout: IO[str], stderr: IO[str]) -> int:
    parser = build_parser(stdout)
    try:
        args = parser.parse_args(list(argv))
        d = definition_from_args(args)
    except _UsageError as e:
        stderr.write(f"{e}\n")
        return 2
    except ValueError as e:
        stderr.write(f"progression: error: {e}\n")
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0)

    dates = _Dates()
    try:
        patients = read_visits(args.visits, d.outcome, dates)
        relapses = read_relapses(args.relapses, dates) if args.relapses else {}
    except InputError as e:
        stderr.write(f"progression: error: {e}\n")
        return 2

    progress = _Progress(stderr, len(patients), not args.quiet)
    if not args.out:
        write_events(stdout, patients, relapses, d, dates.iso, progress)
        return 0
    target = os.path.abspath(args.out)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=".progression-", suffix=".csv", dir=os.path.dirname(target)
        )
    except OSError as e:
        stderr.write(f"progression: error: {args.out}: cannot write: {e.strerror}\n")
        return 2
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            write_events(f, patients, relapses, d, dates.iso, progress)
        # mkstemp makes the file private; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.stdout, sys.stderr))

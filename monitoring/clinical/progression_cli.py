"""`progression`: confirmed disability events of every patient in a CSV file, no database.

    python -m monitoring.clinical.progression_cli VISITS.csv [--relapses R.csv] [--out E.csv]

Visits have columns `patient,date,value` and optionally `confirmable` (0/1); relapses
`patient,date`; dates are ISO (YYYY-MM-DD). One output row per event. Bad input exits with
status 2, names the file, line and reason on stderr, and writes nothing.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import IO, NoReturn

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

OUTPUT_COLUMNS = (
    "patient", "event", "cdw_type", "onset_date", "onset_value", "baseline_date",
    "baseline_value", "confirmation_date", "confirmation_value", "pira_confirmation_date",
    "pira_confirmation_value", "relapses",
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

    def _print_message(self, message: str, file: IO[str] | None = None) -> None:
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


class _Dates:
    """ISO date text -> day number, each distinct text parsed and checked once."""

    __slots__ = ("cache", "iso", "today")

    def __init__(self) -> None:
        self.cache: dict[str, int] = {}
        self.iso: dict[int, str] = {}
        self.today = dt.date.today().toordinal()

    def parse(self, text: str, path: str, line: int) -> int:
        s = text.strip()
        try:
            if len(s) != 10 or s[4] != "-" or s[7] != "-":
                raise ValueError
            day = dt.date.fromisoformat(s).toordinal()
        except ValueError:
            raise InputError(path, line, f"date {text!r} is not an ISO date (YYYY-MM-DD)") from None
        if day > self.today:
            raise InputError(path, line, f"date {s} is in the future")
        self.cache[text] = day
        self.iso.setdefault(day, s)
        return day


def _open_csv(path: str) -> tuple[IO[str], csv.Reader, list[str]]:  # type: ignore[name-defined]
    try:
        f = open(path, newline="", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    except OSError as e:
        raise InputError(path, 0, f"cannot read: {e.strerror}") from None
    reader = csv.reader(f)
    try:
        header = next(reader)
    except StopIteration:
        f.close()
        raise InputError(path, 1, "empty file (no header)") from None
    except (csv.Error, UnicodeDecodeError) as e:
        f.close()
        raise InputError(path, 1, f"not a readable CSV file ({e})") from None
    return f, reader, [h.strip().lower() for h in header]


def _column(header: list[str], name: str, path: str) -> int:
    try:
        return header.index(name)
    except ValueError:
        raise InputError(
            path, 1, f"missing column {name!r} (header is {','.join(header)!r})"
        ) from None


Patient = tuple[list[int], list[float], list[str], list[bool] | None]


def read_visits(
    path: str, outcome: str, dates: _Dates
) -> dict[str, Patient]:
    validate = _VALIDATORS[outcome]
    f, reader, header = _open_csv(path)
    with f:
        pi = _column(header, "patient", path)
        di = _column(header, "date", path)
        vi = _column(header, "value", path)
        ci = header.index("confirmable") if "confirmable" in header else -1
        width = len(header)
        groups: dict[str, Patient] = {}
        date_cache = dates.cache
        values: dict[str, float] = {}
        try:
            for row in reader:
                if len(row) != width:
                    if not row:
                        continue
                    raise InputError(
                        path, reader.line_num, f"{len(row)} fields where the header has {width}"
                    )
                pid = row[pi]
                ds = row[di]
                vs = row[vi]
                day = date_cache.get(ds)
                if day is None:
                    day = dates.parse(ds, path, reader.line_num)
                v = values.get(vs)
                if v is None:
                    v = _value(vs, validate, outcome, path, reader.line_num)
                    values[vs] = v
                g = groups.get(pid)
                if g is None:
                    if not pid.strip():
                        raise InputError(path, reader.line_num, "empty patient")
                    g = groups[pid] = ([], [], [], [] if ci >= 0 else None)
                g[0].append(day)
                g[1].append(v)
                g[2].append(vs)
                if ci >= 0:
                    c = row[ci].strip().lower()
                    if c in _TRUE:
                        g[3].append(True)  # type: ignore[union-attr]
                    elif c in _FALSE:
                        g[3].append(False)  # type: ignore[union-attr]
                    else:
                        raise InputError(
                            path, reader.line_num, f"confirmable {row[ci]!r} is not 0 or 1"
                        )
        except csv.Error as e:
            raise InputError(path, reader.line_num, f"bad CSV ({e})") from None
        except UnicodeDecodeError:
            raise InputError(path, reader.line_num + 1, "not UTF-8 text") from None
    return groups


def _value(text: str, validate: Callable[[object], object], outcome: str, path: str,
           line: int) -> float:
    if not text.strip():
        raise InputError(path, line, f"missing {outcome} value")
    try:
        return float(validate(text))  # type: ignore[arg-type]
    except measures.MeasurementError as e:
        raise InputError(path, line, f"{outcome} {e.message}") from None


def read_relapses(path: str, dates: _Dates) -> dict[str, list[int]]:
    f, reader, header = _open_csv(path)
    with f:
        pi = _column(header, "patient", path)
        di = _column(header, "date", path)
        width = len(header)
        out: dict[str, set[int]] = {}
        try:
            for row in reader:
                if len(row) != width:
                    if not row:
                        continue
                    raise InputError(
                        path, reader.line_num, f"{len(row)} fields where the header has {width}"
                    )
                ds = row[di]
                day = dates.cache.get(ds)
                if day is None:
                    day = dates.parse(ds, path, reader.line_num)
                if not row[pi].strip():
                    raise InputError(path, reader.line_num, "empty patient")
                out.setdefault(row[pi], set()).add(day)
        except csv.Error as e:
            raise InputError(path, reader.line_num, f"bad CSV ({e})") from None
        except UnicodeDecodeError:
            raise InputError(path, reader.line_num + 1, "not UTF-8 text") from None
    return {k: sorted(v) for k, v in out.items()}


def _normalise(p: Patient) -> Patient:
    """Sorted by date; of same-day visits the last in the file wins [§2.3]."""
    days, values, texts, conf = p
    if all(a < b for a, b in zip(days, days[1:], strict=False)):
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
            writer.writerow((
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
            ))
            count += 1
    progress.finish()
    return count


def main(argv: Sequence[str], stdout: IO[str], stderr: IO[str]) -> int:
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
    for day in {r for rs in relapses.values() for r in rs}:
        dates.iso.setdefault(day, dt.date.fromordinal(day).isoformat())

    progress = _Progress(stderr, len(patients), not args.quiet)
    if not args.out:
        write_events(stdout, patients, relapses, d, dates.iso, progress)
        return 0
    target = os.path.abspath(args.out)
    fd, tmp = tempfile.mkstemp(prefix=".progression-", suffix=".csv",
                               dir=os.path.dirname(target))
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

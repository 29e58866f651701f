"""The `progression` CSV command (pure CLI; the manage.py command only delegates to it)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from monitoring.progression_cli import OUTPUT_COLUMNS, main

TOY = Path(__file__).parent / "clinical" / "data" / "msprog-toy"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _toy_inputs(tmp_path: Path, quote: bool = False) -> tuple[str, str]:
    rows = list(csv.DictReader((TOY / "toydata_visits.csv").open()))
    visits = tmp_path / "visits.csv"
    with visits.open("w", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL if quote else csv.QUOTE_MINIMAL)
        w.writerow(["patient", "date", "value"])
        for r in rows:
            w.writerow([r["id"], r["date"], r["EDSS"]])
    relapses = tmp_path / "relapses.csv"
    with relapses.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["patient", "date"])
        for r in csv.DictReader((TOY / "toydata_relapses.csv").open()):
            w.writerow([r["id"], r["date"]])
    return str(visits), str(relapses)


def _expected_g03() -> list[dict[str, str]]:
    """pymsprog 1.0.7, multiple events, roving baseline, Müller 2023: the service defaults."""
    out = []
    for r in csv.DictReader(
        (TOY / "expected" / "G03_edss_multiple_roving_rawpira_results.csv").open()
    ):
        if not r["event_type"]:
            continue
        worsening = r["event_type"] == "CDW"
        out.append(
            {
                "patient": r["id"],
                "event": "worsening" if worsening else "improvement",
                "cdw_type": r["CDW_type"] if worsening else "",
                "onset_date": r["date"],
                "onset_value": r["value"],
                "baseline_date": r["bl_date"],
                "baseline_value": r["bl_value"],
                "confirmation_date": r["conf84_date"],
                "confirmation_value": r["conf84_value"],
                "pira_confirmation_date": r["PIRA_conf84_date"],
            }
        )
    return out


def _rows(text: str) -> list[dict[str, str]]:
    return [{k: r[k] for k in OUTPUT_COLUMNS[:10]} for r in csv.DictReader(io.StringIO(text))]


@pytest.mark.parametrize("quote", [False, True])
def test_toy_data_with_service_defaults_gives_the_reference_events(
    tmp_path: Path, quote: bool
) -> None:
    visits, relapses = _toy_inputs(tmp_path, quote)
    status, out, err = _run(visits, "--relapses", relapses)
    assert status == 0, err
    assert out.splitlines()[0] == ",".join(OUTPUT_COLUMNS)
    assert _rows(out) == _expected_g03()
    assert len(_expected_g03()) == 8


def test_out_file_is_written_and_stdout_stays_empty(tmp_path: Path) -> None:
    visits, relapses = _toy_inputs(tmp_path)
    target = tmp_path / "events.csv"
    status, out, err = _run(visits, "--relapses", relapses, "--out", str(target))
    assert (status, out, err) == (0, "", "")
    assert _rows(target.read_text()) == _expected_g03()
    assert list(tmp_path.glob(".progression-*")) == []


def test_flags_reach_the_definition(tmp_path: Path) -> None:
    visits = _write(
        tmp_path / "v.csv",
        "patient,date,value\n"
        "a,2020-01-01,2.0\na,2020-04-10,3.0\na,2020-07-01,3.0\na,2020-10-01,3.0\n",
    )
    # 84 days: confirmed on 2020-07-01; 168 days (portaccio2025): on 2020-10-01.
    _, out84, _ = _run(visits)
    _, out168, _ = _run(visits, "--definition", "portaccio2025")
    _, explicit, _ = _run(visits, "--definition", "portaccio2025", "--confirm-days", "84")
    assert [r["confirmation_date"] for r in _rows(out84)] == ["2020-07-01"]
    assert [r["confirmation_date"] for r in _rows(out168)] == ["2020-10-01"]
    assert [r["confirmation_date"] for r in _rows(explicit)] == ["2020-07-01"]
    _, tight, _ = _run(visits, "--confirm-tolerance", "0,0")
    assert _rows(tight) == []
    _, fixed, _ = _run(visits, "--baseline", "fixed", "--events", "first-improvement")
    assert _rows(fixed) == []


def test_unsorted_input_and_same_day_duplicates(tmp_path: Path) -> None:
    visits = _write(
        tmp_path / "v.csv",
        "patient,date,value,confirmable\n"
        "a,2020-07-01,3.0,1\nb,2020-01-01,1.0,1\na,2020-01-01,2.0,1\n"
        "a,2020-04-10,2.0,1\na,2020-04-10,3.0,1\na,2020-10-01,3.0,0\n",
    )
    status, out, err = _run(visits)
    assert status == 0, err
    assert [(r["patient"], r["onset_date"], r["confirmation_date"]) for r in _rows(out)] == [
        ("a", "2020-04-10", "2020-07-01")
    ]


def test_progress_bar_goes_to_a_terminal_stderr_only(tmp_path: Path) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    visits, relapses = _toy_inputs(tmp_path)
    target = tmp_path / "events.csv"
    err = Tty()
    assert main([visits, "--relapses", relapses, "--out", str(target)], io.StringIO(), err) == 0
    assert "100%" in err.getvalue()
    assert _rows(target.read_text()) == _expected_g03()
    quiet = Tty()
    main([visits, "--relapses", relapses, "--out", str(target), "--quiet"], io.StringIO(), quiet)
    assert quiet.getvalue() == ""


BAD_VISITS = [
    ("patient,date\na,2020-01-01\n", 1, "missing column 'value'"),
    ("patient,date,value\na,2020-01-01,2.0\na,2020-04-01,3.25\n", 3, "3.25 is not an EDSS step"),
    ("patient,date,value\na,2020-01-01,2.0\na,01/04/2020,3.0\n", 3, "is not an ISO date"),
    ("patient,date,value\na,2020-02-30,2.0\n", 2, "is not an ISO date"),
    ("patient,date,value\na,2020-01-01,2.0\na,2020-04-01\n", 3, "2 fields where the header has 3"),
    ("patient,date,value\na,2020-01-01,\n", 2, "missing edss value"),
    ("patient,date,value\n,2020-01-01,2.0\n", 2, "empty patient"),
    ("patient,date,value\na,2999-01-01,2.0\n", 2, "is in the future"),
    ("patient,date,value,confirmable\na,2020-01-01,2.0,maybe\n", 2, "confirmable 'maybe'"),
    ('patient,date,value\na,2020-01-01,2.0\n"a,2020-04-01,3.0\n', 3, "bad CSV"),
    ("", 1, "empty file"),
    ("patient,date,value,value\na,2020-01-01,2.0,3.0\n", 1, "2 columns named 'value'"),
    ("patient,date,value\na,2020-01-01,2.0\n\na,2020-04-01,x\n", 4, "edss 'x'"),
    ("\ufeffpatient,date,value\na,2020-01-01,2.0\na,2020-04-01,0.5\n", 3, "0.5"),
    ("patient,date,value,confirmable\na,2020-01-01,2.0,2\n", 2, "confirmable '2'"),
    # A quoted patient id over two lines: the bad value after it is on line 4.
    ('patient,date,value\n"a\nb",2020-01-01,2.0\na,2020-04-01,x\n', 4, "edss 'x'"),
    ("patient,date,value\r\na,2020-01-01,2.0\r\n\r\na,2020-04-01\r\n", 4, "2 fields where"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BAD_VISITS)
def test_bad_visits_exit_2_with_file_line_and_reason_and_write_nothing(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    visits = _write(tmp_path / "visits.csv", text)
    target = tmp_path / "events.csv"
    status, out, err = _run(visits, "--out", str(target))
    assert status == 2
    assert f"{visits}:{line}: " in err
    assert reason in err
    assert out == ""
    assert not target.exists()
    assert list(tmp_path.glob(".progression-*")) == []


def test_first_bad_line_is_reported(tmp_path: Path) -> None:
    visits = _write(
        tmp_path / "v.csv",
        "patient,date,value\na,2020-01-01,2.0\na,2020-13-01,2.0\na,2020-04-01,0.5\n",
    )
    status, _, err = _run(visits)
    assert status == 2
    assert f"{visits}:3: " in err


def test_bad_relapses_and_outcome_specific_validation(tmp_path: Path) -> None:
    visits = _write(tmp_path / "v.csv", "patient,date,value\na,2020-01-01,50\n")
    relapses = _write(tmp_path / "r.csv", "patient,date\na,2020-01-01\na,yesterday\n")
    status, out, err = _run(visits, "--relapses", relapses, "--outcome", "sdmt")
    assert (status, out) == (2, "")
    assert f"{relapses}:3: " in err
    status, _, err = _run(visits, "--outcome", "edss")
    assert status == 2
    assert "50 is not an EDSS step" in err
    sdmt = _write(tmp_path / "s.csv", "patient,date,value\na,2020-01-01,50.5\n")
    status, _, err = _run(sdmt, "--outcome", "sdmt")
    assert status == 2
    assert "not a whole number" in err


def test_bad_flags_and_missing_file_exit_2(tmp_path: Path) -> None:
    visits = _write(tmp_path / "v.csv", "patient,date,value\na,2020-01-01,2.0\n")
    for argv in (
        [visits, "--confirm-tolerance", "x"],
        [visits, "--confirm-days", "0"],
        [visits, "--definition", "nope"],
        [visits, "--events", "all"],
        [str(tmp_path / "missing.csv")],
    ):
        status, out, err = _run(*argv)
        assert status == 2, argv
        assert out == ""
        assert err


def test_infinite_right_tolerance_is_accepted(tmp_path: Path) -> None:
    visits = _write(
        tmp_path / "v.csv",
        "patient,date,value\na,2020-01-01,2.0\na,2020-02-01,3.0\na,2024-02-01,3.0\n",
    )
    assert _rows(_run(visits)[1]) == []
    rows = _rows(_run(visits, "--confirm-tolerance", "7,inf")[1])
    assert [r["confirmation_date"] for r in rows] == ["2024-02-01"]


def test_unwritable_output_exits_2(tmp_path: Path) -> None:
    visits = _write(tmp_path / "v.csv", "patient,date,value\na,2020-01-01,2.0\n")
    status, out, err = _run(visits, "--out", str(tmp_path / "no" / "such" / "dir.csv"))
    assert (status, out) == (2, "")
    assert "cannot write" in err


@pytest.mark.parametrize("text", ["patient,date,value\n", "patient,date,value\n\n\n"])
def test_header_only_visits_give_a_header_only_result(tmp_path: Path, text: str) -> None:
    visits = _write(tmp_path / "v.csv", text)
    relapses = _write(tmp_path / "r.csv", "patient,date\n")
    status, out, err = _run(visits, "--relapses", relapses, "--quiet")
    assert (status, err) == (0, "")
    assert out == ",".join(OUTPUT_COLUMNS) + "\n"


def test_non_utf8_bytes_exit_2_with_their_line(tmp_path: Path) -> None:
    visits = tmp_path / "v.csv"
    visits.write_bytes(b"patient,date,value\na,2020-01-01,2.0\n\xff,2020-04-01,3.0\n")
    status, out, err = _run(str(visits))
    assert (status, out) == (2, "")
    assert f"{visits}:3: not UTF-8 text" in err

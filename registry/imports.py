"""Import a clinic's history from CSV or XLSX files, one record kind per file.

Every row is written by `patients.actions.upsert_records`, the upsert the API's bulk requests
and FHIR bundles use: the same matching by the sending system's identifiers (`source_system`,
`source_id`), the same validation by the model's own rules in the same words, the same
refusal of a record marked entered in error, the same audit rows. Importing a file again
updates the records whose values changed and leaves the others alone. A file is stored whole
or not at all; each refused row is named by file, line and field. docs/import.md describes
the columns of each kind.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from monitoring.models import (
    AdverseEvent,
    Analyte,
    Comorbidity,
    LabResult,
    MriScan,
    NflSample,
    Pregnancy,
    Relapse,
    Visit,
)
from patients.actions import (
    SOURCE_KEY,
    Actor,
    RecordErrors,
    field_errors,
    find_records,
    one_evaluation_per_patient,
    source_key,
    upsert_records,
)
from patients.models import Patient, Site, Therapy, TherapyCourse, Validated, by_any_name

SOURCE_COLUMNS = ("source_system", "source_id")
# A record names its patient by the patient's source id (in the record's source system) or
# by the site's MRN.
PATIENT_COLUMNS = ("patient_source_id", "patient_mrn")
SOURCE_ID_REQUIRED = "a source id is required (re-imports find the record by it)"
TRUE_WORDS = {"1", "true", "t", "yes", "y"}
FALSE_WORDS = {"0", "false", "f", "no", "n"}


@dataclass(frozen=True, slots=True)
class Kind:
    """A record kind as a file holds it: its model and the model fields its columns give."""

    name: str
    model: type[Validated]
    fields: tuple[str, ...]

    @property
    def of_patient(self) -> bool:
        return self.model is not Patient

    def model_field(self, name: str) -> models.Field:
        field = self.model._meta.get_field(name)
        assert isinstance(field, models.Field), name
        return field

    def required(self, name: str) -> bool:
        f = self.model_field(name)
        return not f.blank and not f.has_default()

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column a file of this kind may have, in the template's order."""
        return (*SOURCE_COLUMNS, *(PATIENT_COLUMNS if self.of_patient else ()), *self.fields)


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "patients",
            Patient,
            (
                "mrn",
                "display_name",
                "birth_date",
                "sex",
                "phenotype",
                "symptom_onset",
                "diagnosis_date",
            ),
        ),
        Kind("therapy-courses", TherapyCourse, ("therapy", "start", "end", "stop_reason")),
        Kind("visits", Visit, ("date", "edss", "t25fw", "nhpt", "sdmt", "scheduled")),
        Kind(
            "relapses",
            Relapse,
            ("onset", "end", "severity", "steroids", "confirmed_by_clinician"),
        ),
        Kind(
            "mri-scans",
            MriScan,
            ("date", "new_t2", "gd_enhancing", "total_t2", "pbvc", "field_strength"),
        ),
        Kind(
            "nfl-samples",
            NflSample,
            ("date", "matrix", "value", "assay", "lab", "lab_upper_limit", "z_score"),
        ),
        Kind(
            "lab-results",
            LabResult,
            ("analyte", "date", "value", "unit", "text", "lower_limit", "upper_limit", "lab"),
        ),
        Kind(
            "adverse-events",
            AdverseEvent,
            ("date", "term", "serious", "suspected_therapy", "outcome"),
        ),
        Kind(
            "pregnancies",
            Pregnancy,
            ("start", "due_date", "end", "outcome", "therapy_action"),
        ),
        Kind("comorbidities", Comorbidity, ("condition", "code", "onset", "resolved", "notes")),
    )
}


# Columns naming a row of a catalogue: its model, and what a refusal calls it.
CATALOGUE_COLUMNS: dict[str, tuple[type[Therapy] | type[Analyte], str]] = {
    "therapy": (Therapy, "therapy"),
    "suspected_therapy": (Therapy, "therapy"),
    "analyte": (Analyte, "analyte"),
}


def _catalogue(column: str) -> dict[str, Any]:
    """The rows of a column's catalogue by every name a file may give them, in lower case:
    code and name (and an analyte's LOINC code)."""
    return by_any_name(CATALOGUE_COLUMNS[column][0].objects.all())


@dataclass(frozen=True, slots=True)
class RowError:
    """A refusal: the file, its line (1 is the header), the column and why."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}, {self.field}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


@dataclass(slots=True)
class Outcome:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.errors)


class FileRefused(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(map(str, errors)))
        self.errors = errors


Progress = Callable[[int, int], None]  # rows done, rows in the file


@dataclass(frozen=True, slots=True)
class Table:
    """A file's header and an iterator of (line, values) for its data rows."""

    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    total: int


def read_table(name: str, data: bytes) -> Table:
    """The rows of a CSV (UTF-8) or XLSX file; anything else is refused, naming the file."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".csv":
        return _read_csv(name, data)
    if suffix == ".xlsx":
        return _read_xlsx(name, data)
    raise FileRefused([RowError(name, 1, "file", "not a CSV or XLSX file (.csv or .xlsx)")])


def _read_csv(name: str, data: bytes) -> Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
    if "\x00" in text or (not text and data):
        raise FileRefused([RowError(name, 1, "file", "not a CSV file (UTF-8 text expected)")])
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise FileRefused([RowError(name, 1, "file", "the file is empty")])

    def rows() -> Iterator[tuple[int, list[Any]]]:
        line = reader.line_num
        for values in reader:
            if any(value.strip() for value in values):
                yield line + 1, values
            line = reader.line_num

    return Table(header, rows(), max(text.count("\n") - 1, 0))


def _read_xlsx(name: str, data: bytes) -> Table:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise FileRefused([RowError(name, 1, "file", "not an XLSX workbook")]) from None
    sheet = book.worksheets[0]
    cells = sheet.iter_rows(values_only=True)
    header = next(cells, None)
    if header is None:
        raise FileRefused([RowError(name, 1, "file", "the first sheet is empty")])

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for line, values in enumerate(cells, start=2):
            if any(value not in (None, "") for value in values):
                yield line, list(values)

    return Table(
        ["" if cell is None else str(cell) for cell in header], rows(), (sheet.max_row or 1) - 1
    )


def check_header(name: str, kind: Kind, header: list[str]) -> list[str]:
    """The header's columns, or FileRefused naming each wrong column on line 1."""
    columns = [column.strip().lower() for column in header]
    errors = [
        RowError(
            name,
            1,
            column or "(blank)",
            f"unknown column; a {kind.name} file has: " + ", ".join(kind.columns),
        )
        for column in columns
        if column not in kind.columns
    ]
    errors += [
        RowError(name, 1, column, "this column appears twice")
        for index, column in enumerate(columns)
        if column in columns[:index] and column in kind.columns
    ]
    wanted = [*SOURCE_COLUMNS, *(f for f in kind.fields if kind.required(f))]
    errors += [
        RowError(name, 1, column, "missing column") for column in wanted if column not in columns
    ]
    if kind.of_patient and not any(column in columns for column in PATIENT_COLUMNS):
        errors.append(RowError(name, 1, "patient_source_id", "missing column (or patient_mrn)"))
    if errors:
        raise FileRefused(errors)
    return columns


def _cell(kind: Kind, column: str, value: Any) -> Any:
    """A cell as the model field takes it: the field parses text itself (its messages are
    the API's); empty cells become the field's empty value, yes/no words booleans."""
    if value is None or (isinstance(value, str) and not value.strip()):
        f = kind.model_field(column)
        if f.null:
            return None
        return f.get_default() if f.has_default() else ""
    if hasattr(value, "date") and callable(value.date):  # an XLSX date cell
        return value.date()
    if isinstance(value, float):
        return repr(value)  # 3.25 stays 3.25: never rounded into a valid value
    if isinstance(value, str):
        value = value.strip()
        if isinstance(kind.model_field(column), models.BooleanField):
            word = value.lower()
            return True if word in TRUE_WORDS else False if word in FALSE_WORDS else value
    return value


def _messages(error: ValidationError) -> Iterator[tuple[str, str]]:
    """(column, message) of a refusal; one about the record as a whole is the row's."""
    for name, messages in field_errors(error).items():
        for message in messages:
            yield ("row" if name == "non_field_errors" else name), message


class Importer:
    """One file of one kind into one site."""

    def __init__(
        self,
        name: str,
        kind: Kind,
        site: Site,
        *,
        actor: Actor,
        dry_run: bool,
        batch: int = 2000,
    ) -> None:
        self.name = name
        self.kind = kind
        self.site = site
        self.actor = actor
        self.dry_run = dry_run
        self.batch = batch
        self.outcome = Outcome()
        self.lines: dict[tuple[Any, ...], int] = {}  # source identifiers seen, by line
        # The catalogue rows the file's columns name, read once for the file.
        self.catalogues = {
            column: _catalogue(column) for column in kind.fields if column in CATALOGUE_COLUMNS
        }

    def refuse(self, line: int, column: str, message: str) -> None:
        self.outcome.errors.append(RowError(self.name, line, column, message))

    def run(self, data: bytes, progress: Progress | None = None) -> Outcome:
        try:
            table = read_table(self.name, data)
            columns = check_header(self.name, self.kind, table.header)
        except FileRefused as refused:
            self.outcome.errors = refused.errors
            return self.outcome
        # Once the file is stored, its patients are evaluated together, in the sweep's
        # batches, rather than one task per patient and row.
        with transaction.atomic(), one_evaluation_per_patient():
            while chunk := list(islice(table.rows, self.batch)):
                self._chunk(columns, chunk)
                self.outcome.rows += len(chunk)
                if progress:
                    progress(self.outcome.rows, max(table.total, self.outcome.rows))
            if self.dry_run or self.outcome.refused:
                transaction.set_rollback(True)
        if self.outcome.refused:
            self.outcome.created = self.outcome.updated = 0
        self.outcome.errors.sort(key=lambda e: e.line)
        return self.outcome

    def _chunk(self, columns: list[str], chunk: list[tuple[int, list[Any]]]) -> None:
        rows: list[tuple[int, dict[str, Any]]] = []
        for line, cells in chunk:
            if len(cells) > len(columns):
                self.refuse(line, "row", f"{len(cells)} cells for {len(columns)} columns")
                continue
            row = dict(zip(columns, cells, strict=False))
            row["source_system"] = str(row.get("source_system") or "").strip()
            row["source_id"] = str(row.get("source_id") or "").strip()
            if not row["source_id"]:
                self.refuse(line, "source_id", SOURCE_ID_REQUIRED)
                continue
            rows.append((line, row))
        patients = self._patients(rows) if self.kind.of_patient else {}
        lines: list[int] = []
        batch: list[dict[str, Any]] = []
        for line, row in rows:
            values = self._values(line, row, patients)
            if values is None:
                continue
            # upsert_records' own key: rows it would take for one record are one row twice.
            key = source_key(self.kind.model, values)
            if key is None:  # nothing but invisible characters
                self.refuse(line, "source_id", SOURCE_ID_REQUIRED)
                continue
            if key in self.lines:
                self.refuse(
                    line, "source_id", f"{row['source_id']} is also on line {self.lines[key]}"
                )
                continue
            self.lines[key] = line
            lines.append(line)
            batch.append(values)
        self._store(lines, batch)

    @staticmethod
    def _names(row: dict[str, Any]) -> tuple[str, ...] | None:
        """How a row names its patient: by the patient's source id in the row's source
        system, or else by MRN."""
        source_id = str(row.get("patient_source_id") or "").strip()
        if source_id:
            return ("source", row["source_system"], source_id)
        mrn = str(row.get("patient_mrn") or "").strip()
        return ("mrn", mrn) if mrn else None

    def _patients(
        self, rows: list[tuple[int, dict[str, Any]]]
    ) -> dict[tuple[str, ...], Patient | None]:
        """The patients the rows name at the site, matched as upsert_records matches (the
        identifiers as stored), in one query for source ids and one for MRNs."""
        names = {name for _, row in rows if (name := self._names(row))}
        found: dict[tuple[str, ...], Patient | None] = {}
        for how, by in (("source", SOURCE_KEY), ("mrn", ("mrn",))):
            wanted = [name for name in names if name[0] == how]
            if not wanted:
                continue
            batch = [{"site": self.site, **dict(zip(by, name[1:], strict=True))} for name in wanted]
            found.update(zip(wanted, find_records(Patient, batch, by=by), strict=True))
        return found

    def _patient_of(
        self, line: int, row: dict[str, Any], patients: dict[tuple[str, ...], Patient | None]
    ) -> Patient | None:
        name = self._names(row)
        patient = patients.get(name) if name else None
        if patient is not None:
            return patient
        if name is None:
            self.refuse(
                line, "patient_source_id", "say which patient (patient_source_id or patient_mrn)"
            )
        elif name[0] == "source":
            self.refuse(
                line,
                "patient_source_id",
                f"no patient with source id {name[2]} from "
                f"{name[1] or '(no source system)'} at {self.site.code}",
            )
        else:
            self.refuse(line, "patient_mrn", f"no patient with MRN {name[1]} at {self.site.code}")
        return None

    def _values(
        self, line: int, row: dict[str, Any], patients: dict[tuple[str, ...], Patient | None]
    ) -> dict[str, Any] | None:
        """A row as the values of a record (its patient and catalogue rows looked up), or
        None when it names what does not exist."""
        values: dict[str, Any] = {
            "source_system": row["source_system"],
            "source_id": row["source_id"],
        }
        if self.kind.of_patient:
            patient = self._patient_of(line, row, patients)
            if patient is None:
                return None
            values["patient"] = patient
        else:
            values["site"] = self.site
        for column in self.kind.fields:
            if column not in row:
                continue
            if column in self.catalogues:
                name = str(row[column] or "").strip()
                if not name and self.kind.model_field(column).null:
                    values[column] = None
                    continue
                entry = self.catalogues[column].get(name.lower())
                if entry is None:
                    what = CATALOGUE_COLUMNS[column][1]
                    self.refuse(
                        line,
                        column,
                        f"unknown {what} {row[column]!r}; the catalogue's codes and names "
                        f"{'(and LOINC codes) ' if what == 'analyte' else ''}are known "
                        "(docs/import.md)",
                    )
                    return None
                values[column] = entry
                continue
            values[column] = _cell(self.kind, column, row[column])
        return values

    def _store(self, lines: list[int], batch: list[dict[str, Any]]) -> None:
        """Upsert the chunk's rows. A dry run stores them too, inside the file's transaction
        that is rolled back: it sees what the real run would, a clash with an earlier chunk's
        row included. That is why the rows of a refused chunk that pass are stored all the
        same (`all_or_none=False`): the file's later rows are checked against them."""
        if not batch:
            return
        try:
            upserted = upsert_records(self.kind.model, batch, actor=self.actor, all_or_none=False)
        except RecordErrors as refused:
            for position, error in refused.errors.items():
                for column, message in _messages(error):
                    self.refuse(lines[position], column, message)
            return
        for result in upserted:
            if result.created:
                self.outcome.created += 1
            elif result.changed:
                self.outcome.updated += 1
            else:
                self.outcome.unchanged += 1


def import_file(
    name: str,
    data: bytes,
    kind: str,
    site: Site,
    *,
    actor: Actor,
    dry_run: bool,
    progress: Progress | None = None,
) -> Outcome:
    """Check (dry run) or import one file of one record kind into `site`."""
    return Importer(name, KINDS[kind], site, actor=actor, dry_run=dry_run).run(data, progress)

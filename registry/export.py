"""The pseudonymised research export of one site (docs/research-export.md).

Only patients whose consent covers research exports and was not withdrawn are exported.
Patients and records are named by keyed pseudonyms (HMAC-SHA256 with
RESEARCH_PSEUDONYM_KEY), the same in every export and reversible only by recomputing them
(`find_patient`, an audited site admin's lookup). Names, MRNs, source identifiers and free
text are left out; birth dates are cut to year and month. Every record kind is a tidy table
(one row per record), written as CSV and as Parquet, with the computed events (confirmed
disability worsening with RAW/PIRA under each chosen definition, NEDA per stored window)
and a data dictionary.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

from monitoring.clinical.definitions import definition
from monitoring.models import LabResult, MriScan, NflSample, Relapse, Visit
from outcomes.documents import NedaWindowDocument, StatusDocuments
from outcomes.events import computed_events
from outcomes.models import PatientStatus
from patients.models import Patient, Site, TherapyCourse

BATCH = 1000  # patients read and written at a time


def pseudonym_key() -> bytes:
    key = settings.RESEARCH_PSEUDONYM_KEY
    if key:
        return str(key).encode()
    if settings.DEBUG:
        # A local try-out only: pseudonyms made with this key are not secret.
        return hashlib.sha256(b"research-pseudonyms:" + settings.SECRET_KEY.encode()).digest()
    raise ImproperlyConfigured(
        "RESEARCH_PSEUDONYM_KEY must be set in the environment for research exports and "
        "pseudonym lookups (keep it secret and never change it: every pseudonym would change)"
    )


def pseudonym(key: bytes, public_id: Any, kind: str = "patient") -> str:
    """The keyed pseudonym of a patient (or of a record: `kind`), stable across exports."""
    digest = hmac.new(key, f"{kind}:{public_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:32]


def consenting(site: Site) -> QuerySet[Patient]:
    """The site's patients whose consent covers the research export and was not withdrawn."""
    return Patient.objects.filter(
        site=site, consent__research_export=True, consent__withdrawn__isnull=True
    )


def find_patient(site: Site, wanted: str) -> Patient | None:
    """The site's patient behind a pseudonym (of any patient: consent may have been
    withdrawn since). The caller audits the lookup."""
    key = pseudonym_key()
    wanted = wanted.strip().lower()
    for patient in Patient.objects.filter(site=site).only("pk", "public_id", "site_id"):
        if hmac.compare_digest(pseudonym(key, patient.public_id), wanted):
            return Patient.objects.select_related("site").get(pk=patient.pk)
    return None


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    type: pa.DataType
    description: str
    msda: str = ""  # the MS Data Alliance core dataset variable it maps onto, if any


def _v(name: str, kind: pa.DataType, description: str, msda: str = "") -> Variable:
    return Variable(name, kind, description, msda)


PSEUDONYM = _v("pseudonym", pa.string(), "The patient's keyed pseudonym (stable across exports)")
RECORD = _v("record_id", pa.string(), "The record's keyed pseudonym (stable across exports)")
TABLES: dict[str, tuple[str, list[Variable]]] = {
    "patients": (
        "One row per consenting patient",
        [
            PSEUDONYM,
            _v(
                "birth_year_month",
                pa.string(),
                "Birth date cut to year and month (YYYY-MM)",
                "Demographics: date of birth (year and month only)",
            ),
            _v("sex", pa.string(), "female, male, other, unknown", "Demographics: sex"),
            _v(
                "phenotype",
                pa.string(),
                "CIS, RRMS, SPMS, PPMS",
                "Disease status: MS course (phenotype)",
            ),
            _v(
                "symptom_onset",
                pa.date32(),
                "First MS symptoms",
                "Disease history: date of MS onset",
            ),
            _v(
                "diagnosis_date",
                pa.date32(),
                "MS diagnosis",
                "Disease history: date of MS diagnosis",
            ),
            _v("consent_date", pa.date32(), "The day research consent was given"),
        ],
    ),
    "therapy_courses": (
        "One row per disease-modifying therapy course",
        [
            PSEUDONYM,
            RECORD,
            _v("therapy", pa.string(), "Catalogue code (docs/import.md)", "Treatment: DMT name"),
            _v("therapy_class", pa.string(), "platform, high_efficacy, induction"),
            _v("start", pa.date32(), "First day", "Treatment: DMT start date"),
            _v("end", pa.date32(), "Last day; empty while ongoing", "Treatment: DMT stop date"),
            _v(
                "stop_reason",
                pa.string(),
                "inefficacy, safety, tolerability, pregnancy, patient_choice, other",
                "Treatment: reason for DMT discontinuation",
            ),
        ],
    ),
    "visits": (
        "One row per visit with its disability measures",
        [
            PSEUDONYM,
            RECORD,
            _v("date", pa.date32(), "Visit day", "Disease status: date of EDSS assessment"),
            _v("edss", pa.float64(), "EDSS (0-10 in its steps)", "Disease status: EDSS score"),
            _v("t25fw", pa.float64(), "Timed 25-foot walk, seconds"),
            _v("nhpt", pa.float64(), "Nine-hole peg test, seconds"),
            _v("sdmt", pa.int32(), "Symbol digit modalities test, correct answers"),
            _v("scheduled", pa.bool_(), "A scheduled (not unscheduled) visit"),
        ],
    ),
    "relapses": (
        "One row per relapse",
        [
            PSEUDONYM,
            RECORD,
            _v("onset", pa.date32(), "Relapse onset", "Relapses: date of relapse onset"),
            _v("end", pa.date32(), "Relapse end, if known"),
            _v("severity", pa.string(), "mild, moderate, severe"),
            _v("steroids", pa.bool_(), "Treated with steroids"),
            _v("confirmed_by_clinician", pa.bool_(), "Confirmed by a clinician"),
        ],
    ),
    "mri_scans": (
        "One row per brain MRI",
        [
            PSEUDONYM,
            RECORD,
            _v("date", pa.date32(), "Scan day", "MRI: date of MRI"),
            _v(
                "new_t2",
                pa.int32(),
                "New or enlarging T2 lesions against the previous scan",
                "MRI: new/enlarging T2 lesions",
            ),
            _v(
                "gd_enhancing",
                pa.int32(),
                "Gd-enhancing lesions (empty: no contrast given)",
                "MRI: Gd-enhancing lesions",
            ),
            _v("total_t2", pa.int32(), "Total T2 lesions"),
            _v("pbvc", pa.float64(), "Percent brain volume change against the previous scan"),
            _v("field_strength", pa.string(), "1.5T, 3T, other"),
        ],
    ),
    "nfl_samples": (
        "One row per neurofilament light chain sample (the lab's name is left out)",
        [
            PSEUDONYM,
            RECORD,
            _v("date", pa.date32(), "Sample day"),
            _v("matrix", pa.string(), "serum, plasma, csf"),
            _v("value", pa.float64(), "NfL, pg/mL"),
            _v("assay", pa.string(), "simoa, ella, eclia, elisa, other"),
            _v("lab_upper_limit", pa.float64(), "The lab's upper reference limit, pg/mL"),
            _v("z_score", pa.float64(), "Age- and BMI-adjusted Z score, as reported"),
        ],
    ),
    "lab_results": (
        "One row per laboratory result (safety monitoring, the anti-JCV antibody test included)",
        [
            PSEUDONYM,
            RECORD,
            _v("date", pa.date32(), "Sample day"),
            _v("analyte", pa.string(), "Analyte code of the catalogue (LOINC where one exists)"),
            _v("value", pa.float64(), "Value in the catalogue's unit"),
            _v("unit", pa.string(), "The catalogue's unit"),
            _v("result", pa.string(), "Qualitative result: negative, positive, ..."),
            _v("lower_limit", pa.float64(), "The lab's lower reference limit"),
            _v("upper_limit", pa.float64(), "The lab's upper reference limit"),
        ],
    ),
    "cdw_events": (
        "Confirmed disability worsening (and improvement) events computed from the visits "
        "and relapses under each chosen progression definition, with RAW/PIRA",
        [
            PSEUDONYM,
            _v("definition", pa.string(), "Progression definition (docs/alerts.md)"),
            _v("outcome", pa.string(), "The measure the events are on (edss unless chosen)"),
            _v("kind", pa.string(), "worsening or improvement"),
            _v("cdw_type", pa.string(), "RAW, PIRA or undefined (empty for improvement)"),
            _v("baseline_date", pa.date32(), "Reference visit"),
            _v("baseline_value", pa.float64(), "Reference value"),
            _v("onset_date", pa.date32(), "Visit where the worsening began"),
            _v("onset_value", pa.float64(), "Value at onset"),
            _v("confirmation_date", pa.date32(), "Visit that confirmed it"),
            _v("sustained_days", pa.int32(), "Days the change was sustained"),
        ],
    ),
    "neda_windows": (
        "NEDA-3/NEDA-4 per window of the stored status (calendar years, the last 12 "
        "months, since re-baseline), as the nightly evaluation stored them",
        [
            PSEUDONYM,
            _v("as_of", pa.date32(), "The day the status was computed for"),
            _v("definition", pa.string(), "Progression definition of the stored status"),
            _v("window", pa.string(), "calendar_year, rolling_12_months, since_rebaseline"),
            _v("label", pa.string(), "The window's name (e.g. 2024)"),
            _v("start", pa.date32(), "First day of the window"),
            _v("end", pa.date32(), "Last day of the window"),
            _v("complete", pa.bool_(), "The window has ended"),
            _v("neda3", pa.string(), "met, not_met, unknown"),
            _v("neda4", pa.string(), "met, not_met, unknown"),
            _v("relapse", pa.string(), "Relapse component: met, not_met, unknown"),
            _v("disability", pa.string(), "Disability component"),
            _v("mri", pa.string(), "MRI activity component"),
            _v("atrophy", pa.string(), "Brain atrophy component (NEDA-4)"),
        ],
    ),
}


def schema(table: str) -> pa.Schema:
    return pa.schema([(v.name, v.type) for v in TABLES[table][1]])


def dictionary_rows() -> Iterator[dict[str, str]]:
    for table, (about, variables) in TABLES.items():
        for v in variables:
            yield {
                "table": table,
                "table_description": about,
                "variable": v.name,
                "type": str(v.type),
                "description": v.description,
                "msda_core_dataset": v.msda,
            }


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


class Writer:
    """The CSV and Parquet files of every table, written a batch at a time."""

    def __init__(self, folder: Path) -> None:
        (folder / "csv").mkdir()
        (folder / "parquet").mkdir()
        self.csv = {t: pa_csv.CSVWriter(folder / "csv" / f"{t}.csv", schema(t)) for t in TABLES}
        self.parquet = {
            t: pq.ParquetWriter(folder / "parquet" / f"{t}.parquet", schema(t)) for t in TABLES
        }
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table].append(row)

    def flush(self) -> None:
        for table, rows in self.rows.items():
            batch = pa.RecordBatch.from_pylist(rows, schema=schema(table))
            self.csv[table].write_batch(batch)
            self.parquet[table].write_batch(batch)
        self.rows.clear()

    def close(self) -> None:
        self.flush()
        for writer in [*self.csv.values(), *self.parquet.values()]:
            writer.close()


def _by_patient(records: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for record in records:
        grouped[record.patient_id].append(record)
    return grouped


class Export:
    """One export of one site's consenting patients into `folder`."""

    def __init__(self, site: Site, definitions: Sequence[str], folder: Path) -> None:
        self.site = site
        self.definitions = [(name, definition(name)) for name in definitions]
        self.folder = folder
        self.key = pseudonym_key()

    def write(self, progress: Callable[[int, int], None] | None = None) -> int:
        ids = list(consenting(self.site).order_by("pk").values_list("pk", flat=True))
        writer = Writer(self.folder)
        for first in range(0, len(ids), BATCH):
            self._batch(writer, ids[first : first + BATCH])
            writer.flush()
            if progress:
                progress(min(first + BATCH, len(ids)), len(ids))
        writer.close()
        with (self.folder / "data_dictionary.csv").open("w", newline="") as out:
            rows = csv.DictWriter(out, fieldnames=list(next(dictionary_rows())))
            rows.writeheader()
            rows.writerows(dictionary_rows())
        return len(ids)

    def _batch(self, writer: Writer, ids: list[int]) -> None:
        patients = Patient.objects.filter(pk__in=ids).select_related("consent").order_by("pk")
        names = {p.pk: pseudonym(self.key, p.public_id) for p in patients}

        def record(r: Any) -> dict[str, Any]:
            return {
                "pseudonym": names[r.patient_id],
                "record_id": pseudonym(self.key, r.public_id, "record"),
            }

        for p in patients:
            writer.add(
                "patients",
                {
                    "pseudonym": names[p.pk],
                    "birth_year_month": f"{p.birth_date:%Y-%m}",
                    "sex": p.sex,
                    "phenotype": p.phenotype,
                    "symptom_onset": p.symptom_onset,
                    "diagnosis_date": p.diagnosis_date,
                    "consent_date": p.consent.date,
                },
            )
        courses = TherapyCourse.objects.filter(patient__in=ids).select_related("therapy")
        for c in courses.order_by("patient", "start"):
            writer.add(
                "therapy_courses",
                {
                    **record(c),
                    "therapy": c.therapy.code,
                    "therapy_class": c.therapy.therapy_class,
                    "start": c.start,
                    "end": c.end,
                    "stop_reason": c.stop_reason or None,
                },
            )
        visits = list(Visit.objects.filter(patient__in=ids).order_by("patient", "date"))
        for v in visits:
            writer.add(
                "visits",
                {
                    **record(v),
                    "date": v.date,
                    "edss": _num(v.edss),
                    "t25fw": _num(v.t25fw),
                    "nhpt": _num(v.nhpt),
                    "sdmt": v.sdmt,
                    "scheduled": v.scheduled,
                },
            )
        relapses = list(Relapse.objects.filter(patient__in=ids).order_by("patient", "onset"))
        for r in relapses:
            writer.add(
                "relapses",
                {
                    **record(r),
                    "onset": r.onset,
                    "end": r.end,
                    "severity": r.severity or None,
                    "steroids": r.steroids,
                    "confirmed_by_clinician": r.confirmed_by_clinician,
                },
            )
        for s in MriScan.objects.filter(patient__in=ids).order_by("patient", "date"):
            writer.add(
                "mri_scans",
                {
                    **record(s),
                    "date": s.date,
                    "new_t2": s.new_t2,
                    "gd_enhancing": s.gd_enhancing,
                    "total_t2": s.total_t2,
                    "pbvc": _num(s.pbvc),
                    "field_strength": s.field_strength or None,
                },
            )
        for n in NflSample.objects.filter(patient__in=ids).order_by("patient", "date"):
            writer.add(
                "nfl_samples",
                {
                    **record(n),
                    "date": n.date,
                    "matrix": n.matrix,
                    "value": _num(n.value),
                    "assay": n.assay,
                    "lab_upper_limit": _num(n.lab_upper_limit),
                    "z_score": _num(n.z_score),
                },
            )
        labs = LabResult.objects.filter(patient__in=ids).select_related("analyte")
        for lab in labs.order_by("patient", "date"):
            writer.add(
                "lab_results",
                {
                    **record(lab),
                    "date": lab.date,
                    "analyte": lab.analyte.code,
                    "value": _num(lab.value),
                    "unit": lab.unit,
                    "result": lab.text,
                    "lower_limit": _num(lab.lower_limit),
                    "upper_limit": _num(lab.upper_limit),
                },
            )
        self._events(writer, names, _by_patient(visits), _by_patient(relapses))
        for status in PatientStatus.objects.filter(patient__in=ids).order_by("patient"):
            self._windows(writer, names[status.patient_id], status)

    def _events(
        self,
        writer: Writer,
        names: dict[int, str],
        visits: dict[int, list[Visit]],
        relapses: dict[int, list[Relapse]],
    ) -> None:
        for patient_id, name in names.items():
            for label, chosen in self.definitions:
                events = computed_events(
                    visits.get(patient_id, []), relapses.get(patient_id, []), chosen
                )
                for e in events:
                    writer.add(
                        "cdw_events",
                        {
                            "pseudonym": name,
                            "definition": label,
                            "outcome": chosen.outcome,
                            "kind": e.kind,
                            "cdw_type": e.cdw_type,
                            "baseline_date": e.baseline.date,
                            "baseline_value": e.baseline.value,
                            "onset_date": e.onset.date,
                            "onset_value": e.onset.value,
                            "confirmation_date": e.confirmation.date,
                            "sustained_days": e.sustained_days,
                        },
                    )

    def _windows(self, writer: Writer, name: str, status: PatientStatus) -> None:
        documents = StatusDocuments.of(status)
        neda = documents.neda
        windows: list[NedaWindowDocument] = [
            *documents.calendar_years,
            neda.rolling_12_months,
            *([neda.since_rebaseline] if neda.since_rebaseline else []),
        ]
        for w in windows:
            writer.add(
                "neda_windows",
                {
                    "pseudonym": name,
                    "as_of": status.as_of,
                    "definition": status.definition.get("name"),
                    "window": w.kind,
                    "label": w.label,
                    "start": w.start,
                    "end": w.end,
                    "complete": w.complete,
                    "neda3": w.neda3,
                    "neda4": w.neda4,
                    "relapse": w.relapse.state,
                    "disability": w.disability.state,
                    "mri": w.mri.state,
                    "atrophy": w.atrophy.state,
                },
            )


README = """Pseudonymised research export of site {site}, {count} consenting patients.

csv/ and parquet/ hold the same tables; data_dictionary.csv describes every variable and
names the MS Data Alliance core dataset variable it maps onto, where the core dataset has
one. Patients and records are named by keyed pseudonyms, stable across exports. Names,
MRNs, identifiers of other systems and free text are not exported; birth dates are cut
to year and month. Progression definitions computed: {definitions}.
"""


def write_zip(
    site: Site,
    definitions: Sequence[str],
    target: Path,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the export of `site` as one zip file at `target`; returns the patient count."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        count = Export(site, definitions, root).write(progress)
        (root / "README.txt").write_text(
            README.format(site=site.code, count=count, definitions=", ".join(definitions))
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(root).as_posix())
    return count

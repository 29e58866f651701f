"""Store assessments as `PatientStatus` rows, and the flips between them as `StatusChange`.

`store(assessments)` is the one way a status is written. It compares each new status with
the stored one by a digest, piece by piece, so a same-day re-evaluation of unchanged data
writes one UPDATE for the whole batch, and a changed status sets its plain columns and only
the JSON documents that changed. A new day changes every status (`as_of`, the rolling
windows), so the nightly sweep writes all, but for the documents that stayed the same
(definition, worsening events, brain volume, mostly) and the closed calendar years an
assessment kept: most of a status's size. The caller holds the patients' locks
(`outcomes.records.load(lock=True)`) and the transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone

from monitoring.clinical.frozen import direct_init
from mstrack.db import column, db_value, execute_many, insert_new, placeholder
from outcomes import documents as docs
from outcomes.assessment import Assessment
from outcomes.models import ChangeKind, PatientStatus, StatusChange

# The status content, which the digest covers: every column the evaluation writes but
# `computed_at`, `digest` and `closed_years` (which `closed_years_key` stands for);
# `last_notified_at` belongs to the notifications. The primary key comes first: the
# statements below rely on it.
CONTENT_FIELDS: list[models.Field[Any, Any]] = sorted(
    (
        f
        for f in PatientStatus._meta.concrete_fields
        if f.name not in ("computed_at", "digest", "closed_years", "last_notified_at")
    ),
    key=lambda f: not f.primary_key,
)


def _field(name: str) -> models.Field[Any, Any]:
    field = PatientStatus._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


COMPUTED_AT = _field("computed_at")
CLOSED_YEARS = _field("closed_years")
DIGEST = _field("digest")
# One digest piece per JSON document and one for the other columns, so that a changed
# status rewrites only the documents that changed: PostgreSQL then keeps the others
# (compressed, out of line) as they are.
DOCUMENTS: list[models.Field[Any, Any]] = [
    f for f in CONTENT_FIELDS if isinstance(f, models.JSONField)
]
SCALARS = [f for f in CONTENT_FIELDS[1:] if not isinstance(f, models.JSONField)]
_DOCUMENT_AT = [CONTENT_FIELDS.index(f) for f in DOCUMENTS]  # positions in a row's content
_SCALAR_AT = [CONTENT_FIELDS.index(f) for f in SCALARS]
WORSENING_PIECE = 1 + DOCUMENTS.index(_field("worsening"))
PIECE = 16  # hex digits of a piece: 64 bits
# A status written whole (a new one, or one whose stored digest says nothing).
WRITTEN_FIELDS = [*CONTENT_FIELDS, CLOSED_YEARS, COMPUTED_AT, DIGEST]
_encode = msgspec.json.Encoder().encode


@direct_init
@dataclass(frozen=True, slots=True)
class Stored:
    """What `store` compares a new status with: the stored row's digest and flip columns."""

    digest: str
    closed_years_key: str
    neda3: str
    neda4: str


def stored(patient_ids: Sequence[int]) -> dict[int, Stored]:
    """The stored statuses' digests of these patients, in one query reading no JSON."""
    rows = (
        PatientStatus.objects.filter(pk__in=list(patient_ids))
        .order_by()
        .values_list("pk", "digest", "closed_years_key", "neda3", "neda4")
    )
    return {pk: Stored(digest, key, neda3, neda4) for pk, digest, key, neda3, neda4 in rows}


def store(assessments: Sequence[Assessment], before: dict[int, Stored]) -> list[StatusChange]:
    """Write what changed in each status (`before`: `stored()` of the same patients, read
    under the same locks); only stamp `computed_at` on the unchanged ones. Returns the
    status changes it recorded."""
    # The connection itself, not the `connection` proxy: a field's conversion reads it
    # several times, and each read through the proxy looks up the thread's connection.
    db = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    whole: list[list[Any]] = []
    changed: dict[tuple[models.Field[Any, Any], ...], list[list[Any]]] = {}
    unchanged: list[int] = []
    flips: list[StatusChange] = []
    events_changed: dict[int, Assessment] = {}
    for a in assessments:
        row, documents = _row(a)
        content = [
            _encode(documents[f.attname]).decode()
            if f.attname in documents
            else db_value(f, row[f.attname], db)
            for f in CONTENT_FIELDS
        ]
        pieces = [
            _piece([content[i] for i in _SCALAR_AT]),
            *(_piece(content[i]) for i in _DOCUMENT_AT),
        ]
        digest = "".join(pieces)
        patient_id = a.records.patient_id
        old = before.get(patient_id)
        if old is not None and old.digest == digest:
            unchanged.append(patient_id)
            continue
        stamp = db_value(COMPUTED_AT, now, db)
        closed = _encode(documents["closed_years"]).decode()
        if old is None or not old.digest:
            whole.append([*content, closed, stamp, digest])
        else:
            old_pieces = [old.digest[i : i + PIECE] for i in range(0, len(old.digest), PIECE)]
            written: list[tuple[models.Field[Any, Any], Any]] = [
                (f, content[i])
                for n, (f, i) in enumerate(zip(DOCUMENTS, _DOCUMENT_AT, strict=True), start=1)
                if n >= len(old_pieces) or old_pieces[n] != pieces[n]
            ]
            if not a.closed_years_kept:
                written.append((CLOSED_YEARS, closed))
            fields = (*SCALARS, *(f for f, _ in written), COMPUTED_AT, DIGEST)
            values = [*(content[i] for i in _SCALAR_AT), *(v for _, v in written), stamp, digest]
            changed.setdefault(fields, []).append([*values, patient_id])
        if old is not None:
            flips.extend(_neda_flips(row, old, now))
        start = WORSENING_PIECE * PIECE
        if (
            a.worsening
            and (old.digest[start : start + PIECE] if old else "") != pieces[WORSENING_PIECE]
        ):
            events_changed[patient_id] = a
    if events_changed:
        flips.extend(_new_events(events_changed, now))
    if unchanged:
        PatientStatus.objects.filter(pk__in=unchanged).update(computed_at=now)
    quote = db.ops.quote_name
    table = quote(PatientStatus._meta.db_table)
    if whole:
        columns = [column(f) for f in WRITTEN_FIELDS]
        execute_many(
            f"INSERT INTO {table} ({', '.join(map(quote, columns))}) "
            f"VALUES ({', '.join(map(placeholder, WRITTEN_FIELDS))}) "
            f"ON CONFLICT ({quote('patient_id')}) DO UPDATE SET "
            + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns[1:]),
            whole,
        )
    for fields, rows in changed.items():
        execute_many(
            f"UPDATE {table} SET "
            + ", ".join(f"{quote(column(f))} = {placeholder(f)}" for f in fields)
            + f" WHERE {quote('patient_id')} = %s",
            rows,
        )
    insert_new(flips)
    return flips


def _row(a: Assessment) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plain columns of an assessment's status by attribute name (a model instance per
    patient cost more than the rest of the row), and its documents by column."""
    d = docs.documents(a)
    rolling = a.neda.rolling_12_months
    row = {
        "patient_id": a.records.patient_id,
        "as_of": a.as_of,
        "definition": a.config.definition_json,
        "engine_version": a.config.definition.engine_version,
        "therapy_course_id": a.course.pk if a.course else None,
        "rebaseline_date": a.rebaseline,
        "neda3": str(rolling.neda3),
        "neda4": str(rolling.neda4),
        "closed_years_key": a.closed_years_key,
        "magnims": a.scores.magnims.minimum_points if a.scores else None,
        "rio": a.scores.rio.minimum_points if a.scores else None,
        "mri_due": a.next_mri_due,
        "edss_due": a.edss_due,
        "jcv_due": a.jcv_due,
    }
    documents = {
        "neda": d.neda,
        "closed_years": d.closed_years,
        "worsening": d.worsening,
        "scores": d.scores,
        "nfl": d.nfl,
        "brain_volume": d.brain_volume,
    }
    return row, documents


def status_row(a: Assessment) -> PatientStatus:
    """The `PatientStatus` of an assessment, not saved, with its documents as stored JSON
    (plain dicts, as a row read back from the database holds them)."""
    row, documents = _row(a)
    return PatientStatus(
        **row,
        computed_at=timezone.now(),
        **{name: msgspec.to_builtins(value) for name, value in documents.items()},
    )


def _piece(value: Any) -> str:
    """A 64-bit fingerprint of a column's value (JSON as text) or of a list of them."""
    data = value.encode() if isinstance(value, str) else orjson.dumps(value, default=str)
    return hashlib.blake2b(data, digest_size=PIECE // 2).hexdigest()


def _neda_flips(row: dict[str, Any], old: Stored, now: Any) -> list[StatusChange]:
    """NEDA of the last 12 months lost (now not met) or regained (met after not met).
    Unknown is no flip: a missing MRI says nothing about activity."""
    out = []
    for name, lost, regained in (
        ("neda3", ChangeKind.NEDA3_LOST, ChangeKind.NEDA3_REGAINED),
        ("neda4", ChangeKind.NEDA4_LOST, ChangeKind.NEDA4_REGAINED),
    ):
        was, is_now = getattr(old, name), row[name]
        if is_now == "not_met" and was != "not_met":
            kind = lost
        elif is_now == "met" and was == "not_met":
            kind = regained
        else:
            continue
        out.append(
            StatusChange(
                patient_id=row["patient_id"],
                kind=kind,
                as_of=row["as_of"],
                seen_at=now,
                explanation=f"{name.upper().replace('NEDA', 'NEDA-')} of the last 12 months: "
                f"{_WORDS[was]} → {_WORDS[is_now]}.",
            )
        )
    return out


_WORDS = {"met": "met", "not_met": "not met", "unknown": "unknown"}
_SEEN = {"PIRA": ChangeKind.PIRA_SEEN, "RAW": ChangeKind.RAW_SEEN}


def _new_events(assessments: dict[int, Assessment], now: Any) -> list[StatusChange]:
    """Worsening events not recorded as seen before: one row per event (by onset)."""
    seen = set(
        StatusChange.objects.filter(
            patient_id__in=list(assessments),
            kind__in=[ChangeKind.PIRA_SEEN, ChangeKind.RAW_SEEN, ChangeKind.CDW_SEEN],
        ).values_list("patient_id", "kind", "event_onset")
    )
    out = []
    for patient_id, a in assessments.items():
        for e in a.worsening:
            kind = _SEEN.get(e.cdw_type or "", ChangeKind.CDW_SEEN)
            if (patient_id, kind, e.onset.date) in seen:
                continue
            out.append(
                StatusChange(
                    patient_id=patient_id,
                    kind=kind,
                    as_of=a.as_of,
                    seen_at=now,
                    event_onset=e.onset.date,
                    explanation=f"Confirmed worsening ({e.cdw_type}) with onset "
                    f"{e.onset.date.isoformat()}: EDSS {e.baseline.value:g} → "
                    f"{e.onset.value:g}, confirmed {e.confirmation.date.isoformat()}.",
                )
            )
    return out

"""Evaluate patients: engine → stored status → alerts raised and resolved, in one transaction.

Idempotent by construction: evaluating a patient twice on the same data changes nothing but
`computed_at`. Two workers on one patient run one after the other (the patient row is locked
first, see `monitoring.status.load`), and the unique constraint on (patient, rule,
evidence_key) stands behind that, so one condition on one set of evidence is one alert.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from alerts.actions import audit_event
from alerts.models import Alert, AlertState, PatientStatus, Severity
from alerts.rules import CLEARED, STATE_RULES, Finding, findings
from monitoring.status import Assessment, assess_patient, config, load, of_patients, status_row
from patients.actions import Actor, snapshot
from patients.models import AuditAction, AuditEvent

SYSTEM = Actor.system("alerts")  # who raises alerts and resolves cleared ones

# The status content, which the digest covers: every column the evaluation writes but
# `computed_at`, `digest` and `closed_years` (which `closed_years_key` stands for);
# `last_notified_at` belongs to the notifications.
# The primary key comes first: the statements below rely on it.
CONTENT_FIELDS = [
    PatientStatus._meta.pk,
    *[
        f
        for f in PatientStatus._meta.concrete_fields
        if not f.primary_key
        and f.name not in ("computed_at", "digest", "closed_years", "last_notified_at")
    ],
]
_field = PatientStatus._meta.get_field
COMPUTED_AT = _field("computed_at")
CLOSED_YEARS = _field("closed_years")
# The digest is one piece per JSON document and one for the other columns, so that a
# changed status rewrites only the documents that changed: PostgreSQL then keeps the
# others (compressed, out of line) as they are.
DOCUMENTS = [f for f in CONTENT_FIELDS if isinstance(f, models.JSONField)]
SCALARS = [f for f in CONTENT_FIELDS[1:] if not isinstance(f, models.JSONField)]
_DOCUMENT_AT = [CONTENT_FIELDS.index(f) for f in DOCUMENTS]  # positions in a row's content
_SCALAR_AT = [CONTENT_FIELDS.index(f) for f in SCALARS]
PIECE = 16  # hex digits of a piece: 64 bits
# A status written whole (a new one, or one whose stored digest says nothing).
WRITTEN_FIELDS = [*CONTENT_FIELDS, CLOSED_YEARS, COMPUTED_AT, _field("digest")]


@dataclass(slots=True)
class Outcome:
    evaluated: int = 0
    raised: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)

    @property
    def to_notify(self) -> set[int]:
        """Patients with a new high-severity alert."""
        return {a.patient_id for a in self.raised if a.severity == Severity.HIGH}


def evaluate(patient_ids: Sequence[int], *, as_of: dt.date | None = None) -> Outcome:
    """Recompute and store the status and alerts of these patients (unknown ids are skipped).

    A fixed number of queries per call, whatever the number of patients.
    """
    as_of = as_of or timezone.localdate()
    engine_config = config()
    with _cycle_collector_paused(), transaction.atomic():
        records = load(sorted(set(patient_ids)), lock=True)
        stored = {
            pk: (digest, key)
            for pk, digest, key in PatientStatus.objects.filter(pk__in=list(records))
            .order_by()
            .values_list("pk", "digest", "closed_years_key")
        }
        assessments = [
            assess_patient(
                r,
                as_of=as_of,
                config=engine_config,
                stored_closed_years_key=stored.get(r.patient_id, ("", ""))[1],
            )
            for r in records.values()
        ]
        _store_statuses(assessments, {pk: digest for pk, (digest, _) in stored.items()})
        outcome = _sync_alerts(assessments)
    outcome.evaluated = len(assessments)
    return outcome


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for one batch.

    A batch allocates thousands of objects per patient (records, windows, JSON) and keeps
    them until its statuses are stored, so the collector, triggered every 700 allocations,
    walks them again and again: a third of a batch's CPU time in a profile. They form no
    cycles; reference counting frees them when the batch is done. The switch is process-wide:
    whoever found it on turns it back on, so overlapping calls leave it on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _store_statuses(assessments: list[Assessment], stored: dict[int, str]) -> None:
    """Write what changed in each status; only stamp `computed_at` on the unchanged ones.

    The content's digest is compared with the `stored` one, piece by piece, so a same-day
    re-evaluation of unchanged data writes one UPDATE for the whole batch, and a changed
    status sets its plain columns and only the JSON documents that changed. A new day
    changes every status (`as_of`, the rolling windows), so the nightly sweep writes all,
    but for the documents that stayed the same (definition, worsening events, brain volume,
    mostly) and the closed calendar years an assessment kept: most of a status's size.
    Rows are written one statement per row in a pipelined executemany: bulk_create's array
    form quotes every JSON document through a regex, three times slower for big statuses.
    JSON is serialised once, here, for both digest and database.
    """
    # The connection itself, not the `connection` proxy: a field's conversion reads it
    # several times, and each read through the proxy looks up the thread's connection.
    db = connections[DEFAULT_DB_ALIAS]
    whole: list[list[Any]] = []
    changed: dict[tuple[models.Field, ...], list[list[Any]]] = {}
    unchanged: list[int] = []
    for a in assessments:
        row = status_row(a)
        content = [_db_value(f, getattr(row, f.attname), db) for f in CONTENT_FIELDS]
        pieces = [
            _piece([content[i] for i in _SCALAR_AT]),
            *(_piece(content[i]) for i in _DOCUMENT_AT),
        ]
        digest = "".join(pieces)
        before = stored.get(row.patient_id)
        if before == digest:
            unchanged.append(row.patient_id)
            continue
        stamp = _db_value(COMPUTED_AT, row.computed_at, db)
        closed = _db_value(CLOSED_YEARS, row.closed_years, db)
        if before is None:
            whole.append([*content, closed, stamp, digest])
            continue
        old = [before[i : i + PIECE] for i in range(0, len(before), PIECE)]
        written = [
            (f, content[i])
            for n, (f, i) in enumerate(zip(DOCUMENTS, _DOCUMENT_AT, strict=True), start=1)
            if n >= len(old) or old[n] != pieces[n]
        ]
        if not a.closed_years_kept:
            written.append((CLOSED_YEARS, closed))
        fields = (*SCALARS, *(f for f, _ in written), COMPUTED_AT, _field("digest"))
        values = [*(content[i] for i in _SCALAR_AT), *(v for _, v in written), stamp, digest]
        changed.setdefault(fields, []).append([*values, row.patient_id])
    if unchanged:
        PatientStatus.objects.filter(pk__in=unchanged).update(computed_at=timezone.now())
    quote = db.ops.quote_name
    table = quote(PatientStatus._meta.db_table)
    if whole:
        columns = [f.column for f in WRITTEN_FIELDS]
        _execute_many(
            f"INSERT INTO {table} ({', '.join(map(quote, columns))}) "
            f"VALUES ({', '.join(map(_placeholder, WRITTEN_FIELDS))}) "
            f"ON CONFLICT ({quote('patient_id')}) DO UPDATE SET "
            + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns[1:]),
            whole,
        )
    for fields, rows in changed.items():
        _execute_many(
            f"UPDATE {table} SET "
            + ", ".join(f"{quote(f.column)} = {_placeholder(f)}" for f in fields)
            + f" WHERE {quote('patient_id')} = %s",
            rows,
        )


def _piece(value: Any) -> str:
    """A 64-bit fingerprint of a column's value (JSON as text) or of a list of them."""
    data = value.encode() if isinstance(value, str) else orjson.dumps(value, default=str)
    return hashlib.blake2b(data, digest_size=PIECE // 2).hexdigest()


def _execute_many(sql: str, rows: list[list[Any]]) -> None:
    """One statement per row, pipelined; on PostgreSQL bound and prepared by the server.

    Django's cursors bind parameters on the client, so PostgreSQL parsed and planned each
    of a batch's 500 statements anew and the driver quoted every value into the text: a
    prepared statement halves a status write's time (`DATABASE_PREPARED_STATEMENTS`).
    The cursor still goes through Django's wrappers (query logging, execute wrappers).
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        with db.cursor() as cursor:
            cursor.executemany(sql, rows)
        return
    db.ensure_connection()
    driver = db.connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = 0  # prepare at the first execution
    try:
        server_bound = psycopg.Cursor(driver)
        cursor = (
            db.make_debug_cursor(server_bound)
            if db.queries_logged
            else db.make_cursor(server_bound)
        )
        with cursor:
            cursor.executemany(sql, rows)
    finally:
        driver.prepare_threshold = threshold


def _insert(objs: Sequence[Alert | AuditEvent], *, ignore_conflicts: bool = False) -> None:
    """Insert new rows (their primary keys stay unset), one statement per row in a pipelined
    executemany. bulk_create's UNNEST form on PostgreSQL has the driver quote every JSON
    document of an array through a regex: that was most of the CPU time of a sweep raising
    alerts for the first time."""
    if not objs:
        return
    meta = objs[0]._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    db = connections[DEFAULT_DB_ALIAS]
    quote = db.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(map(_placeholder, fields))})"
        + (" ON CONFLICT DO NOTHING" if ignore_conflicts else "")
    )
    _execute_many(sql, [[_db_value(f, getattr(o, f.attname), db) for f in fields] for o in objs])


def _db_value(f: models.Field, value: Any, db: BaseDatabaseWrapper) -> Any:
    """A column's parameter; JSON as compact text (a fixed form, so it can be digested).

    orjson rather than the standard library: statuses are ~7 kB of JSON per patient, and
    serialising them was a tenth of a sweep's worker time. Same output for these plain
    trees of str, int, float, bool, None, list and dict, except non-ASCII text, which it
    writes as UTF-8 instead of \\u escapes (the same JSON value).
    """
    if isinstance(f, models.JSONField):
        if value is None:
            return None
        if f.encoder is not None:
            return json.dumps(value, cls=f.encoder, separators=(",", ":"))
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return f.get_db_prep_save(value, db)


def _placeholder(f: models.Field) -> str:
    """PostgreSQL reads JSON text into jsonb by a cast; SQLite stores the text as it is."""
    if isinstance(f, models.JSONField) and connection.vendor == "postgresql":
        return "%s::jsonb"
    return "%s"


def _sync_alerts(assessments: list[Assessment]) -> Outcome:
    now = timezone.now()
    found: dict[int, list[Finding]] = {a.records.patient_id: findings(a) for a in assessments}
    ids = list(found)
    current = {(p, f.rule, f.evidence_key) for p, fs in found.items() for f in fs}
    # One query for both questions, reading no JSON: which findings were raised already
    # (any alert on the evidence, even resolved) and which unresolved alerts lost theirs.
    # Every alert of these patients, by patient alone and unordered: an OR with the
    # evidence keys hid the patient index from the planner (a sequential scan of all
    # alerts per batch), and the model's ordering added a sort.
    existing = (
        Alert.objects.filter(of_patients(ids))
        .order_by()
        .values_list("pk", "patient_id", "rule", "evidence_key", "state")
    )
    seen = set()
    stale = []
    for pk, patient_id, rule, key, state in existing:
        if patient_id not in found:
            continue  # another patient's, within the id range read
        seen.add((patient_id, rule, key))
        if state != AlertState.RESOLVED and (patient_id, rule, key) not in current:
            stale.append(pk)
    raised = [
        Alert(
            patient_id=patient_id,
            rule=f.rule,
            severity=f.severity,
            evidence_key=f.evidence_key,
            evidence=f.evidence,
            explanation=f.explanation,
            raised_at=now,
        )
        for patient_id, fs in found.items()
        for f in fs
        if (patient_id, f.rule, f.evidence_key) not in seen
    ]
    # Locked patients make a conflict impossible here; ignoring one keeps a bug elsewhere
    # from failing a whole batch, and the constraint still refuses the duplicate.
    _insert(raised, ignore_conflicts=True)

    by_patient = {a.records.patient_id: a for a in assessments}
    resolved = []
    for alert in Alert.objects.filter(pk__in=stale) if stale else ():
        before = snapshot(alert)
        alert.state = AlertState.RESOLVED
        alert.resolved_at = now
        alert.resolution_note = _cleared_reason(
            alert, found[alert.patient_id], by_patient[alert.patient_id]
        )
        # Superseded is not cleared: the newer alert of the rule is in the inbox already.
        superseded = alert.rule in STATE_RULES and any(
            f.rule == alert.rule for f in found[alert.patient_id]
        )
        alert.cleared_unseen = alert.acknowledged_at is None and not superseded
        resolved.append((alert, before))
    if resolved:
        Alert.objects.bulk_update(
            [alert for alert, _ in resolved],
            ["state", "resolved_at", "resolution_note", "cleared_unseen"],
        )
    _insert(
        [
            audit_event(alert, actor=SYSTEM, action=AuditAction.CREATE, before=None, at=now)
            for alert in raised
        ]
        + [
            audit_event(alert, actor=SYSTEM, action=AuditAction.UPDATE, before=before, at=now)
            for alert, before in resolved
        ]
    )
    return Outcome(raised=raised, resolved=[alert for alert, _ in resolved])


def _cleared_reason(alert: Alert, current: list[Finding], a: Assessment) -> str:
    newer = next((f for f in current if f.rule == alert.rule), None)
    if alert.rule in STATE_RULES and newer is not None:
        return f"Superseded by new evidence: {newer.explanation}"
    course_id = (alert.evidence.get("course") or {}).get("id")
    if course_id and (a.course is None or a.course.public_id != course_id):
        if a.course is None:
            return "Therapy changed: no therapy course is running now."
        return f"Therapy changed: {a.course.therapy} since {a.course.start.isoformat()}."
    return f"Condition cleared. {CLEARED[alert.rule]}"

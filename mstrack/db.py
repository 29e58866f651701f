"""Database pieces shared by the apps, and the fast paths of bulk reads and writes.

Every PostgreSQL-specific shortcut lives here (COPY, server-prepared pipelined statements,
text loaders), behind functions that fall back to the ORM on other databases, so that the
apps' code reads the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.query import QuerySet
from django.utils.deconstruct import deconstructible
from psycopg.types.string import TextLoader


@deconstructible(path="mstrack.db.Tomorrow")
class Tomorrow(models.Func):
    """The database's current date plus one day, for "not in the future" CHECKs.

    The model refuses dates after the clinic's local today; the database backs that up with
    a day of slack because its clock runs in UTC while a clinic east of Greenwich is already
    on the next calendar day.
    """

    output_field = models.DateField()
    template = "(CURRENT_DATE + 1)"

    def as_sqlite(
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        # SQLite refuses the clock inside a CHECK; its triggers (birth_trigger_sql) check
        # record dates against the clock instead.
        return "'9999-12-31'", ()


POSTGRES_BIRTH_FUNCTION = """
CREATE OR REPLACE FUNCTION mstrack_not_before_birth() RETURNS trigger AS $$
DECLARE
    day date := (to_jsonb(NEW) ->> TG_ARGV[0])::date;
    born date;
BEGIN
    SELECT birth_date INTO born FROM patients_patient WHERE id = NEW.patient_id;
    IF day < born THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('%s.%s %s is before the patient''s birth (%s)',
                             TG_TABLE_NAME, TG_ARGV[0], day, born);
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""


def birth_trigger_sql(vendor: str, table: str, column: str) -> tuple[list[str], list[str]]:
    """SQL that refuses a record dated before its patient's birth, for code that bypasses
    the model (a CHECK cannot look at another table). Returns (create, drop) statements."""
    name = f"{table}_{column}_after_birth"
    if vendor == "postgresql":
        return (
            [
                POSTGRES_BIRTH_FUNCTION,
                f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE OF {column}, patient_id "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION mstrack_not_before_birth('{column}')",
            ],
            [f"DROP TRIGGER IF EXISTS {name} ON {table}"],
        )
    if vendor == "sqlite":
        body = (
            f"WHEN NEW.{column} < (SELECT birth_date FROM patients_patient "
            f"WHERE id = NEW.patient_id) OR NEW.{column} > date('now', '+1 day') "
            f"BEGIN SELECT RAISE(ABORT, "
            f"'{table}.{column} is before the patient''s birth or in the future'); END"
        )
        return (
            [
                f"CREATE TRIGGER {name}_insert BEFORE INSERT ON {table} FOR EACH ROW {body}",
                f"CREATE TRIGGER {name}_update BEFORE UPDATE OF {column}, patient_id ON {table} "
                f"FOR EACH ROW {body}",
            ],
            [f"DROP TRIGGER IF EXISTS {name}_insert", f"DROP TRIGGER IF EXISTS {name}_update"],
        )
    return [], []


def _copy(model: type[models.Model], fields: list[models.Field], rows: Iterable[list[Any]]) -> None:
    """COPY rows of values (in the order of `fields`) into the model's table (PostgreSQL)."""
    from django.db import connection

    json_fields = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    columns = ", ".join(connection.ops.quote_name(column(field)) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    # The raw psycopg cursor raises psycopg's own errors: wrapped, a clash is Django's
    # IntegrityError as for any other query.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for values in rows:
            for index in json_fields:
                values[index] = fields[index].get_db_prep_save(values[index], connection)
            copy.write_row(values)


# SQLite rebuilds the patient table to add or drop a NOT NULL column, and the rebuild fails on
# any trigger that names the table (the birth-date triggers of the dated records): migrations
# that change the table take them off for the rebuild and put the same ones back, in the
# operations `RunPython(set_triggers_aside, put_triggers_back)` before the change and
# `RunPython(put_triggers_back, set_triggers_aside)` after it (PostgreSQL alters in place).
_set_aside: list[tuple[str, str]] = []


def set_triggers_aside(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND sql LIKE '%patients_patient%'"
        )
        _set_aside[:] = cursor.fetchall()
    for name, _ in _set_aside:
        schema_editor.execute(f'DROP TRIGGER "{name}"', params=None)


def put_triggers_back(apps: Any, schema_editor: Any) -> None:
    for _, sql in _set_aside:
        schema_editor.execute(sql, params=None)
    _set_aside.clear()


def written_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The columns a write gives: not the primary key, not those the database computes."""
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and not getattr(f, "generated", False)
    ]


def _stamped(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def load_rows(model: type[models.Model], rows: list[dict[str, Any]]) -> int:
    """Insert plain rows (keyed by attname) as fast as the database allows.

    PostgreSQL gets COPY, which skips the ORM's per-value work (ten times faster for the
    100,000-patient demo); other databases get bulk_create. Either way the rows meet the
    same CHECK constraints and triggers. Defaults (public ids, timestamps) are filled in
    here because COPY does not run Python defaults.
    """
    if not rows:
        return 0
    from django.db import connection
    from django.utils import timezone

    if connection.vendor != "postgresql":
        model._base_manager.bulk_create([model(**row) for row in rows], batch_size=2000)
        return len(rows)
    now = timezone.now()
    fields = written_fields(model)
    given = rows[0].keys()
    filled = {
        field.attname: (lambda: now) if _stamped(field) else field.get_default
        for field in fields
        if field.attname not in given
    }
    attnames = [field.attname for field in fields]
    _copy(
        model,
        fields,
        ([row[name] if name in row else filled[name]() for name in attnames] for row in rows),
    )
    return len(rows)


def insert_instances(instances: Sequence[models.Model]) -> None:
    """Insert new instances of one model in one statement: COPY on PostgreSQL (no per-value
    ORM work: a 1,000-record API request spends a third of its time less), bulk_create
    elsewhere. Timestamps are set on the instances first so that they match what is stored,
    and primary keys are read back by public id where the model has one."""
    if not instances:
        return
    from django.db import connection
    from django.utils import timezone

    model = type(instances[0])
    fields = written_fields(model)
    now = timezone.now()
    for field in fields:
        if _stamped(field):
            for instance in instances:
                setattr(instance, field.attname, now)
    if connection.vendor != "postgresql":
        model._base_manager.bulk_create(instances)
        return
    _copy(model, fields, ([getattr(i, f.attname) for f in fields] for i in instances))
    if any(field.name == "public_id" for field in fields):
        by_public_id = {getattr(instance, "public_id"): instance for instance in instances}  # noqa: B009
        stored = model._base_manager.filter(public_id__in=list(by_public_id))
        for pk, public_id in stored.values_list("pk", "public_id"):
            by_public_id[public_id].pk = pk
    for instance in instances:
        instance._state.adding = False
        instance._state.db = connection.alias


def column(f: models.Field[Any, Any]) -> str:
    """A concrete field's column name (typed: the stubs allow None for any field)."""
    name = f.column
    assert name is not None, f
    return name


def fetch_rows(rows: QuerySet[Any, tuple[Any, ...]]) -> Iterable[tuple[Any, ...]]:
    """The tuples of a `values_list` query; on PostgreSQL with UUIDs as text.

    The driver's UUID objects, turned back into text for the evidence, were a fifth of
    reading a batch of records (26 per patient)."""
    db = connections[rows.db]
    if db.vendor != "postgresql":
        return rows
    sql, params = rows.query.sql_with_params()
    with db.cursor() as cursor:
        # The loaders of this query's psycopg cursor are its own.
        cursor.cursor.adapters.register_loader("uuid", TextLoader)
        cursor.execute(sql, params)
        fetched: list[tuple[Any, ...]] = cursor.fetchall()
        return fetched


def execute_many(sql: str, rows: list[list[Any]]) -> None:
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
        # Django's stubs name its own wrapper; any DB-API cursor is wrapped alike.
        server_bound: Any = psycopg.Cursor(driver)
        cursor = (
            db.make_debug_cursor(server_bound)
            if db.queries_logged
            else db.make_cursor(server_bound)
        )
        with cursor:
            cursor.executemany(sql, rows)
    finally:
        driver.prepare_threshold = threshold


def update_many(objs: Sequence[models.Model], names: Sequence[str]) -> None:
    """Write these columns of existing rows, one pipelined statement per row. bulk_update
    builds one CASE expression per column through the ORM: a tenth of a worker's time in a
    sweep that ranked every patient anew."""
    if not objs:
        return
    meta = objs[0]._meta
    fields = [f for f in meta.concrete_fields if f.name in names]
    assert meta.pk is not None and len(fields) == len(names), names
    db = connections[DEFAULT_DB_ALIAS]
    quote = db.ops.quote_name
    assignments = ", ".join(f"{quote(column(f))} = {placeholder(f)}" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(column(meta.pk))} = %s"
    execute_many(
        sql, [[*(db_value(f, getattr(o, f.attname), db) for f in fields), o.pk] for o in objs]
    )


def insert_new(objs: Sequence[models.Model], *, ignore_conflicts: bool = False) -> None:
    """Insert new rows of one model (their primary keys stay unset), one statement per row
    in a pipelined `execute_many`. bulk_create's UNNEST form on PostgreSQL has the driver
    quote every JSON document of an array through a regex: that was most of the CPU time
    of a sweep raising alerts for the first time."""
    if not objs:
        return
    meta = objs[0]._meta
    fields = written_fields(type(objs[0]))
    db = connections[DEFAULT_DB_ALIAS]
    quote = db.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(column(f)) for f in fields)}) "
        f"VALUES ({', '.join(map(placeholder, fields))})"
        + (" ON CONFLICT DO NOTHING" if ignore_conflicts else "")
    )
    execute_many(sql, [[db_value(f, getattr(o, f.attname), db) for f in fields] for o in objs])


def db_value(f: models.Field, value: Any, db: BaseDatabaseWrapper) -> Any:
    """A column's parameter; JSON as compact text (a fixed form, so it can be digested).

    orjson rather than the standard library: statuses are ~7 kB of JSON per patient, and
    serialising them was a tenth of a sweep's worker time. Same output for these plain
    trees of str, int, float, bool, None, list and dict, except non-ASCII text, which it
    writes as UTF-8 instead of \\u escapes (the same JSON value).
    """
    if isinstance(f, models.JSONField):
        if value is None:
            return value
        if f.encoder is not None:
            return json.dumps(value, cls=f.encoder, separators=(",", ":"))
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return f.get_db_prep_save(value, db)


def placeholder(f: models.Field) -> str:
    """PostgreSQL reads JSON text into jsonb by a cast; SQLite stores the text as it is."""
    if isinstance(f, models.JSONField) and connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        return "%s::jsonb"
    return "%s"

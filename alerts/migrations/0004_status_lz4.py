"""Status JSON compressed with lz4 on PostgreSQL.

A status is ~7 kB of JSON per patient, rewritten for every patient by the nightly sweep;
PostgreSQL's default compression (pglz) took half of the write's server time, lz4 a
fraction of it for much the same size (measured in docs/benchmarks.md). Only values written
from now on are affected. A server built without lz4 keeps pglz (a notice, not an error).
"""

from django.db import migrations

COLUMNS = ("definition", "neda", "closed_years", "worsening", "scores", "nfl", "brain_volume")


def _alter(method: str) -> str:
    columns = ", ".join(f"ALTER COLUMN {c} SET COMPRESSION {method}" for c in COLUMNS)
    return f"""
        DO $$ BEGIN
            ALTER TABLE alerts_patientstatus {columns};
        EXCEPTION WHEN feature_not_supported THEN
            RAISE NOTICE 'lz4 is not available: status JSON stays compressed with pglz';
        END $$;
    """


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_alter("lz4"))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_alter("default"))


class Migration(migrations.Migration):
    dependencies = [("alerts", "0003_status_closed_years")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]

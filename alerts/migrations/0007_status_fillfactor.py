"""Status rows updated in place (HOT) on PostgreSQL: pages keep 40 % free.

The nightly sweep rewrites every status. With full pages each new row version went to
another page, with new index entries, leaving the old one for autovacuum, which did not
keep up: on 100,000 patients the table grew to 17 GB of dead rows within an hour of
benchmark sweeps, and PostgreSQL's share of a sweep with it. With room on the page the new
version stays beside the old one (a heap-only tuple: no index entry) and later page
accesses prune the old one, so the table stays at its size (docs/benchmarks.md). New
tables get it at once; an existing one takes it for new pages, or all at `VACUUM FULL
alerts_patientstatus`.
"""

from django.db import migrations

FILLFACTOR = 60


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE alerts_patientstatus SET (fillfactor = {FILLFACTOR})"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE alerts_patientstatus RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("alerts", "0006_status_digest_pieces")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]

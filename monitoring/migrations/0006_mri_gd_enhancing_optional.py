import importlib

from django.conf import settings
from django.db import migrations, models

# A scan without contrast has no Gd-enhancing count (spec §1): the column becomes nullable.
# Stored values are kept as they are: a stored 0 may have been a real count, so it stays 0.
# SQLite rebuilds the table to alter the column, which drops its triggers; put the
# birth-date/future-date triggers of 0002 back (a no-op on PostgreSQL).
birth_triggers = importlib.import_module("monitoring.migrations.0002_birth_date_triggers")


def reinstall_triggers(apps, schema_editor):
    birth_triggers.drop(apps, schema_editor)
    birth_triggers.create(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0005_normalise_source_ids"),
        ("patients", "0009_therapy_rebaseline_from_class"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="mriscan",
            name="mriscan_gd_count",
        ),
        migrations.AlterField(
            model_name="mriscan",
            name="gd_enhancing",
            field=models.IntegerField(
                blank=True,
                help_text="Leave empty when no contrast was given: unknown, not 0",
                null=True,
                verbose_name="Gd-enhancing lesions",
            ),
        ),
        migrations.AddConstraint(
            model_name="mriscan",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("gd_enhancing__isnull", True),
                    models.Q(("gd_enhancing__gte", 0), ("gd_enhancing__lte", 1000)),
                    _connector="OR",
                ),
                name="mriscan_gd_count",
            ),
        ),
        migrations.RunPython(reinstall_triggers, migrations.RunPython.noop),
    ]

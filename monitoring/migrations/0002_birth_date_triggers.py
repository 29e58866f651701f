from django.db import migrations

from mstrack.db import birth_trigger_sql

# Every dated record of a patient, by the column that holds its date.
DATED = [
    ("monitoring_visit", "date"),
    ("monitoring_relapse", "onset"),
    ("monitoring_mriscan", "date"),
    ("monitoring_nflsample", "date"),
    ("patients_therapycourse", "start"),
]


def create(apps, schema_editor):
    for table, column in DATED:
        for statement in birth_trigger_sql(schema_editor.connection.vendor, table, column)[0]:
            schema_editor.execute(statement, params=None)


def drop(apps, schema_editor):
    for table, column in DATED:
        for statement in birth_trigger_sql(schema_editor.connection.vendor, table, column)[1]:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_initial"),
        ("patients", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]

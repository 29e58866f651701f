"""Source ids of the clinical records as `patients.identifiers` compares them (see
patients 0005): look-alikes that would become one are left as they are and listed."""

from django.db import migrations

from patients.identifiers import normalise_source_ids


def normalise(apps, schema_editor) -> None:
    for name in ("Visit", "Relapse", "MriScan", "NflSample", "JcvTest"):
        normalise_source_ids(apps.get_model("monitoring", name), "patient_id")


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0004_jcv_test"),
        ("patients", "0008_normalise_identifiers"),
    ]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]

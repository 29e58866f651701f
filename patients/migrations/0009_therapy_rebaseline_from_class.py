from django.db import migrations, models

# The re-baseline follows from the therapy class alone (spec §3), in one place:
# monitoring/clinical/thresholds.py. The catalogue's own months, read only by the patient
# plot, go; reversing puts them back as the class gives them.
INDUCTION_MONTHS = 24
MAINTENANCE_MONTHS = 6


def restore_months(apps, schema_editor):
    Therapy = apps.get_model("patients", "Therapy")
    Therapy.objects.filter(therapy_class="induction").update(rebaseline_months=INDUCTION_MONTHS)
    Therapy.objects.exclude(therapy_class="induction").update(rebaseline_months=MAINTENANCE_MONTHS)


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0008_normalise_identifiers"),
    ]

    operations = [
        # Nullable first, so that the reverse can add the column back before filling it.
        migrations.AlterField(
            model_name="therapy",
            name="rebaseline_months",
            field=models.PositiveSmallIntegerField(null=True),
        ),
        migrations.RunPython(migrations.RunPython.noop, restore_months),
        migrations.RemoveField(
            model_name="therapy",
            name="rebaseline_months",
        ),
        migrations.AlterField(
            model_name="therapy",
            name="therapy_class",
            field=models.CharField(
                choices=[
                    ("platform", "Platform (moderate efficacy)"),
                    ("high_efficacy", "High-efficacy maintenance"),
                    ("induction", "Induction (immune reconstitution)"),
                ],
                help_text="Decides the re-baseline: 6 months (maintenance) or 24 months after "
                "the first course (induction).",
                max_length=16,
            ),
        ),
    ]

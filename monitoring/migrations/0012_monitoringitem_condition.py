from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0011_drop_jcv_test_table")]

    operations = [
        migrations.AddField(
            model_name="monitoringitem",
            name="condition",
            field=models.CharField(
                blank=True,
                choices=[("pml_high_risk", "pml high risk")],
                help_text="Empty: always; else only while the engine finds this (e.g. PML "
                "risk high)",
                max_length=20,
            ),
        ),
    ]

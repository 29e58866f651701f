from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("patients", "0011_dashboard_sort_and_search_columns")]

    operations = [
        migrations.AddField(
            model_name="therapy",
            name="immunosuppressant",
            field=models.BooleanField(
                default=False,
                help_text="A course of it before natalizumab counts as prior immunosuppressant "
                "in the PML risk (Tysabri SmPC 4.4).",
            ),
        ),
    ]

from django.db import migrations
from django.db.models import OuterRef, Subquery


def fill_latest_visit(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    Visit = apps.get_model("monitoring", "Visit")
    latest = Visit.objects.filter(
        patient=OuterRef("pk"), entered_in_error_at__isnull=True
    ).order_by("-date")
    Patient.objects.update(
        last_visit=Subquery(latest.values("date")[:1]),
        last_edss=Subquery(latest.values("edss")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0006_mri_gd_enhancing_optional"),
        ("patients", "0011_dashboard_sort_and_search_columns"),
    ]

    operations = [migrations.RunPython(fill_latest_visit, migrations.RunPython.noop)]

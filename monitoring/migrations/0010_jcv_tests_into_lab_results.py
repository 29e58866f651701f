from django.db import migrations


def fold(apps, schema_editor):
    """Every JCV test becomes a lab result of the JCV index analyte: the index as the value,
    the serostatus as the text; public id, source ids and entered-in-error marks kept."""
    JcvTest = apps.get_model("monitoring", "JcvTest")
    LabResult = apps.get_model("monitoring", "LabResult")
    analyte = apps.get_model("monitoring", "Analyte").objects.get(code="jcv-index")
    # The copies keep the tests' own timestamps (this historical model only).
    LabResult._meta.get_field("created_at").auto_now_add = False
    LabResult._meta.get_field("updated_at").auto_now = False
    batch = []
    for test in JcvTest.objects.order_by("pk").iterator(chunk_size=2000):
        batch.append(
            LabResult(
                public_id=test.public_id,
                patient_id=test.patient_id,
                analyte=analyte,
                date=test.date,
                value=test.index,
                unit="index" if test.index is not None else "",
                text=test.result,
                source_system=test.source_system,
                source_id=test.source_id,
                created_at=test.created_at,
                updated_at=test.updated_at,
                entered_in_error_at=test.entered_in_error_at,
                entered_in_error_by_id=test.entered_in_error_by_id,
                entered_in_error_reason=test.entered_in_error_reason,
            )
        )
        if len(batch) == 2000:
            LabResult.objects.bulk_create(batch)
            batch = []
    LabResult.objects.bulk_create(batch)


def unfold(apps, schema_editor):
    JcvTest = apps.get_model("monitoring", "JcvTest")
    LabResult = apps.get_model("monitoring", "LabResult")
    results = LabResult.objects.filter(analyte__code="jcv-index")
    JcvTest.objects.bulk_create(
        JcvTest(
            public_id=r.public_id,
            patient_id=r.patient_id,
            date=r.date,
            index=r.value,
            result=r.text or "indeterminate",
            source_system=r.source_system,
            source_id=r.source_id,
            created_at=r.created_at,
            updated_at=r.updated_at,
            entered_in_error_at=r.entered_in_error_at,
            entered_in_error_by_id=r.entered_in_error_by_id,
            entered_in_error_reason=r.entered_in_error_reason,
        )
        for r in results
    )
    results.delete()


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0009_load_safety_catalogue")]

    operations = [migrations.RunPython(fold, unfold)]

"""Stored worsening events name their measured value `value` (was `edss`).

One event shape serves the stored status and the events computed under another definition,
whose outcome may be T25FW, 9HPT or SDMT (`outcomes.documents.ProgressionEvent`). The
confirmation's value appears at the next evaluation, which rewrites the document anyway:
its digest no longer matches.
"""

from django.db import migrations

CHUNK = 2000


def _renamed(event, old, new):
    out = dict(event)
    for point in ("onset", "baseline"):
        if isinstance(out.get(point), dict) and old in out[point]:
            values = dict(out[point])
            values[new] = values.pop(old)
            out[point] = values
    return out


def _rename(apps, old, new):
    PatientStatus = apps.get_model("outcomes", "PatientStatus")
    rows = PatientStatus.objects.exclude(worsening=[]).only("pk", "worsening").order_by("pk")
    batch = []
    for status in rows.iterator(chunk_size=CHUNK):
        status.worsening = [_renamed(e, old, new) for e in status.worsening]
        batch.append(status)
        if len(batch) == CHUNK:
            PatientStatus.objects.bulk_update(batch, ["worsening"])
            batch = []
    PatientStatus.objects.bulk_update(batch, ["worsening"])


def forwards(apps, schema_editor):
    _rename(apps, "edss", "value")


def backwards(apps, schema_editor):
    _rename(apps, "value", "edss")


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]

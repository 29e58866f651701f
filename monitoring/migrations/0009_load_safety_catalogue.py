from dataclasses import asdict

from django.db import migrations

from monitoring.clinical.protocols import ANALYTES, SPEC_PROTOCOL


def load(apps, schema_editor):
    """The analytes and protocol rows of spec §7.1 (monitoring/clinical/protocols.py) as they
    stand when this runs; admins edit them from then on."""
    Analyte = apps.get_model("monitoring", "Analyte")
    MonitoringItem = apps.get_model("monitoring", "MonitoringItem")
    # Fields added to the rows since (the item's condition) are set by their own migrations.
    columns = {f.name for f in MonitoringItem._meta.get_fields()}
    analytes = {}
    for a in ANALYTES:
        analytes[a.code], _ = Analyte.objects.update_or_create(code=a.code, defaults=asdict(a))
    for item in SPEC_PROTOCOL:
        values = asdict(item)
        values.pop("code")
        values["analyte"] = analytes[values["analyte"]]
        values["therapies"] = list(item.therapies)
        values["points_months"] = list(item.points_months)
        values["threshold"] = str(values.pop("check") or "")
        for key in ("phase", "anchor", "severity"):
            values[key] = str(values[key])
        values = {key: value for key, value in values.items() if key in columns}
        MonitoringItem.objects.update_or_create(code=item.code, defaults=values)


def unload(apps, schema_editor):
    apps.get_model("monitoring", "MonitoringItem").objects.all().delete()
    apps.get_model("monitoring", "Analyte").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0008_safety_records")]

    operations = [migrations.RunPython(load, unload)]

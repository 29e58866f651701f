from django.db import migrations

# Spec §7.1, natalizumab: "high risk -> MRI every 3-4 months". The brain MRI comes from the
# MRI records (never a lab result); the item applies only at high PML risk. Written out here
# as first loaded; admins edit the row from then on.
ANALYTE = {
    "code": "brain-mri",
    "name": "Brain MRI (from the MRI records)",
    "loinc": "",
    "unit": "",
    "conversions": {},
    "qualitative": True,
}
ITEM = {
    "code": "natalizumab-pml-high-risk-mri",
    "label": "Brain MRI every 3-4 months at high PML risk",
    "therapies": ["natalizumab"],
    "phase": "on_therapy",
    "anchor": "start",
    "every_months": 4,
    "every_weeks": None,
    "points_months": [],
    "from_months": 0,
    "until_months": None,
    "window_months": 3,
    "threshold": "",
    "limit": None,
    "persist_months": None,
    "stop_above": None,
    "sex": "",
    "severity": "medium",
    "source": "Tysabri (natalizumab) SmPC section 4.4 (more frequent MRI at higher PML risk); "
    "every 3-4 months: McGuigan et al., J Neurol Neurosurg Psychiatry 2016 (expert group)",
    "condition": "pml_high_risk",
}


def load(apps, schema_editor):
    Analyte = apps.get_model("monitoring", "Analyte")
    MonitoringItem = apps.get_model("monitoring", "MonitoringItem")
    code = ANALYTE["code"]
    analyte, _ = Analyte.objects.update_or_create(
        code=code, defaults={k: v for k, v in ANALYTE.items() if k != "code"}
    )
    values = {k: v for k, v in ITEM.items() if k != "code"}
    MonitoringItem.objects.update_or_create(
        code=ITEM["code"], defaults={**values, "analyte": analyte}
    )


def unload(apps, schema_editor):
    apps.get_model("monitoring", "MonitoringItem").objects.filter(code=ITEM["code"]).delete()
    apps.get_model("monitoring", "Analyte").objects.filter(
        code=ANALYTE["code"], results__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0012_monitoringitem_condition")]

    operations = [migrations.RunPython(load, unload)]

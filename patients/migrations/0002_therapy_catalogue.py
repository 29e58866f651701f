from django.db import migrations

# Spec §7 (shared/spec/clinical.md): class and months before activity counts as failure.
CATALOGUE = [
    ("interferon-beta", "Interferon beta", "platform", 6),
    ("glatiramer-acetate", "Glatiramer acetate", "platform", 6),
    ("teriflunomide", "Teriflunomide", "platform", 6),
    ("dimethyl-fumarate", "Dimethyl fumarate", "platform", 6),
    ("diroximel-fumarate", "Diroximel fumarate", "platform", 6),
    ("fingolimod", "Fingolimod", "platform", 6),
    ("siponimod", "Siponimod", "platform", 6),
    ("ozanimod", "Ozanimod", "platform", 6),
    ("ponesimod", "Ponesimod", "platform", 6),
    ("natalizumab", "Natalizumab", "high_efficacy", 6),
    ("ocrelizumab", "Ocrelizumab", "high_efficacy", 6),
    ("ofatumumab", "Ofatumumab", "high_efficacy", 6),
    ("ublituximab", "Ublituximab", "high_efficacy", 6),
    ("rituximab", "Rituximab", "high_efficacy", 6),
    ("alemtuzumab", "Alemtuzumab", "induction", 24),
    ("cladribine", "Cladribine", "induction", 24),
    ("ahsct", "Autologous haematopoietic stem cell transplantation (aHSCT)", "induction", 24),
]


def load(apps, schema_editor):
    Therapy = apps.get_model("patients", "Therapy")
    for code, name, therapy_class, months in CATALOGUE:
        Therapy.objects.update_or_create(
            code=code,
            defaults={"name": name, "therapy_class": therapy_class, "rebaseline_months": months},
        )


def unload(apps, schema_editor):
    apps.get_model("patients", "Therapy").objects.filter(
        code__in=[code for code, *_ in CATALOGUE]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]

from django.db import migrations

# The immunosuppressants that make a natalizumab patient's PML risk "prior immunosuppressant"
# (Tysabri SmPC 4.4): the five that Bloomgren et al. (N Engl J Med 2012) counted as prior
# immunosuppressants in the PML risk estimates. Classes: mitoxantrone and cyclophosphamide are given as
# courses whose effect outlasts them (induction); the others are taken continuously.
IMMUNOSUPPRESSANTS = [
    ("mitoxantrone", "Mitoxantrone", "induction"),
    ("cyclophosphamide", "Cyclophosphamide", "induction"),
    ("azathioprine", "Azathioprine", "platform"),
    ("methotrexate", "Methotrexate", "platform"),
    ("mycophenolate-mofetil", "Mycophenolate mofetil", "platform"),
]


def load(apps, schema_editor):
    """Adds the five, marked; a row an admin added already under one of these codes keeps
    its name and class and is marked too."""
    Therapy = apps.get_model("patients", "Therapy")
    for code, name, therapy_class in IMMUNOSUPPRESSANTS:
        therapy, _ = Therapy.objects.get_or_create(
            code=code, defaults={"name": name, "therapy_class": therapy_class}
        )
        therapy.immunosuppressant = True
        therapy.save(update_fields=["immunosuppressant"])


def unload(apps, schema_editor):
    """Removes the five where no course names them (courses keep theirs)."""
    Therapy = apps.get_model("patients", "Therapy")
    Therapy.objects.filter(
        code__in=[code for code, *_ in IMMUNOSUPPRESSANTS], courses__isnull=True
    ).delete()


class Migration(migrations.Migration):
    # Apart from the column's migration: PostgreSQL refuses to alter a table with the
    # deletes of the reverse still pending in the same transaction.
    dependencies = [("patients", "0012_therapy_immunosuppressant")]

    operations = [migrations.RunPython(load, unload)]

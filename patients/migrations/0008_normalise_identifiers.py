"""MRNs and source ids as `patients.identifiers` compares them: NFKC, no invisible
characters, MRNs in capitals (every site starts case-insensitive). Look-alikes that would
become one are left as they are and listed: a site admin merges or corrects them."""

from django.db import migrations

from patients.identifiers import normalise_mrn, normalise_source_ids, normalise_stored


def normalise(apps, schema_editor) -> None:
    Patient = apps.get_model("patients", "Patient")
    rows = [
        (pk, site_id, (mrn,))
        for pk, site_id, mrn in Patient.objects.values_list("pk", "site_id", "mrn")
    ]
    changed, clashes = normalise_stored(
        rows, lambda key: (normalise_mrn(key[0], case_sensitive=False),)
    )
    patients = list(Patient.objects.filter(pk__in=changed))
    for patient in patients:
        (patient.mrn,) = changed[patient.pk]
    Patient.objects.bulk_update(patients, ["mrn"], batch_size=1000)
    for site_id, (mrn,) in clashes:
        print(f"  Patient site={site_id}: look-alike MRN {mrn!r} left as is")
    normalise_source_ids(Patient, "site_id")
    normalise_source_ids(apps.get_model("patients", "TherapyCourse"), "patient_id")


class Migration(migrations.Migration):
    dependencies = [("patients", "0007_site_mrn_case_rule")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]

"""`PatientStatus` now lives in `outcomes` (its 0001 took over the table)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0007_status_fillfactor'),
        ('outcomes', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='PatientStatus')],
        ),
    ]

"""The treat-to-target status moves from `alerts` to its own app, keeping every row.

`PatientStatus` is taken over in the migration state only (its table was
`alerts_patientstatus`), then its table is renamed; PostgreSQL keeps the columns'
compression and the fill factor with the table. `alerts.0008` drops the old state.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('alerts', '0007_status_fillfactor'),
        ('patients', '0003_source_ids'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='PatientStatus',
                    fields=[
                        ('patient', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='status', serialize=False, to='patients.patient')),
                        ('as_of', models.DateField(help_text="The clinic's date the status was computed for")),
                        ('computed_at', models.DateTimeField()),
                        ('definition', models.JSONField(help_text='Progression definition: name and every parameter')),
                        ('engine_version', models.CharField(max_length=16)),
                        ('rebaseline_date', models.DateField(blank=True, null=True)),
                        ('neda3', models.CharField(choices=[('met', 'Met'), ('not_met', 'Not met'), ('unknown', 'Unknown')], default='unknown', max_length=8, verbose_name='NEDA-3 (last 12 months)')),
                        ('neda4', models.CharField(choices=[('met', 'Met'), ('not_met', 'Not met'), ('unknown', 'Unknown')], default='unknown', max_length=8, verbose_name='NEDA-4 (last 12 months)')),
                        ('neda', models.JSONField(default=dict, help_text='NEDA-3/4 per window (calendar years, last 12 months, since re-baseline)')),
                        ('closed_years', models.JSONField(blank=True, default=list, help_text='NEDA-3/4 of each calendar year before the current one, oldest first')),
                        ('closed_years_key', models.CharField(blank=True, default='', editable=False, help_text='SHA-256 of what the closed years were computed from', max_length=64)),
                        ('worsening', models.JSONField(default=list, help_text='Every CDW event of the course with RAW/PIRA, newest first; `recent`: within the look-back period, where alone they raise alerts')),
                        ('scores', models.JSONField(blank=True, help_text='MAGNIMS and modified Rio of the current course', null=True)),
                        ('magnims', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='MAGNIMS (at least)')),
                        ('rio', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='modified Rio (at least)')),
                        ('nfl', models.JSONField(blank=True, help_text='Latest NfL: elevated, rising', null=True)),
                        ('brain_volume', models.JSONField(blank=True, null=True)),
                        ('mri_due', models.DateField(blank=True, null=True, verbose_name='next MRI due')),
                        ('edss_due', models.DateField(blank=True, null=True, verbose_name='next EDSS due')),
                        ('jcv_due', models.DateField(blank=True, null=True, verbose_name='next JCV test due')),
                        ('digest', models.CharField(blank=True, default='', editable=False, help_text='64-bit fingerprints of the plain columns and of each JSON document the evaluation writes (closed years: their key)', max_length=128)),
                        ('last_notified_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('therapy_course', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='patients.therapycourse')),
                    ],
                    options={
                        'verbose_name_plural': 'patient statuses',
                        'db_table': 'alerts_patientstatus',
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name='patientstatus', table=None),
        migrations.CreateModel(
            name='StatusChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('neda3_lost', 'NEDA-3 lost'), ('neda3_regained', 'NEDA-3 regained'), ('neda4_lost', 'NEDA-4 lost'), ('neda4_regained', 'NEDA-4 regained'), ('pira_seen', 'PIRA first seen'), ('raw_seen', 'RAW first seen'), ('cdw_seen', 'Confirmed worsening first seen (neither RAW nor PIRA)')], max_length=16)),
                ('as_of', models.DateField(help_text="The clinic's date of the status that changed")),
                ('seen_at', models.DateTimeField(help_text='When the evaluation stored the change')),
                ('event_onset', models.DateField(blank=True, help_text='Onset of the confirmed worsening event, for *_seen', null=True)),
                ('explanation', models.TextField(blank=True)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='status_changes', to='patients.patient')),
            ],
            options={
                'ordering': ['-seen_at', '-id'],
                'indexes': [models.Index(fields=['patient', '-seen_at'], name='status_change_patient')],
                'constraints': [models.CheckConstraint(condition=models.Q(('kind__in', ['neda3_lost', 'neda3_regained', 'neda4_lost', 'neda4_regained', 'pira_seen', 'raw_seen', 'cdw_seen'])), name='status_change_kind_valid')],
            },
        ),
    ]

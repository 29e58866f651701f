"""Sent after a transaction that changed patients' clinical data has committed.

The alerts app listens and enqueues re-evaluation; writers never wait for the engine. A
write that touches many patients (a bulk request, an import, a catalogue change) sends one
signal for all of them (`patients.actions.one_evaluation_per_patient`), which the alerts
app queues in the sweep's batches.
"""

from django.dispatch import Signal

patients_data_changed = Signal()  # sender: model class; kwargs: patient_ids (a sorted list)

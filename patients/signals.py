"""Sent after a transaction that changed a patient's clinical data has committed.

The alerts app listens and enqueues re-evaluation; writers never wait for the engine.
"""

from django.dispatch import Signal

patient_data_changed = Signal()  # sender: model class; kwargs: patient_id
# A change that touches many patients at once (the therapy catalogue): evaluated in batches.
patients_data_changed = Signal()  # sender: model class; kwargs: patient_ids

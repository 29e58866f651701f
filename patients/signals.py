"""Sent after a transaction that changed a patient's clinical data has committed.

The alerts app listens and enqueues re-evaluation; writers never wait for the engine.
"""

from django.dispatch import Signal

patients_data_changed = Signal()  # sender: model class; kwargs: patient_ids (a sorted list)

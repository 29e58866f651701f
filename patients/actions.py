"""The one way clinical data is written: validated, saved and audited in one transaction.

Forms, the admin, the API, FHIR bundles and imports all call these functions, so no path
can skip validation or the audit row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from mstrack.db import insert_instances
from patients.models import AuditAction, AuditEvent, ClinicalRecord, Patient, validate_many
from patients.signals import patient_data_changed

Record = TypeVar("Record", bound=models.Model)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a signed-in user, an integration token, or the system."""

    user: Any | None
    label: str

    @classmethod
    def of(cls, user: Any) -> Actor:
        return cls(user=user, label=user.get_username())

    @classmethod
    def integration(cls, token_name: str) -> Actor:
        """An integration token: no user account, the token's name in the audit trail."""
        return cls(user=None, label=f"token:{token_name}")

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(user=None, label=label)


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The stored values of a record as JSON, for the audit trail."""
    values = {}
    for field in instance._meta.concrete_fields:
        if field.primary_key:
            continue
        value = getattr(instance, field.attname)
        if isinstance(field, models.DecimalField) and value is not None:
            # As the database stores it, whatever the caller typed (3.5 is stored 3.50).
            value = Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
        values[field.attname] = value
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def _patient_of(instance: models.Model) -> Patient | None:
    if isinstance(instance, Patient):
        return instance
    return getattr(instance, "patient", None)


def _audit_event(
    instance: models.Model, *, actor: Actor, action: str, before: Any, after: Any
) -> AuditEvent:
    """The audit row of a change (not saved: batches insert theirs together)."""
    return AuditEvent(
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        model=instance._meta.label_lower,
        object_id=str(getattr(instance, "public_id", instance.pk)),
        patient=_patient_of(instance),
        before=before,
        after=after,
    )


def _audit(instance: models.Model, *, actor: Actor, action: str, before: Any, after: Any) -> None:
    _audit_event(instance, actor=actor, action=action, before=before, after=after).save()


def _announce(instance: models.Model) -> None:
    patient = _patient_of(instance)
    if patient is not None and patient.pk is not None:
        transaction.on_commit(
            partial(patient_data_changed.send, sender=type(instance), patient_id=patient.pk)
        )


@transaction.atomic
def save_record(instance: Record, *, actor: Actor) -> Record:
    """Validate (raising ValidationError by field), save and audit a create or update."""
    manager = type(instance)._base_manager
    previous = manager.filter(pk=instance.pk).first() if instance.pk else None
    instance.full_clean()
    instance.save()
    _audit(
        instance,
        actor=actor,
        action=AuditAction.UPDATE if previous else AuditAction.CREATE,
        before=snapshot(previous) if previous else None,
        after=snapshot(instance),
    )
    _announce(instance)
    return instance


class RecordErrors(Exception):
    """Validation errors of several records, by their position in the batch."""

    def __init__(self, errors: dict[int, ValidationError]) -> None:
        super().__init__(f"{len(errors)} record(s) refused")
        self.errors = errors


@transaction.atomic
def create_records(instances: Sequence[Record], *, actor: Actor) -> list[Record]:
    """Validate, create and audit many new records of one model: all or none (RecordErrors).

    The same validation and audit rows as `save_record`, with one INSERT for the records and
    one for the audit rows instead of a round trip per record (bulk imports, the API).
    """
    # Foreign keys already holding a fetched row (the patient, the therapy) need not be looked
    # up again: that check is one query per record. Rules against stored records run once
    # for the batch (validate_many); the fresh random public_id needs no uniqueness query.
    loaded = (
        [
            field.name
            for field in instances[0]._meta.concrete_fields
            if field.is_relation and all(field.is_cached(instance) for instance in instances)
        ]
        if instances
        else []
    )
    errors = validate_many(instances, exclude=loaded)
    if errors:
        raise RecordErrors(errors)
    try:
        with transaction.atomic():
            insert_instances(instances)
    except IntegrityError:
        # A clash that validate_many cannot see (two records of the batch with one
        # source_id): one at a time, the clash is named.
        return _save_each(instances, actor=actor)
    insert_instances(
        [
            _audit_event(
                instance,
                actor=actor,
                action=AuditAction.CREATE,
                before=None,
                after=snapshot(instance),
            )
            for instance in instances
        ]
    )
    announced: set[int] = set()
    for instance in instances:
        patient = _patient_of(instance)
        if patient is not None and patient.pk not in announced:
            announced.add(patient.pk)
            _announce(instance)
    return list(instances)


def _save_each(instances: Sequence[Record], *, actor: Actor) -> list[Record]:
    errors: dict[int, ValidationError] = {}
    for index, instance in enumerate(instances):
        instance.pk = None
        try:
            save_record(instance, actor=actor)
        except ValidationError as error:
            errors[index] = error
        except IntegrityError:
            errors[index] = ValidationError(
                "clashes with an earlier record of the batch (the same source_id twice?)"
            )
    if errors:
        raise RecordErrors(errors)
    return list(instances)


@transaction.atomic
def mark_entered_in_error(record: ClinicalRecord, *, actor: Actor, reason: str) -> ClinicalRecord:
    """Withdraw a record from every computation while keeping it, with who, when and why."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"entered_in_error_reason": "say why the record is in error"})
    if record.is_entered_in_error:
        # Marking again would overwrite who, when and why of the first marking.
        raise ValidationError(
            {"entered_in_error_reason": "this record is already marked entered in error"}
        )
    before = snapshot(record)
    record.entered_in_error_at = timezone.now()
    record.entered_in_error_by = actor.user
    record.entered_in_error_reason = reason
    record.save(
        update_fields=[
            "entered_in_error_at",
            "entered_in_error_by",
            "entered_in_error_reason",
            "updated_at",
        ]
    )
    _audit(
        record,
        actor=actor,
        action=AuditAction.ENTERED_IN_ERROR,
        before=before,
        after=snapshot(record),
    )
    _announce(record)
    return record


def record_read(patient: Patient, *, actor: Actor) -> None:
    """Reading a patient's record is itself audited."""
    _audit(patient, actor=actor, action=AuditAction.READ, before=None, after=None)


def record_reads(patients: Sequence[Patient], *, actor: Actor) -> None:
    """Many patients read at once (a bulk export): one audit row each, inserted together."""
    AuditEvent.objects.bulk_create(
        [
            _audit_event(patient, actor=actor, action=AuditAction.READ, before=None, after=None)
            for patient in patients
        ],
        batch_size=1000,
    )

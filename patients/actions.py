"""The one way clinical data is written: validated, saved and audited in one transaction.

Forms, the admin, the API, FHIR bundles and imports all call these functions, so no path
can skip validation or the audit row.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Generic, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.db.models.fields.mixins import FieldCacheMixin
from django.utils import timezone

from mstrack.db import insert_instances, written_fields
from patients.identifiers import normalise_identifier
from patients.models import (
    AuditAction,
    AuditEvent,
    ClinicalRecord,
    EvaluationRequest,
    Patient,
    Site,
    Therapy,
    TherapyCourse,
    Validated,
    validate_many,
)
from patients.signals import patients_data_changed

Record = TypeVar("Record", bound=Validated)


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
    for field in written_fields(type(instance)):
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


# The patients touched inside `one_evaluation_per_patient`, announced once when it ends.
_touched: ContextVar[set[int] | None] = ContextVar("touched_patients", default=None)


def _announce(*records: models.Model | None) -> None:
    """After commit, ask for the evaluation of every patient the records belong to."""
    # By key: the record's patient need not be fetched to be named.
    patient_ids = {
        pk
        for pk in (
            record.pk if isinstance(record, Patient) else getattr(record, "patient_id", None)
            for record in records
        )
        if pk is not None
    }
    touched = _touched.get()
    if touched is not None:
        touched.update(patient_ids)
        return
    request_evaluation(patient_ids)


def request_evaluation(patient_ids: Iterable[int]) -> None:
    """Ask for these patients' evaluation: kept in the database in the writer's transaction
    (the outbox, `EvaluationRequest`) and announced after commit (to the broker, through
    `patients_data_changed`). A request the broker misses is drained later."""
    ids = sorted(set(patient_ids))
    if not ids:
        return
    EvaluationRequest.objects.bulk_create([EvaluationRequest(patient_id=pk) for pk in ids])
    transaction.on_commit(partial(patients_data_changed.send, sender=Patient, patient_ids=ids))


@contextmanager
def one_evaluation_per_patient() -> Iterator[None]:
    """Writes inside announce each patient they touch once, at the end: a bulk request of
    1,000 updates of one patient asks for one evaluation, not 1,000. Use it inside the
    request's transaction, so that a rollback announces nothing."""
    if _touched.get() is not None:
        yield
        return
    touched: set[int] = set()
    token = _touched.set(touched)
    try:
        yield
    finally:
        _touched.reset(token)
    # A transaction already marked for rollback (a refused bundle) writes nothing more.
    if not transaction.get_connection().needs_rollback:
        request_evaluation(touched)


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    """A model's ValidationError as messages by field name, the whole record's under
    "non_field_errors": the one shape the API and the FHIR import answer with."""
    errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    return {
        ("non_field_errors" if field in (NON_FIELD_ERRORS, "") else field): messages
        for field, messages in errors.items()
    }


class EnteredInError(ValidationError):
    """A write names (by its source identifiers) a record withdrawn as entered in error."""


def refuse_entered_in_error(record: models.Model) -> None:
    """A withdrawn record stays withdrawn: writing to it again would bring it back into
    every computation behind the back of whoever withdrew it."""
    if getattr(record, "is_entered_in_error", False):
        raise EnteredInError(
            {
                "source_id": [
                    f"this source_id names {record._meta.verbose_name} "
                    f"{getattr(record, 'public_id', record.pk)}, marked entered in error"
                ]
            }
        )


@transaction.atomic
def save_record(instance: Record, *, actor: Actor) -> Record:
    """Validate (raising ValidationError by field), save and audit a create or update.
    A record moved to another patient announces both: the first may lose an alert."""
    manager = type(instance)._base_manager
    previous = manager.filter(pk=instance.pk).first() if instance.pk else None
    instance.full_clean()
    _store(instance, previous=previous, actor=actor)
    return instance


def _store(instance: Validated, *, previous: Validated | None, actor: Actor) -> None:
    """Save a validated record and audit it (the caller's transaction holds both)."""
    instance.save()
    _audit(
        instance,
        actor=actor,
        action=AuditAction.UPDATE if previous else AuditAction.CREATE,
        before=snapshot(previous) if previous else None,
        after=snapshot(instance),
    )
    _announce(previous, instance)


SOURCE_KEY = ("source_system", "source_id")


@dataclass(frozen=True, slots=True)
class Upserted(Generic[Record]):
    record: Record
    created: bool
    # False for an update that found nothing to change: nothing written, nothing audited.
    changed: bool


def _normalised(model: type[models.Model], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values with their identifiers as the model stores them (see `Patient.clean_own`),
    so that a look-alike finds the record it looks like."""
    out = dict(values)
    for name in ("source_system", "source_id"):
        if isinstance(out.get(name), str):
            out[name] = normalise_identifier(out[name])
    if issubclass(model, Patient) and isinstance(out.get("mrn"), str):
        site = out.get("site")
        out["mrn"] = Patient.mrn_as_stored(out["mrn"], site if isinstance(site, Site) else None)
    return out


def _key_of(
    model: type[models.Model], values: Mapping[str, Any], by: Sequence[str]
) -> tuple[Any, ...] | None:
    """(scope, *key) of normalised values: the site for a patient, the patient for a
    clinical record. None when the values carry no key (a blank source_id names nothing)."""
    scope = values.get("site" if issubclass(model, Patient) else "patient")
    key = {name: values.get(name, "") for name in by}
    if scope is None or not all(value for name, value in key.items() if name != "source_system"):
        return None
    return (getattr(scope, "pk", scope), *key.values())


def _find(
    model: type[Record], keys: Sequence[tuple[Any, ...]], by: Sequence[str]
) -> dict[tuple[Any, ...], Record]:
    """The stored records (withdrawn ones included) with these keys, in one query."""
    if not keys:
        return {}
    scope = "site_id" if issubclass(model, Patient) else "patient_id"
    names = [scope, *by]
    wanted = set(keys)
    candidates = model._base_manager.filter(
        **{f"{name}__in": {key[i] for key in keys} for i, name in enumerate(names)}
    )
    found = {}
    for record in candidates:
        key = tuple(getattr(record, name) for name in names)
        if key in wanted:
            found[key] = record
    return found


def source_key(
    model: type[models.Model], values: Mapping[str, Any], *, by: Sequence[str] = SOURCE_KEY
) -> tuple[Any, ...] | None:
    """What makes two writes one record to `upsert_record`: the key of these values (the
    scope's primary key, then the identifiers as stored), None when they carry none."""
    return _key_of(model, _normalised(model, values), by)


def find_record(
    model: type[Record], values: Mapping[str, Any], *, by: Sequence[str] = SOURCE_KEY
) -> Record | None:
    """The stored record (withdrawn ones included) an earlier write with the same key made."""
    return find_records(model, [values], by=by)[0]


def find_records(
    model: type[Record], batch: Sequence[Mapping[str, Any]], *, by: Sequence[str] = SOURCE_KEY
) -> list[Record | None]:
    """`find_record` for many values, in one query: the stored record of each, or None."""
    keys = [source_key(model, values, by=by) for values in batch]
    found = _find(model, [key for key in keys if key], by)
    return [found.get(key) if key else None for key in keys]


def upsert_record(
    model: type[Record],
    values: Mapping[str, Any],
    *,
    actor: Actor,
    by: Sequence[str] = SOURCE_KEY,
) -> Upserted[Record]:
    """Create a record, or update the one an earlier write with the same key created (by
    default its sender's source_system + source_id, within its site or patient): a retried
    write never duplicates. The API (one record or a bulk, through `upsert_records`) and
    FHIR bundles all write through here. Refuses a record marked entered in error
    (EnteredInError); an update that changes nothing writes nothing.

    Concurrent identical writes get the same answer: the one that loses the race to insert
    (IntegrityError on the unique key), or that finds the winner's record only when
    validating (e.g. "already has a visit on …"), updates the winner's record instead."""
    values = _normalised(model, values)
    with transaction.atomic():
        found = find_record(model, values, by=by)
        if found is None:
            try:
                # A savepoint: a concurrent twin's insert may win the unique key.
                with transaction.atomic():
                    created = save_record(model(**values), actor=actor)
                    return Upserted(created, created=True, changed=True)
            except (IntegrityError, ValidationError):
                found = find_record(model, values, by=by)
                if found is None:
                    raise
        return update_record(found, values, actor=actor)


def update_record(found: Record, values: Mapping[str, Any], *, actor: Actor) -> Upserted[Record]:
    """The update half of `upsert_record`, for a caller already holding the stored record."""
    refuse_entered_in_error(found)
    changed = [name for name, value in values.items() if _differs(found, name, value)]
    if not changed:
        return Upserted(found, created=False, changed=False)
    stored = copy.copy(found)
    for name in changed:
        setattr(found, name, values[name])
    found.full_clean()
    # Validation may bring what was sent to what is stored (a lab value sent in another
    # unit is converted to the catalogue's): such an update changes nothing, writes nothing.
    if snapshot(found) == snapshot(stored):
        return Upserted(found, created=False, changed=False)
    with transaction.atomic():
        _store(found, previous=stored, actor=actor)
    return Upserted(found, created=False, changed=True)


def _differs(record: models.Model, name: str, value: Any) -> bool:
    """Whether a value sent differs from the stored one, compared as the field takes it: a
    date or number sent as text (a file's cell) equal to the stored value is no change, and
    costs no validation."""
    field = record._meta.get_field(name)
    assert isinstance(field, models.Field)  # a field of the record, not a reverse relation
    if field.is_relation:
        # By key: comparing instances would fetch the related row.
        return getattr(record, field.attname) != getattr(value, "pk", value)
    try:
        return getattr(record, name) != field.to_python(value)
    except ValidationError:
        return True  # validation says why


def upsert_records(
    model: type[Record],
    batch: Sequence[Mapping[str, Any]],
    *,
    actor: Actor,
    by: Sequence[str] = SOURCE_KEY,
    all_or_none: bool = True,
) -> list[Upserted[Record]]:
    """`upsert_record` for many records of one model, every refusal raised together
    (RecordErrors by position): one query finds the stored ones, one insert creates the new
    ones, and each patient touched is evaluated once for the whole batch.

    All or none by default (the API's bulk request). With `all_or_none=False` the records
    that pass are stored even when others are refused, and RecordErrors is raised after: for
    a caller whose own transaction decides, such as the file import, which checks a file's
    later rows against its earlier ones and rolls the whole file back."""
    results: dict[int, Upserted[Record]] = {}
    errors: dict[int, ValidationError] = {}
    with transaction.atomic(), one_evaluation_per_patient():
        _upsert_each(
            model, batch, actor=actor, by=by, all_or_none=all_or_none, into=(results, errors)
        )
        if errors and all_or_none:
            raise RecordErrors(errors)
    if errors:
        raise RecordErrors(errors)
    return [results[position] for position in range(len(batch))]


def _upsert_each(
    model: type[Record],
    batch: Sequence[Mapping[str, Any]],
    *,
    actor: Actor,
    by: Sequence[str],
    all_or_none: bool,
    into: tuple[dict[int, Upserted[Record]], dict[int, ValidationError]],
) -> None:
    """The work of `upsert_records`: results and refusals by position `into` the caller's
    dictionaries."""
    results, errors = into
    batch = [_normalised(model, values) for values in batch]
    keys = [_key_of(model, values, by) for values in batch]
    first: dict[tuple[Any, ...], int] = {}
    for position, key in enumerate(keys):
        if key is None:
            continue
        if key in first:
            # Which of the two should win is the sender's to say, not ours.
            errors[position] = ValidationError(
                {"source_id": [f"the same source_id as record {first[key]} of this request"]}
            )
        else:
            first[key] = position
    stored = _find(model, [key for key in keys if key], by)
    new: list[tuple[int, Record]] = []
    for position, values in enumerate(batch):
        key = keys[position]
        found = stored.get(key) if key else None
        if position in errors:
            continue
        if found is None:
            new.append((position, model(**values)))
            continue
        try:
            results[position] = update_record(found, values, actor=actor)
        except ValidationError as error:
            errors[position] = error
    while new:
        try:
            with transaction.atomic():
                create_records([instance for _, instance in new], actor=actor)
        except (RecordErrors, IntegrityError) as failed:
            new_keys = [key for position, _ in new if (key := keys[position])]
            if isinstance(failed, RecordErrors) and not _find(model, new_keys, by):
                errors.update({new[p][0]: error for p, error in failed.errors.items()})
                # The others are stored all the same (validated again, without the refused
                # ones), unless the batch is all or none.
                new = (
                    []
                    if all_or_none
                    else [row for p, row in enumerate(new) if p not in failed.errors]
                )
                continue
            # A concurrent request created some of them first (its insert won the key, or
            # its records now clash with these): one at a time, each as its own retry would be.
            for position, _ in new:
                try:
                    results[position] = upsert_record(model, batch[position], actor=actor, by=by)
                except ValidationError as error:
                    errors[position] = error
                except IntegrityError:
                    errors[position] = ValidationError(
                        "clashes with a record stored at the same time; send it again"
                    )
            return
        results.update(
            {position: Upserted(instance, created=True, changed=True) for position, instance in new}
        )
        return


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
            if field.is_relation
            and isinstance(field, FieldCacheMixin)
            and all(field.is_cached(instance) for instance in instances)
        ]
        if instances
        else []
    )
    errors = validate_many(instances, exclude=loaded)
    if errors:
        raise RecordErrors(errors)
    # A source_id clash (a concurrent request's insert) raises IntegrityError: the caller
    # decides (upsert_records retries one at a time).
    insert_instances(instances)
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
    with one_evaluation_per_patient():
        _announce(*instances)
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


@transaction.atomic
def save_therapy(therapy: Therapy, *, actor: Actor) -> Therapy:
    """Validate, save and audit a therapy of the catalogue. A change of its values changes
    the statuses of the patients with a course of it (the class sets the re-baseline), so
    those patients are re-evaluated after commit."""
    previous = Therapy.objects.filter(pk=therapy.pk).first() if therapy.pk else None
    therapy.full_clean()
    therapy.save()
    before = snapshot(previous) if previous else None
    after = snapshot(therapy)
    _audit(
        therapy,
        actor=actor,
        action=AuditAction.UPDATE if previous else AuditAction.CREATE,
        before=before,
        after=after,
    )
    if before is not None and before != after:
        patient_ids = list(
            TherapyCourse.objects.filter(therapy=therapy)
            .order_by("patient_id")
            .values_list("patient_id", flat=True)
            .distinct()
        )
        request_evaluation(patient_ids)
    return therapy


def record_read(patient: Patient, *, actor: Actor) -> None:
    """Reading a patient's record is itself audited."""
    _audit(patient, actor=actor, action=AuditAction.READ, before=None, after=None)

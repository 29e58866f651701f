"""Audited writes and entered-in-error: nothing is deleted, every change leaves a row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from monitoring.models import Visit
from patients.actions import Actor, mark_entered_in_error, record_read, save_record
from patients.models import AuditEvent
from patients.signals import patients_data_changed
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_create_and_update_are_audited_with_before_and_after(patient, nurse_a):
    visit = save_record(f.visit(patient, edss=Decimal("2.0")), actor=Actor.of(nurse_a))
    visit.edss = Decimal("3.0")
    save_record(visit, actor=Actor.of(nurse_a))
    create, update = AuditEvent.objects.filter(model="monitoring.visit").order_by("at", "id")
    assert (create.action, create.before, create.after["edss"]) == ("create", None, "2.00")
    assert (update.action, update.before["edss"], update.after["edss"]) == (
        "update",
        "2.00",
        "3.00",
    )
    assert update.actor == nurse_a and update.patient == patient
    assert update.object_id == str(visit.public_id)


def test_invalid_write_saves_nothing_and_audits_nothing(patient, nurse_a):
    with pytest.raises(ValidationError):
        save_record(f.visit(patient, edss=Decimal("3.25")), actor=Actor.of(nurse_a))
    assert not Visit.all_records.exists()
    assert not AuditEvent.objects.exists()


def test_entered_in_error_keeps_the_record_but_drops_it_from_use(patient, nurse_a):
    visit = save_record(f.visit(patient), actor=Actor.of(nurse_a))
    mark_entered_in_error(visit, actor=Actor.of(nurse_a), reason="wrong patient")
    assert not Visit.objects.filter(pk=visit.pk).exists()
    assert not patient.visits.exists()
    kept = Visit.all_records.get(pk=visit.pk)
    assert kept.entered_in_error_by == nurse_a
    assert kept.entered_in_error_reason == "wrong patient"
    assert kept.entered_in_error_at is not None
    event = AuditEvent.objects.get(action="entered_in_error")
    assert event.before["entered_in_error_at"] is None and event.after["entered_in_error_at"]


def test_entered_in_error_needs_a_reason(patient, nurse_a):
    visit = save_record(f.visit(patient), actor=Actor.of(nurse_a))
    with pytest.raises(ValidationError) as refused:
        mark_entered_in_error(visit, actor=Actor.of(nurse_a), reason="   ")
    assert "entered_in_error_reason" in refused.value.message_dict
    assert Visit.objects.filter(pk=visit.pk).exists()


def test_a_new_visit_may_replace_one_entered_in_error_on_the_same_day(patient, nurse_a):
    wrong = save_record(f.visit(patient), actor=Actor.of(nurse_a))
    mark_entered_in_error(wrong, actor=Actor.of(nurse_a), reason="typed into the wrong day")
    save_record(f.visit(patient, edss=Decimal("4.0")), actor=Actor.of(nurse_a))
    assert patient.visits.get().edss == Decimal("4.0")


def test_reading_a_patient_is_audited(patient, neurologist_a):
    record_read(patient, actor=Actor.of(neurologist_a))
    event = AuditEvent.objects.get()
    assert (event.action, event.patient, event.actor_label) == ("read", patient, "neuro-a")


def test_committed_change_announces_the_patient(
    patient, nurse_a, django_capture_on_commit_callbacks
):
    received: list[int] = []

    def listener(sender, patient_ids, **kwargs):
        received.extend(patient_ids)

    patients_data_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            visit = save_record(f.visit(patient), actor=Actor.of(nurse_a))
            assert received == []  # not before the commit
        assert received == [patient.pk]
        with django_capture_on_commit_callbacks(execute=True):
            visit.edss = Decimal("3.0")
            save_record(visit, actor=Actor.of(nurse_a))
        assert received == [patient.pk, patient.pk]  # once per change
    finally:
        patients_data_changed.disconnect(listener)


def test_batch_validation_is_one_query_per_rule_and_names_each_clash(
    patient, nurse_a, django_assert_max_num_queries
):
    import datetime as dt

    from patients.models import validate_many

    f.visit(patient, date=dt.date(2024, 1, 5)).save()
    batch = [f.visit(patient, date=dt.date(2024, 1, day)) for day in range(1, 31)]
    batch.append(f.visit(patient, date=dt.date(2024, 1, 7)))  # twice in the batch
    batch.append(f.visit(patient, date=dt.date(2024, 2, 1), edss=Decimal("3.25")))
    with django_assert_max_num_queries(1):
        errors = validate_many(batch, exclude=["patient"])
    assert sorted(errors) == [4, 30, 31]
    assert "already has a visit on 2024-01-05" in errors[4].message_dict["date"][0]
    assert "already has a visit on 2024-01-07" in errors[30].message_dict["date"][0]
    assert "edss" in errors[31].message_dict
    # The same rules, one record at a time, through full_clean.
    with pytest.raises(ValidationError) as one:
        batch[4].full_clean()
    assert one.value.message_dict == errors[4].message_dict


def test_created_records_are_saved_instances(patient, nurse_a):
    import datetime as dt

    from patients.actions import create_records

    made = create_records(
        [f.visit(patient, date=dt.date(2024, 3, day)) for day in (1, 2, 3)],
        actor=Actor.of(nurse_a),
    )
    assert all(visit.pk and not visit._state.adding for visit in made)
    stored = Visit.objects.get(pk=made[0].pk)
    assert stored.public_id == made[0].public_id and stored.created_at == made[0].created_at
    assert AuditEvent.objects.filter(action="create", model="monitoring.visit").count() == 3


def test_marking_twice_keeps_the_first_marking(patient, nurse_a, neurologist_a):
    visit = save_record(f.visit(patient), actor=Actor.of(nurse_a))
    mark_entered_in_error(visit, actor=Actor.of(nurse_a), reason="wrong patient")
    with pytest.raises(ValidationError) as refused:
        mark_entered_in_error(visit, actor=Actor.of(neurologist_a), reason="typo")
    assert "already marked" in refused.value.message_dict["entered_in_error_reason"][0]
    kept = Visit.all_records.get(pk=visit.pk)
    assert (kept.entered_in_error_by, kept.entered_in_error_reason) == (nurse_a, "wrong patient")
    assert AuditEvent.objects.filter(action="entered_in_error").count() == 1

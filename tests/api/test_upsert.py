"""The write path's one upsert: every patient a write touches is evaluated (a moved record
both), a bulk request evaluates each patient once, records sharing a source id are named,
and concurrent identical retries all get the idempotent answer."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection

from alerts import tasks
from monitoring.models import Relapse, Visit
from patients.signals import patients_data_changed
from tests.api.conftest import with_token
from tests.conftest import require_postgres
from tests.factories import make_patient


@pytest.fixture
def announced():
    """The patient ids announced for evaluation, as the receivers see them."""
    received: list[int] = []

    def listener(sender, patient_ids, **kwargs):
        received.extend(patient_ids)

    patients_data_changed.connect(listener)
    yield received
    patients_data_changed.disconnect(listener)


def visits(patient, count, source="epic"):
    return [
        {
            "patient": str(patient.public_id),
            "date": str(dt.date(2010, 1, 1) + dt.timedelta(days=i)),
            "edss": 2.0,
            "source_system": source,
            "source_id": f"v{i}",
        }
        for i in range(count)
    ]


@pytest.mark.django_db
def test_a_record_moved_to_another_patient_reevaluates_both(
    nurse, site_a, announced, django_capture_on_commit_callbacks
):
    first, second = make_patient(site_a), make_patient(site_a)
    relapse = nurse.post(
        "/api/v1/relapses/",
        {"patient": str(first.public_id), "onset": "2023-05-02"},
        format="json",
    ).json()
    announced.clear()
    with django_capture_on_commit_callbacks(execute=True):
        moved = nurse.patch(
            f"/api/v1/relapses/{relapse['id']}/", {"patient": str(second.public_id)}, format="json"
        )
    assert moved.status_code == 200, moved.json()
    assert Relapse.objects.get().patient == second
    assert sorted(announced) == sorted([first.pk, second.pk])


@pytest.mark.django_db
def test_a_bulk_request_evaluates_each_patient_once(
    integration_a, site_a, announced, monkeypatch, django_capture_on_commit_callbacks
):
    patient, other = make_patient(site_a), make_patient(site_a)
    evaluated: list[list[int]] = []
    real = tasks.evaluate
    monkeypatch.setattr(tasks, "evaluate", lambda ids, **kw: evaluated.append(ids) or real(ids))
    records = visits(patient, 50) + visits(other, 3, source="lab")
    with django_capture_on_commit_callbacks(execute=True):
        created = integration_a.post("/api/v1/visits/bulk/", {"records": records}, format="json")
    assert created.status_code == 201
    assert Counter(announced) == {patient.pk: 1, other.pk: 1}
    announced.clear()
    evaluated.clear()
    for record in records:
        record["edss"] = 3.0
    with django_capture_on_commit_callbacks(execute=True):
        updated = integration_a.post("/api/v1/visits/bulk/", {"records": records}, format="json")
    assert updated.status_code == 201
    assert not any(r["created"] for r in updated.json()["results"])
    assert Counter(announced) == {patient.pk: 1, other.pk: 1}
    assert sorted(evaluated) == sorted([[patient.pk], [other.pk]])


@pytest.mark.django_db
def test_two_records_of_a_bulk_with_one_source_id_are_named(integration_a, patient):
    records = visits(patient, 3)
    records[2]["source_id"] = records[0]["source_id"]
    response = integration_a.post("/api/v1/visits/bulk/", {"records": records}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["errors"] == [
        {"index": 2, "errors": {"source_id": ["the same source_id as record 0 of this request"]}}
    ]
    assert not Visit.all_records.exists()


@pytest.mark.django_db
def test_overlapping_bulks_update_what_the_first_created(integration_a, patient):
    first = integration_a.post(
        "/api/v1/visits/bulk/", {"records": visits(patient, 10)}, format="json"
    )
    records = visits(patient, 15)[5:]
    second = integration_a.post("/api/v1/visits/bulk/", {"records": records}, format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert [r["created"] for r in second.json()["results"]] == [False] * 5 + [True] * 5
    assert Visit.objects.count() == 15


@pytest.mark.django_db
def test_a_withdrawn_record_is_not_revived_by_a_bulk(integration_a, patient):
    records = visits(patient, 2)
    integration_a.post("/api/v1/visits/bulk/", {"records": records}, format="json")
    withdrawn = Visit.objects.get(source_id="v1")
    integration_a.post(
        f"/api/v1/visits/{withdrawn.public_id}/entered-in-error/",
        {"reason": "typo"},
        format="json",
    )
    response = integration_a.post("/api/v1/visits/bulk/", {"records": records}, format="json")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["index"] == 1 and "entered in error" in error["errors"]["source_id"][0]


def race(count: int, send) -> list:
    """`send()` from `count` threads at once; their answers."""
    barrier = threading.Barrier(count)
    answers: list = [None] * count

    def run(position: int) -> None:
        try:
            barrier.wait()
            answers[position] = send()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_identical_retries_all_get_the_idempotent_answer(site_a):
    require_postgres()
    from api.models import IntegrationToken

    token = IntegrationToken.issue(site=site_a, name="ehr-a", days=30)[1]
    patient = make_patient(site_a)
    for day in range(8):
        payload = {
            "patient": str(patient.public_id),
            "date": str(dt.date(2020, 1, 1) + dt.timedelta(days=day)),
            "edss": 2.5,
            "source_system": "epic",
            "source_id": f"race-{day}",
        }
        answers = race(
            4,
            lambda payload=payload: with_token(token).post(
                "/api/v1/visits/", payload, format="json"
            ),
        )
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200, 200, 200, 201], [a.json() for a in answers]
        assert len({answer.json()["id"] for answer in answers}) == 1
    bulk = visits(patient, 30)
    answers = race(
        3, lambda: with_token(token).post("/api/v1/visits/bulk/", {"records": bulk}, format="json")
    )
    assert [answer.status_code for answer in answers] == [201] * 3, [a.json() for a in answers]
    assert Visit.objects.filter(patient=patient).count() == 8 + 30


@pytest.mark.django_db
def test_with_a_broker_a_bulk_queues_one_evaluation_per_patient(
    integration_a, patient, monkeypatch, django_capture_on_commit_callbacks, request
):
    from mstrack.celery import app

    queued: list[tuple] = []
    # Undone before the autouse eager fixture is (a function-scoped monkeypatch may be undone
    # after it and would leave eager on for the tests that follow).
    broker = pytest.MonkeyPatch()
    request.addfinalizer(broker.undo)
    broker.setitem(app.conf, "task_always_eager", False)
    # Every claim succeeds, as when a worker takes each task at once: the count is the
    # request's, not the dedupe key's.
    monkeypatch.setattr(tasks, "_claim_pending", lambda patient_id: True)
    monkeypatch.setattr(
        tasks.evaluate_patient, "apply_async", lambda args, **kw: queued.append(args)
    )
    records = visits(patient, 200)
    with django_capture_on_commit_callbacks(execute=True):
        integration_a.post("/api/v1/visits/bulk/", {"records": records}, format="json")
    for record in records:
        record["edss"] = 4.0
    with django_capture_on_commit_callbacks(execute=True):
        integration_a.post("/api/v1/visits/bulk/", {"records": records}, format="json")
    assert queued == [(patient.pk,), (patient.pk,)]

"""The dashboard as a worklist of patients: sorted by any of its columns, searched as
clinicians type, bad filters answered, the same number of queries however many rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.concern import rank
from monitoring.models import Visit
from outcomes.models import PatientStatus
from patients.actions import Actor, create_records, mark_entered_in_error, save_record
from patients.models import Patient
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def neuro_client(client, neurologist_a):
    client.force_login(neurologist_a)
    return client


def _mrns(response) -> list[str]:
    return [p.mrn for p in response.context["page"]]


def _patient(site, mrn, name, born, visits=(), due=None):
    patient = save_record(
        Patient(
            site=site, mrn=mrn, display_name=name, birth_date=born, sex="female", phenotype="RRMS"
        ),
        actor=Actor.system("test"),
    )
    if visits:
        create_records(
            [f.visit(patient, date=day, edss=Decimal(edss)) for day, edss in visits],
            actor=Actor.system("test"),
        )
    PatientStatus.objects.create(
        patient=patient,
        as_of=timezone.localdate(),
        computed_at=timezone.now(),
        definition={"name": "muller2023"},
        engine_version="test",
        edss_due=due,
    )
    return patient


@pytest.fixture
def cohort(site_a, site_b, django_capture_on_commit_callbacks):
    # The latest visit is stored on the patient after the write commits.
    with django_capture_on_commit_callbacks(execute=True):
        _cohort(site_a, site_b)
    for mrn, due in (("A1", dt.date(2025, 3, 1)), ("A2", dt.date(2025, 1, 1)), ("A3", None)):
        PatientStatus.objects.filter(patient__mrn=mrn).update(
            edss_due=due, mri_due=dt.date(2026, 1, 1) if due is None else None
        )
    # Statuses written directly: rank the patients as the evaluation does after storing them.
    rank(Patient.objects.values_list("pk", flat=True))


def _cohort(site_a, site_b):
    _patient(
        site_a,
        "A1",
        "Müller, Anna",
        dt.date(1980, 1, 1),
        [(dt.date(2024, 1, 1), "2.0")],
        due=dt.date(2025, 3, 1),
    )
    _patient(
        site_a,
        "A2",
        "Smith Maria",
        dt.date(1990, 5, 2),
        [(dt.date(2023, 1, 1), "6.5"), (dt.date(2025, 1, 1), "4.0")],
        due=dt.date(2025, 1, 1),
    )
    _patient(site_a, "A3", "Zoë Brown", dt.date(1970, 7, 7), due=dt.date(2026, 1, 1))
    _patient(site_b, "B1", "Muller Other", dt.date(1980, 1, 1), [(dt.date(2024, 1, 1), "9.0")])


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("edss", ["A2", "A1", "A3"]),
        ("-edss", ["A1", "A2", "A3"]),
        ("last_visit", ["A3", "A1", "A2"]),
        ("-last_visit", ["A2", "A1", "A3"]),
        ("next_due", ["A2", "A1", "A3"]),
        ("age", ["A3", "A1", "A2"]),
        ("-age", ["A2", "A1", "A3"]),
    ],
)
def test_dashboard_sorts_by_each_column(neuro_client, cohort, sort, expected):
    assert _mrns(neuro_client.get("/dashboard/", {"sort": sort})) == expected


def test_current_edss_and_last_visit_follow_every_write(
    neuro_client, cohort, django_capture_on_commit_callbacks
):
    anna = Patient.objects.get(mrn="A1")
    with django_capture_on_commit_callbacks(execute=True):
        response = neuro_client.post(
            f"/patients/{anna.public_id}/new/visit/", {"date": "2025-06-01", "edss": "7.0"}
        )
    assert response.status_code == 302
    assert _mrns(neuro_client.get("/dashboard/", {"sort": "edss"}))[0] == "A1"
    latest = Visit.objects.get(patient=anna, date=dt.date(2025, 6, 1))
    with django_capture_on_commit_callbacks(execute=True):
        mark_entered_in_error(latest, actor=Actor.system("t"), reason="wrong patient")
    anna.refresh_from_db()
    assert (anna.last_visit, anna.last_edss) == (dt.date(2024, 1, 1), Decimal("2.0"))
    assert Visit.objects.filter(patient=anna).count() == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("muller", ["A1"]),
        ("MÜLLER", ["A1"]),
        ("anna muller", ["A1"]),
        ("Smith, Maria", ["A2"]),
        ("maria smith", ["A2"]),
        ("zoe", ["A3"]),
        ("a2", ["A2"]),
        ("1990-05-02", ["A2"]),
        ("02.05.1990", ["A2"]),
        ("smith 1980-01-01", []),
    ],
)
def test_dashboard_search_as_clinicians_type(neuro_client, cohort, query, expected):
    assert sorted(_mrns(neuro_client.get("/dashboard/", {"q": query}))) == expected


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"alert": "pira"}, "pira"),
        ({"neda3": "high"}, "high"),
        ({"therapy": "aspirin"}, "aspirin"),
        ({"sort": "shoe_size"}, "shoe_size"),
    ],
)
def test_invalid_filters_are_answered_with_a_message(neuro_client, cohort, params, word):
    response = neuro_client.get("/dashboard/", params)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and word in shown[0]
    assert sorted(_mrns(response)) == ["A1", "A2", "A3"]


def test_sorted_and_searched_pages_run_a_fixed_number_of_queries(neuro_client, site_a):
    # The stored latest visit is not needed here: these count queries only.
    numbers = iter(range(1000))

    def add(n):
        for i in range(n):
            _patient(
                site_a,
                f"Q{next(numbers)}",
                f"Name {i}",
                dt.date(1980, 1, 1),
                [(dt.date(2024, 1, 1), "2.0")],
            )

    add(2)
    for params in ({"sort": "edss"}, {"sort": "-next_due", "q": "name"}, {"sort": "therapy"}):
        with CaptureQueriesContext(connection) as few:
            neuro_client.get("/dashboard/", params)
        add(5)
        with CaptureQueriesContext(connection) as many:
            neuro_client.get("/dashboard/", params)
        assert len(many) == len(few), params

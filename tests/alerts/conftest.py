from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine

from alerts.evaluation import Outcome, evaluate
from alerts.models import Alert, AlertState, Rule
from patients.actions import Actor, save_record
from patients.models import Patient, Therapy, TherapyCourse

TODAY = dt.date(2025, 6, 1)
SYSTEM = Actor.system("test")


@pytest.fixture
def today() -> Iterator[dt.date]:
    """The clinic's calendar is frozen: "today" decides windows and overdue tests."""
    noon = dt.datetime(2025, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/London"))
    with time_machine.travel(noon, tick=False):
        yield TODAY


def add(record):
    """Save through the one audited write path."""
    return save_record(record, actor=SYSTEM)


def course(patient: Patient, code: str = "ocrelizumab", start=dt.date(2023, 1, 10), **fields):
    therapy = Therapy.objects.get(code=code)
    return add(TherapyCourse(patient=patient, therapy=therapy, start=start, **fields))


def run(patient: Patient, as_of: dt.date = TODAY) -> Outcome:
    return evaluate([patient.pk], as_of=as_of)


def alerts(patient: Patient, rule: Rule, *, unresolved: bool = True) -> list[Alert]:
    found = Alert.objects.filter(patient=patient, rule=rule).order_by("id")
    if unresolved:
        found = found.exclude(state=AlertState.RESOLVED)
    return list(found)

"""The status app: typed documents read back as stored, status changes kept as rows, the
API's schema generated from the same types."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from alerts.evaluation import evaluate
from outcomes.documents import ProgressionEvent, StatusDocuments, schema_components
from outcomes.models import ChangeKind, PatientStatus, StatusChange
from patients.actions import Actor, mark_entered_in_error
from tests.api.conftest import signed_in
from tests.factories import mri_scan, relapse, therapy_course, visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def neurologist(neurologist_a):
    return signed_in(neurologist_a)


D = dt.date


def _clean_year(patient) -> None:
    therapy_course(patient, start=D(2022, 1, 10)).save()
    for day, edss in [(D(2022, 1, 10), "2.0"), (D(2023, 1, 5), "2.0"), (D(2023, 9, 5), "2.0")]:
        visit(patient, date=day, edss=edss).save()
    for day in (D(2022, 1, 12), D(2023, 1, 6), D(2023, 9, 6)):
        mri_scan(patient, date=day, new_t2=0, gd_enhancing=0).save()


def _changes(patient) -> list[str]:
    return list(
        StatusChange.objects.filter(patient=patient).order_by("id").values_list("kind", flat=True)
    )


def test_neda3_lost_and_regained_are_kept_as_rows_and_shown(patient, neurologist_a, client):
    _clean_year(patient)
    evaluate([patient.pk], as_of=D(2023, 10, 1))
    assert PatientStatus.objects.get(pk=patient.pk).neda3 == "met"
    assert _changes(patient) == []  # a first status is no flip
    onset = relapse(patient, onset=D(2023, 8, 1))
    onset.save()
    evaluate([patient.pk], as_of=D(2023, 10, 2))
    assert _changes(patient) == [ChangeKind.NEDA3_LOST, ChangeKind.NEDA4_LOST]
    evaluate([patient.pk], as_of=D(2023, 10, 2))  # the same status again: no new row
    assert len(_changes(patient)) == 2
    mark_entered_in_error(onset, actor=Actor.of(neurologist_a), reason="duplicate entry")
    evaluate([patient.pk], as_of=D(2023, 10, 3))
    # NEDA-4 goes back to unknown (no brain volume measured): that is no regain.
    assert _changes(patient)[2:] == [ChangeKind.NEDA3_REGAINED]
    lost = StatusChange.objects.filter(patient=patient, kind=ChangeKind.NEDA3_LOST).get()
    assert lost.as_of == D(2023, 10, 2) and "met → not met" in lost.explanation
    client.force_login(neurologist_a)
    page = client.get(f"/patients/{patient.public_id}/").content.decode()
    assert "NEDA-3 lost" in page and "NEDA-3 regained" in page


def test_a_worsening_event_is_recorded_once_when_first_seen(patient):
    for day, edss in [(D(2022, 1, 10), "2.0"), (D(2022, 7, 1), "3.5"), (D(2023, 1, 5), "3.5")]:
        visit(patient, date=day, edss=edss).save()
    evaluate([patient.pk], as_of=D(2023, 6, 1))
    evaluate([patient.pk], as_of=D(2023, 6, 2))
    seen = StatusChange.objects.get(patient=patient)
    assert (seen.kind, seen.event_onset) == (ChangeKind.PIRA_SEEN, D(2022, 7, 1))


def test_documents_read_back_typed_and_equal_what_the_api_gives(patient, neurologist):
    _clean_year(patient)
    for day, edss in [(D(2024, 1, 10), "3.5"), (D(2024, 7, 1), "3.5")]:
        visit(patient, date=day, edss=edss).save()
    evaluate([patient.pk], as_of=D(2024, 8, 1))
    status = PatientStatus.objects.get(pk=patient.pk)
    docs = StatusDocuments.of(status)
    event = docs.worsening[0]
    assert isinstance(event, ProgressionEvent)
    assert (event.cdw_type, event.onset.date, event.onset.value) == ("PIRA", D(2024, 1, 10), 3.5)
    assert event.confirmation.value == 3.5  # the confirming visit's own value
    body = neurologist.get(f"/api/v1/status/{patient.public_id}/").json()
    assert body["worsening"] == msgspec.to_builtins(docs.worsening)
    assert [y["label"] for y in body["neda"]["calendar_years"]] == [
        w.label for w in docs.calendar_years
    ]
    events = neurologist.get(
        "/api/v1/progression-events/", {"patient": str(patient.public_id)}
    ).json()["events"]
    assert events == body["worsening"]  # one shape for stored and listed events


def test_the_api_schema_describes_the_documents(neurologist):
    schema = neurologist.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    for name in schema_components():
        assert name in components
    status = components["PatientStatus"]["properties"]
    assert status["worsening"]["items"] == {"$ref": "#/components/schemas/ProgressionEvent"}
    pira = components["ProgressionEvent"]["properties"]["pira_confirmation"]
    assert pira["nullable"] is True and "anyOf" not in pira

"""Look-alike identifiers are one identifier: MRNs and source ids are compared after Unicode
NFKC, without invisible characters, and (MRNs, by default) without case."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from monitoring.models import Visit
from patients.identifiers import normalise_identifier, normalise_source_ids
from patients.models import Patient
from tests.factories import make_patient

pytestmark = pytest.mark.django_db

ZERO_WIDTH_SPACE = "\u200b"
LOOK_ALIKES = [
    "BEE00002",
    "BEE00002" + ZERO_WIDTH_SPACE,
    "\uff22\uff25\uff25\uff10\uff10\uff10\uff10\uff12",
]


def new_patient(client, mrn: str):
    payload = {"mrn": mrn, "birth_date": "1980-01-02", "phenotype": "RRMS", "site": "A"}
    return client.post("/api/v1/patients/", payload, format="json")


def test_normalisation():
    assert {normalise_identifier(mrn) for mrn in LOOK_ALIKES} == {"BEE00002"}
    assert normalise_identifier("\ufeff A\u00ad1\u200d ") == "A1"


@pytest.mark.parametrize("look_alike", [*LOOK_ALIKES[1:], "bee00002"])
def test_a_look_alike_mrn_is_the_same_patient(nurse, site_a, look_alike):
    assert (
        new_patient(nurse, "bee00002" if look_alike != "bee00002" else "BEE00002").status_code
        == 201
    )
    response = new_patient(nurse, look_alike)
    assert response.status_code == 400
    assert "already used" in response.json()["mrn"][0]
    assert Patient.objects.get().mrn == "BEE00002"


def test_a_site_may_tell_mrns_apart_by_case(nurse, site_a):
    site_a.mrn_case_sensitive = True
    site_a.save()
    assert new_patient(nurse, "bee00002").status_code == 201
    assert new_patient(nurse, "BEE00002").status_code == 201
    assert new_patient(nurse, "BEE00002" + ZERO_WIDTH_SPACE).status_code == 400
    assert sorted(Patient.objects.values_list("mrn", flat=True)) == ["BEE00002", "bee00002"]


def test_a_look_alike_source_id_updates_the_same_record(integration_a, patient):
    payload = {
        "patient": str(patient.public_id),
        "date": "2024-05-02",
        "edss": 2.0,
        "source_system": "epic",
        "source_id": "enc-1",
    }
    first = integration_a.post("/api/v1/visits/", payload, format="json")
    look_alike = "\uff45\uff4e\uff43-1" + ZERO_WIDTH_SPACE  # full-width "enc", then "-1"
    again = integration_a.post(
        "/api/v1/visits/", {**payload, "source_id": look_alike, "edss": 3.0}, format="json"
    )
    assert (first.status_code, again.status_code) == (201, 200), again.json()
    assert Visit.objects.get().edss == 3


def test_the_migration_normalises_stored_identifiers_and_keeps_look_alike_pairs(site_a):
    lone = make_patient(site_a, mrn="abc1" + ZERO_WIDTH_SPACE)
    twins = [make_patient(site_a, mrn="TWIN1"), make_patient(site_a, mrn="twin1")]
    Patient.objects.filter(pk=lone.pk).update(mrn="abc1" + ZERO_WIDTH_SPACE)
    Patient.objects.filter(pk=twins[1].pk).update(mrn="twin1")
    visit = Visit.objects.create(patient=lone, date="2024-01-02", edss=2, source_id="\uff56 1")
    migration = importlib.import_module("patients.migrations.0008_normalise_identifiers")
    migration.normalise(apps, None)
    normalise_source_ids(Visit, "patient_id")  # what monitoring 0005 runs on each record table
    lone.refresh_from_db()
    assert lone.mrn == "ABC1"
    assert sorted(
        Patient.objects.filter(pk__in=[t.pk for t in twins]).values_list("mrn", flat=True)
    ) == ["TWIN1", "twin1"]
    visit.refresh_from_db()
    assert visit.source_id == "v 1"

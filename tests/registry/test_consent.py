"""Research consent: entered by nurses on a page and through the API, scoped, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from patients.models import AuditEvent, Consent
from tests.factories import make_patient

pytestmark = pytest.mark.django_db


def signed_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_a_nurse_records_consent_and_its_withdrawal_on_the_page(client, nurse_a, patient):
    client.force_login(nurse_a)
    url = f"/patients/{patient.public_id}/consent/"
    assert client.get(url).status_code == 200

    response = client.post(url, {"date": "2024-02-01", "research_export": "on"})
    assert response.status_code == 302
    consent = Consent.objects.get(patient=patient)
    assert consent.covers_research

    response = client.post(
        url, {"date": "2024-02-01", "research_export": "on", "withdrawn": "2025-06-30"}
    )
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn == dt.date(2025, 6, 30) and not consent.covers_research
    actions = list(
        AuditEvent.objects.filter(model="patients.consent")
        .order_by("at")
        .values_list("action", "actor_label")
    )
    assert actions == [("create", "nurse-a"), ("update", "nurse-a")]


def test_the_consent_page_names_the_field_of_a_bad_date(client, nurse_a, patient):
    client.force_login(nurse_a)
    url = f"/patients/{patient.public_id}/consent/"
    response = client.post(
        url, {"date": "2024-02-01", "research_export": "on", "withdrawn": "2023-01-01"}
    )
    assert response.status_code == 200
    assert "withdrawn (2023-01-01) before it was given (2024-02-01)" in response.content.decode()
    response = client.post(url, {"date": "2999-01-01", "research_export": "on"})
    assert "2999-01-01 is in the future" in response.content.decode()
    assert not Consent.objects.exists()


def test_another_sites_patient_has_no_consent_page(client, user_b, patient):
    client.force_login(user_b)
    assert client.get(f"/patients/{patient.public_id}/consent/").status_code == 404


def test_consent_through_the_api_is_created_updated_listed_scoped_and_audited(
    nurse_a, user_b, patient, site_b
):
    api = signed_in(nurse_a)
    body = {"patient": str(patient.public_id), "date": "2024-02-01", "research_export": True}
    created = api.post("/api/v1/consents/", body, format="json")
    assert created.status_code == 201, created.json()
    # A second POST for the same patient updates the one consent.
    again = api.post("/api/v1/consents/", {**body, "withdrawn": "2025-01-01"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    consent_id = created.json()["id"]
    patched = api.patch(f"/api/v1/consents/{consent_id}/", {"withdrawn": None}, format="json")
    assert patched.status_code == 200 and patched.json()["withdrawn"] is None
    assert api.get("/api/v1/consents/").json()["count"] == 1
    assert AuditEvent.objects.filter(model="patients.consent").count() == 3

    bad = api.patch(f"/api/v1/consents/{consent_id}/", {"withdrawn": "2020-01-01"}, format="json")
    assert bad.status_code == 400
    assert "withdrawn" in bad.json()

    other = signed_in(user_b)
    assert other.get("/api/v1/consents/").json()["count"] == 0
    assert other.get(f"/api/v1/consents/{consent_id}/").status_code == 404
    refused = other.post("/api/v1/consents/", body, format="json")
    assert refused.status_code == 400 and "patient" in refused.json()
    theirs = make_patient(site_b)
    assert (
        other.post(
            "/api/v1/consents/", {**body, "patient": str(theirs.public_id)}, format="json"
        ).status_code
        == 201
    )

"""Inputs an outside probe answered with a 500: each is now a 4xx naming the problem (or,
for a search, no match). Run on PostgreSQL too: its refusals (NUL, varchar length) are the
ones SQLite does not make."""

from __future__ import annotations

import json

import pytest

from api.models import IntegrationToken
from tests.api.conftest import signed_in, with_token

pytestmark = pytest.mark.django_db


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def token_a(site_a):
    return with_token(IntegrationToken.issue(site=site_a, name="ehr-a", days=30)[1])


@pytest.mark.parametrize("depth", [1000, 100_000])
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/visits/", "application/json"),
        ("/api/v1/visits/bulk/", "application/json"),
        ("/fhir/", "application/fhir+json"),
    ],
)
def test_json_nested_deeply_is_refused(nurse_a, path, content_type, depth):
    body = '{"records": ' + nested(depth) + "}"
    response = signed_in(nurse_a).post(path, body, content_type=content_type)
    assert response.status_code == 400
    assert "nested" in json.dumps(response.json())


def test_nul_in_a_fhir_string_is_refused(nurse_a):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"value": "F\u0000100"}],
                },
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    response = signed_in(nurse_a).post(
        "/fhir/", json.dumps(bundle), content_type="application/fhir+json"
    )
    assert response.status_code == 400
    text = json.dumps(response.json())
    assert "OperationOutcome" in text and "NUL" in text and "identifier" in text


def test_nul_in_an_api_body_is_refused(nurse_a, patient):
    response = signed_in(nurse_a).post(
        "/api/v1/visits/",
        json.dumps({"patient": str(patient.public_id), "source_id": "a\u0000b"}),
        content_type="application/json",
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/patients/?q=a%00b",
        "/dashboard/?therapy=a%00b",
        "/api/v1/patients/?search=a%00b",
        "/api/v1/visits/?patient=a%00b",
    ],
)
def test_nul_in_a_search_or_filter_is_a_bad_request(client, nurse_a, patient, url):
    client.force_login(nurse_a)
    assert client.get(url).status_code == 400


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_a_too_long_username_is_a_form_error(client, url):
    response = client.post(url, {"username": "u" * 151, "password": "x"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "correct username and password" in page or "at most 150 characters" in page


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/api/v1/patients/", {"HTTP_ACCEPT": "text/html"}),
        ("/api/v1/patients/?format=api", {}),
        ("/api/docs/", {}),
        ("/api/redoc/", {}),
    ],
)
def test_a_token_may_read_html_pages_of_the_api(token_a, url, headers):
    response = token_a.get(url, **headers)
    assert response.status_code == 200
    assert "text/html" in response["Content-Type"]

"""The OpenAPI schema: generated without a warning, served with offline docs pages, and
honoured by the API under schemathesis (no 5xx; answers match the documented shapes)."""

from __future__ import annotations

import io

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from schemathesis.config import SchemathesisConfig

from api.models import IntegrationToken
from tests.factories import make_patient, make_site, visit

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"),
        stdout=io.StringIO(),
    )
    text = (tmp_path / "schema.yaml").read_text()
    assert "/api/v1/visits/bulk/" in text
    assert "  /fhir/:" in text and "  /fhir/Patient/{id}/$everything:" in text


def test_docs_pages_load_their_scripts_from_this_server(client):
    assert client.get("/api/schema/").status_code == 200
    for page in ("/api/docs/", "/api/redoc/"):
        html = client.get(page).content.decode()
        assert "/static/drf_spectacular_sidecar/" in html
        assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html


@pytest.fixture
def api_schema(db, settings):
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    # Called as a plain WSGI app, Django closes the database connection after each request,
    # which would end the test's transaction (Django's test client unhooks this the same way).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    # Fuzzing only (the coverage phase alone takes a minute): a bounded smoke test in CI.
    config = SchemathesisConfig.from_dict(
        {"phases": {name: {"enabled": False} for name in ("examples", "coverage", "stateful")}}
    )
    yield schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), config=config
    )
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def site_token(db) -> str:
    site = make_site("SCH")
    patient = make_patient(site)
    visit(patient).save()
    _, token = IntegrationToken.issue(site=site, name="schemathesis", days=1)
    return token


@schema.parametrize()
@hypothesis_settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_honours_its_schema(case, site_token):
    response = case.call(headers={"Authorization": f"Token {site_token}"})
    case.validate_response(
        response,
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )

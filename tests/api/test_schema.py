"""The OpenAPI schema: generated without a warning, served with offline docs pages, and
honoured by the API under schemathesis, every check, stateful too, against a real gunicorn
(PostgreSQL: the server must see the test's rows)."""

from __future__ import annotations

import io
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.schemas import OpenApiSchema

from alerts.evaluation import evaluate
from api.models import IntegrationToken
from tests.api.server import gunicorn
from tests.conftest import require_postgres
from tests.factories import make_patient, make_site, visit

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings(tmp_path):
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
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


def seeded_site_token() -> str:
    """A site with a patient whose status and alerts are stored, so that answers carry the
    nulls (no therapy course, alerts nobody acknowledged) a client must accept."""
    require_postgres()
    site = make_site("SCH")
    patient = make_patient(site)
    visit(patient).save()
    evaluate([patient.pk])
    _, token = IntegrationToken.issue(site=site, name="schemathesis", days=1)
    return token


# Bounded for CI (2 cores): about a minute for both tests together, the same examples
# every run.
FUZZ = hypothesis_settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
)
STATEFUL = hypothesis_settings(FUZZ, max_examples=15, stateful_step_count=6)


# A write the schema allows can still be refused for what only the stored data decides (a
# patient of your site, an MRN not yet used, a therapy of the catalogue, the clinical rules):
# a 400 naming the field is a correct answer to it. Reads have no such excuse.
WRITES_CHECKED_AGAINST_DATA = {
    "include-method": ["POST", "PUT", "PATCH"],
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "412", "429"]
        }
    },
}


# The outcomes report's period is valid only as a pair (from <= to, neither after this
# year): a relation between parameters that OpenAPI cannot state; its 400 names the field.
PERIOD_CHECKED_AS_A_PAIR = {
    "include-path": "/api/v1/outcomes/",
    "checks": WRITES_CHECKED_AGAINST_DATA["checks"],
}


def openapi(base: str) -> OpenApiSchema:
    config = SchemathesisConfig.from_dict(
        {"operations": [WRITES_CHECKED_AGAINST_DATA, PERIOD_CHECKED_AS_A_PAIR]}
    )
    return schemathesis.openapi.from_url(f"{base}/api/schema/?format=json", config=config)


# Committed for the server to see; the catalogue rows the migrations load are put back after.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_operation_answers_as_its_schema_says_under_gunicorn():
    """Every check schemathesis has (server errors, status codes, content types, headers,
    response schemas, negative data rejected, positive data accepted, ...) on every
    operation, over HTTP."""
    headers = {"Authorization": f"Token {seeded_site_token()}"}
    with gunicorn(API_TOKEN_RATE="100000/minute") as base:
        schema = openapi(base)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 30
        failures = []
        for operation in operations:

            @FUZZ
            @given(case=operation.as_strategy())
            def fuzz(case: Case) -> None:
                case.call_and_validate(headers=headers)

            try:
                fuzz()
            except (AssertionError, FailureGroup) as failure:
                failures.append(f"{operation.label}: {failure}")
        assert not failures, "\n\n".join(failures)


# Committed for the server to see; the catalogue rows the migrations load are put back after.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sequences_of_calls_follow_the_schemas_links_under_gunicorn():
    """Stateful: a created record read back, changed and withdrawn through the links."""
    headers = {"Authorization": f"Token {seeded_site_token()}"}
    with gunicorn(API_TOKEN_RATE="100000/minute") as base:
        schema = openapi(base)
        workflow = schema.as_state_machine()
        # Links inferred from the schema (ids in answers, ids in paths and bodies): a
        # patient created, then its visits posted, read, changed and withdrawn, and so on.
        assert schema.statistic.transitions.total > 100

        class Workflow(workflow):
            def get_call_kwargs(self, case: Case) -> dict[str, Any]:
                return {"headers": headers}

        Workflow.run(settings=STATEFUL)

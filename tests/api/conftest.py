from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.models import IntegrationToken
from tests.factories import make_patient


def signed_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def neurologist(neurologist_a) -> APIClient:
    return signed_in(neurologist_a)


@pytest.fixture
def nurse(nurse_a) -> APIClient:
    return signed_in(nurse_a)


@pytest.fixture
def integration_b(site_b) -> APIClient:
    _, token = IntegrationToken.issue(site=site_b, name="ehr-b", days=30)
    return with_token(token)


@pytest.fixture
def integration_a(site_a) -> APIClient:
    _, token = IntegrationToken.issue(site=site_a, name="ehr-a", days=30)
    return with_token(token)


@pytest.fixture
def patient_b(site_b):
    return make_patient(site_b)

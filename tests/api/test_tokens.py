"""Integration tokens (issued once, stored hashed, expiring, revocable) and per-token
throttling. The sign-in lockout is tested in tests/test_sign_in.py."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from api.models import IntegrationToken, digest
from api.throttling import IntegrationRateThrottle
from tests.api.conftest import with_token

pytestmark = pytest.mark.django_db


def create_integration(*args: str) -> str:
    out = io.StringIO()
    call_command("create_integration", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_command_prints_the_token_last_and_stores_only_its_digest(site_a, patient):
    token = create_integration("--site", "A", "--name", "lab-a", "--days", "30")
    row = IntegrationToken.objects.get(name="lab-a")
    assert row.key_hash == digest(token) and token not in row.key_hash
    assert row.expires_at > timezone.now() + dt.timedelta(days=29)
    response = with_token(token).get("/api/v1/patients/")
    assert response.status_code == 200 and response.json()["count"] == 1
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_command_refuses_unknown_site_and_duplicate_names(site_a):
    with pytest.raises(CommandError):
        create_integration("--site", "NOPE", "--name", "x")
    create_integration("--site", "A", "--name", "x")
    with pytest.raises(CommandError):
        create_integration("--site", "A", "--name", "x")


def test_revoked_expired_and_wrong_tokens_are_401(site_a):
    token = create_integration("--site", "A", "--name", "ehr")
    client = with_token(token)
    assert client.get("/api/v1/visits/").status_code == 200
    assert with_token(token[:-1] + "x").get("/api/v1/visits/").status_code == 401
    assert with_token("nonsense").get("/api/v1/visits/").status_code == 401
    call_command("revoke_integration", "--name", "ehr", stdout=io.StringIO())
    assert client.get("/api/v1/visits/").status_code == 401
    _, expired = IntegrationToken.issue(site=site_a, name="old", days=1)
    IntegrationToken.objects.filter(name="old").update(expires_at=timezone.now())
    assert with_token(expired).get("/api/v1/visits/").status_code == 401


def test_each_token_has_its_own_rate_limit(site_a, site_b, monkeypatch):
    cache.clear()
    monkeypatch.setattr(IntegrationRateThrottle, "THROTTLE_RATES", {"integration": "3/minute"})
    _, first = IntegrationToken.issue(site=site_a, name="one", days=None)
    _, second = IntegrationToken.issue(site=site_b, name="two", days=None)
    codes = [with_token(first).get("/api/v1/visits/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert with_token(second).get("/api/v1/visits/").status_code == 200
